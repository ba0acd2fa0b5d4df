"""The command line end to end on a few rows (teaching networks keep it fast)."""
import csv
import subprocess
import sys

import pytest

from swap_core.cli import main, read_arch_file
from conftest import ROOT, require_file

NB201_GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NB201_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _score_lines(tmp_path, lines, proxies, *extra, name="scores.csv"):
    """Run `score` on a text file of `lines` (teaching network, synthetic data): (exit code, rows)."""
    archs = tmp_path / "archs.txt"
    archs.write_text("".join(f"{line}\n" for line in lines))
    out = tmp_path / name
    code = main(["score", "--space", "nb201", "--network", "teaching", "--archs", str(archs),
                 "--proxies", proxies, "--data", "synthetic", *extra, "--out", str(out)])
    return code, _read(out)


def test_score_text_file_reports_bad_line_and_keeps_the_rest(tmp_path, capsys):
    code, rows = _score_lines(tmp_path, [NB201_GOOD, "|bogus~0|", NB201_SKIP], "swap,params,flops")
    assert code == 1
    assert "line 2" in capsys.readouterr().err
    assert [r["arch"] for r in rows] == [NB201_GOOD, NB201_SKIP]
    assert list(rows[0]) == ["arch", "swap", "params", "flops", "seconds"]
    # an all-skip cell has no convolutions in its cells, so fewer parameters than a conv cell
    assert float(rows[1]["params"]) < float(rows[0]["params"])


def test_score_and_correlate_on_benchmark_rows(tmp_path, capsys):
    truth = require_file("zc/nb201_cifar10.csv")
    out = tmp_path / "scores.csv"
    code = main(["score", "--space", "nb201", "--network", "teaching", "--archs", str(truth),
                 "--limit", "12", "--proxies", "swap,params", "--seed", "0", "--out", str(out)])
    assert code == 0
    rows = _read(out)
    assert len(rows) == 12 and all(float(r["swap"]) > 0 for r in rows)
    capsys.readouterr()
    assert main(["correlate", "--scores", str(out), "--truth", f"{truth}:val_accuracy"]) == 0
    printed = capsys.readouterr().out
    assert "12 of 12 architectures" in printed
    assert "swap" in printed and "params" in printed


def test_score_is_reproducible_by_seed(tmp_path):
    values = []
    for name in ("a.csv", "b.csv"):
        _code, rows = _score_lines(tmp_path, [NB201_GOOD], "swap,naswot", "--seed", "3", name=name)
        values.append((rows[0]["swap"], rows[0]["naswot"]))
    assert values[0] == values[1]


