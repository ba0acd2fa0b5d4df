"""The SMASH page (AppTest): Start trains the hypernetwork in a worker, then scores the cells and
ends with both scatters and their Spearman ρ; Stop freezes the step count at once, and a run
stopped while training can still rank the cells; the page shows the thread count and the
command that computes the same; another search space or missing data is a message."""
import time

import torch
from conftest import (counter, counts_while_active, metric_values, open_app, page_run, require_file, stop_after_a_run,
                      wait_for_states)

PAGE = "app_pages/oneshot_smash.py"
KEY = "sm_run"


def _page(query=None, **state):
    return open_app(PAGE, query=query, state={"sm_steps": 5, "sm_archs": 6, **state})


def test_page_runs_and_shows_the_command_with_the_servers_threads():
    at = _page()
    assert at.button(key="sm_start") and at.button(key="sm_stop").disabled
    assert any("SMASH" in e.label for e in at.expander)
    command = at.code[0].value
    assert command.startswith("python -m swap_core oneshot smash --archs 6 --seed 0 --steps 5")
    assert command.endswith(f"--threads {torch.get_num_threads()}")


def test_start_trains_then_ranks_with_a_rho():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page()
    at.button(key="sm_start").click().run()
    assert not at.exception, at.exception
    steps = counts_while_active(at, KEY)
    values = metric_values(at)
    assert steps == sorted(steps) and steps[-1] == 5 and values["Status"] == "done"
    assert page_run(at, KEY).states == 5 + 6  # a state per training step and per ranked cell
    assert float(values["Spearman ρ (SMASH)"]) == float(values["Spearman ρ (SMASH)"])  # a number
    assert "Spearman ρ (SWAP)" in values
    assert at.get("download_button") and at.get("plotly_chart")
    assert not at.button(key="sm_start").disabled and at.button(key="sm_stop").disabled


def test_stop_freezes_training_and_the_cells_can_still_be_ranked():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page(sm_steps=2000)
    stopped = stop_after_a_run(at, "sm_start", "sm_stop", KEY)
    assert metric_values(at)["Status"] == "stopped" and 1 <= counter(at)[0] == stopped < 2000
    at.button(key="sm_score_now").click().run()
    assert not at.exception, at.exception
    counts_while_active(at, KEY)
    values = metric_values(at)
    assert values["Status"] == "done" and counter(at)[0] == stopped  # ranked with the weights reached
    assert "Spearman ρ (SMASH)" in values


def test_score_the_cells_now_ends_the_training_and_ranks():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page(sm_steps=2000)
    at.button(key="sm_start").click().run()
    training = page_run(at, KEY)
    wait_for_states(training, 2)
    at.run()
    at.button(key="sm_score_now").click().run()  # drawn beside Pause and Stop while it trains
    assert not at.exception, at.exception
    assert training.status == "stopped" and page_run(at, KEY) is not training
    counts_while_active(at, KEY)
    values = metric_values(at)
    assert values["Status"] == "done" and 2 <= counter(at)[0] < 2000 and "Spearman ρ (SMASH)" in values
    assert page_run(at, KEY).states == 6  # every cell scored, in a run of its own


def test_stop_while_scoring_stops_everything_and_keeps_the_cells_scored():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    at = _page(sm_steps=3, sm_archs=400)
    at.button(key="sm_start").click().run()
    run = page_run(at, KEY)
    wait_for_states(run, 3 + 4)  # trained, and four cells scored
    at.run()
    at.button(key="sm_stop").click().run()
    assert not at.exception, at.exception
    frozen = run.states
    assert run.status == "stopped" and 3 + 4 <= frozen < 3 + 400
    time.sleep(1.0)
    at.run()
    assert run.states == frozen and run.status == "stopped"  # no cell scored after Stop
    assert not any(b.key == "sm_score_now" for b in at.button)  # and nothing offers to go on by itself
    assert "Spearman ρ (SMASH)" in metric_values(at)  # the cells scored before Stop are kept


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
