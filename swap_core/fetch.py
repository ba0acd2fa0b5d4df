"""Download the public originals of the ground truth and convert them to the data-dir formats.

`fetch_data(data_dir)` (CLI: `python -m swap_core fetch-data`) fetches, per item of `ITEMS`:

- NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B): NASLib's `naslib/data/zc_*.json`,
  pinned to the commits whose contents the reference data were made from → `zc/<space>_<task>.csv`;
- NATS-Bench (Dong et al., TPAMI 2021) topology accuracies, `nats_bench.csv` of
  v-tao/nats-bench-landscape → `nb201_accuracy.csv`;
- SWAP-NAS (Peng et al., ICLR 2024) `datasets/DARTS_archs_CIFAR10.csv` → `darts1000_cifar10.csv`;
- CIFAR-10, python version → kept in the user cache dir, and `cifar10_sample.npz` built from it.

NASLib keys architectures by op indices; each space turns its keys into its strings with
NASLib's own tables (`SearchSpace.naslib_key_to_arch`, after `naslib/search_spaces/*/conversions.py`),
and says where its NAS-Bench-Suite-Zero file is (`SearchSpace.zero_cost`), so a new space's
tables need no change here. Every default download, and the cached CIFAR-10 archive before it is
used, is checked against a pinned SHA-256.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import benchmarks
from .data import read_cifar10_batches
from . import download as _download
from .download import CIFAR10_URL, ChecksumError, DownloadError, Progress, check_file, download_file
from .spaces import get_space
# NASLib's op orders, kept with their spaces; named here as before.
from .spaces.darts import NASLIB_OPS as DARTS_OPS
from .spaces.nb101 import NASLIB_OPS as NB101_OPS
from .spaces.nb201 import NASLIB_OPS as NB201_OPS

_NATS = ("https://raw.githubusercontent.com/v-tao/nats-bench-landscape/"
         "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7/nats_bench.csv")
_SWAP = ("https://raw.githubusercontent.com/pym1024/SWAP/"
         "f6049f7c979b0cfc9ac5a13666fedb79dfe3cce8/datasets/DARTS_archs_CIFAR10.csv")


@dataclass(frozen=True)
class Item:
    """One public original: where it is, its SHA-256, and what it becomes."""

    url: str
    sha256: str
    produces: str
    space: str | None = None  # NAS-Bench-Suite-Zero items: the benchmark's name of the space (nb301)


def _items() -> dict[str, Item]:
    """Every space's NAS-Bench-Suite-Zero file, then the other tables and CIFAR-10."""
    items = {t.source: Item(t.url, t.sha256, t.produces, t.name) for t in benchmarks.zero_cost_tables()}
    items["nats_bench"] = Item(_NATS, "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
                               "nb201_accuracy.csv")
    items["swap_darts"] = Item(_SWAP, "d28d263aa7dd4103b6a1da1775b1b03ae16ffd2516409ca3bd493c8784abe6b0",
                               "darts1000_cifar10.csv")
    items["cifar10"] = Item(CIFAR10_URL, _download.CIFAR10_SHA256, "cifar10_sample.npz (archive kept in the user cache dir)")
    return items


ITEMS: dict[str, Item] = _items()


# --- NASLib architecture keys → this project's architecture strings -----------------------------

def naslib_key_to_arch(space: str, key: str) -> str:
    """A NASLib zc_*.json key (e.g. "(4, 0, 3, 1, 4, 3)") as our architecture string; `space` by
    our name or the benchmark's (`nb301`)."""
    try:
        space_obj = get_space(space)
    except ValueError:
        raise ValueError(f"no NASLib key conversion for space {space!r}") from None
    return space_obj.naslib_key_to_arch(key)


def _task_tables(node: dict, task: str | None = None) -> Iterable[tuple[str, dict]]:
    """(task, {key: record}) from either NASLib layout: {space: {task: ...}} or {task: ...}."""
    first = next(iter(node), "")
    if first.startswith(("(", "[")):
        yield task or "", node
        return
    for name, child in node.items():
        yield from _task_tables(child, name)


def _score(value: object) -> float:
    """NASLib stores either a number or {"score": ..., "time": ...}."""
    return float(value["score"] if isinstance(value, dict) else value)


def convert_zc_json(obj: dict, space: str) -> dict[str, pd.DataFrame]:
    """task → table with columns `benchmarks.ZC_COLUMNS` (missing scores are NaN)."""
    known = benchmarks.ZERO_COST[space].tasks
    tables = {}
    for task, records in _task_tables(obj):
        if task.lower() not in known:
            continue
        rows = [{"arch": naslib_key_to_arch(space, key),
                 **{c: _score(r[c]) for c in benchmarks.ZC_COLUMNS[1:] if c in r}}
                for key, r in records.items()]
        tables[task.lower()] = pd.DataFrame(rows, columns=list(benchmarks.ZC_COLUMNS))
    return tables


