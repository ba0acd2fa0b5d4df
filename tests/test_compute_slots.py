"""swap_core/priority.py's compute slots: at most N scorings at once in a process, a user's
(`urgent`) before any worker's, and where a scoring waited never changes its number."""
import threading
import time

import pytest

from swap_core import priority


def _hold(slots, order, name, urgent, seconds, started=None):
    with slots.slot(urgent):
        order.append(name)
        if started is not None:
            started.set()
        time.sleep(seconds)


def test_a_user_goes_before_the_workers_already_waiting():
    slots, order, started = priority.ComputeSlots(1), [], threading.Event()
    first = threading.Thread(target=_hold, args=(slots, order, "running worker", False, 0.3, started))
    first.start()
    started.wait(5)
    waiting = []
    for k in range(3):
        waiting.append(threading.Thread(target=_hold, args=(slots, order, f"worker {k}", False, 0.01)))
        waiting[-1].start()
        time.sleep(0.03)  # in this order
    user = threading.Thread(target=_hold, args=(slots, order, "user", True, 0.01))
    user.start()
    for thread in (first, *waiting, user):
        thread.join(10)
    assert order == ["running worker", "user", "worker 0", "worker 1", "worker 2"]


def test_never_more_than_the_slots_at_once():
    slots, lock, now, peak = priority.ComputeSlots(2), threading.Lock(), [0], [0]

    def work():
        with slots.slot(False):
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.02)
            with lock:
                now[0] -= 1
    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert peak[0] == 2 and now[0] == 0


def test_urgent_is_this_threads_block_only():
    seen = {}
    with priority.urgent():
        seen["inside"] = priority._URGENT.get()
        worker = threading.Thread(target=lambda: seen.setdefault("worker", priority._URGENT.get()))
        worker.start()
        worker.join()
    seen["after"] = priority._URGENT.get()
    assert seen == {"inside": True, "worker": False, "after": False}  # a worker started by a page waits its turn


def test_the_slots_setting(monkeypatch):
    monkeypatch.setenv(priority.SLOTS_ENV, "3")
    assert priority.default_slots() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(priority.SLOTS_ENV, bad)
        with pytest.raises(ValueError, match="SWAP_EXPLORER_COMPUTE_SLOTS must be a whole number of at least 1"):
            priority.default_slots()
    monkeypatch.delenv(priority.SLOTS_ENV)
    assert priority.default_slots() >= 1
