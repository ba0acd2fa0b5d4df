"""End to end: the real app (`streamlit run app.py` on a free localhost port) driven in
headless Chromium through Playwright. Screenshots of every page go to
`test-artifacts/e2e/`, with the measured response times of an edit in `timings.json`.

Every live page (Search, Proxy Lab, Size Regulariser, DARTS training and its perturbation
selection, SMASH training and its ranking, the Cell Designer's "Train this cell") is started,
watched while its count moves, and stopped: Stop must take effect (the stopped state shows,
within 3 s even on a loaded CI machine) and the count must stay put for 2 s. The goal, half a
second from the click to the first DOM with the stopped state (timed in the page;
`tests/e2e_helpers.py`), is a measurement, not an assertion: timings.json keeps each page's
latency and its ratio to the goal (`per_goal`), and the page is shot at 1366×768 and 1920×1080 while running and after Stop. Then
each is started again after its Stop, at 1366×768 and at 1920×1080: the new run must start and
advance, stop again, and no exception box may appear. These timed tests get a server of their
own. Two users searching at once on one server must each get what the same search gives alone
on the command line. A sidebar page link clicked 0.1 s after load keeps the link's settings.

Every wait for a page to settle is `e2e_helpers.wait_ready` (the app's end-of-run marker and
Streamlit's script state); a test proves it times out on a script that never finishes.

Needs Debian's `chromium` (or $CHROMIUM) and the Python `playwright` package; skips with
the reason when either is missing. Never downloads a browser.
"""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT
from e2e_helpers import (READY_MARKER, SCREENS, STOP_GOAL_S, STOP_LATENCY_S, assert_frozen, click_stop_and_time, screenshots, shown,
                         shown_count, wait_ready, wait_until_advancing)

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]
PAGES = {"overview": "", "cell_designer": "cell_designer", "activation_patterns": "activation_patterns",
         "linear_regions": "linear_regions", "proxy_lab": "proxy_lab", "size_regulariser": "size_regulariser",
         "search": "search", "oneshot_darts": "oneshot_darts", "oneshot_smash": "oneshot_smash"}
EDGE_LABEL = "edge 1 ← in"  # the NB201 Cell Designer's first edge selectbox


def _record_timing(key: str, value) -> None:
    """Add `key` to test-artifacts/e2e/timings.json (keeping what other tests wrote)."""
    path = ARTIFACTS / "timings.json"
    try:
        timings = json.loads(path.read_text())
    except (OSError, ValueError):
        timings = {}
    timings[key] = value
    path.write_text(json.dumps(timings, indent=2, sort_keys=True))


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")


@contextlib.contextmanager
def _serve(log_name: str, script: str = "app.py", cwd=ROOT):
    """`streamlit run <script>` (in `cwd`) on a free localhost port: its URL while the block runs."""
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / log_name, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a script run that never yields keeps it alive
                process.kill()
                process.wait(timeout=20)


@pytest.fixture(scope="module")
def app_url():
    with _serve("streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def live_app_url():
    """A server of its own for the timed live runs: the runs other tests leave computing in
    the background (a closed tab's rank reference, say) would otherwise share its CPU."""
    with _serve("streamlit_live.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (install Debian's `chromium` package or set $CHROMIUM)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield browser
        browser.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url)
    wait_ready(page)
    return page


# A page that never finishes its script run (and one that does), for the test of `wait_ready`.
NEVER_READY = """import time
import streamlit as st

st.title("Never ready")
if st.query_params.get("hang") == "1":
    note = st.empty()
    while True:  # never ends; an element call now and then lets the server stop it on exit
        time.sleep(0.25)
        note.caption(f"still running at {time.monotonic():.2f}")
st.write("finished")
with st.container(key="__MARKER__"):  # what ui.settings.end_of_run draws last
    st.html("<span></span>")
""".replace("__MARKER__", READY_MARKER)


def test_wait_ready_fails_on_a_page_that_never_finishes(browser, tmp_path):
    """The suite's readiness wait really waits: on a script that never finishes it times out
    with a message naming the script state; on one that finishes it returns."""
    (tmp_path / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", tmp_path / ".streamlit" / "config.toml")  # toolbarMode too
    (tmp_path / "never_ready.py").write_text(NEVER_READY)
    with _serve("streamlit_never_ready.log", "never_ready.py", cwd=tmp_path) as url:
        page = browser.new_page()
        page.goto(f"{url}/?hang=0")
        wait_ready(page, timeout=60)
        assert page.get_by_text("finished").count() == 1
        page.goto(f"{url}/?hang=1")
        page.get_by_text("Never ready").wait_for(timeout=60_000)
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"was not ready after 5 s: script state 'running'.*end-of-run marker missing"):
            wait_ready(page, timeout=5)
        assert time.monotonic() - started >= 4.5
        page.close()


def _no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def _wait_changed(read, before: str, timeout_s: float = 30) -> tuple[str, float]:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        now = read()
        if now != before:
            return now, time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"value stayed {before!r} for {timeout_s} s")


