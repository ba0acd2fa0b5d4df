"""Tests of the NAS-Bench-201 space: strings, search operations, graph, network, and the
network's parameter counts / FLOPs against the benchmark's own columns."""
from __future__ import annotations

import csv
import dataclasses
import os
import random
from functools import lru_cache
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from scipy.stats import spearmanr

from swap_core.netstats import count_flops, count_params
from swap_core.spaces.nb201 import EDGES, EXAMPLE, OPS, NB201Arch, NB201Space

SPACE = NB201Space()
ZC_FILES = {"cifar10": "nb201_cifar10.csv", "cifar100": "nb201_cifar100.csv", "imagenet16-120": "nb201_imagenet16-120.csv"}


def data_file(relative: str) -> Path:
    """A file of the reference data dir, or skip the test saying what is missing."""
    root = os.environ.get("SWAP_EXPLORER_DATA")
    if not root:
        pytest.skip("SWAP_EXPLORER_DATA is not set (point it at the reference data, e.g. ../shared/data)")
    path = Path(root) / relative
    if not path.is_file():
        pytest.skip(f"reference data file {path} is missing")
    return path


def read_rows(relative: str) -> list[dict[str, str]]:
    with open(data_file(relative), newline="") as f:
        return list(csv.DictReader(f))


# --- strings ---------------------------------------------------------------------------
def test_example_round_trips_and_edge_order():
    arch = NB201Arch.from_str(EXAMPLE)
    assert arch.to_str() == EXAMPLE == SPACE.example
    assert arch.ops == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@pytest.mark.parametrize("relative", ["nb201_accuracy.csv", *(f"zc/{name}" for name in ZC_FILES.values())])
def test_every_data_string_round_trips(relative):
    rows = read_rows(relative)
    assert rows
    for row in rows:
        assert NB201Arch.from_str(row["arch"]).to_str() == row["arch"]


def test_enumerate_matches_the_benchmark_table():
    table = {row["arch"] for row in read_rows("nb201_accuracy.csv")}
    assert {arch.to_str() for arch in SPACE.enumerate()} == table


def test_surrounding_whitespace_is_ignored():
    assert NB201Arch.from_str(f"  {EXAMPLE}\n").to_str() == EXAMPLE
    spaced = EXAMPLE.replace("+", " + ").replace("~", " ~ ")
    assert NB201Arch.from_str(spaced).to_str() == EXAMPLE


BAD_STRINGS = {
    "": "empty",
    "   ": "empty",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|": "node group",
    EXAMPLE + "+|none~0|": "node group",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "input(s)",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|": "input(s)",
    "|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "input",
    "|nor_conv_3x3~0|+|nor_conv_3x3~1|avg_pool_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "input",
    "|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "unknown op",
    "|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "op~i",
    "nor_conv_3x3~0+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "'|'",
    "|nor_conv_3x3~x|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|": "input",
    "__import__('os')": "node group",
}


@pytest.mark.parametrize("text", list(BAD_STRINGS))
def test_malformed_strings_raise_helpful_value_error(text):
    with pytest.raises(ValueError) as info:
        SPACE.from_str(text)
    message = str(info.value)
    assert BAD_STRINGS[text] in message
    assert EXAMPLE in message  # shows the expected form


@pytest.mark.parametrize("value", [None, 42, b"|none~0|", ["|none~0|"]])
def test_non_strings_raise_value_error(value):
    with pytest.raises(ValueError, match="expected a str"):
        NB201Arch.from_str(value)


def test_arch_is_frozen_hashable_and_validated():
    a, b = NB201Arch.from_str(EXAMPLE), NB201Arch.from_str(EXAMPLE)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.ops = ("none",) * 6
    with pytest.raises(ValueError):
        NB201Arch(("none",) * 5)
    with pytest.raises(ValueError):
        NB201Arch(("none",) * 5 + ("conv",))


# --- search operations -----------------------------------------------------------------
def differing_edges(a: NB201Arch, b: NB201Arch) -> list[int]:
    return [i for i, (x, y) in enumerate(zip(a.ops, b.ops)) if x != y]


def test_sample_is_valid_and_reproducible():
    archs = [SPACE.sample(random.Random(seed)) for seed in range(200)]
    assert all(isinstance(arch, NB201Arch) for arch in archs)
    assert archs == [SPACE.sample(random.Random(seed)) for seed in range(200)]
    assert len(set(archs)) > 150


