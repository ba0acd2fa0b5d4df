"""Zen-Score against a hand-written re-computation, and the proxy ensembles (`vote`,
`rank_average`) on small hand-made tables."""
from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from swap_core import proxies
from swap_core.ensembles import get_ensemble, list_ensembles
from swap_core.proxies import ProxyError, get_proxy, list_proxies, score
from swap_core.proxies.zen import zen_score

SHAPE = (6, 3, 7, 7)


def two_conv_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 5, 3, padding=1, bias=False), nn.BatchNorm2d(5, affine=False), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 10),
    )


def hand_zen(seed: int, repeat: int, gamma: float) -> float:
    """`two_conv_net`'s Zen-Score written out: weights ~ N(0, 1) drawn in module order, then x
    and ε, all from one generator seeded with `seed`; training-mode BatchNorm (weight 1, bias 0) whose running variance (unbiased,
    momentum 0.1, from 1) carries over between repeats, as the official code."""
    rng = torch.Generator().manual_seed(seed)
    running = [torch.ones(4), torch.ones(5)]

    def batchnorm(h: torch.Tensor, k: int) -> torch.Tensor:
        mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
        n = h.numel() / h.shape[1]
        running[k] = 0.9 * running[k] + 0.1 * var.flatten() * n / (n - 1)
        return (h - mean) / torch.sqrt(var + 1e-5)

    draws = []
    for _ in range(repeat):
        w1, w2 = torch.randn(4, 3, 3, 3, generator=rng), torch.randn(5, 4, 3, 3, generator=rng)
        _linear = torch.randn(10, 5, generator=rng)
        x, eps = torch.randn(SHAPE, generator=rng), torch.randn(SHAPE, generator=rng)

        def features(inp: torch.Tensor) -> torch.Tensor:
            h = torch.relu(batchnorm(F.conv2d(inp, w1, torch.zeros(4), padding=1), 0))
            return torch.relu(batchnorm(F.conv2d(h, w2, padding=1), 1))

        first = features(x)
        difference = (first - features(x + gamma * eps)).abs().sum((1, 2, 3)).mean()
        draws.append(math.log(difference) + sum(math.log(math.sqrt(r.mean())) for r in running))
    return sum(draws) / repeat


@pytest.mark.parametrize(("repeat", "gamma"), [(1, 1e-2), (2, 0.1)])
def test_zen_matches_hand_computation(repeat, gamma):
    model = two_conv_net()
    value = zen_score(model, torch.zeros(SHAPE), repeat=repeat, mixup_gamma=gamma,
                      generator=torch.Generator().manual_seed(3))
    assert math.isclose(value, hand_zen(3, repeat, gamma), rel_tol=1e-5, abs_tol=1e-5)


def test_zen_leaves_the_callers_network_alone_and_ignores_its_weights():
    model, inputs = two_conv_net().eval(), torch.randn(SHAPE)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(1)
    value = zen_score(model, inputs)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m.training for m in model.modules())
    assert all(not m._forward_hooks for m in model.modules())
    with torch.no_grad():  # other weights and BatchNorm statistics: same score (redrawn, reset)
        model[0].weight.mul_(7)
        model[1].running_var.fill_(9)
    torch.manual_seed(1)
    assert zen_score(model, torch.ones(SHAPE)) == value  # the batch gives only its shape


def test_zen_seeded_by_the_callers_seed():
    model, inputs = two_conv_net(), torch.randn(8, 3, 7, 7)
    first = score(model, ["zen"], inputs, batch_size=8, seed=0)["zen"]
    assert score(model, ["zen"], inputs, batch_size=8, seed=0)["zen"] == first
    assert score(model, ["zen"], inputs, batch_size=8, seed=1)["zen"] != first
    torch.manual_seed(0)
    assert get_proxy("zen").fn(model, inputs) == first


def test_zen_errors():
    inputs = torch.randn(4, 3, 6, 6)
    functional = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    with pytest.raises(ProxyError, match="global average pooling"):
        zen_score(functional, inputs)
    untracked = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False),
                              nn.AdaptiveAvgPool2d(1))
    with pytest.raises(ProxyError, match="running variance"):
        zen_score(untracked, inputs)

    class Blind(nn.Module):  # ignores its input: the features cannot change
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x * 0)

    with pytest.raises(ProxyError, match="change with the input"):
        zen_score(Blind(), inputs)
    result = score(Blind(), ["zen", "params"], inputs, batch_size=4, on_error="nan")
    assert math.isnan(result["zen"]) and "zen" in result.errors and result["params"] > 0
    with pytest.raises(ValueError):
        zen_score(two_conv_net(), inputs, repeat=0)


