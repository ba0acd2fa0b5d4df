"""The few-shot learned predictor (swap_core/predictor.py) and its `predict` command."""
from __future__ import annotations

import csv
import math
import random

import numpy as np
import pytest

from swap_core import predictor as P
from swap_core.cli import main
from swap_core.spaces import get_space

NB201 = get_space("nb201")
DARTS = get_space("darts")
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
# node 3 is fed only from node 2, which has no input: the conv on 2->3 is dead, the output cut off
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"


# --------------------------------------------------------------------------- graph features
def test_nb201_resnet_cell_hand_counted():
    f = P.graph_features(NB201, RESNET)
    # edges: 0-1 conv3, 1-2 conv3, 0-3 skip, 2-3 skip (0-2, 1-3 none)
    assert f["count_nor_conv_3x3"] == 2 and f["count_skip_connect"] == 2 and f["count_none"] == 2
    assert f["count_nor_conv_1x1"] == 0 and f["count_avg_pool_3x3"] == 0
    assert f["n_paths"] == 2               # 0-3 and 0-1-2-3
    assert f["depth"] == 3 and f["min_path"] == 1
    assert f["param_ops_on_longest_path"] == 2
    assert f["n_skip_only_paths"] == 1     # 0-3
    assert f["n_param_free_paths"] == 1 and f["n_param_paths"] == 1
    assert f["out_degree_input"] == 2 and f["in_degree_output"] == 2
    assert f["disconnected"] == 0
    assert f["min_path[nor_conv_3x3]"] == 7  # no conv-only path: the sentinel (6 edges + 1)
    assert f["max_path[skip_connect+nor_conv_3x3]"] == 3
    assert f["min_path[skip_connect]"] == 1 and f["max_path[skip_connect]"] == 1


def test_nb201_all_skip_and_dead_cell():
    f = P.graph_features(NB201, ALL_SKIP)
    assert f["n_paths"] == 4 and f["n_skip_only_paths"] == 4  # 0-3, 0-1-3, 0-2-3, 0-1-2-3
    assert f["depth"] == 3 and f["min_path"] == 1 and f["param_ops_on_longest_path"] == 0
    assert f["out_degree_input"] == 3 and f["in_degree_output"] == 3
    g = P.graph_features(NB201, DEAD)
    assert g["disconnected"] == 1 and g["n_paths"] == 0 and g["depth"] == 0
    assert g["count_nor_conv_3x3"] == 1 and g["effective_nor_conv_3x3"] == 0  # counted, but on no path
    assert g["in_degree_output"] == 1 and g["out_degree_input"] == 0


def test_darts_v2_hand_counted():
    f = P.graph_features(DARTS, DARTS.example)
    # normal: node 2 <- sep3(0), sep3(1); 3 <- sep3(0), sep3(1); 4 <- sep3(1), skip(0); 5 <- skip(0), dil3(2)
    assert f["normal_count_sep_conv_3x3"] == 5 and f["normal_count_skip_connect"] == 2
    assert f["normal_count_dil_conv_3x3"] == 1
    assert f["normal_n_paths"] == 9           # 2 + 2 + 2 + (1 + 2 through node 2)
    assert f["normal_depth"] == 2             # c_{k-2} -> 2 -> 5
    assert f["normal_param_ops_on_longest_path"] == 2
    assert f["normal_n_skip_only_paths"] == 2
    assert f["normal_out_degree_input"] == 7 and f["normal_in_degree_output"] == 4
    # reduce: 2 <- max(0), max(1); 3 <- skip(2), max(1); 4 <- max(0), skip(2); 5 <- skip(2), max(1)
    assert f["reduce_count_max_pool_3x3"] == 5 and f["reduce_count_skip_connect"] == 3
    assert f["reduce_n_paths"] == 11 and f["reduce_n_param_paths"] == 0
    assert f["reduce_out_degree_input"] == 5 and f["reduce_depth"] == 2
    assert f["reduce_max_path[pools]"] == 1 and f["reduce_max_path[pools+skip]"] == 2


