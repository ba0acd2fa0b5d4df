"""MeCo, MeCo_opt and ZiCo against hand-written re-computations on tiny networks, their
invariances, and the cases where they are undefined."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from swap_core.proxies import ProxyError, get_proxy, score
from swap_core.proxies.meco import channel_correlation, meco_layer_values, meco_opt_score, meco_score
from swap_core.proxies.zico import mini_batch_gradients, zico_from_gradients, zico_score


def np_min_eig(feature: np.ndarray) -> float:
    """λ_min of np.corrcoef of the rows, NaN entries set to 0 (the official rule)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.atleast_2d(np.corrcoef(feature.astype(np.float64)))
    corr[~np.isfinite(corr)] = 0.0
    return float(np.linalg.eigvalsh(corr)[0])


def tiny_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 1))


def images(n: int, seed: int = 1, size: int = 5) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def maps_by_hand(model: nn.Sequential, x: torch.Tensor) -> list[np.ndarray]:
    """The per-module outputs of the first sample, in hook order: conv1, relu, conv2, and the
    Sequential itself (= conv2's output again)."""
    conv1, _, conv2 = model
    with torch.no_grad():
        a = F.conv2d(x[:1], conv1.weight, conv1.bias, padding=1)
        r = a.clamp_min(0)
        c = F.conv2d(r, conv2.weight, conv2.bias)
    return [t[0].reshape(t.shape[1], -1).numpy() for t in (a, r, c, c)]


# --- MeCo ------------------------------------------------------------------------------------

def test_channel_correlation_matches_numpy_and_zeroes_constant_channels():
    feature = torch.randn(5, 30, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(channel_correlation(feature), torch.from_numpy(np.corrcoef(feature.double().numpy())))
    feature[2] = 3.0  # a constant channel: its row and column are NaN in corrcoef, 0 here
    corr = channel_correlation(feature)
    assert torch.equal(corr[2], torch.zeros(5)) and torch.equal(corr[:, 2], torch.zeros(5))
    assert float(torch.linalg.eigvalsh(corr)[0]) == pytest.approx(0.0, abs=1e-12)


def test_meco_sums_min_eigenvalues_over_every_module_call():
    model, x = tiny_cnn(), images(3)
    expected = sum(np_min_eig(f) for f in maps_by_hand(model, x))
    assert meco_layer_values(model, x) == pytest.approx([np_min_eig(f) for f in maps_by_hand(model, x)], abs=1e-6)
    assert meco_score(model, x) == pytest.approx(expected, abs=1e-6)
    assert score(model, ["meco"], x)["meco"] == pytest.approx(expected, abs=1e-6)


def test_meco_counts_a_dead_channel_as_eigenvalue_zero():
    model, x = tiny_cnn(), images(1)
    with torch.no_grad():
        model[0].weight[1].zero_()
        model[0].bias[1] = -1.0  # channel 1 is constant -1 after conv1 and constant 0 after the ReLU
    values = meco_layer_values(model, x)
    assert values[0] == pytest.approx(0.0, abs=1e-12) and values[1] == pytest.approx(0.0, abs=1e-12)
    assert values == pytest.approx([np_min_eig(f) for f in maps_by_hand(model, x)], abs=1e-6)


def test_meco_uses_only_the_first_sample_of_the_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3))
    x = images(6, size=8)
    alone = meco_score(model, x[:1])
    assert meco_score(model, x) == alone  # BatchNorm in training mode sees that one sample only
    assert meco_score(model, torch.cat([x[:1], x[3:]])) == alone
    assert meco_score(model, x[1:]) != pytest.approx(alone)
    # and the network is left as it was: eval mode kept, running statistics untouched
    model.eval()
    before = copy.deepcopy(model.state_dict())
    meco_score(model, x)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_meco_ignores_vector_outputs_and_is_scale_invariant_per_channel():
    torch.manual_seed(0)
    body = nn.Conv2d(3, 5, 3, padding=1)
    model = nn.Sequential(body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 7))
    x = images(2)
    # only the conv's map has two or more positions; the pooled map, the vector outputs and the
    # whole network's logits add 0 (a single observation per channel)
    with torch.no_grad():
        conv = body(x[:1])[0].reshape(5, -1).numpy()
    assert meco_score(model, x) == pytest.approx(np_min_eig(conv), abs=1e-6)
    with torch.no_grad():  # a positive or negative scale per output channel changes no correlation
        body.weight.mul_(torch.tensor([2.0, -3.0, 0.5, 1.0, 7.0]).view(5, 1, 1, 1))
        body.bias.mul_(torch.tensor([2.0, -3.0, 0.5, 1.0, 7.0]))
    assert meco_score(model, x) == pytest.approx(np_min_eig(conv), abs=1e-5)