def _sidebar_values(page) -> dict[str, str]:
    """What the sidebar's inputs show, by their label."""
    return page.evaluate("() => Object.fromEntries([...document.querySelectorAll("
                         "'[data-testid=\"stSidebar\"] input')].map(i => [i.getAttribute('aria-label'), i.value]))")


def test_a_page_link_clicked_right_after_load_keeps_the_links_settings(browser, app_url):
    """A sidebar page link clicked 0.1 s after the page loaded (the session's first run still
    drawing) keeps the link's network size, batch and seed, in the sidebar and in the URL: a
    widget the browser rebuilt before it had its state once showed, and sent back, its bare
    default (the `benchmark` network, batch 2)."""
    expected = {"Network size": "teaching", "Batch size": "64", "Seed": "5"}
    for attempt in range(4):
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{app_url}/?preset=teaching&batch=64&seed=5")
        page.wait_for_timeout(100)
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Search").click(timeout=60_000)
        wait_ready(page)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert "/search" in page.url, (attempt, page.url)
        assert (query["preset"], query["batch"], query["seed"]) == (["teaching"], ["64"], ["5"]), (attempt, page.url)
        shown_values = _sidebar_values(page)
        assert {label: shown_values.get(label) for label in expected} == expected, (attempt, shown_values)
        _no_exception(page)
        page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_without_exception(browser, app_url, name):
    page = _open(browser, f"{app_url}/{PAGES[name]}")
    _no_exception(page)
    # the sidebar is its own part of the page: on a loaded machine it can land a moment after the
    # main body's end-of-run marker
    page.locator('[data-testid="stSidebar"]').get_by_text("Search space").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("space", ["nb101", "tnb101_micro", "tnb101_macro"])
def test_the_cell_designer_draws_every_new_space(browser, app_url, space):
    page = _open(browser, f"{app_url}/cell_designer?space={space}&preset=teaching")
    page.locator('[data-testid="stMetric"]').filter(has_text="SWAP-Score").first.wait_for(timeout=60_000)
    wait_ready(page)
    _no_exception(page)
    assert page.locator(".js-plotly-plot").count() > 0  # the cell is drawn
    page.screenshot(path=str(ARTIFACTS / f"cell_designer_{space}.png"), full_page=True)
    page.close()


def _choose(page, label: str, option: str) -> None:
    """Open a selectbox (retrying: a click can land while the page reflows) and pick."""
    box = page.get_by_label(label, exact=True)
    for _ in range(20):
        box.click()
        if box.get_attribute("aria-expanded") == "true":
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(100)
    page.get_by_role("option", name=option, exact=True).click()


def test_edit_changes_scores_and_link_reproduces_view(browser, app_url):
    page = _open(browser, f"{app_url}/cell_designer")
    swap_before, params_before = _metric(page, "SWAP-Score"), _metric(page, "Parameters")
    _choose(page, EDGE_LABEL, "none")
    swap_after, seconds = _wait_changed(lambda: _metric(page, "SWAP-Score"), swap_before)
    assert _metric(page, "Parameters") != params_before
    assert "none~0" in page.url
    wait_ready(page)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "cell_designer_edited.png"), full_page=True)
    _record_timing("edit_to_new_swap_score_s", round(seconds, 3))

    shared = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()  # a fresh browser
    shared.goto(page.url)
    shared.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    wait_ready(shared)
    assert _metric(shared, "SWAP-Score") == swap_after
    assert shared.get_by_label(EDGE_LABEL, exact=True).input_value() == "none" or \
        shared.locator('[data-testid="stSelectbox"]').filter(has_text=EDGE_LABEL).inner_text().find("none") >= 0
    shared.context.close()
    page.close()


