"""Cell Designer: draw the current cell, edit it, and see its size, accuracy and every
proxy's score — each ranked among a random sample of the same space."""
import random

import streamlit as st

from swap_core import explorer, prepare
from swap_core.memory import MemoryBudgetError
from swap_core.proxies import get_proxy
from ui import cached, cell_click, scoring, train_panel
from ui.live import live_fragment
from ui.settings import current, escape_markdown, set_arch

settings = current()
space = settings.space
arch = space.from_str(settings.arch)

st.title("Cell Designer")
st.caption("Change an operation and watch size, accuracy and every proxy score move — without training.")


def _rng() -> random.Random:
    clicks = st.session_state.get("cd_clicks", 0) + 1
    st.session_state["cd_clicks"] = clicks
    return random.Random(f"{settings.seed}-{clicks}")


def _edit(key: str) -> None:
    set_arch(space.with_slot(arch, key, st.session_state[f"cd_slot_{space.name}_{key}"]).to_str())


def _load_preset() -> None:
    choice = st.session_state.pop("cd_preset", None)
    if choice:
        set_arch(named[choice])


def _paste() -> None:
    text = st.session_state.get("cd_paste", "").strip()
    st.session_state["cd_paste_error"] = ""
    if text:
        try:
            set_arch(space.from_str(text).to_str())
        except ValueError as error:
            st.session_state["cd_paste_error"] = str(error)


named = explorer.named_architectures(settings.space_name, settings.dataset)
tools = st.columns([1.4, 1.4, 3, 3.6], vertical_alignment="bottom")  # room for "Random", "Mutate" at 1366 px
tools[0].button("Random", icon=":material/casino:", width="stretch",
                on_click=lambda: set_arch(space.sample(_rng()).to_str()))
tools[1].button("Mutate", icon=":material/shuffle:", width="stretch",
                on_click=lambda: set_arch(space.mutate(arch, _rng()).to_str()))
tools[2].selectbox("Load a preset cell", list(named), index=None, key="cd_preset", on_change=_load_preset,
                   placeholder="best, worst, ResNet-like, …")
tools[3].text_input("Or paste an architecture string", key="cd_paste", on_change=_paste, placeholder=space.example)
if st.session_state.get("cd_paste_error"):
    st.error(f"That string is not a valid {space.title} cell: {escape_markdown(st.session_state['cd_paste_error'])}")

left, right = st.columns([5, 4])
with left:
    cell_click.drawing(space, settings.arch)
    st.code(settings.arch, language=None, wrap_lines=True)
    with st.expander("Edit the cell", expanded=True, icon=":material/edit:"):
        slots = space.edit_slots(arch)
        groups = list(dict.fromkeys(slot.group for slot in slots))
        columns = st.columns(min(len(groups), 4))
        for number, group in enumerate(groups):
            with columns[number % len(columns)]:
                st.markdown(f"**{group}**")
                for slot in (s for s in slots if s.group == group):
                    key = f"cd_slot_{space.name}_{slot.key}"
                    st.session_state[key] = slot.value
                    st.selectbox(slot.label, slot.options, key=key, format_func=slot.show,
                                 on_change=_edit, args=(slot.key,))

