"""The run engine (`swap_core.runs.Run`) and the app's live fragment (`ui.live`): Stop keeps
what a run finished and nothing more is computed; a failing step or a failing cleanup ends the
run with one line saying why and the worker always finishes; a view that fails to draw is one
error line, not an exception box on every redraw."""
import threading
import time

from streamlit.testing.v1 import AppTest

from swap_core.runs import Run


def _counting(events: list, fail_at: int | None = None, fail_on_close: bool = False, pause: float = 0.01):
    try:
        for step in range(1, 10_000):
            if step == fail_at:
                raise ValueError(f"step {step} went wrong")
            time.sleep(pause)
            yield step
    finally:
        events.append(threading.current_thread().name)
        if fail_on_close:
            raise RuntimeError("cleanup went wrong")


def _wait_states(run: Run, states: int) -> None:
    deadline = time.monotonic() + 10
    while run.states < states and run.active and time.monotonic() < deadline:
        time.sleep(0.005)


def test_stop_keeps_the_states_and_nothing_more_is_computed():
    events: list = []
    run = Run(_counting(events), name="count")
    _wait_states(run, 3)
    assert run.stop() and run.status == "stopped"
    kept = (run.states, run.state)
    assert run.wait(5) and events == ["swap-run-count"]  # closed in its own worker
    time.sleep(0.05)
    assert (run.states, run.state) == kept and kept[0] >= 3 and run.status == "stopped" and not run.stop()


def test_a_failing_step_ends_the_run_with_one_line_and_keeps_what_it_had():
    run = Run(_counting([], fail_at=4), name="fails")
    assert run.wait(5)
    assert run.status == "failed" and run.error == "ValueError: step 4 went wrong"
    assert run.states == 3 and run.state == 3


def test_a_failing_cleanup_still_finishes_the_worker():
    stopped = Run(_counting([], fail_on_close=True), name="stopped")
    _wait_states(stopped, 2)
    stopped.stop()
    assert stopped.wait(5), "the worker never said it finished"
    assert stopped.status == "stopped"  # a Stop stays a Stop
    done = Run(iter(_counting([], fail_on_close=True)), name="done")
    time.sleep(0.05)
    done.stop()
    assert done.wait(5)


def _page_with_a_broken_view() -> None:
    import streamlit as st

    from ui.live import live_fragment

    def draw() -> None:
        raise ValueError("All arrays must be of the same length")

    live_fragment(draw, None, key="broken")
    st.button("Still works", key="still_works")
    st.write("clicked" if st.session_state.get("still_works") else "not clicked")


