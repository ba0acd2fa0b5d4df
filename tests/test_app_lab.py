"""The Proxy Lab page (Streamlit AppTest): scoring runs in the engine's worker, stops and
resumes; every view renders from the scores; the paper table shows the committed
NAS-Bench-Suite-Zero numbers."""
import time

import pytest

from conftest import open_app, until_scored, wait_for_states

PAGE = "app_pages/proxy_lab.py"


def _progress(at) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def _scored(size: int):
    return until_scored(open_app(PAGE, state={"pl_size": size, "sb_batch": 16}), "pl_scoring")


def test_scoring_completes_and_every_view_renders():
    at = _scored(20)
    assert _progress(at) == "", "scoring did not finish"
    views = {"Correlation matrix": "plotly_chart", "Proxy vs accuracy": "plotly_chart",
             "Why they disagree": "dataframe", "Paper table": "dataframe"}
    for view, element in views.items():
        at.segmented_control(key="pl_view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        assert len(at.get(element)) >= 1, view
    at.segmented_control(key="pl_view").set_value("Why they disagree").run()
    summary = at.dataframe[0].value
    assert list(summary["proxy"]) == ["swap", "naswot", "params", "snip", "synflow"]
    assert any(column.startswith("partial ρ") for column in summary.columns)


def test_stop_and_resume():
    at = open_app(PAGE, state={"pl_size": 400, "sb_batch": 16})
    assert _progress(at).startswith("Scoring")
    run = at.session_state["pl_scoring_run"]
    wait_for_states(run, 2)
    at.button(key="pl_scoring_stop").click().run()
    assert run.status == "stopped"
    stopped = _progress(at)
    assert stopped.startswith("Stopped at")
    time.sleep(0.5)
    at.run()
    assert _progress(at) == stopped  # nothing more is scored while stopped
    at.button(key="pl_scoring_resume").click().run()
    assert _progress(at).startswith("Scoring")


def test_paper_table_shows_committed_scores(data_dir):
    at = _scored(20)
    at.segmented_control(key="pl_view").set_value("Paper table").run()
    paper = at.dataframe[0].value
    assert paper.loc["synflow", "zc/nb201_cifar10.csv · ours"] == pytest.approx(0.740, abs=0.001)
    assert paper.loc["synflow", "zc/nb201_cifar10.csv · NAS-Bench-Suite-Zero"] == pytest.approx(0.739, abs=0.001)


def test_picked_cells_and_pairs_link_the_views():
    """What a selection sets (`pl_picked` from the scatter or the gap table, `pl_pair` from a matrix
    click) shows in every view: picked cells ringed in the scatter and lit in the gap table."""
    from ui.lab_figures import PICKED

    at = _scored(20)
    at.session_state["pl_pair"] = ("swap", "naswot")
    at.run()
    assert PICKED in at.get("plotly_chart")[0].proto.spec  # the clicked cell outlined
    at.segmented_control(key="pl_view").set_value("Why they disagree").run()
    gaps = at.dataframe[1].value
    assert "FFE8A3" not in str(at.dataframe[1].proto)  # nothing picked yet
    at.session_state["pl_picked"] = [gaps["arch"].iloc[1]]  # as a scatter lasso or a row pick sets it
    at.run()
    assert not at.exception, at.exception
    assert "FFE8A3" in str(at.dataframe[1].proto)
    at.segmented_control(key="pl_view").set_value("Proxy vs accuracy").run()
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"name":"picked"' in spec.replace(" ", "") and PICKED in spec


def test_an_ensemble_scores_its_members_and_shows_as_a_column():
    """Picking an ensemble scores its members too (shown only if picked) and adds its column to
    every view."""
    at = until_scored(open_app(PAGE, state={"pl_size": 20, "sb_batch": 16, "pl_proxies": ["swap"],
                                            "pl_ensembles": ["vote"]}), "pl_scoring")
    assert not at.exception, at.exception
    assert '"vote"' in at.get("plotly_chart")[0].proto.spec  # a row and column of the matrix
    at.segmented_control(key="pl_view").set_value("Why they disagree").run()
    summary = at.dataframe[0].value.set_index("proxy")
    assert list(summary.index) == ["swap", "vote"]
    assert summary.loc["vote", "n"] == 20 and -1 <= summary.loc["vote", "spearman"] <= 1


def test_learned_predictor_fits_its_curve_in_the_engine_and_says_it_uses_trained_accuracies():
    at = _scored(40)
    at.segmented_control(key="pl_view").set_value("Learned predictor").run()
    assert not at.exception, at.exception
    assert any("uses k trained accuracies" in m.value for m in at.markdown)
    at.button(key="pl_pred_start").click().run()
    run = at.session_state["pl_pred_run"]
    assert run.wait(60) and run.status == "done", run.error
    at.run()
    assert not at.exception, at.exception
    trace = at.session_state["pl_pred_trace"]
    assert [r["k"] for r in trace.records] == [10] * 3 + [25] * 3  # 40 cells: k ≤ 30 leaves 10 unseen
    assert all(r["n_test"] == 40 - r["k"] for r in trace.records)
    assert '"this set"' in at.get("plotly_chart")[0].proto.spec
