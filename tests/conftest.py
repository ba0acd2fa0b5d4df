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


def open_app(page: str | None = None, *, query: dict | None = None, state: dict | None = None):
    """Run app.py under Streamlit's AppTest (with link values `query` and session `state`),
    then switch to `page` (e.g. "app_pages/cell_designer.py"); fails on an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metric_values(at) -> dict[str, str]:
    """Label -> shown value of every st.metric."""
    return {m.label: str(m.value) for m in at.metric}


def counter(at, label: str = "Step") -> tuple[int, int]:
    """A live run's "k of n" metric as (k, n)."""
    done, total = metric_values(at)[label].split(" of ")
    return int(done), int(total)


def counts_while_active(at, active=("running",), runs: int = 20, label: str = "Step") -> list[int]:
    """Rerun the page while its "Status" metric is one of `active`; the `label` count now and after each run."""
    counts = [counter(at, label)[0]]
    for _ in range(runs):
        if metric_values(at)["Status"] not in active:
            break
        at.run()
        assert not at.exception, at.exception
        counts.append(counter(at, label)[0])
    return counts


def stop_after_a_run(at, start: str, stop: str, label: str = "Step") -> int:
    """Click `start`, rerun once, click `stop`: the `label` count the run was stopped at."""
    at.button(key=start).click().run()
    at.run()
    at.button(key=stop).click().run()
    assert not at.exception, at.exception
    return counter(at, label)[0]


def run_while_running(at, runs: int = 40):
    """Rerun the page while its "Status" metric says running (a live run's fragment advances once per run)."""
    for _ in range(runs):
        if metric_values(at)["Status"] != "running":
            break
        at.run()
        assert not at.exception, at.exception
    return at
