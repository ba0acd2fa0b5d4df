"""`python -m swap_core bench --lecture`: the live budgets of a lecture (issue 18, item 2),
measured through the real app in Chromium and printed against their budgets.

Each page is measured on a server of its own (`streamlit run app.py`, headless, on a free
port) with a fresh, empty score store (`SWAP_EXPLORER_STORE` in a temporary folder), warmed
by opening the Overview once, on the app's default teaching network:

- Cell Designer edits through the "Edit the cell" drop-downs, while the background "rank
  among random cells" fill runs (cold store), then again once it has finished. Timed inside
  the page, from the option click's event time to the first DOM observation (a
  MutationObserver backed by a 20 ms poll, as tests/e2e_helpers.py times Stop) that shows
  the new architecture string with a fresh (not stale) drawing, size and headline metrics;
  and, for every fast proxy, a fresh caption starting "Scored on" with no "Scoring this
  cell's other proxies" left.
- Proxy Lab and Size Regulariser: navigation start -> their first Plotly chart drawn.
- Search: `bench.run_live_bench`'s app/command-line rate, as seconds per evaluation.

With `sessions` > 1 every page is driven by that many browser contexts at once against one
server, each checked against 2x the budgets (per session, then the worst). Playwright is
imported lazily, in `measure_pages`, so that `swap_core` imports without it; Chromium is
Debian's (`$CHROMIUM` or `chromium` on PATH), never a downloaded browser. The in-page timing
lives in `lecture_browser`. The exit status is 0 whether or not a budget passes.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import lecture_browser

ROOT = Path(__file__).resolve().parents[1]
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]
# Budget name -> (seconds, what it means): issue 18, item 2.
BUDGETS = {"edit_headline": (0.5, "Cell Designer edit -> new drawing, size and headline scores"),
           "edit_fast_proxies": (2.0, "Cell Designer edit -> every fast proxy scored"),
           "proxy_lab_first_view": (5.0, "Proxy Lab open -> first chart"),
           "size_regulariser_first_view": (5.0, "Size Regulariser open -> first chart")}
SEARCH_RATE_GOAL = 0.8  # the Search page's evaluations per second / the command line's (bench --live)
FIRST_VIEW_PAGES = {"proxy_lab": "proxy_lab", "size_regulariser": "size_regulariser"}  # part -> URL path
PARTS = ("designer", "proxy_lab", "size_regulariser", "search")
_LINE = re.compile(r"^(?P<name>.+?): measured (?P<measured>[\d.]+|>[\d.]+) s, budget (?P<budget>[\d.]+) s, "
                   r"ratio (?P<ratio>[\d.]+|inf), (?P<verdict>PASS|FAIL)")


def verdict(name: str, measured: float, budget: float, note: str = "") -> dict:
    """One budget's result: `measured` seconds against `budget` seconds (inf: never shown)."""
    ratio = measured / budget
    return {"name": name, "measured_s": measured, "budget_s": budget, "ratio": ratio, "pass": ratio <= 1.0,
            "note": note}


def format_verdict(result: dict) -> str:
    """`name: measured X s, budget Y s, ratio R, PASS|FAIL` (and the note in brackets)."""
    measured = result["measured_s"]
    shown = f">{result.get('waited_s', 0):.3f}" if measured == float("inf") else f"{measured:.3f}"
    line = (f"{result['name']}: measured {shown} s, budget {result['budget_s']:.3f} s, ratio {result['ratio']:.2f}, "
            f"{'PASS' if result['pass'] else 'FAIL'}")
    return line + (f"  ({result['note']})" if result.get("note") else "")


def parse_verdict(line: str) -> dict | None:
    """The fields of a line printed by `format_verdict` (None for any other line)."""
    found = _LINE.match(line.strip())
    if not found:
        return None
    return {"name": found["name"], "measured": found["measured"], "budget_s": float(found["budget"]),
            "ratio": float(found["ratio"]), "pass": found["verdict"] == "PASS"}


