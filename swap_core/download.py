"""Download one file: streamed, atomic, MD5-checked, with progress and a message that says what to do.

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
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"


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


__all__ = ["CIFAR10_MD5", "CIFAR10_URL", "ChecksumError", "DownloadError", "Progress", "download_file"]
