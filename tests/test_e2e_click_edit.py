"""End to end, in Chromium: draw a cell by clicking it (the Cell Designer). At 1366×768 and
1920×1080, for NAS-Bench-201 (click an edge's label) and DARTS (click a node), a click on the
drawing opens the choice right under it, a choice changes the architecture string the page
shows, and a second click (the drawing's selection was cleared by the edit) opens the next
choice. The tool row's buttons show their whole labels. Screenshots go to
`test-artifacts/click_edit/` (the choice open, and the edited cell).

Reuses the suite's server and browser fixtures (tests/test_e2e_browser.py); skips when
Chromium or Python playwright is missing.
"""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import ROOT
from e2e_helpers import SCREENS, wait_ready
from swap_core.spaces import get_space
from test_e2e_browser import app_url, browser  # noqa: F401  (fixtures)

ARTIFACTS = ROOT / "test-artifacts" / "click_edit"
PANEL = ".st-key-cd_click_panel"
CODE = '[data-testid="stMain"] [data-testid="stCode"]'

# Where a click target is on the screen: the drawing (a Plotly div) holding a target whose
# customdata starts with `key`, and the point's pixel position in the page.
_TARGET_XY = r"""(key) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const trace = (gd._fullData || []).find(t => t.name === 'click to edit');
    if (!trace) continue;
    const i = (trace.customdata || []).findIndex(d => String(d).split('|').includes(key));
    if (i < 0) continue;
    const L = gd._fullLayout;
    const at = () => { const box = gd.getBoundingClientRect();
      return [box.left + L._size.l + L.xaxis.l2p(trace.x[i]), box.top + L._size.t + L.yaxis.l2p(trace.y[i])]; };
    let [x, y] = at();
    if (y < 60 || y > window.innerHeight - 60) {  // scroll it to the middle of the screen first
      document.querySelector('[data-testid="stMain"]').scrollBy(0, y - window.innerHeight / 2);
      window.scrollBy(0, y - window.innerHeight / 2);
      [x, y] = at();
    }
    return [x, y];
  }
  return null;
}"""

# (space, slot clicked, its choice widget's label, option chosen (shown text), check on the new
# string), then a second click: (slot, option) -- each different from the example cell's.
CASES = {
    "nb201": (("0-2", "Edge in → 2", None, "none", lambda s: get_space("nb201").from_str(s).ops[1] == "none"),
              ("1-3", "Edge 1 → out", None, "avg 3×3",
               lambda s: get_space("nb201").from_str(s).ops[4] == "avg_pool_3x3")),
    "darts": (("normal:2:op", "Normal cell, node 3", "input A op", "max 3×3",
               lambda s: get_space("darts").from_str(s).normal[2][0] == "max_pool_3x3"),
              ("normal:6:op", "Normal cell, node 5", "input A op", "avg 3×3",
               lambda s: get_space("darts").from_str(s).normal[6][0] == "avg_pool_3x3")),
}


def _ready(page) -> None:
    """Ready, or at least no script run going on: the rank reference's live fragment redraws
    now and then, which can keep a page from staying quiet for long."""
    try:
        wait_ready(page, timeout=30, quiet=0.3)
    except AssertionError:
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def _arch_shown(page) -> str:
    return page.locator(CODE).first.inner_text().replace("\n", "").strip()


def _click_target(page, key: str, title: str) -> float:
    """Click the drawing's target for slot `key`; seconds until its choice (whose title
    starts with `title`) is shown."""
    started = time.perf_counter()
    for attempt in range(2):  # the drawing may be redrawn under the pointer (the rank fill's fragment): once more
        xy = page.evaluate(_TARGET_XY, key)
        assert xy is not None, f"no click target for {key} on the drawing"
        page.mouse.move(*xy)
        page.mouse.click(*xy)
        try:
            page.locator(PANEL).filter(has_text=title).wait_for(timeout=15_000)
            return time.perf_counter() - started
        except PlaywrightTimeout:
            print(f"click {key}: no choice after 15 s (attempt {attempt + 1}); the drawing is located again")
            _ready(page)
    raise AssertionError(f"clicking {key} twice never opened the choice {title!r}")


def _choose(page, label: str | None, option: str, before: str) -> float:
    """Pick `option` in the open choice (in the group labelled `label` when there are
    several); seconds until the page shows another architecture string."""
    panel = page.locator(PANEL)
    group = panel.locator('[data-testid="stButtonGroup"]')
    if label is not None:
        group = panel.locator('[data-testid="stElementContainer"]').filter(has_text=label).locator(
            '[data-testid="stButtonGroup"]')
    started = time.perf_counter()
    group.first.get_by_role("radio", name=option, exact=True).click()
    page.wait_for_function("([sel, before]) => { const e = document.querySelector(sel);"
                           " return e && e.innerText.replace(/\\n/g, '').trim() !== before; }",
                           arg=[CODE, before], polling=30, timeout=30_000)
    return time.perf_counter() - started


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
@pytest.mark.parametrize("space", list(CASES))
def test_click_the_drawing_then_choose_changes_the_cell(browser, app_url, space, size):  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{app_url}/cell_designer?space={space}&preset=teaching")
    page.locator(CODE).first.wait_for(timeout=90_000)
    _ready(page)
    example = get_space(space).to_str(get_space(space).from_str(get_space(space).example))
    assert _arch_shown(page) == example
    name = f"{space}_{width}x{height}"
    arch = example
    for step, (key, title, label, option, check) in enumerate(CASES[space], start=1):
        opened = _click_target(page, key, title)
        _ready(page)
        if step == 1:
            page.locator(PANEL).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{name}_choice_open.png"))
        changed = _choose(page, label, option, arch)
        arch = _arch_shown(page)
        assert check(arch), (key, option, arch)
        assert "arch=" in page.url
        print(f"{name} click {key}: choice shown after {opened:.2f} s, new cell shown {changed:.2f} s after the choice")
        _ready(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}_edited.png"))
    page.close()


def test_tool_row_labels_fit_at_1366(browser, app_url):  # noqa: F811
    """ "Random" and "Mutate" are not cut short ("Ran…") on a 1366×768 laptop."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{app_url}/cell_designer")
    page.get_by_role("button", name="Random").wait_for(timeout=90_000)
    _ready(page)
    for name in ("Random", "Mutate"):
        sizes = page.get_by_role("button", name=name).first.evaluate(
            "b => [...b.querySelectorAll('*')].concat([b]).map(e => [e.scrollWidth, e.clientWidth])")
        assert all(scroll <= client for scroll, client in sizes), (name, sizes)
    page.screenshot(path=str(ARTIFACTS / "tool_row_1366x768.png"))
    page.close()
