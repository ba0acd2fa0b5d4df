"""Ground-truth tables: inventory, lookups, missing files, caching, the data-dir default."""
from pathlib import Path

import pytest

from conftest import require_file
from swap_core import benchmarks

ROW1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_inventory_lists_every_known_file(data_dir):
    records = benchmarks.inventory(data_dir)
    files = [r["file"] for r in records]
    assert files[:3] == ["cifar10_sample.npz", "nb201_accuracy.csv", "darts1000_cifar10.csv"]
    assert "zc/nb201_cifar10.csv" in files and "zc/tnb101_macro_segmentsemantic.csv" in files
    assert len(files) == 3 + 3 + 1 + 1 + 7 + 7
    for record in records:
        assert record["present"] == (data_dir / record["file"]).is_file()
        assert record["how_to_get"].startswith("python -m swap_core fetch-data")
        assert record["what"] and record["source"]
    assert all(r["present"] for r in records), "the reference data dir should hold every file"


def test_inventory_of_an_empty_dir_says_all_missing(tmp_path):
    records = benchmarks.inventory(tmp_path)
    assert records and not any(r["present"] for r in records)
    assert benchmarks.list_zc(tmp_path) == []


def test_nb201_accuracy_table(data_dir):
    table = benchmarks.load_nb201_accuracy(data_dir)
    assert list(table.columns) == ["index", "arch", "cifar10_test", "cifar100_test", "imagenet16_120_test"]
    assert len(table) == 15625 and table["arch"].is_unique
    assert round(table["cifar10_test"].max(), 2) == 94.37


def test_truth_table_lookups(data_dir):
    cifar10 = benchmarks.truth_table("nb201_accuracy.csv:cifar10_test", data_dir=data_dir)
    assert len(cifar10) == 15625
    assert round(max(cifar10.values()), 2) == 94.37
    assert cifar10[ROW1] == pytest.approx(93.66)
    assert benchmarks.truth_table("nb201_accuracy.csv", data_dir=data_dir)[ROW1] == cifar10[ROW1]
    cifar100 = benchmarks.truth_table("nb201_accuracy.csv", "cifar100", data_dir=data_dir)
    assert cifar100[ROW1] == pytest.approx(70.2933, abs=1e-3)
    assert benchmarks.lookup(ROW1, data_dir=data_dir) == cifar10[ROW1]
    assert benchmarks.lookup("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x", data_dir=data_dir) is None
    with pytest.raises(TypeError):
        cifar10[ROW1] = 0.0  # read-only: it is shared through the cache


def test_zc_and_darts_tables(data_dir):
    zc = benchmarks.load_zc("nb201", "cifar10", data_dir)
    assert list(zc.columns) == list(benchmarks.ZC_COLUMNS)
    truth = benchmarks.truth_table("zc/nb201_cifar10.csv:val_accuracy", data_dir=data_dir)
    assert len(truth) == len(zc) and truth[zc["arch"][0]] == zc["val_accuracy"][0]
    params = benchmarks.truth_table("zc/nb301_cifar10.csv", "params", data_dir=data_dir)
    assert 0.1 < min(params.values()) < max(params.values()) < 3
    assert benchmarks.load_zc("darts", data_dir=data_dir).equals(benchmarks.load_zc("nb301", data_dir=data_dir))
    assert ("tnb101_micro", "jigsaw") in benchmarks.list_zc(data_dir)
    darts = benchmarks.load_darts1000(data_dir)
    assert list(darts.columns) == ["arch", "val_accuracy"] and len(darts) == 600
    assert len(benchmarks.truth_table("darts1000_cifar10.csv:val_accuracy", data_dir=data_dir)) == 600


def test_tables_come_as_copies(data_dir):
    table = benchmarks.load_nb201_accuracy(data_dir)
    table["cifar10_test"] = 0.0
    assert benchmarks.load_nb201_accuracy(data_dir)["cifar10_test"].max() > 90


def test_missing_file_says_what_and_how(tmp_path):
    with pytest.raises(benchmarks.MissingDataError) as info:
        benchmarks.load_zc("nb201", "cifar100", tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert "zc/nb201_cifar100.csv" in message and "NAS-Bench-Suite-Zero" in message
    assert "python -m swap_core fetch-data --items zc_nasbench201" in message
    with pytest.raises(benchmarks.MissingDataError, match="NATS-Bench"):
        benchmarks.truth_table("nb201_accuracy.csv:cifar10_test", data_dir=tmp_path)
    with pytest.raises(benchmarks.MissingDataError, match="not found"):
        benchmarks.truth_table("no_such_file.csv", data_dir=tmp_path)


def test_bad_names_and_columns(tmp_path):
    with pytest.raises(ValueError, match="known"):
        benchmarks.load_zc("nb201", "imagenet", tmp_path)
    table = tmp_path / "scores.csv"
    table.write_text("arch,val_accuracy\na,1.0\n")
    with pytest.raises(KeyError, match="val_accuracy"):
        benchmarks.truth_table(f"{table}:missing_column")


def test_any_csv_path_and_cache_invalidation(tmp_path):
    table = tmp_path / "truth.csv"
    table.write_text("arch,val_accuracy,other\na,1.5,\nb,2.5,7\n")
    assert dict(benchmarks.truth_table(str(table))) == {"a": 1.5, "b": 2.5}
    assert dict(benchmarks.truth_table(f"{table}:other")) == {"b": 7.0}  # empty cells left out
    table.write_text("arch,val_accuracy\na,10.25\n")
    assert dict(benchmarks.truth_table(str(table))) == {"a": 10.25}
    assert dict(benchmarks.truth_table("truth.csv", data_dir=tmp_path)) == {"a": 10.25}


def test_data_dir_from_env_or_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path / "mine"))
    assert benchmarks.data_dir() == tmp_path / "mine"
    monkeypatch.delenv("SWAP_EXPLORER_DATA")
    monkeypatch.setenv("SWAP_EXPLORER_CACHE", str(tmp_path / "cache"))
    assert benchmarks.data_dir() == tmp_path / "cache" / "data"
    monkeypatch.delenv("SWAP_EXPLORER_CACHE")
    if benchmarks.sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert benchmarks.data_dir() == tmp_path / "xdg" / "swap-explorer" / "data"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert benchmarks.data_dir() == Path.home() / ".cache" / "swap-explorer" / "data"


def test_default_data_dir_is_used(monkeypatch):
    path = require_file("nb201_accuracy.csv")
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(path.parent))
    assert len(benchmarks.truth_table("nb201_accuracy.csv")) == 15625
