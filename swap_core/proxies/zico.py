"""ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
ICLR 2023; official code: github.com/SLDGroup/ZiCo, ZeroShotProxy/compute_zico.py with the
batches of evolution_search.py).

The batch is cut into B mini-batches; each gives the gradient g_b of the mean cross-entropy
with respect to every weight. Per conv or linear layer l, over its weights θ whose gradient
varies across the mini-batches (std_b g_b(θ) > 0):

    zico = Σ_l log( Σ_θ mean_b |g_b(θ)| / std_b g_b(θ) )

with std the population standard deviation (numpy's default, ddof 0) over the B mini-batches.

As in the official code (`getzico`, `getgrad`, `caculate_zico`): the network in training mode
(BatchNorm normalises each mini-batch with its own statistics), its default initialisation;
per mini-batch `zero_grad`, forward, `nn.CrossEntropyLoss()` (mean over the mini-batch),
backward, and the `.weight` gradient of every `nn.Conv2d` and `nn.Linear` (biases and
BatchNorm parameters are not used); weights whose std is 0 are left out of the layer's sum; a
layer whose sum is 0 (every std 0, e.g. a layer no gradient signal reaches) is skipped rather
than taking log 0; a network with no remaining layer scores 0, the empty sum, as there.
Two mini-batches (`--maxbatch 2`, the default of evolution_search.py, which takes the first
two batches of a shuffled training loader), each of 128 images (`--batch_size 128` in every
script the repository publishes, scripts/ZiCo_NAS_ImageNet_*.sh): the registry's default batch
is therefore 256 = 2 × 128, split here into consecutive halves. A different `--batch-size`
keeps two mini-batches of half that size (an odd count gives the second one the extra image,
as MeCo's copy of ZiCo splits a batch, though that copy forgets `zero_grad` between the
halves); `mini_batches` changes their number. The repository publishes no NATS-Bench script,
so the paper's correlation runs may have used another mini-batch size.

Deliberate differences: a conv or linear layer whose weight gets no gradient (not on any path
to the loss) is skipped, as MeCo's copy of the code does (the ZiCo script itself would crash);
the statistics are taken in float64 (numpy float32 there); the network's BatchNorm running
statistics and gradients are restored afterwards. Networks without a class output (TransNAS-
Bench-101's pixel tasks) have no cross-entropy to differentiate, so ZiCo is reported as
undefined for them (`ProxyError`) rather than scored against made-up targets.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..patterns import train_mode
from ._shared import classification_loss, preserved_state
from .registry import ProxyError, proxy

MINI_BATCHES = 2  # evolution_search.py --maxbatch default
MINI_BATCH_SIZE = 128  # --batch_size of the official scripts


def zico_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers whose weight gradients ZiCo reads: every nn.Conv2d and nn.Linear, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def mini_batch_gradients(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                         mini_batches: int = MINI_BATCHES) -> dict[str, torch.Tensor]:
    """Layer name -> (mini_batches, weights) float64 tensor of the weight gradients of the mean
    cross-entropy of each consecutive slice of the batch (training mode); layers that get no
    gradient are left out. The network's buffers and gradients are restored afterwards."""
    n = len(inputs)
    if mini_batches < 2:
        raise ValueError(f"ZiCo needs at least 2 mini-batches, got {mini_batches}")
    if n < mini_batches:
        raise ProxyError(f"ZiCo compares gradients across {mini_batches} mini-batches, but the batch "
                         f"holds only {n} sample(s)")
    if targets is None:
        raise ValueError("ZiCo needs class labels (targets) for its cross-entropy loss")
    layers = zico_layers(model)
    grads: dict[str, list[torch.Tensor]] = {}
    with preserved_state(model), train_mode(model), torch.enable_grad():
        for b in range(mini_batches):
            start, end = b * n // mini_batches, (b + 1) * n // mini_batches
            model.zero_grad(set_to_none=True)
            loss = classification_loss(model(inputs[start:end]), targets[start:end])
            if not loss.requires_grad:
                break  # the loss does not depend on any weight: no layer has a gradient
            loss.backward()
            for name, layer in layers:
                if layer.weight.grad is not None:
                    grads.setdefault(name, []).append(layer.weight.grad.detach().reshape(-1).to(torch.float64))
    return {name: torch.stack(g) for name, g in grads.items() if len(g) == mini_batches}


def zico_from_gradients(grads: dict[str, torch.Tensor]) -> float:
    """Σ_layers log Σ_{θ: std > 0} mean|g| / std (population std over the rows), skipping layers
    whose sum is 0; 0 when no layer remains (the official code's empty sum)."""
    total = 0.0
    for g in grads.values():
        std = g.std(dim=0, unbiased=False)
        mean_abs = g.abs().mean(dim=0)
        keep = std > 0
        layer_sum = float((mean_abs[keep] / std[keep]).sum())
        if layer_sum == 0:
            continue
        total += math.log(layer_sum)
    if not math.isfinite(total):
        raise ProxyError(f"ZiCo is not defined for this network: a gradient overflowed (score {total})")
    return total


def zico_score(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
               mini_batches: int = MINI_BATCHES) -> float:
    return zico_from_gradients(mini_batch_gradients(model, inputs, targets, mini_batches))


@proxy(
    "zico", display_name="ZiCo",
    paper="Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients (ICLR 2023)",
    year=2023, higher_is_better=True, needs_grad=True, needs_labels=True,
    default_batch_size=MINI_BATCHES * MINI_BATCH_SIZE,
    description="Sum over conv/linear layers of log Σ mean|g| / std(g), the weight gradients g of "
    "the cross-entropy taken over 2 mini-batches (the batch split in halves, 2 × 128 by default): "
    "high when gradients are large and agree across samples. Option: mini_batches (default 2).",
)
def zico(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
         mini_batches: int = MINI_BATCHES) -> float:
    return zico_score(model, inputs, targets, mini_batches)


__all__ = ["MINI_BATCHES", "MINI_BATCH_SIZE", "mini_batch_gradients", "zico", "zico_from_gradients",
           "zico_layers", "zico_score"]
