"""Proxy Lab: score a set of architectures with several proxies and see why they agree or
disagree — with the benchmark's accuracy, with each other, and with parameter count."""
import pandas as pd
import streamlit as st

from swap_core import benchmarks, lab, limits, prepare, stats
from swap_core.cluster_job import cluster_address
from swap_core.ensembles import get_ensemble, list_ensembles
from swap_core.proxies import get_proxy, list_proxies
from ui import cached
from ui.figures import cell_figures
from ui.lab_figures import correlation_heatmap, proxy_scatter
from ui.predictor_panel import predictor_view
from ui.presenter import helper
from ui.scoring import SIZE_COLUMNS, scoring_panel
from ui.settings import current, set_arch

settings = current()
space = settings.space
PARAMS = SIZE_COLUMNS[0]
VIEWS = ["Correlation matrix", "Proxy vs accuracy", "Why they disagree", "Paper table", "Learned predictor"]
PAIR, PICKED = "pl_pair", "pl_picked"  # the matrix cell clicked; the cells picked in the scatter or gap table
HIGHLIGHT = "#FFE8A3"


def cell_clicked() -> None:
    """A click on the matrix: two proxies open "Why they disagree" on that pair; a proxy and
    accuracy open its scatter."""
    points = st.session_state["pl_matrix"].selection.points
    if not points:
        return
    row, column = str(points[0]["y"]), str(points[0]["x"])
    st.session_state[PAIR] = (row, column)
    shown = set(list_proxies()) | set(list_ensembles())
    proxies = [n for n in (row, column) if n in shown]
    if len(proxies) == 2 and row != column:
        st.session_state["pl_a"], st.session_state["pl_b"] = row, column
        st.session_state["pl_view"] = VIEWS[2]
    elif len(proxies) == 1 and "accuracy" in (row, column):
        st.session_state["pl_scatter_proxy"], st.session_state["pl_view"] = proxies[0], VIEWS[1]


def points_picked() -> None:
    """Points selected in the scatter: the gap table lights up their rows."""
    points = st.session_state["pl_scatter"].selection.points
    st.session_state[PICKED] = [p["customdata"] for p in points if p.get("curve_number", 0) == 0 and
                                isinstance(p.get("customdata"), str)]


def rows_picked() -> None:
    """Rows selected in the gap table: the scatter rings their points."""
    shown = st.session_state.get("pl_gap_archs", [])
    st.session_state[PICKED] = [shown[i] for i in st.session_state["pl_gaps"].selection.rows if i < len(shown)]


def keep_valid(key: str, options: list[str], fallback: str) -> None:
    if st.session_state.get(key) not in options:
        st.session_state[key] = fallback

st.title("Proxy Lab")
st.caption("Score many cells with several proxies, then see where they agree — with accuracy, each other, size.")

controls = st.columns([3, 1, 4, 2])
choice = controls[0].selectbox("Architectures", lab.arch_set_choices(settings.space_name, settings.dataset),
                               key="pl_set", format_func=lambda c: "random cells of the space" if c == "sample" else c)
size = controls[1].number_input("How many", 10, limits.maximum("cells"), prepare.LAB_SIZE, step=10, key="pl_size",
                                help=limits.help_text("cells"))
defaults = prepare.lab_proxies()  # what `python -m swap_core prepare` scores ahead of a lecture
names = controls[2].multiselect("Proxies", list_proxies(), default=defaults, key="pl_proxies",
                                format_func=lambda n: get_proxy(n).display_name)
ensembles = controls[3].multiselect("Ensembles", list_ensembles(), key="pl_ensembles",
                                    format_func=lambda n: get_ensemble(n).display_name,
                                    help="Combine proxies' ranks over the set (their members are scored too): "
                                    + "; ".join(f"{get_ensemble(e).display_name}: {get_ensemble(e).description}"
                                                for e in list_ensembles()))
if not names and not ensembles:
    st.info("Pick at least one proxy.")
    st.stop()
