"""Contract tests over the registries (DESIGN.md, "Contracts"): every registered search space
keeps the interface the app, the CLI and the searches rely on, and every registered proxy
gives every space's teaching network a finite score or says why it has none.

Parametrised over `list_spaces()` and `list_proxies()`, never a hand-kept list, so a new space
or proxy is checked the moment it registers.
"""
import functools
import math
import random
import subprocess
import sys

import networkx as nx
import pytest
import torch

from conftest import ROOT
from swap_core.data import load_batch
from swap_core.proxies import get_proxy, list_proxies, score
from swap_core.spaces import NetworkConfig, get_space, list_spaces

SPACES = list_spaces()
PROXIES = list_proxies()
SAMPLES = 4  # random architectures per space, drawn from a fixed seed
# Proxies with one backward pass per sample take seconds at their own batch size: they see this many.
PER_SAMPLE_BATCH = 8
# What ui/figures.py draws an edge's `op` as besides the space's ops: tensors that are only moved.
STRUCTURAL_OPS = {"concat", "projection", ""}
NODE_END_OPS = {"input", "output"}  # NAS-Bench-101 puts ops on nodes, the cell's ends included


def samples(space, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(SAMPLES)]


@functools.cache
def teaching(name: str) -> NetworkConfig:
    space = get_space(name)
    return space.config("teaching", space.datasets[0])


def assert_valid(space, arch) -> None:
    """`arch` survives the string round trip unchanged, and its string is stable."""
    text = space.to_str(arch)
    assert isinstance(text, str) and text
    again = space.from_str(text)
    assert again == arch and hash(again) == hash(arch), text
    assert space.to_str(again) == text


def forward(space, arch) -> torch.Tensor:
    """The teaching network's outputs for a batch of 2 images, all flattened into one tensor."""
    config = teaching(space.name)
    torch.manual_seed(0)
    model = space.build(arch, config)
    with torch.no_grad():
        out = model(torch.randn(2, 3, config.input_size, config.input_size))
    outputs = out if isinstance(out, (tuple, list)) else (out,)
    assert all(o.shape[0] == 2 for o in outputs), [tuple(o.shape) for o in outputs]
    return torch.cat([o.reshape(-1) for o in outputs])


# --- the registry -----------------------------------------------------------------------------