def _reference_done(page) -> int | None:
    """Cells of the Cell Designer's rank reference scored so far (None once complete)."""
    text = page.get_by_text("Scoring random cells to rank against").all_inner_texts()
    return int(text[0].split(":")[1].split("of")[0]) if text else None


def test_rank_reference_fills_in_the_background(browser, app_url):
    page = _open(browser, f"{app_url}/cell_designer")
    first = later = _reference_done(page)
    for _ in range(60):  # up to 30 s on a busy machine
        page.wait_for_timeout(500)
        later = _reference_done(page)
        if first is None or later is None or later > first:
            break
    assert first is None or later is None or later > first, (first, later)
    page.close()


def test_proxy_lab_scoring_stops_and_resumes(browser, app_url):
    page = _open(browser, f"{app_url}/proxy_lab")
    page.get_by_text("Scoring").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped at").first.wait_for(timeout=30_000)
    stopped = page.get_by_text("Stopped at").first.inner_text()
    page.wait_for_timeout(4000)
    assert page.get_by_text("Stopped at").first.inner_text() == stopped  # nothing scored while stopped
    page.screenshot(path=str(ARTIFACTS / "proxy_lab_stopped.png"), full_page=True)
    page.get_by_role("button", name="Resume").click()
    page.get_by_text("Scoring").first.wait_for(timeout=30_000)
    _no_exception(page)
    page.close()


def test_search_updates_live_and_stops(browser, app_url):
    page = _open(browser, f"{app_url}/search")
    budget = page.locator('[data-testid="stNumberInput"]').filter(has_text="Budget").locator("input")
    budget.fill("3000")  # far more than the test waits for: the run is still going when Stop is clicked
    budget.press("Enter")
    wait_ready(page)
    page.get_by_role("button", name="Start").click()
    page.locator('[data-testid="stMetric"]').filter(has_text="Evaluations").first.wait_for(timeout=60_000)
    read = lambda: _metric(page, "Evaluations")
    first, _ = _wait_changed(read, read(), timeout_s=60)
    second, _ = _wait_changed(read, first, timeout_s=60)  # it keeps moving without a click
    assert int(second.split(" of ")[0]) > int(first.split(" of ")[0])
    page.get_by_role("button", name="Stop").click()
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.filter(has_text="Status").filter(has_text="stopped").first.wait_for(timeout=90_000)
    wait_ready(page)
    stopped = read()
    page.wait_for_timeout(4000)
    assert read() == stopped and int(stopped.split(" of ")[0]) < 3000  # nothing evaluated after Stop
    page.screenshot(path=str(ARTIFACTS / "search_stopped.png"), full_page=True)
    _no_exception(page)
    page.close()


def test_proxy_lab_lasso_selection_opens_a_cell_in_the_designer(browser, app_url):
    page = _open(browser, f"{app_url}/proxy_lab")
    size = page.get_by_label("How many", exact=True)
    size.fill("20")
    size.press("Enter")
    page.get_by_text("Download scores (CSV)").first.wait_for(timeout=90_000)
    for _ in range(180):  # until all 20 are scored (the page redraws once more then)
        if page.get_by_text("Scoring ").count() == 0:
            break
        page.wait_for_timeout(500)
    wait_ready(page)
    page.get_by_text("Proxy vs accuracy").click()
    page.get_by_text("Spearman ρ =").first.wait_for(timeout=30_000)
    wait_ready(page)
    plot = page.locator('[data-testid="stPlotlyChart"]').first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    corners = [(0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.03)]
    page.mouse.move(area["x"] + area["width"] * 0.02, area["y"] + area["height"] * 0.02)
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(area["x"] + area["width"] * fx, area["y"] + area["height"] * fy, steps=8)
    page.mouse.up()
    button = page.get_by_role("button", name="Open in the Cell Designer").first
    button.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "proxy_lab_selection.png"), full_page=True)
    button.click()
    page.get_by_text("Or paste an architecture string").wait_for(timeout=30_000)
    wait_ready(page)
    _no_exception(page)
    assert "arch=%7C" in page.url  # a NAS-Bench-201 cell string is now the current cell
    page.close()


