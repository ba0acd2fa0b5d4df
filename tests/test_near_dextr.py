"""NEAR and Dextr against hand-written re-computations on tiny networks, their invariances, and
the cases where they are undefined."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from swap_core.init import default_init_, generator
from swap_core.proxies import ProxyError, get_proxy, score
from swap_core.proxies.dextr import combine, dextr_score, extrinsic_curvature, inverse_condition, svd_term
from swap_core.proxies.near import activation_matrix, effective_rank, near_modules, near_once, near_score


def np_erank(matrix: np.ndarray) -> float:
    """exp(entropy of the singular values divided by their sum); 0 for a zero matrix."""
    s = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    if s.sum() == 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def np_inverse_condition(matrix: np.ndarray) -> float:
    s = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    return 0.0 if s.max() == 0 else float(s.min() / s.max())


def seeded(model: nn.Module, seed: int = 0) -> nn.Module:
    return default_init_(model, generator(seed))


def randn(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- NEAR ------------------------------------------------------------------------------------

def test_effective_rank_is_the_entropy_rank_of_roy_and_vetterli():
    assert effective_rank(torch.eye(5)) == pytest.approx(5.0)
    assert effective_rank(torch.diag(torch.tensor([3.0, 1.0]))) == pytest.approx(
        math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    assert effective_rank(torch.outer(torch.arange(1.0, 4.0), torch.ones(4))) == pytest.approx(1.0)
    assert effective_rank(torch.zeros(3, 3)) == 0.0  # the official nan_to_num of 0/0
    m = randn(6, 4)
    assert effective_rank(m) == pytest.approx(np_erank(m.numpy()), rel=1e-9)


def test_conv_maps_become_position_by_channel_rows_in_the_official_order():
    out = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)  # (N, C, H, W)
    matrix = activation_matrix(out)
    assert matrix.shape == (2 * 4 * 2, 3)
    assert torch.equal(matrix, out.transpose(1, 3).flatten(0, 2))
    # row (n, w, h) holds the C channels of sample n at height h, width w
    assert torch.equal(matrix[1 * 8 + 3 * 2 + 1], out[1, :, 1, 3])


def test_near_sums_effective_ranks_of_pre_and_post_activations_on_a_tiny_mlp():
    model = seeded(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3)))
    x = randn(3, 4)  # 3 rows for 3 columns in every layer: the whole matrix is the block
    with torch.no_grad():
        z1 = model[0](x)
        h1 = z1.clamp_min(0)
        z2 = model[2](h1)
    expected = np_erank(z1.numpy()) + np_erank(h1.numpy()) + np_erank(z2.numpy())
    assert [name for name, _ in near_modules(model)] == ["0", "1", "2"]
    assert near_score(model, x, generator=generator(0)) == pytest.approx(expected, rel=1e-6)


def test_near_reads_a_conv_map_as_a_square_block_of_position_rows():
    model = seeded(nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU()))
    x = randn(1, 1, 2, 2)
    with torch.no_grad():
        y = model[0](x)[0]  # (C=2, H=2, W=2)
    # rows ordered (w, h): the block of 2 rows starting at 0 (the only start the official draw
    # allows: rows // W - 1 = 1 choice) holds positions (h=0, w=0) and (h=1, w=0)
    block = np.stack([y[:, 0, 0].numpy(), y[:, 1, 0].numpy()])
    expected = np_erank(block) + np_erank(np.maximum(block, 0))
    assert near_score(model, x, generator=generator(0)) == pytest.approx(expected, rel=1e-6)


def test_near_block_start_is_a_multiple_of_the_width_and_never_the_last_block():
    model = seeded(nn.Sequential(nn.Linear(2, 2)))
    x = randn(6, 2, seed=3)
    with torch.no_grad():
        z = model(x).numpy()
    allowed = {round(np_erank(z[0:2]), 9), round(np_erank(z[2:4]), 9)}  # start in {0, 2}, not 4
    seen = {round(near_score(model, x, generator=generator(s)), 9) for s in range(12)}
    assert seen == allowed


def test_near_is_deterministic_in_its_generator_and_does_not_touch_the_model():
    model = seeded(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(4 * 16, 5)))
    x = randn(8, 3, 4, 4)
    before = copy.deepcopy(model.state_dict())
    a = near_score(model, x, repeat=3, generator=generator(5))
    b = near_score(model, x, repeat=3, generator=generator(5))
    assert a == b
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    # the first repetition scores the given weights; later ones re-initialise
    assert near_score(model, x, repeat=1, generator=generator(5)) == pytest.approx(
        near_once(copy.deepcopy(model), x, generator(5)))
    assert a != pytest.approx(near_score(model, x, repeat=1, generator=generator(5)))


def test_near_is_invariant_to_scaling_the_input_of_a_bias_free_relu_network():
    model = seeded(nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 3, bias=False)))
    x = randn(9, 4)
    assert near_score(model, 7.0 * x, generator=generator(2)) == pytest.approx(
        near_score(model, x, generator=generator(2)), rel=1e-6)


def test_near_undefined_cases_say_why():
    wide = seeded(nn.Sequential(nn.Linear(4, 16), nn.ReLU()))
    with pytest.raises(ProxyError, match="batch of at least 16"):
        near_score(wide, randn(8, 4))
    with pytest.raises(ProxyError, match="NaN or infinite"):
        near_score(seeded(nn.Sequential(nn.Linear(4, 3))), torch.full((4, 4), float("nan")))
    with pytest.raises(ProxyError, match="no layer"):
        near_score(nn.Sequential(nn.Flatten()), randn(4, 4))


# --- Dextr -----------------------------------------------------------------------------------

def test_inverse_condition_number():
    assert inverse_condition(torch.diag(torch.tensor([3.0, 1.0]))) == pytest.approx(1 / 3)
    assert inverse_condition(torch.zeros(2, 5)) == 0.0  # 0/0 counts 0, as officially
    m = randn(3, 7)
    assert inverse_condition(m) == pytest.approx(np_inverse_condition(m.numpy()), rel=1e-9)


def test_dextr_svd_term_reads_the_first_sample_of_every_module_call():
    model = seeded(nn.Sequential(nn.Conv2d(2, 3, 1), nn.ReLU()))
    x = randn(1, 2, 3, 3)
    with torch.no_grad():
        conv = model[0](x)[0].reshape(3, -1).numpy()
    relu = np.maximum(conv, 0)
    # hooks: the Sequential itself (= the ReLU's output), the conv, the ReLU
    expected = np_inverse_condition(conv) + 2 * np_inverse_condition(relu)
    total, calls = svd_term(model, x)
    assert calls == 3
    assert total == pytest.approx(expected, rel=1e-6)


class _Square(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) ** 2


def _draws(seed: int, size: int, outputs: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The curve basis u0, u1 and the 10 output coordinates, drawn as the proxy draws them."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.linalg.svd(torch.randn(size, 2, generator=g), full_matrices=False).U
    picks = torch.randint(0, outputs, (10,), generator=g).tolist()
    return basis[:, 0].double().numpy(), basis[:, 1].double().numpy(), picks


def _kappa(v: np.ndarray, a: np.ndarray) -> float:
    return float(np.sqrt(max(v @ v * (a @ a) - (v @ a) ** 2, 0.0)) / (v @ v) ** 1.5)


def test_curvature_of_a_linear_map_in_closed_form():
    linear = seeded(nn.Linear(12, 6, bias=False))
    model = nn.Sequential(nn.Flatten(), linear)
    u0, u1, picks = _draws(4, 12, 6)
    w = linear.weight.detach().double().numpy()
    v, a = (w @ u1)[picks], (-(w @ u0))[picks]  # x(θ) = u0 cos θ + u1 sin θ at θ = 0
    assert extrinsic_curvature(model, (3, 2, 2), generator(4)) == pytest.approx(_kappa(v, a), rel=1e-4)


def test_curvature_sees_the_second_derivative_of_a_nonlinear_map():
    u0, u1, picks = _draws(6, 8, 8)
    v = (2 * u0 * u1)[picks]  # f = x²: f' = 2 x x', f'' = 2 (x'² + x x'') with x'' = -x
    a = (2 * (u1 ** 2 - u0 ** 2))[picks]
    assert extrinsic_curvature(_Square(), (2, 2, 2), generator(6)) == pytest.approx(_kappa(v, a), rel=1e-4)


def test_combine_is_the_official_harmonic_form_with_its_fallback():
    s, k = math.log(1 + 2.5), math.log(1 + 4.0)
    assert combine(2.5, 4.0) == pytest.approx(s * k / (s + k))
    assert combine(2.5, None) == pytest.approx(s)
    assert combine(2.5, float("nan")) == pytest.approx(s)
    assert combine(0.0, 0.0) == 0.0


class _Flat(nn.Module):
    """An output that does not depend on the input (its graph is kept, as x * 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).mul(0.0)[:, :3] + 1.0