def test_meco_opt_samples_channels_with_the_generator():
    model, x = tiny_cnn(), images(2)
    value = meco_opt_score(model, x, channels=3, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    expected = 0.0
    for feature in maps_by_hand(model, x):
        c = feature.shape[0]
        picked = torch.randperm(c, generator=g)[:3].numpy()
        expected += np_min_eig(feature[picked]) * c / 3
    assert value == pytest.approx(expected, abs=1e-6)
    again = meco_opt_score(model, x, channels=3, generator=torch.Generator().manual_seed(5))
    assert again == value
    # the registry hands it a generator seeded by `seed`: same seed, same value
    assert score(model, ["meco_opt"], x, seed=3)["meco_opt"] == score(model, ["meco_opt"], x, seed=3)["meco_opt"]


def test_meco_opt_with_at_least_all_channels_is_meco():
    model, x = tiny_cnn(), images(2)
    assert meco_opt_score(model, x, channels=6) == pytest.approx(meco_score(model, x))
    assert meco_opt_score(model, x, channels=8) == pytest.approx(meco_score(model, x))  # official count, 6 < 8 channels


def test_meco_undefined_cases():
    with pytest.raises(ProxyError, match="empty"):
        meco_score(tiny_cnn(), images(1)[:0])
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(75, 4), nn.ReLU(), nn.Linear(4, 3))
    with pytest.raises(ProxyError, match="at least two positions"):
        meco_score(mlp, images(2))
    with pytest.raises(ProxyError, match="NaN or inf"):
        meco_score(tiny_cnn(), images(1) * float("inf"))
    squeezed = nn.Sequential(nn.Conv2d(3, 4, 5), nn.BatchNorm2d(4))  # 5x5 -> 1x1, BatchNorm on one value
    with pytest.raises(ProxyError, match="single value per channel"):
        meco_score(squeezed, images(1))


def test_meco_registry_metadata():
    for name in ("meco", "meco_opt"):
        info = get_proxy(name)
        assert info.default_batch_size == 1 and not info.needs_labels and not info.needs_grad
    assert get_proxy("meco_opt").accepts_generator and not get_proxy("meco").accepts_generator


# --- ZiCo ------------------------------------------------------------------------------------

def tiny_classifier(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(2, 3))


def labelled(n: int, seed: int = 2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 5, 5, generator=g), torch.randint(0, 3, (n,), generator=g)


def zico_by_hand(model: nn.Module, x: torch.Tensor, y: torch.Tensor, parts: int = 2) -> float:
    """ZiCo written out: per mini-batch the weight gradients by autograd.grad on a copy in
    training mode, then numpy's mean|g| / std per weight, log of the per-layer sums."""
    net = copy.deepcopy(model).train()
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    per_batch = []
    n = len(x)
    for b in range(parts):
        s, e = b * n // parts, (b + 1) * n // parts
        loss = F.cross_entropy(net(x[s:e]), y[s:e])
        per_batch.append([g.double().numpy().ravel() for g in torch.autograd.grad(loss, weights)])
    total = 0.0
    for layer in range(len(weights)):
        g = np.stack([grads[layer] for grads in per_batch])
        std, mean_abs = g.std(axis=0), np.abs(g).mean(axis=0)
        nz = std != 0
        s = np.sum(mean_abs[nz] / std[nz])
        if s != 0:
            total += math.log(s)
    return total


