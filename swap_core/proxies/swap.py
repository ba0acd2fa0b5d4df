"""SWAP-Score and regularised SWAP-Score (Peng et al., "SWAP-NAS: Sample-Wise Activation
Patterns for Ultra-fast NAS", ICLR 2024; official code: github.com/pym1024/SWAP).

SWAP-Score is the number of distinct sample-wise activation patterns: over a batch of N
inputs, every ReLU unit (channel × position of every hooked `nn.ReLU` output) has an N-bit
pattern of which samples activate it; the score counts distinct patterns across all layers
(`swap_core.patterns.count_sample_wise_patterns`). It is bounded by min(units, 2**N): at
the official batch of 16 a full-size NAS-Bench-201 network (~0.9 M units) saturates near
2**16 = 65,536, so a larger batch or a smaller network separates big networks better.

As in the official code (src/metrics/swap.py, correlation.py): only ReLUs with a 4-D
input are hooked; the network runs with BatchNorm in training mode; `gaussian` init draws
conv and linear weights from N(0, 1) with zero biases and sets norm weights to 1 and biases
to 0 (src/utils/utilities.py `network_weight_gaussian_init`), redrawn before every repeat;
the score is the mean over repeats (correlation.py uses 32 repeats on DARTS).

Regularised SWAP multiplies by exp(−(Θ − μ)² / σ) with Θ the parameter count in thousands
(`count_parameters` there divides by 1e3 and skips auxiliary-head parameters), steering a
search towards networks of about μ thousand parameters. Θ is always the count of the cell's
*benchmark* network (`Setup.size_k`), also when SWAP itself runs on the small teaching
network, so the paper's μ and σ keep their meaning everywhere.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ..init import default_init_, gaussian_init_
from ..patterns import count_sample_wise_patterns, train_mode
from .registry import proxy

PAPER = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS (ICLR 2024)"
INITS = ("gaussian", "default")  # the weights a SWAP repeat scores: N(0, 1) as the paper, or PyTorch's default
# Defaults for NAS-Bench-201's benchmark network (Θ from 73 to 1,532 thousand): on the 434
# cells of zc/nb201_cifar10.csv (batch 16, seed 0) Spearman ρ with accuracy is 0.875 here
# against 0.82 for plain SWAP, on a broad plateau (0.86–0.88 for μ 750–2000, σ 1e6–2e6).
DEFAULT_MU = 1000.0  # thousand parameters
DEFAULT_SIGMA = 1.0e6  # (thousand parameters)²


def swap_score(model: nn.Module, inputs: torch.Tensor, *, repeats: int = 1, init: str = "gaussian",
               generator: torch.Generator | None = None) -> float:
    """Mean SWAP count over `repeats` initialisations (BatchNorm in training mode), the
    weights drawn from `generator` (a fresh one seeded 0 when None).

    `gaussian` redraws the weights before every repeat. `default` scores the weights as
    given on the first repeat and redraws them with PyTorch's default init before each
    further repeat (so repeats > 1 average over initialisations in both schemes).
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {list(INITS)}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    counts = []
    with train_mode(model):
        for repeat in range(repeats):
            if init == "gaussian":
                gaussian_init_(model, generator)
            elif repeat > 0:
                default_init_(model, generator)
            counts.append(count_sample_wise_patterns(model, inputs))
    return sum(counts) / len(counts)


def params_thousands(model: nn.Module) -> float:
    """Θ of the regulariser: parameters in thousands, auxiliary head excluded (official)."""
    return sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name) / 1e3


def size_factor(theta_k, mu: float = DEFAULT_MU, sigma: float = DEFAULT_SIGMA):
    """f(Θ) = exp(−(Θ − μ)² / σ), Θ and μ in thousands of parameters, σ in (thousands)²: 1 at
    Θ = μ, e⁻¹ at |Θ − μ| = √σ. A number for a number, an array elementwise for an array.
    The one implementation of the factor: the proxy, the search objective and the Size
    Regulariser page all call it."""
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if np.ndim(theta_k) == 0:
        return math.exp(-((float(theta_k) - mu) ** 2) / sigma)
    theta = np.asarray(theta_k, dtype=float)
    return np.exp(-((theta - mu) ** 2) / sigma)


@proxy(
    "swap", display_name="SWAP-Score", paper=PAPER, year=2024, higher_is_better=True,
    default_batch_size=16, modifies_model=True,
    description="Distinct sample-wise activation patterns: how many different on/off patterns "
    "the ReLU units show across a batch (at most min(units, 2^batch)). Options: repeats, "
    "init ('gaussian' as the paper, or 'default').",
)
def swap(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
         repeats: int = 1, init: str = "gaussian", generator: torch.Generator | None = None) -> float:
    return swap_score(model, inputs, repeats=repeats, init=init, generator=generator)


@proxy(
    "reg_swap", display_name="Regularised SWAP", paper=PAPER, year=2024, higher_is_better=True,
    default_batch_size=16, modifies_model=True,
    description="SWAP-Score × exp(−(Θ − μ)²/σ), Θ = thousands of parameters of the cell's benchmark "
    "network (the published one, whatever network SWAP runs on): favours cells near μ. Options: mu "
    f"(default {DEFAULT_MU:g}), sigma (default {DEFAULT_SIGMA:g}), size_k (Θ; `Setup.score` passes the "
    "benchmark network's, a bare model without it is sized by its own count), repeats, init.",
)
def reg_swap(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
             mu: float = DEFAULT_MU, sigma: float = DEFAULT_SIGMA, size_k: float | None = None, repeats: int = 1,
             init: str = "gaussian", generator: torch.Generator | None = None) -> float:
    theta = params_thousands(model) if size_k is None else size_k  # before any re-initialisation
    factor = size_factor(theta, mu, sigma)
    return swap_score(model, inputs, repeats=repeats, init=init, generator=generator) * factor


__all__ = ["DEFAULT_MU", "DEFAULT_SIGMA", "default_init_", "gaussian_init_", "params_thousands",
           "reg_swap", "size_factor", "swap", "swap_score"]
