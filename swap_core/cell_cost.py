"""What one cell costs on this device: parameters, MFLOPs and peak activation memory of its
network (`netstats`), and its measured latency at batch 1 and at a larger batch
(`latency.measure_cell`: median of timed passes after warm-up, cached in the score store).

`cell_cost_states` yields the report as it fills (sizes first, then each latency), so the
Efficiency page draws it from the engine and `python -m swap_core cost` prints the same numbers.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import torch

from . import latency, netstats
from .setup import Setup
from .tinynas_costs import MB  # 10^6 bytes, as TinyNAS's budget: one unit on every page

PEAK_NOTE = ("peak activation memory: the most bytes of live tensors in any one step of layer-by-layer "
             "inference, float32 (MCUNet's peak SRAM; `netstats.peak_activation_bytes`)")


def cell_cost_states(setup: Setup, arch: Any, batches: tuple[int, ...] = (1,)) -> Iterator[dict[str, Any]]:
    """{arch, network, params_m, mflops, peak_mb, latency_ms: {batch: ms}, threads} as it fills."""
    text = setup.arch_str(arch)
    model = setup.network(text)
    size = setup.config.input_size
    report: dict[str, Any] = {
        "arch": text, "network": f"{setup.space} {setup.preset}", "params_m": netstats.count_params(model) / 1e6,
        "mflops": netstats.count_flops(model, size), "threads": torch.get_num_threads(), "latency_ms": {},
        "peak_mb": {b: netstats.peak_activation_bytes(model, size, batch=b) / MB for b in batches}}
    yield dict(report)
    for batch in dict.fromkeys(batches):
        report["latency_ms"] = {**report["latency_ms"], batch: latency.measure_cell(setup, text, batch)}
        yield dict(report)


def cmd_cost(args: argparse.Namespace) -> int:
    from .cli_helpers import resolve_device
    from .reproducible import fix_threads

    fix_threads(args.threads)
    setup = Setup(space=args.space, dataset=args.dataset, preset=args.network, device=str(resolve_device(args.device)))
    batches = tuple(dict.fromkeys((1, *args.batch)))
    report = {}
    for report in cell_cost_states(setup, args.arch, batches):
        pass
    print(f"{report['network']} network, {report['threads']} torch thread(s): {report['params_m']:.4f} M parameters, "
          f"{report['mflops']:.2f} MFLOPs per image")
    for batch in batches:
        print(f"batch {batch:>4}: latency {report['latency_ms'][batch]:9.3f} ms, "
              f"peak activation memory {report['peak_mb'][batch]:8.3f} MB")
    print(PEAK_NOTE)
    return 0


def add_cost_parser(sub) -> None:
    from .cli_helpers import positive_int
    from .spaces import all_datasets, all_presets, space_choices

    p = sub.add_parser("cost", help="one cell's parameters, MFLOPs, peak activation memory and latency here")
    p.add_argument("--space", default="nb201", choices=space_choices())
    p.add_argument("--dataset", default=None, choices=all_datasets())
    p.add_argument("--network", default="benchmark", choices=all_presets())
    p.add_argument("--arch", required=True, help="the cell, as the space's architecture string")
    p.add_argument("--batch", type=positive_int, nargs="*", default=[64], help="batches timed besides 1")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads, fixed once at start")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_cost)


__all__ = ["PEAK_NOTE", "add_cost_parser", "cell_cost_states", "cmd_cost"]
