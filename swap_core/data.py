"""Input batches of real images, chosen by seed and size, from the best source there is.

Sources, in the order `load_batch(source="auto")` tries them:

1. `cifar10-sample` — `cifar10_sample.npz` in the data dir (see `benchmarks.data_dir()`).
2. `cifar10-download` — the official CIFAR-10 python archive (Krizhevsky, 2009),
   `cifar-10-python.tar.gz` or its extracted `cifar-10-batches-py/`, in the user cache dir
   (`benchmarks.user_cache_dir()`) or the data dir; `download=True` fetches it. An archive is checked against the published
   SHA-256 before its first use (a damaged or foreign one is refused, saying so).
3. `offline-fallback` — random crops of real photographs that ship inside scikit-image
   (`skimage/data`: astronaut, Chelsea the cat, coffee, a rocket, ...), resized to
   `input_size`. Real image statistics, but *not* CIFAR-10: the labels are placeholders —
   the index of the photograph a crop comes from (0..7), so loss-based proxies still run.
4. `noise` — N(0, 1) pixels (already "normalised") with random labels 0..9: last resort.

Images are float32 N×3×H×W, normalised with the CIFAR-10 mean/std. The same seed gives
the same images. `Batch.source` and `Batch.description` say where they came from.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import benchmarks
from . import download as _download
from .download import CIFAR10_URL, Progress, check_file, download_file

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
SOURCES = ("cifar10-sample", "cifar10-download", "offline-fallback", "noise")
FALLBACK_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                   "hubble_deep_field.jpg", "camera.png", "grass.png")

class DataSourceError(RuntimeError):
    """An explicitly requested image source is not available; the message says how to get it."""


@dataclass
class Batch:
    """A batch of normalised images, with where they came from."""

    images: torch.Tensor   # float32 N×3×H×W, CIFAR-10 normalisation
    labels: torch.Tensor   # int64 N; CIFAR-10 classes only when `has_class_labels`
    source: str            # one of SOURCES
    description: str       # for people, e.g. "64 CIFAR-10 training images from ... (seed 0)"

    @property
    def has_class_labels(self) -> bool:
        return self.source.startswith("cifar10")

    def __len__(self) -> int:
        return len(self.labels)


# --- CIFAR-10 python archive --------------------------------------------------------------------

class _CifarUnpickler(pickle.Unpickler):
    """Loads CIFAR-10 batches only: no global except what a pickled numpy array needs."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR-10 batch; refusing to load it")


def _parse_batch(handle) -> tuple[np.ndarray, np.ndarray]:
    entry = _CifarUnpickler(handle, encoding="bytes").load()
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    return np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.uint8)


