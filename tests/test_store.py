"""The score store (SQLite, shared by sessions, processes and restarts), the foreground gate
that background scoring yields to, and `prepare`."""
import math
import subprocess
import sys
import threading
import time

import pytest

from swap_core import explorer
from swap_core.prepare import default_jobs, prepare_states, proxy_groups
from swap_core.priority import Foreground, in_foreground
from swap_core.setup import Setup
from swap_core.store import ScoreStore, setup_key

SETUP = Setup(space="nb201", dataset="cifar10", preset="teaching", images="noise", batch=8, seed=0)
ARCH = SETUP.space_obj.example
NAMES = ["swap", "naswot", "params"]


def test_scores_survive_a_new_store_object_and_match_a_fresh_computation(tmp_path):
    path = tmp_path / "scores.sqlite"
    first = explorer.score_row(SETUP, ARCH, NAMES, store=ScoreStore(path))
    again = ScoreStore(path)  # a restarted server, another process
    row = again.row(SETUP, ARCH, NAMES)
    assert row is not None and {n: row[n] for n in NAMES} == {n: first[n] for n in NAMES}
    fresh = explorer.score_row(SETUP, ARCH, NAMES)  # no store: computed now
    assert {n: fresh[n] for n in NAMES} == {n: first[n] for n in NAMES}


def test_a_stored_score_is_not_computed_again(tmp_path, monkeypatch):
    store = ScoreStore(tmp_path / "s.sqlite")
    explorer.score_row(SETUP, ARCH, ["swap"], store=store)
    calls = []
    original = Setup.score
    monkeypatch.setattr(Setup, "score", lambda self, arch, names, **kw: calls.append(list(names)) or
                        original(self, arch, names, **kw))
    explorer.score_row(SETUP, ARCH, ["swap", "naswot"], store=store)
    assert calls == [["naswot"]]  # swap came from the store


def test_keys_separate_setups_and_options_but_not_thread_counts(tmp_path):
    store = ScoreStore(tmp_path / "s.sqlite")
    store.put(SETUP, ARCH, {"swap": 1.0})
    assert store.get(SETUP.replace(threads=1), ARCH, "swap").value == 1.0
    assert store.get(SETUP.replace(seed=1), ARCH, "swap") is None
    assert store.get(SETUP.replace(preset="benchmark"), ARCH, "swap") is None
    assert store.get(SETUP, ARCH, "swap", {"repeats": 2}) is None
    assert setup_key(SETUP) != setup_key(SETUP.replace(batch=16))


def test_nan_keeps_its_reason_and_other_processes_see_writes(tmp_path):
    path = tmp_path / "s.sqlite"
    store = ScoreStore(path)
    store.put(SETUP, ARCH, {"jacob_cov": math.nan, "swap": 5.0}, {"jacob_cov": "undefined here"}, seconds=2.0)
    code = ("import math, sys; from swap_core.store import ScoreStore; from swap_core.setup import Setup; "
            "s = Setup(space='nb201', dataset='cifar10', preset='teaching', images='noise', batch=8, seed=0); "
            f"e = ScoreStore({str(path)!r}).get(s, s.space_obj.example, 'jacob_cov'); "
            "print(math.isnan(e.value), e.error, e.seconds)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "undefined", "here", "1.0"]


def test_an_unwritable_store_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot open the score store"):
        ScoreStore(blocker / "scores.sqlite")


def test_background_waits_while_a_request_is_in_flight():
    gate = Foreground(max_wait_s=5.0)
    passed = []
    with gate.request():
        worker = threading.Thread(target=lambda: passed.append((gate.checkpoint(), time.monotonic())))
        worker.start()
        time.sleep(0.3)
        assert not passed  # still waiting
        released = time.monotonic()
    worker.join(2)
    assert passed and passed[0][0] and passed[0][1] >= released


def test_background_is_not_starved_and_foreground_states_hold_the_gate():
    gate = Foreground(max_wait_s=0.1)
    with gate.request():
        assert gate.checkpoint() is False  # gave up waiting after max_wait_s
    seen = []
    states = in_foreground(gate, iter([1, 2]))
    for state in states:
        seen.append((state, gate.busy))
    assert seen == [(1, 0), (2, 0)] and gate.busy == 0  # held only while computing a state


def test_prepare_fills_every_default_view_and_a_second_run_computes_nothing(tmp_path, monkeypatch):
    store = ScoreStore(tmp_path / "s.sqlite")
    jobs = [job.__class__(job.label, job.archs[:2], job.names) for job in default_jobs(SETUP)]
    assert {job.label.split(":")[0] for job in jobs} == {"Cell Designer", "Proxy Lab", "Size Regulariser"}
    list(prepare_states(SETUP, store, jobs))
    for job in jobs:
        assert all(store.row(SETUP, arch, job.names) is not None for arch in job.archs)
    def computes(*args, **kwargs):
        raise AssertionError("prepare computed a score the store had")

    monkeypatch.setattr(Setup, "score", computes)
    assert len(list(prepare_states(SETUP, store, jobs))) == sum(len(job.archs) for job in jobs)


def test_fast_and_slow_proxies_split_the_registry():
    fast, slow = proxy_groups()
    assert "swap" in fast and slow and not set(fast) & set(slow)


def test_a_scoring_page_redraws_early_then_as_the_count_doubles():
    from ui.scoring import redraw_due

    assert not redraw_due(0, 2, 200) and redraw_due(0, 3, 200)  # a first view with 3 cells
    assert not redraw_due(3, 5, 200) and redraw_due(3, 6, 200)
    assert not redraw_due(50, 89, 200) and redraw_due(50, 90, 200)  # at least every fifth (40 cells)
