"""Presenter mode without a browser: the mode follows the link, survives a page change, leaves
on its button, hides helper captions; and every figure font reaches the mode's minimum
(`ui.presenter`). The look itself is checked in Chromium by tests/test_e2e_presenter.py."""
import plotly.graph_objects as go

from conftest import open_app
from ui.presenter import FIGURE_FONTS, readable

LEAVE = "presenter_leave"


def test_the_link_turns_presenter_mode_on_and_it_survives_navigation():
    at = open_app(query={"presenter": "1"})
    assert at.session_state["presenter"] is True
    assert at.button(key=LEAVE).label == "Leave presenter mode"
    at.switch_page("app_pages/proxy_lab.py").run()
    assert not at.exception, at.exception
    assert at.query_params["presenter"] in ("1", ["1"])
    assert [b for b in at.button if b.key == LEAVE]
    helpers = [c.value for c in at.caption if c.value.startswith("Lower-is-better")]
    assert not helpers  # helper captions are not drawn for the audience


def test_leaving_presenter_mode_clears_the_link():
    at = open_app("app_pages/linear_regions.py", query={"presenter": "1"})
    at.button(key=LEAVE).click().run()
    assert not at.exception, at.exception
    assert at.session_state["presenter"] is False
    assert "presenter" not in at.query_params
    assert not [b for b in at.button if b.key == LEAVE]
    assert at.sidebar.toggle(key="presenter_toggle").value is False


def test_without_the_link_the_app_is_in_normal_mode():
    at = open_app()
    assert at.session_state["presenter"] is False
    assert not [b for b in at.button if b.key == LEAVE]
    at.sidebar.toggle(key="presenter_toggle").set_value(True).run()
    assert at.session_state["presenter"] is True and at.query_params["presenter"] in ("1", ["1"])


def test_readable_raises_every_small_font_to_the_minimum():
    figure = go.Figure(go.Heatmap(z=[[1, 2]], texttemplate="%{z}", textfont={"size": 9}, colorbar={"title": "ρ"}))
    figure.add_scatter(x=[0, 1], y=[1, 2], text=["a", "b"], mode="text", textfont={"size": [8, 30]})
    figure.add_annotation(text="note", font={"size": 10})
    figure.update_layout(font={"size": 11}, xaxis_title="x", yaxis={"tickfont": {"size": 20}})
    text, tick, title, _ = FIGURE_FONTS[False]  # outside a Streamlit run: normal mode
    readable(figure)
    assert figure.layout.font.size == text
    assert figure.layout.xaxis.tickfont.size == tick and figure.layout.xaxis.title.font.size == title
    assert figure.layout.yaxis.tickfont.size == 20  # larger sizes are kept
    assert figure.data[0].textfont.size == tick and figure.data[0].colorbar.tickfont.size == tick
    assert list(figure.data[1].textfont.size) == [14, 30]
    assert figure.layout.annotations[0].font.size == text
    figure.update_xaxes(type="log", tickfont_size=None)
    assert readable(figure).layout.xaxis.tickfont.size * 3 / 4 >= tick  # its 2s and 5s are drawn at 3/4
