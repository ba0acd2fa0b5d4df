"""Nothing finished is lost (issue 19, item 4): `score`, `search` and `oneshot darts` write each
finished unit as it completes, Ctrl-C leaves a valid file with all of them and says how to go
on, `--resume` runs only the rest and ends with the same values as one uninterrupted run, and
an output path that is an input path is refused before anything runs."""
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, require_file
from swap_core import durable
from swap_core.cli import main

TIMING = {"seconds", "train_seconds"}  # what differs between two runs of the same work
SEARCH = ["search", "--space", "nb201", "--algo", "random,swap-nas", "--objective", "swap", "--network", "teaching",
          "--data", "synthetic", "--device", "cpu", "--threads", "1"]
DARTS = ["oneshot", "darts", "--selection", "magnitude", "--epochs", "1", "--channels", "4", "--images", "64",
         "--data", "noise", "--threads", "1"]
SCORE = ["score", "--space", "nb201", "--network", "teaching", "--proxies", "swap,params", "--data", "synthetic",
         "--no-store", "--device", "cpu", "--threads", "1"]
NB201 = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
         "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|",
         "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|",
         "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
         "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|"]


@pytest.fixture(autouse=True)
def keep_the_thread_count():
    """The commands fix their process's thread count; here the process is the test runner's."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _values(units):
    """The units without their timings (which differ between two runs of the same work)."""
    return [{k: v for k, v in unit.items() if k not in TIMING} for unit in units]


def _json_units(path):
    try:
        return json.loads(path.read_text())["runs"]
    except (OSError, ValueError):
        return []


def _csv_units(path):
    try:
        with open(path, newline="") as handle:
            text = handle.read()
    except OSError:
        return []
    return list(csv.DictReader(text[: text.rfind("\n") + 1].splitlines()))


def _archs(tmp_path, lines=NB201):
    path = tmp_path / "archs.csv"
    path.write_text("arch\n" + "".join(f"{line}\n" for line in lines))
    return path


def _interrupt(tmp_path, args, out, units, *, at_least, delay_seed, max_delay):
    """Run `python -m swap_core args` in a process of its own, wait until `out` holds
    `at_least` units, wait a seeded-random extra moment, send SIGINT: (exit code, stderr,
    units seen before the signal)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SWAP_EXPLORER_STORE": str(tmp_path / "store.sqlite")}
    if os.environ.get("SWAP_EXPLORER_DATA"):  # the process runs in tmp_path: a relative data dir would be lost
        env["SWAP_EXPLORER_DATA"] = str(Path(os.environ["SWAP_EXPLORER_DATA"]).resolve())
    process = subprocess.Popen([sys.executable, "-m", "swap_core", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, seen = time.monotonic() + 120, 0
    while process.poll() is None and time.monotonic() < deadline:
        seen = len(units(out))
        if seen >= at_least:
            break
        time.sleep(0.05)
    time.sleep(random.Random(delay_seed).uniform(0, max_delay))
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=60)
    assert seen >= at_least, f"the command saved {seen} units in 120 s: {stderr[-2000:]}"
    return process.returncode, stderr, seen


def _check_interrupted(code, stderr, out, units, seen, total, unit):
    """Exit 130 (0 if it finished first), no traceback, a valid file with every unit saved
    before the signal, and the one line that says how many and how to go on."""
    assert "Traceback" not in stderr, stderr[-3000:]
    assert code in (durable.INTERRUPTED, 0), stderr[-2000:]
    saved = units(out)
    assert len(saved) >= seen
    if code == durable.INTERRUPTED:
        line = f"interrupted: {len(saved)} of {total} {unit} saved to {out.name}; " \
               "continue with the same command plus --resume"
        assert line in stderr, stderr[-2000:]
    return saved


def test_search_ctrl_c_keeps_every_finished_run_and_resume_completes_it(tmp_path, capsys):
    out = tmp_path / "runs.json"
    args = [*SEARCH, "--budget", "8", "--seeds", "0-2", "--out", out.name]
    code, stderr, seen = _interrupt(tmp_path, args, out, _json_units, at_least=1, delay_seed="search", max_delay=0.5)
    saved = _check_interrupted(code, stderr, out, _json_units, seen, 6, "runs")
    assert json.loads(out.read_text())["complete"] == (len(saved) == 6)
    assert main([*args[:-1], str(out), "--resume"]) == 0
    assert f"resuming: {len(saved)} of 6 runs found" in capsys.readouterr().err
    resumed = json.loads(out.read_text())
    assert resumed["complete"] and resumed["runs"][: len(saved)] == saved  # the finished runs kept as they were
    alone = tmp_path / "alone.json"
    assert main([*args[:-1], str(alone)]) == 0
    assert _values(resumed["runs"]) == _values(json.loads(alone.read_text())["runs"])
    assert [(r["algo"], r["seed"]) for r in resumed["runs"]] == [(a, s) for a in ("random", "swap-nas")
                                                                  for s in range(3)]


def test_darts_ctrl_c_keeps_every_finished_seed_and_resume_completes_it(tmp_path, capsys):
    require_file("nb201_accuracy.csv")
    out = tmp_path / "darts.json"
    args = [*DARTS, "--seeds", "0-2", "--out", out.name]
    code, stderr, seen = _interrupt(tmp_path, args, out, _json_units, at_least=1, delay_seed="darts", max_delay=0.5)
    saved = _check_interrupted(code, stderr, out, _json_units, seen, 3, "seeds")
    assert main([*args[:-1], str(out), "--resume"]) == 0
    assert f"resuming: {len(saved)} of 3 seeds found" in capsys.readouterr().err
    resumed = json.loads(out.read_text())
    assert resumed["complete"] and resumed["runs"][: len(saved)] == saved
    alone = tmp_path / "alone.json"
    assert main([*args[:-1], str(alone)]) == 0
    assert _values(resumed["runs"]) == _values(json.loads(alone.read_text())["runs"])
    assert [r["seed"] for r in resumed["runs"]] == [0, 1, 2]
    assert all(r["accuracy"] is not None for r in resumed["runs"])  # the benchmark table was found by both


def test_score_ctrl_c_keeps_every_finished_row_and_resume_completes_it(tmp_path, capsys):
    archs = _archs(tmp_path, NB201 + NB201[:2])  # a cell twice is scored (and written) twice
    out = tmp_path / "scores.csv"
    args = [*SCORE, "--archs", archs.name, "--out", out.name]
    code, stderr, seen = _interrupt(tmp_path, args, out, _csv_units, at_least=1, delay_seed="score", max_delay=0.5)
    saved = _check_interrupted(code, stderr, out, _csv_units, seen, 8, "rows")
    assert main([*SCORE, "--archs", str(archs), "--out", str(out), "--resume"]) == 0
    assert f"({len(saved)} of them kept from the interrupted run)" in capsys.readouterr().err or len(saved) == 8
    resumed = _csv_units(out)
    assert resumed[: len(saved)] == saved
    alone = tmp_path / "alone.csv"
    assert main([*SCORE, "--archs", str(archs), "--out", str(alone)]) == 0
    assert _values(resumed) == _values(_csv_units(alone))
    assert [r["arch"] for r in resumed] == NB201 + NB201[:2]


# Deterministic in-process interruptions: Ctrl-C raised at a chosen unit.

def _interrupt_at(monkeypatch, module, name, calls):
    """Make `module.name` raise KeyboardInterrupt on its call number `calls` (1-based)."""
    original, count = getattr(module, name), [0]

    def wrapper(*args, **kwargs):
        count[0] += 1
        if count[0] == calls:
            raise KeyboardInterrupt
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapper)


