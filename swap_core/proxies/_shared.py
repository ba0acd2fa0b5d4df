"""Passes that several proxies share, computed once per (network, batch).

`score()` hands one `SharedPasses` to every proxy whose function takes a `shared`
argument. Proxies ask it for what they need; the first to ask pays for the pass, the
others read the stored result. Results depend only on the network's weights and the
batch: `score()` restores the weights before each proxy, and every pass here leaves the
weights as it found them (gradients cleared, BatchNorm running statistics restored).

- `loss_gradients()`: one forward and backward pass of the cross-entropy loss with
  BatchNorm in training mode, as Abdelfattah et al.'s code runs `grad_norm`, `snip`,
  `plain`, `fisher` and the first pass of `grasp`: the weight gradient of every conv and
  linear layer, and Fisher's per-channel saliency of its output.
- `input_jacobian()`: d Σ outputs / d input per sample (`jacob_cov`, `epe_nas`).
- `memo(key, compute)`: any other result a proxy wants to share (per-sample gradients
  for the NTK of `ntk_cond` and `m_trace`, say).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..patterns import train_mode
from .registry import ProxyError


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The conv and linear layers, in module order: the layers whose weights the
    gradient-based proxies of Abdelfattah et al. sum over (their `get_layer_metric_array`)."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@contextlib.contextmanager
def preserved_state(model: nn.Module) -> Iterator[nn.Module]:
    """Run passes that update BatchNorm statistics or gradients, then put the buffers back and
    clear the gradients, so the network is as it was."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    try:
        yield model
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        model.zero_grad(set_to_none=True)


@dataclass
class LossGradients:
    """Per conv/linear layer (in `weighted_layers` order): the weight, the gradient of the
    loss with respect to it (None when no gradient reached the layer), and Fisher's
    per-output-channel saliency ½·mean_n(Σ_spatial a ⊙ ∂L/∂a)² (None likewise)."""

    weights: list[torch.Tensor]
    grads: list[torch.Tensor | None]
    fisher: list[torch.Tensor | None]
    loss: float


def classification_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of class scores (N, classes); the loss-based proxies are defined here only
    for networks with a class output, so a pixel map (TransNAS-Bench-101's autoencoder, normal
    and segmentation tasks) is reported as undefined, not scored against made-up targets."""
    if logits.dim() != 2:

        raise ProxyError(f"needs a network with a class output (N, classes); this one outputs "
                         f"{tuple(logits.shape[1:])} per sample (a pixel task), and no labels for it are at hand")
    if len(targets) and int(targets.max()) >= logits.shape[1]:

        raise ProxyError(f"the batch's labels go up to {int(targets.max())} but this network has only "
                         f"{logits.shape[1]} outputs (e.g. TransNAS-Bench-101's room_layout regresses 9 numbers)")
    return F.cross_entropy(logits, targets)


def compute_loss_gradients(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> LossGradients:
    layers = weighted_layers(model)
    fisher: dict[int, torch.Tensor] = {}

    def forward_hook(index: int) -> Callable:
        def hook(_module: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            if not out.requires_grad:
                return
            act = out.detach()

            def grad_hook(grad: torch.Tensor) -> None:
                g = act * grad.detach()
                g_nk = g.sum(dim=tuple(range(2, g.dim()))) if g.dim() > 2 else g
                saliency = g_nk.pow(2).mean(0).mul(0.5)
                fisher[index] = fisher[index] + saliency if index in fisher else saliency

            out.register_hook(grad_hook)

        return hook

    handles = [layer.register_forward_hook(forward_hook(i)) for i, layer in enumerate(layers)]
    try:
        with preserved_state(model), train_mode(model), torch.enable_grad():
            model.zero_grad(set_to_none=True)
            loss = classification_loss(model(inputs), targets)
            loss.backward()
            grads = [None if l.weight.grad is None else l.weight.grad.detach().clone() for l in layers]
    finally:
        for handle in handles:
            handle.remove()
    return LossGradients(
        weights=[l.weight.detach().clone() for l in layers], grads=grads,
        fisher=[fisher.get(i) for i in range(len(layers))], loss=float(loss.detach()),
    )


def compute_input_jacobian(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(N, C·H·W): the gradient of the sum of each sample's outputs with respect to its input,
    BatchNorm in training mode (as the NASWOT v1 / Abdelfattah `jacob_cov` code); and the
    number of outputs per sample."""
    with preserved_state(model), train_mode(model), torch.enable_grad():
        x = inputs.detach().clone().requires_grad_(True)
        y = model(x)
        if not y.requires_grad:  # the output is a constant: no path from the input reaches it
            return torch.zeros(len(x), x[0].numel()), int(y.shape[-1])
        (jacobian,) = torch.autograd.grad(y, x, torch.ones_like(y), allow_unused=True)
    if jacobian is None:  # e.g. a cell whose every path to its output is `none`
        return torch.zeros(len(x), x[0].numel()), int(y.shape[-1])
    return jacobian.reshape(len(x), -1).detach(), int(y.shape[-1])


class SharedPasses:
    """Lazily computed passes over one network and batch (see the module docstring)."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None) -> None:
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self._store: dict[Any, Any] = {}

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self._store:
            self._store[key] = compute()
        return self._store[key]

    def loss_gradients(self) -> LossGradients:
        if self.targets is None:
            raise ValueError("this proxy needs class labels (targets) for its loss")
        return self.memo("loss_gradients", lambda: compute_loss_gradients(self.model, self.inputs, self.targets))

    def _jacobian_pass(self) -> tuple[torch.Tensor, int]:
        return self.memo("input_jacobian", lambda: compute_input_jacobian(self.model, self.inputs))

    def input_jacobian(self) -> torch.Tensor:
        return self._jacobian_pass()[0]

    def output_size(self) -> int:
        """Outputs per sample (the number of classes), from the input-Jacobian pass."""
        return self._jacobian_pass()[1]


def shared_for(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None,
               shared: SharedPasses | None) -> SharedPasses:
    """`shared` when `score()` gave one for this network and batch, else a fresh one."""
    if shared is not None and shared.model is model and shared.inputs is inputs:
        return shared
    return SharedPasses(model, inputs, targets)


__all__ = ["LossGradients", "SharedPasses", "compute_input_jacobian", "compute_loss_gradients",
           "preserved_state", "shared_for", "weighted_layers"]
