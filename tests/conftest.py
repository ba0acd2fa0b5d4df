"""Shared fixtures: the reference data directory (skip with a reason when absent)."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    value = os.environ.get("SWAP_EXPLORER_DATA")
    if not value:
        return None
    path = Path(value)
    return path if path.is_dir() else None


@pytest.fixture
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("reference data not available: set SWAP_EXPLORER_DATA to the shared data directory")
    return path


def require_file(relative: str) -> Path:
    base = shared_data_dir()
    if base is None:
        pytest.skip("reference data not available: set SWAP_EXPLORER_DATA to the shared data directory")
    path = base / relative
    if not path.exists():
        pytest.skip(f"reference file {relative} not found in {base}")
    return path
