"""The NAS-Bench-201 evaluation network ("TinyNetwork"), built from six cell ops.

Reproduces the network of NAS-Bench-201 (Dong & Yang, ICLR 2020), so that parameter counts
match the benchmark tables: a 3x3 conv + BN stem; three stages of N identical cells with C,
2C and 4C channels, joined by two ResNet basic blocks with stride 2 (whose shortcut is a 2x2
average pool followed by a 1x1 conv); then BN + ReLU, global average pooling and a linear
classifier.

Every ReLU is its own `nn.ReLU` module (never the functional form, never shared), because
activation-pattern proxies such as SWAP find units with forward hooks on `nn.ReLU`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

# (source node, target node) of the six cell edges, in the order of the architecture string.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BN: the `nor_conv_*` ops and the halves of a ResNet block."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The `none` op: zeros shaped like the output (x * 0 keeps the autograd graph intact)."""

    def __init__(self, c_out: int) -> None:
        super().__init__()
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.c_out, *x.shape[2:])


class AvgPool(nn.Sequential):
    """The `avg_pool_3x3` op: 3x3 average pool, stride 1, padding not counted.

    When the input width differs from the output width (only when the stem is dropped), a
    ReLU -> 1x1 conv -> BN projection comes first, as NAS-Bench-201's own POOLING op does.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        project = [ReLUConvBN(c_in, c_out, 1)] if c_in != c_out else []
        super().__init__(*project, nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))


def make_op(name: str, c_in: int, c_out: int) -> nn.Module:
    """One cell op. `skip_connect` across a width change is NB201's stride-1 projection
    (1x1 conv + BN, no ReLU); within a cell the widths always agree."""
    if name == "none":
        return Zero(c_out)
    if name == "skip_connect":
        if c_in == c_out:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3)
    if name == "avg_pool_3x3":
        return AvgPool(c_in, c_out)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class EdgeCell(nn.Module):
    """A cell over NAS-Bench-201's four nodes with one module per edge (`self.edges`, in
    `EDGES` order): node j = sum over i < j of edge_{j<-i}(node i); node 3 is the output.
    TransNAS-Bench-101's micro cell has the same shape."""

    edges: nn.ModuleList

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            inputs = [op(nodes[src]) for op, (src, dst) in zip(self.edges, EDGES) if dst == target]
            nodes.append(sum(inputs[1:], inputs[0]))
        return nodes[-1]


class Cell(EdgeCell):
    """A NAS-Bench-201 cell: node j = sum over i < j of op_{j<-i}(node i); node 3 is the output."""

    def __init__(self, ops: tuple[str, ...], c_in: int, c_out: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            make_op(op, c_in if src == 0 else c_out, c_out) for op, (src, _) in zip(ops, EDGES)
        )
        self.out_channels = c_out


class ResNetBlock(nn.Module):
    """The stride-2 reduction block between stages: two ReLUConvBN 3x3 plus a shortcut of
    2x2 average pooling and a 1x1 conv (no BN), as in NAS-Bench-201."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """The NAS-Bench-201 network for one cell (`ops`, six op names in string order).

    With `stem=False` the 3-channel image goes straight into the first cell; the cell's
    edges out of its input node then change width 3 -> C the way NAS-Bench-201's ops do
    when widths differ (see `make_op`).
    """

    def __init__(self, ops: tuple[str, ...], channels: int, cells: int, num_classes: int, stem: bool = True) -> None:
        super().__init__()
        self.stem = (
            nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
            if stem else nn.Identity()
        )
        c_prev = channels if stem else 3
        blocks: list[nn.Module] = []
        for stage, width in enumerate((channels, 2 * channels, 4 * channels)):
            if stage > 0:
                blocks.append(ResNetBlock(c_prev, width))
                c_prev = width
            for _ in range(cells):
                blocks.append(Cell(ops, c_prev, width))
                c_prev = width
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.cells:
            x = block(x)
        x = self.global_pooling(self.lastact(x)).flatten(1)
        return self.classifier(x)
