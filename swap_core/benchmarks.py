"""Ground truth: accuracy (and NASLib's zero-cost scores) per architecture string.

The tables live in a *data directory*: `$SWAP_EXPLORER_DATA` if set, else
`<user cache>/swap-explorer/data` (`~/.cache/swap-explorer/data` on Linux, honouring
`$XDG_CACHE_HOME`; `~/Library/Caches/swap-explorer/data` on macOS;
`%LOCALAPPDATA%\\swap-explorer\\data` on Windows). Every file is optional;
`python -m swap_core fetch-data` downloads the public originals and converts them
(see `swap_core.fetch`). Formats: `../shared/data/README.md`. Sources:

- NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B), NASLib `naslib/data/zc_*.json`;
- NATS-Bench (Dong et al., TPAMI 2021), table `nats_bench.csv` of v-tao/nats-bench-landscape;
- SWAP-NAS (Peng et al., ICLR 2024), pym1024/SWAP `datasets/DARTS_archs_CIFAR10.csv`;
- CIFAR-10 (Krizhevsky, 2009), python version.

What is particular to a space comes from the space (`swap_core.spaces`): the tables of its own
(`SearchSpace.truth_columns`) and its NAS-Bench-Suite-Zero tables (`SearchSpace.zero_cost`),
so a new space with tables needs no change here.
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from .spaces import ZeroCostTables, get_space, list_spaces

ENV_DATA = "SWAP_EXPLORER_DATA"
ENV_CACHE = "SWAP_EXPLORER_CACHE"
FETCH_COMMAND = "python -m swap_core fetch-data"

ZC_COLUMNS = ("arch", "val_accuracy", "flops", "params", "synflow", "snip", "grasp", "fisher",
              "grad_norm", "jacov", "nwot", "epe_nas", "l2_norm", "plain", "zen")


def _zero_cost_tables() -> dict[str, ZeroCostTables]:
    """Every space's NAS-Bench-Suite-Zero tables, under the benchmark's name of the space
    (`nb301`) and under ours (`darts`), in the registry's order."""
    found: dict[str, ZeroCostTables] = {}
    for name in list_spaces():
        tables = get_space(name).zero_cost
        if tables is not None:
            found.setdefault(tables.name, tables)
            found.setdefault(name, tables)
    return found


ZERO_COST: dict[str, ZeroCostTables] = _zero_cost_tables()
# The spaces' own tables: file name -> {dataset: column}; the first column is the file's default.
TRUTH_COLUMNS: dict[str, Mapping[str, str]] = {
    file: columns for name in list_spaces() for file, columns in get_space(name).truth_columns.items()}


def zero_cost_tables() -> list[ZeroCostTables]:
    """Each space's NAS-Bench-Suite-Zero tables once, in the registry's order."""
    return list(dict.fromkeys(ZERO_COST.values()))


class MissingDataError(FileNotFoundError):
    """A data file is not there; the message says what it is and how to get it."""


@dataclass(frozen=True)
class DataFile:
    """One optional file of the data directory."""

    name: str         # path relative to the data dir, e.g. "zc/nb201_cifar10.csv"
    what: str         # what it holds, in a sentence
    source: str       # the public original it is converted from
    fetch_item: str   # the `fetch-data --items` name that produces it

    @property
    def how_to_get(self) -> str:
        return f"{FETCH_COMMAND} --items {self.fetch_item}"


def _catalogue() -> dict[str, DataFile]:
    files = [
        DataFile("cifar10_sample.npz", "real CIFAR-10 images: 4,660 training and 846 test images",
                 "CIFAR-10 python version, cifar-10-python.tar.gz (Krizhevsky, 2009)", "cifar10"),
        DataFile("nb201_accuracy.csv", "NAS-Bench-201 / NATS-Bench test accuracy of all 15,625 cells "
                 "on CIFAR-10, CIFAR-100 and ImageNet16-120",
                 "NATS-Bench, nats_bench.csv of v-tao/nats-bench-landscape", "nats_bench"),
        DataFile("darts1000_cifar10.csv", "CIFAR-10 validation accuracy of the SWAP-NAS DARTS "
                 "architectures", "SWAP-NAS, pym1024/SWAP datasets/DARTS_archs_CIFAR10.csv", "swap_darts"),
    ]
    for tables in zero_cost_tables():
        for task in tables.tasks:
            files.append(DataFile(
                tables.file(task),
                f"NAS-Bench-Suite-Zero: accuracy, FLOPs, params and zero-cost proxy scores, {tables.name} on {task}",
                f"NAS-Bench-Suite-Zero, NASLib naslib/data/{tables.source}.json", tables.source))
    return {f.name: f for f in files}


CATALOGUE: dict[str, DataFile] = _catalogue()


def user_cache_dir() -> Path:
    """`$SWAP_EXPLORER_CACHE`, else the platform's user cache dir + `/swap-explorer`."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "swap-explorer"


def data_dir() -> Path:
    """The data directory: `$SWAP_EXPLORER_DATA`, else `user_cache_dir() / "data"`."""
    value = os.environ.get(ENV_DATA)
    return Path(value).expanduser() if value else user_cache_dir() / "data"


def _base(data_dir_: str | os.PathLike | None) -> Path:
    return Path(data_dir_) if data_dir_ is not None else data_dir()


def inventory(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One record per known file: file, path, present, what, source, how_to_get."""
    base = _base(data_dir)
    return [{"file": f.name, "path": str(base / f.name), "present": (base / f.name).is_file(),
             "what": f.what, "source": f.source, "how_to_get": f.how_to_get}
            for f in CATALOGUE.values()]


