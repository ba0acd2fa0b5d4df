"""The score store: every proxy score computed, kept on disk in SQLite, keyed by
(Setup, cell, proxy, the proxy's options), and shared by every browser session of a server,
every server and every command on the machine — so nothing is computed twice across users,
pages or restarts, and `python -m swap_core prepare` can fill a lecture's views ahead of time.

Where: `$SWAP_EXPLORER_STORE`, else `scores.sqlite` in the user cache directory (beside the
default data directory; the reference data directory itself is never written to).

What a key holds: every field of the Setup but its thread count (space, dataset, network
preset, image source and order, batch, seed, device) — a thread count changes at most the
last bits of a float sum, so the command line (`--threads`), the app (fixed per server) and a
cluster worker share their scores. A proxy whose definition changes must bump
`SCORE_VERSION`, which is part of every key, so that old scores are never read as new ones.

One entry is (value, error, seconds): NaN is stored as NULL with the reason in `error`;
`seconds` is the cell's scoring time shared among the proxies computed together. Reads come
from an in-memory mirror of each Setup's entries (loaded once per process and Setup, then
kept up to date by this process's writes; `refresh` re-reads what other processes wrote), so
a page polling its progress twice a second never touches the disk.
"""
from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_STORE = "SWAP_EXPLORER_STORE"
SCORE_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    setup TEXT NOT NULL, arch TEXT NOT NULL, proxy TEXT NOT NULL, options TEXT NOT NULL,
    value REAL, error TEXT NOT NULL DEFAULT '', seconds REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    PRIMARY KEY (setup, proxy, options, arch)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class Entry:
    value: float
    error: str = ""
    seconds: float = 0.0


def default_path() -> Path:
    from .benchmarks import user_cache_dir

    value = os.environ.get(ENV_STORE)
    return Path(value).expanduser() if value else user_cache_dir() / "scores.sqlite"


@functools.lru_cache(maxsize=1024)
def setup_key(setup: Any) -> str:
    """The store's text key of a Setup: its fields but `threads`, and the score version."""
    fields = {k: v for k, v in zip(setup.__dataclass_fields__, setup.key) if k != "threads"}
    return json.dumps({"v": SCORE_VERSION, **fields}, sort_keys=True)


def options_key(options: Mapping[str, Any] | None) -> str:
    """A proxy's options as canonical text ('' for the defaults)."""
    return json.dumps(dict(options), sort_keys=True) if options else ""


class ScoreStore:
    """Scores on disk with a per-Setup mirror in memory; safe to share between threads."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._local = threading.local()
        self._lock = threading.RLock()
        self._mirror: dict[str, dict[tuple[str, str, str], Entry]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise ValueError(f"cannot open the score store {self.path}: {error} "
                             f"(set {ENV_STORE} to a writable file)") from error

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def _entries(self, key: str) -> dict[tuple[str, str, str], Entry]:
        with self._lock:
            entries = self._mirror.get(key)
            if entries is None:
                entries = self._mirror[key] = self._read(key)
            return entries

    def _read(self, key: str) -> dict[tuple[str, str, str], Entry]:
        rows = self._connection().execute(
            "SELECT arch, proxy, options, value, error, seconds FROM scores WHERE setup = ?", (key,))
        return {(arch, proxy, options): Entry(math.nan if value is None else float(value), error, seconds)
                for arch, proxy, options, value, error, seconds in rows}

    def refresh(self, setup: Any) -> None:
        """Re-read a Setup's entries from disk (what other processes have written since)."""
        key = setup_key(setup)
        with self._lock:
            self._mirror[key] = self._read(key)

    def get(self, setup: Any, arch: str, proxy: str, options: Mapping[str, Any] | None = None) -> Entry | None:
        return self._entries(setup_key(setup)).get((arch, proxy, options_key(options)))

    def missing(self, setup: Any, arch: str, names: Iterable[str],
                options: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
        """The proxies of `names` with no entry for `arch`."""
        entries, options = self._entries(setup_key(setup)), options or {}
        return [n for n in names if (arch, n, options_key(options.get(n))) not in entries]

    def put(self, setup: Any, arch: str, values: Mapping[str, float], errors: Mapping[str, str] | None = None,
            seconds: float = 0.0, options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Keep the scores `values` of one cell (all computed together in `seconds`)."""
        if not values:
            return
        key, errors, options = setup_key(setup), errors or {}, options or {}
        share, now = seconds / len(values), time.time()
        records = []
        for name, value in values.items():
            value = float(value)
            entry = Entry(value, errors.get(name, "") if math.isnan(value) else "", share)
            records.append((key, arch, name, options_key(options.get(name)),
                            None if math.isnan(value) else value, entry.error, share, now))
        with self._lock:
            connection = self._connection()
            with connection:
                connection.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records)
            entries = self._entries(key)
            for record in records:
                entries[(arch, record[2], record[3])] = Entry(math.nan if record[4] is None else record[4],
                                                              record[5], share)

    def put_row(self, setup: Any, row: Mapping[str, Any], names: Iterable[str]) -> None:
        """Keep the proxies `names` of a row of `explorer.score_row`."""
        names = list(names)
        self.put(setup, row["arch"], {n: row[n] for n in names}, row.get("errors"), float(row.get("seconds", 0.0)))

    def row(self, setup: Any, arch: str, names: Iterable[str],
            options: Mapping[str, Mapping[str, Any]] | None = None) -> dict | None:
        """{arch, seconds, <proxy>..., errors} when every proxy of `names` has an entry, else None."""
        entries, options = self._entries(setup_key(setup)), options or {}
        row: dict[str, Any] = {"arch": arch, "seconds": 0.0}
        errors: dict[str, str] = {}
        for name in names:
            entry = entries.get((arch, name, options_key(options.get(name))))
            if entry is None:
                return None
            row[name] = entry.value
            row["seconds"] += entry.seconds
            if entry.error:
                errors[name] = entry.error
        row["errors"] = errors
        return row

    def count(self, setup: Any) -> int:
        return len(self._entries(setup_key(setup)))


__all__ = ["ENV_STORE", "Entry", "SCORE_VERSION", "ScoreStore", "default_path", "options_key", "setup_key"]
