"""Zen-Score (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition",
ICCV 2021; official code: github.com/idstcv/ZenNAS, ZeroShotProxy/compute_zen_score.py).

Zen-Score measures how strongly the feature map before global average pooling responds to
a small perturbation of the input. With Gaussian-initialised weights, Gaussian inputs x and
x' = x + γ·ε (x, ε ~ N(0, I), γ = 0.01) and f the pre-pooling feature map,

    zen = log mean_n Σ_{c,h,w} |f(x) − f(x')|  +  Σ_{BatchNorm2d} log sqrt(mean running_var)

where the second term puts back the scale that each BatchNorm layer divides out.

As in the official code (`compute_nas_score`, lines 46–67): no gradients; conv and linear
weights ~ N(0, 1) with zero biases, norm weights 1 and biases 0 (`gaussian_init_` of the
SWAP module, which also skips non-affine norms, as NASLib's copy does), redrawn before every
repeat; the data batch is used only for its shape (x and x' are drawn fresh, x before ε);
the network runs in training mode, so BatchNorm normalises with batch statistics and each
of the two passes (x, then x') updates running_var, which the second term then reads; the
BatchNorm statistics are not reset between repeats; the score is the mean over repeats.
Defaults are those of the official search (evolution_search.py lines 115–118 and
scripts/Zen_NAS_cifar_params1M.sh: batch 64, one repeat; NASLib's default is also one
repeat); the official stand-alone script uses batch 16 and 32 repeats.

Choices where our networks differ from theirs: the official networks have a
`forward_pre_GAP` method; here a forward hook records the input of the last-registered
`nn.AdaptiveAvgPool2d` with output size 1, and the network runs whole (the classifier's
output is unused). The official search also builds its networks without residual links
(`no_reslink=True`); here the network is scored as built, as NASLib does. The score works on
a copy of the network whose BatchNorm statistics are reset first — a freshly built network,
as the official search scores — so the caller's network is never modified.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

from .registry import ProxyError, proxy
from ..init import gaussian_init_, randn

MIXUP_GAMMA = 1e-2


def _is_global(pool: nn.AdaptiveAvgPool2d) -> bool:
    size = pool.output_size
    sizes = size if isinstance(size, tuple) else (size, size)
    return all(s == 1 for s in sizes)


def global_pooling(model: nn.Module) -> nn.AdaptiveAvgPool2d:
    """The last-registered `nn.AdaptiveAvgPool2d` with output size 1; ProxyError if none."""
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d) and _is_global(m)]
    if not pools:
        raise ProxyError("Zen-Score needs the feature map before global average pooling, but the "
                         "network has no nn.AdaptiveAvgPool2d(1) module (functional pooling such as "
                         "F.adaptive_avg_pool2d cannot be hooked)")
    return pools[-1]


def _batchnorm_layers(model: nn.Module) -> list[nn.BatchNorm2d]:
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for layer in layers:
        if layer.running_var is None:
            raise ProxyError("Zen-Score needs the running variance of every BatchNorm2d layer, but "
                             f"{layer} keeps none (track_running_stats=False)")
    return layers


def _pre_pool_features(model: nn.Module, pool: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    captured: list[torch.Tensor] = []
    handle = pool.register_forward_hook(lambda _m, args, _out: captured.append(args[0]))
    try:
        model(inputs)
    finally:
        handle.remove()
    if not captured:
        raise ProxyError(f"the global pooling module {pool} was not called in the forward pass")
    return captured[-1]


def _one_draw(model: nn.Module, pool: nn.Module, norms: list[nn.BatchNorm2d], shape: torch.Size,
              device: torch.device, dtype: torch.dtype, mixup_gamma: float, rng: torch.Generator) -> float:
    gaussian_init_(model, rng)
    x = randn(shape, rng, device, dtype)
    noise = randn(shape, rng, device, dtype)
    features = _pre_pool_features(model, pool, x)
    mixed = _pre_pool_features(model, pool, x + mixup_gamma * noise)
    difference = (features - mixed).abs().flatten(1).sum(1).mean()
    if not torch.isfinite(difference) or difference <= 0:
        raise ProxyError(f"Zen-Score is not defined for this network: the pre-pooling feature "
                         f"difference is {float(difference)} (the features must change with the input)")
    log_bn_scale = sum((torch.log(torch.sqrt(torch.mean(m.running_var))) for m in norms),
                       torch.zeros((), device=device))
    value = float(torch.log(difference) + log_bn_scale)
    if not math.isfinite(value):
        raise ProxyError(f"Zen-Score is not defined for this network: a BatchNorm2d layer's running "
                         f"variance averages to 0 or overflows (score {value})")
    return value


def zen_score(model: nn.Module, inputs: torch.Tensor, *, repeat: int = 1,
              mixup_gamma: float = MIXUP_GAMMA, generator: torch.Generator | None = None) -> float:
    """Mean Zen-Score over `repeat` Gaussian draws (weights and inputs from `generator`, a
    fresh one seeded 0 when None), computed on a copy of `model`."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    net = copy.deepcopy(model).train()
    pool, norms = global_pooling(net), _batchnorm_layers(net)
    for layer in norms:
        layer.reset_running_stats()
    dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
    with torch.no_grad():
        draws = [_one_draw(net, pool, norms, inputs.shape, inputs.device, dtype, mixup_gamma, generator)
                 for _ in range(repeat)]
    return sum(draws) / len(draws)


@proxy(
    "zen", display_name="Zen-Score",
    paper="Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition (ICCV 2021)",
    year=2021, higher_is_better=True, needs_grad=False, needs_labels=False, default_batch_size=64,
    description="log of how much the pre-pooling feature map moves when a Gaussian input is nudged "
    "by 1% noise (Gaussian weights, BatchNorm in training mode), plus the log of each BatchNorm's "
    "running scale: high for expressive networks. The data batch sets only the input shape. "
    "Options: repeat (default 1), mixup_gamma (default 0.01).",
)
def zen(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
        repeat: int = 1, mixup_gamma: float = MIXUP_GAMMA, generator: torch.Generator | None = None) -> float:
    return zen_score(model, inputs, repeat=repeat, mixup_gamma=mixup_gamma, generator=generator)


__all__ = ["MIXUP_GAMMA", "global_pooling", "zen", "zen_score"]
