"""TinyNAS search-space selection (`swap_core.tinynas`; Lin et al., MCUNet, NeurIPS 2020) and
peak activation memory (`swap_core.netstats.peak_activation_bytes`): a hand-computed peak, the
fast per-cell costs equal to those of the fully built network, the variant table, the budget,
the choice rule, no invented accuracy, the CLI and one-line errors for bad input."""
import math
import random

import pandas as pd
import pytest
import torch.nn as nn

from conftest import require_file

from swap_core import tinynas
from swap_core.cli import main
from swap_core.netstats import live_peak, peak_activation_bytes
from swap_core.spaces import get_space
from ui.tinynas_figures import flops_cdf, variant_legend


class Residual(nn.Module):
    """x -> conv(3->4) -> relu -> conv(4->4), plus the relu output added back: a residual."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv_b = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        h = self.relu(self.conv_a(x))
        return self.conv_b(h) + h


def test_peak_of_a_chain_is_the_largest_input_plus_output():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1), nn.Flatten())
    # 8x8 image: conv 3->8 reads 192 values, writes 512; relu 512 -> 512; conv 512 -> 128; flatten is a view
    assert peak_activation_bytes(net, 8) == (512 + 512) * 4
    assert peak_activation_bytes(net, 8, bytes_per_value=1) == 1024
    assert peak_activation_bytes(net, 8, batch=3) == 3 * 1024 * 4
    assert net.training  # the mode is restored


def test_peak_of_a_residual_keeps_the_skip_branch_alive():
    # 4x4 image (16 px): at conv_b the relu output h (64) must stay for the add: conv_a's
    # output is dead by then; conv_b reads h and writes 64; the add reads both and writes 64
    assert peak_activation_bytes(Residual(), 4) == (64 + 64 + 64) * 4


def test_live_peak_on_an_abstract_trace():
    steps = [["x", "a"], ["a", "b"], ["x", "b", "c"]]  # x stays alive until the last step
    assert live_peak(steps, {"x": 1, "a": 2, "b": 4, "c": 8}) == 13
    assert live_peak(steps, {"x": 1, "a": 2, "b": 4, "c": 8}, keep_alive=("a",)) == 15


def _check_fast_equals_exact(space, n_archs, variants, cells=None):
    sp = get_space(space)
    rng = random.Random(3)
    archs = [sp.sample(rng) for _ in range(n_archs)]
    units = {}
    for width, resolution in variants:
        config = tinynas.variant_config(space, "cifar10", width, resolution)
        config = config.with_options(cells=cells) if cells else config
        fast = tinynas.cell_costs(space, archs, config, 4, units)
        assert [peak // 4 for _, peak in fast] == [peak for _, peak in tinynas.cell_costs(space, archs, config, 1, units)]
        for arch, (mflops, peak) in zip(archs, fast):
            exact_mflops, exact_peak = tinynas.exact_costs(space, arch, config)
            assert mflops == pytest.approx(exact_mflops, rel=1e-12, abs=1e-9)
            assert peak == exact_peak


@pytest.mark.parametrize("space, n_archs, variants", [("nb201", 2, [(0.5, 16), (0.75, 8)]), ("darts", 2, [(0.5, 16)])])
def test_fast_costs_equal_the_fully_built_network(space, n_archs, variants):
    # fewer cells than the benchmark's (NB201: 2 per stage; DARTS: 4, with both reductions) for speed;
    # the benchmark networks themselves are the slow test below
    _check_fast_equals_exact(space, n_archs, variants, cells=2 if space == "nb201" else 4)


@pytest.mark.slow
@pytest.mark.parametrize("space, n_archs, variants", [
    ("nb201", 4, [(0.5, 16), (1.25, 24), (1.0, 32), (0.75, 8)]), ("darts", 3, [(1.25, 24), (1.0, 32), (0.75, 8)])])
def test_fast_costs_equal_the_fully_built_network_more(space, n_archs, variants):
    _check_fast_equals_exact(space, n_archs, variants)


def test_variant_config_scales_channels_and_input():
    config = tinynas.variant_config("nb201", "cifar10", 0.75, 24)
    assert (config.channels, config.input_size, config.cells) == (12, 24, 5)
    assert tinynas.variant_config("darts", "cifar10", 1.25, 16).channels == 40
    assert tinynas.variant_config("nb201", "cifar10", 0.01, 16).channels == 1


def test_twelve_nb201_variants_table_and_cells():
    result = tinynas.select_space("nb201", samples=20, seed=1)
    table = result.variants
    assert len(table) == 12 and set(table["label"]) >= {"w0.5-r16", "w1.25-r32", "w0.75-r24"}
    assert (table["n_sampled"] == 20).all() and table["kept"].all()
    assert len(result.cells) == 12 * 20
    # the same cells in every variant; FLOPs grow with width and resolution
    by_variant = result.cells.groupby("variant")["arch"].apply(tuple)
    assert by_variant.nunique() == 1
    means = table.set_index("label")["mean_mflops"]
    assert means["w0.5-r16"] < means["w0.5-r32"] < means["w1.25-r32"]
    assert result.chosen == "w1.25-r32"  # no budget: the largest variant wins


def test_budget_drops_models_and_variants_and_the_rule_picks_the_top20_mean():
    free = tinynas.select_space("nb201", widths=(0.5, 1.0, 1.25), resolutions=(16, 32), samples=30, seed=2)
    budget = 0.2  # MB: w1-r32's largest cell needs 0.33 MB
    result = tinynas.select_space("nb201", widths=(0.5, 1.0, 1.25), resolutions=(16, 32), samples=30, seed=2,
                                  memory_mb=budget)
    cells = result.cells
    assert ((cells["peak_mb"] <= budget) == cells["under_budget"]).all()
    table = result.variants.set_index("label")
    assert table.loc["w1.25-r32", "n_under_budget"] == 0 and not table.loc["w1.25-r32", "kept"]
    assert "w1.25-r32" in result.dropped
    assert free.variants["max_peak_mb"].tolist() == result.variants["max_peak_mb"].tolist()
    for label, row in table[table["kept"]].iterrows():  # top-20 % mean by hand
        flops = sorted(cells[(cells["variant"] == label) & cells["under_budget"]]["mflops"], reverse=True)
        top = flops[:math.ceil(0.2 * len(flops))]
        assert row["top20_mean_mflops"] == pytest.approx(sum(top) / len(top))
    kept = table[table["kept"]]
    assert result.chosen == kept["top20_mean_mflops"].idxmax()
    assert table["chosen"].sum() == 1
    none_fit = tinynas.select_space("nb201", widths=(1.0,), resolutions=(32,), samples=5, memory_mb=1e-6)
    assert none_fit.chosen is None and none_fit.dropped == ["w1.0-r32"]


def test_int8_counts_one_byte_per_value():
    f32 = tinynas.select_space("nb201", widths=(1.0,), resolutions=(16,), samples=5)
    i8 = tinynas.select_space("nb201", widths=(1.0,), resolutions=(16,), samples=5, int8=True)
    assert (f32.cells["peak_mb"] / i8.cells["peak_mb"]).round(12).eq(4).all()


def test_top_mean():
    assert tinynas.top_mean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 9.5
    assert tinynas.top_mean([3.0]) == 3.0 and math.isnan(tinynas.top_mean([]))


def test_no_invented_accuracy():
    require_file("nb201_accuracy.csv")
    result = tinynas.select_space("nb201", widths=(0.5, 1.0), resolutions=(16, 32), samples=10, seed=4)
    table = result.variants.set_index("label")
    assert table.loc["w1.0-r32", "benchmark_accuracy"]
    assert not table.drop("w1.0-r32")["benchmark_accuracy"].any()
    assert (table.drop("w1.0-r32")["accuracy_note"] == "no benchmark accuracy").all()
    cells = result.cells
    assert cells[cells["variant"] != "w1.0-r32"]["accuracy"].isna().all()
    bench = cells[cells["variant"] == "w1.0-r32"]
    assert bench["accuracy"].notna().all() and bench["accuracy"].between(0, 100).all()


@pytest.mark.parametrize("call, message", [
    (lambda: tinynas.variant_config("nb201", "cifar10", 0, 32), "width"),
    (lambda: tinynas.variant_config("nb201", "cifar10", -1.0, 32), "width"),
    (lambda: tinynas.variant_config("nb201", "cifar10", 1.0, 4), "resolution"),
    (lambda: tinynas.variant_config("nb201", "cifar10", 1.0, 30), "multiple of 4"),
    (lambda: tinynas.variant_config("nb201", "cifar10", 1.0, "32"), "resolution"),
    (lambda: tinynas.select_space("nb201", memory_mb=0), "memory budget"),
    (lambda: tinynas.select_space("nb201", memory_mb=-3.0), "memory budget"),
    (lambda: tinynas.select_space("nosuchspace"), "unknown search space"),
    (lambda: tinynas.select_space("nb101"), "TinyNAS variants"),
    (lambda: tinynas.parse_list("16,abc", int, "--resolutions"), "--resolutions"),
])
def test_bad_input_is_a_one_line_value_error(call, message):
    with pytest.raises(ValueError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_cli_prints_the_table_and_writes_both_csvs(tmp_path, capsys):
    out = tmp_path / "tinynas.csv"
    code = main(["tinynas", "--space", "nb201", "--widths", "0.5,1", "--resolutions", "16,32", "--samples", "8",
                 "--memory-mb", "0.2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "w0.5-r16" in printed and "chosen:" in printed
    cells = pd.read_csv(out)
    variants = pd.read_csv(tmp_path / "tinynas.variants.csv")
    assert len(cells) == 4 * 8 and set(cells.columns) >= {"variant", "arch", "mflops", "peak_mb"}
    assert len(variants) == 4 and variants["chosen"].sum() == 1


@pytest.mark.parametrize("args", [["--widths", "0"], ["--resolutions", "7"], ["--resolutions", "x"],
                                  ["--memory-mb", "-1"], ["--space", "nb101"]])
def test_cli_bad_input_exits_2_with_one_line(args, capsys):
    assert main(["tinynas", "--samples", "2", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_flops_cdf_figure_draws_kept_variants_and_marks_the_chosen():
    result = tinynas.select_space("nb201", widths=(0.5, 1.0, 1.25), resolutions=(16, 32), samples=10,
                                  memory_mb=0.2)
    figure = flops_cdf(result.cells, result.variants)
    names = [trace.name for trace in figure.data]
    assert len(names) == int(result.variants["kept"].sum())
    chosen = [trace for trace in figure.data if trace.name.endswith("(chosen)")]
    assert len(chosen) == 1 and chosen[0].name.startswith(result.chosen + " | ")
    assert chosen[0].line.width > max(t.line.width for t in figure.data if t is not chosen[0])
    assert all(trace.y[-1] == pytest.approx(1.0) for trace in figure.data)
    assert variant_legend("w0.75-r24", 41.2) == "w0.75-r24 | 41M"


@pytest.mark.slow
def test_train_check_trains_a_cell_on_two_variants():
    require_file("cifar10_sample.npz")
    sp = get_space("nb201")
    arch = sp.named_archs["ResNet-like"]
    rows = tinynas.train_check("nb201", [arch], [(0.25, 16), (0.25, 32)], epochs=1, train_size=64, val_size=32)
    assert len(rows) == 2 and rows["val_accuracy"].between(0, 1).all()
    assert rows.iloc[0]["mflops"] < rows.iloc[1]["mflops"]


def test_apply_budget_equals_selecting_under_that_budget():
    from swap_core.tinynas import apply_budget, select_space

    free = select_space("nb201", samples=30, widths=(0.5, 1.0), resolutions=(16, 32))
    for budget in (0.1, 0.2, None):
        direct = select_space("nb201", samples=30, widths=(0.5, 1.0), resolutions=(16, 32), memory_mb=budget)
        moved = apply_budget(free, budget)
        pd.testing.assert_frame_equal(moved.variants, direct.variants)
        pd.testing.assert_frame_equal(moved.cells, direct.cells)
        assert moved.chosen == direct.chosen and moved.memory_mb == budget
    assert apply_budget(free, 0.1).chosen != free.chosen  # a tight budget moves the choice
    with pytest.raises(ValueError, match="memory budget"):
        apply_budget(free, -1.0)


def test_the_training_check_pairs_the_chosen_with_the_cheapest_kept_variant():
    result = tinynas.select_space("nb201", samples=10, widths=(0.5, 1.0), resolutions=(16, 32))
    assert tinynas.check_pair(result) == [(1.0, 32), (0.5, 16)]
    tight = tinynas.apply_budget(result, float(result.cells["peak_mb"].min()))
    with pytest.raises(ValueError, match="two variants"):
        tinynas.check_pair(tight)
