"""Search algorithms (swap_core.search): reproducibility, counting, stopping, the SWAP-NAS loop
on a constructed objective, REA/AREA/HNAS lookups, efficiency objectives, the CLI.

Most tests use constructed scorers (score = number of 3x3 convolutions) where the logic is
the point; a few run real proxies on the small teaching network."""
import itertools
import json
import math

import pytest

from swap_core.cli import main
from swap_core.search import (Budget, get_algorithm, list_algorithms, parse_constraint, random_search,
                              run_to_end, swap_nas)
from swap_core.search.efficiency import combine, cost_function, hard_constraint, measure_latency, mnas_reward, \
    weighted_sum
from swap_core.search.evolution import area, rea
from swap_core.search.experiment import SearchSetup, parse_algorithms, parse_seeds, run_search, summarise
from swap_core.search.hnas_search import HnasRanking, expected_improvement, hnas
from swap_core.setup import Setup
from swap_core.search.objectives import build_objective, efficient, ensemble_scorer, size_regularised
from swap_core.search.swap_nas import replace_worst
from swap_core.search.base import Evaluation
from swap_core.spaces import get_space
from conftest import require_file

SPACE = get_space("nb201")
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def convs(arch: str) -> int:
    return arch.count("nor_conv_3x3")


class CountingScorer:
    """score = number of 3x3 convs (+ a tie-breaking hash term); counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, arch):
        self.calls += 1
        return convs(arch) + (hash(arch) % 997) / 1e4, 0.1


def truth_by_convs():
    """A constructed accuracy for every NB201 cell: 80 + 2 per 3x3 conv (not the benchmark)."""
    return {cell.to_str(): 80.0 + 2 * convs(cell.to_str()) for cell in SPACE.enumerate()}


def hnas_metric_scorer(arch):
    m = 1.0 + convs(arch)
    return m, 0.1, {"m_trace": m, "kappa": 10.0 / m}


def _archs(state):
    return [e.arch for e in state.history]


@pytest.mark.parametrize("name", ["swap-nas", "random", "naswot"])
def test_same_seed_same_history(name):
    info = get_algorithm(name)
    runs = [run_to_end(info.fn(SPACE, Budget(name, CountingScorer()), 40, seed, **dict(info.options)))
            for seed in (3, 3, 4)]
    assert _archs(runs[0]) == _archs(runs[1])
    assert _archs(runs[0]) != _archs(runs[2])


def test_budget_caches_and_counts_each_architecture_once():
    scorer = CountingScorer()
    budget = Budget("x", scorer)
    first = budget.score(ALL_CONV)
    again = budget.score(ALL_CONV)
    assert first is again and scorer.calls == 1 and budget.proxy_evaluations == 1
    budget.lookup(ALL_CONV)
    assert budget.truth_lookups == 1 and budget.step == 2


@pytest.mark.parametrize("algorithm", [swap_nas, random_search])
def test_algorithms_spend_exactly_the_budget(algorithm):
    scorer = CountingScorer()
    state = run_to_end(algorithm(SPACE, Budget("x", scorer), 57, 0))
    assert state.done and state.proxy_evaluations == 57 == scorer.calls == len(state.history)
    assert state.truth_lookups == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_swap_nas_finds_the_optimum_of_a_constructed_objective(seed):
    state = run_to_end(swap_nas(SPACE, Budget("swap-nas", CountingScorer()), 300, seed))
    assert state.best.arch == ALL_CONV  # the only cell with six 3x3 convs
    assert 1 <= len(state.population) == len({m.arch for m in state.population}) <= 10


def test_swap_nas_restarts_a_converged_population_to_spend_its_budget():
    states = list(swap_nas(SPACE, Budget("swap-nas", CountingScorer()), 800, 0, patience=3))
    assert states[-1].proxy_evaluations == 800  # a population of 10 converges long before
    # a restart keeps the best member and draws the rest afresh: the population changes wholesale
    populations = [{m.arch for m in s.population} for s in states if len(s.population) == 10]
    assert any(len(a & b) == 1 for a, b in zip(populations, populations[1:]))


def test_swap_nas_population_keeps_its_best_and_drops_its_worst():
    members = [Evaluation(str(i), float(i)) for i in range(4)]
    replace_worst(members, [Evaluation("a", 1.5), Evaluation("b", 2.5)])
    assert [m.score for m in members] == [1.0, 2.0, 3.0, 2.5]
    replace_worst(members, [Evaluation("c", -1.0)])  # worse than all: it leaves again
    assert [m.arch for m in members] == ["1", "2", "3", "b"]


def test_rea_counts_lookups_not_proxy_evaluations():
    truth = truth_by_convs()
    scorer = CountingScorer()
    state = run_to_end(rea(SPACE, Budget("rea", scorer, truth), 120, 0))
    assert state.proxy_evaluations == 0 and scorer.calls == 0 and state.truth_lookups == 120
    assert len(state.population) == 10
    assert state.best.accuracy == max(e.accuracy for e in state.history) >= 90


def test_area_scores_then_trains_the_top_n():
    truth = truth_by_convs()
    budget = Budget("area", CountingScorer(), truth)
    state = run_to_end(area(SPACE, budget, 200, 0, population=10, lookups=30))
    assert state.proxy_evaluations == 200 and state.truth_lookups == 30
    scored = sorted(state.history[:200], key=lambda e: e.score, reverse=True)
    trained_first = [e.arch for e in state.history[200:210]]
    assert trained_first == [e.arch for e in scored[:10]]
    assert state.best.score == state.best.accuracy  # the answer is a trained architecture


def test_hnas_looks_up_at_most_its_lookups_and_returns_a_looked_up_cell():
    truth = truth_by_convs()
    state = run_to_end(hnas(SPACE, Budget("hnas", hnas_metric_scorer, truth), 60, 0, lookups=8))
    assert state.proxy_evaluations == 60 and 1 <= state.truth_lookups <= 8
    looked = [e.arch for e in state.history[60:]]
    assert state.best.arch in looked and len(set(looked)) == len(looked)


def test_hnas_ranking_and_expected_improvement():
    pool = [Evaluation(str(m), m, metrics={"m_trace": m, "kappa": k}) for m, k in [(1.0, 1.0), (2.0, 1.0), (4.0, 1.0)]]
    ranking = HnasRanking(pool)
    # μ tiny: κ/M alone decides (largest M); μ huge and ν at the lowest M²: the smallest M
    assert ranking.pick([0.0, 0.5]).arch == "4.0"
    assert ranking.pick([1.0, 0.0]).arch == "1.0"
    import numpy as np
    x = np.array([[0.1, 0.1], [0.9, 0.9]])
    ei = expected_improvement(x, np.array([1.0, 2.0]), np.array([[0.9, 0.9], [0.1, 0.1]]))
    assert ei[0] > ei[1] >= 0
    with pytest.raises(ValueError, match="hnas"):
        HnasRanking([Evaluation("a", 1.0)])


@pytest.mark.parametrize("name", ["swap-nas", "random", "naswot", "rea", "area", "hnas"])
@pytest.mark.parametrize("k", [0, 1, 7, 25])
def test_stop_at_any_point(name, k):
    info = get_algorithm(name)
    scorer = hnas_metric_scorer if name == "hnas" else CountingScorer()
    budget = Budget(name, scorer, truth_by_convs() if info.uses_truth else {})
    search = info.fn(SPACE, budget, 20, 0, **dict(info.options))
    states = list(itertools.islice(search, k))
    search.close()  # stopping is not asking for more; closing must not raise
    for state in states:
        assert state.step == state.proxy_evaluations + state.truth_lookups == len(state.history)
        assert state.best is None or state.best.arch in {e.arch for e in state.history}
    assert [s.step for s in states] == sorted(s.step for s in states)


def test_registry_has_every_algorithm_with_its_objective():
    assert {"random", "naswot", "swap-nas", "rea", "area", "hnas"} <= set(list_algorithms())
    assert get_algorithm("naswot").fn is random_search and get_algorithm("naswot").objective == "naswot"
    assert get_algorithm("hnas").objective == "hnas" and get_algorithm("rea").uses_proxy is False
    assert dict(get_algorithm("swap-nas").options).keys() == {"population", "sample_size", "mutations", "patience"}


# --- efficiency-aware objectives -------------------------------------------------------
def test_parse_constraint_and_its_errors():
    c = parse_constraint("params<=0.5")
    assert (c.cost, c.limit, c.strict) == ("params", 0.5, False) and str(c) == "params<=0.5"
    assert parse_constraint(" latency < 3 ").strict
    for bad, message in [("params>=1", "malformed"), ("size<=1", "unknown cost"), ("params<=-1", "positive"),
                         ("params<=abc", "malformed"), ("", "malformed"), ("flops<=1e400", "positive")]:
        with pytest.raises(ValueError, match=message):
            parse_constraint(bad)


def test_hard_constraint_mnas_and_weighted_on_hand_values():
    c = parse_constraint("params<=0.5")
    assert hard_constraint(3.0, 0.5, c) == 3.0 and hard_constraint(3.0, 0.6, c) == -math.inf
    assert math.isnan(hard_constraint(math.nan, 0.1, c))
    assert mnas_reward(10.0, 0.5, 0.5) == pytest.approx(10.0)
    assert mnas_reward(10.0, 1.0, 0.5, -0.07) == pytest.approx(10.0 * 2 ** -0.07)
    assert mnas_reward(10.0, 0.25, 0.5, -0.07) > 10.0
    # a negative score is divided, so a higher cost still lowers the reward
    assert mnas_reward(-10.0, 1.0, 0.5) == pytest.approx(-10.0 / 2 ** -0.07) and mnas_reward(-10.0, 1.0, 0.5) < -10.0
    assert weighted_sum(3.0, 0.5, 2.0) == 2.0
    assert combine(3.0, 0.5, c, "weighted", weight=2.0) == 2.0
    with pytest.raises(ValueError, match="mode"):
        combine(1.0, 1.0, c, "bogus")


def test_efficient_scorer_and_size_regulariser_on_hand_values():
    hard = efficient(lambda a: (5.0, 0.1), lambda a: {"small": 0.2, "big": 0.9}[a], parse_constraint("params<=0.5"))
    assert hard("small")[0] == 5.0 and hard("big")[0] == -math.inf and hard("big")[2]["params"] == 0.9
    regularised = size_regularised(lambda a: (100.0, 0.1), lambda a: 1100.0, mu=1000.0, sigma=1e4)
    value, _, metrics = regularised("x")
    assert value == pytest.approx(100.0 * math.exp(-1.0)) and metrics["raw"] == 100.0 and metrics["size_k"] == 1100.0


def test_search_under_a_hard_constraint_returns_a_feasible_cell():
    cost = lambda arch: convs(arch) / 10  # "parameters": 0.1 M per 3x3 conv
    scorer = efficient(CountingScorer(), cost, parse_constraint("params<=0.3"))
    state = run_to_end(swap_nas(SPACE, Budget("x", scorer), 200, 0))
    assert convs(state.best.arch) == 3


def test_costs_and_latency_on_the_teaching_network():
    config = SPACE.config("teaching")
    params = cost_function(SPACE, config, "params")
    assert params(ALL_CONV) > params("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") > 0
    assert cost_function(SPACE, config, "flops")(ALL_CONV) > 0
    import torch
    assert measure_latency(SPACE.build(ALL_CONV, config), torch.zeros(1, 3, 32, 32), repeats=2) > 0


# --- real objectives on the teaching network --------------------------------------------
def test_reg_swap_objective_regularises_on_the_benchmark_size():
    setup = Setup(space="nb201", preset="teaching", images="noise", batch=16)
    scorer = build_objective(setup, "reg_swap", mu=1000.0, sigma=1e6)
    value, params, metrics = scorer(ALL_CONV)
    assert metrics["size_k"] == pytest.approx(1532.0, rel=0.01)  # the benchmark network, not the teaching one
    assert value == pytest.approx(metrics["raw"] * math.exp(-((metrics["size_k"] - 1000) ** 2) / 1e6))
    assert params < 0.1  # the scored (teaching) network's size, in millions
    with pytest.raises(ValueError, match="unknown objective"):
        build_objective(setup, "bogus")


def test_ensemble_objective_ranks_against_the_scored_history():
    setup = Setup(space="nb201", preset="teaching", images="noise", batch=16)
    scorer = ensemble_scorer(setup, "rank_average", ["swap", "params"])
    first = scorer(ALL_CONV)
    assert first[0] == 0.5 and set(first[2]) == {"swap", "params"}  # a lone value: rank ½
    assert scorer("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")[0] == 0.0  # worse on both members
    with pytest.raises(ValueError, match="member"):
        ensemble_scorer(setup, "vote", ["bogus"])


# --- the experiment runner and the CLI ---------------------------------------------------
def test_parse_seeds_and_algorithms():
    assert parse_seeds("0-9") == list(range(10)) and parse_seeds("0-2,7") == [0, 1, 2, 7] and parse_seeds("5") == [5]
    for bad in ("9-0", "a-b", "", "1,1", "-3"):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)
    assert parse_algorithms("swap-nas, random@naswot") == [("swap-nas", "swap-nas", None),
                                                          ("random@naswot", "random", "naswot")]
    with pytest.raises(ValueError, match="unknown search algorithm"):
        parse_algorithms("swap-nas,bogus")


def test_summarise_mean_std_over_seeds():
    runs = [{"algo": "a", "accuracy": acc, "evaluations": 10, "lookups": 0, "seconds": 1.0} for acc in (93.0, 94.0)]
    runs.append({"algo": "a", "accuracy": math.nan, "evaluations": 10, "lookups": 0, "seconds": 1.0})
    row = summarise(runs)["a"]
    assert (row["mean"], row["std"], row["n"]) == (93.5, 0.5, 2)


RUN_KEYS = {"algo", "seed", "arch", "score", "accuracy", "params", "evaluations", "seconds"}


def test_cli_search_writes_runs_json(tmp_path, capsys):
    truth = require_file("nb201_accuracy.csv")
    out = tmp_path / "runs.json"
    code = main(["search", "--space", "nb201", "--algo", "swap-nas,rea", "--budget", "6", "--objective", "swap",
                 "--network", "teaching", "--data", "synthetic", "--seeds", "0-1", "--truth",
                 f"{truth}:cifar10_test", "--device", "cpu", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 4 and all(RUN_KEYS <= set(run) for run in result["runs"])
    assert {r["algo"] for r in result["runs"]} == {"swap-nas", "rea"}
    assert all(r["evaluations"] == 6 for r in result["runs"] if r["algo"] == "swap-nas")
    assert all(r["evaluations"] == 0 and r["lookups"] == 6 for r in result["runs"] if r["algo"] == "rea")
    assert set(result["summary"]) == {"swap-nas", "rea"}
    assert {"mean", "std", "n"} <= set(result["summary"]["swap-nas"]) and result["summary"]["rea"]["n"] == 2
    assert result["setup"]["budget"] == 6 and result["setup"]["seeds"] == "0-1" and result["setup"]["mu"] is None
    captured = capsys.readouterr()
    assert "swap-nas" in captured.out and "±" in captured.out and "seed 1" in captured.err


@pytest.mark.parametrize("args, message", [
    (["--algo", "bogus"], "unknown search algorithm"),
    (["--algo", "random", "--seeds", "9-0"], "seeds"),
    (["--algo", "random", "--constraint", "params>>1"], "malformed constraint"),
    (["--algo", "rea"], "ground-truth"),
    (["--algo", "random", "--objective", "bogus"], "unknown objective"),
    (["--algo", "random", "--constraint", "flops<=50", "--constraint-mode", "hard,soft"], "--constraint-mode"),
    (["--algo", "random", "--constraint-mode", "hard,mnas"], "give a --constraint too"),
])
def test_cli_search_bad_input_exits_2(tmp_path, capsys, args, message):
    code = main(["search", "--budget", "2", "--network", "teaching", "--data", "synthetic", "--device", "cpu",
                 "--out", str(tmp_path / "runs.json"), *args])
    assert code == 2 and message in capsys.readouterr().err


def test_objective_names_batch_sizes_and_checks():
    from swap_core.search.objectives import check_objective, objective_batch_size, objective_names
    assert {"swap", "reg_swap", "naswot", "vote", "rank_average", "hnas"} <= set(objective_names())
    assert objective_batch_size("swap") == 16 and objective_batch_size("hnas") == 64
    assert objective_batch_size("vote:swap,naswot") == 128  # the largest member's batch
    assert check_objective("rank_average:swap,jacov") == "rank_average:swap,jacov"  # a NASLib column name works
    for bad in ("bogus", "swap:naswot", "vote:bogus"):
        with pytest.raises(ValueError):
            check_objective(bad)


def test_replay_on_a_score_table_tunes_the_regulariser():
    from swap_core.search.replay import regulariser_grid, replay, table_scorer
    cells = [c.to_str() for c in SPACE.enumerate()]
    swap = {a: 10.0 + convs(a) for a in cells}         # constructed "SWAP": more convs, more patterns
    size = {a: 100.0 * convs(a) for a in cells}        # constructed sizes: 100 k per 3x3 conv
    truth = {a: 90.0 - abs(convs(a) - 3) for a in cells}  # constructed truth: best at three convs
    plain = replay(SPACE, "swap-nas", table_scorer(swap), 300, [0, 1], truth)
    assert plain == [87.0, 87.0]  # plain "SWAP" runs to six convs
    rows = regulariser_grid(SPACE, swap, size, truth, [300.0], [1e3], [0, 1], 300)
    assert rows == [{"mu": 300.0, "sigma": 1e3, "mean": 90.0, "std": 0.0, "n": 2}]


def test_swap_repeats_reach_the_regularised_objective():
    runs = [run_search(SearchSetup(objective="reg_swap", data_source="noise",
                                   proxy_options={"swap": {"repeats": r}}), "random", 1, 0) for r in (1, 3)]
    assert runs[0]["arch"] == runs[1]["arch"] and runs[0]["score"] != runs[1]["score"]


def test_mu_sigma_and_a_params_constraint_move_the_returned_size():
    """Real SWAP on the teaching network (noise images): the size target decides where the
    returned cell lies (Θ = benchmark-network parameters, thousands), and a hard constraint
    on the benchmark parameters overrules a target above it."""

    def size_of(objective="reg_swap", **setup):
        run = run_search(SearchSetup(objective=objective, data_source="noise", **setup), "swap-nas", 80, 0)
        return run["params"] * 1e3  # benchmark network, thousands

    small, large = size_of(mu=200.0, sigma=1e4), size_of(mu=1400.0, sigma=1e4)
    assert abs(small - 200) < 150 and abs(large - 1400) < 150, (small, large)
    limited = size_of(mu=1400.0, sigma=1e4, constraint=parse_constraint("params<=0.5"))
    assert limited <= 500, limited
