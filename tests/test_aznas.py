"""AZ-NAS (swap_core/proxies/aznas.py and the `az_nas` / `log_rank_sum` ensembles): each component
on a tiny network against a NumPy re-computation, the aggregation rule on a hand-made table, the
feature maps it reads in every space, and the cases where a component is undefined."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from swap_core.ensembles import get_ensemble, list_ensembles, log_rank_sum
from swap_core.netstats import count_flops
from swap_core.proxies import ProxyError, get_proxy, score
from swap_core.proxies import aznas
from swap_core.spaces import get_space

COMPONENTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
SEED = 3


class Chain(nn.Module):
    """stem: 1x1 conv 3 -> 3; cells: ReLU + 1x1 conv 3 -> 3 (stride 1), ReLU + 1x1 conv 3 -> 3 (stride 2) (full-rank maps)."""

    def __init__(self, cells=None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 3, 1, bias=False)
        self.cells = nn.ModuleList(cells if cells is not None else [
            nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, bias=False)),
            nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, stride=2, bias=False)),
        ])

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return x.mean(dim=(2, 3))


class Const(nn.Module):
    """A cell whose output does not depend on its input (constant, no graph)."""

    def forward(self, x):
        return torch.ones(x.shape[0], 3, x.shape[2], x.shape[3])


def inputs(n=8, size=4):
    return torch.zeros(n, 3, size, size)


def draws(net, shape):
    """The proxy's random numbers, in its documented order: kaiming-normal (fan-in) weights of
    the convs in module order, the N(0, 1) input, then one sign map per block from the last back."""
    rng = torch.Generator().manual_seed(SEED)
    weights = []
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            w = torch.empty_like(module.weight)
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=rng)
            weights.append(w[:, :, 0, 0].double().numpy())
    x = torch.randn(shape, generator=rng).double().numpy()
    return weights, x, rng


def conv1x1(w, x, stride=1):
    return np.einsum("oc,bchw->bohw", w, x[:, :, ::stride, ::stride])


def entropy(f):
    rows = f.transpose(0, 2, 3, 1).reshape(-1, f.shape[1])
    rows = rows - rows.mean(axis=0)
    lam = np.linalg.eigvalsh(rows.T @ rows / len(rows))
    p = lam / lam.sum()
    return float(np.sum(-p * np.log(p + 1e-8)))


def hand_features(net, shape):
    (w0, w1, w2), x, rng = draws(net, shape)
    f0 = conv1x1(w0, x)
    f1 = conv1x1(w1, np.maximum(f0, 0))
    f2 = conv1x1(w2, np.maximum(f1, 0), stride=2)
    return (w1, w2), (f0, f1, f2), rng


def component(name, net, batch, **kw):
    return get_proxy(name).fn(net, batch, None, generator=torch.Generator().manual_seed(SEED), **kw)


def test_expressivity_and_progressivity_match_a_numpy_recomputation():
    net, batch = Chain(), inputs()
    _, features, _ = hand_features(net, batch.shape)
    h = [entropy(f) for f in features]
    assert component("az_expressivity", net, batch) == pytest.approx(sum(h), rel=1e-4)
    assert component("az_progressivity", net, batch) == pytest.approx(min(h[1] - h[0], h[2] - h[1]), abs=1e-4)


def test_trainability_matches_a_numpy_recomputation_with_the_stride_two_pixel_unshuffle():
    net, batch = Chain(), inputs()
    (w1, w2), (f0, f1, f2), rng = hand_features(net, batch.shape)
    g2 = ((torch.bernoulli(torch.full(f2.shape, 0.5), generator=rng) - 0.5) * 2).double().numpy()  # last block first
    g1 = ((torch.bernoulli(torch.full(f1.shape, 0.5), generator=rng) - 0.5) * 2).double().numpy()

    def score_of(g_in, g_out):
        b, c, h, w = g_out.shape
        s = g_in.shape[2] // h
        g_in = g_in.reshape(b, -1, h, s, w, s).transpose(0, 1, 3, 5, 2, 4).reshape(b, -1, h, w)
        a = g_in.transpose(0, 2, 3, 1).reshape(b * h * w, -1)
        o = g_out.transpose(0, 2, 3, 1).reshape(b * h * w, -1)
        sigma = np.linalg.svd(a.T @ o / (b * h * w), compute_uv=False).max()
        return -sigma - 1 / (sigma + 1e-6) + 2

    # block 2: f2 = W2 · relu(f1) at every other pixel; block 1: f1 = W1 · relu(f0)
    back2 = np.zeros_like(f1)
    back2[:, :, ::2, ::2] = np.einsum("oc,bohw->bchw", w2, g2)
    back2 *= f1 > 0
    back1 = np.einsum("oc,bohw->bchw", w1, g1) * (f0 > 0)
    expected = (score_of(back1, g1) + score_of(back2, g2)) / 2
    assert component("az_trainability", net, batch) == pytest.approx(expected, rel=1e-4)


def test_complexity_is_the_flop_count():
    space = get_space("nb201")
    model = space.build(space.from_str(space.example), space.config("teaching"))
    assert component_free("az_complexity", model) == pytest.approx(count_flops(model, 32))


def component_free(name, model):
    return get_proxy(name).fn(model, torch.zeros(1, 3, 32, 32), None)


def test_all_four_come_from_one_pass_and_leave_the_network_and_global_rng_alone(monkeypatch):
    calls = []
    real = aznas.compute_components
    monkeypatch.setattr(aznas, "compute_components", lambda *a: calls.append(1) or real(*a))
    net = Chain()
    nn.init.constant_(net.stem.weight, 0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = torch.random.get_rng_state()
    result = score(net, COMPONENTS, inputs(), batch_size=8, seed=SEED)
    assert len(calls) == 1
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert result["az_expressivity"] == pytest.approx(component("az_expressivity", Chain(), inputs()))
    again = score(net, list(reversed(COMPONENTS)), inputs(), batch_size=8, seed=SEED)  # order does not matter
    assert dict(again) == pytest.approx(dict(result))


def test_batchnorm_uses_batch_statistics_whatever_mode_the_network_is_in():
    net = Chain([nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, bias=False), nn.BatchNorm2d(3))])
    net.cells[0][2].running_var.fill_(100.0)  # would change everything in eval mode
    train = component("az_expressivity", net.train(), inputs())
    assert component("az_expressivity", net.eval(), inputs()) == train
    assert not net.training and float(net.cells[0][2].running_var[0]) == 100.0


def test_the_feature_maps_of_every_space_follow_the_documented_rule():
    def names(space_name, preset="teaching"):
        space = get_space(space_name)
        return [n for n, _ in aznas.feature_chain(space.build(space.from_str(space.example), space.config(preset)))[1]]

    assert names("nb201", "benchmark") == ["stem"] + [f"cells.{i}" for i in range(17)]  # the official 18
    assert names("darts") == ["stem"] + [f"cells.{i}" for i in range(len(names("darts")) - 1)]
    nb101 = names("nb101")  # teaching: 3 stacks x 1 cell, the two max-pools skipped
    assert nb101 == ["stem", "layers.0", "layers.2", "layers.4"]
    for space_name in ("tnb101_micro", "tnb101_macro"):
        chain = names(space_name)
        assert chain[0] == "encoder.stem" and len(chain) > 2
        assert all(n.startswith("encoder.stages.") for n in chain[1:])


@pytest.mark.parametrize("space_name", ["nb201", "darts", "nb101", "tnb101_micro", "tnb101_macro"])
def test_every_space_gets_finite_components_on_its_example(space_name):
    space = get_space(space_name)
    model = space.build(space.from_str(space.example), space.config("teaching"))
    result = score(model, COMPONENTS, torch.zeros(8, 3, 32, 32), batch_size=8, on_error="nan")
    assert all(math.isfinite(v) for v in result.values()), result.errors


def test_identity_block_makes_trainability_undefined_but_not_expressivity():
    net, batch = Chain([nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, bias=False)), nn.Identity()]), inputs()
    with pytest.raises(ProxyError, match="identity block"):
        component("az_trainability", net, batch)
    assert math.isfinite(component("az_expressivity", net, batch))
    parts = aznas.compute_components(net, batch, torch.Generator().manual_seed(SEED))
    assert parts.entropies[2] == parts.entropies[1]  # the identity adds nothing
    assert component("az_progressivity", net, batch) == min(parts.entropies[1] - parts.entropies[0], 0.0)


def test_nb201_identity_cell_is_undefined_through_score():
    space = get_space("nb201")
    arch = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # node 3 = input
    model = space.build(space.from_str(arch), space.config("teaching"))
    result = score(model, ["az_trainability"], torch.zeros(8, 3, 32, 32), batch_size=8, on_error="nan")
    assert math.isnan(result["az_trainability"]) and "identity" in result.errors["az_trainability"]


def test_a_constant_feature_map_makes_expressivity_undefined():
    # zeroed weights would be re-drawn by the proxy: a weightless block that outputs 0 instead
    net = Chain([nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, bias=False)), Mul0()])
    for name in ("az_expressivity", "az_progressivity"):
        with pytest.raises(ProxyError, match="constant"):
            component(name, net, inputs())


class Mul0(nn.Module):
    def forward(self, x):
        return x * 0.0


def test_one_feature_map_or_no_gradient_path_is_undefined():
    single = Chain([])
    assert math.isfinite(component("az_expressivity", single, inputs()))
    for name in ("az_progressivity", "az_trainability"):
        with pytest.raises(ProxyError, match="only 1"):
            component(name, single, inputs())
    with pytest.raises(ProxyError, match="gradient"):
        component("az_trainability", Chain([nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1, bias=False)), Const()]), inputs())


def test_a_network_without_a_chain_of_cells_says_why():
    with pytest.raises(ProxyError, match="chain of cells"):
        component("az_expressivity", nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten()), inputs())


def test_odd_sizes_across_a_stride_two_block_are_undefined_for_trainability():
    with pytest.raises(ProxyError, match="integer"):
        component("az_trainability", Chain(), inputs(size=5))  # 5x5 -> 3x3


# --- the aggregation rule -----------------------------------------------------------------------

def test_log_rank_sum_on_a_hand_made_table():
    # a: ranks 1, 2, 3 of N = 3; b: 3 (best), missing (ranked last: 1), 1 -> present ones move up: 3, 1, 2
    table = np.array([[1.0, 2.0, 3.0], [3.0, np.nan, 1.0]])
    expected = [math.log(1 / 3) + math.log(3 / 3), math.log(2 / 3) + math.log(1 / 3), math.log(3 / 3) + math.log(2 / 3)]
    np.testing.assert_allclose(log_rank_sum(table), expected)


def test_log_rank_sum_ties_share_their_average_rank_and_all_missing_is_nan():
    table = np.array([[5.0, 5.0, 1.0, np.nan], [2.0, 1.0, 3.0, np.nan]])
    # row 0: 5, 5 share ranks 2 and 3 -> 2.5; 1 -> 1.  N = 3 (the last column has no score at all)
    expected = [math.log(2.5 / 3) + math.log(2 / 3), math.log(2.5 / 3) + math.log(1 / 3),
                math.log(1 / 3) + math.log(3 / 3), math.nan]
    np.testing.assert_allclose(log_rank_sum(table), expected)
    two_missing = log_rank_sum(np.array([[np.nan, np.nan, 7.0], [1.0, 2.0, 3.0]]))  # the missing share ranks 1, 2
    np.testing.assert_allclose(two_missing, [math.log(1.5 / 3) + math.log(1 / 3), math.log(1.5 / 3) + math.log(2 / 3), 0.0])


def test_az_nas_ensemble_by_name_with_its_four_components_and_lower_is_better_members():
    assert {"az_nas", "log_rank_sum"} <= set(list_ensembles())
    ensemble = get_ensemble("az_nas")
    assert ensemble.default_members == COMPONENTS and ensemble.display_name == "AZ-NAS"
    table = {"az_expressivity": [1, 3, 2], "az_progressivity": [0.1, 0.3, 0.2],
             "az_trainability": [-2, -1, np.nan], "az_complexity": [10, 30, 20]}
    # ranks (N = 3): arch 0 -> 1, 1, 2, 1 (the missing trainability of arch 2 ranks below it);
    # arch 1 -> 3 on every member; arch 2 -> 2, 2, 1, 2
    np.testing.assert_allclose(ensemble.combine(table),
                               [3 * math.log(1 / 3) + math.log(2 / 3), 0.0, 3 * math.log(2 / 3) + math.log(1 / 3)])
    # a lower-is-better member is reversed before ranking (ntk_cond: lower is better)
    lower = get_ensemble("log_rank_sum").combine({"ntk_cond": [1.0, 2.0], "flops": [1.0, 2.0]}, ["ntk_cond", "flops"])
    np.testing.assert_allclose(lower, [0.0 + math.log(1 / 2), math.log(1 / 2) + 0.0])
    assert get_ensemble("log_rank_sum").rule is ensemble.rule
