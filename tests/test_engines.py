"""The engine layer without a cluster (issue 22): rows come back in input order whatever order
the chunks finish in, a failed chunk becomes failed rows with its reason, Ctrl-C hands over
every finished row before it goes on up, the store is read before anything is sent, and the
memory log reports per process."""
import itertools
import math

import pytest

from swap_core import engines
from swap_core.engines import Done, Failed, LocalEngine, MemoryLog, open_engine
from swap_core.scoring import CHUNK_MAX, ScoreJob, chunk_size, score_archs
from swap_core.setup import Setup
from swap_core.spaces import get_space
from swap_core.store import ScoreStore

SETUP = Setup(space="nb201", preset="teaching", images="noise", device="cpu")
JOB = ScoreJob(SETUP, ("params", "swap"))
ARCHS = [get_space("nb201").to_str(a) for a in itertools.islice(get_space("nb201").enumerate(), 7)]


class Shuffled:
    """An engine whose chunks finish last first (as a cluster's may), in this process."""
    workers = 3

    def __init__(self, fail: int | None = None, interrupt_after: int | None = None):
        self.fail, self.interrupt_after = fail, interrupt_after
        self.sent: list = []

    def map(self, fn, payloads, threads=None, gpu=False):
        self.sent = list(payloads)
        for count, index in enumerate(reversed(range(len(payloads)))):
            if count == self.interrupt_after:
                raise KeyboardInterrupt
            if index == self.fail:
                yield Failed(index, "WorkerCrashedError after 2 retries: the worker died")
            else:
                yield Done(index, fn(payloads[index]))


def test_rows_come_back_in_input_order_from_chunks_finishing_in_reverse():
    local = list(score_archs(JOB, ARCHS, engine=LocalEngine(), chunk=2))
    shuffled = list(score_archs(JOB, ARCHS, engine=Shuffled(), chunk=2))
    assert [r["arch"] for r in shuffled] == ARCHS
    assert [r["values"] for r in shuffled] == [r["values"] for r in local]
    assert all(r["failed"] is None and not r["stored"] for r in shuffled)


def test_a_failed_chunk_is_a_failed_row_per_cell_with_the_reason_and_the_rest_is_scored():
    rows = list(score_archs(JOB, ARCHS, engine=Shuffled(fail=1), chunk=3))  # chunks [0,1,2] [3,4,5] [6]
    failed = [r["arch"] for r in rows if r["failed"]]
    assert failed == ARCHS[3:6]
    assert all("worker died" in r["failed"] and math.isnan(r["values"]["swap"]) for r in rows if r["failed"])
    assert all(r["values"]["params"] > 0 for r in rows if not r["failed"])


def test_ctrl_c_hands_over_every_finished_row_then_goes_on():
    engine, seen = Shuffled(interrupt_after=2), []
    with pytest.raises(KeyboardInterrupt):
        for row in score_archs(JOB, ARCHS, engine=engine, chunk=2):  # chunks [0,1] [2,3] [4,5] [6]
            seen.append(row["arch"])
    assert seen == ARCHS[4:7]  # the two chunks that finished first, though an earlier one was running


def test_cells_in_the_store_are_not_sent_and_computed_ones_are_kept(tmp_path):
    store = ScoreStore(tmp_path / "s.sqlite")
    first = list(score_archs(JOB, ARCHS[:3], engine=LocalEngine(), store=store))
    engine = Shuffled()
    rows = list(score_archs(JOB, ARCHS, engine=engine, store=store, chunk=10))
    assert [archs for _, archs in engine.sent] == [ARCHS[3:]]
    assert [r["stored"] for r in rows] == [True] * 3 + [False] * 4
    assert [r["values"] for r in rows[:3]] == [r["values"] for r in first]
    assert store.row(SETUP, ARCHS[6], JOB.names) is not None


def test_a_cell_that_cannot_be_scored_fails_alone():
    rows = list(score_archs(ScoreJob(SETUP, ("params",)), [ARCHS[0], "not an arch", ARCHS[1]], engine=LocalEngine()))
    assert [bool(r["failed"]) for r in rows] == [False, True, False]


@pytest.mark.parametrize("cells, workers, expected", [(0, 2, 1), (10, 2, 1), (160, 2, 10), (15625, 2, CHUNK_MAX)])
def test_chunks_are_about_eight_per_worker_and_bounded(cells, workers, expected):
    assert chunk_size(cells, workers) == expected


def test_memory_log_keeps_first_last_and_peak_per_process():
    log = MemoryLog()
    for rss, peak in ((100.0, 120.0), (104.0, 130.0), (101.0, 125.0)):
        log.note({"host": "a", "pid": 1, "rss_mb": rss, "peak_mb": peak})
    log.note(engines.memory_sample())
    line = log.summary()
    assert "over 2 worker process(es)" in line and "100→101" in line
    assert log.processes[("a", 1)].peak_mb == 130.0 and log.processes[("a", 1)].results == 3


def test_unknown_engine_and_an_address_without_ray_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown engine 'spark'; expected one of local, ray"):
        open_engine("spark")
    with pytest.raises(ValueError, match="--ray-address needs --engine ray"):
        open_engine("local", address="10.0.0.1:6379")
