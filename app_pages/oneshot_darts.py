"""DARTS & perturbation: train a small DARTS supernet on NAS-Bench-201 live — loss, accuracy and
α per edge move as it trains — then let DARTS' magnitude rule and Wang et al.'s perturbation
rule (ICLR 2021) each choose a cell, and look both up in the benchmark. A FLOP weight λ prices
the ops in the α step (FLOP-aware DARTS); the committed runs show the cost against accuracy
over λ. Both runs compute in a worker (`ui.darts_panel`); this page lays out widgets and draws
what they have so far."""
from dataclasses import replace

import streamlit as st
import torch

from swap_core.oneshot import darts
from ui import darts_flops as flops
from ui import darts_panel as panel
from ui.figures import cell_figures
from ui.live import live_fragment, run_buttons
from ui.presenter import helper
from ui.settings import current, escape_markdown, page_intro, require_space, set_arch

settings = current()
page_intro("DARTS & perturbation",
           "Train a small DARTS supernet live, then compare the cells that α's magnitude and perturbation pick.",
           "How do DARTS and perturbation-based selection work?", panel.EXPLAIN + flops.EXPLAIN)
require_space(settings, "nb201", "This page trains a NAS-Bench-201 supernet")

run, trace = panel.current()
running = run is not None and run.active
defaults = darts.DartsConfig()
st.session_state.setdefault("od_epochs", defaults.epochs)
st.session_state.setdefault("od_images", defaults.n_train)
st.session_state.setdefault("od_seed", 0)
st.session_state.setdefault("od_flops_weight", defaults.flops_weight)
st.caption(f"This page trains its own supernet (C = {defaults.channels}, {defaults.input_size}-pixel images, batch "
           f"{defaults.batch_size}): the sidebar's network size, batch size and seed do not apply; its images do.")
columns = st.columns([2, 2, 2, 3, 3, 2, 2, 2], vertical_alignment="bottom")
epochs = columns[0].number_input("Epochs", 1, 100, key="od_epochs", disabled=running)
images = columns[1].select_slider("Images (train = validation)", [64, 128, 256, 640, 1280], key="od_images",
                                  disabled=running, help="CIFAR-10 training images for the weight step, and as "
                                                         "many others for the α step and selection (16×16)")
seed = columns[2].number_input("Training seed", 0, 2**31 - 1, key="od_seed", disabled=running,
                              help="the supernet's weights, batches and edge order (`--seeds`); not the sidebar's seed")
mode = columns[3].segmented_control("α", list(panel.ALPHA_MODES), default=list(panel.ALPHA_MODES)[0], key="od_alpha",
                                    disabled=running, help="uniform: α stays at zero, only the weights train "
                                                           "(perturbation selection still works)")
flops_weight = columns[4].select_slider("FLOP weight λ", flops.LAMBDAS, key="od_flops_weight", disabled=running,
                                        format_func=lambda w: f"{w:g}",
                                        help="FLOP-aware DARTS (`--flops-weight`): the α step's loss gains λ times the "
                                             "cell's expected cost (0–1, a share of the all-conv3×3 cell); 0 is plain "
                                             "DARTS. No effect with α uniform.")
# The server's torch thread count (fixed when it started): the numbers depend on it, so the
# page records it and its command line asks for the same.
config = replace(defaults, epochs=int(epochs), n_train=int(images), n_val=int(images),
                 alpha=panel.ALPHA_MODES[mode or list(panel.ALPHA_MODES)[0]], source=settings.source,
                 threads=torch.get_num_threads(), flops_weight=float(flops_weight))


def _start() -> None:
    st.session_state["od_error"] = panel.start(config, int(seed))


columns[5].button("Start", icon=":material/play_arrow:", type="primary", key="od_start", width="stretch",
                  disabled=running, on_click=_start)
run_buttons(run, "od", columns=columns[6:])
if st.session_state.get("od_error"):
    st.error(f"Could not start: {escape_markdown(st.session_state['od_error'])}")
threads = config.threads
st.caption(f"Runs here with this server's {threads} torch thread{'s' if threads > 1 else ''} (the cells chosen "
           "can change with the thread count). The same run from the command line:")
st.code(panel.command_line(config, int(seed)), language="bash", wrap_lines=True)


def draw_training() -> None:
    run, trace = panel.current()
    if run is None:
        return
    last = trace.last
    numbers = st.columns(5)
    numbers[0].metric("Status", run.status)
    numbers[1].metric("Step", f"{trace.step} of {trace.total_steps}")
    numbers[2].metric("Epoch", f"{last.epoch} of {trace.config.epochs}" if last else "—")
    numbers[3].metric("Train loss", f"{last.train_loss:.3f}" if last else "—")
    frame = panel.history_frame(trace)
    validated = frame["val_accuracy"].dropna() if len(frame) else []
    numbers[4].metric("Validation accuracy", f"{validated.iloc[-1]:.1f} %" if len(validated) else "—",
                      help="the supernet on the held-out images, after each epoch")
    st.caption(f"{trace.split.description}; α {trace.config.alpha}, λ {trace.config.flops_weight:g}, "
               f"seed {trace.seed}, "
               f"{trace.threads} torch thread{'s' if trace.threads > 1 else ''}.")
    if run.error:
        st.error(f"Training failed: {escape_markdown(run.error)}")
    if len(frame):
        st.plotly_chart(panel.curve_figure(frame), key="od_curves")
        left, right = st.columns(2)
        left.plotly_chart(panel.alpha_now_figure(last.alpha, last.step), key="od_alpha_now")
        right.plotly_chart(panel.skip_figure(list(trace.alphas)), key="od_alpha_epochs")
        st.plotly_chart(flops.mflops_figure(list(trace.mflops)), key="od_mflops")
        st.download_button("Download α per epoch (CSV)", panel.alpha_table(trace).to_csv(index=False),
                           "darts_alpha.csv", "text/csv", icon=":material/download:", key="od_alpha_csv")


