"""The Pareto front of a search (`search.pareto`), the cost margin of a predicted hard limit,
and the front and cost in a search's record."""
import math

import pytest

from swap_core.search import parse_constraint
from swap_core.search.base import Evaluation
from swap_core.search.experiment import SearchSetup, run_search
from swap_core.search.objectives import constraint_cost, efficient
from swap_core.search.pareto import evaluated_front, pareto_front


def test_pareto_front_on_hand_points():
    costs = [1.0, 2.0, 2.0, 3.0, 0.5, math.nan, 4.0]
    values = [10.0, 12.0, 11.0, 11.5, 5.0, 99.0, -math.inf]
    # 0.5→5, 1→10, 2→12 are non-dominated; (2, 11) and (3, 11.5) lose to (2, 12); NaN and −inf are left out
    assert pareto_front(costs, values) == [4, 0, 1]
    assert pareto_front([1.0, 1.0], [3.0, 3.0]) == [0]  # equal points: the first only
    assert pareto_front([], []) == []
    with pytest.raises(ValueError, match="differ in length"):
        pareto_front([1.0], [1.0, 2.0])


def test_evaluated_front_uses_the_searchs_cost_and_each_cell_once():
    history = [Evaluation("a", 1.0, accuracy=90.0, metrics={"flops": 50.0}),
               Evaluation("b", 2.0, accuracy=80.0, metrics={"flops": 20.0}),
               Evaluation("c", 3.0, accuracy=85.0, metrics={"flops": 60.0}),
               Evaluation("b", 80.0, accuracy=80.0)]  # a truth lookup of b: no cost of its own
    front = evaluated_front(history, "flops", lambda arch: 1e9)
    assert [(p["arch"], p["cost"], p["value"]) for p in front] == [("b", 20.0, 80.0), ("a", 50.0, 90.0)]
    by_score = evaluated_front(history, "flops", lambda arch: 1e9, value="score")
    assert [p["arch"] for p in by_score] == ["b", "c"]
    sizes = {"a": 300.0, "b": 100.0, "c": 200.0}
    unconstrained = evaluated_front(history, None, sizes.__getitem__)  # Θ in thousands → millions
    assert [(p["arch"], p["cost"]) for p in unconstrained] == [("b", 0.1), ("c", 0.2), ("a", 0.3)]
    with pytest.raises(ValueError, match="value"):
        evaluated_front(history, None, sizes.__getitem__, value="loss")


def test_a_margin_tightens_only_the_hard_limit():
    limit = parse_constraint("latency<=10")
    base = lambda arch: (5.0, 0.1)  # noqa: E731
    cost = {"fast": 7.0, "edge": 9.0}.__getitem__
    hard = efficient(base, cost, limit, "hard", margin=1.5)
    assert hard("fast")[0] == 5.0 and hard("fast")[2]["bound"] == 8.5 and hard("fast")[2]["latency"] == 7.0
    assert hard("edge")[0] == -math.inf  # 9 + 1.5 > 10
    assert efficient(base, cost, limit, "hard")("edge")[0] == 5.0
    with pytest.raises(ValueError, match="margin"):
        efficient(base, cost, limit, "hard", margin=-1.0)
    with pytest.raises(ValueError, match="latency must be one of"):
        constraint_cost(SearchSetup().core(0), "latency", latency="guessed")


def test_a_constrained_runs_record_has_its_cost_and_front():
    setup = SearchSetup(constraint=parse_constraint("params<=0.6"), objective="params",
                        truth={}, batch_size=8)
    record = run_search(setup, "random", 12, seed=3)
    assert record["cost_name"] == "params" and record["cost"] <= 0.6
    front = record["front"]
    assert front and record["front_value"] == "score"
    costs = [p["cost"] for p in front]
    assert costs == sorted(costs) and all(math.isfinite(c) for c in costs)
    scores = [p["value"] for p in front]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)  # strictly better with every step in cost


def test_the_search_command_runs_each_reward_form_side_by_side_and_resumes(tmp_path, capsys):
    import json

    from swap_core.cli import main

    out = tmp_path / "rewards.json"
    args = ["search", "--algo", "random", "--objective", "params", "--budget", "6", "--seeds", "0-1",
            "--constraint", "params<=0.6", "--constraint-mode", "hard,mnas,weighted", "--weight", "0.1",
            "--data", "synthetic", "--device", "cpu", "--batch-size", "8", "--out", str(out)]
    assert main(args) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [(r["algo"], r["mode"], r["seed"]) for r in runs] == [
        (f"random[{m}]", m, s) for m in ("hard", "mnas", "weighted") for s in (0, 1)]
    assert all(r["cost_name"] == "params" and r["front"] for r in runs)
    assert all(r["cost"] <= 0.6 for r in runs if r["mode"] == "hard")
    printed = capsys.readouterr().out
    assert "random[mnas]" in printed and "params (millions of parameters)" in printed
    assert main([*args, "--resume"]) == 0
    assert "resuming: 6 of 6 runs" in capsys.readouterr().err
    assert json.loads(out.read_text())["runs"] == runs


def test_the_cost_command_prints_size_memory_and_latency_of_one_cell(tmp_path, monkeypatch, capsys):
    from swap_core.cli import main

    monkeypatch.setenv("SWAP_EXPLORER_STORE", str(tmp_path / "store.db"))
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    assert main(["cost", "--network", "teaching", "--arch", arch, "--batch", "4", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "nb201 teaching network" in out and "MFLOPs per image" in out
    assert "batch    1: latency" in out and "batch    4: latency" in out and "peak activation memory" in out
    assert main(["cost", "--arch", "|bogus~0|", "--device", "cpu"]) == 2