def test_spaces_are_listed_in_one_order_whatever_was_imported_first():
    assert len(set(SPACES)) == len(SPACES) and SPACES == list_spaces()
    assert [get_space(name).name for name in SPACES] == SPACES
    last = SPACES[-1]
    code = (f"import swap_core.spaces.{type(get_space(last)).__module__.rsplit('.', 1)[-1]}\n"
            "from swap_core.spaces import list_spaces\nprint(','.join(list_spaces()))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().split(",") == SPACES


@pytest.mark.parametrize("name", SPACES)
def test_every_preset_and_dataset_has_a_config(name):
    space = get_space(name)
    assert {"benchmark", "teaching"} <= set(space.presets)
    assert space.title and space.datasets and space.ops
    for preset in space.presets:
        for dataset in space.datasets:
            config = space.config(preset, dataset)
            assert isinstance(config, NetworkConfig) and config.preset == preset
            assert config.channels > 0 and config.input_size > 0
    with pytest.raises(ValueError):
        space.config("no-such-preset")


# --- strings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPACES)
def test_strings_round_trip(name):
    space = get_space(name)
    assert space.to_str(space.from_str(space.example)) == space.example  # the data files' exact form
    for arch in [space.from_str(space.example), *samples(space)]:
        assert_valid(space, arch)
    for label, text in space.named_archs.items():
        assert_valid(space, space.from_str(text)), label


@pytest.mark.parametrize("name", SPACES)
def test_bad_strings_are_a_value_error_that_says_what_is_wrong(name):
    space = get_space(name)
    for text in ["", "not an architecture", space.example[: len(space.example) // 2]]:
        with pytest.raises(ValueError) as info:
            space.from_str(text)
        assert str(info.value)


# --- search operations ------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPACES)
def test_sample_mutate_crossover_give_valid_buildable_architectures(name):
    space = get_space(name)
    rng = random.Random(1)
    archs = samples(space)
    for arch, other in zip(archs, archs[1:] + archs[:1]):
        child = space.crossover(arch, other, rng)
        mutant = space.mutate(arch, rng)
        assert mutant != arch and space.to_str(mutant) != space.to_str(arch)
        assert mutant in space.neighbours(arch)  # neighbours are every architecture one mutate away
        for made in (arch, child, mutant):
            assert_valid(space, made)
            assert torch.isfinite(forward(space, made)).all(), space.to_str(made)


@pytest.mark.parametrize("name", SPACES)
def test_neighbours_are_distinct_valid_and_differ(name):
    space = get_space(name)
    for arch in samples(space, seed=2):
        neighbours = space.neighbours(arch)
        assert neighbours and len(set(neighbours)) == len(neighbours)
        for neighbour in neighbours:
            assert neighbour != arch
            assert_valid(space, neighbour)


# --- drawing and editing ----------------------------------------------------------------------

@pytest.mark.parametrize("name", SPACES)
def test_graph_carries_what_the_drawing_uses(name):
    """ui/figures.py: nodes have a `label` and a `layer` (the column that keeps a node in place
    when an edit removes an edge; `row`, if given, its height); an edge's `op` is one of the
    space's ops (or ops joined by " + "), or a structural edge; a node's `op` is one of the
    space's ops; a graph split into cells names the `cell` of every node."""
    space = get_space(name)
    ops = set(space.ops)
    for arch in [space.from_str(space.example), *samples(space)]:
        graph = space.graph(arch)
        assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() and graph.number_of_edges()
        assert nx.is_directed_acyclic_graph(graph)
        nodes = graph.nodes(data=True)
        for node, data in nodes:
            assert isinstance(data.get("label"), str) and data["label"], (node, data)
            assert isinstance(data.get("layer"), int), (node, data)
            assert data.get("op") is None or data["op"] in ops | NODE_END_OPS, (node, data)
        assert all("row" in d for _, d in nodes) or not any("row" in d for _, d in nodes)
        assert all("cell" in d for _, d in nodes) or not any("cell" in d for _, d in nodes)
        for u, v, data in graph.edges(data=True):
            op = data.get("op", "")
            assert op in STRUCTURAL_OPS or set(op.split(" + ")) <= ops, (u, v, data)


@pytest.mark.parametrize("name", SPACES)
def test_edit_slots_round_trip(name):
    space = get_space(name)
    for arch in [space.from_str(space.example), *samples(space, seed=3)[:2]]:
        slots = space.edit_slots(arch)
        assert slots and len({s.key for s in slots}) == len(slots)
        for slot in slots:
            assert slot.value in slot.options and slot.group and slot.label
            assert not slot.option_labels or len(slot.option_labels) == len(slot.options)
            assert space.with_slot(arch, slot.key, slot.value) == arch
            for option in slot.options:
                if option == slot.value:
                    continue
                try:
                    edited = space.with_slot(arch, slot.key, option)
                except ValueError as error:  # an edit that would make an invalid cell says so
                    assert str(error)
                    continue
                assert edited != arch
                assert_valid(space, edited)
        with pytest.raises(ValueError):
            space.with_slot(arch, "no-such-slot", slots[0].value)


@pytest.mark.parametrize("name", SPACES)
def test_slot_places_point_at_the_drawing(name):
    """Click-to-edit (ui/figures.py): every place names a slot of the cell and a node, or an
    edge between nodes, of its graph; NB201/DARTS-like spaces place all their op slots."""
    space = get_space(name)
    for arch in [space.from_str(space.example), *samples(space, seed=5)[:2]]:
        graph, keys = space.graph(arch), {slot.key for slot in space.edit_slots(arch)}
        places = space.slot_places(arch)
        assert set(places) <= keys, set(places) - keys
        for key, place in places.items():
            assert place[0] in ("node", "edge"), (key, place)
            assert all(node in graph for node in place[1:]) and len(place) == (2 if place[0] == "node" else 3)
        if name in ("nb201", "darts", "tnb101_micro"):
            assert set(places) == keys


@pytest.mark.parametrize("name", SPACES)
def test_teaching_network_forward_pass_is_finite(name):
    space = get_space(name)
    out = forward(space, space.from_str(space.example))
    assert out.numel() and torch.isfinite(out).all()


# --- every proxy on every space ---------------------------------------------------------------

@functools.cache
def proxy_batch(name: str):
    """A batch as large as the largest default batch of any proxy, at the space's input size."""
    size = max(get_proxy(p).default_batch_size or 1 for p in PROXIES)
    return load_batch(size, 0, source="noise", input_size=teaching(name).input_size)


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("name", SPACES)
def test_every_proxy_scores_every_space_or_says_why_not(name, proxy):
    space = get_space(name)
    batch = proxy_batch(name)
    torch.manual_seed(0)
    model = space.build(space.from_str(space.example), teaching(name))
    batch_size = PER_SAMPLE_BATCH if get_proxy(proxy).per_sample_passes else None
    result = score(model, [proxy], batch.images, batch.labels, batch_size=batch_size, on_error="nan")
    value = result[proxy]
    assert isinstance(value, float)
    if math.isnan(value):
        assert result.errors.get(proxy), f"{proxy} on {name}: NaN without a reason"
    else:
        assert math.isfinite(value) and proxy not in result.errors