def summarise_edits(edits: list[dict], prefix: str, factor: float, note: str = "") -> list[dict]:
    """Median and max verdicts of a list of edit timings against `factor` x the budgets."""
    results = []
    for key, budget in (("headline_s", "edit_headline"), ("proxies_s", "edit_fast_proxies")):
        times = [e[key] for e in edits]
        for stat, value in (("median", statistics.median(times)), ("max", max(times))):
            results.append(verdict(f"{prefix}{budget} ({stat} of {len(times)})", value,
                                   BUDGETS[budget][0] * factor, note))
    return results


def machine() -> dict:
    """What the numbers were taken on (the server inherits this process's environment)."""
    import torch

    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


# --- the server ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-600:]
            raise RuntimeError(f"streamlit exited with code {process.returncode}: {tail}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`streamlit run app.py` with an empty score store in `folder`: its URL while the block runs."""
    with server(folder) as (url, _process):
        yield url


@contextlib.contextmanager
def server(folder: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`serve`, with more environment variables `env`: (its URL, its process) while the block runs."""
    if not (ROOT / "app.py").exists():
        raise FileNotFoundError(f"bench --lecture needs the app: no app.py in {ROOT}")
    port, log = _free_port(), folder / "streamlit.log"
    env = {**os.environ, **(env or {}), "SWAP_EXPLORER_STORE": str(folder / "scores.sqlite")}
    if env.get("SWAP_EXPLORER_DATA"):  # the server runs in the repository: a relative path stays this one
        env["SWAP_EXPLORER_DATA"] = str(Path(env["SWAP_EXPLORER_DATA"]).resolve())
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, log)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def chromium() -> str:
    """Debian's Chromium: `$CHROMIUM`, else `chromium` on PATH (never a downloaded browser)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise FileNotFoundError("bench --lecture needs Chromium: install Debian's `chromium` or set $CHROMIUM")
    return path



# --- the measurements -------------------------------------------------------------------------------
async def _part(browser, url: str, part: str, sessions: int, edits: int, idle_wait_s: float,
                timeout_s: float) -> list:
    """Every session of one part at once against `url` (warmed by opening the Overview)."""
    warm = await browser.new_context()
    page = await warm.new_page()
    await page.goto(url, timeout=timeout_s * 1000)
    await page.locator("h1").first.wait_for(timeout=timeout_s * 1000)
    await warm.close()
    if part == "designer":
        jobs = [lecture_browser.designer_session(browser, url, s, edits, idle_wait_s, timeout_s)
                for s in range(sessions)]
    else:
        jobs = [lecture_browser.first_view_session(browser, url, FIRST_VIEW_PAGES[part], timeout_s)
                for _ in range(sessions)]
    return list(await asyncio.gather(*jobs))


async def measure_pages(parts: Iterable[str], sessions: int, edits: int, idle_wait_s: float, timeout_s: float,
                        log: Callable[[str], None]) -> dict:
    """Each browser part on a server of its own with an empty store: {part: per-session results}."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as error:
        raise RuntimeError("bench --lecture needs the Python `playwright` package (pip install playwright; "
                           "never `playwright install`: the browser is Debian's chromium)") from error
    pages: dict[str, object] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        pages["chromium"] = browser.version
        for part in parts:
            log(f"{part}: a fresh server and store, {sessions} session(s)...")
            start = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="swap-lecture-") as folder, serve(Path(folder)) as url:
                pages[part] = await _part(browser, url, part, sessions, edits, idle_wait_s, timeout_s)
            log(f"{part}: measured in {time.monotonic() - start:.0f} s")
        await browser.close()
    return pages


def page_verdicts(pages: dict, sessions: int, timeout_s: float) -> list[dict]:
    """Verdicts of every session's edits and first views against the budgets (2x with sessions > 1)."""
    factor, results = (2.0 if sessions > 1 else 1.0), []
    for session in pages.get("designer", []):
        prefix = f"session {session['session']} " if sessions > 1 else ""
        running = sum(bool(e["fill_running"]) for e in session["busy"])
        results += summarise_edits(session["busy"], f"{prefix}fill running ", factor,
                                   f"the fill was running at {running} of {len(session['busy'])} clicks")
        if session["idle"]:
            note = "fill finished" if session["fill_finished"] else "the fill had not finished: not a clean comparison"
            results += summarise_edits(session["idle"], f"{prefix}fill over ", factor, note)
    for part in FIRST_VIEW_PAGES:
        for number, seconds in enumerate(pages.get(part, []), 1):
            name = f"{'session %d ' % number if sessions > 1 else ''}{part}_first_view"
            result = verdict(name, math.inf if seconds is None else seconds, BUDGETS[f"{part}_first_view"][0] * factor,
                             "no chart drawn" if seconds is None else "")
            results.append({**result, "waited_s": timeout_s} if seconds is None else result)
    return results


def worst(results: list[dict]) -> list[dict]:
    """The worst session's verdict of each budget line (names without their "session k ")."""
    groups: dict[str, dict] = {}
    for result in results:
        key = re.sub(r"^session \d+ ", "", result["name"])
        if key not in groups or result["ratio"] > groups[key]["ratio"]:
            groups[key] = result
    return [{**result, "name": f"worst session: {key}"} for key, result in groups.items()]


def search_verdict(record: dict) -> dict:
    """`bench --live`'s rates as seconds per evaluation: the app's against the command line's / 0.8."""
    command, app = record["command_rate"], record["app_rate"]
    return verdict("search_evaluation", 1 / app, 1 / (SEARCH_RATE_GOAL * command),
                   f"app {app:.1f}/s, command line {command:.1f}/s: {app / command:.2f} x, goal >= {SEARCH_RATE_GOAL}")


def _finite(value):
    """`value` with every infinite float as None (JSON has no infinity)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and math.isinf(value) else value


def run_lecture_bench(sessions: int = 1, edits: int = 5, *, idle_wait_s: float = 300, timeout_s: float = 120,
                      parts: Iterable[str] = PARTS, live_evaluations: int = 300, out: str | Path | None = None,
                      log: Callable[[str], None] | None = print) -> dict:
    """Measure the lecture's live budgets (module docstring), print one line per budget and a
    summary, write the whole report as JSON to `out`; returns the report."""
    log, parts = log or (lambda _line: None), list(parts)
    if sessions < 1 or edits < 1:
        raise ValueError(f"--sessions and --edits must be at least 1, got {sessions} and {edits}")
    if unknown := sorted(set(parts) - set(PARTS)):
        raise ValueError(f"unknown lecture parts {unknown}; expected some of {list(PARTS)}")
    report: dict = {"machine": machine(), "sessions": sessions, "budget_factor": 2.0 if sessions > 1 else 1.0,
                    "parts": parts, "edits": edits}
    log(f"machine: {report['machine']['cpus']} cores, {report['machine']['torch_threads']} torch threads, load "
        f"{report['machine']['load_average']} (shared machines make these numbers indicative)")
    browser_parts = [p for p in parts if p != "search"]
    report["pages"] = asyncio.run(measure_pages(browser_parts, sessions, edits, idle_wait_s, timeout_s, log)) \
        if browser_parts else {}
    results = page_verdicts(report["pages"], sessions, timeout_s)
    if "search" in parts:
        from .bench import run_live_bench

        report["search"] = run_live_bench(live_evaluations, log=log)
        results.append(search_verdict(report["search"]))
    results += worst(results) if sessions > 1 else []
    report["results"], report["machine"]["load_average_end"] = results, os.getloadavg()
    log("")
    for result in results:
        log(format_verdict(result))
    failed = [r["name"] for r in results if not r["pass"]]
    log(f"lecture budgets: {len(results) - len(failed)} of {len(results)} PASS, {len(failed)} FAIL "
        f"({sessions} session(s), budgets x{report['budget_factor']:g})")
    if out:
        Path(out).write_text(json.dumps(_finite(report), indent=2) + "\n")
    return report
