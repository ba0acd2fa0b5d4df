"""FLOP-aware DARTS (`darts.DartsConfig.flops_weight` = λ ≥ 0), in the spirit of the resource-aware
losses of FBNet (Wu et al., CVPR 2019) and ProxylessNAS (Cai et al., ICLR 2019): the α step's
loss gains λ·L_FLOP, the expected FLOPs of the cell's ops under softmax(α),

    L_FLOP = Σ_edges Σ_o softmax(α_e)_o · FLOP_o / (6 · FLOP_conv3x3),

with FLOP_o the MFLOPs op o costs on one edge summed over the 15 cells of the NB201 benchmark
network (C=16, 5 cells per stage, 32×32; `op_flops`, `swap_core.netstats`' convention: conv
MACs, so none, skip_connect and avg_pool_3x3 cost 0 and conv3x3 nine times conv1x1). Every
stage costs an edge the same (channels double as the side halves), so the stage-1 per-edge
cost times 15 is exact. The normalisation puts L_FLOP in [0, 1], the share of the all-conv3x3
cell's op FLOPs: λ = 1 prices going from the most expensive cell to a parameter-free one at
one nat of cross-entropy. The weight step is unchanged, λ = 0 is plain DARTS (bit for bit),
and with α fixed at uniform there is no α step, so λ does nothing.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..netstats import count_flops
from ..spaces.nb201 import OPS, NB201Arch
from ..spaces.nb201_net import EDGES, TinyNetwork

BENCHMARK_NET = {"channels": 16, "cells": 5, "input_size": 32, "num_classes": 10}  # NB201 on CIFAR-10


def op_flops(channels: int = 16, cells: int = 5, input_size: int = 32) -> dict[str, float]:
    """MFLOPs of each candidate op on ONE cell edge, summed over the network's 3·`cells` cells
    (`count_flops`' convention: conv MACs only). Stage s has 2^s·C channels at (size/2^s)²,
    so every stage costs an edge the same C²·size² per 1×1 kernel position."""
    per_position = 3 * cells * channels ** 2 * input_size ** 2 / 1e6
    costs = {"nor_conv_1x1": per_position, "nor_conv_3x3": 9 * per_position}
    return {op: costs.get(op, 0.0) for op in OPS}


def skeleton_mflops(channels: int = 16, num_classes: int = 10, input_size: int = 32) -> float:
    """MFLOPs of the network outside its cells: the 3×3 stem, the two stride-2 ResNet blocks
    (two 3×3 convs + a 1×1 shortcut conv) and the linear classifier (with bias)."""
    total = 3 * 9 * channels * input_size ** 2
    for stage in (1, 2):
        c_in, c_out, side = channels * 2 ** (stage - 1), channels * 2 ** stage, input_size // 2 ** stage
        total += (c_in * 9 * c_out + c_out * 9 * c_out + c_in * c_out) * side ** 2
    return (total + 4 * channels * num_classes + num_classes) / 1e6


def cell_mflops(arch: str) -> float:
    """MFLOPs of the NB201 benchmark network of `arch`, by `netstats.count_flops` on a network
    built on the meta device (no weights drawn)."""
    ops = NB201Arch.from_str(arch).ops
    with torch.device("meta"):
        model = TinyNetwork(ops, BENCHMARK_NET["channels"], BENCHMARK_NET["cells"], BENCHMARK_NET["num_classes"])
    return count_flops(model, BENCHMARK_NET["input_size"])


def _op_costs() -> np.ndarray:
    costs = op_flops()
    return np.array([costs[op] for op in OPS])


def flops_loss(alpha: torch.Tensor) -> torch.Tensor:
    """L_FLOP in [0, 1]: Σ_edges Σ_o softmax(α_e)_o · FLOP_o / (6 · FLOP_conv3x3), differentiable in α."""
    costs = torch.as_tensor(_op_costs() / (len(EDGES) * _op_costs().max()), dtype=alpha.dtype)
    return (F.softmax(alpha, dim=-1) * costs).sum()


def expected_mflops(alpha: np.ndarray | torch.Tensor) -> float:
    """The benchmark network's expected MFLOPs under softmax(α): the skeleton plus, on every
    edge, Σ_o softmax(α_e)_o · FLOP_o (an argmax-one-hot α gives `cell_mflops` exactly)."""
    alpha = np.asarray(alpha.detach() if isinstance(alpha, torch.Tensor) else alpha, dtype=float)
    weights = np.exp(alpha - alpha.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return skeleton_mflops() + float((weights * _op_costs()).sum())


__all__ = ["BENCHMARK_NET", "cell_mflops", "expected_mflops", "flops_loss", "op_flops", "skeleton_mflops"]
