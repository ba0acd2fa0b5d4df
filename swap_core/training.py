"""Short, seeded training of any network on the real CIFAR-10 images available.

A proxy score is a guess at how well a network *would* train; this module trains it, for a
few epochs on a few hundred images, so the Cell Designer can show three numbers side by
side: the proxy, an accuracy measured here and now, and the benchmark's 200-epoch accuracy.
A short run ranks networks only roughly; it is a sanity check, not the benchmark.

The recipe follows NAS-Bench-201's (Dong & Yang, ICLR 2020), scaled down: SGD with Nesterov
momentum 0.9, weight decay 5e-4, a cosine learning rate from `lr` (0.1) to 0 over all steps,
cross-entropy, gradient-norm clipping at 5 as DARTS trains (Liu et al., ICLR 2019; at lr 0.1 a
DARTS teaching network's loss still jumps on its first steps and settles: pass DARTS's own
lr=0.025 for a smoother curve), and optionally the standard CIFAR augmentation (4-pixel padded random crop and
horizontal flip, in plain torch). BatchNorm is in train mode for training steps and in eval
mode for validation.

`train_steps(...)` is a generator that yields a `TrainState` after every optimisation step,
so the app can draw a live loss/accuracy curve and stop at any time; `train(...)` runs it to
the end. Same seed, same model weights and same data give identical losses on the CPU (for
the same torch thread count, the process's, which nothing here changes): the shuffle and the
augmentation draw from a `torch.Generator` of the run's own, so torch's global random state
is neither read nor advanced, whatever other threads do meanwhile. (The networks here have
no dropout; a dropout layer would draw from the global generator.) `seeded_model` draws the
initial weights from a generator seeded by `seed` (`swap_core.init.build_seeded`).

Data: `load_cifar10(...)` draws images from the CIFAR-10 *training* split only (the sample
file or the full archive, see `swap_core.data`) and `split(...)` divides them into disjoint
train and validation sets, so no CIFAR-10 test image is ever trained on.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import benchmarks, data, init

DEFAULT_TRAIN_SIZE = 512
DEFAULT_VAL_SIZE = 256
DEFAULT_EPOCHS = 5
DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 0.1
CIFAR10_FULL_TRAIN_IMAGES = 50_000

LabelledImages = tuple[torch.Tensor, torch.Tensor]  # (float N×3×H×W, int64 N)


@dataclass(frozen=True)
class TrainState:
    """A snapshot after one optimisation step. `train_loss` is this step's mini-batch loss,
    `train_accuracy` the running accuracy over the epoch so far (on augmented images);
    `val_*` are set only on steps where validation ran (end of each epoch, or every
    `eval_every` steps), else None."""

    step: int            # optimisation steps done, 1..total_steps
    total_steps: int
    epoch: int           # the epoch this step belongs to, 1..epochs
    lr: float            # the learning rate this step used
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float       # since training started

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps


@dataclass(frozen=True)
class TrainResult:
    """The whole run: every state, and the last validation (None without a validation set)."""

    history: tuple[TrainState, ...]
    val_accuracy: float | None
    val_loss: float | None
    seconds: float

    @property
    def final_train_loss(self) -> float:
        return self.history[-1].train_loss


# --- data -----------------------------------------------------------------------------------------

def split(images: torch.Tensor, labels: torch.Tensor, val_fraction: float = 1 / 3,
          seed: int = 0) -> tuple[LabelledImages, LabelledImages]:
    """((train images, labels), (val images, labels)): a seeded random permutation of the
    indices, the first `round(val_fraction * N)` of them for validation, the rest for
    training. Disjoint by index; each image lands in exactly one set."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(images)))
    n_val = round(val_fraction * len(images))
    val, train = order[:n_val], order[n_val:]
    if len(train) == 0:
        raise ValueError(f"no training images left from {len(images)} with val_fraction={val_fraction}")
    return (images[train], labels[train]), (images[val], labels[val])


def _training_images_in(source: str, data_dir) -> int:
    if source == "cifar10-sample":
        folder = Path(data_dir) if data_dir is not None else benchmarks.data_dir()
        with np.load(folder / "cifar10_sample.npz") as arrays:
            return len(arrays["train_y"])
    return CIFAR10_FULL_TRAIN_IMAGES


