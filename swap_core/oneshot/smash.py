"""SMASH on NAS-Bench-201: a hypernetwork generates each architecture's conv weights.

Brock, Lim, Ritchie & Weston, "SMASH: One-Shot Model Architecture Search through
HyperNetworks" (ICLR 2018). One hypernetwork H is trained so that for *any* architecture a
its generated weights W = H(c(a)) are good: every step samples a random architecture,
generates its weights, and takes one optimiser step on a minibatch, updating H. Afterwards
each candidate is ranked by its validation accuracy with generated weights and no training
of its own; the paper's claim is that this ranking tracks the ranking after real training.

What this module does, at teaching scale:

- **Network**: NAS-Bench-201's skeleton with the `teaching` preset (C=8, one cell per
  stage): stem, cell, ResNet block, cell, ResNet block, cell, BN-ReLU, pool, linear.
- **Generated weights**: the conv of every `nor_conv_1x1` / `nor_conv_3x3` edge in all three
  cells. Stem, reduction blocks and classifier are ordinary weights shared by every
  architecture (SMASH likewise leaves the fixed parts of its network to normal training).
- **Encoding** c(a, slot) (instead of the paper's memory-bank tensor): the one-hot op of all
  six edges (so an edge's weights depend on the whole cell), plus one-hots of the edge, the
  stage and the conv kind. An MLP embeds it; one linear head per (stage, kernel) emits the
  weight tensor.
- **BN**: no learned affine and no running statistics; it always normalises with the
  statistics of the batch at hand, in training and in scoring, because running averages
  pooled over thousands of different architectures describe none of them.
- **Data**: CIFAR-10 training images for H, held-out CIFAR-10 *test* images for scoring
  (`cifar10_sample.npz` has 4,660 and 846; the defaults use 4,096 and 512), downsampled to
  16x16 by default (antialiased) so that a run fits in a few CPU minutes; 32 works, ~4x slower.

Every random draw comes from the run's own generators, seeded by its seed: the initial
weights (PyTorch's default scheme drawn from `swap_core.init.generator(seed)` on a network
built on the meta device), the minibatches, the flips and the sampled cells; torch's global
generator is never read. The torch thread count is the process's and is never changed here
(the command fixes it once at start, `--threads`, default 1); results record the count in
force, because the ranking depends on it.

Measured with the defaults (100 cells, 2,000 steps, one torch thread): about 60 s unloaded
(170 s on a busy machine); Spearman rho with NB201 CIFAR-10 test accuracy on seeds 0-4 in
`results/oneshot/` and the README. Among the cells the benchmark puts above 85 % the
generated-weight accuracies spread over only 7-9 of the 512 validation images (standard
deviation), so their order is fragile: the same seed with two threads instead of one gave
rho 0.437 instead of 0.864. Hence the thread count is recorded with the results.
"""
from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import benchmarks, init
from ..data import Batch, load_batch
from ..explorer import sample_architectures
from ..spaces import get_space
from ..spaces.nb201 import EDGES, OPS, NB201Arch
from ..stats import rank_correlation
from . import NB201_TRUTH
from ..reproducible import DEFAULT_THREADS

PAPER = "Brock et al., SMASH: One-Shot Model Architecture Search through HyperNetworks (ICLR 2018)"
KERNELS = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}  # the ops whose weights H generates
STAGES = 3
ENCODING_SIZE = len(EDGES) * len(OPS) + len(EDGES) + STAGES + len(KERNELS)
DEFAULTS = {"channels": 8, "hidden": 64, "steps": 2000, "batch_size": 64, "lr": 2e-3,
            "n_train": 4096, "n_val": 512, "input_size": 16,
            "threads": DEFAULT_THREADS}  # the command's default `--threads`, fixed once for its process

Progress = Callable[[str, int, int], None]  # (phase "train" / "score", done, total)
SWAP = Callable[[str], float]  # a cell's SWAP-Score, for comparison (the app passes `Setup.score`)


