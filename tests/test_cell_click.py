"""Draw a cell by clicking it (ui/figures.py, ui/cell_click.py): a click target carries the
slots under it, `slots_at` reads them back from a selection, edge labels never overlap one
another or a node at the narrowest width the drawing is shown, and in the app (AppTest) the
choice a click opens edits the cell and clears the drawing's selection."""
import itertools
import random

import numpy as np
import pytest

from conftest import open_app
from swap_core.spaces import get_space
from ui import cell_click
from ui.cell_layout import label_box, place_labels
from ui.figures import cell_figure, cell_figures, figure_slots, place_title, slots_at

DESIGNER = "app_pages/cell_designer.py"


def _targets(figure):
    return next(t for t in figure.data if t.name == "click to edit")


def test_slots_at_reads_the_first_click_target():
    assert slots_at([{"curve_number": 3, "customdata": "normal:0:op|normal:0:input"}]) == \
        ("normal:0:op", "normal:0:input")
    assert slots_at([{"customdata": ["0-2"]}]) == ("0-2",)  # customdata given per point as a list
    assert slots_at([{"x": 1.0, "y": 0.0}, {"customdata": "1-3"}]) == ("1-3",)  # a node/line point first
    assert slots_at([]) == () and slots_at(None) == () and slots_at([{"customdata": None}]) == ()


@pytest.mark.parametrize("name", ["nb201", "tnb101_micro"])
def test_every_edge_is_clickable_even_a_none_edge(name):
    space = get_space(name)
    arch = space.from_str(space.named_archs.get("ResNet-like", space.example)) if name == "nb201" else \
        space.from_str(space.example)
    places = space.slot_places(arch)
    figure = cell_figure(space.graph(arch), list(space.ops), places=places)
    assert figure_slots(figure) == set(places) == {s.key for s in space.edit_slots(arch)}
    lines = [t for t in figure.data if t.mode == "lines"]
    assert len(lines) == len(places)  # the edges the graph leaves out (none) are drawn too, dotted
    dotted = sum(1 for t in lines if t.line.dash == "dot")
    assert dotted == len(places) - space.graph(arch).number_of_edges()
    targets = _targets(figure)
    labels = {(a.x, a.y) for a in figure.layout.annotations if a.text}
    assert all((x, y) in labels for x, y in zip(targets.x, targets.y))  # each target sits on its edge's label


def test_darts_nodes_are_targets_for_their_two_inputs():
    space = get_space("darts")
    arch = space.from_str(space.example)
    figures = cell_figures(space.graph(arch), list(space.ops), places=space.slot_places(arch))
    normal = dict(figures)["normal cell"]
    assert figure_slots(normal) == {f"normal:{p}:{part}" for p in range(8) for part in ("op", "input")}
    assert "normal:2:op|normal:2:input|normal:3:op|normal:3:input" in _targets(normal).customdata  # node 3
    assert not figure_slots(dict(figures)["reduce cell"]) & figure_slots(normal)


def _label_boxes(figure) -> list[tuple]:
    """Each edge label's box in pixels, for the plot area the drawing placed its labels for."""
    width, height = figure.layout.meta["label_px"]
    (x0, x1), (y0, y1) = figure.layout.xaxis.range, figure.layout.yaxis.range
    return [((a.x - x0) / (x1 - x0) * width, (a.y - y0) / (y1 - y0) * height, *label_box(a.text))
            for a in figure.layout.annotations if a.text]


def _overlap(a, b) -> float:
    dx = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    dy = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    return max(dx, 0) * max(dy, 0)


@pytest.mark.parametrize("name", ["nb201", "darts", "tnb101_micro"])
def test_edge_labels_do_not_overlap_at_the_narrowest_width(name):
    """At 1366×768 the drawing is about `_MIN_WIDTH_PX` wide; wider, labels only move apart."""
    space = get_space(name)
    rng = random.Random(0)
    archs = [space.from_str(space.example), *map(space.from_str, space.named_archs.values()),
             *(space.sample(rng) for _ in range(10))]
    for arch in archs:
        for _, figure in cell_figures(space.graph(arch), list(space.ops), places=space.slot_places(arch)):
            boxes = _label_boxes(figure)
            clashes = [(a, b) for a, b in itertools.combinations(boxes, 2) if _overlap(a, b) > 0]
            assert not clashes, (space.to_str(arch), clashes)


def test_place_labels_moves_a_label_off_a_taken_spot():
    line = np.array([(float(x), 50.0) for x in range(0, 201, 10)])  # two edges on one line, 200 px
    chosen = place_labels([line, line], [(60, 22)] * 2, [])
    assert chosen[0] != chosen[1] and abs(chosen[0] - chosen[1]) * 10 >= 60  # 60 px apart at least
    node = [(100.0, 50.0, 50, 50)]  # a node in the middle: the label moves off it
    assert abs(place_labels([line], [(60, 22)], node)[0] * 10 - 100) >= 55


def test_place_title_names_the_edge_or_the_node():
    nb201, darts = get_space("nb201"), get_space("darts")
    arch = nb201.from_str(nb201.example)
    slots = [s for s in nb201.edit_slots(arch) if s.key == "0-2"]
    assert place_title(("edge", 0, 2), nb201.graph(arch), slots) == "Edge in → 2: choose its operation"
    genotype = darts.from_str(darts.example)
    node = [s for s in darts.edit_slots(genotype) if s.key.startswith("normal:2:") or s.key.startswith("normal:3:")]
    assert place_title(("node", ("normal", 3)), darts.graph(genotype), node) == "Normal cell, node 3: choose"


def test_a_click_opens_the_choice_and_a_choice_edits_the_cell():
    """AppTest cannot click a Plotly chart: the click's callback is given what the browser
    sends (a selection whose point carries the target's customdata), then the choice is made."""
    nb201 = get_space("nb201")
    at = open_app(DESIGNER)
    assert not at.segmented_control  # nothing clicked yet
    at.session_state[cell_click.PLACE] = slots_at([{"customdata": "0-2"}])
    at.run()
    choice = at.segmented_control(key="cd_click_nb201_0-2")
    assert choice.value == nb201.from_str(nb201.example).ops[1] and "conv 1×1" in choice.options  # short labels
    version = at.session_state[cell_click.VERSION] if cell_click.VERSION in at.session_state else 0
    choice.set_value("avg_pool_3x3").run()
    assert not at.exception, at.exception
    assert nb201.from_str(at.query_params["arch"]).ops[1] == "avg_pool_3x3"
    assert at.session_state[cell_click.VERSION] == version + 1  # the drawing's selection is cleared
    assert at.segmented_control(key="cd_click_nb201_0-2").value == "avg_pool_3x3"  # still open, showing it
    at.button(key="cd_click_close").click().run()
    assert not at.segmented_control


def test_a_choice_that_makes_no_valid_cell_says_why_and_changes_nothing():
    """NAS-Bench-101's example cell has the 9 edges the space allows: a tenth is refused."""
    nb101 = get_space("nb101")
    at = open_app(DESIGNER, query={"space": "nb101"})
    before = at.query_params["arch"]
    places = nb101.slot_places(nb101.from_str(before))
    at.session_state[cell_click.PLACE] = tuple(k for k, p in places.items() if p == ("node", 6))  # the output
    at.run()
    at.segmented_control(key="cd_click_nb101_edge:0-6").set_value(1).run()
    assert not at.exception, at.exception
    assert at.query_params["arch"] == before
    assert any("Not changed" in w.value and "9" in w.value for w in at.warning), [w.value for w in at.warning]