def test_dextr_falls_back_to_the_svd_term_when_the_output_does_not_move():
    model = nn.Sequential(seeded(nn.Conv2d(3, 4, 3, padding=1)), nn.ReLU(), _Flat())
    x = randn(1, 3, 4, 4)
    total, _ = svd_term(model, x)
    assert dextr_score(model, x, generator=generator(0)) == pytest.approx(math.log1p(total))


def tiny_cnn() -> nn.Module:
    return seeded(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5)))


def test_dextr_reads_the_first_sample_and_leaves_the_model_as_it_was():
    model, x = tiny_cnn(), randn(1, 3, 6, 6)
    before = copy.deepcopy(model.state_dict())
    value = dextr_score(model, x, generator=generator(1))
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[key]), key
    assert all(p.grad is None for p in model.parameters())
    total, _ = svd_term(model, x)
    assert 0 < value < math.log1p(total)  # S·K/(S+K) lies below both terms
    # without BatchNorm the other samples of a batch change nothing; with it, their batch
    # statistics reach the first sample's maps (the official hook reads output[0] of the batch)
    plain = seeded(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(144, 5)))
    batch = torch.cat([x, randn(3, 3, 6, 6, seed=9)])
    assert dextr_score(plain, batch, generator=generator(1)) == pytest.approx(
        dextr_score(plain, x, generator=generator(1)), rel=1e-6)
    assert svd_term(model, batch)[0] != pytest.approx(total)


