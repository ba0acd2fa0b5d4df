"""Search: run a training-free NAS algorithm live — best so far, population and best cell move
as it runs — then compare algorithms and seeds on one plot. The search is the command line's
session (`experiment.search_states`) computed in a background worker; the page's fragment
only reads its latest state and draws."""
import streamlit as st

from swap_core import explorer
from swap_core.search import get_algorithm
from ui import search_panel as panel, search_run
from ui.live import live_fragment
from ui.settings import current, escape_markdown, page_intro, set_arch

settings = current()
page_intro("Search", "Let an algorithm look for a good cell with a training-free score, and watch it live.",
           "How does a search work?", "The page shows the best cell so far, its score and its benchmark accuracy, "
           "and the population the algorithm keeps — then compares searches.\n\n" + panel.EXPLAIN)
button_row = st.container()  # Start/Pause/Stop above the options: in view on a laptop screen

pending = st.session_state.pop("se_start_pending", False)
run = search_run.current_run()
locked = pending or bool(run and run.active)
algorithm_column, objective_column, budget_column = st.columns([4, 4, 3])
with algorithm_column:
    algo, algo_options = panel.algorithm_controls(locked)
with objective_column:
    objective, objective_options = panel.objective_controls(settings, algo, locked)
with budget_column:
    st.session_state.setdefault("se_evaluations", 100)
    st.session_state.setdefault("se_seed", 0)
    st.session_state.setdefault("se_repeats", 1)
    evaluations = st.number_input("Budget (evaluations)", 5, 5000, step=10, key="se_evaluations", disabled=locked,
                                  help="the algorithm's main cost: proxy evaluations (REA: 'training' lookups); "
                                       "AREA and HNAS add their own number of lookups")
    seed = st.number_input("Search seed", 0, 2**31 - 1, key="se_seed", disabled=locked,
                           help="the algorithm's random choices, as `--seeds` of the command line; the networks' "
                                "weights follow the sidebar's seed")
    repeats = st.number_input("Runs (seeds seed, seed + 1, …)", 1, 20, key="se_repeats", disabled=locked,
                              help="run the same search with several seeds, one after the other, to compare")
    sidebar_batch = st.toggle(f"Score at the sidebar's batch ({settings.batch_size})", key="se_sidebar_batch",
                              disabled=locked, help="off: each objective's own batch (SWAP 16, NASWOT 128), as "
                              "`python -m swap_core search` without --batch-size")

truth = explorer.accuracy_table(settings.space_name, settings.dataset)
needs_truth = get_algorithm(algo).uses_truth and truth is None
if needs_truth:
    st.warning(f"{get_algorithm(algo).title} looks accuracies up in a benchmark table, and none is found for "
               f"{settings.space.title} on {settings.dataset}.")
elif get_algorithm(algo).uses_truth and search_run.truth_coverage(settings.space_name, settings.dataset) < 0.5:
    st.warning(f"The accuracy table `{truth[0]}` knows only a few {settings.space.title} cells (about "
               f"{search_run.truth_coverage(settings.space_name, settings.dataset):.0%} of random ones): most "
               "'training' lookups of this search will find no accuracy.", icon=":material/warning:")
if pending and not needs_truth:
    if run is not None and run.active:
        search_run.stop()
    try:
        run = search_run.start(settings, algo, objective, objective_options, algo_options, int(evaluations),
                               int(seed), int(repeats), sidebar_batch=sidebar_batch)
    except ValueError as error:  # e.g. an objective that does not fit this space or batch
        st.error(f"Could not start the search: {escape_markdown(str(error))}")

buttons = button_row.columns([1, 1, 1, 3], vertical_alignment="bottom")
buttons[0].button("Start", icon=":material/play_arrow:", type="primary", key="se_start", width="stretch",
                  disabled=bool(run and run.active) or needs_truth,
                  on_click=lambda: st.session_state.__setitem__("se_start_pending", True))
if run is not None and run.status == "paused":
    buttons[1].button("Resume", icon=":material/resume:", key="se_resume", width="stretch", on_click=search_run.resume)
else:
    buttons[1].button("Pause", icon=":material/pause:", key="se_pause", width="stretch",
                      disabled=not (run and run.status == "running"), on_click=search_run.pause)
buttons[2].button("Stop", icon=":material/stop:", key="se_stop", width="stretch",
                  disabled=not (run and run.active), on_click=search_run.stop)
same_space = run is not None and run.space_name == settings.space_name
if buttons[3].button("Open the best cell in the Cell Designer", icon=":material/account_tree:", key="se_open_best",
                     disabled=not same_space):
    best = run.state and run.state.best  # the best at the click
    if best:
        set_arch(best.arch)
        st.switch_page("app_pages/cell_designer.py")
    st.toast("The search has no best cell yet.", icon=":material/hourglass_empty:")
if run is not None and not same_space:
    st.caption(f"This run searched {run.space_name}; switch the sidebar back to it to open its best cell.")

if run is not None:
    with st.expander("The same search from the command line", icon=":material/terminal:"):
        st.code(run.command, language="bash", wrap_lines=True)
        st.caption(f"Run in this folder with the same data directory, it reproduces this page's trajectory "
                   f"(seed by seed; torch threads as this server: {settings.setup.threads}).")

view = st.segmented_control("View", panel.VIEWS, default=panel.VIEWS[0], key="se_view")
live_fragment(lambda: panel.live_view(search_run.current_run(), view), run.worker if run else None, key="se_live")
