"""What the Activation Patterns page shows: the binary activity matrix of a ReLU network in
its two readings, the NASWOT kernel, a per-layer breakdown and the SWAP saturation sweeps.

Conventions (shared by every function here):

* **Units** are the outputs of every hooked `nn.ReLU` call: channel × position, flattened
  in (C, H, W) order, calls in forward order. A module called twice contributes twice.
  Unless said otherwise the unit set is SWAP's: ReLUs whose input is 4-D (Peng et al.,
  "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR 2024, official
  code pym1024/SWAP), and every forward runs with BatchNorm in training mode
  (`patterns.train_mode`, which restores the model afterwards).
* **The activity matrix** A is boolean, shape (samples N × units U): A[i, u] says that unit
  u's output is > 0 on sample i. Its rows are the *standard* activation patterns (one code
  per input, the view of NASWOT: Mellor et al., "Neural Architecture Search without
  Training", ICML 2021); the rows of Aᵀ are the *sample-wise* patterns (one N-bit string
  per unit, SWAP). Distinct standard patterns ≤ N; distinct sample-wise ≤ min(U, 2^N).
* **Saturation tables** (the SWAP paper's argument for its higher capacity) have one row
  per measurement and the columns `batch_size`, `input_size`, `units`, `standard`,
  `sample_wise`, `standard_bound` (= N) and `sample_wise_bound` (= min(units, 2^N)).

Counts over all units come from `swap_core.patterns` (`count_sample_wise_patterns`,
`layer_patterns`, `naswot_kernel`) and from `count_standard`, the refinement of
`patterns.count_standard_patterns` with sample codes packed in blocks of units (linear, not
quadratic, in a layer's width). Only the displayed subset of units is unpacked into a
boolean matrix, so memory stays at the packed 8·⌈N/64⌉ bytes per unit.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from torch import Tensor

from .patterns import (
    CODE_BLOCK, count_sample_wise_patterns, count_standard_patterns, layer_patterns, naswot_kernel,
    pack_sample_bits, relu_hooks, train_mode,
)
from .init import gaussian_init_, generator
from .proxies.swap import INITS as SWAP_INITS
from .setup import Setup

INITS = tuple(reversed(SWAP_INITS))  # PyTorch's own initialisation (NASWOT) first, or N(0, 1) as SWAP
RESOLUTIONS = (8, 16, 24, 32, 48, 64)
SATURATION_COLUMNS = ["batch_size", "input_size", "units", "standard", "sample_wise",
                      "standard_bound", "sample_wise_bound"]
Progress = Callable[[int, int], None]  # (points done, points in all)


def build_network(setup: Setup, arch: str, init: str = "default") -> nn.Module:
    """The network the page looks at: `setup.network(arch)` (PyTorch's default init, the
    weights NASWOT scores), or with `init="gaussian"` SWAP's N(0, 1) weights drawn exactly as
    the `swap` proxy draws them for this cell, so the page's SWAP count is `Setup.score`'s."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {list(INITS)}")
    model = setup.network(arch)
    return gaussian_init_(model, generator(setup.cell_seed(arch))) if init == "gaussian" else model


def _labelled(names: Sequence[str]) -> list[str]:
    """Module names of ReLU calls, with ' #k' appended to the k-th call (k ≥ 2) of a module."""
    seen: Counter[str] = Counter()
    labels = []
    for name in names:
        seen[name] += 1
        labels.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return labels


def relu_units(model: nn.Module, inputs: Tensor, *, spatial_only: bool = True) -> list[tuple[str, int]]:
    """(label, units) of every hooked ReLU call, in forward order (BatchNorm in training mode)."""
    calls: list[tuple[str, int]] = []
    with train_mode(model), torch.no_grad(), relu_hooks(
            model, lambda name, out: calls.append((name, out[0].numel())), spatial_only=spatial_only):
        model(inputs)
    return list(zip(_labelled([name for name, _ in calls]), [units for _, units in calls]))


def count_standard(model: nn.Module, inputs: Tensor, *, block: int = CODE_BLOCK) -> int:
    """Distinct standard patterns over SWAP's units (ReLUs with 4-D input, BatchNorm in
    training mode): `patterns.count_standard_patterns`, whose codes are packed in blocks
    of `block` units so that time and memory grow linearly with a layer's width."""
    with train_mode(model):
        return count_standard_patterns(model, inputs, spatial_only=True, block=block)


def sample_wise_bound(units: int, samples: int) -> int:
    """The most distinct sample-wise patterns U units can show on N samples: min(U, 2^N)."""
    return min(units, 2**samples)


