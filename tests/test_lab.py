"""Proxy Lab statistics against hand-computed values, architecture sets, disagreements, and
the paper table against `python -m swap_core correlate` on the same inputs."""
import math

import pandas as pd
import pytest

from swap_core import lab, stats
from swap_core.cli import main
from swap_core.ensembles import list_ensembles

X, Y, Z = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5], [1, 3, 2, 5, 4]


def test_partial_rank_correlation_by_hand():
    # Spearman: r_xy = 1 - 6*4/120 = 0.8, r_xz = 0.8, r_yz = 1 - 6*14/120 = 0.3
    expected = (0.8 - 0.8 * 0.3) / math.sqrt((1 - 0.8**2) * (1 - 0.3**2))
    assert stats.partial_rank_correlation(X, Y, Z) == pytest.approx(expected)
    assert stats.partial_rank_correlation([v * 10 for v in X], Y, [v**3 for v in Z]) == pytest.approx(expected)
    assert math.isnan(stats.partial_rank_correlation(X, Y, X))  # z explains x entirely
    assert stats.partial_rank_correlation(X + [math.nan], Y + [1.0], Z + [2.0]) == pytest.approx(expected)


def test_top_k_overlap_by_hand():
    a, b = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]
    assert stats.top_k_overlap(a, b, 2) == 0.0
    assert stats.top_k_overlap(a, b, 3) == pytest.approx(1 / 3)
    assert stats.top_k_overlap(a, b, 2, higher_b=False) == 1.0
    assert stats.top_k([3, math.nan, 9, 1], 2) == {0, 2}
    with pytest.raises(ValueError):
        stats.top_k_overlap(a, b, 0)


def test_correlation_matrix_pairwise():
    matrix = stats.correlation_matrix({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1], "c": [1, math.nan, 3, 4]})
    assert matrix.loc["a", "b"] == pytest.approx(-1) and matrix.loc["a", "c"] == pytest.approx(1)
    assert (matrix.to_numpy().diagonal() == 1).all()


def test_disagreements_rank_each_proxy_in_its_own_direction():
    table = pd.DataFrame({"arch": list("pqrs"), "swap": [4.0, 3.0, 2.0, 1.0], "ntk_cond": [4.0, 3.0, 2.0, 1.0]})
    worst = lab.disagreements(table, "swap", "ntk_cond", count=2)  # ntk_cond: lower is better
    assert set(worst["arch"]) == {"p", "s"} and worst["gap"].tolist() == [3, 3]
    assert worst.set_index("arch").loc["s", "rank by ntk_cond"] == 1


def test_arch_sets_sample_and_table(data_dir):
    sample = lab.arch_set("nb201", "cifar10", "sample", 30, seed=1, data_dir=data_dir)
    assert len(set(sample.archs)) == 30 and all(math.isfinite(a) for a in sample.accuracy)
    choices = lab.arch_set_choices("nb201", "cifar100", data_dir)
    assert choices[0] == "sample" and "zc/nb201_cifar100.csv:val_accuracy" in choices
    zc = lab.arch_set("nb201", "cifar10", "zc/nb201_cifar10.csv:val_accuracy", 10_000, seed=0, data_dir=data_dir)
    assert len(zc.archs) == 434 and zc.truth.startswith("zc/")
    part = lab.arch_set("nb201", "cifar10", "zc/nb201_cifar10.csv:val_accuracy", 50, seed=0, data_dir=data_dir)
    assert len(part.archs) == 50 and set(part.archs) <= set(zc.archs)


def test_paper_table_agrees_with_correlate(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(data_dir))
    scores_file = lab.suite_zero_scores().get("zc/nb201_cifar10.csv")
    if scores_file is None:
        pytest.skip("results/suite_zero scores are not in this checkout")
    out = tmp_path / "correlate.csv"
    paper = lab.paper_table({"zc/nb201_cifar10.csv": pd.read_csv(scores_file)}, data_dir)
    ensembles = [name for name in paper.index if name in list_ensembles()]
    assert "vote" in ensembles  # its members synflow, jacob_cov and snip are in the file
    assert main(["correlate", "--scores", str(scores_file), "--truth", "zc/nb201_cifar10.csv",
                 "--reference", "zc/nb201_cifar10.csv", "--out", str(out),
                 *[arg for name in ensembles for arg in ("--ensemble", name)]]) == 0
    cli = pd.read_csv(out).set_index("proxy")
    for proxy in paper.index:
        assert paper.loc[proxy, "zc/nb201_cifar10.csv · ours"] == pytest.approx(cli.loc[proxy, "spearman"],
                                                                             nan_ok=True)
        if not math.isnan(paper.loc[proxy, "zc/nb201_cifar10.csv · NAS-Bench-Suite-Zero"]):
            assert paper.loc[proxy, "zc/nb201_cifar10.csv · NAS-Bench-Suite-Zero"] == pytest.approx(
                cli.loc[proxy, "reference_spearman"])
    assert paper.loc["synflow", "zc/nb201_cifar10.csv · ours"] == pytest.approx(0.740, abs=0.001)


def test_with_ensembles_adds_each_ensembles_column_as_combine_computes_it():
    scores = pd.DataFrame({"arch": list("abcd"), "synflow": [1, 2, 3, 4], "jacob_cov": [4, 3, 2, 1],
                           "snip": [1, 3, 2, 4], "swap": [2, 2, 2, 2]})
    assert lab.ensemble_members(["vote"]) == ["snip", "synflow", "jacob_cov"]  # list_proxies order
    out = lab.with_ensembles(scores, ["vote", "rank_average"])
    assert list(out.columns) == [*scores.columns, "vote", "rank_average"] and "vote" not in scores
    # by hand, pairwise majorities of (synflow, jacob_cov, snip): b > a, c > a, d > a, b > c, d > b, d > c
    assert list(out["vote"]) == [0.0, 2.0, 1.0, 3.0]
    # mean normalised ranks: a (0 + 1 + 0)/3, b (1/3 + 2/3 + 2/3)/3, c (2/3 + 1/3 + 1/3)/3, d (1 + 0 + 1)/3
    assert list(out["rank_average"]) == pytest.approx([1 / 3, 5 / 9, 4 / 9, 2 / 3])


def test_committed_scores_carry_the_newer_proxies_and_the_paper_table_their_published_figures(data_dir):
    scores = lab.committed_scores().get("zc/nb201_cifar10.csv")
    if scores is None or "meco" not in scores:
        pytest.skip("results/suite_zero and results/proxy_table are not in this checkout")
    assert len(scores) == 434 and scores["arch"].is_unique
    assert {"swap", "synflow", "az_trainability", "meco", "zico", "near", "dextr"} <= set(scores.columns)
    paper = lab.paper_table({"zc/nb201_cifar10.csv": scores}, data_dir)
    assert paper.loc["az_nas", "zc/nb201_cifar10.csv · ours"] == pytest.approx(0.913, abs=0.03)  # the bar
    assert paper.loc["az_nas", "zc/nb201_cifar10.csv · published"] == pytest.approx(0.913)
    assert paper.loc["meco", "zc/nb201_cifar10.csv · ours"] == pytest.approx(0.89, abs=0.03)
    assert paper.loc["meco", "zc/nb201_cifar10.csv · published"] == pytest.approx(0.89)
    assert math.isnan(paper.loc["swap", "zc/nb201_cifar10.csv · published"])
