"""Hostile links for every page (issue 19): huge strings, nested NB101 JSON, NaN, a negative
batch, an unknown space, path traversal and unicode in the query parameters. Every page opens
without an exception, says in a short message which link value it ignored, and uses the default
instead; a pasted hostile string in the Cell Designer is a message too."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import open_app
from swap_core.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))
NESTED_NB101 = '{"matrix":' + "[" * 5000 + "]" * 5000 + ',"ops":["input","output"]}'
ONE_MB = 1024 * 1024
MAX_SHOWN = 2000  # no message on a page repeats a long link value

# One link with every kind of hostile value at once (the NB101 space, so the nested JSON goes to
# its parser), and per page one more link with a single kind.
COMBINED = {"space": "nb101", "arch": NESTED_NB101, "batch": "-5", "seed": "nan", "device": "../../etc/passwd",
            "dataset": "cifar10\u202e\u0000", "preset": "x" * 100_000, "source": "../../../etc/passwd"}
SINGLE = [
    # 200 kB: over the parsers' bound (64 kB); Streamlit itself drops a query string over 512 kB
    ({"arch": "|nor_conv_3x3~0|" * 12_500}, "more than the limit"),
    ({"space": "../nb201"}, "unknown search space"),
    ({"batch": "nan"}, "batch size must be a whole number"),
    ({"seed": "9" * 5000}, "seed must be a whole number"),
    ({"batch": "100000"}, "batch size must be between"),
    ({"space": "darts", "arch": "Genotype(normal=" + "[" * 3000 + "]" * 3000 + ")"}, "not a valid DARTS"),
    ({"space": "tnb101_micro", "arch": "64-41414-😀_𝔘𝔘_\u200b\u200b\u200b"}, "not a valid TransNAS-Bench-101"),
    ({"device": "cuda:99; rm -rf /"}, "unknown device"),
    ({"source": "file:///etc/passwd"}, "unknown image source"),
]


def _messages(at) -> list[str]:
    return [str(e.value) for e in at.error] + [str(w.value) for w in at.warning]


def _check(at, expected: list[str]) -> None:
    assert not at.exception, at.exception
    shown = _messages(at)
    joined = " ".join(shown)
    for words in expected:
        assert words in joined, (words, [m[:200] for m in shown])
    assert all(len(m) < MAX_SHOWN for m in shown), [len(m) for m in shown]
    assert "Ignored a value in the link" in joined


@pytest.mark.parametrize("page", PAGES)
def test_page_survives_a_hostile_link(page):
    query, expected = SINGLE[PAGES.index(page) % len(SINGLE)]
    at = open_app(page, query=query)
    _check(at, [expected])
    assert at.query_params.get("arch", "") == "" or len(at.query_params["arch"]) < 2000  # the default again


def test_every_hostile_value_at_once_on_every_page():
    at = open_app(query=COMBINED)
    expected = ["not a valid NAS-Bench-101 cell", "nested", "batch size must be between", "seed must be a whole",
                "unknown device", "unknown dataset", "unknown network preset", "unknown image source"]
    _check(at, expected)
    assert at.query_params["space"] == "nb101" and at.query_params["arch"] == get_space("nb101").example
    for page in PAGES:
        at.switch_page(page).run()
        _check(at, expected[:1])


@pytest.mark.parametrize("pasted, words", [(NESTED_NB101, "nested"), ("x" * (2 * ONE_MB), "more than the limit")])
def test_designer_paste_of_a_hostile_string(pasted, words):
    at = open_app("app_pages/cell_designer.py", query={"space": "nb101", "preset": "teaching"})
    before = at.query_params["arch"]
    at.text_input(key="cd_paste").input(pasted).run()
    assert not at.exception, at.exception
    errors = [str(e.value) for e in at.error]
    assert any("not a valid NAS-Bench-101 cell" in e and words in e for e in errors), [e[:200] for e in errors]
    assert all(len(e) < MAX_SHOWN for e in errors)
    assert at.query_params["arch"] == before  # nothing lost
