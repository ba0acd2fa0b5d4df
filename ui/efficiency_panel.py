"""Views of the Efficiency page, one per idea of the lecture's second half: the three reward
forms, this cell's cost on this device, latency predictors, TinyNAS's choice of search space,
FLOP-aware DARTS, and constrained searches compared. Each number comes from `swap_core`
(committed results where a view shows a study that takes minutes, with the command that
remakes it); anything slower than a moment runs in the engine."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from swap_core import tinynas
from swap_core.cell_cost import PEAK_NOTE, cell_cost_states
from swap_core.latency_command import latency_study
from swap_core.search.efficiency import MNAS_GAMMA, Constraint, parse_constraint, reward_curves
from swap_core.spaces import get_space

from . import darts_flops, efficiency_figures as figures, latency_figures, tinynas_figures
from .live import current_run, live_fragment, start_run
from .settings import Settings, escape_markdown

RESULTS = Path(__file__).resolve().parents[1] / "results"
LATENCY_RESULT = RESULTS / "latency" / "nb201_cpu.json"
REWARDS_RESULT = RESULTS / "efficiency" / "rewards_nb201_latency.json"
COST_RUN, COST_REPORT = "ef_cost_run", "ef_cost_report"
CHECK_RUN, CHECK_ROWS, CHECK_CELLS = "ef_check_run", "ef_check_rows", 3
STUDY_RUN, STUDY_SIZES, STUDY_CURVE = "ef_study_run", (60, 40), (10, 25, 60)
VIEWS = ("Rewards", "This cell", "Latency predictors", "TinyNAS", "FLOP-aware DARTS", "Constrained search")


def _command(text: str) -> None:
    with st.expander("The same from the command line", icon=":material/terminal:"):
        st.code(text, language="bash", wrap_lines=True)


def rewards_view() -> None:
    st.markdown("**Maximise accuracy subject to cost ≤ τ**, three ways: a hard limit, MnasNet's soft reward, "
                "a weighted sum. Move τ, γ and λ and watch the reward of one network as its cost grows.")
    columns = st.columns(4)
    score = columns[0].number_input("Score s", 1.0, 1000.0, 90.0, key="ef_score")
    limit = columns[1].number_input("Limit τ (ms)", 0.5, 100.0, 10.0, key="ef_limit")
    gamma = columns[2].slider("γ (MNAS)", -1.0, 0.0, MNAS_GAMMA, 0.01, key="ef_gamma")
    weight = columns[3].slider("λ (weighted)", 0.0, 5.0, 1.0, 0.1, key="ef_weight")
    costs = np.linspace(0.05 * limit, 3 * limit, 200).tolist()
    curves = reward_curves(score, Constraint("latency", limit), costs, gamma=gamma, weight=weight)
    st.plotly_chart(figures.rewards_figure(costs, curves, limit, "ms", score), key="ef_rewards_chart")
    table = pd.DataFrame({"cost (ms)": costs, **{f"reward ({m})": v for m, v in curves.items()}})
    st.download_button("Download the curves (CSV)", table.to_csv(index=False), "rewards.csv", "text/csv",
                       icon=":material/download:", key="ef_rewards_csv")


def _start_cost(settings: Settings) -> None:
    report: dict = {}
    st.session_state[COST_REPORT] = report
    batches = tuple(dict.fromkeys((1, settings.batch_size)))
    start_run(COST_RUN, cell_cost_states(settings.setup, settings.arch, batches), name="cell-cost",
              on_state=report.update)


def cell_view(settings: Settings) -> None:
    st.markdown(f"**This cell on this device** ({settings.space.title}, {settings.preset} network): parameters, "
                f"MFLOPs, peak activation memory and latency at batch 1 and the sidebar's batch "
                f"({settings.batch_size}): median of 10 timed passes after 2 warm-ups, cached.")
    st.button("Measure this cell", icon=":material/timer:", type="primary", key="ef_cost_start",
              on_click=_start_cost, args=(settings,))
    run = current_run(COST_RUN)

    def draw() -> None:
        report = st.session_state.get(COST_REPORT) or {}
        if not report:
            st.info("Press **Measure this cell** to time the sidebar's cell.", icon=":material/timer:")
            return
        if report.get("arch") != settings.arch:
            st.caption("Measured for another cell than the sidebar's now.")
        if run is not None and run.error:
            st.error(f"The measurement stopped: {escape_markdown(run.error)}")
        top = st.columns(3)
        top[0].metric("Parameters", f"{report['params_m']:.3f} M")
        top[1].metric("MFLOPs per image", f"{report['mflops']:.1f}")
        top[2].metric("torch threads", str(report["threads"]))
        rows = [{"batch": b, "latency (ms)": report["latency_ms"].get(b), "peak activation memory (MB)": mb}
                for b, mb in report["peak_mb"].items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="measuring…",
                     column_config={"latency (ms)": st.column_config.NumberColumn(format="%.2f"),
                                    "peak activation memory (MB)": st.column_config.NumberColumn(format="%.3f")})
        st.caption(PEAK_NOTE)

    live_fragment(draw, run, key="ef_cost_live")
    _command(f"python -m swap_core cost --space {settings.space_name} --network {settings.preset} "
             f"--batch {settings.batch_size} --arch '{settings.arch}'")


@st.cache_data(show_spinner=False)
def _json(path: str, stamp: float) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def committed(path: Path) -> dict | None:
    """A committed results file, read once per change of the file."""
    return _json(str(path), path.stat().st_mtime) if path.exists() else None


def _study_view(study: dict, key: str) -> None:
    """A latency study's table, predicted-vs-measured scatter and learning curve."""
    names = list(study.get("predictors", {}))
    rows = [{"predictor": n, **v} for n, v in study["predictors"].items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="—",
                 column_config={"spearman": st.column_config.NumberColumn("Spearman ρ", format="%.3f"),
                                "rmse": st.column_config.NumberColumn("RMSE (ms)", format="%.2f"),
                                "ms_per_cell": st.column_config.NumberColumn("ms per cell", format="%.3f"),
                                "fixed_ms": st.column_config.NumberColumn("fixed part (ms)", format="%.2f"),
                                "margin_ms": st.column_config.NumberColumn("margin (ms)", format="%.2f"),
                                "n_train": st.column_config.NumberColumn("training cells")})
    left, right = st.columns(2)
    if study.get("cells") and names:
        left.plotly_chart(latency_figures.predicted_vs_measured(study["cells"], names, study["predictors"]),
                          key=f"{key}_scatter")
    if study.get("curve"):
        right.plotly_chart(latency_figures.latency_curve(study["curve"]), key=f"{key}_curve")
    st.download_button("Download the held-out cells (CSV)", pd.DataFrame(study.get("cells", [])).to_csv(index=False),
                       f"{key}_cells.csv", "text/csv", icon=":material/download:", key=f"{key}_csv")


