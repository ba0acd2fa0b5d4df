"""DARTS & perturbation: train a small DARTS supernet on NAS-Bench-201 live — loss, accuracy and
α per edge move as it trains — then let DARTS' magnitude rule and Wang et al.'s perturbation
rule (ICLR 2021) each choose a cell, and look both up in the benchmark."""
from dataclasses import replace

import streamlit as st

from swap_core.oneshot import darts
from ui import darts_panel as panel
from ui.figures import cell_figures
from ui.settings import current, escape_markdown, page_intro, require_space, set_arch

settings = current()
page_intro("DARTS & perturbation",
           "Differentiable NAS on NAS-Bench-201 with a small supernet: watch α move (and skip-connect grow), then "
           "compare the cell DARTS' magnitude rule picks with the one perturbation-based selection picks.",
           "How do DARTS and perturbation-based selection work?", panel.EXPLAIN)
require_space(settings, "nb201", "This page trains a NAS-Bench-201 supernet")

run = panel.current_run()
running = run is not None and run.status == "running"
defaults = darts.DartsConfig()
st.session_state.setdefault("od_epochs", defaults.epochs)
st.session_state.setdefault("od_images", defaults.n_train)
st.session_state.setdefault("od_seed", 0)
columns = st.columns([2, 2, 2, 3, 2, 2], vertical_alignment="bottom")
epochs = columns[0].number_input("Epochs", 1, 100, key="od_epochs", disabled=running)
images = columns[1].select_slider("Images (train = validation)", [64, 128, 256, 640, 1280], key="od_images",
                                  disabled=running, help="CIFAR-10 training images for the weight step, and as "
                                                         "many others for the α step and selection (16×16)")
seed = columns[2].number_input("Seed", 0, 2**31 - 1, key="od_seed", disabled=running)
mode = columns[3].segmented_control("α", list(panel.ALPHA_MODES), default=list(panel.ALPHA_MODES)[0], key="od_alpha",
                                    disabled=running, help="uniform: α stays at zero, only the weights train "
                                                           "(perturbation selection still works)")
config = replace(defaults, epochs=int(epochs), n_train=int(images), n_val=int(images),
                 alpha=panel.ALPHA_MODES[mode or list(panel.ALPHA_MODES)[0]], source=settings.source)


def _start() -> None:
    st.session_state["od_error"] = panel.start(config, int(seed))


columns[4].button("Start", icon=":material/play_arrow:", type="primary", key="od_start", width="stretch",
                  disabled=running, on_click=_start)
columns[5].button("Stop", icon=":material/stop:", key="od_stop", width="stretch", disabled=not running,
                  on_click=panel.stop)
if st.session_state.get("od_error"):
    st.error(f"Could not start: {escape_markdown(st.session_state['od_error'])}")


@st.fragment(run_every=panel.REFRESH_S if running else None)
def live() -> None:
    run = panel.current_run()
    if run is None:
        return
    panel.advance(run, st.session_state.get(panel.BUDGET_KEY, panel.BUDGET_S))
    numbers = st.columns(5)
    numbers[0].metric("Status", run.status)
    numbers[1].metric("Step", f"{run.step} of {run.total_steps}")
    numbers[2].metric("Epoch", f"{run.last.epoch} of {run.config.epochs}" if run.last else "—")
    numbers[3].metric("Train loss", f"{run.last.train_loss:.3f}" if run.last else "—")
    validated = [row["val_accuracy"] for row in run.rows if row["val_accuracy"] == row["val_accuracy"]]
    numbers[4].metric("Validation accuracy", f"{validated[-1]:.1f} %" if validated else "—",
                      help="the supernet on the held-out images, after each epoch")
    st.caption(f"{run.split.description}; α {run.config.alpha}, seed {run.seed}.")
    if run.error:
        st.error(f"Training failed: {escape_markdown(run.error)}")
    if run.rows:
        st.plotly_chart(panel.curve_figure(panel.history_frame(run)), key="od_curves")
        left, right = st.columns(2)
        left.plotly_chart(panel.alpha_now_figure(run.last.alpha, run.step), key="od_alpha_now")
        right.plotly_chart(panel.skip_figure(run.alphas), key="od_alpha_epochs")
        st.download_button("Download α per epoch (CSV)", panel.alpha_table(run).to_csv(index=False),
                           "darts_alpha.csv", "text/csv", icon=":material/download:", key="od_alpha_csv")
    if run.status != "running" and running:
        st.rerun()  # the whole page: Start enabled, the selection offered