def test_dextr_curve_size_option_changes_only_the_curvature_term():
    model, x = tiny_cnn(), randn(1, 3, 6, 6)
    assert dextr_score(model, x, curve_size=8, generator=generator(1)) != dextr_score(
        model, x, generator=generator(1))


def test_dextr_undefined_cases_say_why():
    with pytest.raises(ProxyError, match="NaN or infinite"):
        dextr_score(tiny_cnn(), torch.full((1, 3, 6, 6), float("nan")))
    with pytest.raises(ProxyError, match=r"\(N, C, H, W\)"):
        dextr_score(seeded(nn.Linear(4, 3)), randn(2, 4))
    pooled_bn = seeded(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(4),
                                     nn.Flatten(), nn.Linear(4, 5)))
    with pytest.raises(ProxyError, match="batch of at least 2"):
        dextr_score(pooled_bn, randn(1, 3, 6, 6))
    # with a larger batch the feature pass works; the batch-of-one curve pass fails on that
    # BatchNorm, and, as officially, the score falls back to the SVD term
    batch = randn(2, 3, 6, 6)
    assert dextr_score(pooled_bn, batch, generator=generator(0)) == pytest.approx(
        math.log1p(svd_term(pooled_bn, batch)[0]))


def test_both_are_registered_and_run_through_score():
    assert get_proxy("near").accepts_generator and get_proxy("dextr").accepts_generator
    assert get_proxy("dextr").default_batch_size == 1 and get_proxy("dextr").needs_grad
    model, x = tiny_cnn(), randn(64, 3, 6, 6)
    result = score(model, ["near", "dextr"], x, seed=3)
    assert result == score(model, ["dextr", "near"], x, seed=3)
    assert all(math.isfinite(v) for v in result.values())
