"""Proxy Lab: score a set of architectures with several proxies and see why they agree or
disagree — with the benchmark's accuracy, with each other, and with parameter count."""
import pandas as pd
import streamlit as st

from swap_core import benchmarks, lab, stats
from swap_core.proxies import get_proxy, list_proxies
from ui.figures import cell_figures
from ui.lab_figures import correlation_heatmap, proxy_scatter
from ui.scoring import SIZE_COLUMNS, scoring_panel
from ui.settings import current, set_arch

settings = current()
space = settings.space
PARAMS = SIZE_COLUMNS[0]

st.title("Proxy Lab")
st.caption("Score a set of architectures with several proxies, then ask why they agree or disagree: with the "
           "benchmark's accuracy, with each other, and with plain parameter count.")

controls = st.columns([3, 1, 5])
choice = controls[0].selectbox("Architectures", lab.arch_set_choices(settings.space_name, settings.dataset),
                               key="pl_set", format_func=lambda c: "random cells of the space" if c == "sample" else c)
size = controls[1].number_input("How many", 10, 20000, 200, step=10, key="pl_size")
defaults = [n for n in ("swap", "naswot", "synflow", "snip", "params") if n in list_proxies()]
names = controls[2].multiselect("Proxies", list_proxies(), default=defaults, key="pl_proxies",
                                format_func=lambda n: get_proxy(n).display_name)
if not names:
    st.info("Pick at least one proxy.")
    st.stop()
names = [n for n in list_proxies() if n in names]  # one order, one cache entry per choice
archset = lab.arch_set(settings.space_name, settings.dataset, choice, int(size), settings.seed)
st.caption(f"{archset.label}; accuracy from `{archset.truth or 'no table'}`; proxies on the {settings.preset} "
           f"network with {settings.batch_size} images; sizes are the benchmark network's.")

table, complete = scoring_panel(settings, list(archset.archs), names, key="pl_scoring")
if table.empty:
    st.stop()
table["accuracy"] = list(archset.accuracy[:len(table)])
st.download_button("Download scores (CSV)", table.drop(columns=["errors"]).to_csv(index=False), "proxy_lab.csv",
                   "text/csv", icon=":material/download:", key="pl_download")
has_truth = table["accuracy"].notna().sum() >= 3
if not has_truth:
    st.warning("No ground-truth accuracy for these architectures: the views compare proxies with each other only.")

views = ["Correlation matrix", "Proxy vs accuracy", "Why they disagree", "Paper table"]
view = st.segmented_control("View", views, default=views[0], key="pl_view") or views[0]

if view == "Correlation matrix":
    columns = {n: table[n] * (1 if lab.direction(n) else -1) for n in names}
    columns.update({"accuracy": table["accuracy"], "params (M)": table[PARAMS], "FLOPs (M)": table[SIZE_COLUMNS[1]]})
    matrix = stats.correlation_matrix(columns)
    st.plotly_chart(correlation_heatmap(matrix, f"Spearman ρ over {len(table)} architectures"), width="stretch")
    st.caption("Lower-is-better proxies (e.g. NTK condition number) are negated so that every row reads 'higher "
               "is better'. Sizes are those of the benchmark network.")
    st.download_button("Download matrix (CSV)", matrix.to_csv(), "proxy_correlations.csv", "text/csv",
                       key="pl_matrix_csv")

elif view == "Proxy vs accuracy" and has_truth:
    proxy = st.selectbox("Proxy", names, key="pl_scatter_proxy")
    rho = stats.rank_correlation(table[proxy], table["accuracy"])
    title = f"{proxy}: Spearman ρ = {rho['spearman']:.3f}, Kendall τ = {rho['kendall']:.3f} (n = {rho['n']})"
    event = st.plotly_chart(proxy_scatter(table, proxy, PARAMS, title), width="stretch", on_select="rerun",
                            selection_mode=("points", "box", "lasso"), key="pl_scatter")
    picked = [p["customdata"] for p in (event.selection.points if event else [])][:3]
    st.caption("Draw a lasso (or, from the toolbar, a box) around points to see their cells.")
    for column, arch in zip(st.columns(max(len(picked), 1)), picked):
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
    st.dataframe(summary.style.format(precision=3, na_rep="—"), hide_index=True, width="stretch")
    st.caption(f"Partial ρ: what is left of a proxy's rank correlation with accuracy once parameter count is "
               f"accounted for (0: the proxy tells nothing beyond size). True top-{k} found: the share of the {k} "
               f"most accurate architectures that are also in the proxy's top {k}.")
    if len(names) >= 2:
        pair = st.columns(2)
        a = pair[0].selectbox("Proxy A", names, index=0, key="pl_a")
        b = pair[1].selectbox("Proxy B", names, index=1, key="pl_b")
        worst = lab.disagreements(table, a, b, count=6).merge(table[["arch", "accuracy", PARAMS]], on="arch")
        st.dataframe(worst, hide_index=True, width="stretch")
        for column, (_, row) in zip(st.columns(2), worst.head(2).iterrows()):
            with column:
                st.markdown(f"**{a} ranks it {row[f'rank by {a}']}, {b} ranks it {row[f'rank by {b}']}** "
                            f"(accuracy {row['accuracy']:.2f} %)")
                for title, figure in cell_figures(space.graph(row["arch"]), list(space.ops)):
                    st.plotly_chart(figure, width="stretch", key=f"pl_gap_{row['arch']}_{title}")

elif view == "Paper table":
    st.markdown("Spearman ρ of each proxy with accuracy on every benchmark table with scores here — ours beside "
                "NAS-Bench-Suite-Zero's own (Krishnakumar et al., 2022). Committed scores: `results/suite_zero/` "
                "(benchmark networks, batch 64, seed 0); the Lab's own scores when its set is a whole table.")
    sources = {spec: pd.read_csv(path) for spec, path in lab.suite_zero_scores().items()}
    if choice != "sample" and complete and len(table) == len(benchmarks.truth_table(choice)):
        sources[choice] = table
    paper = lab.paper_table(sources)
    st.dataframe(paper.style.format("{:.3f}", na_rep="—"), width="stretch", height=35 * (len(paper) + 1) + 3)
    st.download_button("Download table (CSV)", paper.to_csv(), "paper_table.csv", "text/csv", key="pl_paper_csv")
else:
    st.info("This view needs ground-truth accuracy.")
