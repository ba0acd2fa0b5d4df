"""Objectives a search maximises: a registered proxy (oriented so that higher is better)
scored on a network built from each architecture. The search issue extends this module
with the size regulariser, efficiency constraints and rewards."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..netstats import count_params
from ..proxies import ProxyError, get_proxy, score
from ..spaces import NetworkConfig, SearchSpace
from .base import Scorer


def proxy_scorer(space: SearchSpace, config: NetworkConfig, inputs: torch.Tensor, targets: torch.Tensor | None,
                 proxy: str, *, seed: int = 0, device: str = "cpu",
                 options: Mapping[str, Any] | None = None) -> Scorer:
    """arch -> (score, params in millions): `proxy` on the network `config` builds (weights
    drawn under `seed`), negated for a lower-is-better proxy; NaN when it is undefined."""
    info = get_proxy(proxy)
    sign = 1.0 if info.higher_is_better else -1.0

    def scorer(arch: str) -> tuple[float, float]:
        torch.manual_seed(seed)
        model = space.build(arch, config)
        params = count_params(model) / 1e6
        try:
            value = score(model, [proxy], inputs, targets, batch_size=len(inputs), seed=seed, device=device,
                          options={proxy: dict(options or {})})[proxy]
        except ProxyError:
            value = math.nan
        return sign * value, params

    return scorer


__all__ = ["proxy_scorer"]
