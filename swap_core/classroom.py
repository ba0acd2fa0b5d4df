"""`python -m swap_core bench --classroom --sessions N`: a full classroom on one server (issue
19, item 5). Starts the app on 127.0.0.1 (a free port, an empty score store of its own, so it
starts cold; the Overview is opened once first, as a lecturer does before the class) and
drives N headless Chromium sessions at once (one async loop, one browser, a context per
student), each through the Cell Designer and Activation Patterns on a cell of its own (the
link's `arch`) and a short random search for SWAP-Score on the Search page with search seed
= its number (swap_core/classroom_browser.py).

Then it computes, in this process and one at a time, what each page should have shown: the
same `Setup` as the sidebar's defaults (teaching network, batch 64, seed 0, this process's
torch thread count, which the server is given as $SWAP_EXPLORER_THREADS), `explorer.score_row`
for the Cell Designer's headline scores, `activation_views` for the pattern counts, and
`experiment.run_search` for the search; and compares them as the pages format them. It
samples the server's memory (VmRSS of the streamlit process and its children every 0.2 s,
and its VmHWM at the end) against the memory budget.

Verdicts (one line each, PASS or FAIL): every page of every session equal to its computation
alone; no page with an exception box, a "Connection error" or a browser error (a crashed
renderer, an uncaught script error: Streamlit's front end then blanks the page); every page
read within the time bound (`minutes`, from the start to the last page read; the computations
alone follow, a few seconds per session on an idle CPU); the peak memory under the budget. Figures: sessions,
pages per minute, p95 seconds to a drawn score per page (Cell Designer and Activation
Patterns: from the navigation; Search: from the Start click to the finished run), peak memory.
The command's exit status is 1 when any verdict fails. With `out`, each failed visit leaves
a screenshot and the browser's last events, and the server's log is kept, in OUT.evidence/.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import classroom_browser as pages
from .lecture_bench import BROWSER_ARGS, _finite, chromium, machine, server

PAGES = ("cell_designer", "activation_patterns", "search")
SEARCH_BUDGET = 10  # evaluations of each student's search: a few seconds on the teaching network
GIB = 2**30


# --- the memory budget and the server's memory ---------------------------------------------------
def memory_budget() -> tuple[int, str]:
    """(bytes, where it came from): `memory.budget_bytes()`, the app's own budget
    ($SWAP_EXPLORER_MEMORY_BUDGET, else half the machine's memory)."""
    from .memory import BUDGET_ENV, DEFAULT_FRACTION, budget_bytes

    named = bool(os.environ.get(BUDGET_ENV, "").strip())
    return budget_bytes(), f"${BUDGET_ENV}" if named else f"1/{DEFAULT_FRACTION} of the machine's memory"


def status_bytes(pid: int, field: str) -> int:
    """`field` (VmRSS, VmHWM) of /proc/<pid>/status in bytes (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """The process ids of `pid`'s children, their children, ... (from /proc/*/task/*/children)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as handle:
                    children = [int(c) for c in handle.read().split()]
            except OSError:
                continue
            found += children
            queue += children
    return found


class MemorySampler:
    """The resident memory of process `pid` and its descendants, sampled every `every_s` in a
    thread; `stop()` adds the process's own high-water mark (VmHWM) and returns the peak."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s, self.peak_rss, self.samples = pid, every_s, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="classroom-memory", daemon=True)

    def sample(self) -> int:
        rss = sum(status_bytes(p, "VmRSS") for p in [self.pid, *descendants(self.pid)])
        self.peak_rss, self.samples = max(self.peak_rss, rss), self.samples + 1
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()

    def start(self) -> "MemorySampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self.sample()
        hwm = status_bytes(self.pid, "VmHWM")
        return {"peak_bytes": max(self.peak_rss, hwm), "sampled_rss_bytes": self.peak_rss, "vmhwm_bytes": hwm,
                "samples": self.samples}


# --- what each page should show -------------------------------------------------------------------
def session_cells(sessions: int) -> list[str]:
    """A different NB201 cell per session (1..N), the same on every run."""
    from .spaces import get_space

    space, cells = get_space("nb201"), []
    draw = random.Random("classroom")
    while len(cells) < sessions:
        cell = space.sample(draw).to_str()
        if cell not in cells:
            cells.append(cell)
    return cells


def classroom_setup(threads: int):
    """The sidebar's default Setup (the app's DEFAULTS: NB201 teaching network, auto images,
    batch 64, seed 0, auto device) on a server with `threads` torch threads."""
    from .setup import Setup

    return Setup(space="nb201", preset="teaching", images="auto", batch=64, seed=0, device="auto", threads=threads)


def alone(setup, arch: str, session: int, budget: int) -> dict[str, dict[str, str]]:
    """What each page shows for `arch` (search seed `session`), computed here alone and
    formatted as the pages format it."""
    from . import activation_views as views, explorer
    from .proxies import get_proxy
    from .search.experiment import SearchSetup, run_search

    row = explorer.score_row(setup, arch, ["swap", "reg_swap", "naswot"])
    designer = {get_proxy(n).display_name: f"{row[n]:,.1f}" for n in ("swap", "reg_swap", "naswot")}
    matrix = views.activation_matrix(views.build_network(setup, arch, "gaussian"),
                                     setup.inputs().images.to(setup.device), 200, setup.seed)
    activation = {"Units U": f"{matrix.total_units:,}", "Samples N": str(matrix.samples),
                  "Distinct standard patterns": f"{matrix.standard_distinct:,}",
                  "Distinct sample-wise patterns": f"{matrix.sample_wise_distinct:,}"}
    found = explorer.accuracy_table(setup.space, setup.dataset)
    search_setup = SearchSetup.from_setup(setup.replace(batch=None), objective="swap", size_network="benchmark",
                                          truth=dict(found[1]) if found else {}, options={})
    record = run_search(search_setup, "random", budget, session)
    search = {"Best score": f"{record['score']:,.5g}", "Evaluations": f"{record['evaluations']} of {budget}",
              "best cell": record["arch"]}
    return {"cell_designer": designer, "activation_patterns": activation, "search": search}


def differences(shown: dict[str, str], expected: dict[str, str]) -> list[str]:
    """"label: page X, alone Y" for every value the page showed otherwise than alone."""
    return [f"{label}: page {shown.get(label)!r}, alone {value!r}" for label, value in expected.items()
            if shown.get(label) != value]


# --- the verdicts and figures -----------------------------------------------------------------------
def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of `values` (NaN when there are none)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] if ordered else math.nan


def _result(name: str, passed: bool, text: str) -> dict:
    return {"name": name, "pass": passed, "line": f"{name}: {text}, {'PASS' if passed else 'FAIL'}"}


def verdicts(students: list[dict], expected: dict[int, dict], memory: dict, budget: int, minutes: float) -> list[dict]:
    """Per session and page: equal to alone; then no exception, every page read, memory."""
    results, visits = [], [(s["session"], v) for s in students for v in s["visits"]]
    for session, visit in visits:
        name = f"session {session} {visit['page']}"
        if visit["error"]:
            results.append(_result(name, False, f"not read: {visit['error']}"))
            continue
        wanted = expected[session][visit["page"]]
        wrong = differences(visit["shown"], wanted)
        text = f"{len(wanted) - len(wrong)} of {len(wanted)} values as computed alone"
        results.append(_result(name, not wrong, text + (f" ({'; '.join(wrong)})" if wrong else "")))
    broken = [v for _, v in visits if v.get("browser_errors") or v["error"] and (
        "shows an exception" in v["error"] or "Connection error" in v["error"])]
    results.append(_result("pages with an exception, a browser error or 'Connection error'", not broken,
                           f"{len(broken)} of {len(visits)}" + "".join(
                               f"; {error.split(' s ', 1)[-1][:160]}" for v in broken[:2]
                               for error in v.get("browser_errors", [])[:1])))
    read = sum(not v["error"] for _, v in visits)
    wanted = len(students) * len(PAGES)
    results.append(_result("pages read", read == wanted, f"{read} of {wanted} within {minutes:g} min"))
    peak = memory["peak_bytes"]
    results.append(_result("peak memory", peak <= budget, f"measured {peak / GIB:.3f} GiB, budget "
                           f"{budget / GIB:.3f} GiB, ratio {peak / budget:.2f}"))
    return results


def figures(students: list[dict], seconds: float, memory: dict) -> dict:
    """Sessions, pages read per minute, p95 seconds to a drawn score per page, peak memory."""
    visits = [v for s in students for v in s["visits"] if not v["error"]]
    return {"sessions": len(students), "pages_read": len(visits), "seconds": round(seconds, 1),
            "pages_per_minute": round(len(visits) / (seconds / 60), 2) if seconds > 0 else math.nan,
            "p95_score_s": {p: p95([v["score_s"] for v in visits if v["page"] == p]) for p in PAGES},
            "peak_memory_gib": round(memory["peak_bytes"] / GIB, 3)}


# --- the run --------------------------------------------------------------------------------------
def evidence_folder(out: str | Path | None) -> Path | None:
    """Where a run reported to `out` keeps its evidence (OUT's name + '.evidence'), emptied of an
    earlier run's; None without `out`."""
    if not out:
        return None
    folder = Path(out).with_name(Path(out).name + ".evidence")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def keep_evidence(folder: Path, server_log: Path, students: list[dict]) -> list[str]:
    """With a failed visit (or one the browser broke after it was read): the server's log copied
    into `folder` (the screenshots are there already); without one, the empty folder removed.
    The files kept."""
    if not any(visit.get("error") or visit.get("browser_errors")
               for student in students for visit in student["visits"]):
        shutil.rmtree(folder, ignore_errors=True)
        return []
    if server_log.exists():
        shutil.copyfile(server_log, folder / "server.log")
    return sorted(str(path) for path in folder.iterdir())


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


async def drive(url: str, cells: list[str], budget: int, deadline: float, evidence: Path | None = None) -> list[dict]:
    """Every student at once against `url` (after one visit of the Overview); failed visits'
    screenshots go to the folder `evidence` when given."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as error:
        raise RuntimeError("bench --classroom needs the Python `playwright` package (pip install playwright; "
                           "never `playwright install`: the browser is Debian's chromium)") from error
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        except Exception as error:  # playwright's own Error: say it in one line
            raise RuntimeError(f"Chromium did not start: {_first_line(error)}") from error
        try:
            try:
                warm = await browser.new_context()
                page = await warm.new_page()
                await page.goto(url, timeout=pages.ms_left(deadline))
                await pages.ready(page, deadline)
                await warm.close()
            except Exception as error:
                raise RuntimeError(f"the app's Overview did not open: {_first_line(error)}") from error
            students = await asyncio.gather(*(pages.student(browser, url, k, arch, budget, deadline, evidence)
                                              for k, arch in enumerate(cells, 1)), return_exceptions=True)
        finally:
            await browser.close()
    return [student if isinstance(student, dict) else  # a context that failed outside its visits
            {"session": k, "arch": arch, "visits": [{"page": p, "error": f"{type(student).__name__}: {student}"}
                                                    for p in PAGES]}
            for k, (arch, student) in enumerate(zip(cells, students), 1)]


def _print(report: dict, log: Callable[[str], None]) -> None:
    """The figures, one line per verdict and the summary."""
    shown, results = report["figures"], report["results"]
    log("")
    log(f"sessions: {shown['sessions']}; pages read: {shown['pages_read']} in {shown['seconds']:g} s, "
        f"{shown['pages_per_minute']:g} pages per minute")
    log("p95 time to a drawn score: " + ", ".join(f"{p} {s:.2f} s" if math.isfinite(s) else f"{p} none read"
                                                  for p, s in shown["p95_score_s"].items())
        + " (search: Start -> finished)")
    log(f"peak memory of the server: {shown['peak_memory_gib']:.3f} GiB")
    for result in results:
        log(result["line"])
    failed = sum(not r["pass"] for r in results)
    log(f"classroom: {len(results) - failed} of {len(results)} PASS, {failed} FAIL "
        f"({report['sessions']} session(s))")


def run_classroom_bench(sessions: int = 10, minutes: float = 10.0, *, budget: int = SEARCH_BUDGET,
                        out: str | Path | None = None, log: Callable[[str], None] | None = print) -> dict:
    """The classroom load test (module docstring): prints figures and one verdict line each,
    writes the report as JSON to `out`; returns the report (`pass`: every verdict passed)."""
    import torch

    from .reproducible import THREADS_ENV, fix_threads, threads_from_environment

    from .limits import check

    log = log or (lambda _line: None)
    if sessions < 1 or not (math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"--sessions must be at least 1 and --minutes a number above 0, got {sessions} and "
                         f"{minutes}")
    check("sessions", sessions, "--sessions")  # the app's limits: one table with the reasons
    check("minutes", minutes, "--minutes")
    deadline = time.monotonic() + minutes * 60
    threads = fix_threads(threads_from_environment() or torch.get_num_threads())
    budget_bytes, budget_from = memory_budget()
    cells = session_cells(sessions)
    report: dict = {"machine": machine(), "sessions": sessions, "minutes": minutes, "search_budget": budget,
                    "memory_budget_bytes": budget_bytes, "memory_budget_from": budget_from, "cells": cells}
    log(f"machine: {report['machine']['cpus']} cores, {threads} torch threads, load "
        f"{report['machine']['load_average']}; memory budget {budget_bytes / GIB:.2f} GiB ({budget_from})")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swap-classroom-") as folder, \
            server(Path(folder), {THREADS_ENV: str(threads)}) as (url, process):
        log(f"server up in {time.monotonic() - began:.0f} s; {sessions} session(s) on {url}, a cold store, "
            f"at most {minutes:g} min in all...")
        sampler, start = MemorySampler(process.pid).start(), time.monotonic()
        evidence = evidence_folder(out)
        try:
            students = asyncio.run(drive(url, cells, budget, deadline, evidence))
        finally:
            seconds, memory = time.monotonic() - start, sampler.stop()
        if evidence is not None:  # (the server's log lives in the temporary folder)
            report["evidence"] = keep_evidence(evidence, Path(folder) / "streamlit.log", students)
        log(f"browsers done in {seconds:.0f} s; stopping the server...")
    if report.get("evidence"):
        log(f"failed visits' screenshots and the server's log: {evidence}")
    began = time.monotonic()
    setup = classroom_setup(threads)
    expected = {k: alone(setup, arch, k, budget) for k, arch in enumerate(cells, 1)}
    log(f"the same computations alone in {time.monotonic() - began:.0f} s")
    results = verdicts(students, expected, memory, budget_bytes, minutes)
    report.update(students=students, expected=expected, memory=memory, figures=figures(students, seconds, memory),
                  results=results, **{"pass": all(r["pass"] for r in results)})
    _print(report, log)
    if out:
        Path(out).write_text(json.dumps(_finite(report), indent=2, default=str) + "\n")
    return report