def _start_study(settings: Settings) -> None:
    setup = settings.setup.replace(preset="benchmark", batch=None)
    start_run(STUDY_RUN, latency_study(setup, measure=STUDY_SIZES[0], holdout=STUDY_SIZES[1], curve=STUDY_CURVE),
              name="latency-study")


def latency_view(settings: Settings) -> None:
    st.markdown("**Predict latency instead of measuring every network** (ChamNet, BRP-NAS): measure a few hundred "
                "cells once on this device, then (a) sum per-op times from a lookup table or (b) learn latency "
                "from the cell's graph. Judged on 200 cells neither saw.")
    mine, committed_tab = st.columns([1, 3], vertical_alignment="center")
    mine.button(f"Measure here: {sum(STUDY_SIZES)} cells", icon=":material/timer:", key="ef_study_start",
                on_click=_start_study, args=(settings,),
                help=f"{STUDY_SIZES[0]} training and {STUDY_SIZES[1]} held-out cells of the sidebar's space, "
                     "benchmark network, batch 1 — about half a minute on a laptop CPU")
    run = current_run(STUDY_RUN)
    if run is not None:
        def draw() -> None:
            state = run.state
            if run.error:
                st.error(f"The study stopped: {escape_markdown(run.error)}")
            if state is None:
                return
            if state.stage == "measure":
                st.progress(state.measured / max(state.total, 1), text=f"measuring {state.measured} of {state.total}")
            for note in state.notes:
                st.caption(escape_markdown(note))
            if state.predictors:
                st.markdown(f"**Measured on this server** ({STUDY_SIZES[1]} held-out cells):")
                _study_view(vars(state), "ef_study")

        live_fragment(draw, run, key="ef_study_live")
    study = committed(LATENCY_RESULT)
    if study is None:
        st.info(f"No committed latency study: run the command below (a few minutes) to write `{LATENCY_RESULT.name}`.")
    else:
        setup = study.get("setup", {})
        committed_tab.caption(f"Committed study: {setup.get('measure')} + {setup.get('holdout')} cells, "
                              f"{setup.get('threads', '?')} thread(s), {setup.get('network', 'benchmark')} network, "
                              f"batch {setup.get('batch', 1)} (`results/latency/{LATENCY_RESULT.name}`).")
        _study_view(study, "ef_latency")
    _command("python -m swap_core latency --space nb201 --measure 300 --holdout 200 --rounds 3 --threads 1 "
             "--out results/latency/nb201_cpu.json")


