"""Linear regions of ReLU networks, drawn on a 2-D plane of inputs.

Fix the on/off state of every hidden ReLU unit and a ReLU network is an affine map; the
inputs that share one such *activation pattern* (code) form a convex polytope, a *linear
region*, and the network is piecewise linear over them (Montúfar et al., "On the Number of
Linear Regions of Deep Neural Networks", NeurIPS 2014). The maximum count grows
exponentially with depth (Serra, Tjandraatmadja & Ramalingam, "Bounding and Counting Linear
Regions of Deep Neural Networks", ICML 2018), while at initialisation the typical count
grows with the number of neurons (Hanin & Rolnick, "Complexity of Linear Regions in Deep
Networks", ICML 2019). TE-NAS (Chen et al., ICLR 2021) counts distinct codes among inputs as
an expressivity proxy; NASWOT (Mellor et al., ICML 2021) compares the codes of a batch; SWAP
(Peng et al., ICLR 2024) counts per-unit patterns over samples (`swap_core.patterns`).

Here: a toy MLP on 2-D inputs, a grid over its input plane, and a 2-D slice of image space
through three images; for each grid point the packed code of all hooked `nn.ReLU` units,
one label per distinct code (a region met by the grid: a lower bound at grid resolution),
and the boundary pixels where the code changes. Networks run in evaluation mode, so that
BatchNorm uses its running statistics (the identity at initialisation) and a point's code
depends on that point alone; in training mode BatchNorm would normalise with the statistics
of whichever points share its chunk. Only ReLU modules are seen: the max-pooling of DARTS
cells is also piecewise linear, so there a code's set of inputs may hold several pieces.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from math import comb

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from torch import Tensor

from . import init as seeded_init
from .patterns import eval_mode, relu_hooks

# How `toy_mlp` may initialise its layers (see `_initialise`; not the SWAP proxy's `gaussian`,
# which zeroes biases).
TOY_MLP_INITS = ("pytorch", "kaiming", "gaussian", "orthogonal")
Progress = Callable[[int, int], None]  # progress(points done, points in all)
CODE_BUDGET = 64 << 20  # bytes of exact codes kept per plane; above it, 128-bit digests


# --- networks -------------------------------------------------------------------------------
def _initialise(linear: nn.Linear, init: str, rng: torch.Generator) -> None:
    """Re-initialise one layer in place, drawing from `rng`. 'pytorch': as constructed
    (weights and biases uniform in ±1/√fan_in); 'kaiming': He et al. (ICCV 2015) normal
    weights, std √(2/fan_in), zero bias — every region is then a cone from the origin;
    'gaussian': weights and biases N(0, 1); 'orthogonal': Saxe et al. (ICLR 2014) orthogonal
    weights, gain √2, with PyTorch's default biases."""
    with torch.no_grad():
        if init == "kaiming":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=rng)
            nn.init.zeros_(linear.bias)
        elif init == "gaussian":
            nn.init.normal_(linear.weight, generator=rng)
            nn.init.normal_(linear.bias, generator=rng)
        elif init == "orthogonal":
            nn.init.orthogonal_(linear.weight, gain=2**0.5, generator=rng)


def toy_mlp(depth: int, width: int, seed: int = 0, init: str = "pytorch", input_dim: int = 2) -> nn.Sequential:
    """A ReLU MLP: `depth` hidden layers of `width` units (Linear, ReLU) and one scalar output.
    Weights are drawn from a generator seeded by `seed` (torch's global one is neither read
    nor advanced): first PyTorch's default scheme, then `init` (one of `TOY_MLP_INITS`) on top."""
    if init not in TOY_MLP_INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {list(TOY_MLP_INITS)}")
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}")
    with torch.device("meta"):
        layers: list[nn.Module] = []
        for fan_in in [input_dim] + [width] * (depth - 1):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
        layers.append(nn.Linear(width, 1))
    model = nn.Sequential(*layers).to_empty(device="cpu")
    rng = seeded_init.generator(seed)
    seeded_init.default_init_(model, rng)
    for layer in model:
        if isinstance(layer, nn.Linear):
            _initialise(layer, init, rng)
    return model.eval()


