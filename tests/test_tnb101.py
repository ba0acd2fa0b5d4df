"""Tests of the two TransNAS-Bench-101 spaces (micro cells, macro skeletons): strings,
search operations, editing, graphs, networks for every task, the SWAP proxy on the teaching
networks, and parameter counts against every row of the NAS-Bench-Suite-Zero files."""
from __future__ import annotations

import csv
import dataclasses
import random
import sys
from functools import lru_cache

import pytest
import torch
import torch.nn as nn

from conftest import require_file
from swap_core.netstats import count_params
from swap_core.proxies import score
from swap_core.spaces.tnb101 import TASKS, FactorizedReduce, ReLUConvBN, ResNetBasicBlock, downsamples, widens
from swap_core.spaces.tnb101_macro import MacroArch, TNB101MacroSpace, rule_violation
from swap_core.spaces.tnb101_micro import EDGES, OPS, SKELETON, MicroArch, TNB101MicroSpace, make_op

MICRO, MACRO = TNB101MicroSpace(), TNB101MacroSpace()
SPACES = {"tnb101_micro": MICRO, "tnb101_macro": MACRO}
FILES = [(space, t) for space in SPACES for t in TASKS]


@lru_cache(maxsize=None)
def rows(space: str, task: str) -> tuple[dict[str, str], ...]:
    with open(require_file(f"zc/{space}_{task}.csv"), newline="") as f:
        return tuple(csv.DictReader(f))


# --- strings -------------------------------------------------------------------------------
@pytest.mark.parametrize("space,task", FILES)
def test_every_file_string_round_trips(space, task):
    table = rows(space, task)
    assert len(table) > 300
    for row in table:
        assert SPACES[space].from_str(row["arch"]).to_str() == row["arch"]


def test_examples_names_and_digit_order():
    arch = MicroArch.from_str("64-41414-3_13_023")
    assert arch.cell == (3, 1, 3, 0, 2, 3) and arch.ops[0] == "nor_conv_3x3" and arch.ops[3] == "none"
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert MacroArch.from_str("64-41414-basic").stages == (4, 1, 4, 1, 4)
    assert (MICRO.name, MACRO.name) == ("tnb101_micro", "tnb101_macro")
    for space in SPACES.values():
        assert space.from_str(space.example).to_str() == space.example
        assert set(space.datasets) == set(TASKS) and "Duan" in sys.modules[type(space).__module__].__doc__
        for text in space.named_archs.values():
            assert space.from_str(text).to_str() == text


BAD_MICRO = {
    "": "three", "64-41414": "three", "64-41414-3_13_023-x": "three", "32-41414-3_13_023": "fixes",
    "64-1234-3_13_023": "fixes", "64-41414-313023": "node groups", "64-41414-3_13_02": "node groups",
    "64-41414-3_13_0234": "node groups", "64-41414-3_14_023": "digit", "64-41414-a_bc_def": "digit",
    "64-41414-basic": "node groups", "__import__('os')": "three",
}
BAD_MACRO = {
    "": "three", "64-1234": "three", "32-1234-basic": "64", "64-1234-3_13_023": "basic", "64-12a4-basic": "digits",
    "64-123-basic": "3 stages", "64-1234123-basic": "7 stages", "64-1111-basic": "0 downsampling",
    "64-333314-basic": "5 downsampling", "64-1333-basic": "0 channel-doubling", "64-22124-basic": "4 channel-doubling",
    "64-12534-basic": "digits 1-4", "64-12034-basic": "digits 1-4", "64-+1234-basic": "digits",
}


@pytest.mark.parametrize("space,bad", [(MICRO, BAD_MICRO), (MACRO, BAD_MACRO)], ids=["micro", "macro"])
def test_malformed_strings_raise_helpful_value_errors(space, bad):
    for text, problem in bad.items():
        with pytest.raises(ValueError) as info:
            space.from_str(text)
        assert problem in str(info.value), (text, str(info.value))
        assert space.example in str(info.value)  # shows the expected form
    for value in (None, 42, b"64-1234-basic"):
        with pytest.raises(ValueError, match="expected a str"):
            space.from_str(value)
    assert space.from_str(f"  {space.example}\n").to_str() == space.example


def test_archs_are_frozen_hashable_and_validated():
    for space in SPACES.values():
        a, b = space.from_str(space.example), space.from_str(space.example)
        assert a == b and hash(a) == hash(b) and len({a, b}) == 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(a, dataclasses.fields(a)[0].name, ())
    for cell in [(0,) * 5, (0,) * 5 + (4,), ("3",) * 6]:
        with pytest.raises(ValueError):
            MicroArch(cell)
    for stages in [(1, 1, 1, 1), (4, 4, 4, 4, 4, 4), (1, 2, 3), (1, 2, 3, 5)]:
        with pytest.raises(ValueError):
            MacroArch(stages)


