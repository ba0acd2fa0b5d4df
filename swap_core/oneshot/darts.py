"""DARTS on NAS-Bench-201 at teaching scale, with magnitude and perturbation-based selection.

DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019) relaxes every cell
edge into a mixed op, the softmax(α_edge)-weighted sum of the five candidate ops, and trains
the weights w on a train split and α on a validation split in alternation (first-order:
α's gradient is taken at the current w). α is one 6×5 matrix shared by every cell.

Selection turns the supernet into one cell:

- `magnitude` — DARTS' rule: argmax α on each edge.
- `perturbation` — Wang et al., "Rethinking Architecture Selection in Differentiable NAS"
  (ICLR 2021): edge by edge in random order, remove each remaining op from the mixed op,
  keep the op whose removal hurts validation accuracy most, discretise the edge to it and
  fine-tune the supernet briefly before the next edge. `perturbation-uniform` does the same
  on a supernet trained with α fixed at uniform (their "DARTS+PT with fixed α").

FLOP-aware DARTS (`DartsConfig.flops_weight` = λ ≥ 0): the α step's loss gains λ·L_FLOP, the
cell's expected FLOPs under softmax(α) (`darts_flops`, where the cost model is described).

As in the paper's code, removing an op zeroes its softmax weight without renormalising the
rest, and a discretised edge carries its op with weight 1. The supernet's BatchNorms always
use batch statistics (DARTS' search networks keep no running statistics), so evaluation
needs no recalibration after an op is removed.

Every random draw comes from generators of the run's own, seeded by its seed: the weights
(PyTorch's default scheme drawn from `swap_core.init.generator(seed)`, on a supernet built
on the meta device), the batch order and the edge order; torch's global generator is never
read. All of it runs deterministically on a CPU for a given torch thread count: with
another count the sums round differently, and perturbation may pick another cell. The
count belongs to the process and is never changed here: the command fixes it once at start
from `DartsConfig.threads` (`--threads`, default 1), and the results record the count that
was in force (`swap_core.reproducible`).
"""
from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import benchmarks, data, init
from . import NB201_TRUTH
from ..reproducible import DEFAULT_THREADS, check_threads
from ..spaces.nb201 import OPS, NB201Arch
from ..spaces.nb201_net import EDGES, ResNetBlock, make_op
from .darts_flops import BENCHMARK_NET, cell_mflops, expected_mflops, flops_loss, op_flops, skeleton_mflops

SELECTIONS = ("magnitude", "perturbation", "perturbation-uniform")
ALPHA_MODES = ("learn", "uniform")
Mask = np.ndarray  # bool, len(EDGES) × len(OPS): which ops each mixed op still has
Progress = Callable[[str, int, int, int], None]  # (stage, seed, done, total)