with right:
    params, mflops = cached.network_size(settings.space_name, settings.arch, settings.preset, settings.dataset)
    accuracy = explorer.accuracy_of(settings.space_name, settings.dataset, settings.arch)
    size, flops, acc = st.columns(3)
    size.metric("Parameters", f"{params / 1e6:.3f} M", help=f"{params:,} trainable parameters ({settings.preset} network)")
    flops.metric("FLOPs", f"{mflops:.1f} M", help="multiply-accumulates of one image, conv and linear layers")
    if accuracy is None:
        acc.metric("Accuracy", "—", help="no ground-truth table has this cell")
    else:
        acc.metric("Accuracy", f"{accuracy.value:.2f} %", help=f"from {accuracy.table}")
        st.caption(f"Benchmark accuracy rank **{accuracy.rank:,} of {accuracy.of:,}** in `{accuracy.table}` "
                   "(the published network, trained 200 epochs).")

    fast, slow = scoring.proxy_groups()
    controls = st.columns(2)
    include_slow = controls[0].toggle("Include NTK proxies", key="cd_slow",
                                      help=f"{', '.join(slow)}: one backward pass per image, seconds per cell on a CPU")
    ref_size = controls[1].select_slider("Rank among random cells", [20, 50, 100, 200, 500],
                                         value=prepare.REFERENCE_SIZE, key="cd_ref_size")
    names = fast + (slow if include_slow else [])
    # The headline first (a tenth of a second on the teaching networks), the other proxies in
    # the engine's worker as the user's request, the reference sample in the background.
    try:
        headline_scores, _, _ = scoring.cell_scores(settings, settings.arch, scoring.HEADLINE)
    except MemoryBudgetError as error:  # over the server's memory budget: say what to lower, compute nothing
        st.error(escape_markdown(str(error)), icon=":material/memory:")
        st.stop()
    headline = st.columns(3)
    for column, name in zip(headline, scoring.HEADLINE):
        value = headline_scores.get(name, float("nan"))
        column.metric(get_proxy(name).display_name, f"{value:,.1f}", help=get_proxy(name).description)
    cell_run = scoring.ensure_cell_scoring(settings, settings.arch, names, "cd_cell")
    if cell_run is not None:  # what is above is already on the screen; the table usually follows
        cell_run.wait(1.0)    # at once (a third of a second), else the fragment draws it as it comes
    groups = [fast] + ([slow] if include_slow else [])
    # in the background: the headline scores of every cell one edit away (so the next click
    # finds them in the store), the random cells to rank against, then those cells' other proxies
    ahead = explorer.one_edit_away(space, settings.arch)
    reference, done, reference_run = scoring.reference_table(settings, ref_size, groups, ahead=ahead)

    def score_table() -> None:
        scores, errors, seconds, missing = scoring.cell_entries(settings, settings.arch, names)
        errors.update({n: "off: switch on 'Include NTK proxies'" for n in slow if not include_slow})
        errors.update({n: "scoring…" for n in missing})
        reference, done, _ = scoring.reference_table(settings, ref_size, groups, ahead=ahead)
        table = explorer.proxy_table(scores, errors, reference, fast + slow)
        st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                     column_order=["name", "score", "rank", "beats %", "better", "note"],  # fits a laptop's column
                     # fixed widths: the columns' own widths follow their text, and a long score or
                     # rank pushed the note out of a laptop's 395 px column
                     column_config={"name": st.column_config.TextColumn(width=118),
                                    "score": st.column_config.NumberColumn(format="%.4g", width=66),
                                    "rank": st.column_config.TextColumn(width=62),
                                    "beats %": st.column_config.ProgressColumn(
                                        min_value=0, max_value=100, format="%.0f%%", width=62,
                                        help="share of the random cells this cell beats"),
                                    "better": st.column_config.TextColumn(width=54)}, placeholder="—")
        if cell_run is not None and cell_run.status == "failed":
            st.error(f"Could not score this cell: {escape_markdown(cell_run.error)}", icon=":material/error:")
        elif missing:
            st.caption(f"Scoring this cell's other proxies: {len(names) - len(missing)} of {len(names)} in.")
        else:
            st.caption(f"Scored on {settings.batch_size} images in {seconds:.2f} s ({settings.device}); "
                       f"rank 1 = best among this cell and the {done} of {ref_size} random {space.title} cells "
                       f"scored so far (seed {settings.seed}).")
        if done < ref_size:
            st.progress(done / ref_size, text=f"Scoring random cells to rank against, in the background: "
                                              f"{done} of {ref_size}")
        st.download_button("Download scores (CSV)", table.to_csv(index=False), "cell_scores.csv", "text/csv",
                           icon=":material/download:", key="cd_download")

    live_fragment(score_table, scoring.AnyRun(cell_run, reference_run), key="cd_ref_fragment")

with st.expander("Train this cell", icon=":material/model_training:"):
    train_panel.train_panel(settings, (get_proxy("swap").display_name, headline_scores.get("swap", float("nan"))),
                            None if accuracy is None else accuracy.value)
