"""MeCo and MeCo_opt (Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass
via Minimum Eigenvalue of Correlation", NeurIPS 2023; official code: github.com/HamsterMimi/MeCo,
correlation/NAS_Bench_201.py, the script behind the paper's NATS-Bench correlations).

One sample x goes through the network once. For every module call whose output f has a
channel axis with at least two positions, the per-sample map f(x) of shape (C, H, W) is read
as C channels observed at H·W positions; P is their C×C Pearson correlation matrix (as
`torch.corrcoef` of the (C, H·W) matrix). The score is

    meco     = Σ_calls λ_min(P)
    meco_opt = Σ_calls (C / 8) · λ_min(P_S),  P_S the correlation of 8 channels S drawn at random

where the sum runs over every call of every module of the network. The paper reports
Spearman ρ = 0.89 with NATS-Bench-TSS CIFAR-10 accuracy; our NAS-Bench-201 benchmark network
gives 0.906 on the 434 cells of NAS-Bench-Suite-Zero's `zc/nb201_cifar10.csv` (seed 0).

As in the official script:
- every module is hooked (`named_modules()`, the network itself and every container
  included, not only conv or ReLU layers), so a feature map that several nested modules return
  (a BatchNorm output that is also its `Sequential`'s output) counts once per module;
- the hook reads `output[0]`, the first sample, reshaped to (C, positions);
- one real CIFAR-10 training image (the first batch of their shuffled, augmented training
  loader with batch size 1, its global torch seed set to 42; the same image for every network; here
  the first sample of the batch handed over, see below), the network's default PyTorch
  initialisation (`init_w_type` and `init_b_type` "none"), training mode (BatchNorm normalises
  the one sample with its own spatial statistics; the script never switches to evaluation mode), one
  forward pass, no gradients;
- entries of P that are NaN or ±inf (the row and column of a constant channel: a zeroed
  `none` op, a dead ReLU channel) are set to 0 before the eigenvalues are taken;
- `meco_opt` draws 8 distinct channels per call (`random.sample(range(C), 8)`) and scales
  their λ_min by C/8;
- per-call results that are NaN or inf are left out of the sum.

Deliberate differences:
- The official code works on a batch of exactly one image. Here the registry's default batch
  is 1, and when a larger batch is handed over only its first sample is used: the network runs
  on `inputs[:1]` alone, so the score does not depend on the rest of the batch.
- Eigenvalues come from `torch.linalg.eigvalsh` in float64 on the (symmetric) correlation
  matrix, where the official code calls the general `torch.linalg.eig` in float32 and takes the
  real part: the same values up to rounding (~1e-6).
- Calls that the official code cannot handle get a defined value instead of an exception: an
  output that is not a tensor (a tuple) or has one value per sample is skipped (a per-sample
  vector (N, F) is read there as F channels seen at one position, whose correlation is all NaN,
  i.e. 0 after the NaN rule, so it adds 0 as there); a single-channel map has the 1×1
  correlation [1] (or [0] if constant) instead of crashing `eig`; for `meco_opt` a map with
  fewer than 8 channels uses all of them (scale 1), where `random.sample` raises.
- `meco_opt`'s channels are drawn with `torch.randperm(C, generator=...)` from the proxy's own
  generator (the official script uses Python's unseeded global `random`, so its value changes
  from run to run).
- A feature map with NaN or inf values (an overflowing network) raises `ProxyError` instead of
  being zeroed by the NaN rule, which would silently score it 0.

Because every module is hooked, the value depends on how the network nests its modules. Our
NAS-Bench-201 network computes the same feature maps as the official script's network
(Abdelfattah et al.'s `nasbench2`: correlations are unchanged by BatchNorm's per-channel
affine map and its conv biases), but its `ReLUConvBN` is one `Sequential` (the BatchNorm
output counts twice, three times there), its stem likewise, and its cells sit in a
`ModuleList` (the last cell of each stage counts once, twice there).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from ..patterns import train_mode
from .registry import ProxyError, proxy

OPT_CHANNELS = 8  # channels meco_opt samples per feature map (official script)


def channel_correlation(feature: torch.Tensor) -> torch.Tensor:
    """(C, M) -> the C×C Pearson correlation of the rows, in float64, with every NaN or ±inf
    entry (the row and column of a constant channel) set to 0, as the official code does."""
    x = feature.to(torch.float64)
    centred = x - x.mean(dim=1, keepdim=True)
    cov = centred @ centred.T
    scale = torch.sqrt(torch.diagonal(cov))
    corr = (cov / torch.outer(scale, scale)).clamp(-1.0, 1.0)  # clamp keeps NaN
    corr[~torch.isfinite(corr)] = 0.0
    return corr


def min_eigenvalue(corr: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(corr)[0])


def _per_sample_map(output: Any) -> torch.Tensor | None:
    """The first sample's map as (channels, positions), or None when the call adds nothing: not
    a tensor, or fewer than two positions per channel (its correlation is all NaN -> 0)."""
    if not isinstance(output, torch.Tensor) or output.dim() < 3:
        return None
    sample = output[0].detach()
    feature = sample.reshape(sample.shape[0], -1)
    if feature.shape[1] < 2 or feature.shape[0] < 1:
        return None
    if not torch.isfinite(feature).all():
        raise ProxyError("MeCo is not defined for this network: a feature map holds NaN or inf values "
                         "(the forward pass overflowed)")
    return feature


def meco_layer_values(model: nn.Module, inputs: torch.Tensor, *, channels: int | None = None,
                      generator: torch.Generator | None = None) -> list[float]:
    """One value per module call that adds to the score, in call order: λ_min of the channel
    correlation of the first sample's output map; with `channels=k`, λ_min of k channels drawn
    by `generator` (all of them when the map has fewer) times C/k."""
    if len(inputs) < 1:
        raise ProxyError("MeCo needs one input sample, but the batch is empty")
    values: list[float] = []

    def hook(_module: nn.Module, _args: Any, output: Any) -> None:
        feature = _per_sample_map(output)
        if feature is None:
            return
        c = feature.shape[0]
        if channels is None or c <= channels:
            values.append(min_eigenvalue(channel_correlation(feature)))
            return
        picked = torch.randperm(c, generator=generator)[:channels]
        values.append(min_eigenvalue(channel_correlation(feature[picked])) * c / channels)

    handles = [module.register_forward_hook(hook) for module in model.modules()]
    try:
        with train_mode(model), torch.no_grad():
            try:
                model(inputs[:1])
            except ValueError as error:  # BatchNorm on a 1x1 map of one sample, in training mode
                if "Expected more than 1 value per channel" in str(error):
                    raise ProxyError("MeCo runs one sample in training mode, and this network applies "
                                     "BatchNorm to a map with a single value per channel") from error
                raise
    finally:
        for handle in handles:
            handle.remove()
    return values


def _total(values: list[float]) -> float:
    if not values:
        raise ProxyError("MeCo is not defined for this network: no module outputs a feature map with "
                         "at least two positions per channel")
    return float(sum(v for v in values if math.isfinite(v)))


def meco_score(model: nn.Module, inputs: torch.Tensor) -> float:
    """Σ over module calls of λ_min of the channel correlation of `inputs[0]`'s feature map."""
    return _total(meco_layer_values(model, inputs))


