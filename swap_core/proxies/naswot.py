"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021;
official code: github.com/BayesWatch/nas-without-training).

Each sample's binary code marks which ReLU units it activates. The kernel K_H[i, j] =
N_A − Hamming(c_i, c_j) counts the units on which samples i and j agree; the score is
log|det K_H|. Networks that give different inputs more different codes score higher.

As in the official code (score_networks.py, scores.py): every ReLU module is hooked
whatever its input's rank, each call adds x xᵀ + (1 − x)(1 − x)ᵀ to K with x = (input > 0)
(for a ReLU the same as output > 0); the network keeps its default initialisation and its
default training mode (BatchNorm uses batch statistics: the script never switches the
network to evaluation mode); batch 128; the score is `slogdet`'s log-absolute-determinant (the sign is dropped). The
official hook only counts ReLUs that a preceding backward pass reached; in a network
whose ReLUs all feed the output (NAS-Bench-201, DARTS) that is every ReLU, so no backward
pass is run here.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..patterns import naswot_kernel, train_mode
from .registry import proxy


def naswot_score(model: nn.Module, inputs: torch.Tensor) -> float:
    """log|det K_H| in float64, the model in training mode (restored afterwards)."""
    with train_mode(model):
        kernel = naswot_kernel(model, inputs)
    _sign, logabsdet = torch.linalg.slogdet(kernel.double())
    return float(logabsdet)


@proxy(
    "naswot", display_name="NASWOT", reference_column="nwot",
    paper="Mellor et al., Neural Architecture Search without Training (ICML 2021)", year=2021,
    higher_is_better=True, default_batch_size=128,
    description="log|det K_H|, K_H[i, j] = number of ReLU units on which samples i and j "
    "agree: high when the network gives different inputs different activation codes.",
)
def naswot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    return naswot_score(model, inputs)


__all__ = ["naswot", "naswot_score"]
