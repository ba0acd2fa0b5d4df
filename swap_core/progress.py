"""The command line's progress bars (stderr): tqdm, with rate and time left.

On a terminal the bar redraws in place; elsewhere (a CI log, a file) it writes a plain line
at most every 5 seconds and one at the end, never carriage returns.
"""
from __future__ import annotations

import re
import sys
from typing import TextIO

from tqdm import tqdm


_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Lines:
    """A stream for tqdm off a terminal: each redraw as a line of its own."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> None:
        text = _CONTROL.sub("", text.replace("\r", "")).rstrip()  # no cursor moves of stacked bars
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


class ProgressBar:
    """`bar.update(done, note)` sets the count (and a note after the bar), `bar.advance()` adds
    one; `bar.write(text)` prints a message above the bar; the bar closes when `done` reaches
    the total, or on `close()`."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, initial: int = 0,
                 unit: str = "it"):
        stream = stream or sys.stderr
        interactive = getattr(stream, "isatty", lambda: False)()
        self._bar = tqdm(total=max(int(total), 0), desc=label, initial=initial, unit=unit, dynamic_ncols=interactive,
                         file=stream if interactive else _Lines(stream), mininterval=0.2 if interactive else 5.0,
                         ncols=None if interactive else 100, smoothing=0.05, leave=True)

    def update(self, done: int, note: str = "") -> None:
        if note:
            self._bar.set_postfix_str(note, refresh=False)
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)
        if self._bar.total and done >= self._bar.total:
            self.close()

    def advance(self, count: int = 1) -> None:
        self.update(self._bar.n + count)

    def write(self, text: str) -> None:
        self._bar.write(text, file=sys.stderr)

    def close(self) -> None:
        if not self._bar.disable:
            self._bar.close()
