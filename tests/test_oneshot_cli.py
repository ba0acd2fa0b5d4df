"""`python -m swap_core oneshot darts|smash` on tiny settings: the JSON the issue asks for, with
the torch thread count the command fixed for its process at start."""
import json

import pytest
import torch

from conftest import require_file
from swap_core.cli import main


@pytest.fixture(autouse=True)
def keep_the_thread_count():
    """A command fixes its process's thread count; here the process is the test runner's."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_oneshot_darts_writes_one_run_per_selection_and_seed(tmp_path, capsys):
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    out = tmp_path / "darts.json"
    assert main(["oneshot", "darts", "--selection", "magnitude,perturbation", "--seeds", "0", "--epochs", "1",
                 "--channels", "4", "--images", "128", "--data", "cifar10-sample", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert torch.get_num_threads() == 1 and result["config"]["threads"] == 1  # fixed at start and recorded
    assert (result["config"]["n_train"], result["config"]["n_val"], result["config"]["source"]) == \
        (128, 128, "cifar10-sample")
    assert [(r["selection"], r["seed"]) for r in runs] == [("magnitude", 0), ("perturbation", 0)]
    assert all({"arch", "accuracy", "seconds"} <= set(r) and r["arch"].startswith("|") for r in runs)
    assert all(50 < r["accuracy"] < 95 for r in runs)  # a real NB201 cell's benchmark accuracy
    assert "magnitude" in capsys.readouterr().out


def test_oneshot_darts_flops_weights_land_in_the_json_and_resume_checks_them(tmp_path, capsys):
    out = tmp_path / "darts.json"
    argv = ["oneshot", "darts", "--selection", "magnitude", "--flops-weight", "0,2", "--seeds", "0", "--epochs", "1",
            "--channels", "4", "--images", "64", "--data", "noise", "--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["flops_weights"] == [0.0, 2.0] and "flops_weight" not in result["config"] and result["complete"]
    runs = result["runs"]
    assert [(r["flops_weight"], r["seed"], r["selection"]) for r in runs] == \
        [(0.0, 0, "magnitude"), (2.0, 0, "magnitude")]
    assert all(7 < r["mflops"] < 221 and len(r["mflops_history"]) == 2 for r in runs)  # NB201 benchmark range
    assert runs[1]["mflops_history"][-1] < runs[0]["mflops_history"][-1]  # λ = 2 priced the convolutions down
    printed = capsys.readouterr().out
    assert "MFLOPs" in printed and runs[1]["arch"] in printed
    assert main(argv + ["--resume"]) == 0  # nothing left to run: the same file back
    assert json.loads(out.read_text())["runs"] == runs
    assert "2 of 2 (λ, seed) runs found" in capsys.readouterr().err
    assert main([*argv[:5], "0,3", *argv[6:], "--resume"]) == 2
    assert "flops_weights" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["-1", "abc", "nan", "0,0", ""])
def test_oneshot_bad_flops_weight_is_a_one_line_error(bad, capsys):
    assert main(["oneshot", "darts", "--flops-weight", bad, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--flops-weight" in err and len(err.splitlines()) == 1


def test_oneshot_smash_writes_scores_and_spearman(tmp_path, capsys):
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    out = tmp_path / "smash.json"
    assert main(["oneshot", "smash", "--archs", "6", "--steps", "10", "--seed", "0", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["archs"]) == 6 and -1 <= result["spearman"] <= 1
    assert result["settings"]["threads"] == torch.get_num_threads() == 1
    assert "Spearman" in capsys.readouterr().out


def test_oneshot_bad_selection_is_a_clear_error(capsys):
    assert main(["oneshot", "darts", "--selection", "bogus", "--epochs", "1"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_help_works(capsys):
    for method in ("darts", "smash"):
        with pytest.raises(SystemExit) as exit_:
            main(["oneshot", method, "--help"])
        assert exit_.value.code == 0 and "--threads" in capsys.readouterr().out


def test_oneshot_bad_thread_count_is_a_clear_error(capsys):
    # refused by the option's type (cli_helpers.positive_int), argparse's one line and exit 2
    for argv in (["oneshot", "smash", "--threads", "0", "--archs", "2", "--steps", "1"],
                 ["oneshot", "darts", "--threads", "-1", "--epochs", "1"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "argument --threads" in err and "must be at least 1" in err
