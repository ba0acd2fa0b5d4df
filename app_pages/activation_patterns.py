"""Activation Patterns: one network's ReLU on/off matrix read two ways — per input (standard
patterns, NASWOT: Mellor et al., ICML 2021) and per unit (sample-wise patterns, SWAP: Peng
et al., ICLR 2024) — with the NASWOT kernel, a per-layer breakdown and the SWAP paper's
saturation experiment. All numbers come from `swap_core.activation_views`."""
import pandas as pd
import streamlit as st

from swap_core import activation_views as views
from ui import pattern_cache as cache, pattern_figures as figures
from ui.settings import current

VIEWS = ("Full-size matrices", "NASWOT kernel", "Per-layer breakdown", "Saturation: resolution")
PICK = "ap_pick"  # (input, unit) clicked in either small matrix, outlined in both
INIT_NAMES = {"default": "PyTorch default (as NASWOT)", "gaussian": "Gaussian N(0, 1) (as SWAP)"}
EXPLAIN = """
**A unit** is one channel of one ReLU layer at one pixel position. On an input it is either
*active* (output > 0, dark) or *inactive* (light). Write these bits as a table: one row per
input image, one column per unit.

* **Standard pattern** (NASWOT): read a *row* — one input's code over all units. Inputs with
  the same code fall in the same linear region of the network. A batch of N inputs can show at
  most **N** different codes, and almost any network already tells all N inputs apart, so this
  count *saturates* at N and stops telling networks apart.
* **Sample-wise pattern** (SWAP): read a *column* — one unit's answer to all N inputs, an
  N-bit string. There are 2ᴺ possible strings, and a network has thousands of units, so the
  count can keep growing up to **min(units, 2ᴺ)**: with the network's size, the batch and the
  resolution. This wider range is what the SWAP paper calls its higher capacity — it still
  ranks networks long after the standard count is stuck at N.
"""


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


settings = current()
st.title("Activation patterns")
st.markdown(f"The ReLU on/off patterns of **{settings.space.title}** (`{settings.preset}` network): one binary "
            "matrix read per input (standard) and per unit (sample-wise). Standard patterns stop at N, the "
            "number of inputs; sample-wise patterns can grow to min(units, 2ᴺ).")
with st.expander("What is an activation pattern? (for students)"):
    st.markdown(EXPLAIN)

st.session_state.setdefault("ap_init", "gaussian")  # the weights the SWAP-Score of every other page is counted on
init = st.session_state["ap_init"]
with st.spinner("Running the network…"):
    beside = small_example(settings)
max_batch = st.session_state.get("ap_max_batch", 64)  # its slider is drawn below, with the numbers
points = [(n, settings.config.input_size) for n in views.batch_sizes(max_batch)]
saturation = sweep(settings, init, points, "Counting patterns per batch size")
beside.plotly_chart(figures.saturation_plot(saturation, "batch_size", "batch size N (log scale)", height=330,
                                            title="The whole network: distinct patterns against N"),
                    width="stretch", key="ap_saturation")

st.subheader(f"The whole network on the sidebar's {settings.batch_size} images")
with st.spinner("Running the network…"):
    m = cache.matrix(settings, init, st.session_state.get("ap_units", 200))
cols = st.columns(4)
cols[0].metric("Units U", f"{m.total_units:,}",
               help=f"channels × positions of {len(m.layers)} ReLU calls with a 4-D input")
cols[1].metric("Samples N", m.samples)
cols[2].metric("Distinct standard patterns", f"{m.standard_distinct:,}",
               help="distinct rows of the samples × units matrix, over all units")
cols[3].metric("Distinct sample-wise patterns", f"{m.sample_wise_distinct:,}",
               help="distinct rows of the units × samples matrix, over all units: with Gaussian weights this is "
                    "the SWAP-Score the Cell Designer, the Proxy Lab and `python -m swap_core score` show for "
                    "this cell and sidebar")
numbers, control = st.columns([3, 1])
numbers.caption(f"Bounds: standard ≤ N = {m.standard_bound}; sample-wise ≤ min(units, 2^N) = "
                f"{m.sample_wise_bound:,}. The plot above: each batch size its own draw of N images (same seed) "
                "and forward pass; the standard count follows N, the sample-wise count keeps climbing.")
control.select_slider("Largest batch in the plot", [8, 16, 32, 64, 128, 256], value=64, key="ap_max_batch")
with st.expander("The plot's numbers"):
    st.dataframe(saturation, hide_index=True, width="stretch")
    st.download_button("Download CSV", saturation.to_csv(index=False), "saturation_batch.csv", "text/csv",
                       key="ap_csv_batch_size")


view = st.segmented_control("More views", VIEWS, default=VIEWS[0], key="ap_view")
if view == "Full-size matrices":
    full_matrices(m)
elif view == "NASWOT kernel":
    k = cache.kernel(settings, init)
    chart, text = st.columns([3, 2], vertical_alignment="center")
    chart.plotly_chart(figures.kernel_heatmap(k.kernel, k.logdet), width="stretch")
    text.metric("log|det K_H| (NASWOT score)", f"{k.logdet:,.2f}")
    text.caption(f"K_H[i, j] = units on which samples i and j agree (N_A − Hamming distance), summed over "
               f"every `nn.ReLU` call whatever its input's rank, as the NASWOT proxy hooks them: here "
               f"{k.relu_calls} calls, {k.units:,} units. log|det K_H| = {k.logdet:,.3f} is the NASWOT score "
               "of these weights; it is large when inputs get very different codes.")
elif view == "Per-layer breakdown":
    table = cache.layers(settings, init)
    st.plotly_chart(figures.layer_bars(table), width="stretch")
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—")
    st.caption("Counts within each ReLU call alone. A pattern that appears in several layers counts once "
               "in the total above, so the total is not the sum of the rows.")
    st.download_button("Download CSV", table.to_csv(index=False), "activation_patterns_layers.csv", "text/csv",
                       key="ap_csv_layers")
elif view == "Saturation: resolution":
    sizes = st.pills("Input sizes (pixels)", [8, 16, 24, 32, 48, 64], selection_mode="multi",
                     default=list(views.RESOLUTIONS), key="ap_resolutions")
    if sizes:
        points = [(settings.batch_size, s) for s in sorted(sizes)]
        table = sweep(settings, init, points, "Counting patterns per input size")
        show_saturation(table, "input_size", "input side (pixels)", "saturation_resolution.csv")
        st.caption("The same images resized; the network ends in global pooling, so any size runs. More "
                   "pixels give more units, so min(units, 2^N) rises, while the standard bound stays at N.")
    else:
        st.info("Pick at least one input size.")
else:
    st.info("Pick a view above.")