live_fragment(draw_training, run, key="od_live")

selection_run, selection = panel.current_selection(run)
selecting = selection_run is not None and selection_run.active
if trace is not None and trace.trained:
    st.subheader("Choose the cells")
    helper("Magnitude: argmax α per edge (instant). Perturbation: on each edge in turn remove each op, keep the "
           "one whose removal hurts the validation accuracy most, fine-tune, next edge (30 validation passes, "
           "on a copy of the supernet).")
    buttons = st.columns([3, 2, 5], vertical_alignment="bottom")
    buttons[0].button("Choose the cells", icon=":material/call_split:", type="primary", key="od_choose",
                      width="stretch", disabled=selecting, on_click=panel.start_selection, args=(trace,))
    if not selecting:  # while it runs, Stop sits in the live section below: a click redraws only that
        run_buttons(selection_run, "od_choose", pause=False, columns=[buttons[1]])


def draw_perturbation() -> None:
    selection_run, selection = panel.current_selection(panel.current()[0])
    if selection is None:
        return
    if selection_run.active:
        run_buttons(selection_run, "od_choose", pause=False, columns=[st.columns([1, 4])[0]])
    done, total = selection.trials
    decided = len(selection.last.decisions) if selection.last else 0
    words = {"running": "removing ops one at a time", "paused": "paused", "done": "done",
             "stopped": "stopped: no cell chosen", "failed": "failed"}[selection_run.status]
    st.progress(done / total, text=f"Perturbation selection: {words} — validation pass {done} of {total}, "
                                   f"{decided} of {len(panel.EDGE_LABELS)} edges decided")
    if selection_run.error:
        st.error(f"Selection failed: {escape_markdown(selection_run.error)}")
    table = panel.decisions_table(selection)
    if len(table):
        st.caption("Validation accuracy (%) of the supernet with each op removed from the edge; the kept op is the "
                   "one whose removal hurts most. Edges are decided in this (seeded, random) order.")
        st.dataframe(table, hide_index=True, key="od_decisions", placeholder="—")


if selection is not None:
    space = settings.space
    if trace.config.alpha == "uniform":
        st.caption("α never moved (uniform mode): magnitude selection has nothing to go by and takes the first op.")
    chosen = {choice.rule: choice for choice in list(selection.choices)}
    for column, rule in zip(st.columns(2), ("magnitude", "perturbation")):
        with column:
            st.markdown(f"**{rule.capitalize()} selection**")
            choice = chosen.get(rule)
            if choice is None:
                st.caption("choosing…" if selecting else "no cell: selection did not finish")
                continue
            st.metric("NAS-Bench-201 CIFAR-10 accuracy", "—" if choice.accuracy is None else f"{choice.accuracy:.2f} %")
            st.metric("Benchmark network MFLOPs", f"{choice.mflops:.1f}")
            for title, figure in cell_figures(space.graph(choice.arch), list(space.ops)):
                st.plotly_chart(figure, key=f"od_cell_{choice.rule}_{title}")
            st.code(choice.arch, language=None)
            if st.button("Open in the Cell Designer", icon=":material/account_tree:", key=f"od_open_{choice.rule}"):
                set_arch(choice.arch)
                st.switch_page("app_pages/cell_designer.py")
    live_fragment(draw_perturbation, selection_run, key="od_choice_live")
    st.download_button("Download the chosen cells (CSV)",
                       panel.choices_table(list(selection.choices), trace).to_csv(index=False),
                       "darts_chosen_cells.csv", "text/csv", icon=":material/download:", key="od_cells_csv")


st.subheader("FLOPs against accuracy over λ")
tradeoff = flops.committed_tradeoff()
if tradeoff is None:
    st.info(f"No committed trade-off runs ({flops.TRADEOFF_CSV.name}); compute them (about 6 minutes on one core) with:")
else:
    means = flops.tradeoff_means(tradeoff)
    st.caption(f"Committed runs: the supernet as above with its defaults ({defaults.epochs} epochs, "
               f"{defaults.n_train} + {defaults.n_val} images), magnitude selection, seeds "
               f"{', '.join(str(s) for s in sorted(tradeoff['seed'].unique()))}, one thread. "
               "Means per λ: " + "; ".join(f"λ = {r.lambda_:g}: {r.mflops:.1f} MFLOPs, {r.accuracy:.2f} %"
                                           for r in means.rename(columns={"lambda": "lambda_"}).itertuples()) + ".")
    st.plotly_chart(flops.tradeoff_figure(tradeoff), key="od_tradeoff")
    st.caption("Regenerate them with:")
st.code(flops.TRADEOFF_COMMAND, language="bash", wrap_lines=True)
