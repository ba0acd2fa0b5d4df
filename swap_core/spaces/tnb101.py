"""Network pieces shared by the two TransNAS-Bench-101 spaces (Duan et al.,
"TransNAS-Bench-101: Improving Transferability and Generalizability of Cross-Task Neural
Architecture Search", CVPR 2021; official code github.com/yawen-d/TransNASBench).

Every TransNAS network is an encoder followed by a task head. The encoder is a
ResNet-style skeleton: a stem that divides the resolution by 4 (3x3 conv stride 2 to C/2,
BN, then ReLU-conv 3x3 stride 2-BN to C) and one stage per digit of a skeleton code
(1 normal, 2 channels x2, 3 stride 2, 4 both), each stage `blocks` blocks deep; only the
first block of a stage changes width or resolution. The micro space fixes the skeleton at
41414 and searches the block (a 4-node cell); the macro space fixes the block (a ResNet
basic block) and searches the skeleton.

Task heads, as in the benchmark's model builder (so `params` of the NAS-Bench-Suite-Zero
tables match; those counts are taken by forward hooks, so the pix2pix discriminator, which
the forward pass never runs, is not counted, and neither is it built here):

- class_object (100), class_scene (63), room_layout (9 numbers): global average pool +
  linear layer.
- jigsaw (1000 permutation classes): the encoder runs on each of 9 tiles, the features are
  concatenated, pooled and classified by one linear layer (9 × encoder width inputs). A 5-D
  batch (N, 9, 3, h, w) is taken as tiles; a 4-D image batch is cut into a 3×3 grid, in
  order (the benchmark shuffles 64×64 tiles; proxies need no shuffling). Its encoder's
  ReLUs therefore fire 9 times per forward pass, once per tile.
- autoencoder, normal (3-channel images): the benchmark's 14-layer conv/deconv decoder.
- segmentsemantic (17 classes): the benchmark's conv/deconv segmentation decoder.

The decoders upsample 2 + (stride-2 stages) times, i.e. by the encoder's total stride, so
their depth (and parameter count) depends on the skeleton but not on the input size; their
output is resized to the input's size when the two differ. Their activations are
LeakyReLU(0.2) as in the benchmark, so ReLU-hooking proxies (SWAP, NASWOT) see the encoder
only — the part that differs between architectures. Every ReLU of the encoder is its own
`nn.ReLU` module.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import NetworkConfig, SearchSpace
from .naslib import ZeroCostTables
from .nb201_net import ReLUConvBN

STAGE_CODES = (1, 2, 3, 4)
STAGE_KINDS = {1: "normal", 2: "channels×2", 3: "stride 2", 4: "channels×2, stride 2"}
# preset -> (base channels C, blocks per stage, input size) of both spaces; decoders are 16·C wide.
PRESETS = {"benchmark": (64, 2, 32), "teaching": (16, 1, 32)}


@dataclass(frozen=True)
class Task:
    """A TransNAS-Bench-101 task: its head kind and its number of outputs."""

    head: str  # "linear", "jigsaw", "generative" or "segmentation"
    outputs: int
    what: str


TASKS: dict[str, Task] = {
    "class_scene": Task("linear", 63, "scene classification (63 classes)"),
    "class_object": Task("linear", 100, "object classification (100 classes)"),
    "jigsaw": Task("jigsaw", 1000, "jigsaw puzzle (1000 tile permutations)"),
    "room_layout": Task("linear", 9, "room layout regression (9 numbers)"),
    "segmentsemantic": Task("segmentation", 17, "semantic segmentation (17 classes per pixel)"),
    "normal": Task("generative", 3, "surface normals (3-channel image)"),
    "autoencoder": Task("generative", 3, "autoencoding (3-channel image)"),
}


# NAS-Bench-Suite-Zero's TransNAS-Bench-101 tables: NASLib's commit and its order of the tasks.
NASLIB_TNB_COMMIT = "e5a821c2dadf608042e4e046e386006cf6bd0564"  # "Add ZC benchmarks", May 2022
NASLIB_TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout", "segmentsemantic")


def zero_cost_tables(name: str, sha256: str) -> ZeroCostTables:
    """The tables of the micro or macro space (`name`), NASLib file `zc_transbench101_<micro|macro>`."""
    return ZeroCostTables(name, NASLIB_TASKS, f"zc_transbench101_{name.rsplit('_', 1)[-1]}", sha256, NASLIB_TNB_COMMIT)


def task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown TransNAS-Bench-101 task {name!r}; expected one of {list(TASKS)}") from None


def task_config(preset: str, dataset: str, **overrides: Any) -> NetworkConfig:
    """The network config of a preset (checked by the caller) for a task, with overrides."""
    channels, blocks, input_size = PRESETS[preset]
    config = NetworkConfig(preset=preset, channels=channels, cells=blocks, num_classes=task(dataset).outputs,
                           input_size=input_size, extra=(("task", dataset),))
    return config.with_options(**overrides) if overrides else config


def widens(code: int) -> bool:
    return code in (2, 4)


def downsamples(code: int) -> bool:
    return code in (3, 4)


# --- encoder ops (ReLUConvBN is NAS-Bench-201's: ReLU -> conv, no bias, 'same' padding -> BN) ---
class Zero(nn.Module):
    """The `none` op: zeros of the output's shape (x * 0 keeps the autograd graph intact)."""

    def __init__(self, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # ceil(H / stride), as the convs give
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.c_out, *x.shape[2:])