live()

run = panel.current_run()
selection = panel.current_selection(run)
selecting = selection is not None and selection.status == "running"
if run is not None and run.trained:
    st.subheader("Choose the cells")
    st.caption("Magnitude: argmax α per edge (instant). Perturbation: on each edge in turn remove each op, keep the "
               "one whose removal hurts the validation accuracy most, fine-tune, next edge (30 validation passes, "
               f"{run.config.threads} torch thread{'s' if run.config.threads > 1 else ''} as the command line, so "
               "the same seed picks the same cell).")
    buttons = st.columns([3, 2, 5], vertical_alignment="bottom")
    buttons[0].button("Choose the cells", icon=":material/call_split:", type="primary", key="od_choose",
                      width="stretch", disabled=selecting, on_click=panel.start_selection, args=(run,))
    buttons[1].button("Stop", icon=":material/stop:", key="od_choose_stop", width="stretch", disabled=not selecting,
                      on_click=panel.stop_selection)


@st.fragment(run_every=panel.REFRESH_S if selecting else None)
def perturbation_progress() -> None:
    selection = panel.current_selection(panel.current_run())
    if selection is None:
        return
    if selection.status == "running":
        panel.advance_selection(selection, st.session_state.get(panel.BUDGET_KEY, panel.BUDGET_S))
    done, total = selection.trials
    decided = len(selection.last.decisions) if selection.last else 0
    words = {"running": "removing ops one at a time", "done": "done", "stopped": "stopped: no cell chosen",
             "failed": "failed"}[selection.status]
    st.progress(done / total, text=f"Perturbation selection: {words} — validation pass {done} of {total}, "
                                   f"{decided} of {len(panel.EDGE_LABELS)} edges decided")
    if selection.error:
        st.error(f"Selection failed: {escape_markdown(selection.error)}")
    table = panel.decisions_table(selection)
    if len(table):
        st.caption("Validation accuracy (%) of the supernet with each op removed from the edge; the kept op is the "
                   "one whose removal hurts most. Edges are decided in this (seeded, random) order.")
        st.dataframe(table, hide_index=True, key="od_decisions")
    if selection.status != "running" and selecting:
        st.rerun()  # the whole page: the perturbation cell drawn, the buttons updated


if selection is not None:
    space = settings.space
    if run.config.alpha == "uniform":
        st.caption("α never moved (uniform mode): magnitude selection has nothing to go by and takes the first op.")
    chosen = {choice.rule: choice for choice in selection.choices}
    for column, rule in zip(st.columns(2), ("magnitude", "perturbation")):
        with column:
            st.markdown(f"**{rule.capitalize()} selection**")
            choice = chosen.get(rule)
            if choice is None:
                st.caption("choosing…" if selecting else "no cell: selection did not finish")
                continue
            st.metric("NAS-Bench-201 CIFAR-10 accuracy", "—" if choice.accuracy is None else f"{choice.accuracy:.2f} %")
            for title, figure in cell_figures(space.graph(choice.arch), list(space.ops)):
                st.plotly_chart(figure, key=f"od_cell_{choice.rule}_{title}")
            st.code(choice.arch, language=None)
            if st.button("Open in the Cell Designer", icon=":material/account_tree:", key=f"od_open_{choice.rule}"):
                set_arch(choice.arch)
                st.switch_page("app_pages/cell_designer.py")
    perturbation_progress()
    st.download_button("Download the chosen cells (CSV)", panel.choices_table(selection.choices, run).to_csv(index=False),
                       "darts_chosen_cells.csv", "text/csv", icon=":material/download:", key="od_cells_csv")
