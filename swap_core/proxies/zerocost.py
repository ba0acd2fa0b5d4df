"""The zero-cost proxies of Abdelfattah et al. and the others NAS-Bench-Suite-Zero scores.

Papers: Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS"
(ICLR 2021; code github.com/SamsungLabs/zero-cost-nas); Krishnakumar et al.,
"NAS-Bench-Suite-Zero" (NeurIPS 2022 Datasets & Benchmarks; NASLib's `zerocost` branch,
naslib/predictors/pruners/), whose scores are the reference columns of `zc/*.csv`.

What their code does, and this module does the same:
- The network keeps its default initialisation and stays in training mode, so BatchNorm
  normalises with the batch's statistics. Data: one batch of training images with their
  labels (64 in NAS-Bench-Suite-Zero); the loss is cross-entropy.
- Only conv and linear layers count (`get_layer_metric_array`): a proxy is a sum over the
  weights of those layers.
- `grad_norm` Σ_layers ‖∂L/∂W‖; `snip` Σ |W ⊙ ∂L/∂W| (the gradient with respect to a mask
  of ones over W is exactly W ⊙ ∂L/∂W); `plain` Σ W ⊙ ∂L/∂W; `fisher` Σ over output
  channels of ½·mean_n(Σ_spatial a ⊙ ∂L/∂a)² with a the layer's output, counted once per
  weight of the channel (their code broadcasts the channel value over its weights before
  summing). These four read one shared forward/backward pass (`SharedPasses`).
- `grasp` −Σ W ⊙ (H g), g = ∂L/∂W from the shared pass and H g from a second pass with
  `create_graph` (temperature 1, one iteration).
- `synflow` Σ |W ⊙ ∂R/∂W| where R is the sum of the outputs of a copy of the network whose
  weights are replaced by their absolute values, whose BatchNorm layers are switched off
  (identity) and which runs in double precision on one all-ones input. It is reported as
  log(1 + Σ), the logarithm NAS-Bench-Suite-Zero stores (the raw sum reaches 1e40 on
  DARTS networks); a network in which no path carries signal scores 0, as there.
- `jacob_cov` (the "jacov" column): NASLib's version (from the first NASWOT paper): J is the
  gradient of the sum of each sample's outputs with respect to its input, C the
  correlation matrix of the rows of J, score −Σ_i [log(λ_i + k) + 1/(λ_i + k)] over C's
  eigenvalues, k = 1e−5.
- `epe_nas` (Lopes et al., "EPE-NAS", ICANN 2021) from the same Jacobian: per class, the
  correlation matrix of that class's rows, s_c = Σ log(|corr| + k); the score is Σ_c |s_c|
  (for more than 100 outputs s_c is divided by the matrix size and the score is the mean
  pairwise |s_c − s_c'|, as their code).
- `l2_norm` Σ_layers ‖W‖, no data needed.

Undefined results (a NaN correlation because some sample's Jacobian is constant, for
instance) raise `ProxyError` with the reason; NASLib wrote −1e8 for those.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn as nn

from ..patterns import train_mode
from .registry import ProxyError, proxy
from ._shared import SharedPasses, classification_loss, preserved_state, shared_for, weighted_layers

ABDELFATTAH = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS (ICLR 2021)"
SUITE_ZERO = "Krishnakumar et al., NAS-Bench-Suite-Zero (NeurIPS 2022 Datasets & Benchmarks)"
EPS = 1e-5


def _sum(values) -> float:
    return float(sum(float(v) for v in values))


def _loss_grads(model, inputs, targets, shared):
    return shared_for(model, inputs, targets, shared).loss_gradients()


@proxy(
    "grad_norm", display_name="grad_norm", paper=ABDELFATTAH, year=2021, needs_grad=True, needs_labels=True,
    description="Sum over conv/linear layers of the norm of the loss gradient of their weights.",
)
def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
              shared: SharedPasses | None = None) -> float:
    g = _loss_grads(model, inputs, targets, shared)
    return _sum(grad.norm() for grad in g.grads if grad is not None)


@proxy(
    "snip", display_name="SNIP", paper="Lee et al., SNIP: Single-shot Network Pruning (ICLR 2019), "
    "as a proxy in " + ABDELFATTAH, year=2019, needs_grad=True, needs_labels=True,
    description="Connection sensitivity Σ|W ⊙ ∂L/∂W|: how much the loss would change if each weight were removed.",
)
def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
         shared: SharedPasses | None = None) -> float:
    g = _loss_grads(model, inputs, targets, shared)
    return _sum((w * grad).abs().sum() for w, grad in zip(g.weights, g.grads) if grad is not None)


@proxy(
    "plain", display_name="plain", paper=ABDELFATTAH, year=2021, needs_grad=True, needs_labels=True,
    description="Σ W ⊙ ∂L/∂W with its sign: the first-order change of the loss if all weights were removed.",
)
def plain(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
          shared: SharedPasses | None = None) -> float:
    g = _loss_grads(model, inputs, targets, shared)
    return _sum((w * grad).sum() for w, grad in zip(g.weights, g.grads) if grad is not None)


@proxy(
    "fisher", display_name="Fisher", paper="Turner et al., BlockSwap (ICLR 2020), as a proxy in " + ABDELFATTAH,
    year=2020, needs_grad=True, needs_labels=True,
    description="Fisher information of each output channel, ½·mean(Σ activation ⊙ gradient)², summed "
    "over all weights: how much the loss depends on each channel.",
)
def fisher(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
           shared: SharedPasses | None = None) -> float:
    g = _loss_grads(model, inputs, targets, shared)
    total = 0.0
    for w, saliency in zip(g.weights, g.fisher):
        if saliency is not None:
            total += float(saliency.abs().sum()) * math.prod(w.shape[1:])
    return total


@proxy(
    "grasp", display_name="GraSP", paper="Wang et al., Picking Winning Tickets Before Training by Preserving "
    "Gradient Flow (ICLR 2020), as a proxy in " + ABDELFATTAH, year=2020, needs_grad=True, needs_labels=True,
    description="−Σ W ⊙ Hg (H the loss Hessian, g its gradient): how removing weights would change the gradient flow.",
)
def grasp(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
          shared: SharedPasses | None = None) -> float:
    g = _loss_grads(model, inputs, targets, shared)
    layers = weighted_layers(model)
    with preserved_state(model), train_mode(model), torch.enable_grad():
        weights = [layer.weight for layer in layers]
        loss = classification_loss(model(inputs), targets)
        grad_f = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        z = sum((gw * gf).sum() for gw, gf in zip(g.grads, grad_f) if gw is not None and gf is not None)
        if not isinstance(z, torch.Tensor) or not z.requires_grad:
            raise ProxyError("grasp is not defined for this network: no conv or linear weight gets a gradient")
        hg = torch.autograd.grad(z, weights, allow_unused=True)
    return _sum((-w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def synflow_sum(model: nn.Module, inputs: torch.Tensor) -> float:
    """Σ |W ⊙ ∂R/∂W| over conv/linear weights of an |W|, BatchNorm-free, float64 copy of the
    network on one all-ones input of the inputs' shape (R = sum of the outputs)."""
    net = copy.deepcopy(model).double()
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.forward = _identity
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
    with torch.enable_grad():
        net(ones).sum().backward()
    total = torch.zeros((), dtype=torch.float64, device=inputs.device)
    with torch.no_grad():
        for layer in weighted_layers(net):
            if layer.weight.grad is not None:
                total += (layer.weight * layer.weight.grad).abs().sum()
    return float(total)


