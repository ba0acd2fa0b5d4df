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