def require(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of data file `name`, or `MissingDataError` saying what it is and how to get it."""
    base = _base(data_dir)
    path = base / name
    if path.is_file():
        return path
    known = CATALOGUE.get(name)
    if known is None:
        raise MissingDataError(f"{path} not found")
    raise MissingDataError(f"{name} is missing from the data directory {base}: it holds {known.what} "
                           f"(from {known.source}). Get it with `{known.how_to_get}` (needs internet), "
                           f"or point ${ENV_DATA} at a directory that has it.")


@functools.lru_cache(maxsize=32)
def _read_csv(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"arch": str})


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV as a DataFrame, cached on (path, mtime, size); the caller gets its own copy."""
    stat = os.stat(path)
    return _read_csv(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size).copy()


def load_nb201_accuracy(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """index, arch, cifar10_test, cifar100_test, imagenet16_120_test (%) for all 15,625 cells."""
    return read_table(require("nb201_accuracy.csv", data_dir))


def load_darts1000(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """arch (DARTS Genotype string), val_accuracy (%) of the SWAP-NAS DARTS set."""
    return read_table(require("darts1000_cifar10.csv", data_dir))


def zc_file(space: str, task: str = "cifar10") -> str:
    """Relative name of a NAS-Bench-Suite-Zero table, e.g. ("nb201", "cifar10"); the space by
    our name or the benchmark's (`darts` and `nb301` are one)."""
    tables = ZERO_COST.get(space)
    if tables is None or task.lower() not in tables.tasks:
        known = ", ".join(f"{t.name}/{k}" for t in zero_cost_tables() for k in t.tasks)
        raise ValueError(f"no NAS-Bench-Suite-Zero table for space {(tables.name if tables else space)!r}, "
                         f"task {task.lower()!r}; known: {known}")
    return tables.file(task)


def load_zc(space: str, task: str = "cifar10", data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Columns `ZC_COLUMNS`: arch, val_accuracy, flops (MFLOPs), params (M), proxy scores."""
    return read_table(require(zc_file(space, task), data_dir))


def list_zc(data_dir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(space, task) of every NAS-Bench-Suite-Zero table present in the data dir."""
    base = _base(data_dir)
    return [(t.name, task) for t in zero_cost_tables() for task in t.tasks if (base / t.file(task)).is_file()]


def _split_spec(spec: str) -> tuple[str, str | None]:
    """"FILE:COLUMN" → (FILE, COLUMN); a colon inside a path (C:\\...) is not a separator."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail and not any(c in tail for c in "/\\"):
        return head, tail
    return spec, None


def _resolve(file: str, data_dir_: str | os.PathLike | None) -> Path:
    if file in CATALOGUE:
        return require(file, data_dir_)
    for candidate in (Path(file).expanduser(), _base(data_dir_) / file):
        if candidate.is_file():
            return candidate
    raise MissingDataError(f"ground-truth file {file!r} not found (looked in {Path.cwd()} and "
                           f"{_base(data_dir_)}); known data files: {', '.join(CATALOGUE)}")


def _default_column(file: str, column: str | None) -> str:
    """`column`, a dataset's column of a space's own table (`cifar100` in nb201_accuracy.csv is
    `cifar100_test`), or by default that table's first column, else `val_accuracy`."""
    columns = TRUTH_COLUMNS.get(Path(file).name, {})
    if column is None:
        return next(iter(columns.values()), "val_accuracy")
    return columns.get(column.lower(), column)


@functools.lru_cache(maxsize=64)
def _truth(path: str, mtime_ns: int, size: int, column: str) -> Mapping[str, float]:
    table = _read_csv(path, mtime_ns, size)
    if "arch" not in table.columns or column not in table.columns:
        raise KeyError(f"{path} needs columns 'arch' and {column!r}; it has {list(table.columns)}")
    table = table.dropna(subset=[column])
    return MappingProxyType(dict(zip(table["arch"], table[column].astype(float))))


def resolve_file(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """A CSV path, or a file name relative to the data dir ("zc/nb201_cifar10.csv")."""
    return _resolve(_split_spec(name)[0], data_dir)


def truth_table(name: str, column: str | None = None,
                data_dir: str | os.PathLike | None = None) -> Mapping[str, float]:
    """Read-only mapping arch → value, e.g. `truth_table("nb201_accuracy.csv:cifar10_test")`.

    `name` is a data-dir file ("zc/nb201_cifar10.csv"), or any CSV path with an `arch`
    column, optionally followed by ":COLUMN". Default column: `cifar10_test` for
    nb201_accuracy.csv (aliases cifar10/cifar100/imagenet16-120 work), else `val_accuracy`.
    Rows without a value are left out.
    """
    file, spec_column = _split_spec(name)
    path = _resolve(file, data_dir)
    stat = path.stat()
    col = _default_column(file, spec_column or column)
    return _truth(str(path.resolve()), stat.st_mtime_ns, stat.st_size, col)


def lookup(arch: str, name: str = "nb201_accuracy.csv", column: str | None = None,
           data_dir: str | os.PathLike | None = None) -> float | None:
    """The ground-truth value of one architecture string, or None when the table lacks it."""
    return truth_table(name, column, data_dir).get(arch)
