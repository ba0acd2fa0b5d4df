"""Binary activation patterns of ReLU networks: SWAP counts, the NASWOT kernel, breakdowns.

A ReLU unit is *active* on a sample when its output is > 0. Stack the activity of every
unit of every hooked ReLU layer into a binary matrix A of shape (samples N × units U).

* **Sample-wise activation patterns** (SWAP, Peng et al., "SWAP-NAS: Sample-Wise Activation
  Patterns for Ultra-fast NAS", ICLR 2024): the rows of Aᵀ, one N-bit pattern per unit. The
  SWAP-Score is the number of distinct such rows, at most min(U, 2^N). The official code
  (pym1024/SWAP, src/metrics/swap.py) hooks every `nn.ReLU` whose input is 4-D, concatenates
  the flattened outputs of all layers, takes `sign`, transposes and counts
  `torch.unique(dim=0)` rows, so a pattern seen in two layers counts once.
* **Standard activation patterns** (the NASWOT view, Mellor et al., "Neural Architecture
  Search without Training", ICML 2021): the rows of A, one U-bit code per sample. NASWOT
  scores log|det K_H| with K_H[i, j] = N_A − Hamming(c_i, c_j), summed over layers.

`count_sample_wise_patterns` never builds the float (U × N) matrix: at each ReLU, while the
forward pass runs, each unit's N sample bits are packed into ceil(N/64) int64 words and the
layer's float activity is dropped. Packed rows go into a set of distinct rows (a table of
2**N flags for small N, else sorted and deduplicated whenever enough rows are pending), so
memory is bounded by 8·W bytes per unit or per distinct pattern, not 4·N per unit.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

ReluCallback = Callable[[str, Tensor], None]


@contextmanager
def relu_hooks(model: nn.Module, callback: ReluCallback, *, spatial_only: bool = False) -> Iterator[int]:
    """Call `callback(layer_name, output)` for every `nn.ReLU` call during forward passes.

    Hooks are registered in module order and removed on exit, even on error. Yields the
    number of hooked modules. `spatial_only` keeps only ReLUs whose input is 4-D (N, C, H,
    W), as the official SWAP code does. Functional `F.relu` calls are invisible to hooks.
    """
    handles = []

    def make_hook(name: str):
        def hook(_module: nn.Module, inputs: tuple, output: Tensor) -> None:
            if spatial_only and inputs[0].dim() != 4:
                return
            callback(name, output.detach())

        return hook

    try:
        for name, module in model.named_modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_forward_hook(make_hook(name)))
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Switch the whole model to training or evaluation mode, then restore each module's own."""
    modes = {m: m.training for m in model.modules()}
    model.train(training)
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.training = mode


@contextmanager
def train_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run `model` in training mode (BatchNorm uses batch statistics), then undo everything:
    restore each module's mode and the BatchNorm running statistics the forward updated."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    saved = [{k: v.clone() for k, v in m.named_buffers(recurse=False) if v is not None} for m in norms]
    with _mode(model, True):
        try:
            yield model
        finally:
            with torch.no_grad():
                for module, buffers in zip(norms, saved):
                    for key, value in buffers.items():
                        getattr(module, key).copy_(value)


def eval_mode(model: nn.Module):
    """Run `model` in evaluation mode (BatchNorm uses its running statistics, so an input's
    activations do not depend on the rest of the batch), then restore each module's mode."""
    return _mode(model, False)


# --- packing ------------------------------------------------------------------------------
_CHUNK = 16  # bits summed per float32 partial sum: |sum| < 2**16, exact whatever the order


