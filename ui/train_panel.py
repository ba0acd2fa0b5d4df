"""The Cell Designer's "Train this cell": a short, seeded training run of the current cell
(`swap_core.training.train_steps`) computed in a worker (`ui.live.start_run`) and drawn live,
its validation accuracy beside the proxy score and the benchmark's 200-epoch accuracy. Each
state is folded into a `TrainTrace` as it comes; the panel's fragment only reads it and draws.
Stop ends the run at once and keeps what was measured."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from swap_core import data, training
from swap_core.runs import Run

from .figures import training_figure
from .live import current_run, live_fragment, run_buttons, start_run, stop_run
from .settings import Settings, escape_markdown

RUN_KEY, TRACE_KEY, ERROR_KEY = "cd_train_run", "cd_train_trace", "cd_train_error"


@dataclass
class TrainTrace:
    """What the panel keeps of one training run: the cell, the settings and every state."""

    arch: str
    label: str
    data: str
    run: Run | None = None
    history: list[training.TrainState] = field(default_factory=list)


def current() -> tuple[Run | None, TrainTrace | None]:
    run, trace = current_run(RUN_KEY), st.session_state.get(TRACE_KEY)
    if run is None or not isinstance(trace, TrainTrace) or trace.run is not run:
        return None, None
    return run, trace


def _start(settings: Settings, epochs: int, images: int, lr: float) -> None:
    stop_run(RUN_KEY)
    st.session_state.pop(ERROR_KEY, None)
    try:
        train_set, val_set, description = training.load_cifar10(images, max(images // 2, 32), settings.seed)
        model = settings.setup.network(settings.arch)  # the weights every page scores for this cell
        states = training.train_steps(model, train_set, val_set, epochs=epochs, lr=lr, seed=settings.seed,
                                      device=settings.device)
    except (ValueError, data.DataSourceError) as error:
        st.session_state.pop(TRACE_KEY, None)
        st.session_state[ERROR_KEY] = str(error)
        return
    trace = TrainTrace(settings.arch, f"{epochs} epochs, {images} images, lr {lr:g}, seed {settings.seed}",
                       description)
    trace.run = start_run(RUN_KEY, states, name="train-cell", on_state=trace.history.append)
    st.session_state[TRACE_KEY] = trace


def history_frame(history: list[training.TrainState]) -> pd.DataFrame:
    return pd.DataFrame([{"step": s.step, "epoch": s.epoch, "lr": s.lr, "train_loss": s.train_loss,
                          "train_accuracy": s.train_accuracy, "val_loss": s.val_loss,
                          "val_accuracy": s.val_accuracy, "seconds": s.seconds} for s in list(history)],
                        columns=["step", "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                 "seconds"])


def curve_figure(frame: pd.DataFrame) -> go.Figure:
    return training_figure(frame, [(1, "train_loss", "train loss", 1, "line"),
                                   (1, "val_loss", "validation loss", 1, "points"),
                                   (2, "train_accuracy", "train accuracy", 100, "line"),
                                   (2, "val_accuracy", "validation accuracy", 100, "points")])


def train_panel(settings: Settings, proxy: tuple[str, float], benchmark: float | None) -> None:
    """The expander's contents: settings, Start/Stop, and the live curve with the three numbers."""
    st.caption("Train the current cell for a few epochs on real CIFAR-10 training images (a validation split "
               "held out), with NAS-Bench-201's recipe scaled down. A short run ranks cells only roughly: it is a "
               "sanity check beside the proxy, not the benchmark's 200 epochs.")
    run, _ = current()
    running = run is not None and run.active
    columns = st.columns([3, 3, 3, 3, 2], vertical_alignment="bottom")
    epochs = columns[0].number_input("Epochs", 1, 50, training.DEFAULT_EPOCHS, key="cd_train_epochs", disabled=running)
    images = columns[1].select_slider("Training images", [128, 256, 512, 1024, 2048], training.DEFAULT_TRAIN_SIZE,
                                      key="cd_train_images", disabled=running)
    lr = columns[2].number_input("Learning rate", 0.0001, 1.0, settings.space.training_lr,
                                 format="%g", key=f"cd_train_lr_{settings.space_name}", disabled=running)
    columns[3].button("Train this cell", icon=":material/model_training:", type="primary", key="cd_train_start",
                      on_click=_start, args=(settings, int(epochs), int(images), float(lr)), width="stretch",
                      disabled=running)
    if not running:  # while it runs, Stop sits in the live section: a click there redraws only that
        run_buttons(run, "cd_train", pause=False, columns=[columns[4]])
    if st.session_state.get(ERROR_KEY):
        st.error(f"Could not train: {escape_markdown(st.session_state[ERROR_KEY])}")

    def draw() -> None:
        run, trace = current()
        if trace is None:
            return
        frame = history_frame(trace.history)
        last_val = frame["val_accuracy"].dropna()
        if run.active:
            run_buttons(run, "cd_train", pause=False, columns=[st.columns([1, 4])[0]])
        numbers = st.columns(4)
        numbers[0].metric("Status", run.status, help=trace.label)
        numbers[1].metric("Step", f"{len(frame)} of {trace.history[0].total_steps}" if len(frame) else "0")
        numbers[2].metric("Validation accuracy (here)", f"{100 * last_val.iloc[-1]:.1f} %" if len(last_val) else "—",
                          help="on held-out CIFAR-10 training images, after the epochs run so far")
        numbers[3].metric("Benchmark accuracy (200 epochs)", "—" if benchmark is None else f"{benchmark:.2f} %")
        if trace.arch != settings.arch:
            st.caption("This curve belongs to another cell than the one shown above (the cell was changed).")
        else:
            st.caption(f"{proxy[0]} of this cell: {proxy[1]:,.1f}. {trace.data}")
        if run.error:
            st.error(f"Training stopped: {escape_markdown(run.error)}")
        if len(frame):
            st.plotly_chart(curve_figure(frame), key="cd_train_curve")
            st.download_button("Download the curve (CSV)", frame.to_csv(index=False), "training_curve.csv", "text/csv",
                               icon=":material/download:", key="cd_train_csv")

    live_fragment(draw, run, key="cd_train_live")


__all__ = ["TrainTrace", "curve_figure", "current", "history_frame", "train_panel"]
