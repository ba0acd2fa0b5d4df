"""Activation patterns: bit packing, SWAP counts on hand-made activations with a known answer,
packed == float reference on real networks, the NASWOT kernel on a hand-computed example."""
from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn as nn

from swap_core.patterns import (
    DistinctRowSet, count_distinct_rows, count_sample_wise_patterns, count_sample_wise_patterns_naive,
    count_standard_patterns, distinct_rows, layer_patterns, naswot_kernel, pack_sample_bits, relu_hooks,
    train_mode,
)


class FixedActivations(nn.Module):
    """Ignores its input's values: layer k feeds `pre[k]` (N, C, H, W) through its own ReLU,
    so the activity of every unit is chosen by the test. `flat` adds a ReLU on a 2-D input."""

    def __init__(self, pre: list[torch.Tensor], flat: torch.Tensor | None = None) -> None:
        super().__init__()
        self.pre = pre
        self.relus = nn.ModuleList(nn.ReLU() for _ in pre)
        self.flat, self.flat_relu = flat, nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert all(len(p) == len(x) for p in self.pre)
        outs = [relu(p).flatten(1).sum(1) for relu, p in zip(self.relus, self.pre)]
        if self.flat is not None:
            outs.append(self.flat_relu(self.flat).sum(1))
        return torch.stack(outs, 1)


