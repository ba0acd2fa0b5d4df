"""The Cell Designer's "Train this cell": a short, seeded training run of the current cell
(`swap_core.training`) drawn live, its validation accuracy beside the proxy score and the
benchmark's 200-epoch accuracy. The run is a generator kept in `st.session_state` and advanced
for at most BUDGET_S seconds per run of a fragment that reruns every REFRESH_S while it trains;
Stop ends it at once and keeps what was measured."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from swap_core import data, training

from .figures import training_figure
from .live import stop_live, take_states
from .settings import Settings, escape_markdown

REFRESH_S, BUDGET_S = 1.0, 0.7
RUN_KEY = "cd_train_run"
LR_FOR_SPACE = {"darts": 0.025}  # DARTS's own rate: at 0.1 its teaching network's loss jumps first


@dataclass
class TrainRun:
    arch: str
    label: str
    generator: Iterator[training.TrainState] | None
    history: list[training.TrainState] = field(default_factory=list)
    status: str = "running"  # running | stopped | done | failed
    error: str = ""
    data: str = ""


def _start(settings: Settings, epochs: int, images: int, lr: float) -> None:
    try:
        train_set, val_set, description = training.load_cifar10(images, max(images // 2, 32), settings.seed)
        model = training.seeded_model(settings.space, settings.arch, settings.config, seed=settings.seed)
        generator = training.train_steps(model, train_set, val_set, epochs=epochs, lr=lr, seed=settings.seed,
                                         device=settings.device)
    except (ValueError, data.DataSourceError) as error:
        st.session_state[RUN_KEY] = TrainRun(settings.arch, "", None, status="failed", error=str(error))
        return
    label = f"{epochs} epochs, {images} images, lr {lr:g}, seed {settings.seed}"
    st.session_state[RUN_KEY] = TrainRun(settings.arch, label, generator, data=description)


def _stop() -> None:
    stop_live(st.session_state.get(RUN_KEY))


def _advance(run: TrainRun, budget_s: float) -> None:
    take_states(run, budget_s, run.history.append)  # failures: e.g. out of memory on a big network


def history_frame(history: list[training.TrainState]) -> pd.DataFrame:
    return pd.DataFrame([{"step": s.step, "epoch": s.epoch, "lr": s.lr, "train_loss": s.train_loss,
                          "train_accuracy": s.train_accuracy, "val_loss": s.val_loss,
                          "val_accuracy": s.val_accuracy, "seconds": s.seconds} for s in history])


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
    run: TrainRun | None = st.session_state.get(RUN_KEY)
    running = run is not None and run.status == "running"
    columns = st.columns(4, vertical_alignment="bottom")
    epochs = columns[0].number_input("Epochs", 1, 50, training.DEFAULT_EPOCHS, key="cd_train_epochs", disabled=running)
    images = columns[1].select_slider("Training images", [128, 256, 512, 1024, 2048], training.DEFAULT_TRAIN_SIZE,
                                      key="cd_train_images", disabled=running)
    lr = columns[2].number_input("Learning rate", 0.0001, 1.0, LR_FOR_SPACE.get(settings.space_name, training.DEFAULT_LR),
                                 format="%g", key=f"cd_train_lr_{settings.space_name}", disabled=running)
    if running:
        columns[3].button("Stop", icon=":material/stop:", key="cd_train_stop", on_click=_stop, width="stretch")
    else:
        columns[3].button("Train this cell", icon=":material/model_training:", type="primary", key="cd_train_start",
                          on_click=_start, args=(settings, int(epochs), int(images), float(lr)), width="stretch")

    @st.fragment(run_every=REFRESH_S if running else None)
    def live() -> None:
        current: TrainRun | None = st.session_state.get(RUN_KEY)
        if current is None:
            return
        if current.status == "failed" and not current.history:
            st.error(f"Could not train: {escape_markdown(current.error)}")
            return
        _advance(current, st.session_state.get("cd_train_budget_s", BUDGET_S))
        frame = history_frame(current.history)
        last_val = frame["val_accuracy"].dropna()
        numbers = st.columns(4)
        numbers[0].metric("Status", current.status, help=current.label)
        numbers[1].metric("Step", f"{len(frame)} of {current.history[-1].total_steps}" if len(frame) else "0")
        numbers[2].metric("Validation accuracy (here)", f"{100 * last_val.iloc[-1]:.1f} %" if len(last_val) else "—",
                          help="on held-out CIFAR-10 training images, after the epochs run so far")
        numbers[3].metric("Benchmark accuracy (200 epochs)", "—" if benchmark is None else f"{benchmark:.2f} %")
        if current.arch != settings.arch:
            st.caption("This curve belongs to another cell than the one shown above (the cell was changed).")
        else:
            st.caption(f"{proxy[0]} of this cell: {proxy[1]:,.1f}. {current.data}")
        if current.error:
            st.error(f"Training stopped: {escape_markdown(current.error)}")
        if len(frame):
            st.plotly_chart(curve_figure(frame), key="cd_train_curve")
            st.download_button("Download the curve (CSV)", frame.to_csv(index=False), "training_curve.csv", "text/csv",
                               icon=":material/download:", key="cd_train_csv")
        if current.status != "running" and running:
            st.rerun()  # the whole panel: Start again instead of Stop

    live()


__all__ = ["curve_figure", "history_frame", "train_panel"]
