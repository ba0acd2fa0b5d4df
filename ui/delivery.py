"""A full script run ends only once the browser has been sent what it drew.

Why: Streamlit (1.67) blanks a page when a fragment's automatic rerun starts while the full
run before it still has messages waiting to go out. A fragment run, as it starts, drops the
waiting messages of its own fragment (`ForwardMsgQueue.clear(fragment_ids_this_run=...)`),
meant for its own earlier run, but it also drops those the *full* run drew inside that
fragment, and keeps the full run's "finished" message. The browser then removes the fragment
as stale, and the fragment run's next message points into a container that is gone:
"Bad delta path index 3 (should be between [0, 1])", a white page until reload. Under load,
when the server sends slowly and the browser's half-second timers have queued fragment reruns,
this blanked about 1 Search page in 30 searches of a ten-student classroom, as a search ended
(its fragment asks for the full run that redraws the buttons).

The full run cannot be drawn differently (its fragment's elements carry the fragment's id
whichever run draws them), but it can wait, at its very end, until its messages have left the
queue: a fragment run queued behind it then finds nothing of it to drop. Waiting is bounded
(`WAIT_S`), ends at once when a click's full rerun is pending (it replaces everything anyway),
and costs nothing on an idle server, where the queue is sent every 5 ms.
"""
from __future__ import annotations

import logging
import time

WAIT_S = 2.0  # at most, then the run ends anyway (as it did before)
_POLL_S = 0.005
_LOG = logging.getLogger(__name__)


def _session():
    """(this run's context, its session's outgoing message queue), or None where there is no
    queue to reach (Streamlit's test harness, a bare `python` run, a Streamlit whose internals
    differ)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return None
        info = Runtime.instance()._session_mgr.get_session_info(ctx.session_id)
        queue = getattr(info.session, "_browser_queue", None) if info is not None else None
        return (ctx, queue) if callable(getattr(queue, "is_empty", None)) else None
    except Exception:  # internals moved: no wait, the page works as Streamlit alone would
        return None


def _full_rerun_pending(ctx) -> bool:
    """A click's full rerun (or a stop) waits behind this run: no point waiting any longer, the
    next run replaces everything anyway. A pending *fragment* rerun is what the wait is for."""
    try:
        requests = ctx.script_requests
        state = requests._state.name
        return state == "STOP" or (state == "RERUN" and not requests._rerun_data.fragment_id_queue)
    except Exception:
        return False


def wait_until_sent(wait_s: float = WAIT_S) -> bool:
    """Block this script run until its queued messages have been sent to the browser, for at
    most `wait_s` and no longer than a click's rerun is pending: True when they were sent (or
    there is no queue to wait on)."""
    session = _session()
    if session is None:
        return True
    ctx, queue = session
    deadline = time.monotonic() + wait_s
    while not queue.is_empty():
        if time.monotonic() >= deadline or _full_rerun_pending(ctx):
            _LOG.debug("the run ends before its messages were sent")
            return False
        time.sleep(_POLL_S)
    return True


__all__ = ["WAIT_S", "wait_until_sent"]
