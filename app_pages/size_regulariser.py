"""Size Regulariser: raw SWAP-Score against SWAP × exp(−(Θ − μ)²/σ), the soft size target of
Peng et al. (ICLR 2024), on a scored set of cells. Moving μ or σ re-ranks the cached raw
scores (`swap_core.size_regulariser`); no network runs again."""
import math

import numpy as np
import streamlit as st

from swap_core import lab, prepare, size_regulariser as sr
from swap_core.benchmarks import data_dir
from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA
from ui import scoring, size_figures as figures
from ui.figures import cell_figures
from ui.settings import current, escape_markdown, set_arch

SIZE_COLUMN = scoring.SIZE_COLUMNS[0]  # the published benchmark network's parameters (M)
VIEWS = ("SWAP against size", "The picked cell")
POINT, POINT_FOR = "sr_point", "sr_point_for"  # (μ, log10 σ) and the (space, network) it is for
HIGHLIGHT = "#FFE8A3"  # top-10 rows in the selected histogram bars
EXPLAIN = f"""
**Why raw SWAP favours big networks.** SWAP counts the distinct on/off patterns the ReLU units
show across a batch. A bigger network has more units, so it can show more patterns — its score
grows with its size whether or not it would train better.

**The regulariser** multiplies SWAP by a bell curve of the size, f(Θ) = exp(−(Θ − μ)²/σ), with Θ
the parameter count in thousands (as in the paper's code). f is 1 at the target size μ and falls
to e⁻¹ ≈ 0.37 at Θ = μ ± √σ: a *soft* target — a network far from μ must have many more
patterns to win. A huge σ makes f flat and gives plain SWAP back.

**Here** Θ is the size of the *published benchmark* network of each cell (whose accuracy the
ground truth gives), whatever network the sidebar scores SWAP with, so μ is a target size of the
published model. The paper used about μ = {DEFAULT_MU:,.0f} and σ = {DEFAULT_SIGMA:.0e} for
NAS-Bench-201's benchmark network (73 to 1,532 thousand parameters). The page opens at the μ, σ
tuned for the sidebar's space and network on *other* random cells under other seeds
(`size_regulariser.TUNED_POINTS`, README), or on a flat target (≈ plain SWAP) where none is tuned.
"""


@st.cache_data(show_spinner=False, max_entries=32)
def arch_set(space: str, dataset: str, choice: str, size: int, seed: int, folder: str) -> lab.ArchSet:
    return lab.arch_set(space, dataset, choice, size, seed, folder)