def test_score_interrupted_in_process_then_resumed_from_a_cut_line(tmp_path, capsys, monkeypatch):
    import swap_core.scoring as scoring

    archs, out, alone = _archs(tmp_path, NB201[:4]), tmp_path / "s.csv", tmp_path / "alone.csv"
    assert main([*SCORE, "--archs", str(archs), "--out", str(alone)]) == 0
    _interrupt_at(monkeypatch, scoring, "score_chunk", 3)  # one cell per chunk on the local engine
    assert main([*SCORE, "--archs", str(archs), "--out", str(out)]) == durable.INTERRUPTED
    err = capsys.readouterr().err
    assert f"interrupted: 2 of 4 rows saved to {out}; continue with the same command plus --resume" in err
    assert [r["arch"] for r in _csv_units(out)] == NB201[:2]
    monkeypatch.undo()
    with open(out, "a") as handle:  # a process killed mid-line leaves half a row
        handle.write(NB201[2][:20])
    assert main([*SCORE, "--archs", str(archs), "--out", str(out), "--resume"]) == 0
    assert _values(_csv_units(out)) == _values(_csv_units(alone))
    assert NB201[2][:20] + "\n" not in out.read_text()


def test_score_resume_refuses_other_columns_or_settings(tmp_path, capsys):
    archs, out = _archs(tmp_path, NB201[:1]), tmp_path / "s.csv"
    assert main([*SCORE, "--archs", str(archs), "--out", str(out)]) == 0
    before = out.read_text()
    swap_only = [("swap" if a == "swap,params" else a) for a in SCORE]
    assert main([*swap_only, "--archs", str(archs), "--out", str(out), "--resume"]) == 2
    assert "has the columns arch,swap,params,seconds, this command writes arch,swap,seconds" in capsys.readouterr().err
    assert main([*SCORE, "--seed", "3", "--archs", str(archs), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "written with other settings (setup.seed 3 here, 0 in the file)" in err and err.count("\n") == 1
    assert out.read_text() == before  # refused before anything was written


def test_search_interrupted_in_process_keeps_finished_runs(tmp_path, capsys, monkeypatch):
    import swap_core.search.experiment as experiment

    out = tmp_path / "runs.json"
    _interrupt_at(monkeypatch, experiment, "run_search", 3)
    args = [*SEARCH, "--budget", "3", "--seeds", "0-1", "--out", str(out)]
    assert main(args) == durable.INTERRUPTED
    assert f"interrupted: 2 of 4 runs saved to {out}; continue" in capsys.readouterr().err
    result = json.loads(out.read_text())
    assert [(r["algo"], r["seed"]) for r in result["runs"]] == [("random", 0), ("random", 1)]
    assert result["complete"] is False and result["summary"]["random"]["evaluations"] == 3
    monkeypatch.undo()
    assert main([*SEARCH, "--budget", "3", "--seeds", "0-2", "--out", str(out), "--resume"]) == 2
    assert "seeds '0-2' here, '0-1' in the file" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert [(r["algo"], r["seed"]) for r in json.loads(out.read_text())["runs"]] == \
        [("random", 0), ("random", 1), ("swap-nas", 0), ("swap-nas", 1)]
    assert main(args) == 0  # without --resume an existing file is overwritten, with a note
    assert f"note: overwriting {out}" in capsys.readouterr().err


def test_darts_interrupted_in_process_keeps_finished_seeds(tmp_path, capsys, monkeypatch):
    import swap_core.oneshot.darts as darts

    out = tmp_path / "darts.json"
    _interrupt_at(monkeypatch, darts, "darts_experiment", 2)
    assert main([*DARTS, "--seeds", "4-6", "--out", str(out)]) == durable.INTERRUPTED
    assert f"interrupted: 1 of 3 seeds saved to {out}" in capsys.readouterr().err
    result = json.loads(out.read_text())
    assert [r["seed"] for r in result["runs"]] == [4] and result["seeds"] == [4, 5, 6] and not result["complete"]
    monkeypatch.undo()
    assert main([*DARTS, "--epochs", "2", "--seeds", "4-6", "--out", str(out), "--resume"]) == 2
    assert "config.epochs 2 here, 1 in the file" in capsys.readouterr().err


def test_smash_resume_keeps_a_finished_run(tmp_path, capsys):
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    out = tmp_path / "smash.json"
    args = ["oneshot", "smash", "--archs", "3", "--steps", "2", "--out", str(out)]
    assert main(args) == 0
    before = out.read_text()
    assert main([*args, "--resume"]) == 0
    assert "already holds this finished SMASH run" in capsys.readouterr().err and out.read_text() == before
    assert main([*args[:2], "--archs", "4", *args[4:], "--resume"]) == 2
    assert "n_archs 4 here, 3 in the file" in capsys.readouterr().err


# An output that is an input is refused before anything runs.

def test_score_out_equal_to_archs_is_refused_and_the_input_kept(tmp_path, capsys, monkeypatch):
    archs = _archs(tmp_path, NB201[:2])
    before = archs.read_bytes()
    for out in (str(archs), str(tmp_path / "." / "archs.csv")):
        assert main([*SCORE, "--archs", str(archs), "--out", out]) == 2
        err = capsys.readouterr().err
        assert "is the input file of --archs" in err and err.count("\n") == 1
    (tmp_path / "link.csv").symlink_to(archs)
    monkeypatch.chdir(tmp_path)
    assert main([*SCORE, "--archs", "archs.csv", "--out", "link.csv"]) == 2
    assert archs.read_bytes() == before and not (tmp_path / "archs.csv.settings.json").exists()


def test_search_and_correlate_out_equal_to_an_input_is_refused(tmp_path, capsys):
    truth = tmp_path / "truth.csv"
    truth.write_text(f"arch,val_accuracy\n{NB201[0]},90.5\n{NB201[1]},80.0\n")
    before = truth.read_bytes()
    assert main([*SEARCH, "--budget", "2", "--truth", f"{truth}:val_accuracy", "--out", str(truth)]) == 2
    assert "is the input file of --truth" in capsys.readouterr().err
    scores = tmp_path / "scores.csv"
    scores.write_text(f"arch,swap\n{NB201[0]},3\n{NB201[1]},2\n")
    for flag, path in (("--scores", scores), ("--truth", truth)):
        assert main(["correlate", "--scores", str(scores), "--truth", str(truth), "--out", str(path)]) == 2
        assert f"is the input file of {flag}" in capsys.readouterr().err
    assert truth.read_bytes() == before and scores.read_text().startswith("arch,swap\n")


# The durable writes themselves.

def test_write_json_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out.json"
    durable.write_json(path, {"runs": [1]})
    path.chmod(0o640)
    durable.write_json(path, {"runs": [1, 2]})
    assert json.loads(path.read_text()) == {"runs": [1, 2]} and path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(ValueError):
        durable.write_json(path, {"runs": [float("nan")]})  # not strict JSON: nothing written
    assert json.loads(path.read_text()) == {"runs": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary left behind
    with pytest.raises(ValueError, match="cannot write"):
        durable.write_json(tmp_path / "out.json" / "x.json", {})


def test_same_path_sees_through_spelling_and_links(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("arch\n")
    (tmp_path / "b.csv").symlink_to(target)
    assert durable.same_path(target, tmp_path / "sub" / ".." / "a.csv")
    assert durable.same_path(tmp_path / "b.csv", target)
    assert not durable.same_path(target, tmp_path / "c.csv")
    assert durable.same_path(tmp_path / "new.csv", tmp_path / "." / "new.csv")  # neither exists yet


def test_an_error_raised_while_ctrl_c_unwinds_counts_as_the_interrupt():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("trying to pop from empty mode stack")  # as a torch context's exit does
    except RuntimeError as error:
        assert durable.was_interrupted(error)
    assert not durable.was_interrupted(RuntimeError("a real error"))
