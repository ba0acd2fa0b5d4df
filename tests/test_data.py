"""Input batches: determinism, shapes, normalisation, sources and their fallbacks."""
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from conftest import require_file
from swap_core import data
from swap_core.fetch import ChecksumError


def write_fake_cifar10_archive(path, per_batch=20):
    """A tiny archive in the official CIFAR-10 python layout with FAKE pixels (constant per
    image): it tests the reader, not a benchmark."""
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for b, name in enumerate(data.CIFAR10_BATCHES):
            pixels = np.repeat((np.arange(per_batch) + 40 * b) % 256, 3072).astype(np.uint8)
            entry = {b"batch_label": b"FAKE batch for tests", b"labels": [(i + b) % 10 for i in range(per_batch)],
                     b"data": pixels.reshape(per_batch, 3072), b"filenames": [b"fake.png"] * per_batch}
            payload = pickle.dumps(entry, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def neighbour_correlation(images: torch.Tensor) -> float:
    """Correlation of horizontally adjacent pixels: high for photographs, ~0 for noise."""
    return torch.corrcoef(torch.stack([images[..., :-1].flatten(), images[..., 1:].flatten()]))[0, 1].item()


@pytest.fixture
def no_photos(monkeypatch):
    monkeypatch.setattr(data, "fallback_photos", lambda: [])


@pytest.fixture
def sample_dir():
    return require_file("cifar10_sample.npz").parent


def test_sample_is_deterministic_by_seed(sample_dir):
    a = data.load_batch(32, seed=3, data_dir=sample_dir)
    b = data.load_batch(32, seed=3, data_dir=sample_dir)
    c = data.load_batch(32, seed=4, data_dir=sample_dir)
    assert a.source == "cifar10-sample"
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert a.description == "32 CIFAR-10 training images from cifar10_sample.npz (seed 3)"


def test_sample_shapes_labels_and_normalisation(sample_dir):
    batch = data.load_batch(512, data_dir=sample_dir)
    assert batch.images.shape == (512, 3, 32, 32) and batch.images.dtype == torch.float32
    assert batch.labels.dtype == torch.int64 and 0 <= batch.labels.min() and batch.labels.max() <= 9
    assert len(batch.labels.unique()) == 10 and batch.has_class_labels
    mean, std = batch.images.mean(dim=(0, 2, 3)), batch.images.std(dim=(0, 2, 3))
    assert mean.abs().max() < 0.15 and (std - 1).abs().max() < 0.15


def test_test_split_and_input_size(sample_dir):
    batch = data.load_batch(8, split="test", input_size=16, data_dir=sample_dir)
    assert batch.images.shape == (8, 3, 16, 16)
    assert "CIFAR-10 test images" in batch.description and "resized to 16×16" in batch.description
    full = data.load_batch(8, split="test", data_dir=sample_dir)
    assert torch.equal(full.labels, batch.labels)  # same images, only resized
    with pytest.raises(ValueError, match="split"):
        data.load_batch(8, split="valid", data_dir=sample_dir)


def test_explicit_sources_that_are_missing_raise(tmp_path, no_photos):
    for source, hint in [("cifar10-sample", "fetch-data"), ("cifar10-download", "download=True"),
                         ("offline-fallback", "scikit-image")]:
        with pytest.raises(data.DataSourceError, match=hint):
            data.load_batch(4, source=source, data_dir=tmp_path, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown image source"):
        data.load_batch(4, source="imagenet", data_dir=tmp_path)


def test_empty_dirs_fall_back_to_noise(tmp_path, no_photos):
    assert data.available_sources(tmp_path, tmp_path) == {
        "cifar10-sample": False, "cifar10-download": False, "offline-fallback": False, "noise": True}
    batch = data.load_batch(16, seed=1, data_dir=tmp_path, cache_dir=tmp_path)
    assert batch.source == "noise" and "no real images" in batch.description
    assert batch.images.shape == (16, 3, 32, 32) and batch.labels.max() < 10
    assert torch.equal(batch.images, data.load_batch(16, seed=1, source="noise").images)
    assert abs(neighbour_correlation(batch.images)) < 0.1


def test_offline_fallback_gives_real_photographs(tmp_path):
    if not data.fallback_photos():
        pytest.skip("offline fallback needs scikit-image (its bundled photographs); not installed here")
    batch = data.load_batch(64, seed=2, data_dir=tmp_path, cache_dir=tmp_path)
    assert batch.source == "offline-fallback" and "not CIFAR-10" in batch.description
    assert batch.images.shape == (64, 3, 32, 32) and not batch.has_class_labels
    assert 0 <= batch.labels.min() and batch.labels.max() < len(data.fallback_photos())
    assert neighbour_correlation(batch.images) > 0.5  # natural images are smooth; noise is not
    again = data.load_batch(64, seed=2, source="offline-fallback")
    assert torch.equal(batch.images, again.images)
    assert data.load_batch(4, source="offline-fallback", input_size=16).images.shape == (4, 3, 16, 16)


def test_cifar_archive_in_cache_dir(tmp_path, monkeypatch):
    cache, empty = tmp_path / "cache", tmp_path / "empty"
    cache.mkdir()
    archive = write_fake_cifar10_archive(cache / data.CIFAR10_ARCHIVE)
    # a foreign archive under the official name is refused before use, and left in place
    with pytest.raises(ChecksumError, match="not the published file"):
        data.load_batch(3, seed=0, source="cifar10-download", data_dir=empty, cache_dir=cache)
    assert archive.is_file()
    monkeypatch.setattr("swap_core.download.CIFAR10_SHA256", hashlib.sha256(archive.read_bytes()).hexdigest())
    assert data.available_sources(empty, cache)["cifar10-download"]
    batch = data.load_batch(30, seed=0, data_dir=empty, cache_dir=cache)
    assert batch.source == "cifar10-download" and str(cache) in batch.description
    assert batch.images.shape == (30, 3, 32, 32)
    test = data.load_batch(5, split="test", source="cifar10-download", data_dir=empty, cache_dir=cache)
    raw = test.images * torch.tensor(data.CIFAR10_STD).view(1, 3, 1, 1) + torch.tensor(data.CIFAR10_MEAN).view(
        1, 3, 1, 1)
    values = torch.round(raw[:, 0, 0, 0] * 255).long()
    assert ((values - 200) % 256 < 20).all()  # the test batch's fake pixel values, (i + 200) % 256


def test_download_with_progress_and_checksum(tmp_path):
    archive = write_fake_cifar10_archive(tmp_path / "fake-cifar.tar.gz")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    calls = []
    path = data.download_cifar10(tmp_path / "cache", url=archive.as_uri(), sha256=sha256,
                                 progress=lambda label, done, total: calls.append((label, done, total)))
    assert path == tmp_path / "cache" / data.CIFAR10_ARCHIVE and path.read_bytes() == archive.read_bytes()
    assert calls and calls[-1][1] == archive.stat().st_size
    with pytest.raises(ChecksumError, match="deleted"):
        data.download_cifar10(tmp_path / "other", url=archive.as_uri(), sha256="0" * 64)
    assert not any((tmp_path / "other").iterdir())


def test_refuses_pickles_that_are_not_cifar(tmp_path):
    evil = tmp_path / "cifar-10-batches-py"
    evil.mkdir()
    for name in data.CIFAR10_BATCHES:
        (evil / name).write_bytes(pickle.dumps({b"data": print}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="not part of a CIFAR-10 batch"):
        data.read_cifar10_batches(evil)


def test_order_first_takes_the_first_images_in_file_order():
    path = require_file("cifar10_sample.npz")
    first = data.load_batch(16, seed=5, order="first", data_dir=path.parent)
    again = data.load_batch(16, seed=9, order="first", data_dir=path.parent)
    assert torch.equal(first.images, again.images)
    with np.load(path) as arrays:
        assert torch.equal(first.labels, torch.from_numpy(arrays["train_y"][:16].astype(np.int64)))
    assert "first" in first.description
    with pytest.raises(ValueError, match="order"):
        data.load_batch(4, order="sorted")
