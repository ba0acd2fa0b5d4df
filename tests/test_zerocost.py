"""The Abdelfattah / NAS-Bench-Suite-Zero proxies: closed forms on constructed networks,
shared passes that change nothing, and rank agreement with the reference columns."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import require_file
from swap_core.proxies import ProxyError, get_proxy, list_proxies, score
from swap_core.proxies._shared import SharedPasses, compute_loss_gradients
from swap_core.proxies.zerocost import epe_nas_score, jacob_cov_score, synflow_sum

GRADIENT_PROXIES = ("grad_norm", "snip", "plain", "fisher", "grasp")
SUITE = ("synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "epe_nas", "l2_norm", "plain")


def linear_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=False))


def batch(n: int = 8, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 2, 2, generator=g), torch.randint(0, 5, (n,), generator=g)


def conv_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5),
    )


def test_registry_metadata():
    names = set(list_proxies())
    assert set(SUITE) <= names
    for name in SUITE:
        info = get_proxy(name)
        assert info.display_name and info.description and info.paper and info.year, name
    assert get_proxy("jacob_cov").reference_column == "jacov"
    assert get_proxy("naswot").reference_column == "nwot"
    assert get_proxy("synflow").needs_double and not get_proxy("synflow").needs_labels
    assert all(get_proxy(n).needs_labels for n in GRADIENT_PROXIES)
    assert all(get_proxy(n).accepts_shared for n in (*GRADIENT_PROXIES, "jacob_cov", "epe_nas"))


def test_loss_gradient_proxies_match_the_closed_form_of_a_linear_classifier():
    """For logits = W x and mean cross-entropy, ∂L/∂W = (softmax − onehot)ᵀ X / N."""
    model, (x, y) = linear_net(), batch()
    w = model[1].weight.detach().clone()
    flat = x.flatten(1)
    dlogits = (torch.softmax(flat @ w.T, dim=1) - F.one_hot(y, 5).float()) / len(x)
    grad = dlogits.T @ flat
    got = score(model, ["grad_norm", "snip", "plain", "fisher"], x, y, batch_size=len(x))
    assert got["grad_norm"] == pytest.approx(float(grad.norm()), rel=1e-5)
    assert got["snip"] == pytest.approx(float((w * grad).abs().sum()), rel=1e-5)
    assert got["plain"] == pytest.approx(float((w * grad).sum()), rel=1e-4, abs=1e-7)
    # Fisher: activation a = logits, ∂L/∂a = dlogits; per channel ½ mean_n (a ∂L/∂a)², times 12 weights each.
    a = flat @ w.T
    expected = 0.5 * ((a * dlogits) ** 2).mean(0).sum() * 12
    assert got["fisher"] == pytest.approx(float(expected), rel=1e-5)


def test_grasp_matches_an_explicit_hessian():
    model, (x, y) = linear_net(), batch()
    w0 = model[1].weight.detach().clone()

    def loss_of(flat_w: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(x.flatten(1) @ flat_w.view(5, 12).T, y)

    flat = w0.flatten().requires_grad_(True)
    g = torch.autograd.grad(loss_of(flat), flat)[0]
    hessian = torch.autograd.functional.hessian(loss_of, w0.flatten())
    expected = float(-(w0.flatten() * (hessian @ g)).sum())
    assert score(model, ["grasp"], x, y, batch_size=len(x))["grasp"] == pytest.approx(expected, rel=1e-4)


def test_synflow_of_a_linear_chain_is_layers_times_the_path_sum():
    """With |W| and an all-ones input, R = 1ᵀ|W2||W1|1, and each layer's Σ|W ⊙ ∂R/∂W| equals R
    (synaptic flow is conserved layer by layer), so synflow = log(1 + 2R). BatchNorm is off."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7, bias=False), nn.BatchNorm1d(7), nn.ReLU(),
                          nn.Linear(7, 5, bias=False))
    w1, w2 = model[1].weight.detach().abs().double(), model[4].weight.detach().abs().double()
    r = float(torch.ones(5, dtype=torch.float64) @ w2 @ w1 @ torch.ones(12, dtype=torch.float64))
    x, _ = batch()
    assert synflow_sum(model, x) == pytest.approx(2 * r, rel=1e-10)
    assert score(model, ["synflow"], x)["synflow"] == pytest.approx(math.log1p(2 * r), rel=1e-10)
    assert model[1].weight.min() < 0  # the caller's network keeps its signs
    dead = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=False))
    nn.init.zeros_(dead[1].weight)
    assert score(dead, ["synflow"], x)["synflow"] == 0.0


def test_l2_norm_sums_layer_norms():
    model = conv_net()
    expected = sum(float(m.weight.detach().norm()) for m in model if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert score(model, ["l2_norm"], torch.zeros(1, 3, 4, 4))["l2_norm"] == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_and_epe_nas_formulas():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(6, 20))
    corr = np.corrcoef(jac)
    eig = np.linalg.eig(corr)[0].real  # NASLib's np.linalg.eig
    expected = -np.sum(np.log(eig + 1e-5) + 1.0 / (eig + 1e-5))
    assert jacob_cov_score(jac) == pytest.approx(expected, rel=1e-8)

    labels = np.array([0, 1, 0, 1, 1, 2])
    s0 = np.sum(np.log(np.abs(np.corrcoef(jac[[0, 2]])) + 1e-5))
    s1 = np.sum(np.log(np.abs(np.corrcoef(jac[[1, 3, 4]])) + 1e-5))
    s2 = math.log(1 + 1e-5)  # a class with one sample: its 1×1 correlation matrix is [1]
    assert epe_nas_score(jac, labels, 10) == pytest.approx(abs(s0) + abs(s1) + abs(s2), rel=1e-10)
    # More than 100 outputs: each s_c divided by its size, then mean pairwise |s_c − s_c'|.
    t = np.array([s0 / 2, s1 / 3, s2])
    assert epe_nas_score(jac, labels, 120) == pytest.approx(np.abs(t[:, None] - t[None]).sum() / 3, rel=1e-10)