@proxy(
    "synflow", display_name="SynFlow (log)", paper="Tanaka et al., Pruning neural networks without any data by "
    "iteratively conserving synaptic flow (NeurIPS 2020), as a proxy in " + ABDELFATTAH, year=2020,
    needs_grad=True, needs_double=True, default_batch_size=1,
    description="log(1 + Σ|W ⊙ ∂R/∂W|), R the output sum of the network with |W|, no BatchNorm, on an "
    "all-ones input: the 'synaptic flow' through all paths. Uses no data, only the input shape.",
)
def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    total = synflow_sum(model, inputs)
    if not math.isfinite(total):
        raise ProxyError(f"synflow overflowed float64 ({total}) for this network")
    return math.log1p(total)


@proxy(
    "l2_norm", display_name="L2 norm", paper=SUITE_ZERO, year=2022, default_batch_size=None,
    description="Σ over conv/linear layers of the norm of their weights at initialisation. Needs no data.",
)
def l2_norm(model: nn.Module, inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None) -> float:
    return _sum(layer.weight.detach().norm() for layer in weighted_layers(model))


def _correlations(rows: np.ndarray, what: str) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(rows)
    if not np.all(np.isfinite(corr)):
        raise ProxyError(f"{what} is not defined for this network: the input gradient of some sample is "
                         "constant (the output does not depend on the input), so its correlation is undefined")
    return corr