def load_cifar10(train_size: int = DEFAULT_TRAIN_SIZE, val_size: int = DEFAULT_VAL_SIZE, seed: int = 0, *,
                 source: str = "auto", data_dir=None, download: bool = False,
                 ) -> tuple[LabelledImages, LabelledImages, str]:
    """(train set, validation set, description): `train_size + val_size` distinct images
    drawn by `seed` from the CIFAR-10 training split, then `split` into the two sets.

    `source` is "auto" (the sample file, else the archive), "cifar10-sample" or
    "cifar10-download". Without CIFAR-10 this raises `data.DataSourceError` saying how to
    get it: a training curve on placeholder labels would look like a result and mean nothing.
    """
    if train_size < 1 or val_size < 0:
        raise ValueError(f"train_size must be >= 1 and val_size >= 0, got {train_size} and {val_size}")
    names = ("cifar10-sample", "cifar10-download") if source == "auto" else (source,)
    if any(name not in ("cifar10-sample", "cifar10-download") for name in names):
        raise ValueError(f"source must be 'auto', 'cifar10-sample' or 'cifar10-download', got {source!r}")
    size = train_size + val_size
    for name in names:
        try:
            batch = data.load_batch(size, seed, source=name, data_dir=data_dir, split="train", download=download)
        except data.DataSourceError:
            if name == names[-1]:
                raise
            continue
        available = _training_images_in(name, data_dir)
        if size > available:  # load_batch would repeat images, and a repeat may land in both sets
            raise ValueError(f"asked for {train_size} + {val_size} images but {name} holds {available} "
                             "CIFAR-10 training images")
        train_set, val_set = split(batch.images, batch.labels, val_size / size, seed)
        return train_set, val_set, (f"{batch.description}: {len(train_set[1])} to train on, "
                                    f"{len(val_set[1])} held out for validation")
    raise AssertionError("unreachable")


def augment(images: torch.Tensor, generator: torch.Generator | None = None, padding: int = 4) -> torch.Tensor:
    """The standard CIFAR augmentation: a random crop of the zero-padded image and a
    horizontal flip with probability 1/2, drawn per image."""
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = (top[:, None] + torch.arange(h))[:, None, :, None]
    cols = (left[:, None] + torch.arange(w))[:, None, None, :]
    cropped = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], cropped.flip(3), cropped)


# --- training -------------------------------------------------------------------------------------

def _check_data(name: str, dataset: LabelledImages) -> LabelledImages:
    images, labels = dataset
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{name} must be (images N×C×H×W, labels N), got shapes "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}")
    return images.float(), labels.long()


def _check_output(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device) -> None:
    """Raise ValueError unless the network maps N images to (N, classes) logits."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        output = model(images[:2].to(device))
    model.train(was_training)
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
    if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != len(images[:2]):
        raise ValueError(f"training needs a network whose output is (N, classes) logits; for "
                         f"{len(images[:2])} images this one returned {shape}")
    if int(labels.max()) >= output.shape[1]:
        raise ValueError(f"labels go up to {int(labels.max())} but the network has only {output.shape[1]} outputs")


@torch.no_grad()
def evaluate(model: nn.Module, dataset: LabelledImages, device="cpu", batch_size: int = 256) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in [0, 1]) with BatchNorm in eval mode; restores the mode."""
    images, labels = dataset
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start:start + batch_size].to(device))
        target = labels[start:start + batch_size].to(device)
        loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(1) == target).sum())
    model.train(was_training)
    return loss_sum / len(labels), correct / len(labels)


