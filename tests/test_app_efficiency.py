"""The Efficiency page (Streamlit AppTest): it opens on the reward forms, every view draws
without an exception, and "Measure this cell" times the sidebar's cell in the engine."""
import time

import pytest
from conftest import open_app

from ui import efficiency_panel

PAGE = "app_pages/efficiency.py"


def test_the_page_opens_on_the_rewards_and_the_sliders_move_the_curves():
    at = open_app(PAGE)
    assert at.segmented_control(key="ef_view").value == "Rewards"
    assert len(at.get("plotly_chart")) == 1
    before = at.get("plotly_chart")[0].proto.spec
    at.slider(key="ef_gamma").set_value(-0.5).run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")[0].proto.spec != before


@pytest.mark.parametrize("view", [v for v in efficiency_panel.VIEWS if v not in ("Rewards", "This cell")])
def test_every_view_draws(view):
    at = open_app(PAGE, state={"ef_view": view, "ef_samples": 50})
    assert not at.exception, at.exception
    assert at.segmented_control(key="ef_view").value == view
    assert any("swap_core" in c.value for c in at.code), "each view gives its command line"


def test_measure_this_cell_reports_size_memory_and_latency(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_STORE", str(tmp_path / "store.db"))
    at = open_app(PAGE, state={"ef_view": "This cell", "sb_batch": 4})
    at.button(key="ef_cost_start").click().run()
    run = at.session_state["ef_cost_run"]
    deadline = time.time() + 120
    while run.active and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception, at.exception
    report = at.session_state["ef_cost_report"]
    assert set(report["latency_ms"]) == {1, 4} and all(v > 0 for v in report["latency_ms"].values())
    assert report["peak_mb"][4] > report["peak_mb"][1] > 0 and report["mflops"] > 0