members = lab.ensemble_members(ensembles)
scored = [n for n in list_proxies() if n in names or n in members]  # one order, one cache entry per choice
names = [n for n in scored if n in names] + list(ensembles)  # the columns the views show
archset = lab.arch_set(settings.space_name, settings.dataset, choice, int(size), settings.seed)
st.caption(f"{archset.label}; accuracy from `{archset.truth or 'no table'}`; proxies on the {settings.preset} "
           f"network with {settings.batch_size} images; sizes are the benchmark network's.")

if cluster_address():  # $RAY_ADDRESS: large jobs can go to the Ray cluster (else no widget, no ray import)
    from ui.cluster_panel import cluster_panel

    cluster_panel(settings, list(archset.archs), archset.label, scored, page_key="pl_scoring")
table, complete = scoring_panel(settings, list(archset.archs), scored, key="pl_scoring")
if table.empty:
    st.stop()
table = lab.with_ensembles(table, ensembles)
table["accuracy"] = list(archset.accuracy[:len(table)])
st.download_button("Download scores (CSV)", table.drop(columns=["errors"]).to_csv(index=False), "proxy_lab.csv",
                   "text/csv", icon=":material/download:", key="pl_download")
has_truth = table["accuracy"].notna().sum() >= 3
if not has_truth:
    st.warning("No ground-truth accuracy for these architectures: the views compare proxies with each other only.")

st.session_state.setdefault("pl_view", VIEWS[0])
view = st.segmented_control("View", VIEWS, key="pl_view") or VIEWS[0]
picked = [a for a in st.session_state.get(PICKED, []) if a in set(table["arch"])]

if view == "Correlation matrix":
    columns = {n: table[n] * (1 if lab.direction(n) else -1) for n in names}
    columns.update({"accuracy": table["accuracy"], "params (M)": table[PARAMS], "FLOPs (M)": table[SIZE_COLUMNS[1]]})
    matrix = stats.correlation_matrix(columns)
    st.plotly_chart(correlation_heatmap(matrix, f"Spearman ρ over {len(table)} architectures",
                                        st.session_state.get(PAIR)), width="stretch", key="pl_matrix",
                    on_select=cell_clicked, selection_mode="points")
    st.caption("Click a cell: two proxies open *Why they disagree* on that pair, a proxy and accuracy its scatter.")
    helper("Lower-is-better proxies (e.g. NTK condition number) are negated so that every row reads 'higher "
           "is better'. Sizes are those of the benchmark network.")
    st.download_button("Download matrix (CSV)", matrix.to_csv(), "proxy_correlations.csv", "text/csv",
                       key="pl_matrix_csv")

elif view == "Proxy vs accuracy" and has_truth:
    keep_valid("pl_scatter_proxy", names, names[0])
    proxy = st.selectbox("Proxy", names, key="pl_scatter_proxy")
    rho = stats.rank_correlation(table[proxy], table["accuracy"])
    title = f"{proxy}: Spearman ρ = {rho['spearman']:.3f}, Kendall τ = {rho['kendall']:.3f} (n = {rho['n']})"
    st.plotly_chart(proxy_scatter(table, proxy, PARAMS, title, picked), width="stretch", on_select=points_picked,
                    selection_mode=("points", "box", "lasso"), key="pl_scatter")
    st.caption("Draw a lasso (or, from the toolbar, a box) around points to see their cells; they stay ringed, "
               "and lit in *Why they disagree*.")
    for column, arch in zip(st.columns(max(len(picked[:3]), 1)), picked[:3]):
        with column:
            row = table.set_index("arch").loc[arch]
            st.markdown(f"**{proxy} {row[proxy]:.4g} · accuracy {row['accuracy']:.2f} % · {row[PARAMS]:.3f} M**")
            for title, figure in cell_figures(space.graph(arch), list(space.ops)):
                st.plotly_chart(figure, width="stretch", key=f"pl_pick_{arch}_{title}")
            if st.button("Open in the Cell Designer", key=f"pl_open_{arch}", icon=":material/open_in_new:"):
                set_arch(arch)
                st.switch_page("app_pages/cell_designer.py")

