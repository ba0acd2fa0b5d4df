"""`search --engine ray`: each (algorithm, seed) run is one task; the records equal the local
engine's (all but wall-clock fields), `--resume` sends only the runs not in the file, and a
run that failed after its retries is listed with its reason (exit 1) and rerun by `--resume`.

The failure and Ctrl-C paths use a stand-in engine in this process (no Ray needed); the tests
marked `ray` run on the session's Ray cluster (`ray_address` in conftest.py).
"""
import json

import pytest

from swap_core.cli import main
from swap_core.durable import INTERRUPTED
from swap_core.engines import Done, Failed, MemoryLog
from swap_core.search import command

SEARCH = ["search", "--space", "nb201", "--network", "teaching", "--algo", "random,swap-nas", "--budget", "6",
          "--seeds", "0-1", "--data", "synthetic", "--device", "cpu", "--threads", "1"]
PLAN = [("random", 0), ("random", 1), ("swap-nas", 0), ("swap-nas", 1)]
WALL_CLOCK = ("seconds",)  # the only field of a record that depends on the machine's speed


def _runs(path) -> list[dict]:
    return json.loads(path.read_text())["runs"]


def _without_timing(runs: list[dict]) -> list[dict]:
    return [{key: value for key, value in run.items() if key not in WALL_CLOCK} for run in runs]


@pytest.fixture(scope="module")
def local_file(tmp_path_factory):
    """runs.json of the tiny search on the local engine, as every other test's reference."""
    path = tmp_path_factory.mktemp("local") / "runs.json"
    assert main([*SEARCH, "--out", str(path)]) == 0
    runs = _runs(path)
    assert [(r["algo"], r["seed"]) for r in runs] == PLAN
    return path


class StandIn:
    """An engine in this process that fails the payloads at `fail` and raises Ctrl-C after `stop` results."""
    name = "stand-in"

    def __init__(self, fail=(), stop=None):
        self.fail, self.stop, self.workers, self.memory, self.sent = set(fail), stop, 1, MemoryLog(), []
        self.closed = False

    def map(self, fn, payloads, threads=None):
        self.sent = [(spec, seed) for _, spec, _, seed in payloads]
        for index in reversed(range(len(payloads))):  # completion order is not plan order
            if self.stop is not None and len(payloads) - 1 - index == self.stop:
                raise KeyboardInterrupt
            yield Failed(index, "WorkerCrashedError after 2 retries: the worker died") if index in self.fail \
                else Done(index, fn(payloads[index]))

    def describe(self) -> str:
        return "stand-in engine"

    def close(self) -> None:
        self.closed = True


def test_failed_runs_are_listed_and_resume_reruns_only_them(local_file, tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs.json"
    engine = StandIn(fail={1})
    monkeypatch.setattr(command, "engine_from_args", lambda args: engine)
    assert main([*SEARCH, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1 of 4 runs failed" in err and "random seed 1: WorkerCrashedError after 2 retries" in err
    assert engine.closed and engine.sent == PLAN
    saved = json.loads(out.read_text())
    assert saved["complete"] is False
    reference = _without_timing(_runs(local_file))
    assert _without_timing(saved["runs"]) == [reference[0], *reference[2:]]  # plan order, the failed run left out

    again = StandIn()
    monkeypatch.setattr(command, "engine_from_args", lambda args: again)
    assert main([*SEARCH, "--out", str(out), "--resume"]) == 0
    assert "resuming: 3 of 4 runs found" in capsys.readouterr().err
    assert again.sent == [("random", 1)]
    assert _without_timing(_runs(out)) == reference and json.loads(out.read_text())["complete"] is True


def test_ctrl_c_keeps_the_finished_runs(local_file, tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs.json"
    engine = StandIn(stop=2)
    monkeypatch.setattr(command, "engine_from_args", lambda args: engine)
    assert main([*SEARCH, "--out", str(out)]) == INTERRUPTED
    assert "--resume" in capsys.readouterr().err and engine.closed
    saved = json.loads(out.read_text())
    assert saved["complete"] is False
    assert [(r["algo"], r["seed"]) for r in saved["runs"]] == PLAN[2:]  # the two that finished first


@pytest.mark.ray
def test_ray_records_equal_the_local_engine(local_file, ray_address, tmp_path, capsys):
    out = tmp_path / "runs.json"
    assert main([*SEARCH, "--out", str(out), "--engine", "ray", "--ray-address", ray_address, "--workers", "2"]) == 0
    assert "ray engine:" in capsys.readouterr().err
    assert _without_timing(_runs(out)) == _without_timing(_runs(local_file))
    assert json.loads(out.read_text())["setup"] == json.loads(local_file.read_text())["setup"]


@pytest.mark.ray
def test_ray_resume_runs_only_what_is_missing(local_file, ray_address, tmp_path, capsys):
    out = tmp_path / "runs.json"
    saved = json.loads(local_file.read_text())
    kept = [dict(run, seconds=12345.0) for run in saved["runs"] if run["seed"] == 0]  # a rerun would re-time them
    out.write_text(json.dumps({**saved, "runs": kept, "complete": False}))
    assert main([*SEARCH, "--out", str(out), "--resume", "--engine", "ray", "--ray-address", ray_address,
                 "--workers", "2"]) == 0
    assert "resuming: 2 of 4 runs found" in capsys.readouterr().err
    runs = _runs(out)
    assert [r for r in runs if r["seed"] == 0] == kept
    assert _without_timing(runs) == _without_timing(saved["runs"])