# --- search operations ---------------------------------------------------------------------
def test_enumerate_sizes_and_benchmark_rules():
    micro = list(MICRO.enumerate())
    assert len(micro) == 4096 == len(set(micro)) and micro[0].to_str() == "64-41414-0_00_000"
    macro = list(MACRO.enumerate())
    assert len(macro) == 3256 == len(set(macro))  # the benchmark's macro space
    in_files = {row["arch"] for t in TASKS for row in rows("tnb101_macro", t)}
    assert in_files <= {arch.to_str() for arch in macro}


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES)
def test_sample_mutate_neighbours_crossover_stay_valid(space):
    rng = random.Random(0)
    archs = [space.sample(random.Random(seed)) for seed in range(60)]
    assert archs == [space.sample(random.Random(seed)) for seed in range(60)] and len(set(archs)) > 40
    for arch in archs:
        neighbours = space.neighbours(arch)
        assert neighbours and arch not in neighbours and len(set(neighbours)) == len(neighbours)
        for child in [space.mutate(arch, rng) for _ in range(10)]:
            assert child != arch and child in neighbours
            assert space.from_str(child.to_str()) == child
        child = space.crossover(arch, rng.choice(archs), rng)
        assert space.from_str(child.to_str()) == child


def test_micro_moves_change_one_edge_and_crossover_mixes_edges():
    arch = MICRO.from_str(MICRO.example)
    neighbours = MICRO.neighbours(arch)
    assert len(neighbours) == 18
    assert all(sum(x != y for x, y in zip(arch.cell, n.cell)) == 1 for n in neighbours)
    a, b, rng = MicroArch((0,) * 6), MicroArch((3,) * 6), random.Random(1)
    assert len({MICRO.crossover(a, b, rng) for _ in range(200)}) > 20


def test_macro_neighbours_change_remove_or_insert_one_stage():
    arch = MACRO.from_str("64-41414-basic")
    neighbours = {n.to_str() for n in MACRO.neighbours(arch)}
    assert {"64-41411-basic", "64-4141-basic", "64-141414-basic", "64-41413-basic"} <= neighbours
    assert "64-44414-basic" not in neighbours  # 4 channel doublings
    for arch in MACRO.enumerate():  # every skeleton can move
        assert MACRO.neighbours(arch)


# --- editing -------------------------------------------------------------------------------
def test_micro_edit_slots():
    arch = MICRO.from_str(MICRO.example)
    slots = MICRO.edit_slots(arch)
    assert [s.key for s in slots] == ["0-1", "0-2", "1-2", "0-3", "1-3", "2-3"]
    assert all(s.options == OPS for s in slots) and [s.value for s in slots] == list(arch.ops)
    assert MICRO.with_slot(arch, "1-3", "nor_conv_3x3").to_str() == "64-41414-3_13_033"
    assert MICRO.with_slot(arch, "0-1", 0).to_str() == "64-41414-0_13_023"
    with pytest.raises(ValueError, match="edge"):
        MICRO.with_slot(arch, "0-4", "none")
    with pytest.raises(ValueError, match="op"):
        MICRO.with_slot(arch, "0-1", "avg_pool_3x3")


def test_macro_edit_slots_change_remove_and_insert_stages():
    arch = MACRO.from_str("64-41414-basic")
    slots = MACRO.edit_slots(arch)
    assert [s.key for s in slots] == [f"stage{k}" for k in range(1, 6)] + ["insert"]
    assert [s.value for s in slots] == [4, 1, 4, 1, 4, "none"]
    assert 2 not in slots[1].options and "1:2" not in slots[-1].options  # a 4th channel doubling
    assert MACRO.with_slot(arch, "stage2", 0).to_str() == "64-4414-basic"
    assert MACRO.with_slot(arch, "insert", "6:3").to_str() == "64-414143-basic"
    assert MACRO.with_slot(arch, "insert", "1:1").to_str() == "64-141414-basic"
    with pytest.raises(ValueError, match="rules"):
        MACRO.with_slot(arch, "stage2", 2)
    with pytest.raises(ValueError, match="k:c"):
        MACRO.with_slot(arch, "insert", "9:1")
    with pytest.raises(ValueError, match="slot"):
        MACRO.with_slot("64-1234-basic", "stage5", 1)
    assert MACRO.edit_slots("64-123414-basic")[-1].options == ("none",)  # no seventh stage


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES)
def test_edit_slots_reach_every_neighbour_and_only_valid_archs(space):
    for seed in range(15):
        arch = space.sample(random.Random(seed))
        reachable = set()
        for slot in space.edit_slots(arch):
            assert space.with_slot(arch, slot.key, slot.value) == arch
            assert len(slot.option_labels) == len(slot.options) and slot.value in slot.options
            reachable |= {space.with_slot(arch, slot.key, option) for option in slot.options}
        reachable.discard(arch)
        assert set(space.neighbours(arch)) == reachable
        with pytest.raises(ValueError):
            space.with_slot(arch, "no-such-slot", 1)


