"""FLOP-aware DARTS (issue 21, item 4): the candidate ops' FLOPs agree with `netstats.count_flops`
on built NB201 networks, λ = 0 is plain DARTS bit for bit, and a large λ moves α away from
the convolutions (swap_core.oneshot.darts)."""
import math

import numpy as np
import pytest
import torch

from swap_core.netstats import count_flops
from swap_core.oneshot import darts
from swap_core.spaces import get_space
from swap_core.spaces.nb201 import OPS, NB201Arch

SPACE = get_space("nb201")
TINY = darts.DartsConfig(channels=4, epochs=2, batch_size=16, n_train=32, n_val=32, input_size=8,
                         finetune_steps=1, source="noise")
CONVS = [OPS.index("nor_conv_1x1"), OPS.index("nor_conv_3x3")]

# α after TINY, seed 0, noise split, one thread: computed with the code before `flops_weight`
# existed (the exact equality with that code was checked when λ was added).
PLAIN_DARTS_ALPHA = [
    [-0.005275, -0.011424, 0.00483, 0.010129, -0.00388],
    [-0.008477, 0.002054, 0.01026, -0.00707, -0.007809],
    [-0.004168, -0.000391, 0.007808, -0.007936, -0.003715],
    [-0.00109, 0.000659, 0.004994, -0.007547, -0.002648],
    [0.005066, 0.011111, -0.0117, 0.002307, 0.00505],
    [-0.010895, 0.010949, 0.012854, -0.010451, -0.001081],
]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def flops_of(arch: str, preset: str = "benchmark") -> float:
    config = SPACE.config(preset)
    with torch.device("meta"):
        model = SPACE.build(arch, config)
    return count_flops(model, config.input_size)


def uniform_cell(op: str) -> str:
    return NB201Arch((op,) * 6).to_str()


def split(n: int = 32, size: int = 8) -> darts.Split:
    return darts.load_split(n, n, 0, source="noise", input_size=size)


@pytest.mark.parametrize("preset", ["benchmark", "teaching"])
def test_op_flops_match_count_flops_on_built_cells(preset):
    config = SPACE.config(preset)
    costs = darts.op_flops(config.channels, config.cells, config.input_size)
    skeleton = flops_of(uniform_cell("none"), preset)
    assert skeleton == pytest.approx(darts.skeleton_mflops(config.channels, config.num_classes, config.input_size))
    for op in OPS:
        assert flops_of(uniform_cell(op), preset) - skeleton == pytest.approx(6 * costs[op], abs=1e-9), op
    assert costs["nor_conv_1x1"] > 0 and costs["nor_conv_3x3"] == pytest.approx(9 * costs["nor_conv_1x1"])
    assert costs["none"] == costs["skip_connect"] == costs["avg_pool_3x3"] == 0


def test_cell_mflops_and_expected_mflops_agree_with_count_flops():
    arch = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|"
    assert darts.cell_mflops(arch) == pytest.approx(flops_of(arch))
    costs = darts.op_flops()
    ops = NB201Arch.from_str(arch).ops
    assert darts.cell_mflops(arch) == pytest.approx(darts.skeleton_mflops() + sum(costs[op] for op in ops))
    one_hot = np.full((6, 5), -50.0)
    for edge, op in enumerate(NB201Arch.from_str(arch).ops):
        one_hot[edge, OPS.index(op)] = 50.0
    assert darts.expected_mflops(one_hot) == pytest.approx(darts.cell_mflops(arch))
    uniform = darts.expected_mflops(np.zeros((6, 5)))
    assert uniform == pytest.approx(darts.skeleton_mflops() + 6 * (costs["nor_conv_1x1"] + costs["nor_conv_3x3"]) / 5)


def test_flops_loss_is_the_share_of_the_all_conv3x3_cell_and_pushes_convs_down():
    assert float(darts.flops_loss(torch.zeros(6, 5))) == pytest.approx((1 + 1 / 9) / 5)
    conv3 = torch.full((6, 5), -50.0)
    conv3[:, OPS.index("nor_conv_3x3")] = 50.0
    assert float(darts.flops_loss(conv3)) == pytest.approx(1.0)
    alpha = torch.zeros(6, 5, requires_grad=True)
    darts.flops_loss(alpha).backward()
    grad = alpha.grad[0]  # p_o (cost_o - mean cost): conv1x1 is cheaper than the uniform mix
    assert grad[OPS.index("nor_conv_3x3")] > 0 > grad[OPS.index("nor_conv_1x1")] > grad[OPS.index("skip_connect")]


def test_lambda_zero_is_plain_darts_bit_for_bit():
    data = split()
    plain = [s.alpha for s in darts.train_supernet(TINY, 0, data)]
    zero = [s.alpha for s in darts.train_supernet(darts.DartsConfig(**{**vars(TINY), "flops_weight": 0.0}), 0, data)]
    assert all(np.array_equal(a, b) for a, b in zip(plain, zero)) and len(plain) == len(zero) == 4
    assert np.asarray(plain[-1]) == pytest.approx(np.array(PLAIN_DARTS_ALPHA), abs=2e-6)
    priced = [s.alpha for s in darts.train_supernet(darts.DartsConfig(**{**vars(TINY), "flops_weight": 0.5}), 0, data)]
    assert not np.array_equal(priced[-1], plain[-1])  # λ reaches the α step


def conv_mass(alpha: np.ndarray) -> float:
    weights = np.exp(alpha) / np.exp(alpha).sum(axis=1, keepdims=True)
    return float(weights[:, CONVS].sum())


def test_a_large_lambda_moves_alpha_off_the_convolutions():
    data = split()
    config = darts.DartsConfig(**{**vars(TINY), "epochs": 1, "batch_size": 8, "arch_lr": 0.05})  # 4 α steps
    plain = list(darts.train_supernet(config, 0, data))[-1]
    priced = list(darts.train_supernet(darts.DartsConfig(**{**vars(config), "flops_weight": 20.0}), 0, data))[-1]
    assert conv_mass(priced.alpha) < conv_mass(plain.alpha) - 0.1  # of 6 edges' mass; uniform: 2.4
    conv3 = OPS.index("nor_conv_3x3")
    assert (priced.alpha[:, conv3] < plain.alpha[:, conv3]).all()
    assert priced.expected_mflops < plain.expected_mflops
    assert priced.flops_loss < plain.flops_loss < 1
    assert priced.expected_mflops == pytest.approx(darts.expected_mflops(priced.alpha))


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "1", True, None])
def test_bad_flops_weight_is_a_one_line_value_error(bad):
    with pytest.raises(ValueError, match="flops_weight must be a finite number >= 0") as info:
        darts.DartsConfig(flops_weight=bad)
    assert "\n" not in str(info.value)


def test_experiment_records_lambda_mflops_and_the_flops_history():
    config = darts.DartsConfig(**{**vars(TINY), "flops_weight": 2.0})
    (run,) = darts.darts_experiment(("magnitude",), (0,), config)["runs"]
    assert run["flops_weight"] == 2.0
    assert run["mflops"] == pytest.approx(flops_of(run["arch"]))
    assert len(run["mflops_history"]) == len(run["flops_loss_history"]) == len(run["alpha_history"]) == 3
    assert run["mflops_history"][0] == pytest.approx(darts.expected_mflops(np.zeros((6, 5))), abs=1e-3)
    assert run["mflops_history"][-1] < run["mflops_history"][0]  # priced: the expected cost falls
    assert math.isnan(run["accuracy"]) or 0 < run["accuracy"] < 100
