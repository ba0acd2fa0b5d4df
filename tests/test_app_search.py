"""The Search page (Streamlit AppTest): a search started with Start runs in the engine's
worker while the page redraws, can be paused, resumed and stopped, every finished or stopped
run joins the comparison, and seed S gives exactly the trajectory of `python -m swap_core
search --seeds S` with the same settings. The teaching network and budgets of 10–20
evaluations keep each test to seconds on a CPU."""
import json
import math
import shlex
import time

import pytest
from conftest import counter, metric_values, open_app, require_file, run_while_running, wait_for_states

from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA
from swap_core.search import get_algorithm, list_algorithms

PAGE = "app_pages/search.py"


def open_page(evaluations: int = 12, **state):
    return open_app(PAGE, state={"sb_batch": 16, "se_evaluations": evaluations,
                                 "se_algo": "random", "se_objective": "swap", **state})


def worker(at):
    return at.session_state["se_run"].worker


def steps(at) -> int:
    return counter(at, "Evaluations")[0]


def status(at) -> str:
    return metric_values(at)["Status"]


def compared(at):
    """The comparison's table of runs (switches the view to it)."""
    at.segmented_control(key="se_view").set_value("Compare runs").run()
    assert not at.exception, at.exception
    return at.dataframe[0].value


def test_page_runs_and_offers_every_algorithm():
    at = open_page()
    assert at.title[0].value == "Search"
    assert len(at.selectbox(key="se_algo").options) == len(list_algorithms())
    assert at.expander[0].label.startswith("How does a search work?")
    assert not at.button(key="se_start").disabled
    assert at.button(key="se_stop").disabled and at.button(key="se_pause").disabled
    assert "Evaluations" not in metric_values(at)  # nothing runs yet


def test_start_advances_then_completes_and_joins_the_comparison():
    at = open_page(evaluations=10)
    at.button(key="se_start").click().run()
    assert not at.exception, at.exception
    assert status(at) == "running" and at.button(key="se_start").disabled  # one run at a time
    wait_for_states(worker(at), 2)
    at.run()
    assert steps(at) >= 1  # the worker computes between the page's redraws
    run_while_running(at)
    assert status(at) == "done" and steps(at) == 10
    values = metric_values(at)
    assert math.isfinite(float(values["Best score"].replace(",", "")))
    table = compared(at)
    assert len(table) == 1 and table["status"].tolist() == ["done"] and table["evaluations"].tolist() == [10]
    assert len(at.get("plotly_chart")) == 3  # best so far, population, comparison
    assert not at.button(key="se_start").disabled


def test_stop_mid_run_freezes_the_step_count():
    at = open_page(evaluations=2000)
    at.button(key="se_start").click().run()
    wait_for_states(worker(at), 3)
    at.button(key="se_stop").click().run()
    assert not at.exception, at.exception
    frozen = steps(at)
    assert status(at) == "stopped" and 3 <= frozen < 2000
    time.sleep(0.5)
    at.run()
    assert steps(at) == frozen and status(at) == "stopped"
    table = compared(at)
    assert table["status"].tolist() == ["stopped"] and table["evaluations"].tolist() == [frozen]


def test_pause_keeps_the_search_and_resume_continues_it():
    at = open_page(evaluations=20)
    at.button(key="se_start").click().run()
    wait_for_states(worker(at), 2)
    at.button(key="se_pause").click().run()
    assert status(at) == "paused"
    assert worker(at).wait_parked(30)  # the step in progress lands, then the worker waits
    at.run()
    paused = steps(at)
    time.sleep(0.5)
    at.run()
    assert steps(at) == paused and status(at) == "paused"
    at.button(key="se_resume").click().run()
    assert status(at) == "running"
    run_while_running(at)
    assert steps(at) == 20  # the same generator went on: no evaluation repeated or lost
    assert compared(at)["evaluations"].tolist() == [20]


def test_a_page_run_is_the_command_line_run(tmp_path):
    """Seed S on the page and `--seeds S` of the command the page shows: the same trajectory."""
    from swap_core.cli import main

    at = open_page(evaluations=12, se_seed=4, se_algo="swap-nas")
    at.button(key="se_start").click().run()
    run_while_running(at)
    run = at.session_state["se_run"]
    page = [(e.arch, e.score) for e in run.state.history]
    args = shlex.split(run.command)
    assert args[:4] == ["python", "-m", "swap_core", "search"] and "--seeds" in args
    out = tmp_path / "runs.json"
    assert main([*args[3:], "--out", str(out)]) == 0
    record = json.loads(out.read_text())["runs"][0]
    assert record["seed"] == 4 and record["arch"] == run.state.best.arch
    assert record["score"] == pytest.approx(run.state.best.score, rel=1e-12)
    assert len(page) == 12


