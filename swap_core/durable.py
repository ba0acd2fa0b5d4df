"""Output files that survive an interrupted command: atomic JSON replacement, CSV resumption,
a settings check for `--resume`, and refusing an output path that is one of the inputs.

The `search`, `oneshot` and `score` commands write each finished unit of work as it completes
(`write_json` replaces the whole file through a temporary file and `os.replace`, so a reader,
or a Ctrl-C, never sees half a file), take `--resume` to skip what a file already holds, and on
Ctrl-C print `interrupted_message` and exit with `INTERRUPTED` (130, as a shell does for SIGINT).
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INTERRUPTED = 130  # the exit status of a command stopped by SIGINT (128 + 2)
_SHOWN = 300       # characters of a value or a list of differences shown in a message


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: the same file on disk when both exist (links and
    hard links included), else the same resolved path."""
    first, second = Path(a).expanduser(), Path(b).expanduser()
    try:
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
        return first.resolve() == second.resolve()
    except OSError:
        return False


def refuse_same(out: str | os.PathLike | None, inputs: Mapping[str, str | os.PathLike | None],
                out_flag: str = "--out") -> None:
    """ValueError when `out` names the same file as one of `inputs` ({flag: path}), before
    anything is read or written, so the input is never overwritten."""
    if not out:
        return
    for flag, path in inputs.items():
        if path and same_path(out, path):
            raise ValueError(f"{out_flag} {out} is the input file of {flag}: writing it would destroy the input; "
                             f"choose another {out_flag}")


def data_file(spec: str | None) -> Path | None:
    """The existing file a FILE[:COLUMN] option names (FILE may be relative to the data dir),
    or None, for `refuse_same`."""
    if not spec:
        return None
    from . import benchmarks

    try:
        return benchmarks.resolve_file(spec)
    except (OSError, ValueError):
        return None


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Replace `path` with `value` as strict JSON (indent 1), atomically: the file is either
    the old one or the new one, whatever stops the process. A failure to write is a ValueError
    that names the file."""
    path = Path(path)
    text = json.dumps(value, indent=1, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror or error}; choose another --out") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)  # keep the old file's permissions
        os.replace(temporary, path)
    except BaseException as error:  # a Ctrl-C included: the old file stays, the temporary goes
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise ValueError(f"cannot write {path}: {error.strerror or error}; choose another --out") from None
        raise


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON object in `path` for `--resume`, or None when there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"--resume: {path} is not a readable JSON file ({_short(str(error))}); "
                         "rerun without --resume to overwrite it") from None
    if not isinstance(value, dict):
        raise ValueError(f"--resume: {path} does not hold a JSON object; rerun without --resume to overwrite it")
    return value


def as_json(value: Any) -> Any:
    """`value` as it reads back from a written file (tuples as lists, NaN as None)."""
    from .cli_helpers import json_safe

    return json.loads(json.dumps(json_safe(value)))


def check_settings(path: str | os.PathLike, mine: Mapping[str, Any], theirs: Any) -> None:
    """ValueError naming what differs when the settings a file was written with (`theirs`)
    are not this command's (`mine`): resuming would mix two experiments."""
    mine = as_json(dict(mine))
    if not isinstance(theirs, dict):
        raise ValueError(f"--resume: {path} records no settings to check; rerun without --resume to overwrite it")
    mine, theirs = _flat(mine), _flat(theirs)
    differ = [f"{key} {_short(repr(mine.get(key)))} here, {_short(repr(theirs.get(key)))} in the file"
              for key in sorted(set(mine) | set(theirs)) if mine.get(key) != theirs.get(key)]
    if differ:
        raise ValueError(f"--resume: {path} was written with other settings ({_short('; '.join(differ))}); "
                         "rerun with those settings, or without --resume to overwrite it, or choose another --out")


def _flat(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"setup": {"seed": 0}} → {"setup.seed": 0}, so that a message names the one field that differs."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def note_overwrite(path: str | os.PathLike) -> None:
    """Say on stderr that an existing output file is being replaced (not resumed)."""
    if Path(path).is_file():
        print(f"note: overwriting {path} (add --resume to continue it instead)", file=sys.stderr)


