"""The size regulariser on raw scores (`swap_core.size_regulariser`; Peng et al., ICLR 2024):
hand-checkable factors, the vectorised ρ grid against `stats.rank_correlation`, and the
effect of μ and σ on the ranking, on synthetic scores; and one check with real data (skipped
without it) that the page's documented opening point beats plain SWAP on cells it was not tuned on."""
import math

import numpy as np
import pytest

from conftest import require_file

from swap_core import lab, size_regulariser as sr, stats
from swap_core.setup import Setup


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
    mus, sigmas = sr.default_grid(theta)
    assert mus[0] == low and mus[-1] == high and len(mus) == sr.MU_POINTS and len(sigmas) == len(exponents)
    assert sr.nearest_slider_point(1003.0, 6.1, theta) == (1000.0, 6.0)
    assert sr.nearest_slider_point(-5.0, 99.0, theta) == (low, exponents[-1])



def test_default_point_is_the_tuned_one_else_a_flat_target():
    _, theta, _ = sample()
    mu, sigma = sr.TUNED_POINTS["nb201", "teaching"]
    assert sr.default_point(theta, "nb201", "teaching") == (mu, math.log10(sigma))
    assert sr.default_point([1.0], "nb201", "teaching") == (mu, math.log10(sigma))  # whatever cells are scored
    small = np.array([100.0, 150.0, 200.0])  # no tuned point: the median, the widest σ (nearly plain SWAP)
    assert sr.default_point(small, "darts", "teaching") == (150, sr.sigma_exponents(100, 200)[-1])


def test_sliders_cover_the_point_as_the_cells_grow():
    low, high, step, exponents = sr.slider_ranges([100.0, 300.0], 1180.0, 6.0)
    assert low <= 100 and high >= 1180 and 6.0 in exponents and step == 10
    low, high, _, exponents = sr.slider_ranges([100.0, 300.0], 200.0, 9.3)  # a σ off the quarter decades
    assert 9.3 in exponents and exponents == sorted(exponents) and high >= 300


def test_bins_name_the_cells_in_each_bar():
    edges = sr.size_bins([0.0, 10.0, 5.0, 9.99], bins=10)
    assert len(edges) == 11 and edges[0] == 0 and edges[-1] == 10
    assert sr.bin_of([0.0, 10.0, 5.0, 9.99, 11.0, np.nan], edges).tolist() == [0, 9, 5, 9, -1, -1]
    with pytest.raises(ValueError, match="no finite"):
        sr.size_bins([np.nan])


def test_tune_point_takes_the_best_mean_over_tables():
    tables = [sample(seed=1), sample(seed=2)]
    mus, sigmas = np.arange(100.0, 1500.0, 50.0), 10.0 ** np.arange(4.0, 7.25, 0.25)
    mu, sigma, rho = sr.tune_point(tables, mus, sigmas)
    mean = np.mean([sr.rho_grid(*t, mus, sigmas) for t in tables], axis=0)
    assert rho == pytest.approx(np.nanmax(mean)) and 600 <= mu <= 1200  # accuracy peaks near 900
    held_out = sr.correlations(*sample(seed=3), mu, sigma)
    assert held_out["regularised"] > held_out["swap"]
    with pytest.raises(ValueError, match="at least one"):
        sr.tune_point([], mus, sigmas)


def test_ranking_lists_every_cell_with_missing_scores_last():
    swap, theta = np.array([10.0, np.nan, 30.0, 20.0]), np.array([100.0, 100.0, 100.0, 100.0])
    ranked = sr.ranking(["a", "b", "c", "d"], swap, theta, 100, 1e4, accuracy=[1.0, 2.0, 3.0, 4.0])
    assert ranked["arch"].tolist() == ["c", "d", "a", "b"]
    assert ranked.columns.tolist() == ["rank", "arch", "params (M)", "size factor", "SWAP", "regularised SWAP",
                                       "rank by SWAP", "accuracy"]
    assert ranked["params (M)"].tolist() == [0.1] * 4 and (ranked["size factor"] == 1).all()
    with pytest.raises(ValueError, match="k must"):
        sr.top_architectures(["a"], [1.0], [1.0], 1, 1, k=0)


@pytest.mark.slow  # a fidelity check: it scores 60 networks (about 5 s on an idle CPU)
def test_the_opening_point_beats_plain_swap_on_held_out_cells():
    """The page's own opening cells (sample and Setup seed 0, batch 64, teaching network; the
    first 60 of its 200), which `scripts/tune_size_default.py` leaves out of the tuning."""
    require_file("nb201_accuracy.csv")
    require_file("cifar10_sample.npz")
    setup = Setup(space="nb201", preset="teaching", batch=64, seed=0, threads=1)
    cells = lab.arch_set("nb201", setup.dataset, "sample", 60, 0)
    swap = [setup.score(arch, ["swap"])["swap"] for arch in cells.archs]
    theta = [setup.size_k(arch) for arch in cells.archs]
    mu, log_sigma = sr.default_point(theta, "nb201", "teaching")
    rho = sr.correlations(swap, theta, cells.accuracy, mu, 10.0 ** log_sigma)
    assert rho["n"] == 60 and rho["regularised"] >= rho["swap"] + 0.05, rho