def max_regions_bound(widths: Sequence[int], input_dim: int = 2) -> int:
    """Serra et al. (ICML 2018), Theorem 1: a ReLU MLP with `input_dim` inputs and hidden
    widths n_1..n_L has at most Σ_J Π_l C(n_l, j_l) regions, J = {j : 0 ≤ j_l ≤ min(n_0,
    n_1 − j_1, ..., n_{l−1} − j_{l−1}, n_l)}. One hidden layer: Zaslavsky's count of the
    regions of n_1 hyperplanes in general position, Σ_{j ≤ n_0} C(n_1, j)."""
    caps = {input_dim: 1}  # current min(n_0, n_l − j_l, ...) -> sum of products so far
    for n in widths:
        nxt: dict[int, int] = defaultdict(int)
        for cap, total in caps.items():
            for j in range(min(cap, n) + 1):
                nxt[min(cap, n - j)] += total * comb(n, j)
        caps = nxt
    return sum(caps.values())


# --- planes of inputs -------------------------------------------------------------------------
def plane_grid(extent: float, resolution: int) -> tuple[np.ndarray, Tensor]:
    """Axis values (resolution,) over [−extent, extent] and the (resolution², 2) float32 grid
    points in row-major order: point r·resolution + c is (axis[c], axis[r])."""
    axis = np.linspace(-extent, extent, resolution)
    xs, ys = np.meshgrid(axis, axis)
    return axis, torch.from_numpy(np.stack([xs.ravel(), ys.ravel()], axis=1)).float()