def interrupted_message(saved: int, total: int, unit: str, path: str | os.PathLike | None) -> str:
    """The one line a command prints when Ctrl-C stops it."""
    if not path:
        return f"interrupted: {saved} of {total} {unit} finished, none saved (no --out)"
    return f"interrupted: {saved} of {total} {unit} saved to {path}; continue with the same command plus --resume"


def was_interrupted(error: BaseException) -> bool:
    """Whether `error` is Ctrl-C, or an error raised while Ctrl-C unwound a library's
    context (torch's mode stacks, for one, fail on their way out): its chain holds a
    KeyboardInterrupt."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def report_interrupted(saved: int, total: int, unit: str, path: str | os.PathLike | None) -> None:
    """Print `interrupted_message` on stderr, on a line of its own after a progress bar."""
    start = "\n" if getattr(sys.stderr, "isatty", lambda: False)() else ""
    print(start + interrupted_message(saved, total, unit, path), file=sys.stderr, flush=True)


def read_csv_for_resume(path: str | os.PathLike, cut: bool = True) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a CSV that an interrupted command wrote, without a last line that was
    not finished (no newline at its end); `cut`: also cut that line off the file, so that rows
    can be appended."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"--resume: cannot read {path}: {error.strerror or error}") from None
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        if cut:
            with open(path, "r+b") as handle:
                handle.truncate(len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"--resume: {path} is not a UTF-8 CSV file; rerun without --resume to overwrite it") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        rows = [dict(zip(header, row)) for row in reader if row]
    except csv.Error as error:
        raise ValueError(f"--resume: {path} is not a readable CSV file ({_short(str(error))}); "
                         "rerun without --resume to overwrite it") from None
    return header, rows


def settings_path(path: str | os.PathLike) -> Path:
    """Where the settings of a CSV output are recorded for `--resume`: OUT.settings.json."""
    return Path(f"{path}.settings.json")


def write_settings(path: str | os.PathLike, settings: Mapping[str, Any]) -> None:
    """Record the settings a CSV output is written with (not for a device such as /dev/stdout)."""
    if not Path(path).exists() or Path(path).is_file():
        write_json(settings_path(path), as_json(dict(settings)))


def resume_csv(path: str | os.PathLike, header: list[str], settings: Mapping[str, Any],
               key: str = "arch") -> Counter | None:
    """For `--resume` of a CSV that rows are appended to: how often each `key` value is
    already in `path` (a row listed twice was written twice), after checking the file's header
    and recorded settings against this command's; None when there is no file to resume."""
    path = Path(path)
    if not path.is_file():
        print(f"note: nothing to resume in {path}; starting afresh", file=sys.stderr)
        return None
    found, rows = read_csv_for_resume(path, cut=False)  # the file is changed only once it is accepted
    if found and found != list(header):
        raise ValueError(f"--resume: {path} has the columns {_short(','.join(found))}, this command writes "
                         f"{','.join(header)}; rerun with the same --proxies, or without --resume to overwrite it")
    recorded = settings_path(path)
    if recorded.is_file():
        check_settings(path, settings, read_json(recorded))
    else:
        print(f"note: {recorded} is missing, so only the columns of {path} were checked", file=sys.stderr)
    read_csv_for_resume(path)  # cut a half-written last row off
    return Counter(row.get(key, "") for row in rows)


def count_csv_rows(path: str | os.PathLike) -> int | None:
    """The complete data rows of a CSV file (None where it is not a regular file)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return len(read_csv_for_resume(path)[1])
    except ValueError:
        return None


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"… ({len(text) - _SHOWN} more characters)"


__all__ = ["INTERRUPTED", "as_json", "check_settings", "count_csv_rows", "data_file", "interrupted_message",
           "note_overwrite", "read_csv_for_resume", "read_json", "refuse_same", "report_interrupted", "resume_csv",
           "same_path", "settings_path", "was_interrupted", "write_json", "write_settings"]