@st.cache_data(show_spinner=False, max_entries=16)
def _tinynas(space: str, dataset: str, samples: int, int8: bool) -> tinynas.TinyNASResult:
    return tinynas.select_space(space, dataset, samples=samples, int8=int8)


def tinynas_view(settings: Settings) -> None:
    st.markdown("**Choose the search space before searching** (TinyNAS, MCUNet): scale width and input resolution, "
                "keep the models that fit the memory budget, and pick the space whose best models have the most "
                "FLOPs — more capacity in the same memory.")
    space = settings.space_name if settings.space_name in ("nb201", "darts") else "nb201"
    if space != settings.space_name:
        st.caption("TinyNAS here covers NB201 and DARTS; showing NB201.")
    columns = st.columns([2, 1, 1])
    int8 = columns[1].toggle("int8 activations", key="ef_int8", help="1 byte per value, as MCUNet deploys")
    samples = columns[2].select_slider("Cells per variant", [50, 100, 200], value=100, key="ef_samples")
    with st.spinner("Counting FLOPs and memory of every variant…"):
        full = _tinynas(space, get_space(space).datasets[0], samples, int8)
    low, high = float(full.cells["peak_mb"].min()), float(full.cells["peak_mb"].max())
    budget = columns[0].slider("Memory budget (MB of peak activations, batch 1)", round(low, 3), round(high, 3),
                               round(high, 3), step=round((high - low) / 100, 4) or None,
                               key=f"ef_budget_{space}_{int8}", help="MB = 10⁶ bytes; " + PEAK_NOTE)
    result = tinynas.apply_budget(full, budget)
    st.plotly_chart(tinynas_figures.flops_cdf(result.cells, result.variants), key="ef_tinynas_chart")
    chosen = result.chosen
    st.markdown(f"**Chosen: {chosen}**" if chosen else "**No variant fits this budget.**")
    if result.dropped:
        st.caption(f"Dropped (no model under the budget): {', '.join(result.dropped)}.")
    st.caption("Benchmark accuracy exists only for the benchmark network (w1.0-r32); the other variants have "
               "none, so this view never shows one for them.")
    st.download_button("Download the variants (CSV)", result.variants.to_csv(index=False), "tinynas_variants.csv",
                       "text/csv", icon=":material/download:", key="ef_tinynas_csv")
    training_check(result)
    _command(f"python -m swap_core tinynas --space {space} --samples {samples} --memory-mb {budget:g}"
             + (" --int8" if int8 else "") + f" --train-check {CHECK_CELLS}")


def _start_check(result: tinynas.TinyNASResult, pair: list) -> None:
    archs = list(dict.fromkeys(result.cells["arch"]))[:CHECK_CELLS]
    rows: list = []
    st.session_state[CHECK_ROWS] = rows
    start_run(CHECK_RUN, tinynas.train_check_states(result.space, archs, pair, seed=0), name="tinynas-check",
              on_state=lambda done: rows.__setitem__(slice(None), done))


