"""ui/delivery.py: a full run ends once its messages have left the session's queue (bounded),
so a fragment rerun queued behind it cannot drop what it drew (the module docstring)."""
import threading
import time

from ui import delivery


class Queue:
    """A browser queue that a flush empties after `after_s`."""

    def __init__(self, after_s: float) -> None:
        self.messages = ["delta"]
        flush = threading.Timer(after_s, self.messages.clear)
        flush.daemon = True  # (the bounded test's never fires before pytest ends)
        flush.start()

    def is_empty(self) -> bool:
        return not self.messages


class Requests:
    def __init__(self, state: str, fragments: list[str]) -> None:
        self._state = type("State", (), {"name": state})()
        self._rerun_data = type("Data", (), {"fragment_id_queue": fragments})()


class Context:
    """A script run's context with a pending request (none: CONTINUE)."""

    def __init__(self, state: str = "CONTINUE", fragments: list[str] | None = None) -> None:
        self.script_requests = Requests(state, fragments or [])


def test_a_pending_fragment_rerun_keeps_the_wait_a_click_ends_it(monkeypatch):
    queue = Queue(60.0)
    monkeypatch.setattr(delivery, "_session", lambda: (Context("RERUN", ["f1"]), queue))
    start = time.monotonic()
    assert not delivery.wait_until_sent(wait_s=0.2)
    assert time.monotonic() - start >= 0.2  # the case the wait is for: it waits
    for pending in (Context("RERUN"), Context("STOP")):
        monkeypatch.setattr(delivery, "_session", lambda pending=pending: (pending, queue))
        start = time.monotonic()
        assert not delivery.wait_until_sent(wait_s=5.0)
        assert time.monotonic() - start < 0.5  # a click's full rerun replaces everything: no wait
    assert not delivery._full_rerun_pending(object())  # internals it cannot read: no early end


def test_the_run_waits_until_its_messages_are_sent(monkeypatch):
    queue = Queue(0.15)
    monkeypatch.setattr(delivery, "_session", lambda: (Context(), queue))
    start = time.monotonic()
    assert delivery.wait_until_sent(wait_s=5.0)
    assert 0.1 <= time.monotonic() - start < 2.0 and queue.is_empty()


def test_the_wait_is_bounded(monkeypatch):
    queue = Queue(60.0)
    monkeypatch.setattr(delivery, "_session", lambda: (Context(), queue))
    start = time.monotonic()
    assert not delivery.wait_until_sent(wait_s=0.1)
    assert time.monotonic() - start < 1.0 and not queue.is_empty()


def test_outside_a_served_session_there_is_nothing_to_wait_for():
    assert delivery._session() is None
    assert delivery.wait_until_sent(wait_s=0.1)
