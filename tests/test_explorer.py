"""The Cell Designer's library side: ranks, ground truth, named cells, editing slots, drawing."""
import math
import random

import pytest
import torch

from swap_core import explorer
from swap_core.setup import Setup
from swap_core.spaces import get_space
from ui.figures import cell_figures, layout_positions


def test_rank_among_respects_direction_and_ignores_nan():
    assert explorer.rank_among(5.0, [1.0, 7.0, math.nan, 3.0], higher_is_better=True) == (2, 4)
    assert explorer.rank_among(5.0, [1.0, 7.0, math.nan, 3.0], higher_is_better=False) == (3, 4)
    assert explorer.rank_among(math.nan, [1.0], higher_is_better=True) is None
    assert explorer.rank_among(2.0, [], higher_is_better=True) == (1, 1)


def test_sample_architectures_distinct_reproducible_and_prefix_stable():
    space = get_space("nb201")
    fifty = explorer.sample_architectures(space, 50, seed=3)
    assert len(set(fifty)) == 50
    assert explorer.sample_architectures(space, 20, seed=3) == fifty[:20]
    assert explorer.sample_architectures(space, 20, seed=4) != fifty[:20]


def test_resolve_device():
    assert explorer.resolve_device("cpu") == "cpu"
    assert explorer.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        explorer.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            explorer.resolve_device("cuda")


def test_accuracy_and_named_cells_from_the_benchmark(data_dir):
    named = explorer.named_architectures("nb201", "cifar10", data_dir)
    best = named["best by accuracy (nb201_accuracy.csv)"]
    accuracy = explorer.accuracy_of("nb201", "cifar10", best, data_dir)
    assert accuracy.rank == 1 and accuracy.of == 15625 and accuracy.value == pytest.approx(94.37, abs=0.01)
    worst = explorer.accuracy_of("nb201", "cifar10", named["worst by accuracy (nb201_accuracy.csv)"], data_dir)
    assert worst.rank > 15000 and worst.value < 15
    resnet = explorer.accuracy_of("nb201", "cifar100", named["ResNet-like"], data_dir)
    assert resnet.table == "nb201_accuracy.csv:cifar100_test" and 1 < resnet.rank < 15625
    darts = explorer.named_architectures("darts", "cifar10", data_dir)
    assert explorer.accuracy_of("darts", "cifar10", darts["best by accuracy (darts1000_cifar10.csv)"], data_dir).rank == 1


def test_accuracy_missing_table_is_none(tmp_path):
    assert explorer.accuracy_of("nb201", "cifar10", get_space("nb201").example, tmp_path) is None
    assert "ResNet-like" in explorer.named_architectures("nb201", "cifar10", tmp_path)


def test_score_architectures_gives_nan_and_reason_for_undefined_proxy():
    space = get_space("nb201")
    disconnected = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    setup = Setup(space="nb201", preset="teaching", images="noise", batch=8)
    table = explorer.score_architectures(setup, [space.example, disconnected], ["params", "jacob_cov", "synflow"])
    assert list(table["arch"]) == [space.example, disconnected]
    assert table.loc[0, ["params", "jacob_cov", "synflow"]].notna().all()
    assert math.isnan(table.loc[1, "jacob_cov"]) and "jacob_cov" in table.loc[1, "errors"]
    proxies = explorer.proxy_table(table.iloc[1].to_dict(), table.loc[1, "errors"], table.iloc[:1], ["params", "jacob_cov"])
    assert proxies.set_index("proxy").loc["jacob_cov", "note"]
    assert proxies.set_index("proxy").loc["params", "rank"] in ("1 of 2", "2 of 2")


@pytest.mark.parametrize("name", ["nb201", "darts"])
def test_edit_slots_cover_every_one_step_change(name):
    space = get_space(name)
    arch = space.sample(random.Random(0))
    slots = space.edit_slots(arch)
    reachable = set()
    for slot in slots:
        assert space.with_slot(arch, slot.key, slot.value) == arch
        for option in slot.options:
            reachable.add(space.with_slot(arch, slot.key, option).to_str())
    reachable.discard(arch.to_str())
    assert {n.to_str() for n in space.neighbours(arch)} <= reachable
    with pytest.raises(ValueError):
        space.with_slot(arch, "no-such-slot", slots[0].value)


def test_darts_input_slot_rejects_a_later_node():
    space = get_space("darts")
    arch = space.from_str(space.example)
    with pytest.raises(ValueError, match="expected 0..1"):
        space.with_slot(arch, "normal:0:input", 4)


@pytest.mark.parametrize("name", ["nb201", "darts"])
def test_cell_figures_draw_every_edge_and_keep_node_places(name):
    space = get_space(name)
    for arch in space.named_archs.values():
        graph = space.graph(arch)
        figures = cell_figures(graph, list(space.ops))
        lines = sum(1 for _, f in figures for t in f.data if t.mode == "lines")
        assert lines == graph.number_of_edges()
    if name == "nb201":  # removing an edge must not move the nodes
        full = layout_positions(space.graph(space.named_archs["all conv 3x3"]))
        sparse = layout_positions(space.graph(space.named_archs["ResNet-like"]))
        assert all((full[n] == sparse[n]).all() for n in full)
