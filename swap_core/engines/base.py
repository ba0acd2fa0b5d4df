"""What every engine shares: the outcome of one payload (`Done`, `Failed`) and the memory log
of the processes that ran them."""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from typing import Any

RETRIES = 2  # a task whose worker dies is run again this often before it is listed as failed


@dataclass(frozen=True)
class Done:
    index: int
    value: Any


@dataclass(frozen=True)
class Failed:
    index: int
    reason: str


@dataclass
class ProcessMemory:
    """One process's resident memory (MB = 10^6 bytes) over a run."""
    host: str
    pid: int
    first_mb: float
    last_mb: float
    peak_mb: float
    results: int = 1


@dataclass
class MemoryLog:
    processes: dict[tuple[str, int], ProcessMemory] = field(default_factory=dict)

    def note(self, sample: dict) -> None:
        key = (sample["host"], sample["pid"])
        seen = self.processes.get(key)
        if seen is None:
            self.processes[key] = ProcessMemory(sample["host"], sample["pid"], sample["rss_mb"], sample["rss_mb"],
                                                sample["peak_mb"])
        else:
            seen.last_mb, seen.peak_mb = sample["rss_mb"], max(seen.peak_mb, sample["peak_mb"])
            seen.results += 1

    def summary(self) -> str:
        """One line: the largest peak RSS of any process, and each process's RSS after its first
        and after its last result (flat memory: the two are close)."""
        if not self.processes:
            return "memory: no results"
        procs = sorted(self.processes.values(), key=lambda p: (p.host, p.pid))
        growth = max(p.last_mb - p.first_mb for p in procs)
        each = ", ".join(f"{p.first_mb:.0f}→{p.last_mb:.0f}" for p in procs[:8])
        more = f" (+{len(procs) - 8} more)" if len(procs) > 8 else ""
        return (f"memory: peak RSS {max(p.peak_mb for p in procs):.0f} MB over {len(procs)} worker process(es); "
                f"RSS after first→last result (MB): {each}{more}; largest growth {growth:+.0f} MB")


def memory_sample() -> dict:
    """This process's resident memory now and at its peak (MB), with its host and pid."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    try:
        with open("/proc/self/statm") as handle:
            rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        rss = peak_kb * 1024
    return {"host": os.uname().nodename, "pid": os.getpid(), "rss_mb": rss / 1e6, "peak_mb": peak_kb * 1024 / 1e6}


__all__ = ["Done", "Failed", "MemoryLog", "ProcessMemory", "RETRIES", "memory_sample"]