# --- graphs --------------------------------------------------------------------------------
def test_micro_graph_is_the_cell_without_none_edges():
    g = MICRO.graph("64-41414-3_13_023")
    assert [g.nodes[n]["label"] for n in g.nodes] == ["in", "1", "2", "out"]
    assert [g.nodes[n]["layer"] for n in g.nodes] == [0, 1, 2, 3]
    assert {(u, v): d["op"] for u, v, d in g.edges(data=True)} == {
        (0, 1): "nor_conv_3x3", (0, 2): "skip_connect", (1, 2): "nor_conv_3x3", (1, 3): "nor_conv_1x1",
        (2, 3): "nor_conv_3x3"}
    assert sorted(g.edges) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    assert all(d["op"] in OPS for *_, d in g.edges(data=True))


def test_macro_graph_is_a_chain_of_stages():
    g = MACRO.graph("64-1234-basic")
    assert list(g.nodes) == [0, 1, 2, 3, 4] and sorted(g.edges) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert [g.nodes[n]["label"] for n in g.nodes] == ["stem", "1", "2", "3", "4"]
    assert [g.nodes[n]["layer"] for n in g.nodes] == [0, 1, 2, 3, 4]
    assert [g.nodes[n]["channels"] for n in g.nodes] == [64, 64, 128, 128, 256]
    assert [g.nodes[n]["scale"] for n in g.nodes] == [4, 4, 4, 8, 16]
    assert [g.nodes[k]["op"] for k in range(1, 5)] == list(MACRO.ops)
    assert all(data["op"] == "" for *_, data in g.edges(data=True))


# --- networks ------------------------------------------------------------------------------
@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES)
@pytest.mark.parametrize("task", TASKS)
def test_teaching_forward_for_every_task(space, task):
    config = space.config("teaching", task)
    model = space.build(space.example, config)
    x = torch.randn(2, 3, config.input_size, config.input_size)
    out = model(x)
    outputs = TASKS[task].outputs
    expected = (2, outputs, 32, 32) if TASKS[task].head in ("generative", "segmentation") else (2, outputs)
    assert out.shape == expected and torch.isfinite(out).all()


def test_benchmark_forward_larger_inputs_and_jigsaw_tiles():
    model = MACRO.build("64-1234-basic", MACRO.config("benchmark", "class_object"))
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    model = MICRO.build(MICRO.example, MICRO.config("teaching", "segmentsemantic"))
    assert model(torch.randn(1, 3, 64, 96)).shape == (1, 17, 64, 96)
    model = MACRO.build("64-333412-basic", MACRO.config("teaching", "autoencoder"))
    assert model(torch.randn(2, 3, 48, 48)).shape == (2, 3, 48, 48)  # 4 downsamplings, resized back
    jigsaw = MICRO.build(MICRO.example, MICRO.config("teaching", "jigsaw"))
    assert jigsaw(torch.randn(2, 9, 3, 16, 16)).shape == (2, 1000)
    assert jigsaw(torch.randn(2, 3, 33, 33)).shape == (2, 1000)


def test_config_presets_and_errors():
    bench = MICRO.config("benchmark", "class_object")
    assert (bench.channels, bench.cells, bench.num_classes, bench.input_size) == (64, 2, 100, 32)
    assert MACRO.config("teaching", "class_scene", num_classes=10).num_classes == 10
    with pytest.raises(ValueError, match="preset"):
        MICRO.config("huge")
    with pytest.raises(ValueError, match="task"):
        MACRO.config("benchmark", "cifar10")
    with pytest.raises(ValueError, match="stem"):
        MACRO.build(MACRO.example, MACRO.config("teaching", stem=False))


