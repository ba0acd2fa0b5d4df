"""A dependency-free text progress bar for the CLI (written to stderr)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`bar.update(done, note)` redraws one line: bar, count, rate and time left."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, width: int = 28):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self._interactive = getattr(self.stream, "isatty", lambda: False)()
        self._last_line = 0.0

    def update(self, done: int, note: str = "") -> None:
        now = time.perf_counter()
        finished = done >= self.total
        # When not on a terminal (CI logs), print at most one line every 5 s.
        if not self._interactive and not finished and now - self._last_line < 5:
            return
        self._last_line = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else float("nan")
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{self.total} {rate:.2f}/s eta {left:.0f}s {note}"
        end = "\r" if self._interactive and not finished else "\n"
        self.stream.write(line.ljust(90) + end)
        self.stream.flush()
