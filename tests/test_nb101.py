"""Tests of the NAS-Bench-101 space: strings, pruning, search operations, editing, graph,
network, and the network's parameter counts against the benchmark's own column."""
from __future__ import annotations

import csv
import dataclasses
import random
from functools import lru_cache

import pytest
import torch
import torch.nn as nn

from conftest import require_file
from swap_core.netstats import count_params
from swap_core.spaces.nb101 import EXAMPLE, EXPECTED_FORM, OPS, NB101Arch, NB101Space
from swap_core.spaces.nb101_net import ConvBnRelu, vertex_channels

SPACE = NB101Space()
C3, C1, MP = OPS
# Vertex 5 (a 3x3 conv) takes input 4 but feeds nothing: pruning drops it.
DANGLING = ('{"matrix":[[0,1,0,0,0,0,1],[0,0,1,0,0,0,0],[0,0,0,0,0,0,1],[0,0,0,0,1,0,0],[0,0,0,0,0,1,0],'
            '[0,0,0,0,0,0,0],[0,0,0,0,0,0,0]],"ops":["input","conv3x3-bn-relu","conv1x1-bn-relu",'
            '"maxpool3x3","maxpool3x3","conv3x3-bn-relu","output"]}')


def read_rows() -> list[dict[str, str]]:
    with open(require_file("zc/nb101_cifar10.csv"), newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=None)
def benchmark_params(arch: NB101Arch) -> int:
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        return count_params(SPACE.build(arch, SPACE.config("benchmark")))


# --- strings -----------------------------------------------------------------------------
def test_example_round_trips():
    arch = NB101Arch.from_str(EXAMPLE)
    assert arch.to_str() == EXAMPLE == SPACE.example and arch.pruned() is arch
    assert arch.ops == ("input", C1, C3, C3, C3, MP, "output") and arch.num_edges == 9


def test_every_data_string_round_trips_byte_for_byte():
    rows = read_rows()
    archs = [NB101Arch.from_str(row["arch"]) for row in rows]
    assert [arch.to_str() for arch in archs] == [row["arch"] for row in rows]
    # The file keeps NASLib's raw 7-vertex samples: most are not pruned, some have > 9 raw edges.
    assert all(len(arch.matrix) == 7 for arch in archs)
    assert sum(arch.pruned() != arch for arch in archs) > 100
    assert max(sum(map(sum, arch.matrix)) for arch in archs) > 9 >= max(arch.num_edges for arch in archs)


def test_spacing_is_ignored():
    spaced = EXAMPLE.replace(",", ", ").replace(":", ": ")
    assert NB101Arch.from_str(f"  {spaced}\n").to_str() == EXAMPLE


ROWS_OK = '[[0,1,0],[0,0,1],[0,0,0]]'
BAD_STRINGS = {
    "": "empty",
    "matrix=[[0,1],[0,0]]": "not JSON",
    "{'matrix': [[0,1],[0,0]], 'ops': ['input','output']}": "not JSON",
    '[[0,1],[0,0]]': "exactly the keys",
    '{"matrix":[[0,1],[0,0]]}': "exactly the keys",
    '{"matrix":[[0,1],[0,0]],"ops":["input","output"],"x":1}': "exactly the keys",
    '{"matrix":[0,1],"ops":["input","output"]}': "list of rows",
    '{"matrix":[[0,1.0],[0,0]],"ops":["input","output"]}': "integers 0 or 1",
    '{"matrix":[[0,true],[0,0]],"ops":["input","output"]}': "integers 0 or 1",
    '{"matrix":[[0,2],[0,0]],"ops":["input","output"]}': "other than 0 and 1",
    '{"matrix":[[0,1,0],[0,0,1]],"ops":["input","conv3x3-bn-relu","output"]}': "not square",
    '{"matrix":[[0,1,1],[0,0],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}': "not square",
    '{"matrix":[[0,1,0],[1,0,1],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}': "upper-triangular",
    '{"matrix":[[1,1,0],[0,0,1],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}': "upper-triangular",
    '{"matrix":[[0]],"ops":["input"]}': "vertices",
    '{"matrix":' + str([[int(v == u + 1) for v in range(8)] for u in range(8)]).replace(" ", "")
    + ',"ops":["input"' + ',"conv3x3-bn-relu"' * 6 + ',"output"]}': "8 vertices",
    f'{{"matrix":{ROWS_OK},"ops":["input","output"]}}': "2 ops",
    f'{{"matrix":{ROWS_OK},"ops":["input","conv5x5-bn-relu","output"]}}': "unknown interior op",
    f'{{"matrix":{ROWS_OK},"ops":["input","output","output"]}}': "unknown interior op",
    f'{{"matrix":{ROWS_OK},"ops":["conv3x3-bn-relu","conv3x3-bn-relu","output"]}}': "first op must be 'input'",
    f'{{"matrix":{ROWS_OK},"ops":["input","conv3x3-bn-relu","maxpool3x3"]}}': "last 'output'",
    f'{{"matrix":{ROWS_OK},"ops":"input"}}': "'ops' must be a list",
    '{"matrix":[[0,1,0],[0,0,0],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}': "not connected",
    # five parallel branches: 10 edges, all on input -> output paths
    '{"matrix":[[0,1,1,1,1,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],'
    '[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]],"ops":["input"' + ',"conv3x3-bn-relu"' * 5 + ',"output"]}': "10 edges",
    "__import__('os')": "not JSON",
}


