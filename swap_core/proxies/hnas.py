"""HNAS's trace norm of the NTK (Shu, Dai, Wu, Low, "Unifying and Boosting Gradient-Based
Training-Free Neural Architecture Search", NeurIPS 2022; official code: github.com/shuyao95/HNAS).

For a batch of m samples, G (m × P) holds per-sample gradients of the network output, the
NTK is Θ = G Gᵀ and M_trace = sqrt(‖Θ‖_tr / m), the root mean squared gradient norm. HNAS
bounds gradient-norm, SNIP and GraSP in terms of M_trace (and finds them rank-correlated with
it); its search scores μ·|M² − target²| + κ/M (search.py `score_arch`), κ the condition number
of the same Θ.

As in the official code (foresight/pruners/measures/ntk_trace.py and condnum.py; the DARTS
search in darts_space/search.py `compute_metrics`): the output is the logit of each sample's
true class (`sum(outputs[arange(N), targets]).backward()`, ntk_trace.py line 37; not the
loss); the parameters are the weights and biases of every Conv2d and Linear layer
(tools/autograd_hacks.py supports no other layer, lines 30 and 163-178); the network keeps
BatchNorm in training mode (`bn=True`, a fresh network); batch 64 (nasbench2_pred.py
`--batch_size`, search.py `--metric_batch_size`); M_trace = `sqrt(eigenvalues.sum() / N)`
(ntk_trace.py line 45), here the trace itself. One difference: autograd_hacks splits the
gradient of the batch's summed logits into per-sample parts (layer input ⊗ backprop at that
sample), which equal the per-sample gradients only when samples do not interact; under
BatchNorm's batch statistics they do, and here each row is the exact gradient of that sample's
logit (`tenas.per_sample_gradients`), the same quantity TE-NAS's NTK uses. For a singular Θ
`hnas_metrics` reports κ = ∞, where condnum.py gives 100,000 for a NaN.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ..stats import rank_correlation
from .registry import ProxyError, proxy
from ._shared import SharedPasses, shared_for, weighted_layers
from .tenas import condition_number, gradient_precision, shared_ntk

PAPER = ("Shu, Dai, Wu, Low, Unifying and Boosting Gradient-Based Training-Free Neural "
         "Architecture Search (NeurIPS 2022)")
RELATED_METRICS = ("grad_norm", "snip", "grasp")


def true_class_logit(logits: Tensor, targets: Tensor | None) -> Tensor:
    """Each sample's logit of its label, the output HNAS differentiates."""
    if targets is None:
        raise ValueError("the true-class logit needs class labels (targets)")
    return logits.gather(1, targets.view(-1, 1)).squeeze(1)


def conv_linear_parameters(model: nn.Module) -> list[Tensor]:
    """Weights and biases of the Conv2d and Linear layers (those autograd_hacks handles)."""
    return [p for m in weighted_layers(model) for p in (m.weight, m.bias) if p is not None and p.requires_grad]


def hnas_ntk(model: nn.Module, inputs: Tensor, targets: Tensor, shared: SharedPasses | None = None,
             method: str = "auto") -> Tensor:
    """Θ = G Gᵀ (m × m, float64) of the true-class logits, shared through `shared.memo`."""
    if targets is None:
        raise ValueError("HNAS's NTK needs class labels (targets)")
    shared = shared_for(model, inputs, targets, shared)
    return shared_ntk(shared, "true_class_logit", true_class_logit, "conv_linear", conv_linear_parameters, method)


def trace_norm(kernel: Tensor) -> float:
    """M_trace = sqrt(trace(Θ) / m)."""
    return math.sqrt(float(torch.trace(kernel)) / len(kernel))


def hnas_metrics(model: nn.Module, inputs: Tensor, targets: Tensor, shared: SharedPasses | None = None, *,
                 method: str = "auto") -> dict[str, float]:
    """`m_trace` (M_trace) and `kappa` (λ_max/λ_min of the same Θ; ∞ when Θ is singular)."""
    kernel = hnas_ntk(model, inputs, targets, shared, method)
    try:
        kappa = condition_number(kernel, gradient_precision(model))
    except ProxyError:
        kappa = math.inf
    return {"m_trace": trace_norm(kernel), "kappa": kappa}


@proxy(
    "m_trace", display_name="NTK trace norm (HNAS)", paper=PAPER, year=2022,
    higher_is_better=True, needs_grad=True, needs_labels=True, default_batch_size=64, per_sample_passes=True,
    description="sqrt(trace(G Gᵀ)/m), G: per-sample gradients of the true-class logit w.r.t. conv "
    "and linear weights: the root mean squared gradient norm, which bounds grad_norm, SNIP and GraSP. "
    "Option: method ('auto', 'batched', 'loop').",
)
def m_trace(model: nn.Module, inputs: Tensor, targets: Tensor | None = None, *, method: str = "auto",
            shared: SharedPasses | None = None) -> float:
    return trace_norm(hnas_ntk(model, inputs, targets, shared, method))


def gradient_metric_relations(table: Mapping[str, Sequence[float]],
                              metrics: Sequence[str] = RELATED_METRICS) -> dict[str, dict[str, float]]:
    """HNAS's unification, checked on data: per metric of `metrics` present in `table`
    (columns over the same architectures), n and Spearman ρ / Kendall τ with `table['m_trace']`
    over the rows where both are finite. Absent metrics are skipped."""
    if "m_trace" not in table:
        raise ValueError(f"the table needs an 'm_trace' column; it has {sorted(table)}")
    return {name: rank_correlation(table["m_trace"], table[name]) for name in metrics if name in table}


__all__ = ["RELATED_METRICS", "conv_linear_parameters", "gradient_metric_relations", "hnas_metrics", "hnas_ntk",
           "m_trace", "trace_norm", "true_class_logit"]