class FactorizedReduce(nn.Module):
    """A skip connection across a width or resolution change: ReLU, two 1x1 convs with the
    given stride on the input and on the input shifted by one pixel, concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even output width, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(c_in, c_out // 2, 1, stride=stride, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out // 2, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


class ResNetBasicBlock(nn.Module):
    """The macro space's block: ReLUConvBN 3x3 (with the stride) -> ReLUConvBN 3x3, plus the
    identity, or a 1x1 conv + BN shortcut when width or resolution change (no ReLU after the sum)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


BlockFactory = Callable[[int, int, int], nn.Module]  # (c_in, c_out, stride) -> block


class Encoder(nn.Module):
    """Stem (resolution / 4) followed by one stage per skeleton digit, `blocks` blocks each."""

    def __init__(self, skeleton: tuple[int, ...], channels: int, blocks: int, make_block: BlockFactory) -> None:
        super().__init__()
        if channels < 2 or channels % 2 or blocks < 1:
            raise ValueError(f"channels must be even and >= 2 and blocks >= 1, got {channels}, {blocks}")
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels // 2),
            ReLUConvBN(channels // 2, channels, 3, stride=2),
        )
        stages, width = [], channels
        for code in skeleton:
            c_out, stride = width * (2 if widens(code) else 1), 2 if downsamples(code) else 1
            stage = [make_block(width, c_out, stride)] + [make_block(c_out, c_out, 1) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            width = c_out
        self.stages = nn.Sequential(*stages)
        self.out_channels = width
        self.downsamplings = sum(downsamples(code) for code in skeleton)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


# --- task heads ----------------------------------------------------------------------------
class ConvNormAct(nn.Sequential):
    """A decoder layer: conv 3x3 (with bias) or transposed conv 3x3 stride 2 (doubling the
    size), then BN and LeakyReLU(0.2) (the benchmark's ConvLayer / DeconvLayer)."""

    def __init__(self, c_in: int, c_out: int, upsample: bool = False) -> None:
        conv = (nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1) if upsample
                else nn.Conv2d(c_in, c_out, 3, padding=1))
        super().__init__(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


def generative_decoder(c_in: int, upsamplings: int, width: int, c_out: int = 3) -> nn.Sequential:
    """The benchmark's pix2pix-style decoder: 13 conv layers whose widths fall from `width`
    (1024 in the benchmark) to width/64, then conv 3x3 -> tanh. `upsamplings` (2..6) of them
    are stride-2 transposed convs: the 11th and 13th always, then the 9th, 7th, 5th, 3rd."""
    divisors = (1, 1, 2, 2, 4, 8, 16, 16, 32, 32, 64, 32, 64)
    # layer i (2, 4, 6, 8) upsamples when upsamplings >= 7 - i/2; layers 10 and 12 always do
    upsampling_layers = {i for i in (2, 4, 6, 8) if upsamplings >= 7 - i // 2} | {10, 12}
    layers, previous = [], c_in
    for i, divisor in enumerate(divisors):
        layers.append(ConvNormAct(previous, max(width // divisor, 1), upsample=i in upsampling_layers))
        previous = max(width // divisor, 1)
    layers += [nn.Conv2d(previous, c_out, 3, padding=1), nn.Tanh()]
    return nn.Sequential(*layers)


def segmentation_decoder(c_in: int, upsamplings: int, width: int, classes: int) -> nn.Sequential:
    """The benchmark's segmentation decoder: conv to `width`, then 6 - upsamplings convs and
    upsamplings - 1 transposed convs, each halving the width, one more transposed conv, and a
    plain conv 3x3 to the class logits."""
    layers, previous = [ConvNormAct(c_in, width)], width
    for i in range(5):
        layers.append(ConvNormAct(previous, max(previous // 2, 1), upsample=i >= 6 - upsamplings))
        previous = max(previous // 2, 1)
    layers += [ConvNormAct(previous, previous, upsample=True), nn.Conv2d(previous, classes, 3, padding=1)]
    return nn.Sequential(*layers)


class PooledLinear(nn.Sequential):
    """Global average pooling + linear layer (classification, room layout, jigsaw)."""

    def __init__(self, c_in: int, outputs: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, outputs))


class TaskNetwork(nn.Module):
    """Encoder + head; pixel-task outputs are resized to the input's size when they differ."""

    def __init__(self, encoder: Encoder, head: nn.Module, pixels: bool) -> None:
        super().__init__()
        self.encoder, self.head, self.pixels = encoder, head, pixels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.encoder(x))
        if self.pixels and out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out


class JigsawNetwork(nn.Module):
    """The Siamese jigsaw network: one encoder on each of 9 tiles, features concatenated."""

    tiles = 9

    def __init__(self, encoder: Encoder, outputs: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = PooledLinear(encoder.out_channels * self.tiles, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tiles = x.unbind(1) if x.dim() == 5 else grid_tiles(x)
        if len(tiles) != self.tiles:
            raise ValueError(f"the jigsaw network needs {self.tiles} tiles, got {len(tiles)}")
        return self.head(torch.cat([self.encoder(tile) for tile in tiles], dim=1))


def grid_tiles(images: torch.Tensor) -> list[torch.Tensor]:
    """A (N, C, H, W) batch cut into a 3×3 grid of (N, C, H//3, W//3) tiles, row by row."""
    h, w = images.shape[-2] // 3, images.shape[-1] // 3
    if h < 1 or w < 1:
        raise ValueError(f"jigsaw images must be at least 3×3 pixels, got {tuple(images.shape[-2:])}")
    return [images[:, :, r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(3) for c in range(3)]


def task_network(encoder: Encoder, config: NetworkConfig) -> nn.Module:
    """The benchmark's network around `encoder` for the config's task (`extra` key `task`,
    default class_scene), with `num_classes` outputs and decoders of width `decoder_width`
    (`extra`, default 16 x channels, i.e. 1024 at the benchmark's C = 64)."""
    if not config.stem:
        raise ValueError("TransNAS-Bench-101 networks always have their stem; stem=False is not supported")
    if config.num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {config.num_classes}")
    head, outputs = task(config.get("task", "class_scene")).head, config.num_classes
    decoder_width = config.get("decoder_width") or 16 * config.channels
    upsamplings = 2 + encoder.downsamplings  # the encoder's total stride is 2 ** upsamplings
    if head == "linear":
        return TaskNetwork(encoder, PooledLinear(encoder.out_channels, outputs), pixels=False)
    if head == "jigsaw":
        return JigsawNetwork(encoder, outputs)
    decoder = generative_decoder if head == "generative" else segmentation_decoder
    return TaskNetwork(encoder, decoder(encoder.out_channels, upsamplings, decoder_width, outputs), pixels=True)


class TransNASSpace(SearchSpace):
    """What the micro and macro spaces share: the seven tasks as datasets, the presets, and a
    network that is the encoder (`encoder_plan`: the stage codes and the block a stage uses)
    followed by the task's head."""

    datasets = tuple(TASKS)
    presets = ("benchmark", "teaching")
    finite = True

    def config(self, preset: str = "benchmark", dataset: str = "class_scene", **overrides: Any) -> NetworkConfig:
        """benchmark: the benchmark's network (C=64, two cells or blocks per stage, full-width
        task head; its parameter counts match the benchmark's at any input size); teaching:
        C=16, one per stage, decoders 16·C = 256 wide. Both use 32×32 inputs (CIFAR-10) and run
        at any size (the benchmark trained at 256×256, jigsaw on 64×64 tiles, which is what the
        zc files' `flops` column counts). `extra` holds `task`; an override `decoder_width`
        sets the pixel decoders' width (default 16·C)."""
        if preset not in PRESETS:
            raise self._unknown_preset(preset)
        return task_config(preset, dataset, **overrides)

    def encoder_plan(self, arch: Any) -> tuple[tuple[int, ...], Callable[[int, int, int], nn.Module]]:
        raise NotImplementedError

    def build(self, arch: Any, config: NetworkConfig | None = None) -> nn.Module:
        """The TransNAS network of `arch` for the config's task; forward(x) takes an image
        batch (N, 3, H, W) (jigsaw also (N, 9, 3, h, w) tiles) and returns the task output."""
        arch = self.from_str(arch) if isinstance(arch, str) else arch
        config = config or self.config()
        stages, block = self.encoder_plan(arch)
        return task_network(Encoder(stages, config.channels, config.cells, block), config)


__all__ = ["TransNASSpace", "PRESETS", "STAGE_CODES", "STAGE_KINDS", "TASKS", "Encoder", "FactorizedReduce", "JigsawNetwork",
           "ReLUConvBN", "ResNetBasicBlock", "Task", "TaskNetwork", "Zero", "downsamples", "generative_decoder",
           "grid_tiles", "segmentation_decoder", "task", "task_config", "task_network", "widens"]
