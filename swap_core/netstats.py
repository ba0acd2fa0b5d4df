"""Network size: parameter count and FLOPs per image.

FLOPs convention (documented): multiply-accumulate
operations of every `nn.Conv2d` (Cin/groups · k_h · k_w · Cout · H_out · W_out, plus Cout ·
H_out · W_out for a bias) and `nn.Linear` (in · out, plus out for a bias) for ONE image, in
millions (MFLOPs). Normalisation, activations, pooling and additions are not counted. The
benchmarks' own `flops` columns also count those, so absolute values here are lower (NB201:
up to ~40 % for pooling-heavy cells; NB301: 3–11 %), but the ranks agree (Spearman 0.996
on zc/nb201_cifar10.csv, 0.998 on zc/nb301_cifar10.csv).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (the benchmarks count these, BN affine included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_size: int = 32, in_channels: int = 3) -> float:
    """MFLOPs of one forward pass on a single `in_channels × input_size²` image."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k_h, k_w = module.kernel_size
        positions = out.shape[2] * out.shape[3]
        total += module.in_channels // module.groups * k_h * k_w * module.out_channels * positions
        if module.bias is not None:
            total += module.out_channels * positions

    def linear_hook(module: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += module.in_features * module.out_features
        if module.bias is not None:
            total += module.out_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device if any(True for _ in model.parameters()) else "cpu"
        with torch.no_grad():
            model(torch.zeros(1, in_channels, input_size, input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total / 1e6