def test_csv_arch_column_line_numbers(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('arch,val\n"Genotype(normal=[], x)",1\nabc,2\n')
    assert [n for n, _ in read_arch_file(path)] == [2, 3]


def test_unknown_proxy_is_a_clear_error(tmp_path, capsys):
    archs = tmp_path / "a.txt"
    archs.write_text(NB201_GOOD + "\n")
    code = main(["score", "--space", "nb201", "--archs", str(archs), "--proxies", "swapp",
                 "--data", "synthetic", "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert "unknown proxy 'swapp'" in capsys.readouterr().err


def test_module_entry_point_lists_spaces():
    result = subprocess.run([sys.executable, "-m", "swap_core", "list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "nb201" in result.stdout and "darts" in result.stdout and "swap" in result.stdout


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    command_line = next(line for line in readme[:6] if line.startswith("Run the tests:"))
    command = command_line.split("`")[1]
    ci_lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip()]
    assert ci_lines[-1] == command
    assert "streamlit run app.py" in "\n".join(readme[:6])


def test_fetch_data_command_from_a_file_url(tmp_path, capsys):
    import pandas as pd

    reference = pd.read_csv(require_file("darts1000_cifar10.csv")).head(5)
    original = tmp_path / "DARTS_archs_CIFAR10.csv"
    reference.to_csv(original, index=False, header=False)  # the public file has no header
    code = main(["fetch-data", "--data-dir", str(tmp_path / "data"), "--items", "swap_darts",
                 "--source", f"swap_darts={original.as_uri()}"])
    assert code == 0
    assert str(tmp_path / "data" / "darts1000_cifar10.csv") in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "data" / "darts1000_cifar10.csv"), reference)
    missing = main(["fetch-data", "--data-dir", str(tmp_path / "d2"), "--items", "swap_darts",
                    "--source", f"swap_darts={(tmp_path / 'absent.csv').as_uri()}"])
    assert missing == 1 and "could not download" in capsys.readouterr().err


def test_undefined_score_is_left_empty_and_the_row_kept(tmp_path, capsys):
    # node 1 receives 'none' and everything downstream is built from it: every cell outputs
    # zeros, all samples share one activation code, and NASWOT's kernel is singular (-inf).
    dead = "|none~0|+|skip_connect~0|skip_connect~1|+|none~0|skip_connect~1|none~2|"
    code, rows = _score_lines(tmp_path, [dead, NB201_GOOD], "naswot,params")
    assert code == 1
    err = capsys.readouterr().err
    assert "line 1: left empty" in err and "naswot" in err and "not defined" in err
    assert [r["arch"] for r in rows] == [dead, NB201_GOOD]
    assert rows[0]["naswot"] == "" and float(rows[0]["params"]) > 0
    assert rows[1]["naswot"] != ""


def test_correlate_reference_maps_our_names_to_the_suite_zero_columns(tmp_path, capsys):
    """Scores that copy (or reverse) NAS-Bench-Suite-Zero's columns must agree with them exactly:
    jacob_cov ↔ jacov, naswot ↔ nwot; ensembles are added from the score columns."""
    zc = require_file("zc/nb201_cifar10.csv")
    with open(zc, newline="") as handle:
        rows = list(csv.DictReader(handle))[:30]
    scores = tmp_path / "scores.csv"
    with open(scores, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "synflow", "jacob_cov", "naswot", "snip", "swap", "seconds"])
        for r in rows:
            writer.writerow([r["arch"], r["synflow"], -float(r["jacov"]), r["nwot"], r["snip"], r["params"], 0.1])
    out = tmp_path / "table.csv"
    code = main(["correlate", "--scores", str(scores), "--truth", str(zc), "--reference", str(zc),
                 "--ensemble", "vote", "--ensemble", "rank_average:synflow,snip", "--out", str(out)])
    assert code == 0
    table = {r["proxy"]: r for r in _read(out)}
    assert float(table["synflow"]["rho_vs_reference"]) == pytest.approx(1.0)
    assert table["jacob_cov"]["reference_column"] == "jacov"
    assert float(table["jacob_cov"]["rho_vs_reference"]) == pytest.approx(-1.0)
    assert table["naswot"]["reference_column"] == "nwot"
    assert float(table["naswot"]["spearman"]) == pytest.approx(float(table["naswot"]["reference_spearman"]))
    assert table["swap"].get("reference_column", "") == ""  # no swap column in the suite's files
    assert {"vote", "rank_average(synflow+snip)"} <= set(table)
    assert "rho_vs_ref" in capsys.readouterr().out
    code = main(["correlate", "--scores", str(scores), "--truth", str(zc), "--ensemble", "vote:synflow,zen"])
    assert code == 2 and "lacks" in capsys.readouterr().err


def test_score_all_proxies_on_a_teaching_network(tmp_path):
    from swap_core.proxies import list_proxies

    code, rows = _score_lines(tmp_path, [NB201_GOOD], "all", "--batch-size", "32")  # NEAR: ≥ 32 channels
    assert list(rows[0])[1:-1] == list_proxies()
    assert all(rows[0][name] != "" for name in list_proxies()), rows[0]


def test_proxy_bench_reports_seconds_and_ratios():
    from swap_core.bench import run_proxy_bench

    lines = []
    records = run_proxy_bench(["synflow", "snip", "grad_norm"], batch=4, n_archs=1, preset="teaching",
                              log=lines.append)
    assert [r["proxy"] for r in records] == ["synflow", "snip", "grad_norm", "all (shared)"]
    assert all(r["seconds"] > 0 and r["per_forward"] > 0 for r in records)
    assert "x forward" in lines[1] and "sharing saves" in lines[-1]


def test_transnas_tasks_are_datasets_and_a_wrong_one_is_named(tmp_path, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text("64-41414-3_13_023\n64-41414-1_02_333\n")
    out = tmp_path / "scores.csv"
    assert main(["score", "--space", "tnb101_micro", "--network", "teaching", "--archs", str(archs),
                 "--proxies", "swap,params", "--data", "synthetic", "--out", str(out)]) == 0  # default task
    rows = list(csv.DictReader(open(out)))
    assert [r["arch"] for r in rows] == ["64-41414-3_13_023", "64-41414-1_02_333"] and float(rows[0]["swap"]) > 0
    code = main(["score", "--space", "tnb101_micro", "--dataset", "cifar100", "--archs", str(archs),
                 "--proxies", "swap", "--data", "synthetic", "--out", str(out)])
    assert code == 2 and "has no dataset 'cifar100'" in capsys.readouterr().err
    assert main(["search", "--space", "nb101", "--algo", "random", "--budget", "3", "--objective", "swap",
                 "--data", "synthetic", "--out", str(tmp_path / "runs.json")]) == 0
