"""Tests of the DARTS / NAS-Bench-301 space: genotype strings, search operations, graph,
networks, and parameter counts against every row of NAS-Bench-Suite-Zero's nb301 table."""
from __future__ import annotations

import random
import re

import pandas as pd
import pytest
import torch
import torch.nn as nn
from scipy.stats import spearmanr

from swap_core.netstats import count_flops, count_params
from swap_core.spaces import get_space
from swap_core.spaces.darts import SAMPLE_OPS, DartsSpace, Genotype
from swap_core.spaces.darts_net import OPS, FactorizedReduce

from conftest import require_file

SPACE = get_space("darts")
EXAMPLE = SPACE.example
SEP3 = "[" + ", ".join(f"('sep_conv_3x3', {i})" for i in (0, 1, 0, 1, 0, 1, 0, 1)) + "]"
ALL_SEP3 = f"Genotype(normal={SEP3}, normal_concat=[2, 3, 4, 5], reduce={SEP3}, reduce_concat=[2, 3, 4, 5])"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These networks are tiny: one thread is as fast, and spinning OpenMP threads on a busy
    2-core machine slow small forward passes down many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def data_archs(relative: str) -> list[str]:
    return list(pd.read_csv(require_file(relative))["arch"])


def one_step_apart(a: Genotype, b: Genotype) -> bool:
    """True when b differs from a in exactly one op or one input of one pair."""
    diffs = [(x, y) for cell in ("normal", "reduce") for x, y in zip(getattr(a, cell), getattr(b, cell)) if x != y]
    return len(diffs) == 1 and sum(u != v for u, v in zip(*diffs[0])) == 1


def is_valid(arch: Genotype) -> bool:
    return Genotype.from_str(arch.to_str()) == arch


# --- strings ---------------------------------------------------------------------------
def test_registry_and_metadata():
    assert get_space("nb301") is SPACE and isinstance(SPACE, DartsSpace)
    assert (SPACE.name, SPACE.title, SPACE.finite) == ("darts", "DARTS / NAS-Bench-301", False)
    assert SPACE.presets == ("benchmark", "teaching", "swap-proxy") and SPACE.datasets == ("cifar10",)
    assert Genotype.from_str(EXAMPLE).to_str() == EXAMPLE


@pytest.mark.parametrize("relative", ["zc/nb301_cifar10.csv", "darts1000_cifar10.csv"])
def test_every_data_string_round_trips(relative):
    archs = data_archs(relative)
    for text in archs:
        assert SPACE.from_str(text).to_str() == text
    assert len({SPACE.from_str(text) for text in archs}) == len(set(archs))  # hashable, equal iff same


def test_parser_is_lenient_about_spacing_quotes_and_field_order():
    arch = Genotype.from_str(ALL_SEP3)
    reordered = f"Genotype(reduce_concat=[5, 4, 3, 2], reduce={SEP3}, normal={SEP3}, normal_concat=[2, 3, 4, 5])"
    assert Genotype.from_str(reordered).reduce_concat == (5, 4, 3, 2)
    assert Genotype.from_str("  " + ALL_SEP3.replace("'", '"').replace(", ", " ,  ") + "\n") == arch
    assert Genotype(**{k: list(v) for k, v in vars(arch).items()}) == arch  # lists are accepted
    assert hash(arch) == hash(Genotype.from_str(ALL_SEP3))


BAD = {
    "unknown op": ALL_SEP3.replace("sep_conv_3x3", "conv_7x7", 1),
    "input": ALL_SEP3.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 2)", 1),
    "input -1": ALL_SEP3.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', -1)", 1),
    "pairs": ALL_SEP3.replace("('sep_conv_3x3', 0), ", "", 1),
    "9 pairs": ALL_SEP3.replace("[('sep_conv_3x3', 0), ", "[('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ", 1),
    "missing field": ALL_SEP3.replace(", reduce_concat=[2, 3, 4, 5]", ""),
    "repeated field": ALL_SEP3.replace("reduce_concat", "normal_concat"),
    "concat": ALL_SEP3.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 6]"),
    "duplicate concat": ALL_SEP3.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 2]"),
    "not a pair": ALL_SEP3.replace("('sep_conv_3x3', 0)", "'sep_conv_3x3'", 1),
    "trailing text": ALL_SEP3 + " extra",
    "garbage": "hello world",
    "empty": "",
    "code": "__import__('os').system('echo owned')",
    "other name": ALL_SEP3.replace("Genotype", "Genome"),
    "odd character": ALL_SEP3.replace("0)", "0.5)", 1),
}


