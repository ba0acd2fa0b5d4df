"""The Proxy Lab's learned-predictor view: a learning curve of the few-shot predictor
(`swap_core.lab.predictor_curve_states`, LightGBM on graph features and the set's proxy scores)
fitted in the engine on the Lab's scored set, beside the curve `python -m swap_core predict
--curve` measured on the benchmark (`results/predictor/`). Labelled everywhere as using k
trained accuracies: it is never one of the training-free columns."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from swap_core import lab

from .live import current_run, live_fragment, run_buttons, start_run, stop_run
from .presenter import readable
from .settings import escape_markdown

RUN_KEY, TRACE_KEY = "pl_pred_run", "pl_pred_trace"
COMMITTED = Path(__file__).resolve().parents[1] / "results" / "predictor"
PUBLISHED = ("NAS-Bench-Suite-Zero's XGBoost on its 13 proxies, k = 400: ρ 0.941 on NB201 CIFAR-10 "
             "(NASLib zerocost branch, PlotXGBCorrelations)")


@dataclass
class Trace:
    label: str  # which set and features the curve belongs to
    records: list = field(default_factory=list)
    run: object = None


def _start(space: str, table: pd.DataFrame, names: list[str], label: str, seed: int) -> None:
    stop_run(RUN_KEY)
    trace = Trace(label)
    states = lab.predictor_curve_states(space, table, names, seed=seed)

    def keep(records: list) -> None:  # in the worker: the latest list of records
        trace.records = records

    trace.run = start_run(RUN_KEY, states, name="predictor-curve", on_state=keep)
    st.session_state[TRACE_KEY] = trace


def curve_figure(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Spearman ρ on unseen cells against k (log axis), one line with ±1 sd bars per curve."""
    figure = go.Figure()
    for name, frame in curves.items():
        figure.add_scatter(x=frame["k"], y=frame["spearman_mean"], name=name, mode="lines+markers",
                           error_y={"type": "data", "array": frame["spearman_sd"], "visible": True})
    figure.update_layout(xaxis={"title": "k: trained accuracies used", "type": "log"},
                         yaxis={"title": "Spearman ρ on unseen cells", "range": [0, 1]},
                         legend={"orientation": "h", "y": -0.25}, margin={"t": 30}, showlegend=True)
    return readable(figure)


def committed_curves() -> dict[str, pd.DataFrame]:
    """The learning curves committed under results/predictor (written by `predict --curve`)."""
    curves = {}
    for path in sorted(COMMITTED.glob("*curve*.csv")):
        frame = pd.read_csv(path)
        if {"k", "spearman_mean", "spearman_sd"} <= set(frame.columns):
            curves[path.stem] = frame
    return curves


def predictor_view(space: str, table: pd.DataFrame, names: list[str], label: str, seed: int) -> None:
    st.markdown("**Learned predictor — uses k trained accuracies.** Not a training-free proxy: gradient-boosted "
                "trees (LightGBM) learn accuracy from each cell's graph features and its proxy scores, trained "
                "on k cells whose accuracy is known and judged on the set's other cells.")
    proxies = [n for n in names if n in table.columns]
    usable = table.dropna(subset=["accuracy"])
    ks = lab.predictor_ks(len(usable))
    run = current_run(RUN_KEY)
    trace = st.session_state.get(TRACE_KEY)
    features = f"{label}; features: graph + {', '.join(proxies) or 'no proxy'}"
    columns = st.columns([3, 1], vertical_alignment="bottom")
    columns[0].caption(f"On this set: k = {', '.join(map(str, ks)) or '—'}, 3 draws each (seed {seed}). "
                       "Needs the set's scores and accuracies; takes a few seconds.")
    columns[1].button("Fit the curve", icon=":material/show_chart:", type="primary", key="pl_pred_start",
                      disabled=not ks or bool(run and run.active), width="stretch",
                      on_click=_start, args=(space, usable, proxies, features, seed))
    if not ks:
        st.info(f"The predictor needs at least {lab.PREDICTOR_KS[0] + lab.PREDICTOR_MIN_TEST} cells with a "
                "trained accuracy: pick a larger set or one with a ground-truth table.")

    def draw() -> None:
        curves = {f"{k} (committed)": frame for k, frame in committed_curves().items()}
        trace = st.session_state.get(TRACE_KEY)
        if isinstance(trace, Trace) and trace.records:
            curves = {"this set": lab.predictor_summary(trace.records), **curves}
        if trace is not None and trace.run is not None and trace.run.active:
            run_buttons(trace.run, "pl_pred", pause=False, columns=[st.columns([1, 4])[0]])
        if isinstance(trace, Trace):
            st.caption(("" if trace.label == features else "Fitted on another set or proxies than shown above: ")
                       + escape_markdown(trace.label))
            if trace.run is not None and trace.run.error:
                st.error(f"The fit stopped: {escape_markdown(trace.run.error)}")
        if curves:
            st.plotly_chart(curve_figure(curves), key="pl_pred_curve")
        st.caption(f"Published: {PUBLISHED}. Committed curves: `results/predictor/` "
                   "(`python -m swap_core predict --curve`).")
        if isinstance(trace, Trace) and trace.records:
            summary = lab.predictor_summary(trace.records)
            st.download_button("Download the curve (CSV)", summary.to_csv(index=False), "predictor_curve.csv",
                               "text/csv", icon=":material/download:", key="pl_pred_csv")

    live_fragment(draw, run if isinstance(trace, Trace) else None, key="pl_pred_live")


__all__ = ["committed_curves", "curve_figure", "predictor_view"]
