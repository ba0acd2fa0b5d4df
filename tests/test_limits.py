"""Upper limits (swap_core.limits): one table with reasons, used by the Setup, the search
options, every numeric command-line option and the app's widgets; and the image count that
the CIFAR-10 sample really has."""
from __future__ import annotations

import argparse

import pytest

from swap_core import data, limits
from swap_core.cli import build_parser, main
from swap_core.cli_helpers import tighten_types
from swap_core.limits import LIMITS, LimitError
from swap_core.search.experiment import SearchSetup, check_search
from swap_core.setup import Setup

# numeric options that are not an amount of work or memory, with why they have no maximum
UNBOUNDED = {"limit": "only cuts the input short", "mu": "a target size", "sigma": "a width",
             "gamma": "an exponent", "weight": "a coefficient",
             "memory_mb": "a budget: it only filters models, no work"}


def _numeric_options(parser: argparse.ArgumentParser, command: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_options(sub, f"{command} {name}".strip())
        elif action.option_strings and action.type is not None and action.type is not str \
                and not isinstance(action.default, str):
            yield command, action


def _cli_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    tighten_types(parser)
    limits.apply_maxima(parser)
    return parser


def test_every_limit_has_a_maximum_and_a_reason():
    for name, entry in LIMITS.items():
        assert entry.maximum >= 1 and len(entry.reason) > 10, name
        assert limits.help_text(name) == f"at most {entry.maximum:,}: {entry.reason}"


def test_check_refuses_above_the_limit_with_the_reason():
    assert limits.check("batch", 1024) == 1024 and limits.check("batch", None) is None
    with pytest.raises(LimitError) as caught:
        limits.check("batch", 1025, "--batch-size")
    assert str(caught.value) == f"--batch-size: at most 1,024 ({LIMITS['batch'].reason}), got 1,025"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(KeyError, match="no limit named 'nothing'"):
        limits.check("nothing", 1)


def test_setup_takes_its_batch_limit_from_the_table():
    assert Setup(batch=1024).batch == 1024
    with pytest.raises(ValueError, match=r"batch size: at most 1,024 \(memory grows with the batch.*got 4,096"):
        Setup(batch=4096)


@pytest.mark.parametrize("options, evaluations, expected", [
    ({"sample_size": 30_000_000}, 10, "sample size: at most 1,000"),
    ({"population": 5_000}, 10, "population: at most 1,000"),
    ({"mutations": 101}, 10, "mutations: at most 100"),
    ({}, 1_000_000, "budget: at most 20,000"),
])
def test_search_options_have_maxima(options, evaluations, expected):
    setup = SearchSetup(options=options)
    with pytest.raises(LimitError, match=expected):
        check_search(setup, "swap-nas", evaluations)


def test_search_options_at_their_maxima_pass():
    setup = SearchSetup(options={"population": 1_000, "sample_size": 1_000, "mutations": 100})
    assert check_search(setup, "swap-nas", 20_000) == "reg_swap"


def test_every_numeric_command_line_option_has_a_maximum_or_a_reason_not_to():
    seen = set()
    for command, action in _numeric_options(_cli_parser()):
        name = limits.limit_for_dest(action.dest)
        flag = action.option_strings[0]
        seen.add(action.dest)
        if name is None:
            assert action.dest in UNBOUNDED, f"{command} {flag} has no upper limit: add it to limits.LIMITS"
            continue
        top = limits.maximum(name)
        assert action.type(str(top)) == top
        with pytest.raises(argparse.ArgumentTypeError, match=f"at most {top:,} "):
            action.type(str(top + 1))
    assert {"batch_size", "budget", "sample_size", "population", "repeats", "steps", "epochs"} <= seen


@pytest.mark.parametrize("argv, flag", [
    (["score", "--space", "nb201", "--archs", "a.csv", "--out", "b.csv", "--batch-size", "100000"], "--batch-size"),
    (["search", "--space", "nb201", "--algo", "rea", "--budget", "10", "--sample-size", "30000000"], "--sample-size"),
    (["oneshot", "smash", "--steps", "99999999"], "--steps"),
    (["bench", "--batch-sizes", "16", "5000"], "--batch-sizes"),
])
def test_the_command_line_refuses_with_one_argparse_error(argv, flag, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: at most " in err and "Traceback" not in err


def test_a_batch_larger_than_the_sample_says_that_images_repeat(data_dir):
    batch = data.load_batch(5000, 0, source="cifar10-sample", data_dir=data_dir)
    assert len(batch) == 5000
    assert "5000 CIFAR-10 training images" in batch.description
    assert "only 4,660 of them distinct" in batch.description
    assert "distinct" not in data.load_batch(64, 0, source="cifar10-sample", data_dir=data_dir).description


def test_the_search_pages_option_widgets_carry_their_limits():
    from conftest import open_app

    at = open_app("app_pages/search.py")
    assert not at.exception, at.exception
    population = at.number_input(key="se_opt_swap-nas_population")
    assert population.proto.max == LIMITS["population"].maximum and population.proto.has_max
    assert population.help == limits.help_text("population")