def train_steps(model: nn.Module, train_set: LabelledImages, val_set: LabelledImages | None = None, *,
                epochs: int = DEFAULT_EPOCHS, batch_size: int = DEFAULT_BATCH_SIZE, lr: float = DEFAULT_LR,
                momentum: float = 0.9, weight_decay: float = 5e-4, grad_clip: float | None = 5.0,
                augmentation: bool = True, seed: int = 0, device: str | torch.device = "cpu",
                eval_every: int | None = None) -> Iterator[TrainState]:
    """Train `model` in place and yield a `TrainState` after every step; stop any time.

    Each epoch shuffles the training set and takes `len // batch_size` full mini-batches
    (the remainder, a different one each epoch, is skipped so BatchNorm never sees a tiny
    batch); `batch_size` larger than the training set is clamped to it. Validation runs at
    the end of each epoch and, if `eval_every` is set, every `eval_every` steps. Bad settings
    and a network whose output is not (N, classes) raise ValueError here, before any step.
    """
    train_set = _check_data("train_set", train_set)
    val_set = _check_data("val_set", val_set) if val_set is not None and len(val_set[1]) else None
    if len(train_set[1]) == 0:
        raise ValueError("train_set is empty")
    if epochs < 1 or batch_size < 1 or (eval_every is not None and eval_every < 1):
        raise ValueError(f"epochs, batch_size and eval_every must be >= 1, got {epochs}, {batch_size}, {eval_every}")
    if not lr > 0 or momentum < 0 or weight_decay < 0 or (grad_clip is not None and not grad_clip > 0):
        raise ValueError(f"lr and grad_clip must be > 0 and momentum, weight_decay >= 0, got lr={lr}, "
                         f"grad_clip={grad_clip}, momentum={momentum}, weight_decay={weight_decay}")
    model.to(device)
    _check_output(model, *train_set, device)
    if val_set is not None:
        _check_output(model, *val_set, device)
    batch_size = min(batch_size, len(train_set[1]))
    return _steps(model, train_set, val_set, epochs, batch_size, lr, momentum, weight_decay, grad_clip,
                  augmentation, seed, device, eval_every)


def _steps(model, train_set, val_set, epochs, batch_size, lr, momentum, weight_decay, grad_clip, augmentation,
           seed, device, eval_every) -> Iterator[TrainState]:
    images, labels = train_set
    steps_per_epoch = len(labels) // batch_size
    total = epochs * steps_per_epoch
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                                nesterov=momentum > 0)
    rng, start, step = init.generator(seed), time.perf_counter(), 0  # shuffle and augmentation
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(labels), generator=rng)
        correct = seen = 0
        for k in range(steps_per_epoch):
            step_lr = 0.5 * lr * (1 + math.cos(math.pi * step / total))  # cosine, from lr towards 0
            for group in optimiser.param_groups:
                group["lr"] = step_lr
            index = order[k * batch_size:(k + 1) * batch_size]
            model.train()
            x = augment(images[index], rng) if augmentation else images[index]
            logits = model(x.to(device))
            target = labels[index].to(device)
            loss = F.cross_entropy(logits, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimiser.step()
            step += 1
            correct += int((logits.detach().argmax(1) == target).sum())
            seen += len(index)
            validate = val_set is not None and (k == steps_per_epoch - 1 or (eval_every and step % eval_every == 0))
            val_loss, val_accuracy = evaluate(model, val_set, device) if validate else (None, None)
            yield TrainState(step, total, epoch, step_lr, float(loss.detach()), correct / seen, val_loss, val_accuracy,
                             time.perf_counter() - start)


def train(model: nn.Module, train_set: LabelledImages, val_set: LabelledImages | None = None,
          **settings) -> TrainResult:
    """`train_steps` run to the end (same settings); the model is trained in place."""
    history = tuple(train_steps(model, train_set, val_set, **settings))
    measured = [s for s in history if s.val_accuracy is not None]
    val_accuracy = measured[-1].val_accuracy if measured else None
    val_loss = measured[-1].val_loss if measured else None
    return TrainResult(history, val_accuracy, val_loss, history[-1].seconds)


def seeded_model(space, arch, config=None, seed: int = 0) -> nn.Module:
    """`space.build(arch, config)` with every weight drawn from a generator seeded by `seed`
    (`swap_core.init.build_seeded`; torch's global generator untouched); `arch` may be an
    architecture or its string; `config` None is the space's default network."""
    if isinstance(arch, str):
        arch = space.from_str(arch)
    return init.build_seeded(space, arch, config, seed)
