"""Linear regions (`swap_core.regions`): counts against known bounds and hand-built networks,
piecewise linearity, chunking, the image plane, evaluation mode."""
from math import comb

import numpy as np
import pytest
import torch
import torch.nn as nn

from swap_core import init, regions
from swap_core.patterns import relu_hooks, train_mode


def linear(weight, bias) -> nn.Linear:
    weight = torch.tensor(weight, dtype=torch.float32)
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return layer


def grid_regions(model: nn.Module, extent: float, resolution: int) -> tuple[np.ndarray, np.ndarray, int]:
    axis, points = regions.plane_grid(extent, resolution)
    labels, count = regions.region_labels(regions.activation_codes(model, points))
    return axis, labels.reshape(resolution, resolution), count


def small_conv_net() -> nn.Module:
    """Built on the meta device, weights drawn from a generator of its own (torch's global one untouched)."""
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    return init.default_init_(model.to_empty(device="cpu"), init.generator(0))


def test_serra_bound_values():
    for width in (1, 2, 5, 16):
        assert regions.max_regions_bound([width]) == 1 + width + comb(width, 2)
    assert regions.max_regions_bound([1, 1]) == 3  # a chain of single units: the off side is flat
    assert regions.max_regions_bound([4, 4]) == 11**2
    assert regions.max_regions_bound([3], input_dim=1) == 4  # 3 points cut a line into 4


@pytest.mark.parametrize("width", [1, 2, 3, 6, 12])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_hidden_layer_respects_zaslavsky(width, seed):
    result = regions.toy_regions(1, width, seed, "gaussian", resolution=120, extent=4.0)
    assert 1 <= result.count <= 1 + width + comb(width, 2)
    assert result.bound == 1 + width + comb(width, 2)


@pytest.mark.parametrize("depth,width", [(2, 3), (3, 4), (2, 8)])
def test_deep_counts_respect_the_bound(depth, width):
    result = regions.toy_regions(depth, width, 3, "pytorch", resolution=150)
    assert result.count <= regions.max_regions_bound([width] * depth) == result.bound


def test_three_lines_in_general_position_give_seven_regions():
    model = nn.Sequential(linear([[1, 0], [0, 1], [1, 1]], [0, 0, -0.5]), nn.ReLU(), linear([[1, 1, 1]], [0]))
    assert grid_regions(model, 3.0, 100)[2] == 7 == regions.max_regions_bound([3])


def test_single_unit_splits_the_plane_at_zero():
    model = nn.Sequential(linear([[1, 0]], [0]), nn.ReLU(), linear([[1]], [0]))
    axis, labels, count = grid_regions(model, 1.0, 20)  # even: no grid point on x1 = 0
    assert count == 2
    edges = regions.region_boundaries(labels)
    columns = np.flatnonzero(edges.any(axis=0))
    assert columns.tolist() == [9] and edges[:, 9].all()
    assert axis[9] < 0 < axis[10]
    assert (labels[:, :10] == labels[0, 0]).all() and (labels[:, 10:] != labels[0, 0]).all()


def test_output_is_affine_inside_each_region():
    result = regions.toy_regions(3, 8, 5, "pytorch", resolution=121)
    f, labels = result.outputs, result.labels
    second = np.abs(f[:, 2:] - 2 * f[:, 1:-1] + f[:, :-2])
    same = (labels[:, 2:] == labels[:, 1:-1]) & (labels[:, :-2] == labels[:, 1:-1])
    assert same.sum() > 0.5 * same.size and (~same).sum() > 0
    assert second[same].max() < 1e-4
    assert second[~same].max() > 1e-3  # the kinks are where the regions change


def test_chunked_codes_equal_unchunked():
    model = regions.toy_mlp(3, 16, 1)
    _, points = regions.plane_grid(2.0, 37)
    whole = regions.activation_codes(model, points, chunk_size=len(points))
    assert whole.shape == (37 * 37, 3)  # 3 layers of 16 units, each padded to one word
    assert np.array_equal(whole, regions.activation_codes(model, points, chunk_size=7))
    done = []
    regions.activation_codes(model, points, chunk_size=500, progress=lambda d, t: done.append((d, t)))
    assert done == [(500, 1369), (1000, 1369), (1369, 1369)]


