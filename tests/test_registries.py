"""Registries refuse a name that is already taken (DESIGN.md: timm's registry), with a message
that names it, and are left as they were."""
import pytest

from swap_core.ensembles import get_ensemble, list_ensembles, register_ensemble
from swap_core.search import get_algorithm, list_algorithms, register_algorithm
from swap_core.spaces import get_space, list_spaces, register_space


def test_a_space_name_is_registered_once():
    names = list_spaces()
    taken = names[0]
    before = get_space(taken)
    stand_in = type("StandIn", (type(before),), {"name": taken})
    with pytest.raises(ValueError, match=f"search space named '{taken}' is already registered"):
        register_space(stand_in)
    assert list_spaces() == names and get_space(taken) is before


def test_an_alias_is_a_taken_name_too():
    names = list_spaces()
    aliased = next(name for name in names if get_space(name).aliases)
    alias = get_space(aliased).aliases[0]
    assert get_space(alias) is get_space(aliased)
    stand_in = type("StandIn", (type(get_space(aliased)),), {"name": "a-new-name", "aliases": (alias,)})
    with pytest.raises(ValueError, match=f"search space named '{alias}' is already registered"):
        register_space(stand_in)
    with pytest.raises(ValueError, match=f"search space named '{names[0]}' is already registered"):
        register_space(type("StandIn", (type(get_space(aliased)),), {"name": "a-new-name", "aliases": (names[0],)}))
    assert list_spaces() == names
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("a-new-name")


def test_a_space_needs_a_name():
    nameless = type("Nameless", (type(get_space(list_spaces()[0])),), {"name": ""})
    with pytest.raises(ValueError, match="Nameless has no `name`"):
        register_space(nameless)


def test_an_algorithm_name_is_registered_once():
    taken = list_algorithms()[0]
    before = get_algorithm(taken)
    with pytest.raises(ValueError, match=f"search algorithm named '{taken}' is already registered"):
        register_algorithm(taken, before.fn, "Another", "a second algorithm under a taken name")
    assert get_algorithm(taken) is before


def test_an_ensemble_name_is_registered_once():
    taken = list_ensembles()[0]
    before = get_ensemble(taken)
    names = list_ensembles()
    with pytest.raises(ValueError, match=f"ensemble named '{taken}' is already registered"):
        register_ensemble(before)
    assert list_ensembles() == names and get_ensemble(taken) is before
