"""Registry of zero-cost proxies and `score()`, which runs several on one network.

A proxy is a function `(model, inputs, targets, **options) -> float` registered with
`@proxy(name, ...)`. Its metadata says what it needs (labels, gradients, double
precision), which paper defines it, and the batch size its reference code uses.
`list_proxies()` is how the app and the CLI discover what exists.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
import torch.nn as nn

from ..init import generator
from ._shared import SharedPasses
from .registry import _PROXIES, ProxyError, ProxyInfo, Scores, proxy

_MODULES = ("swap", "naswot", "size", "zerocost", "zen", "tenas", "hnas", "aznas", "meco", "zico", "near", "dextr")


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")


def _module_rank(info: ProxyInfo) -> int:
    module = info.fn.__module__.rsplit(".", 1)[-1]
    return _MODULES.index(module) if module in _MODULES else len(_MODULES)


def list_proxies() -> list[str]:
    """Every registered proxy, in one fixed order (module order of `_MODULES`, then order
    of definition) whatever order the modules happened to be imported in."""
    _load_all()
    order = {name: position for position, name in enumerate(_PROXIES)}
    return sorted(_PROXIES, key=lambda name: (_module_rank(_PROXIES[name]), order[name]))


def get_proxy(name: str) -> ProxyInfo:
    _load_all()
    if name not in _PROXIES:
        raise ValueError(f"unknown proxy {name!r}; expected one of {sorted(_PROXIES)}")
    return _PROXIES[name]




def _run_one(info: ProxyInfo, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None,
             options: Mapping[str, Any], shared: SharedPasses | None = None, seed: int = 0) -> float:
    if info.needs_labels and targets is None:
        raise ValueError(f"proxy {info.name!r} needs class labels (targets) for its loss")
    kwargs = dict(options)
    if info.accepts_shared and shared is not None:
        kwargs["shared"] = shared
    if info.accepts_generator:
        kwargs["generator"] = generator(seed)
    try:
        value = float(info.fn(model, inputs, targets, **kwargs))
    except torch.OutOfMemoryError as error:
        raise ProxyError(f"proxy {info.name!r} ran out of memory ({error}); try a smaller batch "
                         "or network preset, or the CPU") from error
    if not math.isfinite(value):
        raise ProxyError(f"proxy {info.name!r} is not defined for this network (it returned {value})")
    return value


def score(
    arch_or_model: Any,
    names: Iterable[str],
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
    *,
    space: Any = None,
    config: Any = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    on_error: str = "raise",
) -> Scores:
    """Score one network with several proxies.

    `arch_or_model` is an `nn.Module`, or an architecture (object or string) of `space`
    built with `config`. Each proxy sees the first `batch_size` inputs (its own default
    batch size when None), starts from the same weights, and draws its random numbers (N(0, 1)
    re-initialisations, random inputs, crops) from its own generator seeded by `seed` — never
    from torch's global generator — so the result of one proxy never depends on which others
    ran, nor on another thread scoring at the same time. `options[name]` holds keyword
    options for that proxy. A non-finite result or running out of memory raises
    `ProxyError`; with `on_error="nan"` that proxy's score is NaN instead and the reason
    goes to `result.errors`, so one undefined proxy loses none of the others.
    """
    if on_error not in ("raise", "nan"):
        raise ValueError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    model = _as_model(arch_or_model, space, config).to(device)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = inputs.to(device)
    targets = targets.to(device) if targets is not None else None
    options = options or {}
    results = Scores()
    shared_by_size: dict[int, SharedPasses] = {}
    for name in names:
        info = get_proxy(name)
        model.load_state_dict(weights)
        n = batch_size or info.default_batch_size or len(inputs)
        if info.default_batch_size is not None and n > len(inputs):
            raise ValueError(f"proxy {name!r} needs a batch of {n} but only {len(inputs)} inputs were given")
        if n not in shared_by_size:
            shared_by_size[n] = SharedPasses(model, inputs[:n], None if targets is None else targets[:n])
        shared = shared_by_size[n]
        try:
            results[name] = _run_one(info, model, shared.inputs, shared.targets, options.get(name, {}), shared, seed)
        except ProxyError as error:
            if on_error == "raise":
                raise
            results[name] = math.nan
            results.errors[name] = str(error)
    model.load_state_dict(weights)
    return results


def _as_model(arch_or_model: Any, space: Any, config: Any) -> nn.Module:
    if isinstance(arch_or_model, nn.Module):
        return arch_or_model
    if space is None:
        raise ValueError("scoring an architecture needs its search space (space=...)")
    if isinstance(space, str):
        from ..spaces import get_space

        space = get_space(space)
    arch = space.from_str(arch_or_model) if isinstance(arch_or_model, str) else arch_or_model
    return space.build(arch, config or space.config("benchmark"))


__all__ = ["ProxyError", "ProxyInfo", "Scores", "SharedPasses", "get_proxy", "list_proxies", "proxy", "score"]
