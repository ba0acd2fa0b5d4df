"""NAS-Bench-Suite-Zero's tables of a space, and NASLib's architecture keys.

NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B) publishes, per benchmark and
task, the accuracy and zero-cost proxy scores of thousands of architectures as NASLib's
`naslib/data/zc_*.json`, keyed by op indices. A space says where its file is and how to read
its keys (`SearchSpace.zero_cost`, `SearchSpace.naslib_key_to_arch`); `swap_core.fetch`
downloads and converts it to `zc/<name>_<task>.csv`, `swap_core.benchmarks` finds it there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NASLIB_URL = "https://raw.githubusercontent.com/automl/NASLib/{commit}/naslib/data/{name}"
NASLIB_ZC_COMMIT = "1bdbd960ee3e08b4b71dfbae57ff4d4e43ec25c1"  # "Update NB201 ZC benchmark", May 2022


@dataclass(frozen=True)
class ZeroCostTables:
    """A space's NAS-Bench-Suite-Zero tables.

    `name` is the benchmark's name of the space in the table file names (DARTS's tables are
    NAS-Bench-301's: `nb301`), `tasks` the tasks with a table (in NASLib's order), `source`
    NASLib's file stem (`zc_nasbench201`, also the `fetch-data` item), pinned to `commit`
    with SHA-256 `sha256`.
    """

    name: str
    tasks: tuple[str, ...]
    source: str
    sha256: str
    commit: str = NASLIB_ZC_COMMIT

    def file(self, task: str) -> str:
        """The data-dir name of one task's table, e.g. `zc/nb201_cifar10.csv`."""
        return f"zc/{self.name}_{task.lower()}.csv"

    @property
    def url(self) -> str:
        return NASLIB_URL.format(commit=self.commit, name=f"{self.source}.json")

    @property
    def produces(self) -> str:
        """What fetching `source` writes, for people: `zc/nb201_<task>.csv`."""
        return self.file(self.tasks[0] if len(self.tasks) == 1 else "<task>")


def naslib_ints(key: str, count: int | None, high: int) -> list[int]:
    """The integers of a NASLib key such as "(4, 0, 3, 1, 4, 3)"; ValueError unless there are
    `count` of them (any number when None), each in 0..high-1."""
    values = [int(v) for v in re.findall(r"-?\d+", key)]
    if (count is not None and len(values) != count) or any(not 0 <= v < high for v in values):
        raise ValueError(f"unexpected NASLib key {key!r}: expected {count or 'n*n+n'} ints in 0..{high - 1}")
    return values


__all__ = ["NASLIB_URL", "NASLIB_ZC_COMMIT", "ZeroCostTables", "naslib_ints"]