def _norm(x: torch.Tensor) -> torch.Tensor:
    """BatchNorm without affine or running stats: always the current batch's statistics."""
    return F.batch_norm(x, None, None, training=True)


def _as_arch(arch: NB201Arch | str) -> NB201Arch:
    return arch if isinstance(arch, NB201Arch) else NB201Arch.from_str(arch)


def encode(arch: NB201Arch | str, stage: int, edge: int, op: str) -> torch.Tensor:
    """c(a, slot): one-hot ops of all six edges, then one-hots of edge, stage and conv kind."""
    arch = _as_arch(arch)
    code = torch.zeros(ENCODING_SIZE)
    for i, name in enumerate(arch.ops):
        code[i * len(OPS) + OPS.index(name)] = 1.0
    offset = len(EDGES) * len(OPS)
    code[offset + edge] = 1.0
    code[offset + len(EDGES) + stage] = 1.0
    code[offset + len(EDGES) + STAGES + list(KERNELS).index(op)] = 1.0
    return code


class HyperNetwork(nn.Module):
    """c(a, slot) -> conv weight of that slot: a 2-layer MLP, then one head per (stage, kernel)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.widths = [channels * 2 ** s for s in range(STAGES)]
        self.embed = nn.Sequential(nn.Linear(ENCODING_SIZE, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.ModuleDict({f"{s}_{op}": nn.Linear(hidden, w * w * k * k)
                                    for s, w in enumerate(self.widths) for op, k in KERNELS.items()})

    def forward(self, arch: NB201Arch | str) -> dict[tuple[int, int], torch.Tensor]:
        """{(stage, edge): weight (C_s, C_s, k, k)} for every conv edge of `arch` in every cell."""
        arch = _as_arch(arch)
        slots = [(s, e, op) for s in range(STAGES) for e, op in enumerate(arch.ops) if op in KERNELS]
        if not slots:
            return {}
        hidden = self.embed(torch.stack([encode(arch, s, e, op) for s, e, op in slots]))
        weights = {}
        for row, (s, e, op) in zip(hidden, slots):
            w, k = self.widths[s], KERNELS[op]
            weights[(s, e)] = self.heads[f"{s}_{op}"](row).view(w, w, k, k)
        return weights


def cell_forward(x: torch.Tensor, ops: Sequence[str], weights: dict[tuple[int, int], torch.Tensor],
                 stage: int) -> torch.Tensor:
    """A NAS-Bench-201 cell with given conv weights; `none` edges add nothing (node = 0 if all are)."""
    nodes = [x]
    for target in (1, 2, 3):
        total = torch.zeros_like(x)
        for edge, (op, (src, dst)) in enumerate(zip(ops, EDGES)):
            if dst != target or op == "none":
                continue
            h = nodes[src]
            if op == "skip_connect":
                total = total + h
            elif op == "avg_pool_3x3":
                total = total + F.avg_pool2d(h, 3, stride=1, padding=1, count_include_pad=False)
            else:
                weight = weights[(stage, edge)]
                total = total + _norm(F.conv2d(F.relu(h), weight, padding=weight.shape[-1] // 2))
        nodes.append(total)
    return nodes[-1]


class ReductionBlock(nn.Module):
    """NAS-Bench-201's stride-2 ResNet block (ordinary weights), with batch-statistics BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
        self.conv_b = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _norm(self.conv_b(F.relu(_norm(self.conv_a(F.relu(x))))))
        return self.shortcut(F.avg_pool2d(x, 2)) + h


