"""Download one file: streamed, atomic, SHA-256-checked, with progress and a message that says what to do.

Shared by `swap_core.data` (the CIFAR-10 archive, on demand) and `swap_core.fetch` (every public
original `fetch-data` converts), so neither imports the other.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str, int, "int | None"], None]  # (label, bytes done, bytes total or None)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# the archive's published SHA-256 (also Keras's `cifar10.load_data` pin); its MD5, the one on
# the CIFAR page, is c58f30108f718f92721af3b95e74349a
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


class DownloadError(OSError):
    """A download failed; the message names what, from where, and what to do."""


class ChecksumError(DownloadError):
    """A file's SHA-256 is not the pinned one (a download is deleted; a cached file is left for the user)."""


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str | os.PathLike, sha256: str, label: str = "") -> Path:
    """`path` if its SHA-256 is `sha256`, else `ChecksumError` saying what to do (the file stays)."""
    found = file_sha256(path)
    if found != sha256.lower():
        raise ChecksumError(f"{label or Path(path).name} at {path} has SHA-256 {found[:16]}…, expected "
                            f"{sha256[:16]}…: it is damaged or not the published file. Delete it and download "
                            f"it again (python -m swap_core fetch-data).")
    return Path(path)


def download_file(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
                  progress: Progress | None = None, label: str = "", timeout: float = 60) -> Path:
    """Stream `url` (http(s) or file://) to `dest` atomically, checking `sha256` if given."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
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
    if sha256 and digest.hexdigest() != sha256.lower():
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{label} from {url} has SHA-256 {digest.hexdigest()}, expected {sha256}: the download is "
                            f"corrupt or not the published file, so it was deleted. Try again.")
    os.replace(part, dest)
    return dest


__all__ = ["CIFAR10_SHA256", "CIFAR10_URL", "ChecksumError", "DownloadError", "Progress", "check_file", "download_file",
           "file_sha256"]