def meco_opt_score(model: nn.Module, inputs: torch.Tensor, *, channels: int = OPT_CHANNELS,
                   generator: torch.Generator | None = None) -> float:
    """MeCo on `channels` random channels per map, each term scaled by C / channels."""
    if channels < 2:
        raise ValueError(f"channels must be at least 2, got {channels}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return _total(meco_layer_values(model, inputs, channels=channels, generator=generator))


_PAPER = ("Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
          "Eigenvalue of Correlation (NeurIPS 2023)")


@proxy(
    "meco", display_name="MeCo", paper=_PAPER, year=2023, higher_is_better=True,
    needs_grad=False, needs_labels=False, default_batch_size=1,
    description="Sum over every module's output of the minimum eigenvalue of the correlation "
    "matrix between its channels, for one image (default initialisation, BatchNorm in training "
    "mode, one forward pass). Uses only the first sample of the batch.",
)
def meco(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    return meco_score(model, inputs)


@proxy(
    "meco_opt", display_name="MeCo_opt", paper=_PAPER, year=2023, higher_is_better=True,
    needs_grad=False, needs_labels=False, default_batch_size=1,
    description="MeCo's sub-sampled variant: per module output, the minimum eigenvalue of the "
    "correlation of 8 randomly drawn channels, scaled by channels/8. Option: channels (default 8).",
)
def meco_opt(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
             channels: int = OPT_CHANNELS, generator: torch.Generator | None = None) -> float:
    return meco_opt_score(model, inputs, channels=channels, generator=generator)


__all__ = ["OPT_CHANNELS", "channel_correlation", "meco", "meco_layer_values", "meco_opt",
           "meco_opt_score", "meco_score", "min_eigenvalue"]
