"""End to end: every page of the app in presenter mode (`?presenter=1`) at a laptop's 1366×768 and
a projector's 1920×1080 in headless Chromium — nothing the audience reads is cut off, and the type
is large. Pages are found from app.py's `st.navigation` list, not a hand-kept one.

For each page and screen: no button, metric, tab, segmented control, page link or HTML table
header is truncated (its scrollWidth exceeds its clientWidth by more than 2 px, checked for the
element and everything inside it), no widget label is cut with Streamlit's ellipsis, every data
table shows (at least the start of) every column, the body text is at least 18 px and every
figure's axis text at least 16 px, and a screenshot goes to
`test-artifacts/presenter/<page>_<w>x<h>.png`. The same truncation check runs in normal mode at
1366×768. Skips, with the reason, without Chromium or Python playwright (see tests/test_e2e_browser.py).
"""
from __future__ import annotations

import ast
import time

import pytest

from conftest import ROOT
from e2e_helpers import SCREENS
from test_e2e_browser import _serve, browser  # noqa: F401 (browser: the suite's Chromium fixture)

ARTIFACTS = ROOT / "test-artifacts" / "presenter"
TOLERANCE_PX = 2
MIN_BODY_PX = 18
MIN_FIGURE_PX = 16  # axis titles and tick labels of every Plotly figure


def app_pages() -> dict[str, str]:
    """Page name -> URL path, read from app.py's `st.Page(...)` calls (the default page is "/")."""
    pages = {}
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            stem = node.args[0].value.rsplit("/", 1)[-1].removesuffix(".py")
            default = any(k.arg == "default" and getattr(k.value, "value", False) for k in node.keywords)
            pages[stem] = "" if default else stem
    return pages


PAGES = app_pages()

# Every element whose text the audience must read whole, and every element inside it, must not
# be wider inside than its box. Data tables (a canvas) are checked by their accessible twin.
_TRUNCATED = """(tolerance) => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const selectors = ['button', '[data-testid="stMetricValue"]', '[data-testid="stMetricLabel"]', '[role="tab"]',
                     '[data-testid="stPageLink"]', '[data-testid="stButtonGroup"]', 'table th'];
  const visible = e => e.offsetParent !== null && e.clientWidth > 0;
  const cut = [];
  for (const element of document.querySelectorAll(selectors.join(','))) {
    if (!visible(element) || element.closest('[data-testid="stSidebar"]')) continue;
    for (const part of [element, ...element.querySelectorAll('*')]) {
      if (visible(part) && part.scrollWidth > part.clientWidth + tolerance) {
        const kind = element.getAttribute('data-testid') || element.getAttribute('role') || '';
        cut.push(`${element.tagName.toLowerCase()}[${kind}] "${element.innerText.trim().slice(0, 60)}": `
                 + `${part.scrollWidth} px of text in ${part.clientWidth} px`);
        break;
      }
    }
  }
  // Streamlit's own "cut with an ellipsis" class, on widget labels and the like
  for (const label of main.querySelectorAll('.stMarkdownEllipsis')) {
    if (visible(label) && label.scrollWidth > label.clientWidth + tolerance) {
      cut.push(`label "${label.innerText.trim().slice(0, 60)}": `
               + `${label.scrollWidth} px of text in ${label.clientWidth} px`);
    }
  }
  // A data table is a canvas; its accessible twin lists the header of every column drawn.
  for (const grid of main.querySelectorAll('[data-testid="stDataFrame"] table[role="grid"]')) {
    const headers = [...grid.querySelectorAll('th[role="columnheader"]')].map(h => h.textContent.trim());
    const columns = Number(grid.getAttribute('aria-colcount'));
    if (headers.length < columns) {
      cut.push(`table (${headers.join(', ')}): ${headers.length} of ${columns} columns shown`);
    }
  }
  return cut;
}"""

# Plotly writes each SVG text's font size in its style attribute.
_SMALL_FIGURE_TEXT = """(minimum) => [...document.querySelectorAll(
    '.js-plotly-plot :is(.xtick, .ytick, .g-xtitle, .g-ytitle, .zaxislayer-above, .cbaxis) text')]
  .filter(t => t.textContent.trim() && parseFloat(t.style.fontSize) < minimum)
  .map(t => `"${t.textContent.trim().slice(0, 30)}" at ${t.style.fontSize}`)"""

