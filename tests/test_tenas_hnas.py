"""TE-NAS (ntk_cond, linear_regions) and HNAS (m_trace, hnas_metrics, gradient_metric_relations)
against values computed by hand on networks whose gradients and activation codes are known."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from swap_core.patterns import count_equal_classes, count_standard_patterns, naswot_kernel, pack_sample_bits, train_mode
from swap_core.proxies import ProxyError, SharedPasses, get_proxy, score
from swap_core.proxies.hnas import gradient_metric_relations, hnas_metrics, m_trace, true_class_logit
from swap_core.proxies.tenas import (
    linear_regions, logit_sum, ntk_cond, per_sample_gradients, random_crops,
    weight_parameters,
)

# Inputs of a bias-free linear map W (c × 2): the gradient of sample n's logit sum is 1_c ⊗ x_n, so the
# NTK is c · X Xᵀ = c · [[1, 1], [1, 2]], eigenvalues c(3 ± √5)/2; the gradient of the logit of class y
# is e_y ⊗ x_n, so HNAS's NTK is [y_n = y_m] x_n·x_m.
X = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
KAPPA_X = (3 + math.sqrt(5)) / (3 - math.sqrt(5))


def linear(classes: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(2, classes, bias=False)


def convnet(bn: bool = True) -> nn.Module:
    torch.manual_seed(0)
    norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), norm(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, bias=False), norm(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5),
    )


def test_ntk_of_a_linear_map_by_hand():
    rows = per_sample_gradients(linear(3), X, logit_sum)
    assert torch.allclose(rows, torch.stack([torch.ones(3, 1) * x for x in X]).reshape(2, -1))
    assert math.isclose(ntk_cond(linear(3), X), KAPPA_X, rel_tol=1e-9)
    assert math.isclose(ntk_cond(linear(7), X), KAPPA_X, rel_tol=1e-9)  # c scales both eigenvalues


def test_m_trace_and_kappa_of_a_linear_map_by_hand():
    different, same = torch.tensor([0, 2]), torch.tensor([1, 1])
    # trace = |x_1|² + |x_2|² = 3 whatever the labels; M = sqrt(3 / 2)
    assert math.isclose(m_trace(linear(), X, different), math.sqrt(1.5), rel_tol=1e-9)
    metrics = hnas_metrics(linear(), X, different)
    assert math.isclose(metrics["m_trace"], math.sqrt(1.5), rel_tol=1e-9)
    assert math.isclose(metrics["kappa"], 2.0, rel_tol=1e-9)  # NTK diag(1, 2)
    assert math.isclose(hnas_metrics(linear(), X, same)["kappa"], KAPPA_X, rel_tol=1e-9)
    rows = per_sample_gradients(linear(), X, true_class_logit, different)
    assert torch.equal(rows.reshape(2, 3, 2)[1, 2], X[1]) and rows.reshape(2, 3, 2)[1, :2].abs().sum() == 0


def test_batched_and_loop_agree_with_batchnorm_in_training_mode():
    model, inputs = convnet(), torch.randn(6, 3, 5, 5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with train_mode(model):
        loop = per_sample_gradients(model, inputs, logit_sum, method="loop")
        batched = per_sample_gradients(model, inputs, logit_sum, method="batched", chunk_size=4)
        # row n is the gradient of sample n's logits in the batch graph (BatchNorm couples samples)
        third = torch.autograd.grad(model(inputs)[2].sum(), list(model.parameters()))
    assert torch.allclose(loop, batched, rtol=1e-5, atol=1e-6)
    assert torch.allclose(loop[2], torch.cat([g.reshape(-1) for g in third]), rtol=1e-5, atol=1e-6)
    assert loop.shape == (6, sum(p.numel() for p in model.parameters()))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="method"):
        per_sample_gradients(model, inputs, logit_sum, method="vmap")


def test_tenas_differentiates_only_weights_and_model_is_restored():
    model = convnet().eval()
    assert len(weight_parameters(model)) == 5  # 2 conv, 2 BatchNorm and 1 linear weight; no bias
    kappa = ntk_cond(model, torch.randn(8, 3, 5, 5))
    assert math.isfinite(kappa) and kappa >= 1 and not model.training


def test_singular_ntk_raises_proxy_error():
    inputs = torch.randn(4, 3, 5, 5)
    inputs[3] = inputs[1]  # equal inputs give equal gradient rows when no BatchNorm couples them
    with pytest.raises(ProxyError, match="singular"):
        ntk_cond(convnet(bn=False), inputs)
    with pytest.raises(ProxyError, match="singular"):
        score(convnet(bn=False), ["ntk_cond"], inputs, batch_size=4)
    targets = torch.tensor([0, 1, 2, 1])
    metrics = hnas_metrics(convnet(bn=False), inputs, targets)  # M stays defined, κ is infinite
    assert metrics["kappa"] == math.inf and metrics["m_trace"] > 0


def test_linear_regions_of_a_sign_network_by_hand():
    # units = 2 channels (w = +1, −1) × 2 pixels: the code is the pair of pixel signs (zero: both off)
    conv = nn.Conv2d(1, 2, 1, bias=False)
    conv.weight.data = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(4, 3), nn.ReLU())  # last ReLU is 2-D
    pixels = [(1, 2), (3, 1), (1, -1), (-2, 5), (-1, -1), (-3, -7), (0, 4), (2, 2)]
    inputs = torch.tensor(pixels, dtype=torch.float32).view(-1, 1, 1, 2)
    # (+,+) ×3, (+,−), (−,+), (−,−) ×2, (0,+): 5 regions; the 2-D ReLU is not hooked, as in TE-NAS
    assert count_standard_patterns(model, inputs, spatial_only=True) == 5
    assert linear_regions(model, inputs, crop=None) == 5.0
    assert linear_regions(model, inputs[:1], crop=None) == 1.0
    assert count_standard_patterns(nn.Sequential(nn.Flatten(), nn.Linear(2, 2)), inputs, spatial_only=True) == 1  # no ReLU: linear


def test_linear_regions_match_the_kernel_count_and_crops():
    model = convnet()
    inputs = torch.randint(-1, 2, (40, 3, 6, 6), generator=torch.Generator().manual_seed(0)).float()
    pixels = inputs[:, :, :1, :1]  # 27 possible pixels among 40 samples: some codes must repeat
    with train_mode(model):
        kernel = naswot_kernel(model, pixels, spatial_only=True)  # the N × N kernel's count
        expected = count_equal_classes(kernel, float(kernel[0, 0]))
        assert count_standard_patterns(model, pixels, spatial_only=True) == expected < 27
    torch.manual_seed(3)
    crops = random_crops(inputs, 4)
    assert crops.shape == (40, 3, 4, 4)
    assert any(torch.equal(crops[0], inputs[0, :, r:r + 4, c:c + 4]) for r in range(3) for c in range(3))
    torch.manual_seed(3)
    with train_mode(model):
        assert linear_regions(model, inputs) == count_standard_patterns(model, crops, spatial_only=True)
    with pytest.raises(ValueError, match="crop"):
        random_crops(inputs, 7)


def test_sample_codes_pack_distinguishes_every_bit():
    active = torch.zeros(4, 70, dtype=torch.bool)
    active[1, 63] = active[2, 69] = active[3, 0] = True
    words = pack_sample_bits(active.T)  # one row of words per sample, as count_standard_patterns packs
    assert words.shape == (4, 2) and len(torch.unique(words, dim=0)) == 4
    same = pack_sample_bits(active[[1, 1]].T)
    assert torch.equal(same[0], same[1])


def test_registry_metadata():
    cond, regions, trace = get_proxy("ntk_cond"), get_proxy("linear_regions"), get_proxy("m_trace")
    for info in (cond, regions, trace):
        assert info.display_name and info.description and info.paper and not info.modifies_model
    assert cond.year == regions.year == 2021 and trace.year == 2022
    assert not cond.higher_is_better and regions.higher_is_better and trace.higher_is_better
    assert cond.needs_grad and trace.needs_grad and not regions.needs_grad
    assert trace.needs_labels and not cond.needs_labels and not regions.needs_labels
    assert (cond.default_batch_size, trace.default_batch_size, regions.default_batch_size) == (72, 64, 3000)
    assert cond.accepts_shared and trace.accepts_shared


def test_score_gives_the_direct_values_and_shares_the_ntk():
    model, inputs, targets = convnet(), torch.randn(8, 3, 8, 8), torch.randint(0, 5, (8,))
    names = ["ntk_cond", "m_trace", "linear_regions"]
    result = score(model, names, inputs, targets, batch_size=8, seed=5)
    assert result == score(model, names[::-1], inputs, targets, batch_size=8, seed=5)
    assert result["ntk_cond"] == ntk_cond(model, inputs)
    assert result["m_trace"] == m_trace(model, inputs, targets)
    torch.manual_seed(5)
    assert result["linear_regions"] == linear_regions(model, inputs)
    forwards = []
    model.register_forward_hook(lambda *_: forwards.append(1))
    shared = SharedPasses(model, inputs, targets)
    value = m_trace(model, inputs, targets, shared=shared)
    assert hnas_metrics(model, inputs, targets, shared)["m_trace"] == value and len(forwards) == 1


def test_gradient_metric_relations_by_hand():
    nan = float("nan")
    table = {"m_trace": [1, 2, 3, 4, 5], "grad_norm": [2, 4, 6, 8, 10], "snip": [5, 4, 3, 2, 1],
             "grasp": [1, 3, 2, 5, nan], "zen": [1, 1, 1, 1, 1]}
    relations = gradient_metric_relations(table)
    assert set(relations) == {"grad_norm", "snip", "grasp"}  # zen is not one of HNAS's metrics
    assert relations["grad_norm"]["spearman"] == pytest.approx(1) and relations["grad_norm"]["n"] == 5
    assert relations["snip"]["spearman"] == pytest.approx(-1)
    # ranks (1, 2, 3, 4) vs (1, 3, 2, 4): ρ = 1 − 6·2 / (4·15) = 0.8 over the 4 finite pairs
    assert relations["grasp"]["spearman"] == pytest.approx(0.8) and relations["grasp"]["n"] == 4
    assert set(gradient_metric_relations({"m_trace": [1, 2, 3], "snip": [1, 2, 3]})) == {"snip"}
    with pytest.raises(ValueError, match="m_trace"):
        gradient_metric_relations({"snip": [1, 2, 3]})