def test_several_seeds_run_one_after_another_and_are_compared():
    at = open_page(evaluations=10, se_repeats=2, se_seed=3)
    at.button(key="se_start").click().run()
    run_while_running(at)  # the first seed ends; the second starts at once, in the same worker
    table = compared(at)
    assert table["seed"].tolist() == [3, 4] and table["status"].tolist() == ["done", "done"]


def test_results_download_and_open_the_best_in_the_cell_designer():
    at = open_page(evaluations=10)
    at.button(key="se_start").click().run()
    run_while_running(at)
    at.segmented_control(key="se_view").set_value("Results").run()
    results = at.dataframe[0].value
    assert len(results) == 10 and {"arch", "score", "params (M)", "accuracy"} <= set(results.columns)
    assert len(at.get("download_button")) == 1
    best = results.loc[results["score"].idxmax(), "arch"]
    at.button(key="se_open_best").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cell Designer"
    assert at.session_state["arch_by_space"]["nb201"] == best


def test_regularised_swap_takes_a_size_target_on_the_benchmark_network():
    at = open_page(evaluations=10, se_objective="reg_swap")
    assert at.number_input(key="se_mu").value == DEFAULT_MU and at.number_input(key="se_sigma").value == DEFAULT_SIGMA
    at.number_input(key="se_mu").set_value(500.0).run()
    at.button(key="se_start").click().run()
    run_while_running(at)
    assert status(at) == "done"
    assert compared(at)["search"][0] == "Random search · reg_swap (μ 500 k, σ 1e+06)"
    assert at.number_input(key="se_mu").value == 500.0  # locked while it ran, kept after


def test_the_tuned_regulariser_button_sets_mu_and_sigma():
    from swap_core.search.objectives import TUNED_REGULARISER
    at = open_page(se_objective="reg_swap")  # the sidebar's defaults: NB201, teaching network
    mu, sigma = TUNED_REGULARISER["nb201", "teaching"]
    at.button(key="se_tuned").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="se_mu").value == mu and at.number_input(key="se_sigma").value == sigma


def test_an_efficiency_constraint_joins_the_objective():
    at = open_page(evaluations=10, se_constrained=True, se_cost="params", se_limit_params=0.5, se_mode="hard")
    at.button(key="se_start").click().run()
    run_while_running(at)
    assert status(at) == "done"
    assert compared(at)["search"][0] == "Random search · swap · params<=0.5 hard"


def test_the_pareto_view_draws_the_front_of_a_constrained_run_in_the_constraints_cost():
    at = open_page(evaluations=10, se_constrained=True, se_cost="flops", se_limit_flops=80.0, se_mode="mnas")
    at.button(key="se_start").click().run()
    run_while_running(at)
    assert status(at) == "done"
    at.segmented_control(key="se_view").set_value("Pareto front").run()
    assert not at.exception, at.exception
    run = at.session_state["se_run"]
    assert (run.cost, run.limit) == ("flops", 80.0)
    figure = [c for c in at.get("plotly_chart") if "Cost against value" in c.proto.spec][0]
    assert "MFLOPs" in figure.proto.spec
    front = [c for c in at.caption if "on the front" in c.value]
    assert front and int(front[0].value.split()[0]) >= 1


@pytest.mark.parametrize("algo", list_algorithms())
def test_every_algorithm_runs_to_the_end_on_the_page(algo):
    """Each registered algorithm with a tiny budget (and at most 5 lookups where it has them):
    its own objective is preselected, the live views draw, and the run ends in the comparison."""
    at = open_app(PAGE, state={"sb_batch": 16, "se_evaluations": 12, f"se_opt_{algo}_lookups": 5})
    at.selectbox(key="se_algo").set_value(algo).run()
    info = get_algorithm(algo)
    if info.objective:
        assert at.selectbox(key="se_objective").value == info.objective
    at.button(key="se_start").click().run()
    run_while_running(at, timeout=300)
    assert status(at) == "done", metric_values(at)
    assert len(at.get("plotly_chart")) >= 3  # best so far, population, best cell
    table = compared(at)
    assert table["status"].tolist() == ["done"] and math.isfinite(table["best accuracy"][0])


def test_without_a_truth_table_lookups_are_refused_and_proxies_still_search(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))
    at = open_page(evaluations=10, se_algo="rea")
    assert at.button(key="se_start").disabled
    assert "looks accuracies up in a benchmark table" in at.warning[0].value
    at.selectbox(key="se_algo").set_value("random").run()
    at.button(key="se_start").click().run()
    run_while_running(at)
    assert status(at) == "done" and metric_values(at)["Accuracy of the best"] == "—"
    assert len(at.get("plotly_chart")) >= 3  # best so far (score only), population, best cell


def test_lookups_in_a_sparse_truth_table_are_warned_about():
    require_file("darts1000_cifar10.csv")
    at = open_app(PAGE, query={"space": "darts"}, state={"sb_batch": 16, "se_algo": "rea"})
    assert "knows only a few" in at.warning[0].value