def as_layer(patterns: torch.Tensor, channels: int = 1) -> torch.Tensor:
    """(N, U) bool unit patterns -> pre-activations (N, channels, 1, U / channels): +1 / -1."""
    n, units = patterns.shape
    return torch.where(patterns, 1.0, -1.0).view(n, channels, 1, units // channels)


def distinct_patterns(n: int, count: int, rng: random.Random) -> list[torch.Tensor]:
    """`count` distinct random N-bit patterns (bool vectors), the all-zero one first."""
    seen, result = set(), []
    while len(result) < count:
        bits = tuple(rng.random() < 0.5 for _ in range(n)) if result else (False,) * n
        if bits not in seen:
            seen.add(bits)
            result.append(torch.tensor(bits))
    return result


def python_pack(active: torch.Tensor) -> list[list[int]]:
    n, units = active.shape
    words = -(-n // 64)
    rows = []
    for u in range(units):
        row = []
        for w in range(words):
            value = sum(1 << b for b in range(64) if 64 * w + b < n and active[64 * w + b, u])
            row.append(value - (1 << 64) if value >= 1 << 63 else value)
        rows.append(row)
    return rows


def small_convnet(width: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 8), nn.ReLU(), nn.Linear(8, 10),
    )


# --- packing -------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 15, 16, 17, 63, 64, 65, 100, 128, 130])
def test_pack_sample_bits_matches_python_reference(n):
    generator = torch.Generator().manual_seed(n)
    active = torch.rand(n, 40, generator=generator) > 0.5
    active[:, 0], active[:, 1] = True, False  # all ones: every sign bit set; all zeros
    packed = pack_sample_bits(active)
    assert packed.dtype == torch.int64 and packed.shape == (40, -(-n // 64))
    assert packed.tolist() == python_pack(active)


def test_pack_sample_bits_rejects_bad_shapes():
    with pytest.raises(ValueError):
        pack_sample_bits(torch.ones(3, 4, 5, dtype=torch.bool))
    with pytest.raises(ValueError):
        pack_sample_bits(torch.ones(0, 4, dtype=torch.bool))


def test_distinct_rows_multiword_and_merging():
    rows = torch.tensor([[1, 2], [1, 3], [1, 2], [-5, 2], [-5, 2], [0, 0]])
    assert sorted(map(tuple, distinct_rows(rows).tolist())) == [(-5, 2), (0, 0), (1, 2), (1, 3)]
    assert count_distinct_rows(rows) == 4
    row_set = DistinctRowSet(merge_at=3)  # forces merges between blocks
    for block in rows.split(2):
        row_set.add(block)
    assert len(row_set) == 4 and len(DistinctRowSet()) == 0


# --- SWAP on hand-made activations -------------------------------------------------------
@pytest.mark.parametrize("n", [16, 24, 64, 100])
def test_swap_count_on_known_activations(n):
    rng = random.Random(n)
    pool = distinct_patterns(n, 50, rng)
    layer_a = [pool[i % 30] for i in range(90)]  # patterns 0..29, each three times
    layer_b = [pool[20 + i % 30] for i in range(60)]  # patterns 20..49: 20..29 also in layer a
    pre = [as_layer(torch.stack(layer_a, 1), channels=3), as_layer(torch.stack(layer_b, 1), channels=2)]
    flat = torch.where(torch.stack(pool[:5], 1), 1.0, -1.0)  # a 2-D ReLU: not hooked by SWAP
    model = FixedActivations(pre, flat)
    inputs = torch.zeros(n, 3, 8, 8)
    assert count_sample_wise_patterns(model, inputs) == 50
    assert count_sample_wise_patterns_naive(model, inputs) == 50
    assert count_sample_wise_patterns(model, inputs, spatial_only=False) == 50  # pool[:5] already seen
    layers = layer_patterns(model, inputs)
    assert [(layer.name, layer.units, layer.sample_wise) for layer in layers] == [("relus.0", 90, 30), ("relus.1", 60, 30)]


def test_swap_count_bounded_by_batch_patterns():
    n = 3  # at most 2**3 = 8 patterns, however many units
    model = FixedActivations([torch.randn(n, 16, 8, 8, generator=torch.Generator().manual_seed(0))])
    assert count_sample_wise_patterns(model, torch.zeros(n, 1)) == 8


def test_hooks_removed_after_error():
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):
            self.relu(x)
            raise RuntimeError("boom")

    model = Boom()
    with pytest.raises(RuntimeError):
        count_sample_wise_patterns(model, torch.randn(2, 3, 4, 4))
    assert not model.relu._forward_hooks
    calls = []
    with relu_hooks(small_convnet(), lambda name, out: calls.append(name)) as hooked:
        pass
    assert hooked == 4 and not calls


def test_train_mode_restores_mode_and_running_stats():
    model = small_convnet().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with train_mode(model):
        assert model.training and model[1].training
        model(torch.randn(4, 3, 8, 8))
    assert not model.training and not model[1].training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# --- packed == float reference on real networks ------------------------------------------
@pytest.mark.parametrize("n", [8, 16, 20, 21, 64, 100])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_packed_equals_naive_on_convnet(n, seed):
    torch.manual_seed(seed)
    model = small_convnet(width=3)
    inputs = torch.randn(n, 3, 8, 8)
    with train_mode(model):
        assert count_sample_wise_patterns(model, inputs) == count_sample_wise_patterns_naive(model, inputs)


def space_networks():
    from swap_core.spaces import get_space

    rng = random.Random(0)
    for name, preset in (("nb201", "teaching"), ("darts", "teaching"), ("darts", "swap-proxy")):
        try:
            space = get_space(name)
        except (ImportError, ValueError) as error:  # a space still being written elsewhere
            pytest.skip(f"search space {name} not available: {error}")
        for _ in range(2):
            yield f"{name}/{preset}", space.build(space.sample(rng), space.config(preset))


@pytest.mark.parametrize("n", [16, 64])
def test_packed_equals_naive_on_space_networks(n):
    from swap_core.proxies.swap import gaussian_init_

    torch.manual_seed(0)
    inputs = torch.randn(n, 3, 32, 32)
    for label, model in space_networks():
        for init in ("default", "gaussian"):
            if init == "gaussian":
                gaussian_init_(model)
            with train_mode(model):
                packed = count_sample_wise_patterns(model, inputs)
                assert packed == count_sample_wise_patterns_naive(model, inputs), (label, init)
                units = sum(layer.units for layer in layer_patterns(model, inputs))
                assert 1 <= packed <= min(units, 2**n)


# --- standard patterns and the NASWOT kernel ---------------------------------------------
def naswot_example(same: bool = False) -> FixedActivations:
    """Three samples: layer 1 codes 1011 / 1100 / 0011 (or 1011 again), layer 2 codes 10 / 01 / 10."""
    codes1 = torch.tensor([[1, 0, 1, 1], [1, 1, 0, 0], [1, 0, 1, 1] if same else [0, 0, 1, 1]], dtype=torch.bool)
    codes2 = torch.tensor([[1, 0], [0, 1], [1, 0]], dtype=torch.bool)
    return FixedActivations([as_layer(codes1), as_layer(codes2)])


def test_naswot_kernel_hand_computed():
    # Hamming distances: (0,1) 3+2, (0,2) 1+0, (1,2) 4+2; N_A = 6 units.
    kernel = naswot_kernel(naswot_example(), torch.zeros(3, 1))
    assert kernel.dtype == torch.float64
    assert kernel.tolist() == [[6, 1, 5], [1, 6, 0], [5, 0, 6]]
    assert math.isclose(torch.linalg.slogdet(kernel)[1].item(), math.log(60))  # det = 216 − 6 − 150
    assert count_standard_patterns(naswot_example(), torch.zeros(3, 1)) == 3
    assert count_standard_patterns(naswot_example(same=True), torch.zeros(3, 1)) == 2


def test_naswot_kernel_matches_direct_formula_on_convnet():
    torch.manual_seed(0)
    model, inputs = small_convnet(), torch.randn(10, 3, 8, 8)
    expected = torch.zeros(10, 10, dtype=torch.float64)

    def add(_name, out):
        nonlocal expected
        x = (out.flatten(1) > 0).double()
        expected = expected + x @ x.T + (1 - x) @ (1 - x).T

    with torch.no_grad(), relu_hooks(model, add):
        model(inputs)
    assert torch.equal(naswot_kernel(model, inputs), expected)


def test_layer_patterns_standard_counts():
    layers = layer_patterns(naswot_example(same=True), torch.zeros(3, 1))
    assert [(layer.units, layer.standard) for layer in layers] == [(4, 2), (2, 2)]


def test_nan_activations_count_as_inactive():
    pre = torch.tensor([[1.0, float("nan"), -1.0], [float("nan"), 1.0, -2.0]]).view(2, 1, 1, 3)
    for n_extra in (0, 30):  # the table (N ≤ 20) and the sorted-rows path
        batch = torch.cat([pre, -torch.ones(n_extra, 1, 1, 3)])
        model = FixedActivations([batch])
        # patterns (samples 0, 1): unit 0 → 10, unit 1 → 01, unit 2 → 00
        assert count_sample_wise_patterns(model, torch.zeros(len(batch), 1)) == 3
