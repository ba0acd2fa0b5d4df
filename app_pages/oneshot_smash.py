"""SMASH at small scale (Brock et al., ICLR 2018): train a hypernetwork that generates the conv
weights of NAS-Bench-201 cells, watch it learn, then rank many cells by their accuracy with
generated weights and compare that ranking — and SWAP-Score's — with the benchmark. All numbers
come from `swap_core.oneshot.smash`; the live run is `ui.smash_panel`."""
import streamlit as st

from swap_core.oneshot.smash import DEFAULTS
from ui import smash_panel as panel
from ui.settings import current, escape_markdown, page_intro, require_space, set_arch

settings = current()
page_intro("SMASH: one-shot ranking with a hypernetwork",
           "One network learns to generate the weights of every NAS-Bench-201 cell; each cell is then ranked by its "
           "validation accuracy with those weights — no training of its own.", "What does SMASH do?", panel.EXPLAIN)
require_space(settings, "nb201", "SMASH here generates NAS-Bench-201 cells")
run = st.session_state.get(panel.RUN_KEY)
active = isinstance(run, panel.SmashRun) and run.active
columns = st.columns(4, vertical_alignment="bottom")
steps = columns[0].number_input("Training steps", 1, 20_000, DEFAULTS["steps"], step=100, key="sm_steps",
                                disabled=active)
n_archs = columns[1].number_input("Architectures to rank", 3, 1000, 100, key="sm_archs", disabled=active)
seed = columns[2].number_input("Seed", 0, 2**31 - 1, 0, key="sm_seed", disabled=active)
if active:
    columns[3].button("Stop", icon=":material/stop:", key="sm_stop", on_click=panel.stop, width="stretch")
else:
    columns[3].button("Start", icon=":material/play_arrow:", type="primary", key="sm_start", on_click=panel.start,
                      args=(settings, int(steps), int(n_archs), int(seed)), width="stretch")


@st.fragment(run_every=panel.REFRESH_S if active else None)
def live() -> None:
    current_run = st.session_state.get(panel.RUN_KEY)
    if isinstance(current_run, str):
        st.error(f"Could not start SMASH: {escape_markdown(current_run)}")
        return
    if current_run is None:
        st.caption("Press Start: training takes about a minute per 1,000 steps on one CPU core.")
        return
    panel.advance(current_run, st.session_state.get(panel.BUDGET_KEY, panel.BUDGET_S))
    curve, last = panel.curve_frame(current_run), (current_run.history or [None])[-1]
    numbers = st.columns(4)
    numbers[0].metric("Status", current_run.status)
    numbers[1].metric("Step", f"{len(curve)} of {current_run.steps}")
    numbers[2].metric("Running loss", f"{last.running_loss:.3f}" if last else "—")
    numbers[3].metric("Running accuracy", f"{100 * last.running_accuracy:.1f} %" if last else "—",
                      help="mean minibatch accuracy over the last 50 steps, each on another random cell")
    st.caption(current_run.description)
    if current_run.error:
        st.error(f"SMASH stopped: {escape_markdown(current_run.error)}")
    if len(curve):
        st.plotly_chart(panel.curve_figure(curve), key="sm_curve")
    if current_run.status == "scoring":
        st.progress(len(current_run.smash) / len(current_run.archs),
                    f"Scoring cell {len(current_run.smash)} of {len(current_run.archs)} with generated weights")
    results(current_run)
    if not current_run.active and active:
        st.rerun()  # the whole page: Start again instead of Stop

def results(current_run: panel.SmashRun) -> None:
    table = panel.results_frame(current_run)
    if current_run.active or len(table) < 3:
        return
    smash_rho, swap_rho = panel.rho(table, "smash_accuracy"), panel.rho(table, "swap")
    numbers = st.columns(2)
    numbers[0].metric("Spearman ρ (SMASH)", f"{smash_rho['spearman']:.3f}")
    numbers[1].metric("Spearman ρ (SWAP)", f"{swap_rho['spearman']:.3f}")
    left, right = st.columns(2)
    event = left.plotly_chart(panel.scatter(table, "smash_accuracy", "SMASH accuracy (%)"), on_select="rerun",
                              selection_mode="points", key="sm_scatter")
    right.plotly_chart(panel.scatter(table, "swap", "SWAP-Score"), key="sm_swap_scatter")
    used = current_run.settings
    st.caption(f"SWAP-Score on the sidebar's network when Start was pressed ({used.preset}, batch "
               f"{used.batch_size}, {used.dataset} images). Click a point on the left to open its cell.")
    picked = [p["customdata"] for p in (event.selection.points if event else [])][:1]
    for arch in picked:
        st.code(arch, language=None, wrap_lines=True)
        if st.button("Open in the Cell Designer", key="sm_open", icon=":material/open_in_new:"):
            set_arch(arch)
            st.switch_page("app_pages/cell_designer.py")
    st.download_button("Download the table (CSV)", table.to_csv(index=False), "smash_ranking.csv", "text/csv",
                       icon=":material/download:", key="sm_csv")


live()