def test_mutate_changes_exactly_one_edge():
    rng = random.Random(0)
    for seed in range(500):
        arch = SPACE.sample(random.Random(seed))
        child = SPACE.mutate(arch, rng)
        assert len(differing_edges(arch, child)) == 1
        assert NB201Arch.from_str(child.to_str()) == child


def test_neighbours_are_the_24_single_edge_changes():
    for seed in range(20):
        arch = SPACE.sample(random.Random(seed))
        neighbours = SPACE.neighbours(arch)
        assert len(neighbours) == 24 == len(set(neighbours))
        assert all(len(differing_edges(arch, n)) == 1 for n in neighbours)
        rng = random.Random(seed)
        assert {SPACE.mutate(arch, rng) for _ in range(300)} <= set(neighbours)


def test_crossover_takes_each_edge_from_a_parent():
    rng = random.Random(1)
    for seed in range(200):
        a, b = SPACE.sample(random.Random(seed)), SPACE.sample(random.Random(seed + 1000))
        child = SPACE.crossover(a, b, rng)
        assert all(op in (x, y) for op, x, y in zip(child.ops, a.ops, b.ops))
    a, b = NB201Arch(("none",) * 6), NB201Arch(("nor_conv_3x3",) * 6)
    children = {SPACE.crossover(a, b, rng) for _ in range(200)}
    assert len(children) > 20  # mixes per edge, not per parent


def test_enumerate_is_complete_distinct_and_deterministic():
    archs = list(SPACE.enumerate())
    assert len(archs) == 15_625 == len(set(archs)) == 5 ** 6
    assert archs[0] == NB201Arch(("none",) * 6) and archs[-1] == NB201Arch(("avg_pool_3x3",) * 6)
    assert archs[:50] == list(SPACE.enumerate())[:50]


# --- graph -----------------------------------------------------------------------------
def test_graph_has_labelled_nodes_and_op_edges():
    g = SPACE.graph(NB201Arch.from_str(EXAMPLE))
    assert list(g.nodes) == [0, 1, 2, 3]
    assert [g.nodes[n]["label"] for n in g.nodes] == ["in", "1", "2", "out"]
    assert {(u, v): d["op"] for u, v, d in g.edges(data=True)} == {
        (0, 1): "nor_conv_3x3", (0, 2): "nor_conv_3x3", (1, 2): "avg_pool_3x3",
        (0, 3): "skip_connect", (1, 3): "nor_conv_3x3", (2, 3): "skip_connect",
    }