def test_digests_give_the_same_labels():
    model = regions.toy_mlp(2, 10, 2)
    _, points = regions.plane_grid(3.0, 50)
    exact = regions.region_labels(regions.activation_codes(model, points))
    hashed = regions.region_labels(regions.activation_codes(model, points, digest=True, chunk_size=333))
    assert exact[1] == hashed[1] > 10 and np.array_equal(exact[0], hashed[0])


@pytest.mark.parametrize("scheme", regions.TOY_MLP_INITS)
def test_toy_mlp_is_seeded_and_leaves_the_global_rng(scheme):
    state = torch.random.get_rng_state()
    a, b, c = (regions.toy_mlp(2, 4, seed, scheme) for seed in (7, 7, 8))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)
    assert (regions.toy_mlp(1, 4, 0, "kaiming")[0].bias == 0).all()
    with pytest.raises(ValueError, match="unknown init"):
        regions.toy_mlp(2, 4, 0, "xavier")


def test_image_plane_passes_through_the_three_images():
    x0, x1, x2 = torch.randn(3, 3, 8, 8).unbind()
    corners = regions.image_plane(x0, x1, x2, 5, span=(0.0, 1.0))
    assert torch.equal(corners.points(0, 1)[0], x0)
    assert torch.equal(corners.points(4, 5)[0], x1)  # (a, b) = (1, 0)
    assert torch.equal(corners.points(20, 21)[0], x2)  # (a, b) = (0, 1)
    assert torch.allclose(corners.points(2, 3)[0], (x0 + x1) / 2, atol=1e-6)
    plane = regions.image_plane(x0, x1, x2, 31)  # span (−0.25, 1.25): 0 and 1 are grid values
    ab = plane.coefficients()
    for point, (a, b) in zip((x0, x1, x2), [(0, 0), (1, 0), (0, 1)]):
        index = int(np.flatnonzero((ab[:, 0] == a) & (ab[:, 1] == b))[0])
        assert torch.equal(plane.points(index, index + 1)[0], point)


def test_eval_mode_makes_a_code_independent_of_its_chunk():
    model = small_conv_net().train()
    with train_mode(model):  # give BatchNorm running statistics that are not the identity
        model(torch.randn(64, 3, 8, 8) * 2 + 1)
    target, others = torch.randn(1, 3, 8, 8), torch.randn(15, 3, 8, 8) * 3
    alone = regions.activation_codes(model, target)
    assert model.training  # the model's mode is restored
    for company in (others, others[:3] + 5):
        batch = torch.cat([company, target])
        assert np.array_equal(regions.activation_codes(model, batch, chunk_size=16)[-1:], alone)
    # ...which training mode would not give: BatchNorm normalises with the chunk's statistics
    codes: list[np.ndarray] = []
    with train_mode(model), torch.no_grad(), relu_hooks(model, lambda _n, o: codes.append(o[-1] > 0)):
        model(torch.cat([others, target]))
        model(torch.cat([others[:3] + 5, target]))
    assert any(not torch.equal(a, b) for a, b in zip(codes[:2], codes[2:]))


def test_slice_regions_on_a_small_conv_net(monkeypatch):
    model = small_conv_net()
    x0, x1, x2 = torch.randn(3, 3, 8, 8).unbind()
    result = regions.slice_regions(model, x0, x1, x2, resolution=7, chunk_size=10)
    assert result.labels.shape == (7, 7) and 1 < result.count <= 49 and result.exact
    assert result.units == 4 * 8 * 8 + 6
    grid = {(0, 0): (1, 1), (1, 0): (1, 5), (0, 1): (5, 1)}  # axis: −0.25, 0, 0.25, ..., 1.25
    for label, (row, col) in zip(result.image_labels, grid.values()):
        assert label == result.labels[row, col]
    assert result.flips[1, 1] == 0 and result.flips.max() > 0
    monkeypatch.setattr(regions, "CODE_BUDGET", 0)
    hashed = regions.slice_regions(model, x0, x1, x2, resolution=7)
    assert not hashed.exact and np.array_equal(hashed.labels, result.labels)
    assert hashed.image_labels == result.image_labels and np.array_equal(hashed.flips, result.flips)


def test_tables():
    result = regions.toy_regions(2, 4, 0, resolution=30)
    table = regions.points_table(result)
    assert list(table.columns) == ["x", "y", "region", "boundary", "output"] and len(table) == 900
    assert table["region"].nunique() == result.count
    sizes = regions.region_sizes(result)
    assert sizes["points"].sum() == 900 and len(sizes) == result.count and (sizes["points"] > 0).all()