def test_zen_metadata():
    info = get_proxy("zen")
    assert info.display_name == "Zen-Score" and info.year == 2021 and "Zen-NAS" in info.paper
    assert info.higher_is_better and not info.needs_grad and not info.needs_labels
    assert info.default_batch_size == 64 and info.description


# --- ensembles ------------------------------------------------------------------------------
NAN = math.nan
# Five architectures A..E; `lower` is lower-is-better; E has no score at all.
TABLE = {
    "synflow": [3, 1, 2, NAN, NAN],
    "snip": [1, 2, 3, 4, NAN],
    "lower": [1, 3, 2, 5, NAN],
}


@pytest.fixture
def lower_proxy(monkeypatch):
    list_proxies()  # load the registry before adding to it
    info = dataclasses.replace(get_proxy("params"), name="lower", higher_is_better=False)
    monkeypatch.setitem(proxies._PROXIES, "lower", info)


def test_vote_hand_computed(lower_proxy):
    # A–B: synflow A, snip B, lower A → A. A–C: A, C, A → A. B–C: C, C, C → C.
    # D has no synflow: A–D (snip D, lower A), B–D (D, B), C–D (D, C) are draws.
    result = get_ensemble("vote").combine(TABLE, ["synflow", "snip", "lower"])
    np.testing.assert_array_equal(result, [2.5, 0.5, 1.5, 1.5, NAN])
    assert np.nansum(result) == 4 * 3 / 2


def official_vote(mets: list[float]) -> int:
    """`vote` of zero-cost-nas's notebooks/nasbench201_correlations.ipynb, sign of i above j."""
    numpos = sum(1 if m > 0 else 0 for m in mets)
    return +1 if numpos >= len(mets) / 2 else -1


def test_vote_is_the_official_majority_without_ties():
    rng = np.random.default_rng(0)
    table = {name: rng.normal(size=12) for name in ("synflow", "jacob_cov", "snip")}
    wins = np.zeros(12)
    for i, j in itertools.permutations(range(12), 2):
        diffs = [table[m][i] - table[m][j] for m in ("synflow", "jacob_cov", "snip")]
        wins[i] += official_vote(diffs) > 0
    np.testing.assert_array_equal(get_ensemble("vote").combine(table), wins)


def test_rank_average_hand_computed(lower_proxy):
    # normalised ranks — synflow: A 1, B 0, C ½; snip: A 0, B ⅓, C ⅔, D 1;
    # lower (reversed): A 1, B ⅓, C ⅔, D 0.
    result = get_ensemble("rank_average").combine(TABLE, ["synflow", "snip", "lower"])
    np.testing.assert_allclose(result, [2 / 3, 2 / 9, 11 / 18, 1 / 2, NAN])
    ties = get_ensemble("rank_average").combine({"snip": [1, 1, 2], "synflow": [NAN, 5, NAN]}, ["snip", "synflow"])
    np.testing.assert_allclose(ties, [0.25, (0.25 + 0.5) / 2, 1.0])  # a lone value ranks ½


def test_ensemble_registry_and_errors():
    assert set(list_ensembles()) >= {"vote", "rank_average"}
    vote = get_ensemble("vote")
    assert vote.default_members == ("synflow", "jacob_cov", "snip") and vote.display_name and vote.description
    # a member may be found under its NAS-Bench-Suite-Zero column, or named by it
    table = {"synflow": [1.0, 2.0], "jacov": [1.0, 2.0], "snip": [1.0, 2.0]}
    np.testing.assert_array_equal(vote.combine(table), [0, 1])
    np.testing.assert_array_equal(vote.combine(table, ["jacov"]), [0, 1])
    with pytest.raises(ValueError, match="unknown ensemble member"):
        vote.combine(table, ["synflow", "nonsense"])
    with pytest.raises(ValueError, match="no column"):
        vote.combine(table, ["synflow", "naswot"])
    with pytest.raises(ValueError, match="differ in length"):
        vote.combine({"synflow": [1, 2], "snip": [1, 2, 3]}, ["synflow", "snip"])
    with pytest.raises(ValueError, match="at least one"):
        vote.combine(table, [])
    with pytest.raises(ValueError, match="unknown ensemble"):
        get_ensemble("borda")