def test_jacobian_proxies_raise_for_a_network_that_ignores_its_input():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    nn.init.zeros_(model[1].weight)
    x, y = batch()
    with pytest.raises(ProxyError, match="does not depend on the input"):
        score(model, ["jacob_cov"], x, y, batch_size=len(x))
    result = score(model, ["jacob_cov", "epe_nas", "l2_norm"], x, y, batch_size=len(x), on_error="nan")
    assert math.isnan(result["jacob_cov"]) and math.isnan(result["epe_nas"]) and result["l2_norm"] == 0.0
    assert set(result.errors) == {"jacob_cov", "epe_nas"}


class ConstantHead(nn.Module):
    """Ignores its input entirely (a cell whose every path to the output is `none`)."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(5))

    def forward(self, x):
        return self.bias.expand(len(x), 5) * 0


class PixelNet(nn.Module):
    """Outputs a map per sample (like TransNAS-Bench-101's autoencoder), not class scores."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def test_jacobian_proxies_are_undefined_when_no_path_reaches_the_output():
    x, y = batch()
    result = score(ConstantHead(), ["jacob_cov", "epe_nas"], x, y, batch_size=len(x), on_error="nan")
    assert math.isnan(result["jacob_cov"]) and set(result.errors) == {"jacob_cov", "epe_nas"}


def test_loss_based_proxies_are_undefined_for_a_pixel_output():
    x = torch.randn(4, 3, 8, 8)
    y = torch.randint(0, 3, (4,))
    result = score(PixelNet(), ["grad_norm", "snip", "grasp", "synflow"], x, y, batch_size=4, on_error="nan")
    assert {"grad_norm", "snip", "grasp"} == set(result.errors) and "class output" in result.errors["snip"]
    assert math.isfinite(result["synflow"])  # needs no labels: still defined
    few_outputs = score(nn.Sequential(nn.Flatten(), nn.Linear(3 * 64, 3)), ["snip"], x, torch.tensor([0, 1, 2, 3]),
                        batch_size=4, on_error="nan")
    assert "labels go up to 3" in few_outputs.errors["snip"]


def test_shared_passes_give_the_same_scores_and_leave_the_network_unchanged():
    model, x = conv_net(), torch.randn(10, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    y = torch.arange(10) % 5
    state = {k: v.clone() for k, v in model.state_dict().items()}
    together = score(model, SUITE, x, y, batch_size=10)
    alone = {name: score(model, [name], x, y, batch_size=10)[name] for name in SUITE}
    for name in SUITE:
        assert together[name] == pytest.approx(alone[name], rel=1e-6, abs=1e-9), name
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(p.grad is None for p in model.parameters())


def test_loss_gradients_restore_batchnorm_statistics():
    model, x = conv_net(), torch.randn(6, 3, 5, 5)
    before = model[1].running_mean.clone()
    result = compute_loss_gradients(model, x, torch.arange(6) % 5)
    assert torch.equal(model[1].running_mean, before)
    assert len(result.grads) == 3 and all(g is not None for g in result.grads)
    passes = SharedPasses(model, x, None)
    with pytest.raises(ValueError, match="labels"):
        passes.loss_gradients()


def test_labels_are_required_by_loss_based_proxies():
    with pytest.raises(ValueError, match="labels"):
        score(conv_net(), ["snip"], torch.randn(4, 3, 5, 5), None, batch_size=4)


def test_rank_agreement_with_nas_bench_suite_zero(n_rows: int = 24):
    """Scores of 24 NB201 rows of zc/nb201_cifar10.csv with the benchmark network and a CIFAR-10
    batch of 32 (NAS-Bench-Suite-Zero's batch): the near-deterministic proxies must rank the
    rows as the reference columns do."""
    import pandas as pd

    from swap_core.data import load_batch
    from swap_core.spaces import get_space

    table = pd.read_csv(require_file("zc/nb201_cifar10.csv")).iloc[:n_rows]
    space = get_space("nb201")
    config = space.config("benchmark")
    data = load_batch(32, 0, source="cifar10-sample")
    names = ["synflow", "l2_norm", "snip", "grad_norm"]
    rows = []
    for arch in table["arch"]:
        torch.manual_seed(0)
        model = space.build(space.from_str(arch), config)
        rows.append(score(model, names, data.images, data.labels, batch_size=32))
    from swap_core.stats import rank_correlation

    floors = {"synflow": 0.95, "l2_norm": 0.9, "snip": 0.8, "grad_norm": 0.8}
    for name, floor in floors.items():
        rho = rank_correlation([r[name] for r in rows], table[name])["spearman"]
        assert rho >= floor, (name, rho)