def test_malformed_link_gives_a_message_not_a_traceback(browser, app_url):
    broken = urllib.parse.quote("|nor_conv_3x3~0|+|bogus~0|", safe="")
    page = _open(browser, f"{app_url}/cell_designer?arch={broken}&batch=abc")
    _no_exception(page)
    text = page.locator('[data-testid="stAlert"]').all_inner_texts()
    assert any("not a valid NAS-Bench-201 cell" in t and "'|nor_conv_3x3~0|+|bogus~0|'" in t for t in text), text
    assert any("batch size must be a whole number" in t for t in text), text
    page.screenshot(path=str(ARTIFACTS / "malformed_link.png"), full_page=True)
    page.close()


# --- Stop on every live page: answers within half a second (DESIGN.md), keeps what it had --------
def _key(page, key: str):
    """The button Streamlit draws for widget `key` (not a stale copy a fragment left behind
    while the page redraws)."""
    return page.locator(f'.st-key-{key}:not([data-stale="true"]) button:visible')


def _fill(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_ready(page)


def _start(page, key: str) -> None:
    """Click the Start button `key`; the page must not show an exception."""
    _key(page, key).click()
    page.wait_for_timeout(500)
    _no_exception(page)


def _stop_and_check(page, name: str, stop_key: str, *, stopped: tuple, count: tuple[str, str],
                    scope: str = "") -> dict:
    """Screenshots of the run, Stop timed from the click to the first DOM that shows `stopped`,
    the count shown then (`count`) unchanged for 2 s, screenshots of the stopped page;
    the times are kept in timings.json under stop_latency. Returns the measurement."""
    button = _key(page, stop_key)
    screenshots(page, ARTIFACTS, f"{name}_running", focus=button)
    measured = click_stop_and_time(page, button, stopped=stopped, count=count, scope=scope)
    measured["per_goal"] = round(measured["latency_s"] / STOP_GOAL_S, 2)  # ratio to the 0.5 s goal
    _record_timing(f"stop_latency_{name}", measured)
    # the status can be drawn a moment before the last count (a fragment's redraw behind the
    # page's): the count is read once the page has settled, and must then stay where it is
    wait_ready(page)
    read = lambda: shown_count(page, count, scope)
    assert_frozen(read, read())
    kind, label = stopped[:2]
    shows = (page.locator('[data-testid="stProgress"]').filter(has_text=label) if kind == "progress" else
             page.locator('[data-testid="stMetric"]').filter(has_text=label))
    screenshots(page, ARTIFACTS, f"{name}_stopped", focus=shows)
    _no_exception(page)
    return measured


def _until_not_stopped(page, stopped: tuple, scope: str = "", timeout_s: float = 60) -> None:
    """Wait until the page no longer shows the stopped state `stopped` (a new run has started)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = shown(page, stopped[:2], scope)
        if (now is None) if stopped[2] is None else (now != stopped[2]):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{stopped} still shown {timeout_s} s after Start: the new run did not start")


def _start_again_at_each_size(page, name: str, start, stop_key: str, *, stopped: tuple, count: tuple[str, str],
                              scope: str = "") -> None:
    """After a Stop, Start again at 1366×768 and at 1920×1080 (`start()` clicks what starts the
    run): the new run must start and its count advance, Stop must stop it again (the count then
    frozen), and no exception box may appear; a screenshot of each second run."""
    read = lambda: shown_count(page, count, scope)
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        start()
        _until_not_stopped(page, stopped, scope)
        wait_until_advancing(read, timeout_s=180, steps=1)  # it moves without a click: the new run computes
        _no_exception(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}_started_again_{width}x{height}.png"))
        click_stop_and_time(page, _key(page, stop_key), stopped=stopped, count=count, scope=scope)
        wait_ready(page)  # the status can be drawn a moment before the last count: read it once settled
        assert_frozen(read, read(), seconds=1.0)
        _no_exception(page)
    page.set_viewport_size({"width": 1600, "height": 1000})


def _choose_random_swap_search(page, budget: int, seed: int = 0) -> None:
    _choose(page, "Algorithm", "Random search")
    wait_ready(page)
    _choose(page, "Objective (maximised)", "SWAP-Score")
    wait_ready(page)
    _fill(page, "Budget (evaluations)", budget)
    _fill(page, "Search seed", seed)


def test_search_stop_answers_within_half_a_second(browser, live_app_url):
    page = _open(browser, f"{live_app_url}/search?batch=16")
    _choose_random_swap_search(page, 2000)
    _start(page, "se_start")
    wait_until_advancing(lambda: shown_count(page, ("metric", "Evaluations")))
    measured = _stop_and_check(page, "search", "se_stop", stopped=("metric", "Status", "stopped"),
                               count=("metric", "Evaluations"))
    assert measured["count"] < 2000
    assert measured["latency_s"] <= STOP_LATENCY_S, measured
    _start_again_at_each_size(page, "search", lambda: _start(page, "se_start"), "se_stop",
                              stopped=("metric", "Status", "stopped"), count=("metric", "Evaluations"))
    page.close()


@pytest.mark.parametrize("name, path, key, size", [("proxy_lab", "proxy_lab", "pl_scoring", 400),
                                                    ("size_regulariser", "size_regulariser", "sr_scoring", 2000)])
def test_scoring_stop_answers_within_half_a_second(browser, live_app_url, name, path, key, size):
    page = _open(browser, f"{live_app_url}/{path}?batch=16&seed={size + 7}")  # cells no other test has scored
    _fill(page, "How many", size)
    scoring = ("progress", "Scoring")
    wait_until_advancing(lambda: shown_count(page, scoring))
    measured = _stop_and_check(page, name, f"{key}_stop", stopped=("progress", "Stopped at", None),
                               count=("progress", "Stopped at"))
    assert measured["count"] < size
    assert measured["latency_s"] <= STOP_LATENCY_S, measured
    page.close()


def test_darts_training_and_selection_stop_within_half_a_second(browser, live_app_url):
    page = _open(browser, f"{live_app_url}/oneshot_darts?batch=16")
    _fill(page, "Epochs", 30)
    _start(page, "od_start")
    step = ("metric", "Step")
    wait_until_advancing(lambda: shown_count(page, step), timeout_s=240)  # a supernet step: seconds when loaded
    training = _stop_and_check(page, "oneshot_darts", "od_stop", stopped=("metric", "Status", "stopped"), count=step)

    _start(page, "od_choose")  # a supernet stopped after a step can still choose its cells
    passes = ("progress", "Perturbation selection")
    wait_until_advancing(lambda: shown_count(page, passes), timeout_s=240)  # a validation pass: seconds when loaded
    selection = _stop_and_check(page, "oneshot_darts_selection", "od_choose_stop",
                                stopped=("progress", "Perturbation selection: stopped", None), count=passes)
    assert training["latency_s"] <= STOP_LATENCY_S and selection["latency_s"] <= STOP_LATENCY_S, (training, selection)
    _start_again_at_each_size(page, "oneshot_darts_selection", lambda: _start(page, "od_choose"), "od_choose_stop",
                              stopped=("progress", "Perturbation selection: stopped", None), count=passes)
    _start_again_at_each_size(page, "oneshot_darts", lambda: _start(page, "od_start"), "od_stop",
                              stopped=("metric", "Status", "stopped"), count=step)
    page.close()


def test_smash_training_and_ranking_stop_within_half_a_second(browser, live_app_url):
    page = _open(browser, f"{live_app_url}/oneshot_smash?batch=16")
    _fill(page, "Training steps", 5000)
    _start(page, "sm_start")
    step, status = ("metric", "Step"), ("metric", "Status", "stopped")
    wait_until_advancing(lambda: shown_count(page, step))
    training = _stop_and_check(page, "oneshot_smash", "sm_stop", stopped=status, count=step)

    _start(page, "sm_score_now")  # rank the cells with the weights the stopped training reached
    ranked = ("progress", "Scoring cell")
    wait_until_advancing(lambda: shown_count(page, ranked))
    ranking = _stop_and_check(page, "oneshot_smash_ranking", "sm_stop", stopped=status, count=ranked)
    assert ranking["count"] < 100
    assert training["latency_s"] <= STOP_LATENCY_S and ranking["latency_s"] <= STOP_LATENCY_S, (training, ranking)
    _start_again_at_each_size(page, "oneshot_smash", lambda: _start(page, "sm_start"), "sm_stop", stopped=status,
                              count=step)

    def train_then_score_now() -> None:  # "Score the cells now" while it trains ends the training there
        _start(page, "sm_start")
        _until_not_stopped(page, status)
        _key(page, "sm_score_now").wait_for(timeout=180_000)  # beside Stop once a step is trained
        _start(page, "sm_score_now")
    _start_again_at_each_size(page, "oneshot_smash_ranking", train_then_score_now, "sm_stop", stopped=status,
                              count=ranked)
    page.close()


def _search_alone(command: str, out) -> dict:
    """The page's "same search from the command line", run here: its one JSON record."""
    from swap_core import cli

    args = shlex.split(command)
    assert args[:4] == ["python", "-m", "swap_core", "search"], args
    assert cli.main(args[3:] + ["--out", str(out)]) in (0, None)
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 1, runs
    return runs[0]


def test_two_users_search_at_once_as_each_would_alone(browser, live_app_url, tmp_path):
    budget, seeds = 300, (3, 4)  # each long enough (seconds) for both to be seen running at once
    contexts = [browser.new_context(viewport={"width": 1600, "height": 1000}) for _ in seeds]
    pages = []
    for context, seed in zip(contexts, seeds):
        page = context.new_page()
        page.goto(f"{live_app_url}/search?batch=16")
        wait_ready(page)
        _choose_random_swap_search(page, budget, seed)
        pages.append(page)
    for page in pages:  # both start within a moment: their workers share the server
        _key(page, "se_start").click()
    status = '[data-testid="stMetric"]:has-text("Status") [data-testid="stMetricValue"]'
    pages[1].wait_for_selector(f'{status}:has-text("running")', timeout=60_000)
    assert shown(pages[0], ("metric", "Status")) == "running"  # the two searches run at the same time
    for page in pages:
        page.locator('[data-testid="stMetric"]').filter(has_text="Status").filter(has_text="done").first.wait_for(
            timeout=180_000)
        wait_ready(page)
        _no_exception(page)
    for page, seed in zip(pages, seeds):
        page.get_by_text("The same search from the command line").click()
        command = page.locator('[data-testid="stCode"]').first.inner_text()
        assert f"--seeds {seed}" in command and f"--budget {budget}" in command, command
        alone = _search_alone(command, tmp_path / f"seed{seed}.json")
        assert shown(page, ("metric", "Best score")) == f"{alone['score']:,.5g}", (seed, alone)
        assert shown(page, ("metric", "Evaluations")) == f"{alone['evaluations']} of {budget}", (seed, alone)
        assert alone["arch"] in [t.strip() for t in page.locator('[data-testid="stCode"]').all_inner_texts()]
        page.screenshot(path=str(ARTIFACTS / f"search_user_seed{seed}.png"), full_page=True)
    for context in contexts:
        context.close()


def test_train_this_cell_stop_answers_within_half_a_second(browser, live_app_url):
    """Last on its server: the Cell Designer also starts its rank reference, which goes on."""
    page = _open(browser, f"{live_app_url}/cell_designer?batch=16")
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="Train this cell")
    expander.locator("summary").click()
    _fill(page, "Epochs", 30)
    _start(page, "cd_train_start")
    scope, step = "Train this cell", ("metric", "Step")
    wait_until_advancing(lambda: shown_count(page, step, scope))
    measured = _stop_and_check(page, "train_this_cell", "cd_train_stop", stopped=("metric", "Status", "stopped"),
                               count=step, scope=scope)
    assert measured["latency_s"] <= STOP_LATENCY_S, measured
    _start_again_at_each_size(page, "train_this_cell", lambda: _start(page, "cd_train_start"), "cd_train_stop",
                              stopped=("metric", "Status", "stopped"), count=step, scope=scope)
    page.close()