def convert_nats_bench(path: str | os.PathLike) -> pd.DataFrame:
    """nats_bench.csv (one row per NATS-Bench index, in order) → nb201_accuracy.csv columns."""
    table = pd.read_csv(path)
    return pd.DataFrame({"index": np.arange(len(table)), "arch": table["ArchitectureString"],
                         "cifar10_test": table["CIFAR10TestAccuracy200Epochs"],
                         "cifar100_test": table["CIFAR100TestAccuracy200Epochs"],
                         "imagenet16_120_test": table["ImageNetTestAccuracy200Epochs"]})


def convert_swap_darts(path: str | os.PathLike) -> pd.DataFrame:
    """SWAP's headerless DARTS_archs_CIFAR10.csv (genotype, accuracy) → arch, val_accuracy."""
    return pd.read_csv(path, names=["arch", "val_accuracy"], header=None)


def build_cifar10_sample(archive: str | os.PathLike, out: str | os.PathLike,
                         train_per_batch: int = 932, test_count: int = 846) -> Path:
    """cifar10_sample.npz: the first `train_per_batch` images of each training batch, in file
    order, and the first `test_count` of the test batch (uint8, N×3×32×32)."""
    batches = read_cifar10_batches(archive)
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    test_x, test_y = batches["test_batch"]
    arrays = {"train_x": np.concatenate([x[:train_per_batch] for x, _ in train]),
              "train_y": np.concatenate([y[:train_per_batch] for _, y in train]),
              "test_x": test_x[:test_count], "test_y": test_y[:test_count]}
    return _write(Path(out), lambda p: np.savez_compressed(p, **arrays))


def _write(path: Path, writer: Callable[[Path], None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp" + path.suffix)
    writer(tmp)
    os.replace(tmp, path)
    return path


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    return _write(path, lambda p: table.to_csv(p, index=False, lineterminator="\n"))


def _convert(name: str, item: Item, original: Path, data_dir: Path) -> list[Path]:
    if item.space:
        obj = json.loads(original.read_text(encoding="utf-8"))
        tables = convert_zc_json(obj, item.space)
        return [_write_csv(t, data_dir / benchmarks.ZERO_COST[item.space].file(task)) for task, t in tables.items()]
    if name == "nats_bench":
        return [_write_csv(convert_nats_bench(original), data_dir / "nb201_accuracy.csv")]
    if name == "swap_darts":
        return [_write_csv(convert_swap_darts(original), data_dir / "darts1000_cifar10.csv")]
    return [build_cifar10_sample(original, data_dir / "cifar10_sample.npz")]


def fetch_data(data_dir: str | os.PathLike | None = None, *, sources: dict[str, str] | None = None,
               items: Iterable[str] | None = None, progress: Progress | None = None,
               checksums: dict[str, str | None] | None = None,
               cache_dir: str | os.PathLike | None = None) -> list[str]:
    """Download and convert `items` (default: all of `ITEMS`) into `data_dir`; the written paths.

    `sources` maps item names to other URLs (e.g. `file://` copies). The SHA-256 check uses
    `checksums[item]` when given (None: no check), else the pinned SHA-256 for the default URL
    and none for another URL. The CIFAR-10 archive is kept in `cache_dir` (default
    `benchmarks.user_cache_dir()`), where `data.load_batch` also finds it. Items run in order;
    a failure (`DownloadError`, `ChecksumError`) stops the run, and files already written stay.
    `progress(label, bytes_done, bytes_total_or_None)` is called as each download proceeds.
    """
    data_dir = Path(data_dir) if data_dir is not None else benchmarks.data_dir()
    cache = Path(cache_dir) if cache_dir is not None else benchmarks.user_cache_dir()
    names = list(items) if items is not None else list(ITEMS)
    unknown = [n for n in names if n not in ITEMS]
    if unknown:
        raise ValueError(f"unknown fetch item(s) {unknown}; known: {', '.join(ITEMS)}")
    sources, checksums = sources or {}, checksums or {}
    written: list[str] = []
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".fetch-") as tmp:
        for name in names:
            item = ITEMS[name]
            url = sources.get(name, item.url)
            sha256 = checksums[name] if name in checksums else (item.sha256 if url == item.url else None)
            if name == "cifar10":
                original = cache / "cifar-10-python.tar.gz"
                if not original.is_file():
                    download_file(url, original, sha256=sha256, progress=progress, label="CIFAR-10")
                elif sha256:  # a cached archive is checked before use
                    check_file(original, sha256, "the cached CIFAR-10 archive")
            else:
                original = download_file(url, Path(tmp) / url.rsplit("/", 1)[-1], sha256=sha256,
                                         progress=progress, label=name)
            written += [str(p) for p in _convert(name, item, original, data_dir)]
    return written
