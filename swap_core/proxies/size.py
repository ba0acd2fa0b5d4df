"""Size baselines: parameter count and FLOPs, as NAS-Bench-Suite-Zero reports them
(Krishnakumar et al., "NAS-Bench-Suite-Zero", NeurIPS 2022 Datasets & Benchmarks). Larger
networks tend to train to higher accuracy in cell spaces, so these are the baselines a
zero-cost proxy has to beat. FLOPs follow the convention of `swap_core.netstats`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..netstats import count_flops, count_params
from .registry import proxy

PAPER = "Krishnakumar et al., NAS-Bench-Suite-Zero (NeurIPS 2022 Datasets & Benchmarks)"


@proxy(
    "params", display_name="Parameters (M)", paper=PAPER, year=2022, higher_is_better=True,
    default_batch_size=None,
    description="Number of trainable parameters, in millions. Needs no data.",
)
def params(model: nn.Module, inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None) -> float:
    return count_params(model) / 1e6


@proxy(
    "flops", display_name="FLOPs (M)", paper=PAPER, year=2022, higher_is_better=True,
    default_batch_size=1,
    description="Multiply-accumulates of conv and linear layers for one image of the inputs' "
    "size, in millions. Reads only the input shape.",
)
def flops(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    if inputs.dim() != 4 or inputs.shape[-1] != inputs.shape[-2]:
        raise ValueError(f"flops needs square image inputs (N, C, S, S), got shape {tuple(inputs.shape)}")
    return count_flops(model, input_size=inputs.shape[-1], in_channels=inputs.shape[1])


__all__ = ["flops", "params"]
