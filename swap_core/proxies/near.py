"""NEAR (Husistein, Reiher & Eckhoff, "NEAR: A Training-Free Pre-Estimator of Machine Learning
Model Performance", ICLR 2025, arXiv:2408.08776; official code: github.com/ReiherGroup/NEAR,
`src/near_score/near_score.py`, release 1.0.0).

Network Expressivity by Activation Rank: the sum, over the network's layers, of the effective
rank of each layer's pre-activation and post-activation matrix on a batch,

    near = Σ_l erank(Z_l) + erank(H_l),     erank(A) = exp(−Σ_k p_k log p_k),  p_k = σ_k / Σ_i σ_i

with σ_k the singular values of A: the entropy-based effective rank of Roy & Vetterli (2007),
not a threshold count (the official `get_effective_rank`: `svdvals`, divide by their sum,
`scipy.stats.entropy`, exponentiate, `nan_to_num`).

As in the official code (`__get_near_score`, `get_near_score`):
- the matrices are the outputs of every module that has a `weight` attribute (conv, linear,
  BatchNorm — also a non-affine one, whose `weight` is None — LayerNorm, ...) and of every module
  of `torch.nn.modules.activation` (ReLU, GELU, ...), in `named_modules()` order: a conv's
  output is a pre-activation (before BatchNorm), BatchNorm's the pre-activation of the next
  ReLU, the ReLU's a post-activation;
- a feature map (N, C, H, W) becomes the (N·W·H, C) matrix `output.transpose(1, 3).flatten(0, 2)`
  (rows are sample × position, columns channels); a per-sample vector (N, F) is used as it is;
- calls of one module are stacked row-wise until the matrix has at least as many rows as
  columns; then a block of C consecutive rows is kept, starting at row `start = j·W`
  (W = `output.shape[-1]`) with j drawn uniformly from {0, …, rows // W − 2} (start 0 when that
  set is empty); Python slicing keeps fewer than C rows when the block runs past the end, as
  the official slice does (e.g. NAS-Bench-201's third stage, C = 64 on an 8×8 map, can get 16);
  the module's later calls are ignored (the official hook removes itself);
- a matrix whose singular values are all 0 (a zeroed `none` op downstream) has effective rank 0
  (`nan_to_num` of 0/0);
- the network runs in its default training mode (BatchNorm normalises with batch statistics;
  the official code never switches modes) with its given (default PyTorch) initialisation, no
  gradients; with `repeat` > 1, every further repetition re-draws all weights with PyTorch's
  default scheme (the official `reset_parameters` between repetitions, here
  `init.default_init_` from the proxy's generator) and the score is the mean.

Deliberate differences and choices where the paper and code leave settings open:
- Data: the official function draws batches from a DataLoader until every hooked module has
  enough rows, and every repetition sees new (shuffled) batches. Here one batch is given: all
  repetitions use it, and a module that still has fewer rows than columns after the batch (a
  linear layer wider than the batch) raises ProxyError asking for a larger batch instead of
  reading more data. The batch size used for the paper's NAS-benchmark tables is not stated in
  the code; the default here is 64 (a NAS-Bench-201 feature map gives one sample ≥ C rows, so
  only the classifier (10 outputs) needs more than one sample).
- Repetitions: the package's default is 1 (`repetitions=1`); the paper's NAS-benchmark tables
  average several re-initialisations (32 according to summaries of the paper, which we could
  not check against its text). The default here is the package's 1; pass `repeat`.
- The random block start is drawn with `torch.randint` from the proxy's generator (the
  official code uses NumPy's global generator, so its value changes from run to run).
- Feature maps with more than two spatial axes (N, C, D, H, W) are generalised as
  `permute(0, last, …, 2, 1)` and 1-D maps (N, C, L) as (N·L, C) (the official transpose(1, 3)
  covers exactly 4-D maps); outputs with one value per sample (N,) are skipped (the official
  hook fails on them); a tuple output contributes its first element, as in the official hook.
- Singular values are computed in float64 (the official code: float32); NaN or infinite
  activations raise ProxyError (an overflowing network) rather than scoring 0.
- The score is computed on a copy of the network, so the caller's weights and BatchNorm
  statistics are never changed.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn as nn

from ..init import default_init_
from ..patterns import train_mode
from .registry import ProxyError, proxy

ACTIVATIONS: tuple[type, ...] = tuple(
    getattr(nn, name) for name in nn.modules.activation.__all__ if isinstance(getattr(nn, name, None), type)
)


def effective_rank(matrix: torch.Tensor) -> float:
    """Roy & Vetterli's effective rank exp(H(σ / Σσ)) of a 2-D matrix, in float64; 0 for a matrix
    whose singular values are all 0 (the official `nan_to_num` of 0/0)."""
    s = torch.linalg.svdvals(matrix.to(torch.float64))
    total = s.sum()
    if not torch.isfinite(total):
        raise ProxyError("NEAR is not defined for this network: an activation matrix has non-finite "
                         "singular values (the activations overflow)")
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def near_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs NEAR reads, in `named_modules()` order: every module with a
    `weight` attribute and every activation module of `torch.nn.modules.activation`."""
    return [(name, m) for name, m in model.named_modules()
            if hasattr(m, "weight") or isinstance(m, ACTIVATIONS)]