class SmashNetwork(nn.Module):
    """The hypernetwork plus the fixed parts of the network; `forward(x, arch)` -> logits."""

    def __init__(self, channels: int = DEFAULTS["channels"], hidden: int = DEFAULTS["hidden"],
                 num_classes: int = 10, seed: int = 0) -> None:
        if channels < 1 or hidden < 1 or num_classes < 2:
            raise ValueError(f"channels and hidden must be >= 1 and num_classes >= 2, "
                             f"got {channels}, {hidden}, {num_classes}")
        super().__init__()
        with torch.device("meta"):  # no draws here: the weights come from the seed's generator below
            self.hyper = HyperNetwork(channels, hidden)
            widths = self.hyper.widths
            self.stem = nn.Conv2d(3, channels, 3, padding=1, bias=False)
            self.reductions = nn.ModuleList(ReductionBlock(a, b) for a, b in zip(widths, widths[1:]))
            self.classifier = nn.Linear(widths[-1], num_classes)
        self.to_empty(device="cpu")
        init.default_init_(self, init.generator(seed))

    def forward(self, x: torch.Tensor, arch: NB201Arch | str,
                weights: dict[tuple[int, int], torch.Tensor] | None = None) -> torch.Tensor:
        arch = _as_arch(arch)
        weights = self.hyper(arch) if weights is None else weights
        x = _norm(self.stem(x))
        for stage in range(STAGES):
            if stage > 0:
                x = self.reductions[stage - 1](x)
            x = cell_forward(x, arch.ops, weights, stage)
        return self.classifier(F.relu(_norm(x)).mean(dim=(2, 3)))


@dataclass(frozen=True)
class SmashState:
    """One training step: its architecture, minibatch loss/accuracy and running means."""

    step: int
    steps: int
    arch: str
    loss: float
    accuracy: float
    running_loss: float       # mean over the last `window` steps
    running_accuracy: float
    seconds: float

    @property
    def done(self) -> bool:
        return self.step >= self.steps


def _flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mirror = torch.rand(len(images), generator=generator) < 0.5
    return torch.where(mirror.view(-1, 1, 1, 1), images.flip(-1), images)


