"""`Setup`: the one value that fixes a computation, and the one path that scores a cell.

A Setup is frozen and hashable: search space, dataset (a TransNAS task), network preset,
image source and order, batch size, seed, device and torch thread count. The sidebar makes
one, the command line parses its flags into one (`Setup.cli_args` gives them back), a run
of the engine carries one, and every cache is keyed by `Setup.key`. So a cell's numbers
depend on (Setup, cell) and on nothing else: not on the page, the process, the thread, or
what was computed before.

- `setup.network(arch)` builds the preset's network with weights drawn from a generator
  seeded by `setup.cell_seed(arch)` (a hash of the seed, the network and the cell), never
  from torch's global generator (`swap_core.init`).
- `setup.inputs(n)` is the batch of `n` images drawn by `setup.seed` from the image source.
  `setup.batch` fixes n for every proxy; None lets each proxy take its own default batch
  (SWAP 16, NASWOT 128, ...), each from its own `inputs(n)`.
- `setup.size_k(arch)` is Θ of regularised SWAP: parameters, in thousands, of the
  **benchmark** network of the cell (the published network, auxiliary head excluded, as the
  official regulariser), whatever preset the proxies run on, so that μ and σ mean the same
  thing on every page, in every search and in the paper (`proxies.swap.size_factor`).
- `setup.score(arch, names)` scores a cell with several proxies: the one function the Cell
  Designer, the Activation Patterns page, `score`, `search` and the Proxy Lab call.

The thread count is a property of a process (torch's count is process-wide): the command
line fixes it once at start (`reproducible.fix_threads`); `threads=None` means "as the
process runs". Results can differ in their last bits with the thread count, so it is
recorded with results and shown by the app.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn as nn

from . import data, limits, memory, priority
from .devices import resolve_device
from .init import build_seeded, meta_network
from .netstats import count_params
from .proxies import Scores, get_proxy
from .proxies import score as score_model
from .reproducible import check_threads
from .spaces import NetworkConfig, SearchSpace, get_space

IMAGE_ORDERS = ("random", "first")
BATCH_MAX = limits.maximum("batch")  # the largest batch a Setup accepts (why: limits.LIMITS["batch"])
SIZE_PRESET = "benchmark"  # Θ of reg_swap and every size shown beside a cell: the published network


@dataclass(frozen=True)
class Setup:
    """What fixes a computation. `device="auto"` is resolved at construction (CUDA when
    PyTorch finds a GPU, else the CPU), so equal Setups compute on the same device."""

    space: str = "nb201"
    dataset: str | None = None   # None: the space's first dataset
    preset: str = "teaching"
    images: str = "auto"         # image source: "auto" or one of data.SOURCES
    order: str = "random"        # "random": drawn by the seed; "first": file order (official scripts)
    batch: int | None = None     # None: each proxy's own default batch size
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None   # torch threads of the process that computes; None: as it runs

    def __post_init__(self) -> None:
        space = get_space(self.space)
        dataset = self.dataset if self.dataset is not None else space.datasets[0]
        if dataset not in space.datasets:
            raise ValueError(f"the {space.name} space has no dataset {dataset!r}; expected one of {list(space.datasets)}")
        if self.preset not in space.presets:
            raise ValueError(f"unknown network preset {self.preset!r} for {space.name}; expected one of {list(space.presets)}")
        if self.images != "auto" and self.images not in data.SOURCES:
            raise ValueError(f"unknown image source {self.images!r}; expected 'auto' or one of {list(data.SOURCES)}")
        if self.order not in IMAGE_ORDERS:
            raise ValueError(f"image order must be one of {list(IMAGE_ORDERS)}, got {self.order!r}")
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, int)
                                       or self.batch < 1):
            raise ValueError(f"batch size must be a whole number from 1 to {BATCH_MAX} (or None for each "
                             f"proxy's own), got {self.batch!r}")
        limits.check("batch", self.batch, "batch size")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")
        check_threads(self.threads)
        object.__setattr__(self, "space", space.name)
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "device", resolve_device(self.device))

    # --- identity ----------------------------------------------------------------------
    @property
    def key(self) -> tuple:
        """The cache key: every field, in order."""
        return tuple(asdict(self).values())

    def replace(self, **changes: Any) -> "Setup":
        return replace(self, **changes)

    def cli_args(self) -> list[str]:
        """The command-line flags that parse back into this Setup (`score`, `search`)."""
        args = ["--space", self.space, "--dataset", self.dataset, "--network", self.preset]
        if self.images != "auto":
            args += ["--data", self.images]
        if self.order != "random":
            args += ["--images", self.order]
        if self.batch is not None:
            args += ["--batch-size", str(self.batch)]
        args += ["--seed", str(self.seed), "--device", self.device]
        if self.threads is not None:
            args += ["--threads", str(self.threads)]
        return args

    # --- the network -------------------------------------------------------------------
    @property
    def space_obj(self) -> SearchSpace:
        return get_space(self.space)

    @property
    def config(self) -> NetworkConfig:
        return _config(self.space, self.preset, self.dataset)

    def arch_str(self, arch: Any) -> str:
        """The canonical string of `arch` (an object or a string, checked)."""
        return self.space_obj.from_str(arch).to_str() if isinstance(arch, str) else arch.to_str()

    def cell_seed(self, arch: Any) -> int:
        """The seed of this cell's weights and of its proxies' random draws: a hash of
        (seed, space, dataset, preset, cell), the same in every process and order."""
        text = f"{self.seed}|{self.space}|{self.dataset}|{self.preset}|{self.arch_str(arch)}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1

    def network(self, arch: Any) -> nn.Module:
        """The preset's network for `arch` on the Setup's device, weights drawn under `cell_seed`."""
        return build_seeded(self.space_obj, self.space_obj.from_str(self.arch_str(arch)), self.config,
                            self.cell_seed(arch), self.device)

    def params(self, arch: Any) -> int:
        """Parameters of the preset's network for `arch` (counted without building weights)."""
        return _params(self.space, self.preset, self.dataset, self.arch_str(arch))

    def size_k(self, arch: Any) -> float:
        """Θ: thousands of parameters of the *benchmark* network for `arch`, auxiliary head
        excluded (the regulariser's size, see the module docstring)."""
        return _size_k(self.space, self.dataset, self.arch_str(arch))

    # --- the images --------------------------------------------------------------------
    def inputs(self, n: int | None = None) -> data.Batch:
        """`n` images (default: the Setup's batch) drawn by the seed; the same tensors for the
        same (source, order, n, seed, image size) — treat them as read-only."""
        n = n or self.batch
        if n is None:
            raise ValueError("this Setup has no batch size of its own: pass n")
        return _inputs(self.images, self.order, int(n), self.seed, self.config.input_size)

    def proxy_batch(self, name: str) -> int | None:
        """The batch size `name` runs at: the Setup's, else the proxy's own (None: no data)."""
        return self.batch or get_proxy(name).default_batch_size

    def largest_batch(self, names: Iterable[str]) -> int:
        return max((self.proxy_batch(n) or 1 for n in names), default=1)

    # --- scores ------------------------------------------------------------------------
    def score(self, arch: Any, names: Iterable[str], *, options: Mapping[str, Mapping[str, Any]] | None = None,
              on_error: str = "nan") -> Scores:
        """Every proxy of `names` on this cell's network: each at its batch size, from the same
        weights, its random draws from a generator seeded by the cell. `reg_swap` is sized by
        `size_k`. A proxy undefined for the network is NaN with its reason in `.errors`."""
        names = list(names)
        options = {name: dict((options or {}).get(name, {})) for name in names}
        if "reg_swap" in options:
            options["reg_swap"].setdefault("size_k", self.size_k(arch))
        by_batch: dict[int, list[str]] = {}
        for name in names:
            by_batch.setdefault(self.proxy_batch(name) or 1, []).append(name)
        model = self.network(arch)
        per_sample = memory.activation_bytes(model, self.config.input_size)
        # refuse before a batch runs, and hold the estimate while scoring (memory.py)
        need = max(memory.check_fits(self, per_sample, group, n) for n, group in by_batch.items())
        seed = self.cell_seed(arch)
        results = Scores()
        with priority.compute_slot(), memory.reserve(need):  # a user's scoring goes first (priority.py)
            for n, group in by_batch.items():
                batch = self.inputs(n)
                try:
                    part = score_model(model, group, batch.images, batch.labels, batch_size=n, seed=seed,
                                       device=self.device, options=options, on_error=on_error)
                except (RuntimeError, MemoryError) as error:  # the allocator's own error, as one line
                    if not memory.is_out_of_memory(error):
                        raise
                    raise memory.out_of_memory(self, n, error) from None
                results.update(part)
                results.errors.update(part.errors)
        ordered = Scores()
        ordered.update({name: results[name] for name in names})
        ordered.errors.update(results.errors)
        return ordered


@functools.lru_cache(maxsize=256)
def _config(space: str, preset: str, dataset: str) -> NetworkConfig:
    return get_space(space).config(preset, dataset)


@functools.lru_cache(maxsize=65536)
def _params(space: str, preset: str, dataset: str, arch: str) -> int:
    space_obj = get_space(space)
    return count_params(meta_network(space_obj, space_obj.from_str(arch), _config(space, preset, dataset)))


@functools.lru_cache(maxsize=65536)
def _size_k(space: str, dataset: str, arch: str) -> float:
    from .proxies.swap import params_thousands

    space_obj = get_space(space)
    return params_thousands(meta_network(space_obj, space_obj.from_str(arch), _config(space, SIZE_PRESET, dataset)))


@functools.lru_cache(maxsize=64)
def _inputs(source: str, order: str, n: int, seed: int, input_size: int) -> data.Batch:
    return data.load_batch(n, seed, source=source, input_size=input_size, order=order)


__all__ = ["BATCH_MAX", "IMAGE_ORDERS", "SIZE_PRESET", "Setup"]
