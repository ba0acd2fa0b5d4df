"""Latency measured and predicted (swap_core.latency, swap_core.latency_command): caching,
the lookup table's sum, the learned predictor's JSON round trip and margin, the study's
held-out cells, the command line's output and its errors. Teaching networks, 1-2 passes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from swap_core import latency, latency_model
from swap_core.cli import main
from swap_core.latency_command import draw_split, latency_study
from swap_core.setup import Setup
from swap_core.store import ScoreStore
from ui.latency_figures import latency_curve, predicted_vs_measured

ROOT = Path(__file__).resolve().parents[1]
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
FAST = {"repeats": 1, "warmup": 0}


@pytest.fixture
def store(tmp_path) -> ScoreStore:
    return ScoreStore(tmp_path / "scores.sqlite")


@pytest.fixture
def setup() -> Setup:
    return Setup(space="nb201", preset="teaching", device="cpu")


def test_measure_latency_is_positive_and_restores_the_mode(setup):
    model = setup.network(ALL_CONV)
    model.train(True)
    assert latency.measure_latency(model, latency.zero_inputs(setup, 1), repeats=2, warmup=1) > 0
    assert model.training
    with pytest.raises(ValueError, match="repeats"):
        latency.measure_latency(model, latency.zero_inputs(setup, 1), repeats=0)
    with pytest.raises(ValueError, match="unknown clock"):
        latency.measure_latency(model, latency.zero_inputs(setup, 1), clock="sundial")


def test_the_search_costs_time_with_the_same_function():
    from swap_core.search import efficiency

    assert efficiency.measure_latency is latency.measure_latency


def test_second_measurement_comes_from_the_store(setup, store, monkeypatch):
    first = latency.measure_cell(setup, ALL_CONV, **FAST, store=store)
    monkeypatch.setattr(latency, "measure_latency", lambda *a, **k: pytest.fail("measured again"))
    # another Setup that differs only in what does not change the time: same timing key
    assert latency.measure_cell(setup.replace(seed=7, batch=16), ALL_CONV, **FAST, store=store) == first
    entry = store.get(latency.timing_setup(setup), ALL_CONV, latency.LATENCY, latency.timing_options(1, 1, 0))
    assert entry is not None and entry.value == first and entry.value > 0


def test_other_settings_are_kept_apart(setup, store):
    latency.measure_cell(setup, ALL_CONV, batch=1, **FAST, store=store)
    latency.measure_cell(setup, ALL_CONV, batch=2, **FAST, store=store)
    latency.measure_cell(setup, ALL_CONV, batch=1, repeats=2, warmup=0, store=store)
    assert store.count(latency.timing_setup(setup)) == 3
    options = latency.timing_options(1, 1, 0)
    assert options["threads"] == torch.get_num_threads() and options["clock"] == "wall"


def test_rounds_keep_each_cells_fastest(setup, store):
    archs = latency.draw_cells(setup.space_obj, 3, 5)
    values = latency.measure_cells(setup, archs, **FAST, store=store, rounds=2)
    assert store.count(latency.timing_setup(setup)) == 6
    rounds = [[latency.measure_cell(setup, a, **FAST, store=store, round=r) for a in archs] for r in (0, 1)]
    assert np.array_equal(values, np.minimum(*rounds))
    with pytest.raises(ValueError, match="rounds"):
        latency.measure_cells(setup, archs, **FAST, store=store, rounds=0)


def test_lookup_table_is_fixed_plus_its_parts(setup, store):
    table = latency.build_lookup_table(setup, repeats=2, warmup=1, store=store)
    cells = len([m for m in setup.network(ALL_CONV).modules() if isinstance(m, latency.EdgeCell)])
    assert cells == 3  # teaching: one cell per stage
    for arch in (ALL_NONE, ALL_CONV, setup.space_obj.example):
        parts = table.parts_of(arch)
        assert len(parts) == cells * 6 and min(parts) >= 0
        assert table(arch) == pytest.approx(table.fixed_ms + sum(parts))
    assert table(ALL_CONV) > table(ALL_NONE)
    assert np.allclose(table.predict([ALL_NONE, ALL_CONV]), [table(ALL_NONE), table(ALL_CONV)])


def test_no_lookup_table_where_the_edges_are_not_fixed(store):
    with pytest.raises(ValueError, match="no lookup table for nb101"):
        latency.build_lookup_table(Setup(space="nb101", preset="teaching"), **FAST, store=store)


def _synthetic(setup, n=40):
    """Cells with a made-up latency (convolutions cost, the rest is cheap): no timing needed."""
    archs = latency.draw_cells(setup.space_obj, n, 3)
    cost = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.5, "skip_connect": 0.0, "none": 0.1}
    ms = [1.0 + sum(cost[op] for op in setup.space_obj.from_str(a).ops) for a in archs]
    return archs, ms


def test_learned_predictor_round_trips_through_json(setup):
    archs, ms = _synthetic(setup)
    model = latency_model.fit_latency_predictor(setup, archs, ms, seed=0)
    assert model.margin_ms >= 0 and model.n_train == len(archs)
    others = latency.draw_cells(setup.space_obj, 10, 99, exclude=archs)
    again = latency_model.LatencyPredictor.from_json(model.to_json())
    assert np.array_equal(model.predict(others), again.predict(others))
    assert again(others[0]) == pytest.approx(float(again.predict(others[:1])[0]))
    assert again(ALL_CONV) > again(ALL_NONE)


def test_latency_predictor_measures_and_fits(setup, store):
    model = latency_model.latency_predictor(setup, n=10, seed=1, **FAST, store=store)
    assert model.n_train == 10 and store.count(latency.timing_setup(setup)) == 10
    assert model.settings["repeats"] == 1 and np.isfinite(model(ALL_CONV))


def test_held_out_cells_are_never_training_cells(setup):
    train, held = draw_split(setup, 30, 20, seed=4)
    assert len(train) == 30 and len(held) == 20 and not set(train) & set(held)
    assert not set(latency.uniform_cells(setup.space_obj)) & set(held)


def test_study_states_measure_then_judge(setup, store):
    states = list(latency_study(setup, measure=10, holdout=4, seed=0, curve=(5, 10, 50), store=store, **FAST))
    assert [s.measured for s in states if s.stage == "measure"] == list(range(1, 15))
    final = states[-1]
    assert final.stage == "done" and set(final.predictors) == {"lookup", "learned"}
    assert [p["n"] for p in final.curve if p["predictor"] == "learned"] == [5, 10]  # 50 > measure: left out
    assert len(final.cells) == 4 and all({"measured_ms", "lookup_ms", "learned_ms"} <= set(c) for c in final.cells)
    assert final.predictors["learned"]["ms_per_cell"] > 0


@pytest.mark.parametrize("argv, message", [
    (["--space", "foo"], "unknown search space"),
    (["--holdout", "1"], "holdout must be at least 2"),
    (["--measure", "5"], "measure must be at least 10"),
    (["--curve", "2,10"], "at least 5"),
])
def test_bad_input_is_one_line(argv, message, capsys):
    assert main(["latency", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_command_writes_the_documented_json(tmp_path):
    out = tmp_path / "latency.json"
    args = ["latency", "--space", "nb201", "--network", "teaching", "--measure", "10", "--holdout", "4",
            "--repeats", "1", "--warmup", "0", "--curve", "5,10", "--store", str(tmp_path / "s.sqlite"),
            "--out", str(out), "--model-out", str(tmp_path / "model.json")]
    done = subprocess.run([sys.executable, "-m", "swap_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert "spearman" in done.stdout and "learned" in done.stdout
    result = json.loads(out.read_text())
    assert set(result) >= {"predictors", "curve", "cells", "setup"}
    for record in result["predictors"].values():
        assert {"spearman", "rmse", "ms_per_cell"} <= set(record)
    assert {"n", "predictor", "spearman", "rmse"} <= set(result["curve"][0])
    assert {"arch", "measured_ms", "learned_ms", "lookup_ms"} <= set(result["cells"][0])
    assert result["setup"]["threads"] == 1 and result["setup"]["preset"] == "teaching"
    assert out.with_suffix(".csv").read_text().startswith("arch,measured_ms")
    model = latency_model.LatencyPredictor.from_json((tmp_path / "model.json").read_text())
    assert model.n_train == 10


def test_figures_reshape_the_records():
    cells = [{"arch": "a", "measured_ms": 1.0, "lookup_ms": 1.1, "learned_ms": 0.9},
             {"arch": "b", "measured_ms": 2.0, "lookup_ms": 1.8, "learned_ms": 2.1}]
    results = {"learned": {"spearman": 1.0, "rmse": 0.1}}
    figure = predicted_vs_measured(cells, ["lookup", "learned"], results)
    assert len(figure.data) == 3 and "ρ 1.000" in figure.data[1].name
    curve = [{"n": n, "predictor": p, "spearman": 0.5, "rmse": 1.0} for n in (10, 25) for p in ("learned", "lookup")]
    figure = latency_curve(curve)
    assert len(figure.data) == 4 and figure.layout.xaxis.type == "log"