def test_other_spaces_fall_back_to_op_counts():
    space = get_space("nb101")
    f = P.graph_features(space, space.example)
    assert any(key.startswith("count_") for key in f) and f["n_nodes"] >= 2
    micro = get_space("tnb101_micro")
    g = P.graph_features(micro, micro.example)
    assert "n_paths" in g and "depth" in g  # a micro cell is an NB201-like edge cell


# --------------------------------------------------------------------------- protocol
def _cells(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < n:
        found[NB201.sample(rng).to_str()] = None
    return list(found)


def _accuracy(arch: str, noise: float) -> float:
    f = P.graph_features(NB201, arch)
    return 60 + 4 * f["effective_nor_conv_3x3"] + 2 * f["effective_nor_conv_1x1"] - 40 * f["disconnected"] + noise


def _write_file(path, archs, with_zc=True, seed=0):
    rng = random.Random(seed)
    header = ["arch", "val_accuracy"] + (list(P.ZC_FILE_COLUMNS) if with_zc else [])
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for arch in archs:
            acc = _accuracy(arch, rng.gauss(0, 0.5))
            zc = [f"{acc + rng.gauss(0, 3):.4f}" for _ in P.ZC_FILE_COLUMNS[:-1]] + [""]  # zen empty, as in the zc files
            writer.writerow([arch, f"{acc:.4f}"] + (zc if with_zc else []))
    return path


@pytest.fixture
def small_file(tmp_path):
    return _write_file(tmp_path / "small.csv", _cells(40))


def test_zero_cost_source_rule(small_file, tmp_path):
    plain = _write_file(tmp_path / "plain.csv", _cells(20, 1), with_zc=False)
    train = P.read_table(str(small_file), NB201, True)
    assert P.zero_cost_source(train, train) == list(P.ZC_FILE_COLUMNS[:-1])  # zen is empty: left out
    assert P.zero_cost_source(train, P.read_table(str(plain), NB201, False)) == []  # then our proxies for all


def test_train_and_test_are_disjoint(small_file):
    _, train, test = P.load("nb201", str(small_file), str(small_file))
    model = P.Predictor(NB201, train, test, features="graph+zc")
    for seed in range(3):
        result = model.run(10, seed)
        assert len(result.train_archs) == 10 and len(result.test_archs) == 30
        assert not set(result.train_archs) & set(result.test_archs)
        sampled = model.run(10, seed, test_sample=5)
        assert len(sampled.test_archs) == 5 and not set(sampled.train_archs) & set(sampled.test_archs)

def test_disjoint_when_strings_differ(small_file, tmp_path):
    """The same cell written with spaces in another file is still a training cell: left out."""
    _, train, _ = P.load("nb201", str(small_file), str(small_file))
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("arch,val_accuracy\n" + "".join(f"\" {a} \",{i}\n" for i, a in enumerate(train.archs)))
    test = P.read_table(str(spaced), NB201, False)
    result = P.Predictor(NB201, train, test, features="graph").run(10, 0)
    assert len(result.test_archs) == 30 and not set(result.train_archs) & set(result.test_archs)


def test_same_seed_same_predictions(small_file):
    _, train, test = P.load("nb201", str(small_file), str(small_file))
    a = P.Predictor(NB201, train, test, features="graph+zc").run(20, 3)
    b = P.Predictor(NB201, train, test, features="graph+zc").run(20, 3)
    assert a.train_archs == b.train_archs and a.test_archs == b.test_archs
    np.testing.assert_array_equal(a.predictions, b.predictions)
    c = P.Predictor(NB201, train, test, features="graph+zc").run(20, 4)
    assert c.train_archs != a.train_archs


def test_training_draws_are_nested():
    table = P.Table("t", _cells(30), np.arange(30.0), "val_accuracy", None)
    assert P.draw_train(table, 5, 7) == P.draw_train(table, 12, 7)[:5]


def test_graph_features_learn_a_graph_function(small_file):
    _, train, test = P.load("nb201", str(small_file), str(small_file))
    result = P.Predictor(NB201, train, test, features="graph").run(30, 0)
    assert result.spearman > 0.7  # the synthetic accuracy is a function of graph features


# --------------------------------------------------------------------------- command line
def test_cli_predict_small_file(small_file, tmp_path, capsys):
    out = tmp_path / "preds.csv"
    curve = tmp_path / "curve.csv"
    code = main(["predict", "--train", f"{small_file}:val_accuracy", "--k", "10", "--test", str(small_file),
                 "--out", str(out), "--curve", "5,10", "--repeats", "2", "--curve-out", str(curve)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "uses 10 trained accuracies" in captured.out and "Spearman ρ" in captured.out
    assert "the files' columns" in captured.out + captured.err  # no network was scored
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30 and set(rows[0]) == {"arch", "predicted", "truth", "uses_trained_accuracies"}
    assert all(r["uses_trained_accuracies"] == "10" for r in rows)
    with open(curve) as handle:
        points = list(csv.DictReader(handle))
    assert [p["k"] for p in points] == ["5", "10"] and all(math.isfinite(float(p["spearman_mean"])) for p in points)


def test_cli_help_says_it_uses_trained_accuracies(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "USES K TRAINED ACCURACIES" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--k", "50"], "--k 50 is more than the 40 rows"),
    (["--k", "10", "--train-column", "nope"], "no column 'nope'"),
    (["--k", "10", "--zc", "file", "--test-plain"], "--zc file"),
    (["--k", "10", "--space", "darts"], "not a darts architecture"),
    (["--curve", "1,x"], "--curve wants"),
])
def test_cli_bad_input_one_line(small_file, tmp_path, capsys, args, message):
    train = f"{small_file}:val_accuracy"
    test = str(small_file)
    if "--train-column" in args:
        train = f"{small_file}:{args[args.index('--train-column') + 1]}"
        args = [a for a in args if a not in ("--train-column", "nope")]
    if "--test-plain" in args:
        test = str(_write_file(tmp_path / "plain.csv", _cells(20, 1), with_zc=False))
        args = [a for a in args if a != "--test-plain"]
    code = main(["predict", "--train", train, "--test", test, *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err, err


def test_cli_unknown_space(small_file, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", "--space", "nb999", "--train", str(small_file), "--k", "5", "--test", str(small_file)])
    assert stop.value.code == 2 and "nb999" in capsys.readouterr().err


def test_zc_file_at_k400(data_dir):
    """NAS-Bench-Suite-Zero's 434 NB201 cells with their own zero-cost columns: 400 to train,
    the 34 others to judge (a small test set: only a loose bound)."""
    _, train, test = P.load("nb201", "zc/nb201_cifar10.csv:val_accuracy", "zc/nb201_cifar10.csv:val_accuracy")
    model = P.Predictor(NB201, train, test, features="graph+zc")
    assert model.zc_columns and "zen" not in model.zc_columns
    result = model.run(400, 0)
    assert len(result.test_archs) == 34 and result.spearman > 0.8


@pytest.mark.slow
def test_proxy_features_of_two_cells(tmp_path):
    from swap_core.store import ScoreStore

    features = P.ProxyFeatures("nb201", proxies=("synflow", "naswot"), batch=8, images="noise",
                               store=ScoreStore(tmp_path / "s.sqlite"))
    frame = features([RESNET, ALL_SKIP])
    assert list(frame.columns) == ["synflow", "naswot", *P.SIZE_FEATURES]
    assert np.isfinite(frame.to_numpy()).all() and features.computed == 2
    again = features([RESNET])
    assert features.computed == 2 and again.loc[RESNET].equals(frame.loc[RESNET])  # cached


def test_cli_missing_file_and_no_k(small_file, tmp_path, capsys):
    code = main(["predict", "--train", str(tmp_path / "absent.csv"), "--k", "5", "--test", str(small_file)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "absent.csv" in err and "not found" in err and "\n" not in err, err
    code = main(["predict", "--train", str(small_file), "--test", str(small_file)])
    assert code == 2 and "give --k" in capsys.readouterr().err
