"""The Activation Patterns page's panels: the saturation sweep with its progress bar, the small
readable example with its linked picks, and the full-size matrices. They lay out and draw;
every number comes from `swap_core.activation_views` (through `ui.pattern_cache`)."""
import pandas as pd
import streamlit as st

from swap_core import activation_views as views
from ui import pattern_cache as cache, pattern_figures as figures

PICK = "ap_pick"  # (input, unit) clicked in either small matrix, outlined in both
INIT_NAMES = {"default": "PyTorch default (as NASWOT)", "gaussian": "Gaussian N(0, 1) (as SWAP)"}


def sweep(settings, init: str, points: list[tuple[int, int]], label: str) -> pd.DataFrame:
    """Saturation rows for (batch size, input size) points, with a progress bar (cached points are instant)."""
    bar = st.progress(0.0, text=label)
    rows = []
    for done, (size, input_size) in enumerate(points, 1):
        rows.append(cache.saturation_point(settings, init, size, input_size))
        bar.progress(done / len(points), text=f"{label}: {done} of {len(points)} points")
    bar.empty()
    return pd.DataFrame(rows, columns=views.SATURATION_COLUMNS)


def show_saturation(table: pd.DataFrame, x: str, x_title: str, file_name: str) -> None:
    st.plotly_chart(figures.saturation_plot(table, x, x_title), width="stretch")
    with st.expander("The numbers"):
        st.dataframe(table, hide_index=True, width="stretch", placeholder="—")
        st.download_button("Download CSV", table.to_csv(index=False), file_name, "text/csv", key=f"ap_csv_{x}")


def picked(key: str, transposed: bool) -> None:
    """A click on a small matrix: keep its (input, unit) so both matrices outline them."""
    points = st.session_state[key].selection.points
    if points:
        row, column = int(points[0]["y"]), int(points[0]["x"])
        st.session_state[PICK] = (column, row) if transposed else (row, column)


def small_example(settings):
    """N = 4–8 inputs, a few dozen units: both readings as on/off squares, repeats marked.
    Returns the left column, where the saturation plot goes (one glance away)."""
    pick_w, pick_n, pick_u = st.columns([2, 1, 1])
    pick_w.radio("Weights", list(INIT_NAMES), format_func=INIT_NAMES.get, key="ap_init", horizontal=True,
                 help="the SWAP proxy redraws weights from N(0, 1); NASWOT keeps PyTorch's initialisation. "
                      "Both are drawn from this cell's own seed, as on every page")
    samples = pick_n.slider("Inputs N", 4, 8, 6, key="ap_ex_samples")
    shown = pick_u.select_slider("Units", [12, 16, 24, 32, 48], value=24, key="ap_ex_units",
                                 help="drawn at random from all the network's units, fixed by the seed")
    e = cache.example(settings, st.session_state["ap_init"], samples, shown)
    inputs = [f"input {i}" for i in range(e.samples)]
    units = [f"u{k + 1}" for k in range(len(e.unit_index))]  # short ticks; the hover names the unit
    unit_names = [f"u{k + 1} = unit {u:,} of {e.total_units:,} ({layer})"
                  for k, (u, layer) in enumerate(zip(e.unit_index, e.unit_layer))]
    pick = st.session_state.get(PICK, (None, None))
    rows = [pick[0]] if pick[0] is not None and pick[0] < e.samples else []
    columns = [pick[1]] if pick[1] is not None and pick[1] < len(units) else []
    standard_copy, sample_wise_copy = views.first_copy(e.standard), views.first_copy(e.sample_wise)
    left, right = st.columns([3, 2])
    left.plotly_chart(figures.pattern_squares(
        e.standard, title="Standard patterns (NASWOT): read a row", row_labels=inputs, column_labels=units,
        first_copy=standard_copy, row_title="inputs", column_title="units", selected_rows=rows,
        selected_columns=columns, column_names=unit_names, height=150 + 34 * e.samples), width="stretch",
        key="ap_ex_standard", on_select=lambda: picked("ap_ex_standard", False), selection_mode="points")
    right.plotly_chart(figures.pattern_squares(
        e.sample_wise, title="Sample-wise patterns (SWAP): read a row<br><sup>columns: inputs 0, 1, …</sup>",
        row_labels=units, column_labels=[str(i) for i in range(e.samples)], column_names=inputs,
        first_copy=sample_wise_copy, row_title="units", column_title="inputs", selected_rows=columns,
        selected_columns=rows, row_names=unit_names, height=150 + 19 * len(units)), width="stretch",
        key="ap_ex_sample_wise", on_select=lambda: picked("ap_ex_sample_wise", True), selection_mode="points")
    standard, sample_wise = e.shown_distinct()
    counts = left.columns(2)
    counts[0].metric("Distinct rows, left (standard)", f"{standard} of N = {e.samples}",
                     help="different rows of the left matrix: never more than the number of inputs")
    counts[1].metric("Distinct rows, right (sample-wise)", f"{sample_wise} of {min(len(units), 2 ** e.samples)}",
                     help=f"different rows of the right matrix: at most min(units, 2^N) = "
                          f"min({len(units)}, {2 ** e.samples})")
    left.caption("Dark: the unit is on for that input. A dotted outline marks a row equal to an earlier one "
                 "(\"= …\" names it): it adds nothing to the count. Click a square to outline its input and "
                 "unit in both matrices.")
    return left


def full_matrices(m) -> None:
    """The full-size matrices: up to 400 of all the units on the sidebar's whole batch."""
    left, right = st.columns(2)
    left.select_slider("Units shown", [100, 200, 300, 400], value=200, key="ap_units",
                       help="a random subset, fixed by the seed; the counts always use every unit")
    group = right.toggle("Group identical rows", key="ap_group",
                         help="sort each matrix's rows so equal patterns sit together")
    shown_standard, shown_sample_wise = m.shown_distinct()
    samples = [f"sample {i}" for i in range(m.samples)]
    units = [f"unit {u:,} · {layer}" for u, layer in zip(m.unit_index, m.unit_layer)]
    rows_std = views.group_identical_rows(m.standard) if group else range(m.samples)
    rows_sw = views.group_identical_rows(m.sample_wise) if group else range(len(units))
    heat_left, heat_right = st.columns(2)
    heat_left.plotly_chart(figures.pattern_heatmap(
        m.standard[list(rows_std)], title="Standard patterns (NASWOT): one row per input",
        row_title=f"samples ({m.samples})", column_title=f"units ({len(units)} of {m.total_units:,} shown)",
        row_labels=[samples[i] for i in rows_std], column_labels=units), width="stretch")
    heat_right.plotly_chart(figures.pattern_heatmap(
        m.sample_wise[list(rows_sw)], title="Sample-wise patterns (SWAP): one row per unit",
        row_title=f"units ({len(units)} of {m.total_units:,} shown)", column_title=f"samples ({m.samples})",
        row_labels=[units[i] for i in rows_sw], column_labels=samples), width="stretch")
    st.caption(f"Among the {m.standard.shape[1]} units shown: {shown_standard} distinct standard and "
               f"{shown_sample_wise} distinct sample-wise patterns. Both heatmaps show the same matrix, the "
               "right one transposed. Units: every `nn.ReLU` call with a 4-D input (SWAP's unit set), "
               "BatchNorm in training mode; units shown are drawn at random with the seed and kept in "
               "forward order" + (", rows sorted so equal patterns are adjacent." if group else "."))