def activation_matrix(output: torch.Tensor) -> torch.Tensor:
    """(N, C, *spatial) -> (N·prod(reversed spatial), C) as the official transpose(1, 3).flatten(0, 2)
    for 4-D maps; a 2-D (N, F) output is returned as it is."""
    if output.dim() == 2:
        return output
    order = (0, *range(output.dim() - 1, 1, -1), 1)
    return output.permute(order).flatten(0, output.dim() - 2)


class _Collector:
    """Forward hooks that stack each module's output rows and keep one random C-row block."""

    def __init__(self, rng: torch.Generator) -> None:
        self.rng = rng
        self.rows: dict[int, torch.Tensor] = {}
        self.done: dict[int, torch.Tensor] = {}
        self.called: set[int] = set()

    def hook(self, index: int):
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if index in self.done:
                return  # the official hook removes itself once its block is taken
            if isinstance(output, (tuple, list)):
                output = output[0] if output else None
            if not isinstance(output, torch.Tensor) or output.dim() < 2:
                return
            out = output.detach()
            if not torch.isfinite(out).all():
                raise ProxyError("NEAR is not defined for this network: a layer's activations are NaN "
                                 "or infinite (the network overflows)")
            self.called.add(index)
            size = out.shape[-1]
            matrix = activation_matrix(out)
            stacked = matrix if index not in self.rows else torch.cat((self.rows[index], matrix), 0)
            rows, cols = stacked.shape
            if rows >= cols:
                blocks = rows // size - 1
                start = int(torch.randint(0, blocks, (1,), generator=self.rng)) * size if blocks > 0 else 0
                self.done[index] = stacked[start:start + cols]
                self.rows.pop(index, None)
            else:
                self.rows[index] = stacked

        return record


def near_once(model: nn.Module, inputs: torch.Tensor, rng: torch.Generator) -> float:
    """One NEAR score of `model` as it is (training mode, no gradients)."""
    modules = near_modules(model)
    collector = _Collector(rng)
    handles = [m.register_forward_hook(collector.hook(i)) for i, (_, m) in enumerate(modules)]
    try:
        with torch.no_grad(), train_mode(model):
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    short = [i for i in collector.called if i not in collector.done]
    if short:
        i = min(short)
        rows, cols = collector.rows[i].shape
        raise ProxyError(f"NEAR needs at least as many activation rows as columns per layer, but "
                         f"{modules[i][0] or 'the network'} gives only {rows} rows for {cols} columns on "
                         f"a batch of {len(inputs)}: give a batch of at least {cols} samples")
    if not collector.done:
        raise ProxyError("NEAR found no layer to read: the network has no module with weights and no "
                         "torch.nn activation module that was called")
    return sum(effective_rank(collector.done[i]) for i in sorted(collector.done))


def near_score(model: nn.Module, inputs: torch.Tensor, *, repeat: int = 1,
               generator: torch.Generator | None = None) -> float:
    """Mean NEAR over `repeat` initialisations: the given weights first, then PyTorch-default
    re-initialisations drawn from `generator` (a fresh one seeded 0 when None). Works on a copy."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rng = generator if generator is not None else torch.Generator().manual_seed(0)
    net = copy.deepcopy(model)
    scores = []
    for r in range(repeat):
        if r > 0:
            default_init_(net, rng)
        scores.append(near_once(net, inputs, rng))
    value = sum(scores) / len(scores)
    if not math.isfinite(value):
        raise ProxyError(f"NEAR is not defined for this network (it came to {value})")
    return value


@proxy(
    "near", display_name="NEAR",
    paper="Husistein et al., NEAR: A Training-Free Pre-Estimator of Machine Learning Model "
          "Performance (ICLR 2025)", year=2025,
    higher_is_better=True, needs_grad=False, needs_labels=False, default_batch_size=64,
    description="Sum over every layer with weights and every activation layer of the effective rank "
    "(exp of the entropy of the normalised singular values) of its output matrix, samples × "
    "positions by channels, cut to a random square block (BatchNorm in training mode). Option: "
    "repeat (default 1: further repeats re-initialise the weights and average).",
)
def near(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
         repeat: int = 1, generator: torch.Generator | None = None) -> float:
    return near_score(model, inputs, repeat=repeat, generator=generator)


__all__ = ["ACTIVATIONS", "activation_matrix", "effective_rank", "near", "near_modules", "near_once",
           "near_score"]