@functools.lru_cache(maxsize=64)
def _chunk_weights(n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Float32 weights (chunks, n) of the 16-bit chunks, and int64 scales (4·W, 1).

    Row c of the weights holds 2**(i − 16c) for the samples i of chunk c, except that bit 63
    of a word weighs −2**15: the top chunk of a word is then a signed 16-bit number, and
    Σ_c chunk_c · 2**(16·(c mod 4)) is the word's two's-complement value, with no overflow.
    """
    samples = torch.arange(n)
    weights = torch.zeros(-(-n // _CHUNK), n)
    weights[samples // _CHUNK, samples] = 2.0 ** (samples % _CHUNK).float()
    sign_bits = samples[samples % 64 == 63]
    weights[sign_bits // _CHUNK, sign_bits] = -(2.0**15)
    scales = 2 ** (16 * (torch.arange(4 * -(-n // 64)) % 4))
    return weights.to(device), scales.view(-1, 1).to(device)


def _pack01(x: Tensor) -> Tensor:
    """Pack a (N, U) float32 matrix of 0/1 into (U, W) int64 words (see `pack_sample_bits`)."""
    n, units = x.shape
    if n == 0:
        raise ValueError("cannot pack activation patterns of an empty batch")
    weights, scales = _chunk_weights(n, x.device)
    sums = weights @ x  # (chunks, U)
    if torch.isnan(sums).any():  # NaN activity (sign of a NaN output): inactive, as NaN > 0 is False
        sums = weights @ torch.nan_to_num(x, nan=0.0)
    parts = sums.to(torch.int64)
    if len(parts) == 1:
        return parts.T
    if len(parts) < len(scales):  # the last word has fewer than 4 chunks: pad with zeros
        parts = torch.cat([parts, parts.new_zeros(len(scales) - len(parts), units)])
    return (parts * scales).view(-1, 4, units).sum(dim=1).T


def pack_sample_bits(active: Tensor) -> Tensor:
    """Pack a (N, U) boolean activity matrix into a (U, W) int64 tensor, W = ceil(N / 64).

    Bit b of word w of unit u is `active[64·w + b, u]`, in two's complement: sample 64·w + 63
    is the sign bit. Missing samples of the last word are 0. Two units have equal rows iff
    their N-bit sample patterns are equal. Computed with one float32 matmul against powers
    of two in 16-bit chunks (exact: every partial sum is an integer below 2**16) and an
    overflow-free int64 combination of the chunks.
    """
    if active.dim() != 2:
        raise ValueError(f"expected a (samples, units) matrix, got shape {tuple(active.shape)}")
    return _pack01(active.to(torch.float32))


def _binary(output: Tensor, buffer: Tensor | None = None) -> Tensor:
    """(N, U) float32 0/1 activity of a ReLU output. For a ReLU's non-negative output
    `sign` equals `output > 0`, in one pass; `buffer` (float32, large enough) is reused
    instead of allocating, which saves page faults on large layers."""
    flat = output.reshape(output.shape[0], -1)
    if buffer is None or flat.dtype != torch.float32 or buffer.numel() < flat.numel():
        return torch.sign(flat).float()
    return torch.sign(flat, out=buffer[: flat.numel()].view(flat.shape))


class _Binarizer:
    """`_binary` with a workspace that grows to the largest layer and is reused."""

    def __init__(self) -> None:
        self._buffer: Tensor | None = None

    def __call__(self, output: Tensor) -> Tensor:
        if output.dtype == torch.float32 and (self._buffer is None or self._buffer.numel() < output.numel()
                                              or self._buffer.device != output.device):
            self._buffer = torch.empty(output.numel(), device=output.device)
        return _binary(output, self._buffer)


def _sorted_with_starts(rows: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a CPU (R ≥ 1, W) int64 tensor in sorted order, and a mask of the rows that
    differ from their predecessor (NumPy's sort: several times faster than torch's here)."""
    array = rows.numpy()
    if array.shape[1] == 1:
        ordered = np.sort(array[:, 0])
        return ordered, np.concatenate(([True], ordered[1:] != ordered[:-1]))
    ordered = array[np.lexsort(array.T[::-1])]
    return ordered, np.concatenate(([True], np.any(ordered[1:] != ordered[:-1], axis=1)))


def distinct_rows(rows: Tensor) -> Tensor:
    """The distinct rows of a (R, W) int64 tensor, sorted."""
    if rows.shape[0] <= 1:
        return rows
    if rows.device.type != "cpu":
        if rows.shape[1] > 1:
            return torch.unique(rows, dim=0)
        return torch.unique(rows.reshape(-1)).view(-1, 1)
    ordered, starts = _sorted_with_starts(rows)
    return torch.from_numpy(ordered[starts]).view(-1, rows.shape[1])


def count_distinct_rows(rows: Tensor) -> int:
    """How many distinct rows a (R, W) int64 tensor has."""
    if rows.shape[0] <= 1 or rows.device.type != "cpu":
        return len(distinct_rows(rows))
    return int(np.count_nonzero(_sorted_with_starts(rows)[1]))


class DistinctRowSet:
    """A set of packed (R, W) rows with bounded memory: added blocks wait in a list and are
    deduplicated together whenever more than `merge_at` rows wait (and at the end), so the
    set never holds more than about 2 · max(merge_at, distinct rows) rows."""

    def __init__(self, merge_at: int = 1 << 22) -> None:
        self._blocks: list[Tensor] = []
        self._rows = 0
        self._merge_at = merge_at

    def add(self, rows: Tensor) -> None:
        self._blocks.append(rows)
        self._rows += len(rows)
        if self._rows > self._merge_at:
            self._merge()
            self._merge_at = max(self._merge_at, 2 * self._rows)

    def _merge(self) -> None:
        if self._blocks:
            self._blocks = [distinct_rows(torch.cat(self._blocks))]
            self._rows = len(self._blocks[0])

    def __len__(self) -> int:
        if len(self._blocks) > 1:
            return count_distinct_rows(torch.cat(self._blocks))
        return count_distinct_rows(self._blocks[0]) if self._blocks else 0


class PatternTable:
    """The set of distinct N-bit patterns for small N, as a table of 2**N flags: adding a
    block of codes is one scatter, with no sorting. Used when N ≤ `TABLE_BITS`."""

    def __init__(self, bits: int, device: torch.device | str = "cpu") -> None:
        self._seen = torch.zeros(2**bits, dtype=torch.bool, device=device)

    def add(self, rows: Tensor) -> None:
        self._seen.index_fill_(0, rows.reshape(-1), True)

    def __len__(self) -> int:
        return int(self._seen.sum())


TABLE_BITS = 20  # a 1 MiB table; above this, sorting the packed rows is cheaper


# --- SWAP ---------------------------------------------------------------------------------
def count_sample_wise_patterns(model: nn.Module, inputs: Tensor, *, spatial_only: bool = True) -> int:
    """SWAP count: distinct sample-wise activation patterns over all hooked ReLU units.

    One forward pass under no_grad in the model's current mode (the SWAP proxy uses
    `train_mode`). Each layer's rows are packed as the forward runs (no float matrix
    outlives its layer) and go into a table of 2**N flags for small batches, else into a
    `DistinctRowSet` that deduplicates whenever its pending rows pass a bound.
    """
    n = len(inputs)
    seen = PatternTable(n, inputs.device) if n <= TABLE_BITS else DistinctRowSet()
    binary = _Binarizer()
    with torch.no_grad(), relu_hooks(model, lambda _n, out: seen.add(_pack01(binary(out))), spatial_only=spatial_only):
        model(inputs)
    return len(seen)


def count_sample_wise_patterns_naive(model: nn.Module, inputs: Tensor, *, spatial_only: bool = True) -> int:
    """Reference SWAP count as the official code computes it: concatenate the sign matrices
    of all layers (float, samples × units), transpose, count `torch.unique(dim=0)` rows."""
    signs: list[Tensor] = []
    with torch.no_grad(), relu_hooks(model, lambda _n, out: signs.append(_binary(out)), spatial_only=spatial_only):
        model(inputs)
    if not signs:
        return 0
    return torch.unique(torch.cat(signs, dim=1).T, dim=0).shape[0]


# --- standard patterns and the NASWOT kernel -----------------------------------------------
def _layer_kernel(x: Tensor) -> Tensor:
    """N_A − Hamming distance between the samples' codes of one layer: x xᵀ + (1−x)(1−x)ᵀ,
    computed as 2·x xᵀ − s_i − s_j + U with s the per-sample active counts."""
    units = x.shape[1]
    if units >= 2**24:  # float32 sums of 0/1 stay exact below 2**24
        x = x.double()
    agree = (x @ x.T).double()
    active = x.sum(1).double()
    return 2 * agree - active[:, None] - active[None, :] + units


def naswot_kernel(model: nn.Module, inputs: Tensor, *, spatial_only: bool = False) -> Tensor:
    """K_H (N × N, float64): for every pair of samples, the number of hooked ReLU units on
    which they agree (N_A − Hamming distance), summed over all ReLU layers as the official
    NASWOT code accumulates `x xᵀ + (1−x)(1−x)ᵀ` per layer. One forward under no_grad."""
    kernel = torch.zeros(len(inputs), len(inputs), dtype=torch.float64, device=inputs.device)

    def add(_name: str, out: Tensor) -> None:
        kernel.add_(_layer_kernel(_binary(out)))

    with torch.no_grad(), relu_hooks(model, add, spatial_only=spatial_only):
        model(inputs)
    return kernel


def count_equal_classes(agree: Tensor, units: float) -> int:
    """Distinct codes among N samples, given their agreement matrix (`units` where equal)."""
    equal = agree == units
    first = ~torch.tril(equal, diagonal=-1).any(dim=1)  # no earlier sample has the same code
    return int(first.sum())


class _AllDistinct(Exception):
    """Raised from a hook once every sample has its own code: later layers cannot merge them."""


CODE_BLOCK = 4096  # units packed per block of sample codes (a multiple of 64)


def sample_codes(active: Tensor, block: int = CODE_BLOCK) -> Tensor:
    """Each sample's code over a layer's units: (N, U) bool -> (N, ⌈U/64⌉) int64, word w
    holding units 64·w … 64·w + 63. Packed `block` units at a time: `pack_sample_bits` on
    all U units at once would build a (U/16 × U) float matrix, quadratic in the layer width."""
    if block % 64:
        raise ValueError(f"block must be a multiple of 64, got {block}")
    return torch.cat([pack_sample_bits(active[:, start:start + block].T)
                      for start in range(0, active.shape[1], block)], dim=1)


def count_standard_patterns(model: nn.Module, inputs: Tensor, *, spatial_only: bool = False,
                            block: int = CODE_BLOCK) -> int:
    """Distinct rows of the (samples × units) activity matrix: samples with equal codes, i.e.
    the linear regions of a ReLU network that the inputs reach (TE-NAS).

    In the model's current mode, under no_grad. Sample classes are refined at every hooked
    ReLU (the class so far plus this layer's code, packed `block` units at a time by
    `sample_codes`), so no samples × all-units matrix or N × N kernel is built; time and
    memory grow linearly with layer width, and the forward stops early once all N samples
    are apart.
    """
    labels = torch.zeros(len(inputs), dtype=torch.int64, device=inputs.device)

    def refine(_name: str, out: Tensor) -> None:
        nonlocal labels
        codes = sample_codes(out.reshape(len(out), -1) > 0, block)  # (N, words): one row per sample
        labels = torch.unique(torch.cat([labels[:, None], codes], dim=1), dim=0, return_inverse=True)[1]
        if int(labels.max()) + 1 == len(labels):
            raise _AllDistinct

    with torch.no_grad(), relu_hooks(model, refine, spatial_only=spatial_only):
        try:
            model(inputs)
        except _AllDistinct:
            pass
    return int(labels.max()) + 1 if len(labels) else 0


@dataclass(frozen=True)
class LayerPatterns:
    """Activation patterns of one ReLU call: `units` (channels × positions), `sample_wise`
    (distinct unit patterns over the batch, at most min(units, 2^N)) and `standard`
    (distinct sample codes, at most N). A module called twice appears twice."""

    name: str
    units: int
    sample_wise: int
    standard: int


def layer_patterns(model: nn.Module, inputs: Tensor, *, spatial_only: bool = True) -> list[LayerPatterns]:
    """Per-layer breakdown of activation patterns, in forward order."""
    layers: list[LayerPatterns] = []

    def record(name: str, out: Tensor) -> None:
        x = _binary(out)
        standard = count_equal_classes(_layer_kernel(x), float(x.shape[1]))
        layers.append(LayerPatterns(name, x.shape[1], len(distinct_rows(_pack01(x))), standard))

    with torch.no_grad(), relu_hooks(model, record, spatial_only=spatial_only):
        model(inputs)
    return layers


__all__ = [
    "CODE_BLOCK", "DistinctRowSet", "LayerPatterns", "PatternTable", "TABLE_BITS", "count_equal_classes", "count_sample_wise_patterns",
    "count_distinct_rows", "count_sample_wise_patterns_naive", "count_standard_patterns", "distinct_rows", "eval_mode",
    "layer_patterns", "naswot_kernel", "pack_sample_bits", "relu_hooks", "sample_codes", "train_mode",
]