@pytest.mark.parametrize("name", BAD)
def test_malformed_strings_raise_value_error_with_expected_form(name):
    with pytest.raises(ValueError) as info:
        Genotype.from_str(BAD[name])
    message = str(info.value)
    assert "Genotype(normal=[" in message and "normal_concat=[2, 3, 4, 5]" in message


def test_error_messages_name_the_problem():
    for key, fragment in [("unknown op", "conv_7x7"), ("input", "node 2"), ("pairs", "7 (op, input) pairs"),
                          ("missing field", "reduce_concat"), ("garbage", "'Genotype'")]:
        with pytest.raises(ValueError, match=re.escape(fragment)):
            Genotype.from_str(BAD[key])
    with pytest.raises(ValueError):
        Genotype.from_str(None)  # type: ignore[arg-type]


# --- search operations -----------------------------------------------------------------
def test_sample_is_valid_reproducible_and_uses_distinct_inputs():
    archs = [SPACE.sample(random.Random(seed)) for seed in range(100)]
    assert SPACE.sample(random.Random(3)) == archs[3] and len(set(archs)) == 100
    for arch in archs:
        assert is_valid(arch)
        for cell in (arch.normal, arch.reduce):
            assert all(op in SAMPLE_OPS for op, _ in cell)
            assert all(cell[2 * k][1] != cell[2 * k + 1][1] for k in range(4))


def starts(n: int) -> list[Genotype]:
    """Sampled archs plus hand-picked ones with 'none' and a node fed twice by one input."""
    twice = ALL_SEP3.replace("('sep_conv_3x3', 1)", "('none', 0)", 1)
    return [SPACE.sample(random.Random(seed)) for seed in range(n)] + [Genotype.from_str(twice)]


def test_mutate_changes_exactly_one_op_or_input():
    rng = random.Random(0)
    for arch in starts(60):
        neighbours = set(SPACE.neighbours(arch))
        for _ in range(5):
            child = SPACE.mutate(arch, rng)
            assert child != arch and is_valid(child) and one_step_apart(arch, child)
            assert child in neighbours


def test_neighbours_are_distinct_valid_and_one_step_away():
    for arch in starts(20):
        neighbours = SPACE.neighbours(arch)
        assert len(neighbours) == len(set(neighbours)) and arch not in neighbours
        assert all(is_valid(n) and one_step_apart(arch, n) for n in neighbours)
    # distinct inputs: 16 pairs x 6 other ops, plus 2 x (0+1+2+3) other inputs per cell
    assert len(SPACE.neighbours(SPACE.sample(random.Random(1)))) == 16 * 6 + 2 * 12


def test_crossover_takes_each_node_from_a_parent():
    rng = random.Random(0)
    for seed in range(30):
        a, b = SPACE.sample(random.Random(seed)), SPACE.sample(random.Random(seed + 100))
        child = SPACE.crossover(a, b, rng)
        assert is_valid(child) and SPACE.crossover(a, a, rng) == a
        for cell in ("normal", "reduce"):
            for k in range(4):
                node = getattr(child, cell)[2 * k: 2 * k + 2]
                assert node in (getattr(a, cell)[2 * k: 2 * k + 2], getattr(b, cell)[2 * k: 2 * k + 2])


# --- graph -----------------------------------------------------------------------------
def test_graph_has_both_cells_with_ops_on_edges():
    arch = Genotype.from_str(EXAMPLE)
    g = SPACE.graph(arch)
    assert g.number_of_nodes() == 14 and g.number_of_edges() == 2 * (8 + 4)
    assert g.nodes[("normal", "c_{k-2}")] == {"cell": "normal", "label": "c_{k-2}", "kind": "input", "layer": 0,
                                              "row": 1.0}
    assert [g.nodes[("reduce", k)]["layer"] for k in (2, 3, 4, 5)] == [1, 2, 3, 4]
    assert g.edges[("normal", "c_{k-2}"), ("normal", 2)]["op"] == "sep_conv_3x3"
    assert g.edges[("reduce", 2), ("reduce", 5)]["op"] == "skip_connect"
    assert all(g.edges[(cell, k), (cell, "out")]["op"] == "concat" for cell in ("normal", "reduce") for k in (2, 3, 4, 5))
    assert {data["cell"] for _, data in g.nodes(data=True)} == {"normal", "reduce"}


