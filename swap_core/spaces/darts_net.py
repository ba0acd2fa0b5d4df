"""The DARTS CIFAR network a genotype is evaluated in (Liu et al., "DARTS: Differentiable
Architecture Search", ICLR 2019, `cnn/model.py` and `cnn/operations.py`).

A stem (3x3 conv to 3·C channels + BN) feeds a chain of cells; cell i reads the outputs of
cells i-2 and i-1 (c_{k-2}, c_{k-1}), each through a 1x1 ReLU-conv-BN "preprocess" (a
factorized reduction when the previous cell halved the resolution). Cells at positions
cells//3 and 2·cells//3 are reduction cells: they double the channels, and their ops on the
two cell inputs use stride 2. A cell concatenates its intermediate nodes (4·C channels);
global average pooling and a linear classifier follow.

Every nonlinearity is an `nn.ReLU` module (never the functional form), so activation-pattern
proxies such as SWAP can hook all of them. Two switches reproduce the networks of other
code bases: `affine` (whether the BatchNorms inside cell ops have weight and bias; NASLib's
NAS-Bench-301 graph, whose parameters NAS-Bench-Suite-Zero counted, has them off) and
`pool_bn` (NASLib follows each pooling op with a non-affine BatchNorm).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

OPS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)


def relu_conv_bn(c_in: int, c_out: int, affine: bool = True) -> nn.Sequential:
    """ReLU, 1x1 conv, BN: the cell-input preprocess."""
    return nn.Sequential(
        nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, affine=affine)
    )


def dil_conv(c: int, kernel: int, stride: int, dilation: int, affine: bool) -> nn.Sequential:
    """ReLU, depthwise (dilated) conv, pointwise conv, BN."""
    padding = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, kernel, stride=stride, padding=padding, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=affine),
    )


def sep_conv(c: int, kernel: int, stride: int, affine: bool) -> nn.Sequential:
    """Two undilated depthwise-separable blocks in a row, only the first strided (DARTS)."""
    return nn.Sequential(*dil_conv(c, kernel, stride, 1, affine), *dil_conv(c, kernel, 1, 1, affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing half the pixels: two strided 1x1 convs, the
    second shifted by one pixel, concatenated (DARTS's skip connection at stride 2)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even output width, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    """The `none` op: zeros of the output's shape (keeps the graph connected)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


def make_op(name: str, c: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """The module of op `name` on `c` channels."""
    if name == "none":
        return Zero(stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool = (nn.MaxPool2d(3, stride=stride, padding=1) if name == "max_pool_3x3"
                else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if pool_bn else pool
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    if name.startswith(("sep_conv_", "dil_conv_")):
        kernel = int(name[-1])
        return sep_conv(c, kernel, stride, affine) if name.startswith("sep") else dil_conv(c, kernel, stride, 2, affine)
    raise ValueError(f"unknown DARTS op {name!r}; expected one of {list(OPS)}")


class Cell(nn.Module):
    """One DARTS cell: `pairs` are (op, input) for nodes 2, 3, ... two per node."""

    def __init__(self, pairs: Sequence[tuple[str, int]], concat: Sequence[int], c_prev_prev: int,
                 c_prev: int, c: int, reduction: bool, reduction_prev: bool,
                 affine: bool = True, pool_bn: bool = False) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else relu_conv_bn(c_prev_prev, c)
        self.preprocess1 = relu_conv_bn(c_prev, c)
        self.indices = [index for _, index in pairs]
        self.concat = list(concat)
        self.ops = nn.ModuleList(
            make_op(name, c, 2 if reduction and index < 2 else 1, affine, pool_bn) for name, index in pairs
        )

    @property
    def out_channels_multiplier(self) -> int:
        return len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.ops) // 2):
            a, b = 2 * node, 2 * node + 1
            states.append(self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


def auxiliary_head(c_in: int, num_classes: int) -> nn.Sequential:
    """DARTS's auxiliary classifier for 8x8 feature maps (training only)."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
        nn.Conv2d(c_in, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
        nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
        nn.Flatten(), nn.Linear(768, num_classes),
    )


def reduction_positions(cells: int) -> set[int]:
    """Cells that reduce: those at cells//3 and 2·cells//3 (one cell: that cell reduces)."""
    return {cells // 3, 2 * cells // 3}


class DartsNetwork(nn.Module):
    """The DARTS CIFAR network for a genotype; `forward(x)` returns the logits only.

    With `auxiliary`, the auxiliary head runs after cell 2·cells//3 in training mode and
    leaves its logits in `self.aux_logits` (the return value stays the main logits).
    """

    def __init__(self, genotype, channels: int, cells: int, num_classes: int, stem: bool = True,
                 in_channels: int = 3, affine: bool = True, pool_bn: bool = False,
                 auxiliary: bool = False, stem_multiplier: int = 3) -> None:
        super().__init__()
        c_stem = stem_multiplier * channels if stem else in_channels
        self.stem = (nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
                     if stem else nn.Identity())
        c_prev_prev, c_prev, c = c_stem, c_stem, channels
        self.cells = nn.ModuleList()
        self.aux_position = 2 * cells // 3 if auxiliary else -1
        reductions, reduction_prev = reduction_positions(cells), False
        for i in range(cells):
            reduction = i in reductions
            c = c * 2 if reduction else c
            pairs, concat = (genotype.reduce, genotype.reduce_concat) if reduction else (genotype.normal, genotype.normal_concat)
            cell = Cell(pairs, concat, c_prev_prev, c_prev, c, reduction, reduction_prev, affine, pool_bn)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels_multiplier * c
            if i == self.aux_position:
                self.auxiliary_head = auxiliary_head(c_prev, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self.aux_logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_position and self.training:
                self.aux_logits = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


__all__ = ["OPS", "Cell", "DartsNetwork", "FactorizedReduce", "Zero", "make_op", "reduction_positions"]