elif view == "Why they disagree" and has_truth:
    k = st.slider("k for top-k", 1, max(1, len(table) // 2), max(1, len(table) // 10), key="pl_k")
    summary = lab.proxy_summary(table, names, table["accuracy"], PARAMS, k)
    st.dataframe(summary.style.format(precision=3, na_rep="—"), hide_index=True, width="stretch", placeholder="—")
    st.caption(f"Partial ρ: what is left of a proxy's rank correlation with accuracy once parameter count is "
               f"accounted for (0: the proxy tells nothing beyond size). True top-{k} found: the share of the {k} "
               f"most accurate architectures that are also in the proxy's top {k}.")
    if len(names) >= 2:
        pair = st.columns(2)
        keep_valid("pl_a", names, names[0])
        keep_valid("pl_b", names, names[1])
        a = pair[0].selectbox("Proxy A", names, key="pl_a")
        b = pair[1].selectbox("Proxy B", names, key="pl_b")
        ranks = lab.disagreements(table, a, b, count=len(table)).merge(table[["arch", "accuracy", PARAMS]], on="arch")
        worst = ranks.head(6)
        st.session_state["pl_gap_archs"] = worst["arch"].tolist()
        lit = worst["arch"].isin(picked).tolist()
        st.dataframe(worst.style.apply(lambda row: [f"background-color: {HIGHLIGHT}" if lit[row.name] else ""]
                                       * len(row), axis=1),
                     hide_index=True, width="stretch", placeholder="—", key="pl_gaps", on_select=rows_picked,
                     selection_mode="multi-row")
        others = ranks[ranks["arch"].isin(picked) & ~ranks["arch"].isin(worst["arch"])]
        if len(others):
            st.caption(f"The other cells picked in the scatter, ranked by {a} and {b}:")
            st.dataframe(others.style.set_properties(**{"background-color": HIGHLIGHT}), hide_index=True,
                         width="stretch", placeholder="—")
        st.caption("Pick rows to ring their points in *Proxy vs accuracy*; cells picked there are lit here.")
        shown = ranks[ranks["arch"].isin(picked)].head(2) if picked else worst.head(2)
        for column, (_, row) in zip(st.columns(2), shown.iterrows()):
            with column:
                st.markdown(f"**{a} ranks it {row[f'rank by {a}']}, {b} ranks it {row[f'rank by {b}']}** "
                            f"(accuracy {row['accuracy']:.2f} %)")
                for title, figure in cell_figures(space.graph(row["arch"]), list(space.ops)):
                    st.plotly_chart(figure, width="stretch", key=f"pl_gap_{row['arch']}_{title}")

elif view == "Paper table":
    st.markdown("Spearman ρ of each proxy with accuracy on every benchmark table with scores here — ours beside "
                "NAS-Bench-Suite-Zero's own (Krishnakumar et al., 2022), and a paper's published figure where one is "
                "known (`swap_core/published.py`). Committed scores: `results/suite_zero/` and `results/proxy_table/` "
                "(benchmark networks, seed 0; the suite's proxies at batch 64, the newer ones at their own; only the first "
                "rows of some tables, see the README); the Lab's own scores when its set is a whole table.")
    paper = cached.committed_paper_table(str(benchmarks.data_dir()))
    if choice != "sample" and complete and len(table) == len(benchmarks.truth_table(choice)):
        own = lab.paper_table({choice: table})  # the Lab's own scores replace the committed ones of that table
        paper = paper.drop(columns=[c for c in own.columns if c in paper.columns]).join(own, how="outer")
    st.dataframe(paper.style.format("{:.3f}", na_rep="—"), width="stretch", height=35 * (len(paper) + 1) + 3,
                 placeholder="—")
    st.download_button("Download table (CSV)", paper.to_csv(), "paper_table.csv", "text/csv", key="pl_paper_csv")
elif view == "Learned predictor" and has_truth:
    predictor_view(settings.space_name, table, [n for n in scored if n in names], archset.label, settings.seed)
else:
    st.info("This view needs ground-truth accuracy.")
