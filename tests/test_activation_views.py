"""Activation Patterns page library: a hand-built network with a known activity matrix, the
displayed matrix against the counting functions of `swap_core.patterns`, the NASWOT kernel
against the proxy, and the saturation tables' bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from swap_core import activation_views as views
from swap_core.setup import Setup
from swap_core import patterns
from swap_core.patterns import (
    count_sample_wise_patterns, count_standard_patterns, pack_sample_bits, relu_hooks, train_mode,
)
from swap_core.proxies.naswot import naswot_score
from swap_core.spaces import get_space


def hand_net() -> nn.Sequential:
    """Two channels (+x, −x) through a ReLU, then an identity 1×1 conv and a second ReLU: the
    second layer repeats the first layer's patterns exactly."""
    first = nn.Conv2d(1, 2, 1, bias=False)
    second = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        second.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    return nn.Sequential(first, nn.ReLU(), second, nn.ReLU())


# Four samples, each a 1×2 image: positions p0, p1.
HAND_INPUTS = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [2.0, 5.0]]).view(4, 1, 1, 2)
# Units in (C, H, W) order: (+, p0), (+, p1), (−, p0), (−, p1); sample 3 has sample 0's code.
HAND_LAYER = np.array([[1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 1], [1, 1, 0, 0]], dtype=bool)


def small_nb201(seed: int = 0) -> nn.Module:
    return views.build_network(Setup(seed=seed), get_space("nb201").example)


