"""Weight initialisation from a generator you own, never from torch's global one.

Many users share one server process, so nothing here seeds or reads torch's global random
generator: a network's weights are a function of the seed it is given and of nothing that
another thread did meanwhile.

`build_seeded(space, arch, config, seed)` builds the network on PyTorch's `meta` device (no
memory, no random draws; the device context is thread-local), allocates it on the CPU and
draws every weight from `torch.Generator().manual_seed(seed)` with PyTorch's own default
scheme (`default_init_`). `gaussian_init_` is the N(0, 1) scheme of the SWAP and Zen-NAS
code; both take the generator as an argument.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn as nn

NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)
WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)


def generator(seed: int) -> torch.Generator:
    """A fresh CPU generator seeded with `seed` (any integer; reduced to 64 bits)."""
    return torch.Generator().manual_seed(int(seed) % 2**63)


def _reset_norm(module: nn.Module) -> None:
    if hasattr(module, "reset_running_stats") and getattr(module, "track_running_stats", False):
        module.reset_running_stats()
    if getattr(module, "weight", None) is not None:
        nn.init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


def _check_covered(module: nn.Module) -> None:
    if not isinstance(module, WEIGHTED + NORMS) and (
            any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))):
        raise TypeError(f"no seeded initialisation is defined for {type(module).__name__}'s own parameters "
                        "or buffers; add it to swap_core.init")


def _on_cpu(tensor: torch.Tensor, draw) -> None:
    """Apply the in-place draw `draw(t)` to `tensor`, through a CPU copy when it lives on a GPU
    (a CPU generator draws only CPU tensors; the values are the same on every device)."""
    if tensor.device.type == "cpu":
        draw(tensor)
    else:
        staged = torch.empty(tensor.shape, dtype=tensor.dtype)
        draw(staged)
        tensor.copy_(staged)


def default_init_(model: nn.Module, rng: torch.Generator) -> nn.Module:
    """PyTorch's default initialisation, drawn from `rng`: conv and linear weights
    kaiming-uniform with a = √5 and biases U(±1/√fan_in), as their `reset_parameters`;
    normalisation weights 1, biases 0, running statistics reset."""
    with torch.no_grad():
        for module in model.modules():
            _check_covered(module)
            if isinstance(module, WEIGHTED):
                _on_cpu(module.weight, lambda t: nn.init.kaiming_uniform_(t, a=math.sqrt(5), generator=rng))
                if module.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    _on_cpu(module.bias, lambda t: nn.init.uniform_(t, -bound, bound, generator=rng))
            elif isinstance(module, NORMS):
                _reset_norm(module)
    return model


def gaussian_init_(model: nn.Module, rng: torch.Generator | None = None) -> nn.Module:
    """As the official SWAP code (`network_weight_gaussian_init`): conv and linear weights
    ~ N(0, 1) drawn from `rng` (a fresh generator seeded 0 when None), their biases 0;
    normalisation weights 1 and biases 0."""
    rng = rng if rng is not None else generator(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WEIGHTED):
                _on_cpu(module.weight, lambda t: nn.init.normal_(t, generator=rng))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, NORMS):
                if getattr(module, "weight", None) is not None:
                    nn.init.ones_(module.weight)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
    return model


def build_seeded(space, arch, config, seed: int, device: str | torch.device = "cpu") -> nn.Module:
    """`space.build(arch, config)` with every weight drawn from a generator seeded by `seed`;
    torch's global generator is neither read nor advanced."""
    with torch.device("meta"):
        model = space.build(arch, config)
    model = model.to_empty(device="cpu")
    default_init_(model, generator(seed))
    return model.to(device)


def meta_network(space, arch, config) -> nn.Module:
    """The network without memory or weights: enough to count its parameters."""
    with torch.device("meta"):
        return space.build(arch, config)


def warm_up() -> float:
    """PyTorch's first forward pass on the meta device imports its decompositions: about 1 s
    alone, and every thread that needs it meanwhile waits on the import lock (ten students
    opening the Cell Designer at once on a fresh server all sat there). Pay it once, on a
    three-layer network: seconds taken."""
    start = time.perf_counter()
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 8, 8, device="meta"))
    return time.perf_counter() - start


def randn(shape, rng: torch.Generator, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
    """N(0, 1) samples drawn from the CPU generator `rng`, then placed on `device`."""
    return torch.randn(tuple(shape), generator=rng, dtype=dtype).to(device)


__all__ = ["randn", "build_seeded", "default_init_", "gaussian_init_", "generator", "meta_network", "warm_up"]