def test_a_view_that_fails_to_draw_is_one_error_line_and_the_page_still_works():
    at = AppTest.from_function(_page_with_a_broken_view, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["Could not draw this view: ValueError: All arrays must be of the same length"]
    at.button(key="still_works").click().run()
    assert not at.exception and len(at.error) == 1
    assert at.markdown[-1].value == "clicked"


# --- heavy runs: at most N at once on a server, the others in line ------------------------------
def _blocking(started: list, name: str, release: threading.Event):
    """A fake heavy job: it says it started, then computes until `release` is set."""
    started.append(name)
    while not release.wait(0.005):
        yield name
    yield name


def _wait_for(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_heavy_runs_are_capped_and_start_in_order_of_arrival():
    from swap_core.runs import HeavyJobs

    gate, started = HeavyJobs(limit=2), []
    releases = {name: threading.Event() for name in "abcd"}
    runs = {}
    for name in "abcd":  # one at a time, so that arrival order is known
        runs[name] = Run(_blocking(started, name, releases[name]), name=name, gate=gate)
        assert _wait_for(lambda: gate.running + gate.waiting == len(runs))
    assert _wait_for(lambda: started == ["a", "b"]) and gate.running == 2
    time.sleep(0.1)
    assert started == ["a", "b"] and gate.running == 2  # c and d wait, nothing of theirs is computed
    assert (runs["a"].queue_position, runs["c"].queue_position, runs["d"].queue_position) == (None, 1, 2)
    assert runs["c"].queued and runs["c"].states == 0 and runs["c"].status == "running"
    assert runs["d"].queue_note().startswith("Queued: 2nd in line, behind 3 jobs; at most 2 heavy runs")
    releases["b"].set()
    assert runs["b"].wait(5) and runs["b"].status == "done"
    assert _wait_for(lambda: started == ["a", "b", "c"]) and runs["d"].queue_position == 1
    assert runs["d"].queue_note().startswith("Queued: 1st in line, behind 2 jobs")
    runs["d"].stop()  # stopped in line: leaves it at once, never computes
    assert runs["d"].wait(5) and "d" not in started and gate.waiting == 0
    for name in "ac":
        releases[name].set()
        assert runs[name].wait(5)
    assert gate.running == 0 and gate.waiting == 0


def test_a_paused_heavy_run_lets_the_next_in_line_compute():
    from swap_core.runs import HeavyJobs

    gate, started = HeavyJobs(limit=1), []
    release = threading.Event()
    first = Run(_blocking(started, "first", release), name="first", gate=gate)
    assert _wait_for(lambda: first.states > 0)
    second = Run(_blocking(started, "second", release), name="second", gate=gate)
    assert _wait_for(lambda: second.queue_position == 1)
    assert first.pause() and first.wait_parked(5)
    assert _wait_for(lambda: second.states > 0) and started == ["first", "second"]
    assert first.resume() and _wait_for(lambda: first.queue_position == 1)  # back in line behind second
    second.stop()
    assert _wait_for(lambda: first.queue_position is None and gate.running == 1)
    release.set()
    assert first.wait(5) and second.wait(5) and first.status == "done" and gate.running == 0


def test_a_failing_heavy_run_gives_its_slot_back():
    from swap_core.runs import HeavyJobs

    gate, events = HeavyJobs(limit=1), []
    failing = Run(_counting(events, fail_at=2), name="fails", gate=gate)
    assert failing.wait(5) and failing.status == "failed"
    assert gate.running == 0
    after = Run(iter([1, 2]), name="after", gate=gate)
    assert after.wait(5) and after.status == "done" and after.states == 2


def test_heavy_jobs_setting(monkeypatch):
    import os

    import pytest

    from swap_core.runs import HEAVY_JOBS_ENV, HeavyJobs

    monkeypatch.setenv(HEAVY_JOBS_ENV, "3")
    assert HeavyJobs().limit == 3
    monkeypatch.delenv(HEAVY_JOBS_ENV)
    assert HeavyJobs().limit == max(2, (os.cpu_count() or 2) // 2)
    for bad in ("0", "many", "-2"):
        monkeypatch.setenv(HEAVY_JOBS_ENV, bad)
        with pytest.raises(ValueError, match="SWAP_EXPLORER_HEAVY_JOBS.*1 to 256"):
            HeavyJobs()


def _page_with_a_queued_run():
    import threading
    import time

    import streamlit as st

    from swap_core.runs import HeavyJobs, Run
    from ui.live import live_fragment

    gate, release = HeavyJobs(limit=1), threading.Event()

    def steps():
        while not release.wait(0.005):
            yield 1

    first = Run(steps(), name="first", gate=gate)
    while gate.running == 0:
        time.sleep(0.005)
    second = Run(steps(), name="second", gate=gate)
    while second.queue_position is None:
        time.sleep(0.005)
    live_fragment(lambda: st.markdown(f"states: {second.states}"), second, key="queued")
    release.set()
    for run in (first, second):
        run.stop()


def test_the_live_view_shows_a_queued_runs_place_in_line():
    at = AppTest.from_function(_page_with_a_queued_run, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == [
        "Queued: 1st in line, behind 1 job; at most 1 heavy run computes at once on this server "
        "(SWAP_EXPLORER_HEAVY_JOBS). It starts by itself."]
    assert at.markdown[-1].value == "states: 0"
