"""Shared fixtures: the reference data directory (skip with a reason when absent)."""
import os
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every test run (and every app it starts) scores into a store of its own, never the user's.
os.environ.setdefault("SWAP_EXPLORER_STORE", str(Path(tempfile.mkdtemp(prefix="swap-store-")) / "scores.sqlite"))
# AppTests share one process's `ui.live.heavy_jobs()`: a run one test leaves going must not queue the
# next test's (tests/test_runs.py checks the line itself with gates of their own)
os.environ.setdefault("SWAP_EXPLORER_HEAVY_JOBS", "16")


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


def require_browser() -> str:
    """Chromium's path for a test that drives the real app; skip, saying why, without it or without
    Python playwright."""
    import shutil

    pytest.importorskip("playwright.async_api", reason="Python playwright is not installed")
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no Chromium found (install Debian's `chromium` package or set $CHROMIUM)")
    return path


def swap_core_command(args: list[str], data_dir: Path, timeout: float):
    """`python -m swap_core ARGS` in the repository, with the reference data: the finished process."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "swap_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "SWAP_EXPLORER_DATA": str(data_dir)})


def imports_playwright(modules: str) -> bool:
    """Does importing `modules` (comma-separated) in a fresh interpreter import Playwright?"""
    import subprocess
    import sys

    code = f"import sys, {modules}; print('playwright' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def require_file(relative: str) -> Path:
    base = shared_data_dir()
    if base is None:
        pytest.skip("reference data not available: set SWAP_EXPLORER_DATA to the shared data directory")
    path = base / relative
    if not path.exists():
        pytest.skip(f"reference file {relative} not found in {base}")
    return path


_OPENED: list = []   # the apps the current test opened
_STOPPED: list = []  # the runs their pages started, stopped after each test


@pytest.fixture(autouse=True, scope="session")
def wait_for_stopped_runs():
    """At the end of the session, wait for every stopped run's worker: a worker thread still
    inside torch when the interpreter exits aborts it ("terminate called ...")."""
    yield
    for run in _STOPPED:
        run.wait(60)


@pytest.fixture(autouse=True)
def stop_page_runs(wait_for_stopped_runs):
    """After each test, stop every run its pages started (their workers end on their own)."""
    yield
    from swap_core.runs import Run

    for at in _OPENED:
        for value in at.session_state.values():
            if isinstance(value, Run):
                value.stop()
                _STOPPED.append(value)
    _OPENED.clear()


def open_app(page: str | None = None, *, query: dict | None = None, state: dict | None = None):
    """Run app.py under Streamlit's AppTest (with link values `query` and session `state`),
    then switch to `page` (e.g. "app_pages/cell_designer.py"); fails on an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    _OPENED.append(at)
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


def page_run(at, key: str):
    """The `swap_core.runs.Run` a page keeps in its session state under `key`."""
    return at.session_state[key]


def counts_while_active(at, key: str, label: str = "Step", timeout: float = 120.0, every: float = 0.3) -> list[int]:
    """Redraw the page every `every` seconds while its run (session state `key`, computed in a
    worker) is active, then once more after it ends; the `label` count after each redraw,
    from the first one after the run's first state."""
    run = page_run(at, key)
    wait_for_states(run)
    at.run()
    assert not at.exception, at.exception
    counts = [counter(at, label)[0]]
    deadline = time.monotonic() + timeout
    while run.active and time.monotonic() < deadline:
        run.wait(every)
        at.run()
        assert not at.exception, at.exception
        counts.append(counter(at, label)[0])
    assert not run.active, f"the run was still {run.status} after {timeout} s"
    at.run()
    assert not at.exception, at.exception
    counts.append(counter(at, label)[0])
    return counts


def wait_for_states(run, states: int = 1, timeout: float = 60.0) -> None:
    """Block until `run` has published `states` states (or has ended)."""
    deadline = time.monotonic() + timeout
    while run.states < states and run.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.states >= states, f"{run.name}: {run.states} states, status {run.status} {run.error}"


def stop_after_a_run(at, start: str, stop: str, key: str, label: str = "Step") -> int:
    """Click `start`, wait for the run's first state, click `stop`: the run must be 'stopped' at
    once and publish nothing more (checked 0.5 s later). Returns the `label` count shown."""
    at.button(key=start).click().run()
    assert not at.exception, at.exception
    run = page_run(at, key)
    wait_for_states(run)
    at.button(key=stop).click().run()
    assert not at.exception, at.exception
    frozen = run.states
    assert run.status == "stopped"
    time.sleep(0.5)
    assert run.states == frozen and run.status == "stopped"
    at.run()
    assert not at.exception, at.exception
    return counter(at, label)[0]


def run_while_running(at, timeout: float = 120.0, every: float = 0.2):
    """Redraw the page every `every` seconds while its "Status" metric says running (the run
    computes in a worker meanwhile), up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while metric_values(at).get("Status") in ("running", "paused") and time.monotonic() < deadline:
        time.sleep(every)
        at.run()
        assert not at.exception, at.exception
    return at


def until_scored(at, key: str, timeout: float = 300.0):
    """Wait for the scoring worker a page keeps under `{key}_run` to end, then redraw."""
    run = at.session_state[f"{key}_run"] if f"{key}_run" in at.session_state else None
    if run is not None:
        assert run.wait(timeout), f"scoring still {run.status} after {timeout} s"
        assert run.status == "done", f"scoring {run.status}: {run.error}"
    at.run()
    assert not at.exception, at.exception
    return at


RAY_TEST_ADDRESS = "SWAP_EXPLORER_TEST_RAY_ADDRESS"  # a Ray head for the tests (.ci/run starts one)


@pytest.fixture(scope="session")
def ray_address():
    """The address of a real Ray cluster for the engine tests: the head .ci/run started
    ($SWAP_EXPLORER_TEST_RAY_ADDRESS), else one started here with `ray start --head` on 127.0.0.1
    (2 CPUs) and stopped at the end of the session. $RAY_ADDRESS is left alone: the app shows its
    cluster widgets only where a test sets it. This process connects to it once (`ray.init`) and
    disconnects at the end."""
    import signal
    import socket
    import subprocess
    import sys

    os.environ.setdefault("RAY_AUTH_MODE", "token")  # before ray is imported: the head asks for its token
    pytest.importorskip("ray", reason="the ray package is not installed")
    import ray

    address, head = os.environ.get(RAY_TEST_ADDRESS), None
    if not address:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ray_cli = Path(sys.executable).with_name("ray")
        env = {**os.environ, "RAY_AUTH_MODE": "token",  # the head asks for a token, ray status sends it
               "SWAP_EXPLORER_DATA": str(Path(os.environ.get("SWAP_EXPLORER_DATA", ".")).resolve())}
        # a head in token mode needs a token: make one where this machine has none (a fresh CI machine)
        subprocess.run([str(ray_cli), "get-auth-token", "--generate"], capture_output=True, env=env, check=False)
        head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                                 f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                                 "--disable-usage-stats"], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            status = subprocess.run([str(ray_cli), "status", f"--address={address}"], capture_output=True, text=True,
                                    env=env)
            if status.returncode == 0:
                break
            if head.poll() is not None or time.monotonic() > deadline:
                try:
                    os.killpg(head.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pytest.skip(f"a Ray head could not be started on {address}: {status.stderr.strip()[-300:]}")
            time.sleep(1)
    yield address
    if ray.is_initialized():
        ray.shutdown()
    if head is not None:  # the head and the processes it started (a group of their own)
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
