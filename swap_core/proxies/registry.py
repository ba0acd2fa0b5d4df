"""The proxy registry: `@proxy(name, ...)` registers a function `(model, inputs, targets,
**options) -> float` with its metadata (what it needs, which paper defines it, the batch
its reference code uses); `list_proxies()` and `get_proxy()` are how the app and the
command line discover what exists (`swap_core.proxies`, which loads the proxy modules). A
duplicate name is refused. Proxy modules import the decorator from here."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

ProxyFn = Callable[..., float]


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    fn: ProxyFn = field(repr=False)
    display_name: str
    description: str
    paper: str
    year: int | None
    higher_is_better: bool
    needs_grad: bool
    needs_labels: bool
    needs_double: bool
    default_batch_size: int | None  # None: the proxy needs no data batch
    modifies_model: bool  # re-initialises or casts weights: give it its own copy
    reference_column: str | None = None  # its column in NAS-Bench-Suite-Zero's zc/*.csv files
    accepts_shared: bool = False  # takes `shared=SharedPasses` to reuse passes other proxies made
    accepts_generator: bool = False  # draws random numbers: takes `generator=torch.Generator`
    per_sample_passes: bool = False  # one backward pass per sample: seconds, not milliseconds, per network


_PROXIES: dict[str, ProxyInfo] = {}


def proxy(
    name: str,
    *,
    display_name: str | None = None,
    description: str = "",
    paper: str = "",
    year: int | None = None,
    higher_is_better: bool = True,
    needs_grad: bool = False,
    needs_labels: bool = False,
    needs_double: bool = False,
    default_batch_size: int | None = 64,
    modifies_model: bool = False,
    reference_column: str | None = None,
    per_sample_passes: bool = False,
) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator that registers a proxy function under `name`."""

    def register(fn: ProxyFn) -> ProxyFn:
        if name in _PROXIES:
            raise ValueError(f"a proxy named {name!r} is already registered (by {_PROXIES[name].fn.__module__})")
        _PROXIES[name] = ProxyInfo(
            name=name, fn=fn, display_name=display_name or name, description=description,
            paper=paper, year=year, higher_is_better=higher_is_better, needs_grad=needs_grad,
            needs_labels=needs_labels, needs_double=needs_double,
            default_batch_size=default_batch_size, modifies_model=modifies_model,
            reference_column=reference_column, per_sample_passes=per_sample_passes,
            accepts_shared="shared" in inspect.signature(fn).parameters,
            accepts_generator="generator" in inspect.signature(fn).parameters,
        )
        return fn

    return register


class ProxyError(RuntimeError):
    """A proxy could not produce a finite score for this network."""


class Scores(dict):
    """Proxy name → score; `errors` says why a proxy has no score (value NaN) when
    `score(..., on_error="nan")` was asked to carry on past a failure."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, str] = {}


__all__ = ["ProxyError", "ProxyInfo", "Scores", "proxy"]