@dataclass(frozen=True)
class DartsConfig:
    """Supernet size, data split and optimiser settings (defaults: about 2 min for all three selections on one CPU core).

    DARTS trains α with Adam at 3e-4 over 50 epochs of 25k images; with a few hundred steps
    here `arch_lr` is ten times larger so that α moves visibly.
    """

    channels: int = 8
    cells: int = 1                  # search cells per stage
    epochs: int = 10
    batch_size: int = 64
    n_train: int = 640              # images for the weight step
    n_val: int = 640                # images for the α step, validation accuracy and selection
    weight_lr: float = 0.05         # SGD, cosine-annealed to 0 over the epochs
    momentum: float = 0.9
    weight_decay: float = 3e-4
    arch_lr: float = 3e-3           # Adam, betas (0.5, 0.999), as DARTS
    arch_weight_decay: float = 1e-3
    alpha: str = "learn"            # "uniform": α stays at zero (uniform weights), no α step
    finetune_steps: int = 10        # weight steps after each edge is discretised
    finetune_lr: float = 0.01
    input_size: int = 16            # CIFAR-10 images are downsized (4× cheaper than 32×32)
    source: str = "auto"            # image source for `data.load_batch`
    threads: int = DEFAULT_THREADS  # torch threads the process runs with: the command fixes it once at start
    flops_weight: float = 0.0       # λ of the α step's λ·L_FLOP (0: plain DARTS)

    def __post_init__(self) -> None:
        positive = ("channels", "cells", "epochs", "batch_size", "n_train", "n_val", "input_size")
        bad = [f"{name}={getattr(self, name)!r}" for name in positive
               if not isinstance(getattr(self, name), int) or getattr(self, name) < 1]
        bad += [f"{name}={getattr(self, name)!r}" for name in ("weight_lr", "arch_lr", "finetune_lr")
                if not getattr(self, name) > 0]
        if not isinstance(self.finetune_steps, int) or self.finetune_steps < 0:
            bad.append(f"finetune_steps={self.finetune_steps!r}")
        if bad:
            raise ValueError(f"invalid DARTS settings: {', '.join(bad)} (sizes and steps are whole numbers, "
                             "sizes and learning rates positive, finetune_steps >= 0)")
        if self.alpha not in ALPHA_MODES:
            raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {self.alpha!r}")
        check_threads(self.threads)
        if isinstance(self.flops_weight, bool) or not isinstance(self.flops_weight, (int, float)) \
                or not 0 <= self.flops_weight < math.inf:
            raise ValueError(f"flops_weight must be a finite number >= 0, got {self.flops_weight!r}")

    @property
    def total_steps(self) -> int:
        """Training steps: `epochs` × the batches in `n_train` images (the last one may be short)."""
        return self.epochs * math.ceil(self.n_train / self.batch_size)


# --- the supernet ---------------------------------------------------------------------------------

def full_mask() -> Mask:
    return np.ones((len(EDGES), len(OPS)), dtype=bool)


def edge_weights(alpha: torch.Tensor, mask: Mask | None = None) -> torch.Tensor:
    """softmax(α) per edge; removed ops get weight 0 (no renormalisation), an edge with one
    op left gets weight 1 on it."""
    weights = F.softmax(alpha, dim=-1)
    if mask is None:
        return weights
    keep = torch.as_tensor(mask, dtype=weights.dtype)
    single = torch.as_tensor(mask.sum(axis=1) == 1).unsqueeze(1)
    return torch.where(single, keep, weights * keep)


class MixedOp(nn.Module):
    """All five ops of one edge; forward sums them weighted, skipping zero-weight ops."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(make_op(name, channels, channels) for name in OPS)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(x.shape)
        for op, weight, name in zip(self.ops, weights, OPS):
            if name != "none" and float(weight.detach()) != 0.0:
                out = out + weight * op(x)
        return out


class SearchCell(nn.Module):
    """A NAS-Bench-201 cell whose six edges are mixed ops."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(channels) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(sum(edge(nodes[src], weights[e])
                             for e, (edge, (src, dst)) in enumerate(zip(self.edges, EDGES)) if dst == target))
        return nodes[-1]


