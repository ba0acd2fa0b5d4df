"""SMASH at small scale (Brock et al., ICLR 2018): train a hypernetwork that generates the conv
weights of NAS-Bench-201 cells, watch it learn, then rank many cells by their accuracy with
generated weights and compare that ranking — and SWAP-Score's — with the benchmark. All numbers
come from `swap_core.oneshot.smash`, computed in a worker (`ui.smash_panel`); this page draws."""
import streamlit as st
import torch

from swap_core.oneshot.smash import DEFAULTS
from ui import smash_panel as panel
from ui.live import live_fragment, run_buttons
from ui.settings import current, escape_markdown, page_intro, require_space, set_arch

settings = current()
page_intro("SMASH: one-shot ranking with a hypernetwork",
           "One network learns to generate every cell's weights; cells are ranked by their accuracy with them.",
           "What does SMASH do?", panel.EXPLAIN)
require_space(settings, "nb201", "SMASH here generates NAS-Bench-201 cells")
st.caption(f"The hypernetwork has its own size (C = {DEFAULTS['channels']}, {DEFAULTS['input_size']}-pixel images, "
           f"batch {DEFAULTS['batch_size']}): the sidebar's network, batch and seed set only the SWAP-Score beside it.")
run, trace = panel.current()
active = run is not None and run.active


def _score_now_button(trace: panel.SmashTrace) -> None:
    st.button("Score the cells now", icon=":material/leaderboard:", key="sm_score_now", on_click=panel.score_now,
              args=(trace,), width="stretch", help="end the training here and rank the cells with the weights reached")


columns = st.columns([3, 3, 3, 2, 2, 2], vertical_alignment="bottom")
steps = columns[0].number_input("Training steps", 1, 20_000, DEFAULTS["steps"], step=100, key="sm_steps",
                                disabled=active)
n_archs = columns[1].number_input("Architectures to rank", 3, 1000, 100, key="sm_archs", disabled=active)
seed = columns[2].number_input("SMASH seed", 0, 2**31 - 1, 0, key="sm_seed", disabled=active,
                              help="the hypernetwork's weights, its batches and the cells ranked (`--seed`)")
columns[3].button("Start", icon=":material/play_arrow:", type="primary", key="sm_start", on_click=panel.start,
                  args=(settings, int(steps), int(n_archs), int(seed)), width="stretch", disabled=active)
if not active:  # while it runs, Pause and Stop sit in the live section below: a click redraws only that
    run_buttons(run, "sm", columns=columns[4:])
if st.session_state.get(panel.ERROR_KEY):
    st.error(f"Could not start SMASH: {escape_markdown(st.session_state[panel.ERROR_KEY])}")
threads = torch.get_num_threads()  # the server's, fixed when it started
st.caption(f"Runs here with this server's {threads} torch thread{'s' if threads > 1 else ''} (the ranking can change "
           "with the thread count). The same run from the command line:")
st.code(panel.command_line(int(n_archs), int(steps), int(seed)), language="bash", wrap_lines=True)
if trace is not None and trace.rankable and not active:
    with st.columns([2, 5])[0]:
        _score_now_button(trace)


def draw() -> None:
    run, trace = panel.current()
    if trace is None:
        st.caption("Press Start: training takes about a minute per 1,000 steps on one CPU core.")
        return
    curve, last = panel.curve_frame(trace), (trace.history or [None])[-1]
    if run.active:
        buttons = st.columns([2, 2, 3, 3])
        run_buttons(run, "sm", columns=buttons[:2])
        if trace.rankable:
            with buttons[2]:
                _score_now_button(trace)
    numbers = st.columns(4)
    numbers[0].metric("Status", run.status)
    numbers[1].metric("Step", f"{len(curve)} of {trace.steps}")
    numbers[2].metric("Running loss", f"{last.running_loss:.3f}" if last else "—")
    numbers[3].metric("Running accuracy", f"{100 * last.running_accuracy:.1f} %" if last else "—",
                      help="mean minibatch accuracy over the last 50 steps, each on another random cell")
    st.caption(trace.description)
    if run.error:
        st.error(f"SMASH stopped: {escape_markdown(run.error)}")
    if len(curve):
        st.plotly_chart(panel.curve_figure(curve), key="sm_curve")
    if trace.phase == "ranking" or (run.active and len(curve) == trace.steps):
        ranked = len(trace.ranked)
        st.progress(ranked / len(trace.archs), f"Scoring cell {ranked} of {len(trace.archs)} with generated weights")
    if not run.active:
        results(trace)


def results(trace: panel.SmashTrace) -> None:
    table = panel.results_frame(trace)
    if len(table) < 3:
        return
    smash_rho, swap_rho = panel.rho(table, "smash_accuracy"), panel.rho(table, "swap")
    numbers = st.columns(2)
    numbers[0].metric("Spearman ρ (SMASH)", f"{smash_rho['spearman']:.3f}")
    numbers[1].metric("Spearman ρ (SWAP)", f"{swap_rho['spearman']:.3f}")
    left, right = st.columns(2)
    event = left.plotly_chart(panel.scatter(table, "smash_accuracy", "SMASH accuracy (%)"), on_select="rerun",
                              selection_mode="points", key="sm_scatter")
    right.plotly_chart(panel.scatter(table, "swap", "SWAP-Score"), key="sm_swap_scatter")
    used = trace.setup
    st.caption(f"SWAP-Score on the sidebar's network when Start was pressed ({trace.preset}, batch "
               f"{used.batch}, {used.dataset} images). Click a point on the left to open its cell.")
    picked = [p["customdata"] for p in (event.selection.points if event else [])][:1]
    for arch in picked:
        st.code(arch, language=None, wrap_lines=True)
        if st.button("Open in the Cell Designer", key="sm_open", icon=":material/open_in_new:"):
            set_arch(arch)
            st.switch_page("app_pages/cell_designer.py")
    st.download_button("Download the table (CSV)", table.to_csv(index=False), "smash_ranking.csv", "text/csv",
                       icon=":material/download:", key="sm_csv")


live_fragment(draw, run, key="sm_live")