def test_none_cell_gives_zero_features_of_the_right_shape():
    model = MICRO.build("64-41414-0_00_000", MICRO.config("teaching", "class_scene")).eval()
    assert model(torch.randn(2, 3, 31, 31)).shape == (2, 63)


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES)
def test_every_encoder_relu_is_its_own_module_and_fires_once(space):
    arch = "64-41414-3_11_201" if space is MICRO else "64-41414-basic"
    model = space.build(arch, space.config("teaching", "class_scene"))
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    convs_with_relu = [m for m in model.modules() if isinstance(m, (ReLUConvBN, FactorizedReduce))]
    assert len(relus) == len(convs_with_relu) > 0 and len({id(m) for m in relus}) == len(relus)
    assert all(isinstance(m[0], nn.ReLU) for m in convs_with_relu if isinstance(m, ReLUConvBN))
    calls: dict[int, int] = {}
    for relu in relus:
        relu.register_forward_hook(lambda m, i, o: calls.__setitem__(id(m), calls.get(id(m), 0) + 1))
    model(torch.randn(2, 3, 32, 32))
    assert sorted(calls.values()) == [1] * len(relus)


@pytest.mark.parametrize("space,task", [(MICRO, "class_scene"), (MACRO, "class_object"), (MACRO, "jigsaw"),
                                        (MICRO, "autoencoder")])
def test_swap_proxy_runs_on_teaching_networks(space, task):
    inputs = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    result = score(space.example, ["swap"], inputs, space=space, config=space.config("teaching", task))
    assert result["swap"] > 100


# --- parameter counts against the benchmark ------------------------------------------------
# A full benchmark network takes ~10 ms to build even on the meta device; checking every row
# of the 14 files that way takes a minute. Instead a network's count is split into what the
# architecture changes (the encoder's stages: cells are sums of edge ops, stages sums of
# blocks) and the rest (stem and head: fixed per task, output width and downsampling count),
# each counted on real modules and cached; the split itself is checked on full builds.
@lru_cache(maxsize=None)
def _count(kind: str, c_in: int, c_out: int, stride: int, op: int = -1) -> int:
    with torch.device("meta"):
        return count_params(make_op(op, c_in, c_out, stride) if kind == "op" else ResNetBasicBlock(c_in, c_out, stride))


def _stage_shapes(skeleton: tuple[int, ...], channels: int = 64):
    for code in skeleton:
        c_out = channels * (2 if widens(code) else 1)
        yield channels, c_out, 2 if downsamples(code) else 1
        channels = c_out


def stage_params(arch) -> int:
    """Parameters of the encoder's stages (two blocks each) of the benchmark network."""
    if isinstance(arch, MacroArch):
        return sum(_count("block", c_in, c_out, s) + _count("block", c_out, c_out, 1)
                   for c_in, c_out, s in _stage_shapes(arch.stages))
    total = 0
    for c_in, c_out, s in _stage_shapes(SKELETON):
        for first in (True, False):
            total += sum(_count("op", c_in if first and src == 0 else c_out, c_out, s if first and src == 0 else 1, op)
                         for op, (src, _) in zip(arch.cell, EDGES))
    return total


def full_params(space, arch, task: str) -> int:
    with torch.device("meta"):
        return count_params(space.build(arch, space.config("benchmark", task)))


def _rest_key(arch) -> tuple[int, int]:
    skeleton = arch.stages if isinstance(arch, MacroArch) else SKELETON
    return sum(map(widens, skeleton)), sum(map(downsamples, skeleton))


@pytest.mark.parametrize("space,task", FILES)
def test_param_counts_match_every_benchmark_row(space, task):
    table, obj = rows(space, task), SPACES[space]
    archs = [obj.from_str(row["arch"]) for row in table]
    rest: dict[tuple[int, int], int] = {}
    for arch in archs:
        if _rest_key(arch) not in rest:
            rest[_rest_key(arch)] = full_params(obj, arch, task) - stage_params(arch)
    for arch in random.Random(task).sample(archs, 2):  # the split adds up on full builds
        assert full_params(obj, arch, task) == rest[_rest_key(arch)] + stage_params(arch)
    errors = []
    for row, arch in zip(table, archs):
        ours = (rest[_rest_key(arch)] + stage_params(arch)) / 1e6
        errors.append((abs(ours - float(row["params"])) / float(row["params"]), row["arch"], ours, row["params"]))
    worst = max(errors)
    assert worst[0] <= 0.02 if task.startswith("class_") else worst[0] <= 1e-6, worst  # exact in fact


def test_largest_classification_networks_have_the_published_size():
    """No data needed: the benchmark's largest class_object networks (zc files)."""
    assert full_params(MICRO, MicroArch((3,) * 6), "class_object") == 41_462_916
    assert full_params(MACRO, MacroArch((4, 4, 4, 3, 1)), "class_object") == 30_235_524


def test_rule_violation_matches_the_file_skeletons():
    skeletons = {row["arch"] for t in TASKS for row in rows("tnb101_macro", t)}
    assert all(rule_violation(MacroArch.from_str(s).stages) is None for s in skeletons)
    assert {len(MacroArch.from_str(s).stages) for s in skeletons} == {4, 5, 6}