def training_check(result: tinynas.TinyNASResult) -> None:
    """Offer the small-scale check: a few cells trained on the chosen and the cheapest variant."""
    try:
        pair = tinynas.check_pair(result)
    except ValueError:
        return
    names = " and ".join(f"w{w:g}-r{r}" for w, r in pair)
    st.button(f"Check by training: {CHECK_CELLS} cells on {names}", icon=":material/model_training:",
              key="ef_check_start", on_click=_start_check, args=(result, pair),
              help="1 epoch on 256 CIFAR-10 training images, validation on 128: a rough check, about a "
                   "minute on a CPU, of whether the variant with more FLOPs trains better")
    run = current_run(CHECK_RUN)

    def draw() -> None:
        rows = st.session_state.get(CHECK_ROWS)
        if run is not None and run.error:
            st.error(f"The training check stopped: {escape_markdown(run.error)}")
        if rows:
            table = pd.DataFrame(rows)
            st.dataframe(table.groupby("variant", sort=False)[["mflops", "val_accuracy", "seconds"]].mean().round(2)
                         .reset_index(), hide_index=True)
            if run is not None and run.active:
                st.caption(f"Training… {len(rows)} of {2 * CHECK_CELLS} networks")

    live_fragment(draw, run, key="ef_check_live")


def darts_view() -> None:
    st.markdown("**FLOP-aware DARTS**: the α step's loss gains λ·Σ softmax(α)·FLOPs, so α drifts to cheaper ops. "
                "Train it live on the DARTS page; here, what the chosen cells cost and reach over λ and seeds.")
    st.page_link("app_pages/oneshot_darts.py", label="Open the DARTS page (λ slider)", icon=":material/call_split:")
    frame = darts_flops.committed_tradeoff()
    if frame is None:
        st.info("No committed trade-off yet: run the command below.")
    else:
        st.plotly_chart(darts_flops.tradeoff_figure(frame), key="ef_darts_chart")
        st.dataframe(darts_flops.tradeoff_means(frame), hide_index=True)
        st.download_button("Download the runs (CSV)", frame.to_csv(index=False), "darts_flops_tradeoff.csv",
                           "text/csv", icon=":material/download:", key="ef_darts_csv")
    _command("python -m swap_core oneshot darts --selection magnitude --flops-weight 0,0.1,0.3,1,3 --seeds 0-2 "
             "--threads 1 --out results/oneshot/darts_flops_tradeoff.json\n# or, with the CSV the page reads:\n"
             + darts_flops.TRADEOFF_COMMAND)


def search_view() -> None:
    st.markdown("**Constrained search, compared**: SWAP-NAS under `latency ≤ τ` with the latency *predicted*, "
                "one run per seed for each reward form; every returned cell with its cost and accuracy, over the "
                "Pareto front of all the cells the runs evaluated.")
    result = committed(REWARDS_RESULT)
    if result is None:
        st.info("No committed comparison yet: run the command below.")
    else:
        runs = result.get("runs", [])
        setup = result.get("setup", {})
        limit = _limit(setup.get("constraint"))
        st.plotly_chart(figures.tradeoff_figure(runs, limit, "ms, predicted", "benchmark accuracy (%)"),
                        key="ef_search_chart")
        table = pd.DataFrame([{"reward": r.get("mode"), "seed": r["seed"], "accuracy": r.get("accuracy"),
                               "latency predicted (ms)": r.get("cost"),
                               "latency measured (ms)": r.get("measured_latency"), "cell": r.get("arch")}
                              for r in runs])
        st.dataframe(table, hide_index=True, placeholder="—",
                     column_config={"accuracy": st.column_config.NumberColumn(format="%.2f"),
                                    "latency predicted (ms)": st.column_config.NumberColumn(format="%.2f"),
                                    "latency measured (ms)": st.column_config.NumberColumn(format="%.2f")})
        st.download_button("Download the runs (CSV)", table.to_csv(index=False), "constrained_search.csv",
                           "text/csv", icon=":material/download:", key="ef_search_csv")
    st.page_link("app_pages/search.py", label="Run one on the Search page (Efficiency constraint, Pareto front view)",
                 icon=":material/travel_explore:")
    _command("python -m swap_core search --algo swap-nas --budget 300 --seeds 0-9 --constraint 'latency<=τ' "
             "--latency predicted --constraint-mode hard,mnas,weighted --truth nb201_accuracy.csv:cifar10_test "
             "--threads 1 --out results/efficiency/rewards_nb201_latency.json")


def _limit(text: str | None) -> float | None:
    """The limit of the comparison's `--constraint` (None without a readable one)."""
    try:
        return parse_constraint(text).limit if text else None
    except ValueError:
        return None


__all__ = ["VIEWS", "cell_view", "darts_view", "latency_view", "rewards_view", "search_view", "tinynas_view"]
