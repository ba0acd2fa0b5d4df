"""The SMASH page (AppTest): Start trains the hypernetwork a step per fragment run, then scores the
cells and ends with both scatters and their Spearman ρ; Stop freezes the step count; another
search space or missing data is a message, not an exception."""
from conftest import counter, counts_while_active, metric_values, open_app, require_file, stop_after_a_run

PAGE = "app_pages/oneshot_smash.py"


def _page(query=None, **state):
    return open_app(PAGE, query=query, state={"sm_budget_s": 0.0, "sm_steps": 5, "sm_archs": 6, **state})


def test_page_runs():
    at = _page()
    assert at.button(key="sm_start")
    assert any("SMASH" in e.label for e in at.expander)


def test_start_trains_then_ranks_with_a_rho():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page()
    at.button(key="sm_start").click().run()
    assert not at.exception, at.exception
    steps = counts_while_active(at, ("training", "scoring"))
    values = metric_values(at)
    assert steps == sorted(steps) and steps[-1] == 5 and values["Status"] == "done"
    assert float(values["Spearman ρ (SMASH)"]) == float(values["Spearman ρ (SMASH)"])  # a number
    assert "Spearman ρ (SWAP)" in values
    assert at.get("download_button") and at.get("plotly_chart")


def test_stop_freezes_training():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page(sm_steps=200)
    stopped = stop_after_a_run(at, "sm_start", "sm_stop")
    at.run()
    assert counter(at)[0] == stopped < 200 and metric_values(at)["Status"] in ("scoring", "done")


def test_another_space_shows_a_message():
    at = _page(query={"space": "darts"})
    assert not any(b.key == "sm_start" for b in at.button)
    assert any("NAS-Bench-201" in i.value for i in at.info)


def test_without_data_the_page_says_which_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))
    at = _page()
    at.button(key="sm_start").click().run()
    assert not at.exception, at.exception
    assert any("Could not start SMASH" in e.value and "accuracy.csv is missing" in e.value for e in at.error), \
        [e.value for e in at.error]
