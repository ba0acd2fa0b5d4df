"""What every subcommand of `python -m swap_core` shares: devices, architecture files, proxy
lists, ground truth, JSON output.

`cli.py`, `search/command.py` and `oneshot/command.py` import these from here, so no command
module imports another (no import circle). Which datasets and presets exist is the spaces'
registry's to say (`swap_core.spaces.all_datasets`, `all_presets`, `dataset_for`).
Bad input raises ValueError, which `cli.main` turns into a message and exit code 2.
"""
from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from . import benchmarks
from .devices import resolve_device  # noqa: F401  (the one device rule, for every command)
from .proxies import get_proxy, list_proxies
from .spaces.base import quote


def read_arch_file(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, architecture string) from a CSV with column `arch` or a text file; a UTF-8
    byte-order mark is dropped; a file that is not UTF-8 text, or a CSV field over 128 kB, is a
    one-line ValueError naming the file."""
    try:
        yield from _arch_lines(path)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start}); give a CSV or text file") from None


def _arch_lines(path: Path) -> Iterator[tuple[int, str]]:
    with open_csv(path) as handle:
        first = handle.readline()
        handle.seek(0)
        header = next(csv_rows(csv.reader([first]), path), [])
        if "arch" in [h.strip() for h in header]:
            reader = csv.DictReader(handle)
            for row in csv_rows(reader, path):
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


def _number(text: str, kind: type) -> Any:
    try:
        return kind(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{quote(text)} is not {'an integer' if kind is int else 'a number'}") from None


def positive_int(text: str) -> int:
    """argparse `type=`: an integer >= 1 (a count, a batch size, a budget; 0 does not mean "default")."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: must be at least 1")
    return value


def nonnegative_int(text: str) -> int:
    """argparse `type=`: an integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: must be 0 or more")
    return value


def finite_float(text: str) -> float:
    """argparse `type=`: a finite number (NaN and infinity are refused: they would silently
    zero or drop every score)."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{str(text).strip()[:40]} is not allowed: must be a finite number")
    return value


def positive_float(text: str) -> float:
    """argparse `type=`: a finite number > 0 (a width, a timeout)."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not allowed: must be greater than 0")
    return value


def nonnegative_float(text: str) -> float:
    """argparse `type=`: a finite number >= 0 (a wait in seconds)."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not allowed: must be 0 or more")
    return value


def tighten_types(parser: argparse.ArgumentParser) -> None:
    """Give every plain `type=int` / `type=float` option of `parser` and its subcommands the
    checked types: ints are counts (>= 1; a seed >= 0), floats finite. Options that set their
    own checked type keep it. One rule for every command, including those added elsewhere."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                tighten_types(sub)
        elif action.type is int:
            action.type = nonnegative_int if action.dest.endswith("seed") else positive_int
        elif action.type is float:
            action.type = finite_float


def open_csv(path: str | Path) -> TextIO:
    """A user's CSV file for reading: a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped, so
    the first header is `arch`, not `\\ufeffarch`."""
    return open(path, newline="", encoding="utf-8-sig")


def csv_rows(reader: Iterator, path: str | Path) -> Iterator:
    """The rows of a csv reader over `path`; a field over csv's size limit (128 kB) or a broken
    row is a one-line ValueError naming the file and line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = getattr(reader, "line_num", "?")
            raise ValueError(f"{path}: line {line}: cannot read the CSV ({error}); is it the right file?") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 text (byte {error.start}); give a CSV file") from None
        yield row


__all__ = ["csv_rows", "finite_float", "json_safe", "nonnegative_float", "nonnegative_int", "open_csv",
           "parse_proxy_list", "positive_float", "positive_int", "read_arch_file", "read_truth", "resolve_device",
           "tighten_types"]


DATA_CHOICES = {"cifar10": "auto", "synthetic": "noise"}  # older names of image sources


def data_choices() -> list[str]:
    """What `--data` accepts: the older names, "auto", and every image source by name."""
    from .data import SOURCES

    return [*DATA_CHOICES, "auto", *SOURCES]


def data_source(name: str) -> str:
    """The image source a `--data` value names ("cifar10" = auto, "synthetic" = noise)."""
    return DATA_CHOICES.get(name, name)

