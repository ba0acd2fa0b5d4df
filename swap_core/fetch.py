"""Download the public originals of the ground truth and convert them to the data-dir formats.

`fetch_data(data_dir)` (CLI: `python -m swap_core fetch-data`) fetches, per item of `ITEMS`:

- NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B): NASLib's `naslib/data/zc_*.json`,
  pinned to the commits whose contents the reference data were made from → `zc/<space>_<task>.csv`;
- NATS-Bench (Dong et al., TPAMI 2021) topology accuracies, `nats_bench.csv` of
  v-tao/nats-bench-landscape → `nb201_accuracy.csv`;
- SWAP-NAS (Peng et al., ICLR 2024) `datasets/DARTS_archs_CIFAR10.csv` → `darts1000_cifar10.csv`;
- CIFAR-10, python version → kept in the user cache dir, and `cifar10_sample.npz` built from it.

NASLib keys architectures by op indices; the converters below use NASLib's own tables
(`naslib/search_spaces/*/conversions.py`) to turn them into this project's strings.
Every default download is checked against a pinned MD5.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import benchmarks

Progress = Callable[[str, int, "int | None"], None]  # (label, bytes done, bytes total or None)

_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/{commit}/naslib/data/{name}"
_NASLIB_NB = "1bdbd960ee3e08b4b71dfbae57ff4d4e43ec25c1"   # "Update NB201 ZC benchmark", May 2022
_NASLIB_TNB = "e5a821c2dadf608042e4e046e386006cf6bd0564"  # "Add ZC benchmarks", May 2022
_NATS = ("https://raw.githubusercontent.com/v-tao/nats-bench-landscape/"
         "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7/nats_bench.csv")
_SWAP = ("https://raw.githubusercontent.com/pym1024/SWAP/"
         "f6049f7c979b0cfc9ac5a13666fedb79dfe3cce8/datasets/DARTS_archs_CIFAR10.csv")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"


@dataclass(frozen=True)
class Item:
    """One public original: where it is, its MD5, and what it becomes."""

    url: str
    md5: str
    produces: str
    space: str | None = None  # NAS-Bench-Suite-Zero items: our space name


ITEMS: dict[str, Item] = {
    "zc_nasbench201": Item(_NASLIB.format(commit=_NASLIB_NB, name="zc_nasbench201.json"),
                           "ad886fca1597d0e86fa6dc270e9b023e", "zc/nb201_<task>.csv", "nb201"),
    "zc_nasbench301": Item(_NASLIB.format(commit=_NASLIB_NB, name="zc_nasbench301.json"),
                           "59a79af7b94de5c2a23b8ffa15b4f004", "zc/nb301_cifar10.csv", "nb301"),
    "zc_nasbench101": Item(_NASLIB.format(commit=_NASLIB_NB, name="zc_nasbench101.json"),
                           "90610d4bf2028c81bf7b9bcbbdca1a6f", "zc/nb101_cifar10.csv", "nb101"),
    "zc_transbench101_micro": Item(_NASLIB.format(commit=_NASLIB_TNB, name="zc_transbench101_micro.json"),
                                   "5a5f72029e4b5af6cc3320d38b4bd4bc", "zc/tnb101_micro_<task>.csv",
                                   "tnb101_micro"),
    "zc_transbench101_macro": Item(_NASLIB.format(commit=_NASLIB_TNB, name="zc_transbench101_macro.json"),
                                   "ab2c8cee3bf2cd6b152ea42ccb7c9e8a", "zc/tnb101_macro_<task>.csv",
                                   "tnb101_macro"),
    "nats_bench": Item(_NATS, "644073c0daad5b1069becff769cfafa6", "nb201_accuracy.csv"),
    "swap_darts": Item(_SWAP, "8666dcc2daac2be1ec0308a09dfff990", "darts1000_cifar10.csv"),
    "cifar10": Item(CIFAR10_URL, CIFAR10_MD5, "cifar10_sample.npz (archive kept in the user cache dir)"),
}


class DownloadError(OSError):
    """A download failed; the message names what, from where, and what to do."""


class ChecksumError(DownloadError):
    """A download's MD5 is not the expected one (the file was deleted)."""


