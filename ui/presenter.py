"""Presenter mode and readability: one CSS block and one Plotly helper for the whole app.

Presenter mode (`?presenter=1` in the URL, kept across pages like the sidebar's settings) is
for a projector: the sidebar is hidden (its settings still apply; pages are reached from a top
navigation bar and a "Leave presenter mode" button sits at the top right), helper captions are
not drawn, type is larger (18 px body text, 16 px figure ticks) and text is near-black on white.
Outside it the app still keeps every text at 14 px or more and captions dark enough to read from
the back of a room; buttons, metrics and tabs shrink or wrap instead of being cut ("Ran…").
Nothing here computes: it only reads the session's mode and styles what pages draw."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

KEY = "presenter"  # session state: is presenter mode on (loaded from the URL on a session's first run)
TOGGLE = "presenter_toggle"  # the sidebar toggle's widget key
INK = "#111111"  # text colour in presenter mode: near-black on white
# Smallest font sizes in px in a Plotly figure: (text, tick labels, axis and legend titles, figure title)
FIGURE_FONTS = {False: (14, 14, 15, 17), True: (18, 16, 18, 22)}

# Always on: readable type and no clipped controls. Streamlit's captions are 60 % grey, its
# metric values and button labels are cut with an ellipsis when a column is narrow.
_BASE_CSS = """
:root { --swap-readable: 1; }  /* tells a browser test that this block is in force */
[data-testid="stCaptionContainer"] { opacity: 0.85 !important; }
code { font-size: max(0.85em, 14px) !important; }
[data-testid="stMetric"] { container-type: inline-size; }
[data-testid="stMetricValue"] { font-size: clamp(1.15rem, 20cqi, 2.25rem); }
[data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
.stButton button p, .stDownloadButton button p, .stPageLink p, [data-testid="stBaseButton-pills"] p,
[data-testid="stBaseButton-segmented_control"] p, [data-testid="stBaseButton-segmented_controlActive"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
.stButton button, .stDownloadButton button { height: auto; min-height: 2.5rem; }
[data-testid="stButtonGroup"] div:has(> button) { flex-wrap: wrap; overflow-x: visible; }
[data-testid="stMain"] .stMarkdownEllipsis, [data-testid="stMain"] .stMarkdownEllipsis p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
"""

# Presenter mode only: the sidebar and its opener hidden, larger type, high contrast.
_PRESENTER_CSS = """
html { font-size: 19px !important; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none !important; }
.stApp, .stApp p, .stApp li, .stApp label, [data-testid="stMarkdownContainer"] { color: #111111; }
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #222222; font-size: 1rem; }
[data-testid="stWidgetLabel"] p, [data-testid="stMetricLabel"] p { font-size: 1rem; color: #111111; }
[data-testid="stMetricValue"] { font-size: clamp(1.3rem, 20cqi, 2.6rem); color: #000000; }
code { font-size: max(0.85em, 16px) !important; }
[data-testid="stTopNav"] { font-size: 16px; }
[data-testid="stTopNav"] [data-testid="stIconMaterial"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 4.2rem; position: relative; }
.st-key-presenter_bar { position: absolute; top: 4.4rem; right: 5rem; width: auto !important; z-index: 2; }
.st-key-presenter_bar button { min-height: 2rem; padding: 0.1rem 0.6rem; font-size: 15px; }
.st-key-presenter_bar button p { font-size: 15px; }
"""


def active() -> bool:
    """Is presenter mode on in this session? The first run of a session reads `presenter` from
    the URL; afterwards the session state decides (the toggle and the button change it)."""
    if get_script_run_ctx(suppress_warning=True) is None:  # a figure built in a unit test or a notebook
        return False
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(KEY, "") in ("1", "true", "on", "yes")
    return bool(st.session_state[KEY])


def _set(on: bool) -> None:
    st.session_state[KEY] = on


def _from_toggle() -> None:
    _set(bool(st.session_state[TOGGLE]))


def sidebar_toggle() -> None:
    """The sidebar's "Presenter mode" switch (the sidebar is hidden while it is on)."""
    st.session_state[TOGGLE] = active()
    st.sidebar.toggle("Presenter mode", key=TOGGLE, on_change=_from_toggle,
                      help="for a projector: hides this sidebar and helper text, enlarges type; "
                           "kept in the link as presenter=1")


def keep_in_url() -> None:
    """Write the mode into the URL (after the sidebar has written its settings there)."""
    if active():
        st.query_params[KEY] = "1"
    elif KEY in st.query_params:
        del st.query_params[KEY]


def apply() -> None:
    """Inject the app's CSS (once per run, from app.py) and, in presenter mode, the button that
    leaves it (at the top right of every page, level with the title)."""
    css = _BASE_CSS + (_PRESENTER_CSS if active() else "")
    st.html(f"<style>{css}</style>")
    if active():
        with st.container(key="presenter_bar"):
            st.button("Leave presenter mode", icon=":material/close_fullscreen:", key="presenter_leave",
                      on_click=_set, args=(False,))


def helper(text: str, where=st) -> None:
    """A helper caption: explanation for someone reading alone, not drawn in presenter mode."""
    if not active():
        where.caption(text)


def _at_least(size, floor: int):
    """`size` (a number, a list of numbers or None) raised to `floor`."""
    if isinstance(size, (list, tuple)):
        return [max(s or 0, floor) for s in size]
    return max(size or 0, floor)


def _axis(axis, tick: int, title: int) -> None:
    if axis.type == "log":  # Plotly draws a log axis's 2s and 5s at 3/4 of the tick size
        tick = -(-tick * 4 // 3)
    axis.update(tickfont_size=_at_least(axis.tickfont.size, tick),
                title_font_size=_at_least(axis.title.font.size, title))


def readable(figure: go.Figure) -> go.Figure:
    """Raise every font of `figure` to this mode's minimum (see FIGURE_FONTS) and, in presenter
    mode, make its text near-black. Pages' figure builders end with `return readable(figure)`."""
    presenting = active()
    text, tick, title, heading = FIGURE_FONTS[presenting]
    layout = figure.layout
    figure.update_layout(font_size=_at_least(layout.font.size, text),
                         title_font_size=_at_least(layout.title.font.size, heading),
                         legend_font_size=_at_least(layout.legend.font.size, text),
                         legend_title_font_size=_at_least(layout.legend.title.font.size, text),
                         hoverlabel_font_size=_at_least(layout.hoverlabel.font.size, text))
    figure.for_each_xaxis(lambda axis: _axis(axis, tick, title))
    if layout.title.text and any(axis.side == "top" for axis in figure.select_xaxes()):
        figure.update_layout(title_automargin=True, title_yref="container")  # above the top axis's labels
    figure.for_each_yaxis(lambda axis: _axis(axis, tick, title))
    figure.for_each_scene(lambda scene: [_axis(a, tick, title) for a in (scene.xaxis, scene.yaxis, scene.zaxis)])
    figure.for_each_annotation(lambda note: note.update(font_size=_at_least(note.font.size, text)))
    figure.for_each_coloraxis(
        lambda axis: axis.colorbar.update(tickfont_size=_at_least(axis.colorbar.tickfont.size, tick)))
    for trace in figure.data:
        if "textfont" in trace:
            trace.textfont.size = _at_least(trace.textfont.size, tick)  # labels inside heatmap cells, on edges
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = _at_least(trace.colorbar.tickfont.size, tick)
            trace.colorbar.title.font.size = _at_least(trace.colorbar.title.font.size, title)
    if presenting:  # axes default to Plotly's grey #444, over the layout's font colour
        figure.update_layout(font_color=INK, paper_bgcolor="white")
        figure.update_xaxes(color=INK)
        figure.update_yaxes(color=INK)
    return figure