@dataclass(frozen=True)
class ActivationMatrix:
    """A displayed subset of the activity matrix A, and counts over all of A.

    `standard` is A restricted to the shown units (bool, samples × shown units); the shown
    units are `unit_index` (sorted positions among all `total_units`) from the ReLU calls
    `unit_layer`. `sample_wise` is its transpose. The distinct counts cover every unit."""

    standard: np.ndarray
    unit_index: np.ndarray
    unit_layer: tuple[str, ...]
    total_units: int
    layers: tuple[tuple[str, int], ...]
    standard_distinct: int
    sample_wise_distinct: int

    @property
    def samples(self) -> int:
        return self.standard.shape[0]

    @property
    def sample_wise(self) -> np.ndarray:
        return self.standard.T

    @property
    def standard_bound(self) -> int:
        return self.samples

    @property
    def sample_wise_bound(self) -> int:
        return sample_wise_bound(self.total_units, self.samples)

    def shown_distinct(self) -> tuple[int, int]:
        """(standard, sample-wise) distinct rows among the shown units only."""
        return distinct_count(self.standard), distinct_count(self.sample_wise)


def distinct_count(matrix: np.ndarray) -> int:
    """Distinct rows of a 2-D array (0 for a matrix without rows)."""
    if matrix.shape[0] == 0:
        return 0
    return len(np.unique(matrix, axis=0))


def unpack_sample_bits(rows: np.ndarray, samples: int) -> np.ndarray:
    """Inverse of `patterns.pack_sample_bits`: (U, W) int64 words -> (U, N) bool patterns."""
    bits = (rows[:, :, None] >> np.arange(64, dtype=np.int64)) & 1  # arithmetic shift: sign bit too
    return bits.reshape(len(rows), -1)[:, :samples].astype(bool)


def _packed_units(model: nn.Module, inputs: Tensor) -> tuple[list[str], list[Tensor]]:
    """Labels and packed (U_l, W) sample patterns of every SWAP-hooked ReLU call."""
    names, packed = [], []

    def keep(name: str, out: Tensor) -> None:
        names.append(name)
        packed.append(pack_sample_bits(out.reshape(len(out), -1) > 0).cpu())

    with train_mode(model), torch.no_grad(), relu_hooks(model, keep, spatial_only=True):
        model(inputs)
    return _labelled(names), packed


def activation_matrix(model: nn.Module, inputs: Tensor, max_units: int = 300, seed: int = 0) -> ActivationMatrix:
    """The activity matrix on `inputs` (SWAP's units), showing at most `max_units` units.

    Shown units are drawn uniformly without replacement from all units by
    `numpy.random.default_rng(seed)` and kept in forward order, so the same seed shows the
    same units. Distinct counts are over all units, from `count_standard` and
    `patterns.count_sample_wise_patterns` (each a further forward pass, BatchNorm in training mode).
    """
    if max_units < 1:
        raise ValueError(f"max_units must be at least 1, got {max_units}")
    labels, packed = _packed_units(model, inputs)
    sizes = [len(rows) for rows in packed]
    total = sum(sizes)
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=min(max_units, total), replace=False))
    all_rows = torch.cat(packed).numpy() if packed else np.zeros((0, 1), dtype=np.int64)
    layer_of = np.searchsorted(np.cumsum(sizes), chosen, side="right")
    with train_mode(model):
        sample_wise = count_sample_wise_patterns(model, inputs, spatial_only=True)
    return ActivationMatrix(
        standard=unpack_sample_bits(all_rows[chosen], len(inputs)).T.copy(),
        unit_index=chosen.astype(np.int64), unit_layer=tuple(labels[i] for i in layer_of),
        total_units=total, layers=tuple(zip(labels, sizes)),
        standard_distinct=count_standard(model, inputs), sample_wise_distinct=sample_wise,
    )


def group_identical_rows(matrix: np.ndarray) -> np.ndarray:
    """A row order (indices) that sorts a boolean matrix's rows, so equal rows are adjacent."""
    if matrix.shape[1] == 0:
        return np.arange(len(matrix))
    return np.lexsort(matrix.T[::-1])