@pytest.mark.parametrize("text", list(BAD_STRINGS))
def test_malformed_strings_raise_helpful_value_error(text):
    with pytest.raises(ValueError) as info:
        SPACE.from_str(text)
    message = str(info.value)
    assert BAD_STRINGS[text] in message
    assert EXPECTED_FORM in message


@pytest.mark.parametrize("value", [None, 42, b"{}", [EXAMPLE]])
def test_non_strings_raise_value_error(value):
    with pytest.raises(ValueError, match="expected a str"):
        NB101Arch.from_str(value)


def test_arch_is_frozen_hashable_and_validated():
    a, b = NB101Arch.from_str(EXAMPLE), NB101Arch.from_str(EXAMPLE)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.ops = ("input", "output")
    assert NB101Arch([[0, 1], [0, 0]], ["input", "output"]).matrix == ((0, 1), (0, 0))


# --- pruning -----------------------------------------------------------------------------
def test_dangling_vertices_are_pruned_but_kept_in_the_string():
    arch = NB101Arch.from_str(DANGLING)
    assert arch.to_str() == DANGLING  # the stored form is not pruned
    assert arch.kept_vertices() == [0, 1, 2, 6]
    cell = arch.pruned()
    assert cell.matrix == ((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert cell.ops == ("input", C3, C1, "output") and arch.num_edges == 4
    assert cell.pruned() is cell and cell.padded().pruned() == cell
    assert benchmark_params(arch) == benchmark_params(cell)
    g = SPACE.graph(arch)
    assert sorted(g.nodes) == [0, 1, 2, 6] and g.graph["removed"] == (3, 4, 5)


def test_raw_edges_beyond_the_limit_are_fine_when_pruned_away():
    rows = [[0, 1, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1]] + [[0] * 7 for _ in range(5)]
    for u in (2, 3, 4):  # vertices 2..5 fully connected among themselves, unreachable from input
        for v in range(u + 1, 6):
            rows[u][v] = 1
    rows[2][6] = rows[5][6] = 1
    arch = NB101Arch(rows, ["input"] + [C3] * 5 + ["output"])
    assert sum(map(sum, arch.matrix)) > 9 and arch.num_edges == 3


# --- search operations -------------------------------------------------------------------
def differences(a: NB101Arch, b: NB101Arch) -> int:
    a, b = a.padded(), b.padded()
    return sum(x != y for ra, rb in zip(a.matrix, b.matrix) for x, y in zip(ra, rb)) + sum(
        x != y for x, y in zip(a.ops, b.ops))


def test_sample_is_valid_diverse_and_reproducible():
    archs = [SPACE.sample(random.Random(seed)) for seed in range(200)]
    assert archs == [SPACE.sample(random.Random(seed)) for seed in range(200)]
    assert all(len(a.matrix) == 7 and a.num_edges <= 9 for a in archs)
    # Like the benchmark's sampler (and the file, whose 300 rows hold 204 distinct cells),
    # rejection of cells over 9 edges favours small cells: many samples share a network.
    assert len(set(archs)) == 200 and len({a.pruned() for a in archs}) > 120


def test_mutate_changes_one_entry_and_the_network():
    rng = random.Random(0)
    for seed in range(300):
        arch = SPACE.sample(random.Random(seed))
        child = SPACE.mutate(arch, rng)
        assert differences(arch, child) == 1 and child.pruned() != arch.pruned()
        assert NB101Arch.from_str(child.to_str()) == child and child.num_edges <= 9


def test_neighbours_are_valid_distinct_single_changes():
    for seed in range(30):
        arch = SPACE.sample(random.Random(seed))
        neighbours = SPACE.neighbours(arch)
        assert 0 < len(neighbours) == len(set(neighbours)) <= 21 + 5 * 2
        assert all(differences(arch, n) == 1 and n.pruned() != arch.pruned() for n in neighbours)
        rng = random.Random(seed)
        assert {SPACE.mutate(arch, rng) for _ in range(100)} <= set(neighbours)


def test_small_and_degenerate_cells_have_neighbours():
    resnet = SPACE.from_str(SPACE.named_archs["ResNet-like"])
    assert all(len(n.matrix) == 7 for n in SPACE.neighbours(resnet))
    bare = NB101Arch([[0, 1], [0, 0]], ["input", "output"])
    # No single change alters a bare input -> output cell: unused-vertex changes are offered.
    neighbours = SPACE.neighbours(bare)
    assert neighbours and all(n.pruned() == bare for n in neighbours)
    assert SPACE.mutate(bare, random.Random(0)) in neighbours


def test_crossover_is_valid_and_mixes_parents():
    rng = random.Random(1)
    children = set()
    for seed in range(150):
        a, b = SPACE.sample(random.Random(seed)), SPACE.sample(random.Random(seed + 1000))
        child = SPACE.crossover(a, b, rng)
        assert child.num_edges <= 9
        for u, row in enumerate(child.matrix):
            assert all(x in (a.matrix[u][v], b.matrix[u][v]) for v, x in enumerate(row))
        assert all(op in (x, y) for op, x, y in zip(child.ops, a.ops, b.ops))
        children.add(child)
    assert len(children) > 140


def test_named_archs_are_valid():
    assert SPACE.named_archs["Inception-like (NB101 README)"] == EXAMPLE
    for text in SPACE.named_archs.values():
        assert SPACE.from_str(text).to_str() == text


# --- editing -----------------------------------------------------------------------------
def test_edit_slots_cover_every_edge_and_interior_op():
    slots = SPACE.edit_slots(EXAMPLE)
    assert len(slots) == 21 + 5 and len({s.key for s in slots}) == 26
    values = {s.key: s.value for s in slots}
    assert values["op:1"] == C1 and values["edge:0-1"] == 1 and values["edge:0-4"] == 0
    arch = SPACE.with_slot(EXAMPLE, "op:5", C3)
    assert arch.ops[5] == C3 and differences(arch, SPACE.from_str(EXAMPLE)) == 1
    arch = SPACE.with_slot(EXAMPLE, "edge:3-4", 0)  # vertex 3 feeds nothing, 4 has no input
    assert arch.kept_vertices() == [0, 1, 2, 5, 6]
    small = SPACE.with_slot(SPACE.named_archs["ResNet-like"], "op:1", C1)  # edited on the 7-vertex form
    assert len(small.matrix) == 7 and small.pruned().ops == ("input", C1, C3, "output")


@pytest.mark.parametrize("key,value,message", [
    ("edge:0-4", 1, "cannot set edge:0-4 to 1.*10 edges"),  # the example has 9 edges
    ("op:0", C3, "unknown NAS-Bench-101 slot"),
    ("op:6", C3, "unknown NAS-Bench-101 slot"),
    ("edge:3-1", 1, "unknown NAS-Bench-101 slot"),
    ("edge 0-1", 1, "unknown NAS-Bench-101 slot"),
    ("op:2", "conv5x5", "invalid value"),
    ("op:2", "output", "invalid value"),
    ("edge:1-2", 2, "invalid value"),
])
def test_with_slot_rejects_bad_edits(key, value, message):
    with pytest.raises(ValueError, match=message):
        SPACE.with_slot(EXAMPLE, key, value)


def test_with_slot_cannot_disconnect_the_input():
    chain = SPACE.named_archs["deep chain of 5 conv 3x3"]
    with pytest.raises(ValueError, match="cannot set edge:2-3 to 0.*not connected"):
        SPACE.with_slot(chain, "edge:2-3", 0)


# --- graph -------------------------------------------------------------------------------
def test_graph_of_the_example():
    g = SPACE.graph(EXAMPLE)
    assert list(g.nodes) == list(range(7)) and g.graph["removed"] == ()
    assert [g.nodes[v]["label"] for v in g.nodes] == ["in", "conv 1×1", "conv 3×3", "conv 3×3", "conv 3×3",
                                                     "max pool", "out"]
    assert [g.nodes[v]["layer"] for v in g.nodes] == [0, 1, 1, 1, 2, 1, 3]
    assert [g.nodes[v]["kind"] for v in (0, 3, 6)] == ["input", "intermediate", "output"]
    assert g.number_of_edges() == 9 and g.edges[4, 6]["op"] == "concat" and "op" not in g.edges[3, 4]
    assert {g.edges[0, v]["op"] for v in (1, 2, 3, 5)} == {"projection"}
    resnet = SPACE.graph(SPACE.named_archs["ResNet-like"])
    assert resnet.edges[0, 3]["op"] == "projection" and resnet.nodes[3]["layer"] == 3


# --- network -----------------------------------------------------------------------------
def test_config_presets():
    bench = SPACE.config()
    assert (bench.channels, bench.cells, bench.num_classes, bench.get("stacks")) == (128, 3, 10, 3)
    teach = SPACE.config("teaching")
    assert (teach.channels, teach.cells) == (16, 1)
    assert SPACE.config("teaching", channels=8).channels == 8
    with pytest.raises(ValueError, match="preset"):
        SPACE.config("huge")
    with pytest.raises(ValueError, match="cifar10"):
        SPACE.config("benchmark", "cifar100")
    with pytest.raises(ValueError, match="positive"):
        SPACE.build(EXAMPLE, SPACE.config("teaching", cells=0))


def test_vertex_channels_split_the_output_like_the_benchmark():
    matrix = NB101Arch.from_str(EXAMPLE).matrix  # vertices 1, 2, 4, 5 feed the output; 3 feeds 4
    assert vertex_channels(128, 128, matrix) == [128, 32, 32, 32, 32, 32, 128]
    assert vertex_channels(128, 130, matrix) == [128, 33, 33, 32, 32, 32, 130]
    assert vertex_channels(64, 64, ((0, 1), (0, 0))) == [64, 64]


@pytest.mark.parametrize("preset", ["benchmark", "teaching"])
def test_forward_returns_logits(preset):
    for text in (EXAMPLE, DANGLING, SPACE.named_archs["ResNet-like"], '{"matrix":[[0,1],[0,0]],"ops":["input","output"]}'):
        model = SPACE.build(text, SPACE.config(preset))
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_network_without_stem():
    model = SPACE.build(EXAMPLE, SPACE.config("teaching", stem=False))
    assert isinstance(model.stem, nn.Identity) and model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_every_conv_has_its_own_relu_and_each_fires_once():
    model = SPACE.build(EXAMPLE, SPACE.config("teaching"))
    convs = [m for m in model.modules() if isinstance(m, ConvBnRelu)]
    assert all(isinstance(m[-1], nn.ReLU) for m in convs)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    # stem + per cell: 4 convs + 4 input projections (vertices 1, 2, 3, 5)
    assert len(relus) == len(convs) == 1 + 3 * 8
    calls: dict[int, int] = {}
    for relu in relus:
        relu.register_forward_hook(lambda m, i, o: calls.__setitem__(id(m), calls.get(id(m), 0) + 1))
    model(torch.randn(2, 3, 32, 32))
    assert sorted(calls.values()) == [1] * len(relus)


def test_swap_scores_the_teaching_network():
    from swap_core.proxies import score

    torch.manual_seed(0)
    result = score(EXAMPLE, ["swap"], torch.randn(16, 3, 32, 32), space=SPACE, config=SPACE.config("teaching"))
    assert 1 < result["swap"] <= 2 ** 16


# --- parameter counts against the benchmark -----------------------------------------------
def test_inception_cell_has_the_published_size():
    """The NAS-Bench-101 README lists 2,694,282 trainable parameters for this cell (no data needed)."""
    assert benchmark_params(NB101Arch.from_str(EXAMPLE)) == 2_694_282


def test_param_counts_match_every_benchmark_row():
    rows = read_rows()
    ours = [benchmark_params(NB101Arch.from_str(row["arch"])) for row in rows]
    errors = [abs(n / 1e6 - float(row["params"])) / float(row["params"]) for row, n in zip(rows, ours)]
    worst = max(range(len(rows)), key=errors.__getitem__)
    assert errors[worst] <= 0.01, f"{rows[worst]['arch']}: {ours[worst]} vs {rows[worst]['params']}M"
    exact = sum(f"{n / 1e6:.6f}".rstrip("0") == row["params"].rstrip("0") for row, n in zip(rows, ours))
    assert exact == len(rows)  # every row matches to the parameter
