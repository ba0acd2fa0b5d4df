"""What every subcommand of `python -m swap_core` shares: devices, architecture files, proxy
lists, ground truth, JSON output.

`cli.py`, `search/command.py` and `oneshot/command.py` import these from here, so no command
module imports another (no import circle). Which datasets and presets exist is the spaces'
registry's to say (`swap_core.spaces.all_datasets`, `all_presets`, `dataset_for`).
Bad input raises ValueError, which `cli.main` turns into a message and exit code 2.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import benchmarks
from .devices import resolve_device  # noqa: F401  (the one device rule, for every command)
from .proxies import get_proxy, list_proxies


def read_arch_file(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, architecture string) from a CSV with column `arch` or a text file."""
    with open(path, newline="", encoding="utf-8") as handle:
        first = handle.readline()
        handle.seek(0)
        header = next(csv.reader([first]), [])
        if "arch" in [h.strip() for h in header]:
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, (row.get("arch") or "").strip()
        else:
            for number, line in enumerate(handle, start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    yield number, line.strip()


def parse_proxy_list(text: str) -> list[str]:
    """"swap,naswot" → names; "all" → every registered proxy. Unknown names are an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list_proxies()
    for name in names:
        get_proxy(name)  # fail early on a typo
    if not names:
        raise ValueError("--proxies is empty; name at least one proxy (or 'all')")
    return names


def read_truth(spec: str, column: str | None) -> dict[str, float]:
    """Ground truth from `FILE` or `FILE:COLUMN`; FILE may be relative to the data dir."""
    try:
        return dict(benchmarks.truth_table(spec, column))
    except KeyError as error:
        raise ValueError(f"ground-truth file {spec!r}: {error.args[0]}") from None


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


__all__ = ["json_safe", "parse_proxy_list", "read_arch_file", "read_truth", "resolve_device"]


DATA_CHOICES = {"cifar10": "auto", "synthetic": "noise"}  # older names of image sources


def data_choices() -> list[str]:
    """What `--data` accepts: the older names, "auto", and every image source by name."""
    from .data import SOURCES

    return [*DATA_CHOICES, "auto", *SOURCES]


def data_source(name: str) -> str:
    """The image source a `--data` value names ("cifar10" = auto, "synthetic" = noise)."""
    return DATA_CHOICES.get(name, name)