def test_zico_matches_a_hand_computation():
    model, (x, y) = tiny_classifier(), labelled(8)
    expected = zico_by_hand(model, x, y)
    assert zico_score(model, x, y) == pytest.approx(expected, rel=1e-6)
    assert score(model, ["zico"], x, y, batch_size=8)["zico"] == pytest.approx(expected, rel=1e-6)
    assert zico_score(model, x[:7], y[:7]) == pytest.approx(zico_by_hand(model, x[:7], y[:7]), rel=1e-6)
    assert zico_score(model, x, y, mini_batches=4) == pytest.approx(zico_by_hand(model, x, y, 4), rel=1e-6)


def test_zico_two_batch_closed_form():
    """With two mini-batches std = |g1 - g2| / 2 and mean|g| = (|g1| + |g2|) / 2."""
    g1, g2 = torch.tensor([1.0, -2.0, 0.5, 3.0]), torch.tensor([3.0, 2.0, 0.5, 0.0])
    ratio = ((g1.abs() + g2.abs()) / (g1 - g2).abs())[:2].sum() + 3.0 / 3.0  # third weight: std 0, left out
    assert zico_from_gradients({"a": torch.stack([g1, g2]).double()}) == pytest.approx(math.log(float(ratio)))
    # a layer whose gradient never varies is skipped (no log 0); nothing left scores 0
    same = torch.stack([g1, g1]).double()
    assert zico_from_gradients({"a": same}) == 0.0
    assert zico_from_gradients({"a": same, "b": torch.stack([g1, g2]).double()}) == pytest.approx(math.log(float(ratio)))


def test_zico_invariances():
    model, (x, y) = tiny_classifier(), labelled(8)
    value = zico_score(model, x, y)
    swapped = torch.cat([torch.arange(4, 8), torch.arange(4)])  # the halves exchanged
    assert zico_score(model, x[swapped], y[swapped]) == pytest.approx(value, rel=1e-9)
    within = torch.tensor([3, 1, 0, 2, 7, 5, 6, 4])  # samples shuffled inside each half
    assert zico_score(model, x[within], y[within]) == pytest.approx(value, rel=1e-6)
    # the same mini-batch twice: every gradient agrees, every std is 0, every layer is skipped
    assert zico_score(model, torch.cat([x[:4], x[:4]]), torch.cat([y[:4], y[:4]])) == 0.0


def test_zico_leaves_the_network_as_it_was():
    model, (x, y) = tiny_classifier(), labelled(8)
    model.eval()
    before = copy.deepcopy(model.state_dict())
    zico_score(model, x, y)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_zico_skips_layers_without_gradient():
    torch.manual_seed(0)

    class WithUnused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(4, 3)
            self.unused = nn.Linear(4, 3)

        def forward(self, x):
            return self.used(x)

    model = WithUnused()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 4, generator=g), torch.randint(0, 3, (6,), generator=g)
    grads = mini_batch_gradients(model, x, y)
    assert list(grads) == ["used"] and grads["used"].shape == (2, 12)
    assert zico_score(model, x, y) == pytest.approx(zico_by_hand(model.used, x, y), rel=1e-6)


def test_zico_undefined_cases():
    model, (x, y) = tiny_classifier(), labelled(8)
    with pytest.raises(ProxyError, match="only 1 sample"):
        zico_score(model, x[:1], y[:1])
    pixel = nn.Conv2d(3, 3, 3, padding=1)  # a pixel-output network: no class scores
    with pytest.raises(ProxyError, match="class output"):
        zico_score(pixel, x, y)
    with pytest.raises(ProxyError, match="only 3 outputs"):
        zico_score(model, x, torch.full((8,), 5))
    result = score(pixel, ["zico"], x, y, batch_size=8, on_error="nan")
    assert math.isnan(result["zico"]) and "class output" in result.errors["zico"]


def test_zico_registry_metadata():
    info = get_proxy("zico")
    assert info.needs_labels and info.needs_grad and info.default_batch_size == 2 * 128
