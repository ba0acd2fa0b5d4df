"""Proxies: registry metadata, SWAP / regularised SWAP / NASWOT / size values, and `score()`
results that do not depend on which other proxies ran."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from swap_core.patterns import count_sample_wise_patterns, train_mode
from swap_core.proxies import get_proxy, list_proxies, score
from swap_core.proxies.naswot import naswot_score
from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA, gaussian_init_, params_thousands, size_factor, swap_score

NAMES = ("swap", "reg_swap", "naswot", "params", "flops")


def tiny_net() -> nn.Module:
    """Conv(3→8, 3x3, no bias) + BN(8) + ReLU + pool + Linear(8→10): 216 + 16 + 90 parameters."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )


def convnet() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6, affine=False), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 10),
    )


def test_registry_metadata():
    assert set(NAMES) <= set(list_proxies())
    for name in NAMES:
        info = get_proxy(name)
        assert info.display_name and info.description and info.paper and info.year, name
        assert info.higher_is_better and not info.needs_grad and not info.needs_labels
    assert get_proxy("swap").default_batch_size == 16 and get_proxy("reg_swap").default_batch_size == 16
    assert get_proxy("naswot").default_batch_size == 128
    assert get_proxy("params").default_batch_size is None
    assert get_proxy("swap").modifies_model and get_proxy("reg_swap").modifies_model
    assert not get_proxy("naswot").modifies_model
    assert get_proxy("swap").year == 2024 and get_proxy("naswot").year == 2021


def test_params_and_flops_values():
    model = tiny_net()
    assert math.isclose(get_proxy("params").fn(model, None), 322 / 1e6)
    # conv: 3·9·8 MACs at each of 32·32 positions; linear: 8·10 + 10 bias
    expected = (3 * 9 * 8 * 32 * 32 + 8 * 10 + 10) / 1e6
    assert math.isclose(get_proxy("flops").fn(model, torch.zeros(1, 3, 32, 32)), expected)
    assert math.isclose(get_proxy("flops").fn(model, torch.zeros(1, 3, 16, 16)), (3 * 9 * 8 * 256 + 90) / 1e6)


def test_gaussian_init_as_official_code():
    model = convnet()
    gaussian_init_(model)
    conv, bn, bn_plain = model[0], model[1], model[4]
    assert abs(conv.weight.std().item() - 1) < 0.2 and torch.all(conv.bias == 0)
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0) and bn_plain.weight is None
    assert abs(model[8].weight.std().item() - 1) < 0.4 and torch.all(model[8].bias == 0)


def test_swap_options_and_repeats():
    model, inputs = convnet(), torch.randn(16, 3, 8, 8)
    one = swap_score(model, inputs, repeats=1, generator=torch.Generator().manual_seed(1))
    rng = torch.Generator().manual_seed(1)
    counts = []
    with train_mode(model):
        for _ in range(3):
            gaussian_init_(model, rng)
            counts.append(count_sample_wise_patterns(model, inputs))
    assert swap_score(model, inputs, repeats=3, generator=torch.Generator().manual_seed(1)) == sum(counts) / 3
    assert one == counts[0]
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    assert swap_score(model, inputs, init="default") > 0
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())  # untouched
    with pytest.raises(ValueError):
        swap_score(model, inputs, init="xavier")
    with pytest.raises(ValueError):
        swap_score(model, inputs, repeats=0)


def test_reg_swap_formula():
    model, inputs = convnet(), torch.randn(16, 3, 8, 8)
    theta = params_thousands(model)
    assert theta == sum(p.numel() for p in model.parameters()) / 1e3
    mu, sigma = 0.2, 0.05
    result = score(model, ["swap", "reg_swap"], inputs, options={"reg_swap": {"mu": mu, "sigma": sigma}})
    factor = math.exp(-((theta - mu) ** 2) / sigma)
    assert math.isclose(result["reg_swap"], result["swap"] * factor, rel_tol=1e-12)
    assert size_factor(theta, mu, sigma) == factor
    assert 0 < size_factor(theta) <= 1 and DEFAULT_MU > 0 and DEFAULT_SIGMA > 0
    with pytest.raises(ValueError):
        size_factor(theta, mu, 0)


def test_params_thousands_skips_auxiliary_head():
    model = nn.Module()
    model.body, model.auxiliary_head = nn.Linear(10, 10), nn.Linear(100, 10)
    assert params_thousands(model) == 0.11


def test_naswot_score_and_model_untouched():
    model, inputs = convnet().eval(), torch.randn(12, 3, 8, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    value = naswot_score(model, inputs)
    assert math.isfinite(value) and value > 0
    assert not model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert get_proxy("naswot").fn(model, inputs) == value


def test_score_independent_of_proxy_order():
    model, inputs = convnet(), torch.randn(128, 3, 8, 8)
    options = {"swap": {"repeats": 2}, "reg_swap": {"mu": 0.3, "sigma": 0.1}}
    forward = score(model, NAMES, inputs, options=options, seed=3)
    backward = score(model, NAMES[::-1], inputs, options=options, seed=3)
    alone = {name: score(model, [name], inputs, options=options, seed=3)[name] for name in NAMES}
    assert forward == backward == alone
    assert forward["swap"] <= min(2**16, 6 * 64 * 2)
    assert forward["params"] == sum(p.numel() for p in model.parameters()) / 1e6


def test_score_on_error_nan_keeps_the_other_proxies():
    from swap_core.proxies import ProxyError

    class Dead(nn.Module):  # every sample gives the same activation code
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(self.relu(torch.zeros(x.shape[0], 3, 2, 2)).mean((2, 3)))

    inputs = torch.randn(8, 3, 4, 4)
    with pytest.raises(ProxyError, match="not defined"):
        score(Dead(), ["naswot"], inputs, batch_size=8)
    result = score(Dead(), ["naswot", "params"], inputs, batch_size=8, on_error="nan")
    assert math.isnan(result["naswot"]) and "naswot" in result.errors
    assert result["params"] > 0 and "params" not in result.errors


def test_registry_order_does_not_depend_on_import_order():
    import swap_core.proxies.hnas  # noqa: F401  (imported out of order on purpose)
    from swap_core.proxies import _MODULES, get_proxy, list_proxies

    modules = [get_proxy(n).fn.__module__.rsplit(".", 1)[-1] for n in list_proxies()]
    assert [_MODULES.index(m) for m in modules] == sorted(_MODULES.index(m) for m in modules)
    assert list_proxies()[:3] == ["swap", "reg_swap", "naswot"]
