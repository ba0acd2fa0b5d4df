"""Widgets and views of the Search page: the algorithm's and the objective's controls, and the
live view of a run (metrics, best so far, population, best cell, results, comparison)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from swap_core import limits
from swap_core.proxies import get_proxy, list_proxies
from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA
from swap_core.search import get_algorithm, list_algorithms, objectives
from swap_core.search.efficiency import COSTS, MNAS_GAMMA, MODES, Constraint
from swap_core.search.objectives import LATENCY_SOURCES
from swap_core.search.pareto import evaluated_front, evaluated_points
from swap_core.setup import Setup
from swap_core.spaces import get_space

from . import efficiency_figures, presenter, search_figures as figures, search_run
from .figures import cell_figures
from .presenter import helper
from .settings import Settings, escape_markdown

VIEWS = ("Best cell", "Results", "Pareto front", "Compare runs")
EXPLAIN = """
**Random search** draws cells at random and keeps the best one. **Evolution** (REA, AREA, SWAP-NAS)
keeps a *population*: it picks a few members at random, copies the best of them with one small
change (a *mutation*), adds the child and drops a member (the oldest in REA, the worst in SWAP-NAS)
— so the search spends its budget near cells that already scored well. Each cell is judged in one of
two ways. A **proxy evaluation** builds the untrained network and scores it on one batch of images
(milliseconds on a CPU) — that is what "training-free" means. A **"training" lookup** (REA and AREA
on a benchmark table) reads the accuracy the network reached after 200 epochs of real training: here
it is free, but each one stands for hours of GPU time, so both are counted, apart. The **size
regulariser** matters because raw SWAP, the number of distinct on/off patterns of the ReLU units,
does not single out the best cells: on the small teaching network its highest scores go to mid-sized
cells that cut edges (`none`), which train to only about 91–92 %, so a search that maximises raw SWAP
does well on SWAP and badly on accuracy. Regularised SWAP multiplies the score by exp(−(Θ − μ)²/σ),
Θ the cell's size in thousands of parameters, and so steers the search to cells of about μ thousand
parameters — set μ near the size of the benchmark's best cells and the same search returns far
better ones. Try both on the same seed.
"""


def _option_input(label: str, key: str, default: Any, disabled: bool, name: str = "") -> Any:
    """A number input (a toggle for a flag, a text box for text) for one option, bounded by its
    limit where `limits` has one for `name` (the reason is the widget's help)."""
    st.session_state.setdefault(key, default)
    if isinstance(default, bool):
        return st.toggle(label, key=key, disabled=disabled)
    bound = limits.limit_for_dest(name)
    bounds = {"max_value": limits.maximum(bound), "help": limits.help_text(bound)} if bound else {}
    if isinstance(default, int):
        if bound and st.session_state[key] > bounds["max_value"]:
            st.session_state[key] = bounds["max_value"]
        return int(st.number_input(label, step=1, key=key, disabled=disabled, **bounds))
    if isinstance(default, float):
        return float(st.number_input(label, key=key, disabled=disabled, format="%g", **bounds))
    return st.text_input(label, key=key, disabled=disabled)


def _set_regulariser(mu: float, sigma: float) -> None:
    st.session_state["se_mu"], st.session_state["se_sigma"] = mu, sigma


def _algorithm_changed() -> None:
    """An algorithm defined with an objective (NASWOT, HNAS) brings it along."""
    objective = get_algorithm(st.session_state["se_algo"]).objective
    if objective:
        st.session_state["se_objective"] = objective


def algorithm_controls(disabled: bool) -> tuple[str, dict[str, Any]]:
    """The algorithm picker, its description and its options: (name, options)."""
    names = list_algorithms()
    if st.session_state.get("se_algo") not in names:
        st.session_state["se_algo"] = "swap-nas" if "swap-nas" in names else names[0]
        _algorithm_changed()
    algo = st.selectbox("Algorithm", names, key="se_algo", disabled=disabled, on_change=_algorithm_changed,
                        format_func=lambda n: get_algorithm(n).title)
    info = get_algorithm(algo)
    helper(info.description + (" It *trains* by looking up the benchmark's accuracy." if info.uses_truth else ""))
    options = {}
    for column, (name, default) in zip(st.columns(max(min(len(info.options), 3), 1)) * 3, info.options):
        with column:
            options[name] = _option_input(name.replace("_", " "), f"se_opt_{algo}_{name}", default, disabled, name)
    return algo, options


def objective_controls(settings: Settings, algo: str, disabled: bool) -> tuple[str | None, dict[str, Any]]:
    """The objective to maximise (a proxy, an ensemble or HNAS's metrics), regularised SWAP's
    size target and an optional efficiency constraint: (objective, its options); None for
    an algorithm that uses no proxy."""
    info = get_algorithm(algo)
    if not info.uses_proxy:
        st.markdown("**Objective**")
        st.caption(f"{info.title} uses no proxy: every cell it judges is *trained* — its accuracy is looked up in "
                   "the benchmark table — so the budget counts lookups.")
        return None, {}
    names = objectives.objective_names()
    fixed = info.objective if info.objective and info.objective not in list_proxies() else None  # e.g. HNAS's own
    if fixed:
        st.session_state["se_objective"] = fixed
    elif st.session_state.get("se_objective") not in names:
        st.session_state["se_objective"] = "reg_swap" if "reg_swap" in names else names[0]
    objective = st.selectbox("Objective (maximised)", names, key="se_objective", disabled=disabled or bool(fixed),
                             format_func=search_run.objective_title)
    wanted = objectives.objective_batch_size(objective)
    if wanted != settings.batch_size:
        st.caption(f"{search_run.objective_title(objective)} is defined with a batch of {wanted}; "
                   f"the sidebar's batch is {settings.batch_size}.")
    if objective in list_proxies():
        info = get_proxy(objective)
        helper(info.description
               + ("" if info.higher_is_better else " Lower is better: the search maximises −score."))
    sizes = np.array(search_run.benchmark_sizes(settings.space_name, settings.dataset, settings.seed))
    options: dict[str, Any] = {}
    if objective == "reg_swap":
        left, right = st.columns(2)
        with left:
            options["mu"] = _option_input("μ: target size (k params)", "se_mu", DEFAULT_MU, disabled)
        with right:
            options["sigma"] = _option_input("σ: width ((k params)²)", "se_sigma", DEFAULT_SIGMA, disabled)
        helper(f"Θ is the size of the published benchmark network: {sizes[:, 0].min():,.0f} to "
               f"{sizes[:, 0].max():,.0f} thousand parameters over {len(sizes)} random cells. The score falls "
               f"to 37 % at Θ = μ ± √σ = μ ± {math.sqrt(max(options['sigma'], 0)):,.4g} k.")
        tuned = objectives.TUNED_REGULARISER.get((settings.space_name, settings.preset))
        if tuned is not None:
            st.button(f"Use the tuned μ = {tuned[0]:g}, σ = {tuned[1]:.3g}", key="se_tuned", disabled=disabled,
                      icon=":material/tune:", on_click=_set_regulariser, args=tuned,
                      help="chosen on SWAP tables of other seeds than the README's results; see the README's "
                           "Search section (the paper's defaults are μ = 1000, σ = 1e6)")
    if st.toggle("Efficiency constraint", key="se_constrained", disabled=disabled,
                 help="combine the score with the benchmark network's cost: a hard limit, MnasNet's soft "
                      "reward s·(c/τ)^γ (Tan et al., CVPR 2019), or s − λ·c"):
        cost_column, limit_column, mode_column = st.columns(3)
        cost = cost_column.selectbox("Cost", list(COSTS), key="se_cost", disabled=disabled, help=str(COSTS))
        typical = {"params": float(np.median(sizes[:, 0])) / 1e3, "flops": float(np.median(sizes[:, 1])),
                   "latency": 10.0}[cost]
        with limit_column:
            limit = _option_input(f"Limit ({COSTS[cost].split(' per')[0]})", f"se_limit_{cost}",
                                  float(f"{typical:.2g}"), disabled)
        mode = mode_column.selectbox("Mode", MODES, key="se_mode", disabled=disabled,
                                     format_func=lambda m: {"hard": "hard limit", "mnas": "MNAS reward",
                                                            "weighted": "weighted sum"}[m])
        options.update(constraint=Constraint(cost, max(float(limit), 1e-9)), mode=mode)
        if cost == "latency":
            options["latency"] = st.radio(
                "Latency of each cell", LATENCY_SOURCES, key="se_latency", disabled=disabled, horizontal=True,
                format_func={"measured": "measured (timed per cell)",
                             "predicted": "predicted (learned, fitted once)"}.__getitem__,
                help="predicted: the learned latency predictor (Efficiency page), fitted on 300 cells timed on "
                     "this server once; a hard limit then checks prediction + the predictor's margin")
            if options["latency"] == "predicted":
                helper("The first such search on this server times 300 cells (3 rounds, a minute or two) before "
                       "its first evaluation; later ones reuse them from the store.")
        if mode == "mnas":
            options["gamma"] = _option_input("γ (MnasNet: −0.07)", "se_gamma", MNAS_GAMMA, disabled)
        elif mode == "weighted":
            options["weight"] = _option_input("λ (score units per unit of cost)", "se_weight", 1.0, disabled)
    return objective, options


def metrics(run: search_run.SearchRun) -> None:
    state, columns = run.state, st.columns(5)
    step = state.step if state else 0
    columns[0].metric("Evaluations", f"{step} of {run.total}",
                      help=f"{state.proxy_evaluations if state else 0} proxy evaluations, "
                           f"{state.truth_lookups if state else 0} 'training' lookups")
    best = state.best if state else None
    columns[1].metric("Best score", f"{best.score:,.5g}" if best else "—", help=run.objective)
    known = best is not None and math.isfinite(best.accuracy)
    columns[2].metric("Accuracy of the best", f"{best.accuracy:.2f} %" if known else "—",
                      help="the benchmark's accuracy of the current best (never shown to a proxy-only search)")
    columns[3].metric("Proxy evaluations / s", f"{run.rate:.1f}" if math.isfinite(run.rate) else "—",
                      help="per second of search compute (not counting the page's redraws)")
    columns[4].metric("Status", run.status, help=f"run {run.id}, seed {run.seed}")


def _kept(name: str, key: tuple, build: Callable[[], Any]) -> Any:
    """This session's figure `name`, built again only when `key` (what it shows) changes: the
    fragment redraws twice a second, mostly the same state, and building a figure is tens of ms
    of Python that a class's sessions would otherwise take from the searches' workers."""
    slot = f"se_kept_{name}"
    kept = st.session_state.get(slot)
    if kept is None or kept[0] != key:
        kept = st.session_state[slot] = (key, build())
    return kept[1]


def live_view(run: search_run.SearchRun | None, view: str | None) -> None:
    """Everything that moves while a run runs (drawn inside the page's fragment)."""
    if run is None:
        st.info("Pick an algorithm, an objective and a budget, then press **Start**.",
                icon=":material/travel_explore:")
    else:
        if run.status == "failed":
            st.error(f"The search failed: {escape_markdown(run.error)}")
        metrics(run)
        st.progress(min((run.state.step if run.state else 0) / run.total, 1.0),
                    text=f"{run.label}, seed {run.seed} — {run.network}")
        left, right = st.columns(2)
        trace = list(run.trace)  # one snapshot: the worker appends to it meanwhile
        state = run.state
        moment = (run.id, run.seed, state.step if state is not None else -1, len(trace), presenter.active())
        left.plotly_chart(_kept("progress", moment, lambda: figures.progress_figure(trace, run.total, run.has_truth)),
                          width="stretch", key="se_progress_chart")
        if state is not None:
            right.plotly_chart(_kept("population", moment, lambda: figures.population_figure(
                state, *search_run.population_sizes(run))), width="stretch", key="se_population_chart")
    if view == "Best cell" and run is not None and run.state is not None and run.state.best is not None:
        best_cell(run)
    elif view == "Results" and run is not None and run.state is not None:
        results_view(run)
    elif view == "Pareto front" and run is not None and run.state is not None:
        front_view(run)
    elif view == "Compare runs":
        compare_view()


def best_cell(run: search_run.SearchRun) -> None:
    best, space = run.state.best, get_space(run.space_name)
    drawing, facts = st.columns([3, 1])
    drawn = _kept("best_cell", (run.space_name, best.arch, presenter.active()),
                  lambda: cell_figures(space.graph(space.from_str(best.arch)), list(space.ops)))
    for title, figure in drawn:
        drawing.plotly_chart(figure, width="stretch", key=f"se_best_cell_{title}")
    lines = [f"**Best so far**, found at evaluation {best.step}", f"score {best.score:,.5g}"]
    if math.isfinite(best.params):
        lines.append(f"{best.params:.3f} M parameters ({run.preset} network)")
    if math.isfinite(best.accuracy):
        lines.append(f"benchmark accuracy {best.accuracy:.2f} %")
    facts.markdown("  \n".join(lines))
    for name, value in (best.metrics or {}).items():
        facts.caption(f"{name.replace('_', ' ')}: {value:,.5g}")
    st.code(best.arch, language=None, wrap_lines=True)


def results_view(run: search_run.SearchRun) -> None:
    table = search_run.results_table(run.state)
    st.dataframe(table, hide_index=True, width="stretch", height=320,
                 column_config={"score": st.column_config.NumberColumn(format="%.4g"),
                                "params (M)": st.column_config.NumberColumn(format="%.4f"),
                                "accuracy": st.column_config.NumberColumn(format="%.2f")}, placeholder="—")
    if run.status == "running":
        st.caption("Pause (or wait for the end) to download the results so far.")
    else:
        st.download_button("Download all evaluated cells (CSV)", table.to_csv(index=False),
                           f"search_{run.algo}_seed{run.seed}.csv", "text/csv", icon=":material/download:",
                           key="se_download", on_click="ignore")


def front_view(run: search_run.SearchRun) -> None:
    """Every cell this seed evaluated, cost against accuracy (score without a truth table), and
    the Pareto front; the cost is the constraint's, else the benchmark network's parameters."""
    state, value = run.state, "accuracy" if run.has_truth else "score"
    size_k = Setup(space=run.space_name, dataset=run.dataset).size_k
    unit = COSTS[run.cost].split(" per")[0] if run.cost else "M parameters, benchmark network"

    def build():
        points = evaluated_points(state.history, run.cost, size_k, value)
        front = evaluated_front(state.history, run.cost, size_k, value)
        title = "benchmark accuracy (%)" if value == "accuracy" else "objective score"
        return efficiency_figures.front_figure(points, front, unit, title, run.limit), front

    figure, front = _kept("front", (run.id, run.seed, state.step, presenter.active()), build)
    st.plotly_chart(figure, width="stretch", key="se_front_chart")
    st.caption(f"{len(front)} cells on the front: none of the others is both cheaper and better.")
    if run.status != "running":
        st.download_button("Download the front (CSV)", pd.DataFrame(front).to_csv(index=False),
                           f"front_{run.algo}_seed{run.seed}.csv", "text/csv", icon=":material/download:",
                           key="se_front_csv", on_click="ignore")


def compare_view() -> None:
    runs = search_run.records()
    if not runs:
        st.info("Finished and stopped runs appear here. Run several algorithms, or one with several seeds "
                "(**Runs**), to compare them.")
        return
    metric = st.segmented_control("Compare by", ["accuracy", "score"], default="accuracy", key="se_metric",
                                  format_func=lambda m: {"accuracy": "benchmark accuracy of the best",
                                                         "score": "objective score of the best"}[m]) or "accuracy"
    st.plotly_chart(figures.comparison_figure(runs, metric), width="stretch", key="se_compare_chart")
    st.dataframe(search_run.records_table(runs), hide_index=True, width="stretch",
                 column_config={"best score": st.column_config.NumberColumn(format="%.4g"),
                                "best accuracy": st.column_config.NumberColumn(format="%.2f"),
                                "seconds": st.column_config.NumberColumn(format="%.1f")}, placeholder="—")
    st.button("Clear the comparison", icon=":material/delete:", key="se_clear", on_click=search_run.clear_records)