def first_copy(matrix: np.ndarray) -> np.ndarray:
    """For each row of a 2-D array, the index of the first row equal to it (itself when it
    is the first of its kind): the small example marks row r as "same as row k" where
    first_copy[r] = k < r, so the distinct count is the number of rows with first_copy[r] = r."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    _values, first, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)].astype(np.int64)


def naswot_logdet(kernel: np.ndarray | Tensor) -> float:
    """log|det K_H| as the NASWOT proxy scores it (float64 `slogdet`, sign dropped)."""
    _sign, logabsdet = torch.linalg.slogdet(torch.as_tensor(kernel, dtype=torch.float64))
    return float(logabsdet)


@dataclass(frozen=True)
class KernelView:
    """The NASWOT kernel K_H (N × N, float64) of a batch, its log|det|, and the ReLU calls
    and units it sums over (every `nn.ReLU`, whatever its input's rank, as NASWOT hooks)."""

    kernel: np.ndarray
    logdet: float
    relu_calls: int
    units: int


def naswot_view(model: nn.Module, inputs: Tensor) -> KernelView:
    """K_H[i, j] = units on which samples i and j agree, as `proxies.naswot` computes it."""
    with train_mode(model):
        kernel = naswot_kernel(model, inputs, spatial_only=False)
    calls = relu_units(model, inputs, spatial_only=False)
    return KernelView(kernel.cpu().numpy(), naswot_logdet(kernel), len(calls), sum(u for _, u in calls))


def layer_table(model: nn.Module, inputs: Tensor) -> pd.DataFrame:
    """Per ReLU call (SWAP's units, BatchNorm in training mode): units, distinct sample-wise
    and standard patterns within that call alone, and their bounds."""
    with train_mode(model):
        layers = layer_patterns(model, inputs, spatial_only=True)
    n = len(inputs)
    return pd.DataFrame({
        "layer": _labelled([layer.name for layer in layers]),
        "units": [layer.units for layer in layers],
        "sample_wise": [layer.sample_wise for layer in layers],
        "standard": [layer.standard for layer in layers],
        "sample_wise_bound": [sample_wise_bound(layer.units, n) for layer in layers],
        "standard_bound": [n] * len(layers),
    })


def saturation_point(model: nn.Module, inputs: Tensor, units: int | None = None) -> dict[str, int]:
    """One row of a saturation table (see the module docstring) for this batch of inputs."""
    n = len(inputs)
    if units is None:
        units = sum(u for _, u in relu_units(model, inputs))
    with train_mode(model):
        sample_wise = count_sample_wise_patterns(model, inputs, spatial_only=True)
    return {"batch_size": n, "input_size": int(inputs.shape[-1]), "units": units,
            "standard": count_standard(model, inputs), "sample_wise": sample_wise,
            "standard_bound": n, "sample_wise_bound": sample_wise_bound(units, n)}


def batch_sizes(max_batch: int) -> list[int]:
    """2, 4, 8, … up to `max_batch` (which is included even when not a power of two)."""
    if max_batch < 2:
        raise ValueError(f"the largest batch must be at least 2 (BatchNorm needs two samples), got {max_batch}")
    sizes = [2**k for k in range(1, max_batch.bit_length()) if 2**k <= max_batch]
    return sizes if sizes[-1] == max_batch else sizes + [max_batch]


def saturation_vs_batch(model: nn.Module, images: Tensor, sizes: Sequence[int],
                        progress: Progress | None = None) -> pd.DataFrame:
    """Distinct patterns on the first n images, for each n in `sizes` (each its own forward,
    so BatchNorm statistics are those of the n images)."""
    if max(sizes) > len(images) or min(sizes) < 2:
        raise ValueError(f"batch sizes must lie in [2, {len(images)}], got {list(sizes)}")
    units = sum(u for _, u in relu_units(model, images[:2]))  # units do not depend on the batch size
    rows = []
    for done, n in enumerate(sizes, 1):
        rows.append(saturation_point(model, images[:n], units))
        if progress:
            progress(done, len(sizes))
    return pd.DataFrame(rows, columns=SATURATION_COLUMNS)


def saturation_vs_resolution(model: nn.Module, images_at: Callable[[int], Tensor] | Mapping[int, Tensor],
                             sizes: Sequence[int] = RESOLUTIONS, progress: Progress | None = None) -> pd.DataFrame:
    """Distinct patterns of one batch as the input side grows: `images_at(s)` (or a mapping)
    gives the batch at s × s pixels. Needs a network with global pooling (NB201, DARTS)."""
    load = images_at.__getitem__ if isinstance(images_at, Mapping) else images_at
    rows = []
    for done, size in enumerate(sizes, 1):
        rows.append(saturation_point(model, load(size)))
        if progress:
            progress(done, len(sizes))
    return pd.DataFrame(rows, columns=SATURATION_COLUMNS)


__all__ = [
    "INITS", "RESOLUTIONS", "SATURATION_COLUMNS", "ActivationMatrix", "KernelView",
    "activation_matrix", "batch_sizes", "first_copy", "build_network", "count_standard", "distinct_count",
    "group_identical_rows", "layer_table", "naswot_logdet", "naswot_view", "relu_units",
    "sample_wise_bound", "saturation_point", "saturation_vs_batch", "saturation_vs_resolution", "unpack_sample_bits",
]