def images(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def direct_activity(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """The full (samples × units) activity matrix, captured the plain way."""
    parts: list[torch.Tensor] = []
    with train_mode(model), torch.no_grad(), relu_hooks(
            model, lambda _n, out: parts.append(out.flatten(1) > 0), spatial_only=True):
        model(inputs)
    return torch.cat(parts, dim=1).numpy()


def test_hand_built_network_has_the_counts_computed_by_hand():
    m = views.activation_matrix(hand_net(), HAND_INPUTS, max_units=100)
    np.testing.assert_array_equal(m.standard, np.concatenate([HAND_LAYER, HAND_LAYER], axis=1))
    assert m.total_units == 8 and m.samples == 4
    assert m.layers == (("1", 4), ("3", 4))
    # Unit patterns over the 4 samples: 1101, 1001, 0010, 0110 — each appears in both layers.
    assert m.sample_wise_distinct == 4
    assert m.standard_distinct == 3  # samples 0 and 3 share a code
    assert m.shown_distinct() == (3, 4)
    assert m.sample_wise_bound == min(8, 2**4)


def test_hand_built_network_kernel_and_layers():
    k = views.naswot_view(hand_net(), HAND_INPUTS)
    agree = (HAND_LAYER[:, None, :] == HAND_LAYER[None, :, :]).sum(-1) * 2  # two identical layers
    np.testing.assert_array_equal(k.kernel, agree)
    assert k.kernel[0, 3] == 8 and k.kernel[0, 1] == 4
    assert (k.relu_calls, k.units) == (2, 8)
    table = views.layer_table(hand_net(), HAND_INPUTS)
    assert table[["units", "sample_wise", "standard"]].values.tolist() == [[4, 4, 3], [4, 4, 3]]


def test_naswot_logdet_of_a_known_kernel():
    assert views.naswot_logdet(np.array([[2.0, 1.0], [1.0, 2.0]])) == pytest.approx(math.log(3))
    assert views.naswot_logdet(torch.diag(torch.tensor([1.0, 4.0, 9.0]))) == pytest.approx(math.log(36))


@pytest.mark.parametrize("n", [8, 24])  # the 2**N table path and the sorting path of the SWAP count
def test_full_matrix_matches_the_counting_functions(n):
    model, inputs = small_nb201(), images(n)
    m = views.activation_matrix(model, inputs, max_units=10**7)
    np.testing.assert_array_equal(m.standard, direct_activity(model, inputs))
    with train_mode(model):
        sample_wise = count_sample_wise_patterns(model, inputs)
        standard = count_standard_patterns(model, inputs, spatial_only=True)
    assert (m.sample_wise_distinct, m.standard_distinct) == (sample_wise, standard)
    assert views.distinct_count(m.sample_wise) == sample_wise
    assert views.distinct_count(m.standard) == standard
    assert standard <= n and sample_wise <= min(m.total_units, 2**n)


def test_subsample_is_reproducible_and_counts_cover_all_units():
    model, inputs = small_nb201(), images(16)
    a = views.activation_matrix(model, inputs, max_units=150, seed=3)
    b = views.activation_matrix(model, inputs, max_units=150, seed=3)
    c = views.activation_matrix(model, inputs, max_units=150, seed=4)
    assert a.standard.shape == (16, 150) and a.sample_wise.shape == (150, 16)
    np.testing.assert_array_equal(a.unit_index, b.unit_index)
    assert not np.array_equal(a.unit_index, c.unit_index)
    assert np.all(np.diff(a.unit_index) > 0) and a.unit_index[-1] < a.total_units
    full = direct_activity(model, inputs)
    np.testing.assert_array_equal(a.standard, full[:, a.unit_index])
    assert a.total_units == full.shape[1] == sum(units for _, units in a.layers)
    shown_standard, shown_sample_wise = a.shown_distinct()
    assert shown_sample_wise <= a.sample_wise_distinct and shown_standard <= a.standard_distinct <= 16
    labels = dict(a.layers)
    assert all(label in labels for label in a.unit_layer)


@pytest.mark.parametrize("n", [8, 40])
def test_blockwise_standard_count_matches_patterns(n):
    model = small_nb201()
    for seed in range(3):
        inputs = images(n, seed=seed)
        if seed == 2:  # repeated inputs: fewer distinct codes than samples
            inputs = torch.cat([inputs[: n // 2], inputs[: n // 2]])
        with train_mode(model):
            expected = count_standard_patterns(model, inputs, spatial_only=True)
        assert views.count_standard(model, inputs, block=128) == expected  # layers of 512+ units: many blocks
        assert views.count_standard(model, inputs) == expected
    assert expected == n // 2
    assert views.count_standard(hand_net(), HAND_INPUTS, block=64) == 3


def test_sample_codes_pack_units_in_order():
    active = torch.rand(5, 300, generator=torch.Generator().manual_seed(2)) > 0.5
    codes = patterns.sample_codes(active, block=128)
    assert codes.shape == (5, 5)
    for i in range(5):
        for u in (0, 63, 64, 127, 128, 200, 299):  # bit u % 64 of word u // 64, two's complement
            assert bool((int(codes[i, u // 64]) >> (u % 64)) & 1) == bool(active[i, u])
    np.testing.assert_array_equal(codes, patterns.sample_codes(active, block=64))
    with pytest.raises(ValueError, match="multiple of 64"):
        patterns.sample_codes(active, block=100)


def test_unpack_inverts_pack_over_several_words():
    active = torch.rand(130, 40, generator=torch.Generator().manual_seed(1)) > 0.5
    unpacked = views.unpack_sample_bits(pack_sample_bits(active).numpy(), 130)
    np.testing.assert_array_equal(unpacked, active.T.numpy())


def test_group_identical_rows_puts_equal_rows_together():
    matrix = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [0, 1]], dtype=bool)
    ordered = matrix[views.group_identical_rows(matrix)]
    changes = np.any(ordered[1:] != ordered[:-1], axis=1).sum()
    assert changes == views.distinct_count(matrix) - 1


def test_repeated_relu_calls_are_labelled_apart():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu = nn.Conv2d(3, 2, 1), nn.ReLU()

        def forward(self, x):
            return self.relu(self.conv(self.relu(x)))

    calls = views.relu_units(Twice(), images(2, 4))
    assert calls == [("relu", 48), ("relu #2", 32)]


def test_saturation_vs_batch_bounds_hold():
    sizes = views.batch_sizes(32)
    assert sizes == [2, 4, 8, 16, 32] and views.batch_sizes(48)[-1] == 48
    with pytest.raises(ValueError):
        views.batch_sizes(1)
    seen = []
    table = views.saturation_vs_batch(small_nb201(), images(32), sizes, progress=lambda d, t: seen.append((d, t)))
    assert list(table.columns) == views.SATURATION_COLUMNS and len(table) == len(sizes)
    assert seen[-1] == (len(sizes), len(sizes))
    assert table["batch_size"].tolist() == sizes and table["units"].nunique() == 1
    assert (table["standard_bound"] == table["batch_size"]).all()
    assert (table["standard"] <= table["batch_size"]).all()
    assert (table["sample_wise"] <= table["sample_wise_bound"]).all()
    expected_bound = [min(int(table["units"][0]), 2**n) for n in sizes]
    assert table["sample_wise_bound"].tolist() == expected_bound
    assert table["sample_wise_bound"].is_monotonic_increasing and table["standard_bound"].is_monotonic_increasing
    assert table["sample_wise"].iloc[-1] > table["standard"].iloc[-1]  # SWAP's wider range


def test_saturation_vs_resolution_bounds_grow_with_units():
    model = small_nb201()
    by_size = {s: images(8, s) for s in (8, 16, 24)}
    table = views.saturation_vs_resolution(model, by_size, sizes=(8, 16, 24))
    assert table["input_size"].tolist() == [8, 16, 24] and (table["batch_size"] == 8).all()
    assert table["units"].is_monotonic_increasing and table["units"].iloc[0] < table["units"].iloc[-1]
    assert (table["standard"] <= 8).all() and (table["sample_wise"] <= table["sample_wise_bound"]).all()
    assert (table["sample_wise_bound"] == np.minimum(table["units"], 2**8)).all()
    again = views.saturation_vs_resolution(model, lambda s: by_size[s], sizes=(16,))
    assert again.iloc[0].to_dict() == table.iloc[1].to_dict()


def test_gaussian_init_is_optional_and_checked():
    space = get_space("nb201")
    default = views.build_network(Setup(), space.example)
    gaussian = views.build_network(Setup(), space.example, init="gaussian")
    conv = next(m for m in gaussian.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.std() > 0.5  # N(0, 1) rather than PyTorch's small uniform init
    assert next(m for m in default.modules() if isinstance(m, nn.Conv2d)).weight.std() < 0.5
    with pytest.raises(ValueError, match="unknown init"):
        views.build_network(Setup(), space.example, init="xavier")


def test_kernel_matches_the_naswot_proxy():
    model, inputs = small_nb201(), images(16)
    k = views.naswot_view(model, inputs)
    assert k.kernel.shape == (16, 16) and np.all(np.diag(k.kernel) == k.units)
    assert k.logdet == pytest.approx(naswot_score(model, inputs))


def test_first_copy_names_each_repeated_row_after_its_first():
    matrix = np.array([[1, 0], [0, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
    first = views.first_copy(matrix)
    assert first.tolist() == [0, 1, 0, 3, 1]
    assert (first == np.arange(len(matrix))).sum() == views.distinct_count(matrix)  # the count the page states
    assert views.first_copy(np.zeros((0, 3), dtype=bool)).tolist() == []