@dataclass(frozen=True)
class ImagePlane:
    """The plane x0 + a·(x1 − x0) + b·(x2 − x0) of image space, sampled on `axis` × `axis`
    (point r·len(axis) + c has a = axis[c], b = axis[r]). Points are made chunk by chunk."""

    x0: Tensor
    x1: Tensor
    x2: Tensor
    axis: np.ndarray

    def __len__(self) -> int:
        return len(self.axis) ** 2

    def coefficients(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(a, b) of points start..stop, shape (n, 2)."""
        index = np.arange(start, len(self) if stop is None else stop)
        side = len(self.axis)
        return np.stack([self.axis[index % side], self.axis[index // side]], axis=1)

    def points(self, start: int, stop: int) -> Tensor:
        """Images of points start..stop. Written (1 − a − b)·x0 + a·x1 + b·x2, which is
        exactly x0, x1, x2 at (a, b) = (0, 0), (1, 0), (0, 1)."""
        ab = torch.from_numpy(self.coefficients(start, stop)).to(self.x0.dtype)
        weights = torch.stack([1 - ab[:, 0] - ab[:, 1], ab[:, 0], ab[:, 1]], dim=1)
        return torch.einsum("nk,k...->n...", weights, torch.stack([self.x0, self.x1, self.x2]))


def image_plane(x0: Tensor, x1: Tensor, x2: Tensor, resolution: int,
                span: tuple[float, float] = (-0.25, 1.25)) -> ImagePlane:
    """The slice of image space through three images (C×H×W), a and b over `span`. The axis
    is rounded to 12 decimals, so that 0 and 1 are exact grid values (and x0, x1, x2 grid
    points) whenever the grid reaches them: e.g. span (−0.25, 1.25) with resolution ≡ 1 mod 6."""
    if not x0.shape == x1.shape == x2.shape:
        raise ValueError(f"the three images differ in shape: {[tuple(x.shape) for x in (x0, x1, x2)]}")
    return ImagePlane(x0, x1, x2, np.round(np.linspace(span[0], span[1], resolution), 12))


# --- activation codes --------------------------------------------------------------------------
def _pack_rows(active: Tensor) -> np.ndarray:
    """(n, units) booleans -> (n, ceil(units/64)) uint64, bit u%64 of word u//64 = unit u."""
    packed = np.packbits(active.reshape(len(active), -1).cpu().numpy(), axis=1, bitorder="little")
    if packed.shape[1] % 8:
        packed = np.pad(packed, ((0, 0), (0, -packed.shape[1] % 8)))
    return packed.view(np.uint64)


def iter_codes(model: nn.Module, inputs: Tensor | ImagePlane, chunk_size: int = 1024,
               progress: Progress | None = None) -> Iterator[np.ndarray]:
    """Exact codes, chunk by chunk: (chunk, words) uint64, one row per input holding every
    hooked ReLU unit's bit (output > 0), layers in call order, each padded to 64 bits.
    Forward under no_grad in evaluation mode on the model's device."""
    total = len(inputs)
    points = (lambda a, b: inputs[a:b]) if isinstance(inputs, Tensor) else inputs.points
    device = next(model.parameters(), torch.empty(0)).device
    parts: list[np.ndarray] = []
    with torch.no_grad(), eval_mode(model), relu_hooks(model, lambda _n, out: parts.append(_pack_rows(out > 0))):
        for start in range(0, total, chunk_size):
            stop = min(start + chunk_size, total)
            parts.clear()
            model(points(start, stop).to(device))
            yield np.concatenate(parts, axis=1) if parts else np.zeros((stop - start, 0), np.uint64)
            if progress is not None:
                progress(stop, total)


def activation_codes(model: nn.Module, inputs: Tensor | ImagePlane, chunk_size: int = 1024, *,
                     digest: bool = False, progress: Progress | None = None) -> np.ndarray:
    """Codes of all inputs, (n, words) uint64 (see `iter_codes`). `digest=True` keeps only a
    128-bit BLAKE2b digest of each code, (n, 2) uint64: equal codes give equal digests, and
    distinct codes collide with probability about n²/2¹²⁹, so memory is 16 bytes a point."""
    chunks = iter_codes(model, inputs, chunk_size, progress)
    return np.concatenate([digest_rows(c) if digest else c for c in chunks])


def digest_rows(codes: np.ndarray) -> np.ndarray:
    """A 128-bit BLAKE2b digest of each row, (n, 2) uint64."""
    rows = np.ascontiguousarray(codes)
    digests = b"".join(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows)
    return np.frombuffer(digests, dtype=np.uint64).reshape(len(rows), 2).copy()


def region_labels(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """One label per row, equal iff the codes are equal, numbered 0.. in order of first
    appearance; and the number of distinct codes."""
    if len(codes) == 0:
        return np.zeros(0, np.int64), 0
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.reshape(-1)], len(first)


def region_boundaries(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of the grid points whose right or upper neighbour lies in another region."""
    edges = np.zeros(labels.shape, bool)
    edges[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edges[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edges


def activation_code_bits(model: nn.Module, example: Tensor) -> int:
    """The length of one activation code: the units of every `nn.ReLU` call for one input
    (all of them, not only those with 4-D input; one forward of `example[:1]`)."""
    sizes: list[int] = []
    device = next(model.parameters(), torch.empty(0)).device
    with torch.no_grad(), eval_mode(model), relu_hooks(model, lambda _n, out: sizes.append(out[0].numel())):
        model(example[:1].to(device))
    return sum(sizes)


# --- everything a page shows ---------------------------------------------------------------------
@dataclass(frozen=True)
class PlaneRegions:
    """Regions met by a grid on a plane: `labels` (rows × cols; row r is ys[r], column c is
    xs[c]; numbered in order of first appearance), `boundaries`, `count` (distinct codes
    met: a lower bound, at grid resolution, on the regions the plane crosses) and `units`
    (hooked ReLU units, the bits of a code)."""

    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray
    boundaries: np.ndarray
    count: int
    units: int
    axis_names = ("x", "y")

    def per_point(self) -> dict[str, np.ndarray]:
        return {}


@dataclass(frozen=True)
class ToyRegions(PlaneRegions):
    """`PlaneRegions` of a toy MLP, with its scalar `outputs` on the grid and Serra et al.'s
    upper `bound` on the regions of any network of its widths."""

    outputs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    bound: int = 0

    def per_point(self) -> dict[str, np.ndarray]:
        return {"output": self.outputs.ravel()}


@dataclass(frozen=True)
class SliceRegions(PlaneRegions):
    """`PlaneRegions` of a slice of image space: `flips` (units whose bit differs from x0's
    code), `image_labels` (the region of x0, x1, x2 among the grid's labels, −1 when no grid
    point shares it), `exact` (False when codes were compared by 128-bit digests)."""

    flips: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    image_labels: tuple[int, ...] = ()
    exact: bool = True
    axis_names = ("a", "b")

    def per_point(self) -> dict[str, np.ndarray]:
        return {"units_flipped_vs_x0": self.flips.ravel()}


def toy_regions(depth: int, width: int, seed: int = 0, init: str = "pytorch", resolution: int = 200,
                extent: float = 3.0) -> ToyRegions:
    """The regions of `toy_mlp(depth, width, seed, init)` met by a resolution² grid over
    [−extent, extent]², with the network's output on the grid."""
    model = toy_mlp(depth, width, seed, init)
    axis, points = plane_grid(extent, resolution)
    labels, count = region_labels(activation_codes(model, points, chunk_size=1 << 14))
    labels = labels.reshape(resolution, resolution)
    with torch.no_grad():
        outputs = model(points)[:, 0].numpy().reshape(resolution, resolution)
    return ToyRegions(axis, axis, labels, region_boundaries(labels), count, depth * width,
                      outputs=outputs, bound=max_regions_bound([width] * depth))


def _label_of(keys: np.ndarray, labels: np.ndarray, key: np.ndarray) -> int:
    matches = np.flatnonzero((keys == key).all(axis=1))
    return int(labels[matches[0]]) if len(matches) else -1


def slice_regions(model: nn.Module, x0: Tensor, x1: Tensor, x2: Tensor, resolution: int = 32,
                  span: tuple[float, float] = (-0.25, 1.25), chunk_size: int | None = None,
                  progress: Progress | None = None) -> SliceRegions:
    """The regions of `model` (evaluation mode) met by a resolution² grid on the plane
    through x0, x1, x2 (`image_plane`), in chunks. Exact codes are kept while they fit in
    `CODE_BUDGET`, else 128-bit digests, so memory stays bounded for large networks."""
    plane = image_plane(x0, x1, x2, resolution, span)
    units = activation_code_bits(model, x0[None])
    corners = activation_codes(model, torch.stack([x0, x1, x2]))
    exact = len(plane) * corners.shape[1] * 8 <= CODE_BUDGET
    chunk = chunk_size or int(np.clip((1 << 23) // max(units, 1), 8, 1024))
    keys, flips = [], []
    for codes in iter_codes(model, plane, chunk, progress):
        flips.append(np.bitwise_count(codes ^ corners[0]).sum(axis=1))
        keys.append(codes if exact else digest_rows(codes))
    keys = np.concatenate(keys)
    flat, count = region_labels(keys)
    image_keys = corners if exact else digest_rows(corners)
    labels = flat.reshape(resolution, resolution)
    return SliceRegions(plane.axis, plane.axis, labels, region_boundaries(labels), count, units,
                        flips=np.concatenate(flips).reshape(resolution, resolution),
                        image_labels=tuple(_label_of(keys, flat, k) for k in image_keys), exact=exact)


def points_table(result: PlaneRegions) -> pd.DataFrame:
    """One row per grid point: its two coordinates, region label, boundary flag, and the
    result's per-point values (the toy's output, a slice's units flipped vs x0)."""
    xs, ys = np.meshgrid(result.xs, result.ys)
    return pd.DataFrame({result.axis_names[0]: xs.ravel(), result.axis_names[1]: ys.ravel(),
                         "region": result.labels.ravel(), "boundary": result.boundaries.ravel(),
                         **result.per_point()})


def region_sizes(result: PlaneRegions) -> pd.DataFrame:
    """One row per region met: its label and how many grid points (and what share) lie in it."""
    sizes = np.bincount(result.labels.ravel(), minlength=result.count)
    return pd.DataFrame({"region": np.arange(result.count), "points": sizes, "share": sizes / sizes.sum()})