class Supernet(nn.Module):
    """NAS-Bench-201's skeleton (stem, 3 stages of `cells` cells at C/2C/4C joined by ResNet
    blocks, head) with mixed-op cells sharing one α (`len(EDGES)` × `len(OPS)`)."""

    def __init__(self, channels: int = 8, cells: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks: list[nn.Module] = []
        for stage, width in enumerate((channels, 2 * channels, 4 * channels)):
            if stage > 0:
                blocks.append(ResNetBlock(width // 2, width))
            blocks.extend(SearchCell(width) for _ in range(cells))
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * channels), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(4 * channels, num_classes)
        self.alpha = nn.Parameter(torch.zeros(len(EDGES), len(OPS)))
        for module in self.modules():  # batch statistics always, as DARTS' search networks
            if isinstance(module, nn.BatchNorm2d):
                module.track_running_stats, module.running_mean, module.running_var = False, None, None
                module.num_batches_tracked = None

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def forward(self, x: torch.Tensor, mask: Mask | None = None) -> torch.Tensor:
        weights = edge_weights(self.alpha, mask)
        x = self.stem(x)
        for block in self.cells:
            x = block(x, weights) if isinstance(block, SearchCell) else block(x)
        return self.classifier(self.lastact(x).mean(dim=(2, 3)))


def build_supernet(config: DartsConfig, seed: int) -> Supernet:
    """The supernet with α at zero and every weight drawn, with PyTorch's default scheme, from
    a generator seeded by `seed`; built on the meta device, so torch's global generator is
    neither read nor advanced."""
    with torch.device("meta"):
        model = Supernet(config.channels, config.cells)
    model = model.to_empty(device="cpu")
    rng = init.generator(seed)
    for part in model.children():  # the supernet's own parameter, α, is no weight: zero
        init.default_init_(part, rng)
    with torch.no_grad():
        model.alpha.zero_()
    return model


# --- data and training ----------------------------------------------------------------------------

@dataclass
class Split:
    """Disjoint train and validation images for the bi-level optimisation."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    description: str = ""


def load_split(n_train: int, n_val: int, seed: int = 0, source: str = "auto", input_size: int = 16) -> Split:
    """`n_train + n_val` distinct training-set images (chosen by `seed`), cut in two."""
    batch = data.load_batch(n_train + n_val, seed, source=source, split="train", input_size=input_size)
    x, y = batch.images, batch.labels
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:], batch.description)


@torch.no_grad()
def accuracy(model: Supernet, x: torch.Tensor, y: torch.Tensor, mask: Mask | None = None,
             batch_size: int = 256) -> float:
    """Top-1 accuracy (%) of the supernet under `mask`, in fixed batches."""
    correct = sum(int((model(x[i:i + batch_size], mask).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(y), batch_size))
    return 100.0 * correct / len(y)


@dataclass(frozen=True)
class DartsState:
    """One training step. `val_acc` is NaN except at the end of an epoch; `alpha` is a copy;
    `supernet` is the live model (use it to select once you stop)."""

    step: int
    epoch: int                       # 1-based epoch this step belongs to
    train_loss: float
    train_acc: float
    val_acc: float
    alpha: np.ndarray = field(repr=False)
    seconds: float = 0.0
    done: bool = False
    supernet: Supernet | None = field(default=None, repr=False, compare=False)
    split: Split | None = field(default=None, repr=False, compare=False)
    flops_loss: float = math.nan       # L_FLOP of `alpha` (in [0, 1], whatever λ)
    expected_mflops: float = math.nan  # the benchmark network's MFLOPs expected under softmax(`alpha`)


def train_supernet(config: DartsConfig = DartsConfig(), seed: int = 0, split: Split | None = None
                   ) -> Iterator[DartsState]:
    """First-order DARTS as a generator: per step an α step on a validation batch (unless
    `config.alpha == "uniform"`; its loss + λ·L_FLOP when `config.flops_weight` λ > 0) then a
    weight step on a train batch; stop any time. Runs with the process's torch thread count
    (it never changes it)."""
    split = split or load_split(config.n_train, config.n_val, seed, config.source, config.input_size)
    model = build_supernet(config, seed)
    steps_per_epoch = math.ceil(len(split.train_y) / config.batch_size)
    w_opt = torch.optim.SGD(model.weight_parameters(), config.weight_lr, momentum=config.momentum,
                            weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, config.epochs * steps_per_epoch)
    a_opt = torch.optim.Adam([model.alpha], config.arch_lr, betas=(0.5, 0.999), weight_decay=config.arch_weight_decay)
    order = torch.Generator().manual_seed(seed)
    start, step = time.perf_counter(), 0
    for epoch in range(1, config.epochs + 1):
        train_idx = torch.randperm(len(split.train_y), generator=order)
        val_idx = torch.randperm(len(split.val_y), generator=order)
        for i in range(steps_per_epoch):
            batch = train_idx[i * config.batch_size:(i + 1) * config.batch_size]
            last = i == steps_per_epoch - 1
            if config.alpha == "learn":
                vb = val_idx[(torch.arange(len(batch)) + i * config.batch_size) % len(val_idx)]
                a_opt.zero_grad()
                loss = F.cross_entropy(model(split.val_x[vb]), split.val_y[vb])
                if config.flops_weight > 0:  # λ = 0 leaves plain DARTS untouched, bit for bit
                    loss = loss + config.flops_weight * flops_loss(model.alpha)
                loss.backward()
                a_opt.step()
            loss, acc = _weight_step(model, w_opt, split.train_x[batch], split.train_y[batch])
            schedule.step()
            val_acc = accuracy(model, split.val_x, split.val_y) if last else math.nan
            step += 1
            alpha = model.alpha.detach()
            yield DartsState(step, epoch, loss, acc, val_acc, alpha.numpy().copy(), time.perf_counter() - start,
                             last and epoch == config.epochs, model, split, float(flops_loss(alpha)),
                             expected_mflops(alpha))


def _weight_step(model: Supernet, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                 mask: Mask | None = None) -> tuple[float, float]:
    optimizer.zero_grad()
    logits = model(x, mask)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.weight_parameters(), 5.0)  # as DARTS
    optimizer.step()
    model.alpha.grad = None  # the weight step never moves α
    return loss.item(), 100.0 * (logits.argmax(1) == y).float().mean().item()


# --- selection ------------------------------------------------------------------------------------

def select_magnitude(alpha: np.ndarray | torch.Tensor) -> str:
    """DARTS' rule: the op with the largest α on each edge, as an NB201 string."""
    alpha = np.asarray(alpha.detach() if isinstance(alpha, torch.Tensor) else alpha, dtype=float)
    if alpha.shape != (len(EDGES), len(OPS)):
        raise ValueError(f"alpha must be {len(EDGES)}×{len(OPS)} (edges × ops {OPS}), got shape {alpha.shape}")
    return NB201Arch(tuple(OPS[k] for k in alpha.argmax(axis=1))).to_str()


@dataclass(frozen=True)
class EdgeDecision:
    """What perturbation saw on one edge: val accuracy with each op removed, and the op kept."""

    edge: int
    accuracy_without: dict[str, float]
    chosen: str


@dataclass(frozen=True)
class PerturbationState:
    """Perturbation selection so far: after each trial (one op removed from one edge, one
    validation pass) and once more after each edge is decided and fine-tuned."""

    trials: int                           # validation passes done
    total_trials: int                     # one per op on every edge
    edge: int                             # the edge being decided (or just decided)
    decisions: tuple[EdgeDecision, ...]   # edges decided so far, in order
    arch: str | None = None               # the chosen cell, once every edge is decided
    seconds: float = 0.0

    @property
    def done(self) -> bool:
        return self.arch is not None


def perturbation_steps(val_accuracy: Callable[[Mask], float], edge_order: Sequence[int],
                       fine_tune: Callable[[Mask], None] | None = None) -> Iterator[PerturbationState]:
    """Wang et al.'s selection as a generator (stop any time): on each edge in `edge_order`,
    remove each remaining op in turn, keep the op whose removal gives the lowest
    `val_accuracy(mask)` (first on ties), discretise the edge to it, then `fine_tune(mask)`.
    The last state carries the NB201 string. A bad `edge_order` raises here, at the call."""
    if sorted(edge_order) != list(range(len(EDGES))):
        raise ValueError(f"edge_order must be a permutation of 0..{len(EDGES) - 1}, got {list(edge_order)}")
    return _perturbation_steps(val_accuracy, list(edge_order), fine_tune)


def _perturbation_steps(val_accuracy, edge_order, fine_tune) -> Iterator[PerturbationState]:
    mask, decisions, trials, started = full_mask(), [], 0, time.perf_counter()
    total = len(EDGES) * len(OPS)
    for number, edge in enumerate(edge_order):
        without = {}
        for k in np.flatnonzero(mask[edge]):
            trial = mask.copy()
            trial[edge, k] = False
            without[OPS[k]] = float(val_accuracy(trial))
            trials += 1
            yield PerturbationState(trials, total, int(edge), tuple(decisions), None, time.perf_counter() - started)
        chosen = min(without, key=without.get)
        mask[edge] = [op == chosen for op in OPS]
        decisions.append(EdgeDecision(int(edge), without, chosen))
        if fine_tune is not None:
            fine_tune(mask.copy())
        arch = NB201Arch(tuple(OPS[k] for k in mask.argmax(axis=1))).to_str() if number == len(EDGES) - 1 else None
        yield PerturbationState(trials, total, int(edge), tuple(decisions), arch, time.perf_counter() - started)


def select_by_perturbation(val_accuracy: Callable[[Mask], float], edge_order: Sequence[int],
                           fine_tune: Callable[[Mask], None] | None = None) -> tuple[str, list[EdgeDecision]]:
    """`perturbation_steps` run to the end: (the NB201 string, the decisions)."""
    state = None
    for state in perturbation_steps(val_accuracy, edge_order, fine_tune):
        pass
    return state.arch, list(state.decisions)


def perturbation_run(model: Supernet, split: Split, config: DartsConfig = DartsConfig(), seed: int = 0
                     ) -> Iterator[PerturbationState]:
    """Perturbation selection on a trained supernet, as a generator (it fine-tunes `model` in
    place: pass a copy to keep it, or use `perturbation_on_copy`). Edge order and fine-tuning
    batches follow `seed`; it runs with the process's torch thread count."""
    optimizer = torch.optim.SGD(model.weight_parameters(), config.finetune_lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    batches = torch.Generator().manual_seed(seed + 1)

    def val_accuracy(mask: Mask) -> float:
        return accuracy(model, split.val_x, split.val_y, mask)

    def fine_tune(mask: Mask) -> None:
        for _ in range(config.finetune_steps):
            batch = torch.randperm(len(split.train_y), generator=batches)[:config.batch_size]
            _weight_step(model, optimizer, split.train_x[batch], split.train_y[batch], mask)

    edge_order = random.Random(seed).sample(range(len(EDGES)), len(EDGES))
    return perturbation_steps(val_accuracy, edge_order, fine_tune)


def perturbation_on_copy(model: Supernet, split: Split, config: DartsConfig = DartsConfig(), seed: int = 0
                         ) -> Iterator[PerturbationState]:
    """`perturbation_run` on a copy of `model`, made when the first state is asked for (so in
    the thread that runs the generator): `model` stays as trained."""
    yield from perturbation_run(copy.deepcopy(model), split, config, seed)


def perturbation_select(model: Supernet, split: Split, config: DartsConfig = DartsConfig(), seed: int = 0,
                        progress: Callable[[int, int], None] | None = None) -> tuple[str, list[EdgeDecision]]:
    """`perturbation_run` to the end: (the NB201 string, the decisions); `progress(trials, total)`."""
    state = None
    for state in perturbation_run(model, split, config, seed):
        if progress is not None:
            progress(state.trials, state.total_trials)
    return state.arch, list(state.decisions)


# --- the experiment -------------------------------------------------------------------------------

def _train(config: DartsConfig, seed: int, split: Split, progress: Progress | None, stage: str):
    """Run the generator to the end: (supernet, per epoch incl. the start {α, L_FLOP, expected
    benchmark MFLOPs}, seconds)."""
    alphas, state = [np.zeros((len(EDGES), len(OPS)))], None
    total = config.total_steps
    for state in train_supernet(config, seed, split):
        if not math.isnan(state.val_acc):
            alphas.append(state.alpha)
        if progress is not None:
            progress(stage, seed, state.step, total)
    history = {"alpha_history": [a.round(5).tolist() for a in alphas],
               "flops_loss_history": [round(float(flops_loss(torch.as_tensor(a))), 6) for a in alphas],
               "mflops_history": [round(expected_mflops(a), 4) for a in alphas]}
    return state.supernet, history, state.seconds


def _truth() -> dict[str, float] | None:
    try:
        return benchmarks.truth_table(NB201_TRUTH)
    except (benchmarks.MissingDataError, FileNotFoundError, KeyError):
        return None


def darts_experiment(selections: Sequence[str] = SELECTIONS, seeds: Sequence[int] = (0,),
                     config: DartsConfig = DartsConfig(), progress: Progress | None = None) -> dict:
    """Each selection rule × seed. Per seed the DARTS supernet is trained once (shared by
    `magnitude` and `perturbation`) and the α-uniform one once (for `perturbation-uniform`).
    Returns {"runs": [{selection, seed, flops_weight (λ), arch, mflops (the cell's NB201
    benchmark network), accuracy (NB201 CIFAR-10 test, NaN without the table), seconds
    (training + selection), train_seconds, alpha_history (6×5 per epoch, incl. the start),
    flops_loss_history and mflops_history (L_FLOP and expected MFLOPs per epoch), decisions}],
    "config": ..., "data": ...}; `config["threads"]` is the torch thread count the process ran
    with (what the numbers depend on), whatever `config.threads` asked for."""
    unknown = [s for s in selections if s not in SELECTIONS]
    if unknown or not selections:
        raise ValueError(f"unknown or no selection rule(s) {unknown or list(selections)}; expected some of {SELECTIONS}")
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {list(seeds)}")
    truth, runs, description, threads = _truth(), [], "", torch.get_num_threads()
    for seed in seeds:
        split = load_split(config.n_train, config.n_val, seed, config.source, config.input_size)
        description = split.description
        for mode, rules in (("learn", ("magnitude", "perturbation")), ("uniform", ("perturbation-uniform",))):
            rules = [r for r in rules if r in selections]
            if not rules:
                continue
            model, history, train_seconds = _train(replace(config, alpha=mode), seed, split, progress, f"train α={mode}")
            for rule in rules:
                start, decisions = time.perf_counter(), []
                if rule == "magnitude":
                    arch = select_magnitude(model.alpha)
                else:
                    report = (lambda done, total, rule=rule: progress(rule, seed, done, total)) if progress else None
                    arch, decisions = perturbation_select(model, split, config, seed, report)
                seconds = time.perf_counter() - start
                runs.append({"selection": rule, "seed": seed, "flops_weight": config.flops_weight, "arch": arch,
                             "mflops": cell_mflops(arch), "accuracy": truth.get(arch, math.nan) if truth else math.nan,
                             "seconds": train_seconds + seconds, "train_seconds": train_seconds,
                             **history, "decisions": [vars(d) for d in decisions]})
    runs.sort(key=lambda r: (r["seed"], SELECTIONS.index(r["selection"])))
    return {"runs": runs, "config": {**vars(config), "threads": threads}, "data": description}


__all__ = ["ALPHA_MODES", "BENCHMARK_NET", "SELECTIONS", "DartsConfig", "DartsState", "EdgeDecision", "MixedOp",
           "SearchCell", "PerturbationState", "Split", "Supernet", "accuracy", "build_supernet", "cell_mflops",
           "darts_experiment", "edge_weights", "expected_mflops", "flops_loss", "full_mask", "load_split", "op_flops",
           "skeleton_mflops", "perturbation_on_copy", "perturbation_run", "perturbation_select",
           "perturbation_steps", "select_by_perturbation", "select_magnitude", "train_supernet"]