def smash_training(model: SmashNetwork, images: torch.Tensor, labels: torch.Tensor,
                   steps: int = DEFAULTS["steps"], *, seed: int = 0, batch_size: int = DEFAULTS["batch_size"],
                   lr: float = DEFAULTS["lr"], window: int = 50) -> Iterator[SmashState]:
    """Train `model` in place: per step a random NB201 architecture, its generated weights, one
    Adam step (cosine-decayed lr) on a flipped minibatch. Yields a `SmashState` after every step;
    stop any time. Seeded: the same seed, model and data give the same run on the CPU for the
    same torch thread count (the process's; see the module docstring). Bad settings raise
    `ValueError` at the call, before the first step."""
    if steps < 1 or window < 1:
        raise ValueError(f"steps and window must be >= 1, got {steps} and {window}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if not 2 <= batch_size <= len(images):
        raise ValueError(f"batch_size must be in [2, {len(images)}] (batch-statistics BN needs 2), got {batch_size}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    return _training_steps(model, images, labels, steps, seed, batch_size, lr, window)


def _training_steps(model: SmashNetwork, images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int,
                    batch_size: int, lr: float, window: int) -> Iterator[SmashState]:
    space, arch_rng = get_space("nb201"), random.Random(f"smash-train:{seed}")
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    recent: deque[tuple[float, float]] = deque(maxlen=window)
    order, cursor, started = torch.randperm(len(images), generator=generator), 0, time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        if cursor + batch_size > len(images):
            order, cursor = torch.randperm(len(images), generator=generator), 0
        index = order[cursor:cursor + batch_size]
        cursor += batch_size
        arch = space.sample(arch_rng)
        logits = model(_flip(images[index], generator), arch)
        loss = F.cross_entropy(logits, labels[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        accuracy = (logits.argmax(1) == labels[index]).float().mean().item()
        recent.append((loss.item(), accuracy))
        yield SmashState(step, steps, arch.to_str(), loss.item(), accuracy,
                         sum(r[0] for r in recent) / len(recent), sum(r[1] for r in recent) / len(recent),
                         time.perf_counter() - started)


@torch.no_grad()
def smash_accuracy(model: SmashNetwork, arch: NB201Arch | str, images: torch.Tensor, labels: torch.Tensor,
                   batch_size: int = 256) -> float:
    """Validation accuracy in [0, 1] of one architecture with generated weights (no training);
    BN uses the statistics of each scoring batch of `batch_size` images, in a fixed order."""
    if batch_size < 2 or len(images) < 2:
        raise ValueError(f"scoring needs batch_size >= 2 and >= 2 images, got {batch_size} and {len(images)}")
    model.eval()
    weights = model.hyper(arch)
    correct = sum((model(images[j:j + batch_size], arch, weights).argmax(1) == labels[j:j + batch_size]).sum().item()
                  for j in range(0, len(images), batch_size))
    return correct / len(images)


def smash_scores(model: SmashNetwork, archs: Sequence[NB201Arch | str], images: torch.Tensor,
                 labels: torch.Tensor, *, batch_size: int = 256,
                 progress: Callable[[int, int], None] | None = None) -> list[float]:
    """`smash_accuracy` of each architecture, in order; `progress(done, total)` after each."""
    scores = []
    for i, arch in enumerate(archs):
        scores.append(smash_accuracy(model, arch, images, labels, batch_size))
        if progress is not None:
            progress(i + 1, len(archs))
    return scores


@dataclass(frozen=True)
class RankState:
    """One cell ranked: its SMASH accuracy (generated weights, in [0, 1]) and, when a SWAP
    function was given, its SWAP-Score (else NaN)."""

    index: int                # 1-based: cells ranked so far
    total: int
    arch: str
    smash_accuracy: float
    swap: float = math.nan

    @property
    def done(self) -> bool:
        return self.index >= self.total


def rank_steps(model: SmashNetwork, archs: Sequence[NB201Arch | str], images: torch.Tensor, labels: torch.Tensor,
               swap: SWAP | None = None) -> Iterator[RankState]:
    """Rank `archs` with generated weights, one `RankState` per cell (stop any time)."""
    names = [_as_arch(a).to_str() for a in archs]
    for index, arch in enumerate(names, 1):
        yield RankState(index, len(names), arch, smash_accuracy(model, arch, images, labels),
                        swap(arch) if swap is not None else math.nan)


def smash_run(model: SmashNetwork, train: Batch, val: Batch, archs: Sequence[NB201Arch | str],
              steps: int = DEFAULTS["steps"], *, seed: int = 0, swap: SWAP | None = None,
              **options) -> Iterator[SmashState | RankState]:
    """The whole method as one generator, as the app runs it: `smash_training` on `train`
    (a `SmashState` per step; `options` are its batch_size, lr, window), then `rank_steps` on
    `val` (a `RankState` per cell). Bad settings raise at the call."""
    training = smash_training(model, train.images, train.labels, steps, seed=seed, **options)
    names = [_as_arch(a).to_str() for a in archs]

    def states() -> Iterator[SmashState | RankState]:
        yield from training
        yield from rank_steps(model, names, val.images, val.labels, swap)
    return states()


def smash_data(n_train: int = DEFAULTS["n_train"], n_val: int = DEFAULTS["n_val"], seed: int = 0,
               data_dir=None, input_size: int = DEFAULTS["input_size"]) -> tuple[Batch, Batch]:
    """(training images, held-out validation images): CIFAR-10 train and test split, drawn by seed.
    Raises `MissingDataError` when only non-CIFAR fallbacks exist (SMASH needs real labels)."""
    if n_train < 2 or n_val < 2:
        raise ValueError(f"n_train and n_val must be >= 2, got {n_train} and {n_val}")
    train = load_batch(n_train, seed, split="train", data_dir=data_dir, input_size=input_size)
    val = load_batch(n_val, seed, split="test", data_dir=data_dir, input_size=input_size)
    if not (train.has_class_labels and val.has_class_labels):
        raise benchmarks.MissingDataError(f"SMASH trains on labelled CIFAR-10 images, found only {train.source}: "
                                          f"get them with `{benchmarks.FETCH_COMMAND} --items cifar10`")
    return train, val


def distinct_archs(n: int, seed: int) -> list[NB201Arch]:
    """`n` distinct NB201 cells, sampled in order with `random.Random(seed)`."""
    if not 1 <= n <= len(OPS) ** len(EDGES):
        raise ValueError(f"n_archs must be in [1, {len(OPS) ** len(EDGES)}], got {n}")
    return [NB201Arch.from_str(arch) for arch in sample_architectures(get_space("nb201"), n, seed)]


def smash_experiment(n_archs: int = 100, seed: int = 0, steps: int = DEFAULTS["steps"], *,
                     channels: int = DEFAULTS["channels"], hidden: int = DEFAULTS["hidden"],
                     batch_size: int = DEFAULTS["batch_size"], lr: float = DEFAULTS["lr"],
                     n_train: int = DEFAULTS["n_train"], n_val: int = DEFAULTS["n_val"],
                     input_size: int = DEFAULTS["input_size"], curve_points: int = 200, data_dir=None,
                     progress: Progress | None = None) -> dict:
    """Train SMASH, score `n_archs` sampled cells, and compare with NB201 CIFAR-10 test accuracy.

    Returns {"archs": [{"arch", "smash_accuracy", "benchmark_accuracy"}], "spearman", "kendall",
    "seconds", "steps", "train_curve": [{"step", "loss", "running_loss", "running_accuracy"}]
    (at most `curve_points` evenly spaced steps, the last included), "settings", "paper"};
    `settings["threads"]` is the torch thread count the process ran with.
    """
    threads = torch.get_num_threads()
    truth = benchmarks.truth_table(NB201_TRUTH, data_dir=data_dir)
    archs = distinct_archs(n_archs, seed)
    train, val = smash_data(n_train, n_val, seed, data_dir, input_size)
    started = time.perf_counter()
    model = SmashNetwork(channels, hidden, seed=seed)
    every, curve = max(1, math.ceil(steps / max(curve_points, 1))), []
    for state in smash_training(model, train.images, train.labels, steps, seed=seed, batch_size=batch_size, lr=lr):
        if state.step % every == 0 or state.done:
            curve.append({"step": state.step, "loss": state.loss, "running_loss": state.running_loss,
                          "running_accuracy": state.running_accuracy})
        if progress is not None:
            progress("train", state.step, steps)
    report = (lambda done, total: progress("score", done, total)) if progress is not None else None
    scores = smash_scores(model, archs, val.images, val.labels, progress=report)
    rows = [{"arch": a.to_str(), "smash_accuracy": s, "benchmark_accuracy": truth.get(a.to_str(), math.nan)}
            for a, s in zip(archs, scores)]
    correlation = rank_correlation([r["smash_accuracy"] for r in rows], [r["benchmark_accuracy"] for r in rows])
    settings = {"n_archs": n_archs, "seed": seed, "channels": channels, "hidden": hidden, "batch_size": batch_size,
                "lr": lr, "n_train": n_train, "n_val": n_val, "input_size": input_size, "threads": threads,
                "train_images": train.description,
                "val_images": val.description}
    return {"archs": rows, "spearman": correlation["spearman"], "kendall": correlation["kendall"],
            "seconds": time.perf_counter() - started, "steps": steps, "train_curve": curve,
            "settings": settings, "paper": PAPER}


__all__ = ["DEFAULTS", "PAPER", "HyperNetwork", "RankState", "SmashNetwork", "SmashState", "cell_forward",
           "distinct_archs", "encode", "rank_steps", "smash_accuracy", "smash_data", "smash_experiment", "smash_run",
           "smash_scores", "smash_training"]