def download_file(url: str, dest: str | os.PathLike, *, md5: str | None = None,
                  progress: Progress | None = None, label: str = "", timeout: float = 60) -> Path:
    """Stream `url` (http(s) or file://) to `dest` atomically, checking `md5` if given."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    label = label or dest.name
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            total, done = (int(length) if length else None), 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(label, done, total)
    except (urllib.error.URLError, OSError) as error:
        part.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise DownloadError(f"could not download {label} from {url}: {reason}. Check the internet "
                            f"connection, or download it by hand to {dest}.") from error
    if md5 and digest.hexdigest() != md5.lower():
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{label} from {url} has MD5 {digest.hexdigest()}, expected {md5}: the download is "
                            f"corrupt or not the published file, so it was deleted. Try again.")
    os.replace(part, dest)
    return dest


# --- NASLib architecture keys → this project's architecture strings -----------------------------

NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")  # NASLib OP_NAMES_NB201
DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")  # NASLib nasbench301 compact OPS
NB101_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")  # NASLib all_ops


def _ints(key: str, count: int | None, high: int) -> list[int]:
    values = [int(v) for v in re.findall(r"-?\d+", key)]
    if (count is not None and len(values) != count) or any(not 0 <= v < high for v in values):
        raise ValueError(f"unexpected NASLib key {key!r}: expected {count or 'n*n+n'} ints in 0..{high - 1}")
    return values


def naslib_key_to_arch(space: str, key: str) -> str:
    """A NASLib zc_*.json key (e.g. "(4, 0, 3, 1, 4, 3)") as our architecture string."""
    if space == "nb201":  # edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4); string lists them by target node
        o = [NB201_OPS[i] for i in _ints(key, 6, 5)]
        return f"|{o[0]}~0|+|{o[1]}~0|{o[3]}~1|+|{o[2]}~0|{o[4]}~1|{o[5]}~2|"
    if space == "nb301":  # [[(input node, op index) × 8] normal, [...] reduce]
        v = _ints(key, 32, 7)
        cells = [[(DARTS_OPS[v[i + 1]], v[i]) for i in range(start, start + 16, 2)] for start in (0, 16)]
        return (f"Genotype(normal={cells[0]!r}, normal_concat=[2, 3, 4, 5], "
                f"reduce={cells[1]!r}, reduce_concat=[2, 3, 4, 5])")
    if space == "nb101":  # flattened n×n adjacency matrix, then n op indices
        v = _ints(key, None, 5)
        n = int(round((-1 + (1 + 4 * len(v)) ** 0.5) / 2))
        if n * n + n != len(v):
            raise ValueError(f"unexpected NASLib nb101 key {key!r}: length {len(v)} is not n*n+n")
        matrix = [v[r * n:(r + 1) * n] for r in range(n)]
        return json.dumps({"matrix": matrix, "ops": [NB101_OPS[i] for i in v[n * n:]]}, separators=(",", ":"))
    if space == "tnb101_micro":  # NASLib convert_op_indices_micro_to_str
        return "64-41414-{}_{}{}_{}{}{}".format(*_ints(key, 6, 4))
    if space == "tnb101_macro":  # NASLib convert_op_indices_macro_to_str: zeros dropped
        return "64-{}-basic".format("".join(str(v) for v in _ints(key, 6, 5) if v))
    raise ValueError(f"no NASLib key conversion for space {space!r}")


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
    known = benchmarks.ZC_TASKS[space]
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
    from .data import read_cifar10_batches

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
        return [_write_csv(t, data_dir / benchmarks.zc_file(item.space, task)) for task, t in tables.items()]
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

    `sources` maps item names to other URLs (e.g. `file://` copies). The MD5 check uses
    `checksums[item]` when given (None: no check), else the pinned MD5 for the default URL
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
            md5 = checksums[name] if name in checksums else (item.md5 if url == item.url else None)
            if name == "cifar10":
                original = cache / "cifar-10-python.tar.gz"
                if not original.is_file():
                    download_file(url, original, md5=md5, progress=progress, label="CIFAR-10")
            else:
                original = download_file(url, Path(tmp) / url.rsplit("/", 1)[-1], md5=md5,
                                         progress=progress, label=name)
            written += [str(p) for p in _convert(name, item, original, data_dir)]
    return written
