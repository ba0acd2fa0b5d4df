import math

from swap_core.stats import rank_correlation


def test_rank_correlation_perfect_and_reversed():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40])["spearman"] == 1.0
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1])["kendall"] == -1.0


def test_rank_correlation_hand_computed():
    # ranks x: 1 2 3 4 5, y: 2 1 4 3 5 -> d^2 sum = 4 -> rho = 1 - 6*4/(5*24) = 0.8
    result = rank_correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert math.isclose(result["spearman"], 0.8)
    # concordant 8, discordant 2 of 10 pairs -> tau = 0.6
    assert math.isclose(result["kendall"], 0.6)


def test_rank_correlation_drops_non_finite_pairs():
    result = rank_correlation([1, float("nan"), 3, 4, float("inf")], [1, 2, 3, 4, 5])
    assert result["n"] == 3 and result["spearman"] == 1.0


def test_rank_correlation_constant_is_nan():
    assert math.isnan(rank_correlation([1, 1, 1], [1, 2, 3])["spearman"])