def read_cifar10_batches(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{batch name: (uint8 N×3×32×32, uint8 labels)} from the archive or the extracted folder."""
    path = Path(path)
    if path.is_dir():
        batches = {}
        for name in CIFAR10_BATCHES:
            with open(path / name, "rb") as handle:
                batches[name] = _parse_batch(handle)
        return batches
    with tarfile.open(path, "r:gz") as archive:
        batches = {}
        for member in archive:
            name = Path(member.name).name
            if member.isfile() and name in CIFAR10_BATCHES:
                batches[name] = _parse_batch(archive.extractfile(member))
    missing = [n for n in CIFAR10_BATCHES if n not in batches]
    if missing:
        raise ValueError(f"{path} is not a CIFAR-10 python archive: it lacks {missing}")
    return batches


def find_cifar10(data_dir=None, cache_dir=None) -> Path | None:
    """The CIFAR-10 archive or extracted folder in the cache dir or the data dir, if any."""
    for base in (_cache(cache_dir), _data(data_dir)):
        folder, archive = base / CIFAR10_DIR, base / CIFAR10_ARCHIVE
        if all((folder / name).is_file() for name in CIFAR10_BATCHES):
            return folder
        if archive.is_file():
            return archive
    return None


def download_cifar10(cache_dir=None, *, url: str | None = None, sha256: str | None = None,
                     progress: Progress | None = None) -> Path:
    """Download the official archive into the cache dir (unless there) and return its path.

    `url`/`sha256` default to the official ones; a bad checksum deletes the file and raises
    `swap_core.download.ChecksumError`.
    """
    dest = _cache(cache_dir) / CIFAR10_ARCHIVE
    if not dest.is_file():
        download_file(url or CIFAR10_URL, dest, sha256=sha256 or _download.CIFAR10_SHA256, progress=progress,
                      label="CIFAR-10")
    return dest


@functools.lru_cache(maxsize=2)
def _cifar_split(path: str, mtime_ns: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    if path.endswith(".npz"):
        with np.load(path) as arrays:
            return arrays[f"{split}_x"], arrays[f"{split}_y"]
    if not Path(path).is_dir():  # the archive, checked once per file version (this cache's key)
        check_file(path, _download.CIFAR10_SHA256, "the CIFAR-10 archive")
    batches = read_cifar10_batches(path)
    names = ["test_batch"] if split == "test" else list(CIFAR10_BATCHES[:5])
    return np.concatenate([batches[n][0] for n in names]), np.concatenate([batches[n][1] for n in names])


def _sample_cifar(path: Path, size: int, rng: np.random.Generator | None, split: str):
    """`size` images drawn by `rng`, or the first `size` in file order when `rng` is None."""
    x, y = _cifar_split(str(path), path.stat().st_mtime_ns, split)
    if rng is None:
        index = np.arange(size) % len(x)
    else:
        index = rng.choice(len(x), size=size, replace=size > len(x))
    return torch.from_numpy(x[index]).float() / 255, torch.from_numpy(y[index].astype(np.int64))


def _repeats(path: Path, size: int, split: str) -> str:
    """What a description adds when `size` is more than the file's distinct images (they repeat)."""
    x, _ = _cifar_split(str(path), path.stat().st_mtime_ns, split)
    return "" if size <= len(x) else f", only {len(x):,} of them distinct (the file holds no more; images repeat)"


# --- offline fallback: photographs bundled with scikit-image --------------------------------------

def fallback_photos() -> list[Path]:
    """The bundled photographs found (empty when scikit-image is not installed)."""
    spec = importlib.util.find_spec("skimage")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "data"
        found = [folder / name for name in FALLBACK_PHOTOS if (folder / name).is_file()]
        if found:
            return found
    return []


@functools.lru_cache(maxsize=1)
def _load_photos(paths: tuple[str, ...]) -> tuple:
    from PIL import Image  # Pillow comes with streamlit and scikit-image

    def load(path: str):
        with Image.open(path) as image:
            return image.convert("RGB")
    return tuple(load(p) for p in paths)


def _photo_patches(photos: list[Path], size: int, rng: np.random.Generator, input_size: int):
    """Square crops (1/8 to 1/2 of the shorter side) at random places, randomly mirrored."""
    from PIL import Image

    loaded = _load_photos(tuple(str(p) for p in photos))
    patches, labels = [], []
    for _ in range(size):
        k = int(rng.integers(len(loaded)))
        width, height = loaded[k].size
        shorter = min(height, width)
        side = int(rng.integers(min(max(input_size, shorter // 8), shorter // 2), shorter // 2 + 1))
        top, left = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
        # Pillow's bilinear filter widens its support when shrinking, so this is antialiased.
        patch = loaded[k].crop((left, top, left + side, top + side)).resize(
            (input_size, input_size), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        patches.append(np.asarray(patch, dtype=np.uint8))
        labels.append(k)
    images = torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).float() / 255
    return images, torch.tensor(labels, dtype=torch.int64)


# --- the batch ------------------------------------------------------------------------------------

def _data(data_dir) -> Path:
    return Path(data_dir) if data_dir is not None else benchmarks.data_dir()


def _cache(cache_dir) -> Path:
    return Path(cache_dir) if cache_dir is not None else benchmarks.user_cache_dir()


def _resize(images: torch.Tensor, input_size: int) -> torch.Tensor:
    if images.shape[-1] == input_size and images.shape[-2] == input_size:
        return images
    return F.interpolate(images, size=(input_size, input_size), mode="bilinear", align_corners=False,
                         antialias=True).clamp_(0, 1)


def _normalise(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return ((images - mean) / std).float().contiguous()


def available_sources(data_dir=None, cache_dir=None) -> dict[str, bool]:
    """Which sources `load_batch` could use now, in the order `auto` tries them."""
    return {"cifar10-sample": (_data(data_dir) / "cifar10_sample.npz").is_file(),
            "cifar10-download": find_cifar10(data_dir, cache_dir) is not None,
            "offline-fallback": bool(fallback_photos()),
            "noise": True}


def _unavailable(source: str, data_dir, cache_dir) -> DataSourceError:
    hints = {
        "cifar10-sample": f"cifar10_sample.npz is not in the data dir {_data(data_dir)}; get it with "
                          f"`{benchmarks.FETCH_COMMAND} --items cifar10` or set ${benchmarks.ENV_DATA}",
        "cifar10-download": f"no CIFAR-10 python archive in {_cache(cache_dir)} or {_data(data_dir)}; "
                            "pass download=True (about 170 MB) or run fetch-data",
        "offline-fallback": "no bundled photographs: install scikit-image (`pip install scikit-image`)",
    }
    return DataSourceError(f"image source {source!r} is not available: {hints[source]}")


def _from_source(name: str, size: int, rng: np.random.Generator, split: str, input_size: int,
                 data_dir, cache_dir, download: bool, progress: Progress | None, first: bool = False):
    """(images in [0, 1], labels, description) from one real-image source, or None if absent."""
    kind = ("the first " if first else "") + ("training" if split == "train" else "test")
    pick = None if first else rng
    sized = "" if input_size == 32 else f", resized to {input_size}×{input_size}"
    if name == "cifar10-sample":
        path = _data(data_dir) / "cifar10_sample.npz"
        if not path.is_file():
            return None
        return (*_sample_cifar(path, size, pick, split), f"{size} CIFAR-10 {kind} images from {path.name}{sized}{_repeats(path, size, split)}")
    if name == "cifar10-download":
        path = find_cifar10(data_dir, cache_dir)
        if path is None and not download:
            return None
        path = path or download_cifar10(cache_dir, progress=progress)
        return (*_sample_cifar(path, size, pick, split), f"{size} CIFAR-10 {kind} images from {path}{sized}{_repeats(path, size, split)}")
    photos = fallback_photos()
    if not photos:
        return None
    return (*_photo_patches(photos, size, rng, input_size),
            f"{size} {input_size}×{input_size} crops of {len(photos)} photographs bundled with scikit-image "
            "(offline fallback, not CIFAR-10; labels = photo index)")


def _noise(size: int, seed: int, input_size: int, reason: str) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(size, 3, input_size, input_size, generator=generator)
    labels = torch.randint(0, 10, (size,), generator=generator)
    description = f"{size} Gaussian-noise images N(0,1), {input_size}×{input_size} (seed {seed}){reason}"
    return Batch(images, labels, "noise", description)


def load_batch(size: int, seed: int = 0, *, source: str = "auto", data_dir=None, split: str = "train",
               input_size: int = 32, download: bool = False, progress: Progress | None = None,
               cache_dir=None, order: str = "random") -> Batch:
    """`size` images chosen by `seed` from `source` ("auto" or one of `SOURCES`).

    `order="first"` takes the first `size` CIFAR-10 images in file order instead, as the
    official SWAP and NASWOT scripts do (an unshuffled data loader); other sources ignore it.

    `split` ("train"/"test") applies to CIFAR-10 sources. `input_size` resizes (bilinear,
    antialiased), e.g. 16 for ImageNet16-120 networks. An explicit source that is not
    available raises `DataSourceError`; "auto" falls through to the next one.
    `progress(label, bytes_done, bytes_total)` reports a download.
    """
    if size < 1 or input_size < 1:
        raise ValueError(f"size and input_size must be positive, got {size} and {input_size}")
    if order not in ("random", "first"):
        raise ValueError(f"order must be 'random' or 'first', got {order!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source != "auto" and source not in SOURCES:
        raise ValueError(f"unknown image source {source!r}; expected 'auto' or one of {SOURCES}")
    if source == "noise":
        return _noise(size, seed, input_size, "")
    rng = np.random.default_rng(seed)
    for name in SOURCES[:-1] if source == "auto" else (source,):
        found = _from_source(name, size, rng, split, input_size, data_dir, cache_dir, download, progress,
                             first=order == "first")
        if found is not None:
            images, labels, what = found
            note = "" if order == "first" and name.startswith("cifar10") else f" (seed {seed})"
            return Batch(_normalise(_resize(images, input_size)), labels, name, what + note)
        if source != "auto":
            raise _unavailable(name, data_dir, cache_dir)
    return _noise(size, seed, input_size, ": no real images found (run fetch-data or install scikit-image)")
