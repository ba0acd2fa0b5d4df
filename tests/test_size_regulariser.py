"""The size regulariser on raw scores (`swap_core.size_regulariser`; Peng et al., ICLR 2024):
hand-checkable factors, the vectorised ρ grid against `stats.rank_correlation`, and the
effect of μ and σ on the ranking. Synthetic scores only: no network runs, no data needed."""
import math

import numpy as np
import pytest

from swap_core import size_regulariser as sr, stats
from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA


def sample(n: int = 200, seed: int = 0):
    """Sizes (thousands) over NB201's benchmark range; SWAP grows with size; accuracy peaks
    at about 900 thousand parameters — so a target near there should help."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(73, 1532, n)
    swap = 20 * theta + rng.uniform(0, 6000, n)
    accuracy = 90 - ((theta - 900) / 300) ** 2 + rng.normal(0, 0.5, n)
    return swap, theta, accuracy


def test_factor_is_one_at_mu_and_one_over_e_at_root_sigma():
    factor = sr.size_factor([1000, 1100, 900, 1300], mu=1000, sigma=1e4)
    assert factor == pytest.approx([1, math.exp(-1), math.exp(-1), math.exp(-9)])
    assert sr.regularised([10, 10], [1000, 1100], 1000, 1e4) == pytest.approx([10, 10 / math.e])
    with pytest.raises(ValueError, match="sigma"):
        sr.size_factor([1], 0, 0)


def test_log_score_orders_as_the_product_and_never_underflows():
    swap, theta = np.array([5.0, 9.0, 7.0]), np.array([100.0, 400.0, 200.0])
    product = sr.regularised(swap, theta, 120, 1e4)
    logs = sr.log_regularised(swap, theta, 120, 1e4)
    assert np.argsort(product).tolist() == np.argsort(logs).tolist()
    assert logs == pytest.approx(np.log(product))
    tiny = sr.log_regularised(swap, theta, 0, 1.0)  # the product is exactly 0 for all three
    assert (sr.regularised(swap, theta, 0, 1.0) == 0).all() and len(set(tiny)) == 3
    with pytest.raises(ValueError, match="negative"):
        sr.log_regularised([-1.0], [1.0], 0, 1)


def test_grid_point_equals_rank_correlation_of_the_regularised_scores():
    swap, theta, accuracy = sample()
    mus, sigmas = np.array([300.0, 900.0, 1400.0]), np.array([1e5, 1e6, 1e7])
    grid = sr.rho_grid(swap, theta, accuracy, mus, sigmas)
    assert grid.shape == (3, 3)
    for row, sigma in enumerate(sigmas):
        for column, mu in enumerate(mus):
            expected = stats.rank_correlation(sr.regularised(swap, theta, mu, sigma), accuracy)["spearman"]
            assert grid[row, column] == pytest.approx(expected, abs=1e-12)
    assert sr.correlations(swap, theta, accuracy, 900, 1e6)["regularised"] == pytest.approx(grid[1, 1])


def test_large_sigma_recovers_plain_swap():
    swap, theta, accuracy = sample()
    plain = stats.rank_correlation(swap, accuracy)["spearman"]
    assert sr.rho_grid(swap, theta, accuracy, [500.0], [1e12])[0, 0] == pytest.approx(plain)
    ranked = sr.ranking([str(i) for i in range(len(swap))], swap, theta, 500, 1e12)
    assert (ranked["rank by SWAP"] == ranked["rank"]).all()
    result = sr.correlations(swap, theta, accuracy, 500, 1e12)
    assert result["n"] == len(swap) and result["regularised"] == pytest.approx(result["swap"])


def test_a_target_pulls_the_top_10_towards_mu_and_can_beat_plain_swap():
    swap, theta, accuracy = sample()
    archs = [f"cell{i}" for i in range(len(swap))]
    plain = sr.top_architectures(archs, swap, theta, 900, 1e12, k=10)
    assert plain["params (M)"].min() > 1.2  # raw SWAP picks the biggest networks
    for mu in (300.0, 900.0):
        top = sr.top_architectures(archs, swap, theta, mu, 1e4, k=10, accuracy=accuracy)
        assert len(top) == 10 and top["rank"].tolist() == list(range(1, 11))
        assert np.abs(top["params (M)"] * 1e3 - mu).max() < 200
    result = sr.correlations(swap, theta, accuracy, 900, 1e5)
    assert result["regularised"] > result["swap"] + 0.2


def test_grid_is_nan_without_accuracy_and_ignores_incomplete_rows():
    swap, theta, accuracy = sample(20)
    assert np.isnan(sr.rho_grid(swap, theta, np.full(20, np.nan), [500.0], [1e6])).all()
    accuracy[:5] = np.nan
    full = sr.rho_grid(swap[5:], theta[5:], accuracy[5:], [500.0, 900.0], [1e6])
    assert sr.rho_grid(swap, theta, accuracy, [500.0, 900.0], [1e6]) == pytest.approx(full)
    assert sr.best_point(np.full((2, 2), np.nan), [1, 2], [1, 2]) is None
    grid = np.array([[0.1, 0.5], [0.3, np.nan]])
    assert sr.best_point(grid, [10.0, 20.0], [1e3, 1e4]) == (20.0, 1e3, 0.5)


def test_ranges_and_defaults_fit_the_sample():
    _, theta, _ = sample()
    low, high, step = sr.mu_range(theta)
    assert step == 10 and low <= theta.min() < low + step and high - step < theta.max() <= high
    exponents = sr.sigma_exponents(low, high)
    width = high - low
    assert exponents[0] <= math.log10((width / 100) ** 2) and exponents[-1] >= math.log10((3 * width) ** 2)
    assert np.diff(exponents) == pytest.approx(0.25)
    assert sr.default_point(theta) == (DEFAULT_MU, math.log10(DEFAULT_SIGMA))  # the paper's NB201 values fit
    mus, sigmas = sr.default_grid(theta)
    assert mus[0] == low and mus[-1] == high and len(mus) == sr.MU_POINTS and len(sigmas) == len(exponents)
    assert sr.nearest_slider_point(1003.0, 6.1, theta) == (1000.0, 6.0)
    assert sr.nearest_slider_point(-5.0, 99.0, theta) == (low, exponents[-1])
    small = np.array([100.0, 150.0, 200.0])  # the paper's μ does not fit: the median
    mu, log_sigma = sr.default_point(small)
    assert mu == 150 and log_sigma in sr.sigma_exponents(*sr.mu_range(small)[:2])


def test_ranking_lists_every_cell_with_missing_scores_last():
    swap, theta = np.array([10.0, np.nan, 30.0, 20.0]), np.array([100.0, 100.0, 100.0, 100.0])
    ranked = sr.ranking(["a", "b", "c", "d"], swap, theta, 100, 1e4, accuracy=[1.0, 2.0, 3.0, 4.0])
    assert ranked["arch"].tolist() == ["c", "d", "a", "b"]
    assert ranked.columns.tolist() == ["rank", "arch", "params (M)", "size factor", "SWAP", "regularised SWAP",
                                       "rank by SWAP", "accuracy"]
    assert ranked["params (M)"].tolist() == [0.1] * 4 and (ranked["size factor"] == 1).all()
    with pytest.raises(ValueError, match="k must"):
        sr.top_architectures(["a"], [1.0], [1.0], 1, 1, k=0)
