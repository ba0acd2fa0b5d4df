"""The speed benchmark runs end to end on tiny settings (no timing assertions: speed goals
live in the benchmark itself, `run_bench()`, never in unit tests)."""
from __future__ import annotations

import json

import pytest
import torch.nn as nn

from swap_core.bench import DARTS_V2, NB201_ALL_CONV3X3, benchmark_networks, run_bench

KEYS = {"network", "batch", "forward_s", "swap_s", "naive_s"}


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_run_bench_records_table_and_json(tmp_path):
    lines: list[str] = []
    path = tmp_path / "bench.json"
    records = run_bench(batch_sizes=(4, 24, 70), repeats=1, json_path=path, log=lines.append,
                        networks={"tiny": tiny}, input_size=8)
    assert [(r["network"], r["batch"]) for r in records] == [("tiny", 4), ("tiny", 24), ("tiny", 70)]
    assert all(set(r) == KEYS and r["forward_s"] > 0 and r["swap_s"] > 0 and r["naive_s"] > 0 for r in records)
    assert json.loads(path.read_text()) == records
    assert "swap/fwd" in lines[0] and "naive/swap" in lines[0] and len(lines) == 4


def test_benchmark_networks_build():
    try:
        builders = benchmark_networks("teaching")
        nets = {name: build() for name, build in builders.items()}
    except (ImportError, ValueError) as error:  # a space still being written elsewhere
        pytest.skip(f"search spaces not available: {error}")
    assert set(nets) == {"nb201", "nb301"}
    records = run_bench(batch_sizes=(2,), repeats=1, log=None, networks=builders)
    assert len(records) == 2
    assert NB201_ALL_CONV3X3.count("nor_conv_3x3") == 6 and DARTS_V2.startswith("Genotype(")


def test_designer_bench_times_a_chain_of_edits():
    from swap_core.bench import run_designer_bench
    from swap_core.proxies import get_proxy, list_proxies

    lines: list[str] = []
    record = run_designer_bench("nb201", "teaching", batch=8, edits=2, log=lines.append)
    assert record["edits"] == 2 and record["proxies"] == sum(not get_proxy(n).per_sample_passes for n in list_proxies()) and 0 < record["seconds_per_edit"] <= record["max_seconds"]
    assert record["per_budget"] == pytest.approx(record["seconds_per_edit"])
    assert "x the 1 s goal" in lines[0]
