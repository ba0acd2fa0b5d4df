"""`python -m swap_core bench --classroom` (swap_core/classroom.py): the memory budget and the
server's memory as sampled, the students' cells, the verdicts a mismatch, an exception or too
much memory give; and, marked slow, the fast variant of the load test through the real app in
Chromium with 3 students (skips when Chromium, Playwright or the reference data is missing)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, imports_playwright, require_browser, swap_core_command
from swap_core import classroom as cr
from swap_core.cli import build_parser
from swap_core.spaces import get_space


def test_the_budget_is_the_apps_setting_else_half_the_memory(monkeypatch):
    from swap_core import memory

    monkeypatch.setenv(memory.BUDGET_ENV, "3G")
    assert cr.memory_budget() == (3 * 2**30, "$SWAP_EXPLORER_MEMORY_BUDGET")
    monkeypatch.delenv(memory.BUDGET_ENV)
    budget, origin = cr.memory_budget()
    assert origin == "1/2 of the machine's memory" and budget == memory.machine_memory() // 2 > 2**27
    monkeypatch.setenv(memory.BUDGET_ENV, "four gigabytes")
    with pytest.raises(ValueError, match="is not a memory size"):
        cr.memory_budget()


def test_the_sampler_counts_the_children_too():
    code = "import sys, time; block = bytearray(150 * 2**20); sys.stdout.write('ready\\n'); sys.stdout.flush(); " \
           "time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert child.pid in cr.descendants(os.getpid())
        sampler = cr.MemorySampler(os.getpid(), every_s=0.05).start()
        time.sleep(0.2)
        alone = cr.status_bytes(os.getpid(), "VmRSS")
        memory = sampler.stop()
        assert memory["samples"] >= 3
        assert memory["sampled_rss_bytes"] >= alone + 140 * 2**20  # the child's 150 MB block is counted
        assert memory["peak_bytes"] >= memory["vmhwm_bytes"] > 0
    finally:
        child.kill()
        child.wait()
    assert cr.status_bytes(child.pid, "VmRSS") == 0  # a process that is gone counts nothing


def test_each_student_gets_a_cell_of_their_own_the_same_every_run():
    cells = cr.session_cells(10)
    assert len(set(cells)) == 10 and cells == cr.session_cells(10) and cells[:3] == cr.session_cells(3)
    space = get_space("nb201")
    assert all(space.from_str(cell).to_str() == cell for cell in cells)


def test_an_exception_box_reads_as_one_line():
    from swap_core.classroom_browser import exception_summary

    box = ("AttributeError: 'AnyRun' object has no attribute 'queue_note'Traceback:File \"/app/ui/live.py\", "
           "line 85, in fragment\n    note = run.queue_note()\nFile \"/app/ui/x.py\", line 9, in f\nCopyAsk Google")
    assert exception_summary(box) == ("AttributeError: 'AnyRun' object has no attribute 'queue_note' "
                                      "(at /app/ui/x.py, line 9)")
    assert exception_summary("ValueError:  bad\n value") == "ValueError: bad value"


def test_p95_is_the_nearest_rank():
    assert cr.p95([float(k) for k in range(1, 21)]) == 19.0
    assert cr.p95([3.0]) == 3.0 and cr.p95([2.0, 1.0]) == 2.0
    assert math.isnan(cr.p95([]))


def _visit(page, shown=None, error=None, score_s=1.0):
    return {"page": page, "shown": shown or {}, "score_s": score_s, "seconds": score_s, "error": error}


def test_verdicts_fail_on_a_number_that_differs_from_alone_an_exception_or_memory():
    expected = {1: {"cell_designer": {"SWAP-Score": "48,560.0"}, "activation_patterns": {"Samples N": "64"},
                    "search": {"Best score": "27,667"}},
                2: {"cell_designer": {"SWAP-Score": "40,000.0"}, "activation_patterns": {"Samples N": "64"},
                    "search": {"Best score": "30,000"}}}
    students = [{"session": 1, "visits": [_visit("cell_designer", {"SWAP-Score": "48,560.0"}),
                                          _visit("activation_patterns", {"Samples N": "64"}),
                                          _visit("search", {"Best score": "27,667"}, score_s=9.0)]},
                {"session": 2, "visits": [_visit("cell_designer", {"SWAP-Score": "48,743.0"}),
                                          _visit("activation_patterns", error="PageFailed: x shows an exception: E"),
                                          _visit("search", {"Best score": "30,000"}, score_s=5.0)]}]
    memory = {"peak_bytes": 3 * 2**30}
    results = {r["name"]: r for r in cr.verdicts(students, expected, memory, 2 * 2**30, 5)}
    assert results["session 1 cell_designer"]["pass"] and results["session 2 search"]["pass"]
    wrong = results["session 2 cell_designer"]
    assert not wrong["pass"] and wrong["line"] == ("session 2 cell_designer: 0 of 1 values as computed alone "
                                                   "(SWAP-Score: page '48,743.0', alone '40,000.0'), FAIL")
    assert not results["session 2 activation_patterns"]["pass"]
    assert results["pages with an exception, a browser error or 'Connection error'"]["line"].endswith(
        "1 of 6, FAIL")
    assert results["pages read"]["line"] == "pages read: 5 of 6 within 5 min, FAIL"
    assert results["peak memory"]["line"] == ("peak memory: measured 3.000 GiB, budget 2.000 GiB, ratio 1.50, "
                                              "FAIL")
    shown = cr.figures(students, 60.0, memory)
    assert shown["pages_read"] == 5 and shown["pages_per_minute"] == 5.0
    assert shown["p95_score_s"] == {"cell_designer": 1.0, "activation_patterns": 1.0, "search": 9.0}
    everything_right = [{"session": 1, "visits": students[0]["visits"]}]
    assert all(r["pass"] for r in cr.verdicts(everything_right, expected, {"peak_bytes": 2**30}, 2 * 2**30, 5))
    # a page read in full that the browser then blanked (an uncaught error in Streamlit's front end)
    blanked = [{"session": 1, "visits": [*students[0]["visits"][:2], {
        **students[0]["visits"][2], "browser_errors": ["  132.9 s uncaught error: Bad delta path index 3"]}]}]
    line = {r["name"]: r for r in cr.verdicts(blanked, expected, {"peak_bytes": 2**30}, 2 * 2**30, 5)}[
        "pages with an exception, a browser error or 'Connection error'"]["line"]
    assert line == ("pages with an exception, a browser error or 'Connection error': 1 of 3; uncaught error: "
                    "Bad delta path index 3, FAIL")


def test_browser_errors_are_crashes_and_uncaught_errors_only():
    from swap_core.classroom_browser import browser_errors

    events = ["    1.0 s navigated to http://x/search", "   10.1 s console error: Failed to load resource: 404",
              "  132.9 s uncaught error: Bad delta path index 3", "  140.0 s the page crashed"]
    assert browser_errors(events) == events[2:]


def test_evidence_is_kept_only_for_a_run_with_a_failed_visit(tmp_path):
    log = tmp_path / "streamlit.log"
    log.write_text("server log\n")
    folder = cr.evidence_folder(tmp_path / "c.json")
    assert folder == tmp_path / "c.json.evidence" and folder.is_dir()
    (folder / "session2_search.png").write_bytes(b"png")
    failed = [{"session": 2, "visits": [_visit("search", error="PageFailed: x")]}]
    assert cr.keep_evidence(folder, log, failed) == [str(folder / "server.log"), str(folder / "session2_search.png")]
    assert (folder / "server.log").read_text() == "server log\n"
    assert cr.evidence_folder(tmp_path / "c.json") == folder and not any(folder.iterdir())  # an earlier run's goes
    blanked = [{"session": 1, "visits": [{**_visit("search"), "browser_errors": ["1.0 s uncaught error: x"]}]}]
    assert cr.keep_evidence(folder, log, blanked) == [str(folder / "server.log")]
    cr.evidence_folder(tmp_path / "c.json")
    assert cr.keep_evidence(folder, log, [{"session": 1, "visits": [_visit("search")]}]) == []
    assert not folder.exists() and cr.evidence_folder(None) is None


def test_cli_wiring_and_bounds():
    args = build_parser().parse_args(["bench", "--classroom", "--sessions", "10", "--minutes", "8", "--out", "c.json"])
    assert (args.classroom, args.sessions, args.minutes, args.out) == (True, 10, 8.0, "c.json")
    assert build_parser().parse_args(["bench", "--classroom"]).minutes == 10
    from swap_core.limits import maximum

    with pytest.raises(ValueError, match=rf"--sessions: at most {maximum('sessions')} \(browser sessions"):
        cr.run_classroom_bench(sessions=maximum("sessions") + 1, log=None)
    with pytest.raises(ValueError, match=rf"--minutes: at most {maximum('minutes')} "):
        cr.run_classroom_bench(sessions=1, minutes=maximum("minutes") + 1, log=None)
    for sessions, minutes in ((0, 1.0), (1, math.inf), (1, math.nan), (1, 0.0)):
        with pytest.raises(ValueError, match="--sessions must be at least 1 and --minutes a number above 0"):
            cr.run_classroom_bench(sessions=sessions, minutes=minutes, log=None)


def test_the_command_exits_1_on_a_failed_verdict(monkeypatch):
    from swap_core import cli

    calls = []
    monkeypatch.setattr(cr, "run_classroom_bench", lambda *a, **k: calls.append((a, k)) or {"pass": False})
    assert cli.main(["bench", "--classroom", "--sessions", "2", "--minutes", "3"]) == 1
    monkeypatch.setattr(cr, "run_classroom_bench", lambda *a, **k: calls.append((a, k)) or {"pass": True})
    assert cli.main(["bench", "--classroom", "--sessions", "2", "--minutes", "3"]) == 0
    assert calls[0] == ((2, 3.0), {"out": None})


@pytest.mark.slow  # starts the server (10-15 s on a loaded 2-core machine)
def test_a_browser_that_does_not_start_is_one_line_and_exit_1(tmp_path):
    pytest.importorskip("playwright.async_api", reason="Python playwright is not installed")
    done = subprocess.run([sys.executable, "-m", "swap_core", "bench", "--classroom", "--sessions", "1",
                           "--minutes", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CHROMIUM": "/bin/false"})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "error: Chromium did not start:" in done.stderr


def test_swap_core_classroom_imports_without_playwright():
    assert not imports_playwright("swap_core.classroom")


@pytest.mark.slow
def test_three_students_at_once_see_what_each_computation_gives_alone(data_dir, tmp_path):
    """The fast variant of the classroom load test: 3 sessions through the real app."""
    require_browser()
    out = tmp_path / "classroom.json"
    done = swap_core_command(["bench", "--classroom", "--sessions", "3", "--minutes", "4", "--out", str(out)],
                             data_dir, timeout=330)
    output = done.stdout + done.stderr
    assert "Traceback" not in done.stderr, output[-3000:]  # the command itself never crashes
    report = json.loads(out.read_text())
    failed = [r["line"] for r in report["results"] if not r["pass"]]
    assert done.returncode == 0 and report["pass"], (failed, output[-3000:])
    assert "classroom: 12 of 12 PASS, 0 FAIL (3 session(s))" in done.stdout
    for student in report["students"]:  # every page read, each equal to what was computed alone
        assert [v["page"] for v in student["visits"]] == list(cr.PAGES)
        for visit in student["visits"]:
            assert visit["shown"] == report["expected"][str(student["session"])][visit["page"]]
    shown = report["figures"]
    assert shown["sessions"] == 3 and shown["pages_read"] == 9 and shown["pages_per_minute"] > 0
    assert all(0 < seconds < 240 for seconds in shown["p95_score_s"].values())
    assert 0.1 < shown["peak_memory_gib"] < report["memory_budget_bytes"] / 2**30
