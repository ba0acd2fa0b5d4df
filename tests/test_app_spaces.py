"""The three spaces of issue 7 (NAS-Bench-101, TransNAS-Bench-101 micro and macro) appear in
every page through the registry alone: the Cell Designer draws and edits their cells, and the
Proxy Lab, Size Regulariser and Search pages run on them (AppTest, teaching networks)."""
import pytest

from conftest import metric_values, open_app
from swap_core.spaces import get_space

NEW_SPACES = ["nb101", "tnb101_micro", "tnb101_macro"]


def _designer(space: str):
    return open_app("app_pages/cell_designer.py", query={"space": space, "preset": "teaching"})


@pytest.mark.parametrize("space", NEW_SPACES)
def test_designer_draws_and_edits_a_cell_of_each_new_space(space):
    at = _designer(space)
    before = at.query_params["arch"]
    assert get_space(space).from_str(before)  # the link holds a valid cell of the space
    assert at.get("plotly_chart"), "no cell drawing"
    params_before = metric_values(at)["Parameters"]
    slot = get_space(space).edit_slots(get_space(space).from_str(before))
    choice = next(s for s in slot if len(s.options) > 1)
    other = next(o for o in choice.options if o != choice.value)
    key = f"cd_slot_{space}_{choice.key}"
    widget = at.selectbox(key=key)
    widget.set_value(other).run()
    assert not at.exception, at.exception
    assert at.query_params["arch"] != before
    assert get_space(space).from_str(at.query_params["arch"])
    assert metric_values(at)["SWAP-Score"] not in ("", "—")
    del params_before


@pytest.mark.parametrize("page, state", [
    ("app_pages/proxy_lab.py", {"pl_size": 10, "pl_proxies": ["swap", "params"]}),
    ("app_pages/size_regulariser.py", {}),
    ("app_pages/search.py", {"se_evaluations": 5, "se_budget_s": 0.0, "se_algo": "random", "se_objective": "swap"}),
    ("app_pages/activation_patterns.py", {}),
])
@pytest.mark.parametrize("space", NEW_SPACES)
def test_every_page_runs_on_the_new_spaces(space, page, state):
    at = open_app(page, query={"space": space, "preset": "teaching"}, state={"sb_batch": 16, **state})
    assert not at.exception, at.exception