_BODY_PX = """() => {
  const text = document.querySelector('[data-testid="stMain"] [data-testid="stMarkdown"] p');
  const size = element => parseFloat(getComputedStyle(element).fontSize);
  return [size(document.body), text ? size(text) : null];
}"""


def _wait_drawn(page, quiet_ms: int = 1500, timeout_ms: int = 90_000) -> None:
    """Until the page is drawn and styled: the app's CSS applies, then the suite's `wait_ready`
    when it exists, else the script is not running (the attribute Streamlit sets on its app
    root) and stays so for `quiet_ms`."""
    try:
        from e2e_helpers import wait_ready
    except ImportError:
        wait_ready = None
    page.locator("h1").first.wait_for(timeout=timeout_ms)
    # the app's CSS (ui/presenter.py) is in force: st.html's code loads after the first elements show
    page.wait_for_function("() => getComputedStyle(document.documentElement).getPropertyValue('--swap-readable')",
                           timeout=timeout_ms)
    if wait_ready is not None:
        wait_ready(page)
        return
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        page.wait_for_selector(idle, timeout=timeout_ms)
        page.wait_for_timeout(quiet_ms)
        if page.locator(idle).count():
            return


@pytest.fixture(scope="module")
def app_url():
    with _serve("streamlit_presenter.log") as url:
        yield url


def _check(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()}"
    cut = page.evaluate(_TRUNCATED, TOLERANCE_PX)
    assert not cut, f"{where}: truncated:\n" + "\n".join(cut)


def test_pages_are_found_from_the_navigation():
    assert len(PAGES) >= 9 and "" in PAGES.values() and "cell_designer" in PAGES


@pytest.mark.parametrize("name", list(PAGES))
def test_presenter_mode_reads_whole_and_large(browser, app_url, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = SCREENS[0]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{app_url}/{PAGES[name]}?presenter=1")
    _wait_drawn(page)
    page.get_by_role("button", name="Leave presenter mode").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stSidebar"]').evaluate_all(
        "els => els.every(e => e.offsetParent === null)"), "the sidebar is shown in presenter mode"
    body, text = page.evaluate(_BODY_PX)
    assert body >= MIN_BODY_PX and (text is None or text >= MIN_BODY_PX), f"{name}: body text {body} px, {text} px"
    small = page.evaluate(_SMALL_FIGURE_TEXT, MIN_FIGURE_PX)
    assert not small, f"{name}: figure axis text under {MIN_FIGURE_PX} px: {small[:5]}"
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(700)  # reflow and Plotly's resize
        _check(page, f"{name} at {width}×{height} in presenter mode")
        page.screenshot(path=str(ARTIFACTS / f"{name}_{width}x{height}.png"))
    assert "presenter=1" in page.url
    page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_normal_mode_is_not_truncated_on_a_laptop(browser, app_url, name):
    width, height = SCREENS[0]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{app_url}/{PAGES[name]}")
    _wait_drawn(page)
    _check(page, f"{name} at {width}×{height}")
    page.close()


def test_leaving_presenter_mode_brings_the_sidebar_back(browser, app_url):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{app_url}/?presenter=1")
    _wait_drawn(page)
    page.get_by_role("button", name="Leave presenter mode").click()
    page.locator('[data-testid="stSidebar"]').get_by_text("Search space").wait_for(timeout=30_000)
    page.wait_for_function("() => !location.search.includes('presenter')", timeout=30_000)
    page.close()


def test_the_truncation_check_sees_a_cut_label(browser, app_url):
    """The check can fail: a button whose label is cut with an ellipsis is reported, by its text."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{app_url}/")
    _wait_drawn(page)
    assert page.evaluate(_TRUNCATED, TOLERANCE_PX) == []
    page.evaluate("""() => { const b = document.createElement('button'); b.textContent = 'A label far too long';
        b.style.cssText = 'width: 60px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis';
        document.querySelector('[data-testid="stMain"] h1').after(b); }""")
    cut = page.evaluate(_TRUNCATED, TOLERANCE_PX)
    assert len(cut) == 1 and "A label far too long" in cut[0], cut
    page.close()