def test_graph_merges_two_ops_from_the_same_input():
    twice = Genotype.from_str(ALL_SEP3.replace("('sep_conv_3x3', 1)", "('none', 0)", 1))
    edge = SPACE.graph(twice).edges[("normal", "c_{k-2}"), ("normal", 2)]
    assert edge["ops"] == ("sep_conv_3x3", "none") and edge["op"] == "sep_conv_3x3 + none"


# --- networks --------------------------------------------------------------------------
def test_configs():
    bench = SPACE.config("benchmark")
    assert (bench.channels, bench.cells, bench.num_classes, bench.stem) == (32, 8, 10, True)
    assert (bench.get("affine"), bench.get("pool_bn"), bench.get("auxiliary")) == (False, True, False)
    proxy = SPACE.config("swap-proxy")
    assert (proxy.channels, proxy.cells, proxy.stem, proxy.get("affine")) == (3, 1, False, True)
    teaching = SPACE.config("teaching", channels=4, auxiliary=True)
    assert (teaching.channels, teaching.cells, teaching.get("auxiliary")) == (4, 3, True)
    with pytest.raises(ValueError, match="preset"):
        SPACE.config("huge")
    with pytest.raises(ValueError, match="cifar10"):
        SPACE.config("benchmark", dataset="cifar100")


@pytest.mark.parametrize("preset", ["benchmark", "teaching", "swap-proxy"])
def test_forward_returns_logits_for_every_preset(preset):
    model = SPACE.build(EXAMPLE, SPACE.config(preset))
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert any(isinstance(m, nn.ReLU) for m in model.modules())


def test_none_ops_and_auxiliary_head_build_and_run():
    arch = data_archs("darts1000_cifar10.csv")[0]
    assert "'none'" in arch
    model = SPACE.build(arch, SPACE.config("benchmark", channels=8, auxiliary=True)).train()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10) and model.aux_logits.shape == (2, 10)


def test_swap_proxy_network_structure():
    """pym1024/SWAP `Network(3, 10, 1, genotype)`: no stem, the image feeds both inputs of
    one reduction cell (C=6 after doubling), pooled 24 channels into a linear layer."""
    model = SPACE.build(ALL_SEP3, SPACE.config("swap-proxy"))
    (cell,) = model.cells
    assert isinstance(model.stem, nn.Identity) and cell.reduction
    assert cell.preprocess0[1].in_channels == 3 and cell.preprocess1[1].out_channels == 6
    assert model.classifier.in_features == 24
    # 2 preprocesses (3*6 + 12) + 8 sep convs 2*(6*9 + 36 + 12) + classifier 24*10 + 10
    assert count_params(model) == 2 * 30 + 8 * 204 + 250
    skip = SPACE.build(ALL_SEP3.replace("sep_conv_3x3', 0", "skip_connect', 0"), SPACE.config("swap-proxy"))
    assert any(isinstance(m, FactorizedReduce) for m in skip.cells[0].ops)  # strided skip


def test_every_op_builds_in_both_cells():
    for op in OPS:
        text = ALL_SEP3.replace("sep_conv_3x3", op)
        with torch.no_grad():
            assert SPACE.build(text, SPACE.config("teaching"))(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_params_match_every_nb301_row_within_one_percent():
    table = pd.read_csv(require_file("zc/nb301_cifar10.csv"))
    config = SPACE.config("benchmark")
    errors = [count_params(SPACE.build(arch, config)) / (params * 1e6) - 1
              for arch, params in zip(table["arch"], table["params"])]
    worst = max(abs(e) for e in errors)
    assert len(errors) == len(table) == 435 and worst < 0.01, f"max relative parameter error {worst:.4%}"


def test_flops_rank_like_the_nb301_column():
    table = pd.read_csv(require_file("zc/nb301_cifar10.csv"))
    rows = table.iloc[random.Random(0).sample(range(len(table)), 60)]
    config = SPACE.config("benchmark")
    flops = [count_flops(SPACE.build(arch, config)) for arch in rows["arch"]]
    assert spearmanr(flops, rows["flops"])[0] >= 0.98
