"""Draw a cell by clicking it (the Cell Designer): the drawing is a Plotly chart whose click
targets (see `ui.figures.cell_figure`) name the edit slots under them; a click opens, right
under that drawing, a choice of each slot's options, and a choice applies
`space.with_slot` through `set_arch`. The drawing is a fragment: a click reruns only the
drawing (no scoring), and a choice reruns the whole page once (the callback applies it, the
fragment then asks for the app's rerun before drawing anything).

The chart's key carries the architecture and a counter, so an edit (or closing the choice)
draws a fresh chart with no selection left over: the next click on any target, the same
one included, is a new selection.
"""
from __future__ import annotations

import hashlib

import streamlit as st

from swap_core.spaces import get_space
from swap_core.spaces.base import EditSlot, SearchSpace
from ui import presenter
from ui.figures import cell_figures, figure_slots, place_title, short_op, slots_at
from ui.settings import set_arch

PLACE = "cd_place"  # the slot keys at the place last clicked on the drawing
VERSION = "cd_drawing_version"  # bumped to clear the drawing's selection
EDITED = "cd_drawing_edited"  # a choice changed the cell: the whole page must redraw
REFUSED = "cd_click_refused"  # why the last choice made no valid cell (NB101: no path, > 9 edges)
_HINTS = {frozenset({"edge"}): "Click an edge's label on the drawing to change its operation.",
          frozenset({"node"}): "Click a node on the drawing to change it."}


def _clear_selection() -> None:
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def _clicked(chart_key: str) -> None:
    """A click on the drawing: remember the slots there (a click off every target keeps the
    choice that is open)."""
    keys = slots_at(st.session_state[chart_key].selection.points)
    if keys:
        st.session_state[PLACE] = keys
        st.session_state.pop(REFUSED, None)


def _close() -> None:
    st.session_state.pop(PLACE, None)
    st.session_state.pop(REFUSED, None)
    _clear_selection()


def _chosen(space: SearchSpace, arch_text: str, key: str, widget: str) -> None:
    """A choice in the panel: apply it (a click on the option already chosen unselects it in
    the widget: nothing to apply) and clear the drawing's selection."""
    value = st.session_state.get(widget)
    st.session_state.pop(REFUSED, None)
    if value is None:
        return
    try:
        edited = space.with_slot(space.from_str(arch_text), key, value)
    except ValueError as error:  # the choice shows the message; the cell stays as it was
        st.session_state[REFUSED] = str(error)
        return
    set_arch(edited.to_str())
    st.session_state[EDITED] = True
    _clear_selection()


def _panel(space: SearchSpace, arch_text: str, graph, slots: list[EditSlot]) -> None:
    """The clicked place's choices, right under its drawing."""
    place = space.slot_places(space.from_str(arch_text))[slots[0].key]
    with st.container(border=True, key="cd_click_panel"):
        head, close = st.columns([4, 1], vertical_alignment="center")
        head.markdown(f"**{place_title(place, graph, slots)}**")
        close.button("", icon=":material/close:", key="cd_click_close", on_click=_close, help="Close this choice")
        for slot in slots:
            widget = f"cd_click_{space.name}_{slot.key}"
            st.session_state[widget] = slot.value
            st.segmented_control(slot.label, slot.options, key=widget, required=True,
                                 format_func=lambda option, slot=slot: short_op(slot.show(option)),
                                 on_change=_chosen, args=(space, arch_text, slot.key, widget),
                                 label_visibility="collapsed" if len(slots) == 1 else "visible")
        if st.session_state.get(REFUSED):
            st.warning(f"Not changed: {st.session_state[REFUSED]}", icon=":material/block:")


@st.cache_data(max_entries=512, show_spinner=False)
def _figures(space_name: str, arch_text: str, presenting: bool) -> list[tuple[str, dict, frozenset]]:
    """(title, figure as a dict, the slots a click on it picks) per drawing of the cell: a
    click redraws the same cell, from here (`presenting` keys the cache: fonts differ)."""
    space = get_space(space_name)
    arch = space.from_str(arch_text)
    figures = cell_figures(space.graph(arch), list(space.ops), places=space.slot_places(arch))
    return [(title, figure.to_plotly_json(), frozenset(figure_slots(figure))) for title, figure in figures]


@st.fragment
def drawing(space: SearchSpace, arch_text: str) -> None:
    """The cell's drawing(s), clickable where the space places its slots, and the choice of
    the place last clicked under the drawing that holds it."""
    if st.session_state.pop(EDITED, False):
        st.rerun(scope="app")  # the cell changed: sizes, scores and lists outside redraw too
    arch = space.from_str(arch_text)
    places = space.slot_places(arch)
    slots = {slot.key: slot for slot in space.edit_slots(arch)}
    picked = [slots[k] for k in st.session_state.get(PLACE, ()) if k in slots and k in places]
    stamp = hashlib.sha1(arch_text.encode()).hexdigest()[:10]
    kinds = frozenset(place[0] for place in places.values())
    if kinds:
        presenter.helper(_HINTS.get(kinds, "Click an edge's label or a node on the drawing to change it."))
    for title, figure, clickable in _figures(space.name, arch_text, presenter.active()):
        key = f"cd_fig_{title}_{stamp}_{st.session_state.get(VERSION, 0)}"
        st.plotly_chart(figure, width="stretch", key=key, on_select=lambda key=key: _clicked(key),
                        selection_mode="points", config={"displayModeBar": False})
        if picked and picked[0].key in clickable:
            _panel(space, arch_text, space.graph(arch), picked)
