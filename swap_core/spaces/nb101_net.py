"""The NAS-Bench-101 evaluation network, built from a pruned cell (adjacency matrix + ops).

Reproduces the CIFAR-10 network of NAS-Bench-101 (Ying et al., ICML 2019; the benchmark's
`model_builder.py`), so that parameter counts match the benchmark tables: a 3x3 conv-BN-ReLU
stem with 128 channels; three stacks of three cells, a 2x2 max-pool (stride 2) before the
second and third stacks, each of which doubles the channels; global average pooling; a
linear classifier. There is no final BN or ReLU.

Inside a cell the benchmark splits the cell's output channels among the vertices that feed
the output (their outputs are concatenated), gives every other vertex the widest width of
the vertices it feeds (`vertex_channels`), projects the cell input with a 1x1 conv-BN-ReLU
to the width of each vertex it feeds, and truncates a wider input by dropping its last
channel(s). When the input also feeds the output directly, its projection is *added* to the
concatenation.

Every ReLU is its own `nn.ReLU` module, because activation-pattern proxies such as SWAP find
units with forward hooks on `nn.ReLU`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

# NAS-Bench-101 trains with TF batch norm, decay 0.997 and epsilon 1e-5; PyTorch's
# `momentum` is the weight of the new batch statistic, i.e. 1 - decay.
BN_MOMENTUM = 1.0 - 0.997
BN_EPS = 1e-5

Matrix = tuple[tuple[int, ...], ...]


class ConvBnRelu(nn.Sequential):
    """Conv (no bias, 'same' padding) -> BN -> ReLU: the two conv ops, the stem and the
    1x1 projections of a cell's input."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def make_op(name: str, channels: int) -> nn.Module:
    """A vertex op; its input already has `channels` channels (projected or truncated)."""
    if name == "conv3x3-bn-relu":
        return ConvBnRelu(channels, channels, 3)
    if name == "conv1x1-bn-relu":
        return ConvBnRelu(channels, channels, 1)
    if name == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 op {name!r}")


def vertex_channels(c_in: int, c_out: int, matrix: Matrix) -> list[int]:
    """The width of every vertex of a pruned cell (the benchmark's `compute_vertex_channels`).

    The output's width is split evenly among the interior vertices that feed it (the first
    ones in vertex order take one extra channel each while a remainder is left); going
    backwards, every other interior vertex takes the widest width among the vertices it feeds.
    """
    n = len(matrix)
    widths = [0] * n
    widths[0], widths[-1] = c_in, c_out
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    if not feeders:  # only input -> output (or nothing inside): no interior widths to set
        return widths
    share, remainder = divmod(c_out, len(feeders))
    for rank, v in enumerate(feeders):
        widths[v] = share + (1 if rank < remainder else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            widths[v] = max(widths[dst] for dst in range(v + 1, n - 1) if matrix[v][dst])
    return widths


class Cell(nn.Module):
    """One NAS-Bench-101 cell (module) of a *pruned* spec: every vertex lies on an
    input -> output path, so every interior vertex has an input and an output edge."""

    def __init__(self, matrix: Matrix, ops: tuple[str, ...], c_in: int, c_out: int) -> None:
        super().__init__()
        n = len(matrix)
        self.matrix = matrix
        self.widths = vertex_channels(c_in, c_out, matrix)
        # Key = target vertex: the 1x1 projection of the cell input feeding it.
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(c_in, self.widths[t], 1) for t in range(1, n) if matrix[0][t]}
        )
        self.vertex_ops = nn.ModuleList(make_op(ops[t], self.widths[t]) for t in range(1, n - 1))
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.matrix)
        values = [x]
        for t in range(1, n - 1):
            inputs = [values[src][:, : self.widths[t]] for src in range(1, t) if self.matrix[src][t]]
            if self.matrix[0][t]:
                inputs.append(self.projections[str(t)](x))
            values.append(self.vertex_ops[t - 1](sum(inputs[1:], inputs[0])))
        concat = [values[v] for v in range(1, n - 1) if self.matrix[v][n - 1]]
        out = torch.cat(concat, dim=1) if concat else None
        if self.matrix[0][n - 1]:
            projected = self.projections[str(n - 1)](x)
            out = projected if out is None else out + projected
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 network for one pruned cell: stem, `stacks` stacks of `cells`
    cells (channels doubling after each 2x2 max-pool), global average pool, linear.

    With `stem=False` the 3-channel image goes straight into the first cell, whose 1x1
    input projections change the width 3 -> `channels`.
    """

    def __init__(self, matrix: Matrix, ops: tuple[str, ...], channels: int, cells: int,
                 num_classes: int, stacks: int = 3, stem: bool = True) -> None:
        super().__init__()
        self.stem = ConvBnRelu(3, channels, 3) if stem else nn.Identity()
        c_in, c_out = (channels if stem else 3), channels
        layers: list[nn.Module] = []
        for stack in range(stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(cells):
                layers.append(Cell(matrix, ops, c_in, c_out))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))