def test_graph_leaves_out_none_edges():
    arch = NB201Arch.from_str("|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    g = SPACE.graph(arch)
    assert g.number_of_nodes() == 4
    assert sorted(g.edges) == [(0, 2), (2, 3)]
    assert SPACE.graph(NB201Arch(("none",) * 6)).number_of_edges() == 0


# --- network ---------------------------------------------------------------------------
def test_config_presets_and_overrides():
    bench = SPACE.config("benchmark", "cifar100")
    assert (bench.channels, bench.cells, bench.num_classes, bench.input_size) == (16, 5, 100, 32)
    teach = SPACE.config("teaching", "imagenet16-120")
    assert (teach.channels, teach.cells, teach.num_classes, teach.input_size) == (8, 1, 120, 16)
    assert SPACE.config("teaching", channels=4, stem=False).channels == 4
    with pytest.raises(ValueError, match="preset"):
        SPACE.config("huge")
    with pytest.raises(ValueError, match="dataset"):
        SPACE.config("benchmark", "mnist")


@pytest.mark.parametrize(
    "preset,dataset", [("teaching", "cifar10"), ("benchmark", "cifar10"), ("teaching", "imagenet16-120"), ("benchmark", "imagenet16-120")]
)
def test_forward_returns_logits(preset, dataset):
    config = SPACE.config(preset, dataset)
    model = SPACE.build(EXAMPLE, config)
    x = torch.randn(2, 3, config.input_size, config.input_size)
    logits = model(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, config.num_classes)


def test_every_relu_is_its_own_module_and_fires_once():
    model = SPACE.build(NB201Arch(("nor_conv_3x3",) * 6), SPACE.config("teaching"))
    calls: dict[int, int] = {}
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    for relu in relus:
        relu.register_forward_hook(lambda m, i, o: calls.__setitem__(id(m), calls.get(id(m), 0) + 1))
    model(torch.randn(2, 3, 32, 32))
    # 3 cells x 6 convs + 2 reduction blocks x 2 convs + the last activation
    assert len(relus) == 3 * 6 + 2 * 2 + 1
    assert sorted(calls.values()) == [1] * len(relus)


def test_none_only_cell_gives_zero_features_but_valid_logits():
    model = SPACE.build(NB201Arch(("none",) * 6), SPACE.config("teaching")).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("ops", [(op,) * 6 for op in OPS] + [NB201Arch.from_str(EXAMPLE).ops])
def test_network_without_stem(ops):
    """Without the stem the image goes straight into the first cell (3 -> C channels)."""
    with_stem = SPACE.build(NB201Arch(ops), SPACE.config("teaching"))
    model = SPACE.build(NB201Arch(ops), SPACE.config("teaching", stem=False))
    assert isinstance(model.stem, nn.Identity) and not isinstance(with_stem.stem, nn.Identity)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_build_rejects_bad_configs_and_strings():
    with pytest.raises(ValueError):
        SPACE.build(EXAMPLE, SPACE.config("teaching", cells=0))
    with pytest.raises(ValueError, match="expected"):
        SPACE.build("|nor_conv_3x3~0|", SPACE.config("teaching"))


# --- parameter counts and FLOPs against the benchmark ------------------------------------
def size_key(arch: NB201Arch) -> tuple[int, int]:
    """Inside a cell every op keeps the width, so only the convs carry parameters/FLOPs:
    cells with the same number of 1x1 and 3x3 convs have the same size (checked below)."""
    return arch.ops.count("nor_conv_1x1"), arch.ops.count("nor_conv_3x3")


@lru_cache(maxsize=None)
def param_count(arch: NB201Arch, dataset: str) -> int:
    return count_params(SPACE.build(arch, SPACE.config("benchmark", dataset)))


@lru_cache(maxsize=None)
def cifar10_flops(arch: NB201Arch) -> float:
    return count_flops(SPACE.build(arch, SPACE.config("benchmark", "cifar10")), 32)


def by_size_class(rows: list[dict[str, str]]) -> list[NB201Arch]:
    """For every row, the first arch of the file in its size class (<= 28 classes), so that
    each row is checked against a built network without building ~434 of them."""
    archs = [NB201Arch.from_str(row["arch"]) for row in rows]
    representative: dict[tuple[int, int], NB201Arch] = {}
    for arch in archs:
        representative.setdefault(size_key(arch), arch)
    return [representative[size_key(arch)] for arch in archs]


@pytest.mark.parametrize("dataset", list(ZC_FILES))
def test_size_classes_are_exact(dataset):
    """Networks built row by row have exactly the parameters (and FLOPs) of their class."""
    rows = read_rows(f"zc/{ZC_FILES[dataset]}")
    classes = by_size_class(rows)
    for i in random.Random(dataset).sample(range(len(rows)), 6):
        arch = NB201Arch.from_str(rows[i]["arch"])
        assert param_count(arch, dataset) == param_count(classes[i], dataset)
        if dataset == "cifar10":
            assert cifar10_flops(arch) == cifar10_flops(classes[i])


@pytest.mark.parametrize("dataset", list(ZC_FILES))
def test_param_counts_match_every_benchmark_row(dataset):
    rows = read_rows(f"zc/{ZC_FILES[dataset]}")
    ours = [param_count(arch, dataset) for arch in by_size_class(rows)]
    errors = [abs(n / 1e6 - float(row["params"])) / float(row["params"]) for row, n in zip(rows, ours)]
    worst = max(range(len(rows)), key=errors.__getitem__)
    assert errors[worst] <= 0.005, f"{rows[worst]['arch']}: {ours[worst]} vs {rows[worst]['params']}M"


def test_flops_rank_like_the_benchmark():
    rows = read_rows("zc/nb201_cifar10.csv")
    ours = [cifar10_flops(arch) for arch in by_size_class(rows)]
    rho = spearmanr(ours, [float(row["flops"]) for row in rows]).statistic
    assert rho >= 0.99


def test_largest_cell_has_the_published_size():
    """All-3x3-conv cell on CIFAR-10: 1.531546 M parameters in the benchmark tables (no data needed)."""
    assert param_count(NB201Arch(("nor_conv_3x3",) * 6), "cifar10") == 1_531_546