def jacob_cov_score(jacobian: np.ndarray) -> float:
    corr = _correlations(jacobian, "jacob_cov")
    eigenvalues = np.linalg.eigvalsh(corr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.sum(np.log(eigenvalues + EPS) + 1.0 / (eigenvalues + EPS)))


@proxy(
    "jacob_cov", display_name="jacob_cov", reference_column="jacov",
    paper="Mellor et al., Neural Architecture Search without Training (arXiv v1, 2020), as a proxy in "
    + ABDELFATTAH, year=2020, needs_grad=True,
    description="How uncorrelated the input gradients of different images are (from the eigenvalues of "
    "their correlation matrix): high when the network tells inputs apart.",
)
def jacob_cov(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
              shared: SharedPasses | None = None) -> float:
    jacobian = shared_for(model, inputs, targets, shared).input_jacobian()
    return jacob_cov_score(jacobian.double().cpu().numpy())


def epe_nas_score(jacobian: np.ndarray, labels: np.ndarray, n_outputs: int) -> float:
    per_class: dict[int, float] = {}
    for label in dict.fromkeys(labels.tolist()):  # classes in order of first appearance
        rows = jacobian[labels == label]
        if len(rows) == 1:
            per_class[label] = math.log(1.0 + EPS)  # a 1×1 correlation matrix is [1]
            continue
        corr = _correlations(rows, "epe_nas")
        s = float(np.sum(np.log(np.abs(corr) + EPS)))
        per_class[label] = s / len(corr) if n_outputs > 100 else s
    values = np.array(list(per_class.values()))
    if n_outputs <= 100:
        return float(np.abs(values).sum())
    return float(np.abs(values[:, None] - values[None, :]).sum() / len(values))


@proxy(
    "epe_nas", display_name="EPE-NAS", paper="Lopes et al., EPE-NAS: Efficient Performance Estimation "
    "Without Training for Neural Architecture Search (ICANN 2021)", year=2021, needs_grad=True,
    needs_labels=True,
    description="Per class, how correlated the input gradients of that class's images are: a network that "
    "treats same-class images alike and other classes differently scores high.",
)
def epe_nas(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
            shared: SharedPasses | None = None) -> float:
    if targets is None:
        raise ValueError("epe_nas needs class labels")
    passes = shared_for(model, inputs, targets, shared)
    jacobian = passes.input_jacobian().double().cpu().numpy()
    return epe_nas_score(jacobian, targets.cpu().numpy(), passes.output_size())


__all__ = ["epe_nas", "epe_nas_score", "fisher", "grad_norm", "grasp", "jacob_cov", "jacob_cov_score",
           "l2_norm", "plain", "snip", "synflow", "synflow_sum"]