@st.cache_data(show_spinner=False, max_entries=64)
def rho_grid(swap: tuple, theta: tuple, accuracy: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mus, sigmas, ρ grid): keyed on the raw values, so slider moves reuse it."""
    mus, sigmas = sr.default_grid(theta)
    return mus, sigmas, sr.rho_grid(swap, theta, accuracy, mus, sigmas)


def go_to(mu: float, log_sigma: float) -> None:
    st.session_state[POINT] = (mu, log_sigma)


def moved() -> None:
    """The user moved μ or σ: that is the point now, until the user moves it again."""
    st.session_state[POINT] = (st.session_state["sr_mu"], st.session_state["sr_log_sigma"])


def bars_picked() -> None:
    """Bars selected in the size histogram: their indices (the top-10 highlights their cells)."""
    points = st.session_state["sr_histogram"].selection.points
    st.session_state["sr_bars"] = sorted({int(p["point_index"]) for p in points if p.get("curve_number") == 0})


def row_picked() -> None:
    """A top-10 row selected: the histogram marks its bar."""
    rows = st.session_state["sr_top"].selection.rows
    st.session_state["sr_top_row"] = rows[0] if rows else None


def opening_point(theta) -> tuple[float, float]:
    """(μ, log10 σ): the user's, else the documented point of this space and network
    (`size_regulariser.TUNED_POINTS`), fixed when the page first draws and never moved."""
    key = (settings.space_name, settings.preset)
    if st.session_state.get(POINT_FOR) != key or POINT not in st.session_state:
        st.session_state[POINT], st.session_state[POINT_FOR] = sr.default_point(theta, *key), key
    return st.session_state[POINT]


settings = current()
st.title("Size Regulariser")
st.caption("Raw SWAP grows with a network's size; a soft size target corrects it. Move the target, watch ρ change.")
with st.expander("Why regularise by size? (for students)"):
    st.markdown(EXPLAIN)

choices = lab.arch_set_choices(settings.space_name, settings.dataset)
if st.session_state.get("sr_set") not in choices:
    st.session_state["sr_set"] = choices[0]
st.session_state.setdefault("sr_size", prepare.REGULARISER_SIZE)
pick_set, pick_size = st.columns([3, 1])
choice = pick_set.selectbox("Architectures", choices, key="sr_set", format_func=lambda c: {
    "sample": f"random {settings.space.title} cells"}.get(c, f"cells of the ground-truth table {c}"))
size = pick_size.number_input("How many", 10, 2000, step=10, key="sr_size")
archset = arch_set(settings.space_name, settings.dataset, choice, int(size), settings.seed, str(data_dir()))
table, complete = scoring.scoring_panel(settings, list(archset.archs), ["swap"], key="sr_scoring")
table = table[np.isfinite(table["swap"].astype(float)) & np.isfinite(table[SIZE_COLUMN].astype(float))]
if len(table) < 3:
    st.info("Scoring SWAP of the cells: the views appear as soon as a few have a score.")
    st.stop()

archs = table["arch"].tolist()
swap, theta = table["swap"].to_numpy(float), table[SIZE_COLUMN].to_numpy(float) * 1e3
accuracy = np.array([dict(zip(archset.archs, archset.accuracy))[a] for a in archs])
point = opening_point(theta)
low, high, step, exponents = sr.slider_ranges(theta, *point)  # grows with the cells; the point stays
st.session_state["sr_mu"], st.session_state["sr_log_sigma"] = point
left, right = st.columns(2)
mu = left.slider("μ: target size (thousands of parameters)", float(low), float(high), step=float(step),
                 key="sr_mu", on_change=moved, format="%.0f" if step >= 1 else "%g",
                 help="the size of the published benchmark network to aim for")
left.caption(f"μ = **{mu:,.0f} thousand** parameters = **{mu / 1e3:.3f} M**")
log_sigma = right.select_slider("σ: width of the target ((thousands of parameters)²)", exponents,
                                key="sr_log_sigma", on_change=moved, format_func=lambda e: f"{10 ** e:.2g}")
sigma, width = 10.0 ** log_sigma, 10.0 ** (log_sigma / 2)
right.caption(f"σ = **{sigma:.3g}**: f falls to e⁻¹ ≈ 0.37 at Θ = μ ± √σ = μ ± **{width:,.0f} thousand** "
              f"({width / 1e3:.3f} M)")

corr = sr.correlations(swap, theta, accuracy, mu, sigma)
ranked = sr.ranking(archs, swap, theta, mu, sigma, accuracy)
top = ranked.head(10)
metrics = st.columns(4)
metrics[0].metric("Cells scored", f"{len(archs)} of {len(archset.archs)}", help=archset.label)
has_truth = corr["n"] >= 3
if has_truth:
    metrics[1].metric("ρ(SWAP, accuracy)", f"{corr['swap']:.3f}", help=f"Spearman, {corr['n']} cells")
    metrics[2].metric("ρ(regularised SWAP, accuracy)", f"{corr['regularised']:.3f}",
                      delta=f"{corr['regularised'] - corr['swap']:+.3f} vs SWAP", help=f"Spearman, {corr['n']} cells")
    mus, sigmas, grid = rho_grid(tuple(swap), tuple(theta), tuple(accuracy))
    best = sr.best_point(grid, mus, sigmas)
    if best:
        best_point = sr.nearest_slider_point(best[0], math.log10(best[1]), theta)
        metrics[3].metric("Best ρ on the grid", f"{best[2]:.3f}",
                          help=f"at μ ≈ {best_point[0]:,.0f} k, σ = {best[1]:.2g}")
        metrics[3].button("Go to the best μ, σ", key="sr_best", on_click=go_to, args=best_point)
else:
    st.info(f"No accuracy is known for these cells ({escape_markdown(archset.label)}), so ρ cannot be computed: "
            "pick a ground-truth table above. The ranking below still shows what the target does.")
if not complete:
    st.caption(f"Views use the {len(archs)} cells scored so far.")

heat, histogram = st.columns(2)
if has_truth:
    heat.plotly_chart(figures.rho_heatmap(grid, mus, sigmas, mu, sigma, corr["swap"]), width="stretch",
                      key="sr_heatmap")
    heat.caption("Blue: the regulariser ranks better than plain SWAP; red: worse. × marks the sliders' μ, σ.")
edges = sr.size_bins(theta)
top_bars = sr.bin_of(top["params (M)"].to_numpy(float) * 1e3, edges)
picked_bars = [b for b in st.session_state.get("sr_bars", []) if 0 <= b < len(edges) - 1]
top_row = st.session_state.get("sr_top_row")
marked = [int(top_bars[top_row])] if top_row is not None and top_row < len(top) else []
histogram.plotly_chart(figures.size_histogram(theta, mu, sigma, top["params (M)"] * 1e3, edges,
                                              [*picked_bars, *marked]),
                       width="stretch", key="sr_histogram", on_select=bars_picked, selection_mode=("points", "box"))
histogram.caption("Click or drag over bars to light up their cells in the top-10; pick a top-10 row to light up "
                  "its bar.")

table_column, view_column = st.columns([3, 2])
with table_column:
    st.subheader("Top 10 by regularised SWAP")
    in_picked = np.isin(top_bars, picked_bars)
    shown = top.drop(columns="arch").assign(arch=top["arch"])
    st.dataframe(shown.style.apply(lambda row: [f"background-color: {HIGHLIGHT}" if in_picked[row.name] else ""]
                                   * len(row), axis=1),
                 hide_index=True, width="stretch", key="sr_top", on_select=row_picked, selection_mode="single-row",
                 column_config={"params (M)": st.column_config.NumberColumn(format="%.3f"),
                                "size factor": st.column_config.NumberColumn("f(Θ)", format="%.3f"),  # short
                                "SWAP": st.column_config.NumberColumn(format="%.0f"),  # labels: the arch column
                                "regularised SWAP": st.column_config.NumberColumn("reg. SWAP", format="%.0f"),
                                "rank by SWAP": st.column_config.NumberColumn("SWAP rank"),  # stays in view
                                "accuracy": st.column_config.NumberColumn(format="%.2f")}, placeholder="—")
    st.download_button("Download the regularised ranking (CSV)", ranked.to_csv(index=False),
                       "regularised_swap_ranking.csv", "text/csv", icon=":material/download:", key="sr_download")
    labels = {arch: f"#{rank} · {params:.3f} M · rank {plain} by plain SWAP" for arch, rank, params, plain
              in zip(top["arch"], top["rank"], top["params (M)"], top["rank by SWAP"])}
    picked = st.selectbox("Pick a top-10 cell", list(labels), format_func=labels.get, key="sr_pick")
    if st.button("Open in the Cell Designer", icon=":material/account_tree:", key="sr_open"):
        set_arch(picked)
        st.switch_page("app_pages/cell_designer.py")
with view_column:
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="sr_view")
    if view == VIEWS[0]:
        st.plotly_chart(figures.swap_size_scatter(theta, swap, accuracy, np.isin(archs, top["arch"])),
                        width="stretch", key="sr_scatter")
    elif view == VIEWS[1] and picked:
        space = settings.space
        for title, figure in cell_figures(space.graph(space.from_str(picked)), list(space.ops)):
            st.plotly_chart(figure, width="stretch", key=f"sr_cell_{title}")
        st.code(picked, language=None, wrap_lines=True)
