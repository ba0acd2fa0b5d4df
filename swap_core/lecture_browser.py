"""The Cell Designer and first-view measurements of `bench --lecture`, in the page: JavaScript
that the page keeps (a MutationObserver backed by a 20 ms poll, as tests/e2e_helpers.py times
Stop) and the async Playwright steps that drive one browser context. Takes Playwright's
objects as arguments and never imports Playwright itself.

An edit is timed from the option click's event time (when the browser received it) to the
first DOM observation that shows the new architecture string in a fresh `st.code` block (not
marked stale by a rerun still under way) with a fresh drawing, size and headline metrics
(`headline`); and then a fresh caption starting "Scored on" with no "Scoring this cell's
other proxies" left (`proxies`: every fast proxy is in).
"""
from __future__ import annotations

import time

VIEWPORT = {"width": 1366, "height": 768}
SPACE = "nb201"  # the app's default space (teaching network)
HEADLINE = ["Parameters", "SWAP-Score", "Regularised SWAP", "NASWOT"]  # metric labels an edit must refresh
FILL_TEXT = "Scoring random cells"  # the background rank fill's progress text


def edit_timing(watch: dict) -> dict:
    """Seconds from an edit's click (its event time) to the headline / every-proxy
    observations, from the page's `performance.now()` milliseconds."""
    if watch.get("click") is None:
        raise RuntimeError("the page saw no click on a drop-down option")
    return {"headline_s": round((watch["headline"] - watch["click"]) / 1000, 3),
            "proxies_s": round((watch["proxies"] - watch["click"]) / 1000, 3),
            "dispatch_s": round((watch["handled"] - watch["click"]) / 1000, 3), "values": watch.get("values")}


# --- in the page -----------------------------------------------------------------------------------
# Helpers the page keeps (installed once): an element is fresh when its container is not marked
# stale by a rerun still under way; `__benchReady` says the cell and its proxy table are drawn.
_INSTALL = r"""() => {
  const main = () => document.querySelector('[data-testid="stMain"]') || document.body;
  const fresh = el => !!el && !(el.closest('[data-testid="stElementContainer"]') || el)
      .matches('[data-stale="true"]');
  const metric = label => [...main().querySelectorAll('[data-testid="stMetric"]')].find(m => {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    return l && l.textContent.trim() === label;
  }) || null;
  const code = () => main().querySelector('[data-testid="stCode"]');
  const chart = () => main().querySelector('[data-testid="stPlotlyChart"]');
  const scored = () => [...main().querySelectorAll('[data-testid="stCaptionContainer"]')]
      .find(c => c.textContent.trim().startsWith('Scored on')) || null;
  const pending = () => [...main().querySelectorAll('[data-testid="stElementContainer"]')]
      .some(c => fresh(c) && c.textContent.includes("Scoring this cell's other proxies"));
  window.__benchReady = () => fresh(code()) && fresh(scored()) && !pending();
  window.__benchState = labels => ({code: code() && code().textContent.trim(), codeFresh: fresh(code()),
      metrics: labels.map(l => [l, !!metric(l), fresh(metric(l))]), chart: fresh(chart()),
      scored: fresh(scored()), pending: pending()});
  const check = () => {
    const w = window.__editWatch;
    if (!w || w.click === null || w.proxies !== null) return;
    const c = code();
    if (!fresh(c) || !c.textContent.includes(w.expected)) return;
    const metrics = w.labels.map(metric);
    if (w.headline === null && metrics.every(fresh) && fresh(chart())) {
      w.headline = performance.now();
      w.values = metrics.map(m => m.querySelector('[data-testid="stMetricValue"]').textContent.trim());
    }
    if (w.headline !== null && fresh(scored()) && !pending()) w.proxies = performance.now();
  };
  document.addEventListener('click', e => {
    const w = window.__editWatch;
    if (w && w.click === null && e.target.closest('[role="option"]')) {
      w.click = e.timeStamp;  // when the browser received the click, not when a busy page dispatched it
      w.handled = performance.now();
    }
  }, true);
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                      attributes: true, attributeFilter: ['data-stale']});
  setInterval(check, 20);
}"""
_ARM = ("([expected, labels]) => { window.__editWatch = {expected, labels, click: null, handled: null, "
        "headline: null, proxies: null, values: null}; }")
# From navigation start (performance.now() = 0) to the first Plotly chart drawn in the page's body.
_FIRST_CHART = r"""(() => {
  const poll = setInterval(() => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (main && main.querySelector('[data-testid="stPlotlyChart"] .main-svg')) {
      window.__firstChart = performance.now();
      clearInterval(poll);
    }
  }, 20);
})();"""


async def _open(context, url: str, timeout_s: float):
    page = await context.new_page()
    await page.goto(url, timeout=timeout_s * 1000)
    await page.locator("h1").first.wait_for(timeout=timeout_s * 1000)
    return page


async def _choose(page, label: str, option: str) -> None:
    """Open a drop-down (retrying: a click can land while the page reflows) and pick `option`."""
    box = page.get_by_label(label, exact=True).first
    for _ in range(20):
        await box.click()
        if await box.get_attribute("aria-expanded") == "true":
            break
        await page.keyboard.press("Escape")
        await page.wait_for_timeout(100)
    await page.get_by_role("option", name=option, exact=True).click()


async def _wait_ready(page, timeout_s: float, what: str) -> None:
    try:
        await page.wait_for_function("() => window.__benchReady()", polling=50, timeout=timeout_s * 1000)
    except Exception as error:  # playwright's TimeoutError: say what the page showed instead
        state = await page.evaluate("l => window.__benchState(l)", HEADLINE)
        raise RuntimeError(f"the Cell Designer did not show {what} within {timeout_s:g} s: {state}") from error


async def _edit(page, session: int, number: int, timeout_s: float) -> dict:
    """Edit one edge through its drop-down (edge and op chosen from `session` and `number`, so
    that sessions make different cells) and time it in the page."""
    from .spaces import get_space

    space = get_space(SPACE)
    shown = await page.locator('[data-testid="stMain"] [data-testid="stCode"]').first.inner_text()
    arch = space.from_str(shown.strip())
    slots = space.edit_slots(arch)
    slot = slots[number % len(slots)]
    options = list(slot.options)
    value = options[(options.index(slot.value) + 1 + (session + number) % (len(options) - 1)) % len(options)]
    expected = space.with_slot(arch, slot.key, value).to_str()
    fill_running = await page.get_by_text(FILL_TEXT).count() > 0
    await page.evaluate(_ARM, [expected, HEADLINE])
    await _choose(page, slot.label, str(slot.show(value)))
    try:
        await page.wait_for_function("() => window.__editWatch.proxies !== null", polling=50, timeout=timeout_s * 1000)
    except Exception as error:
        state = await page.evaluate("l => window.__benchState(l)", HEADLINE)
        raise RuntimeError(f"edit {slot.label} -> {value} not shown within {timeout_s:g} s: {state}") from error
    watch = await page.evaluate("() => window.__editWatch")
    return {**edit_timing(watch), "edge": slot.label, "op": value, "fill_running": fill_running}


async def _wait_fill_done(page, wait_s: float) -> bool:
    """Wait (up to `wait_s`) for the background rank fill to finish and the page to redraw."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if await page.get_by_text(FILL_TEXT).count() == 0:
            await page.wait_for_timeout(1500)  # the full rerun that follows the fill's end
            await _wait_ready(page, max(deadline - time.monotonic(), 30), "its redraw after the fill")
            return True
        await page.wait_for_timeout(1000)
    return False


async def designer_session(browser, url: str, session: int, edits: int, idle_wait_s: float, timeout_s: float) -> dict:
    """One user on the Cell Designer: `edits` edits while the rank fill runs, then (when
    `idle_wait_s` > 0) as many once it has finished."""
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await _open(context, f"{url}/cell_designer", timeout_s)
        await page.evaluate(_INSTALL)
        await _wait_ready(page, timeout_s, "its first cell")
        busy = [await _edit(page, session, k, timeout_s) for k in range(edits)]
        finished = await _wait_fill_done(page, idle_wait_s) if idle_wait_s > 0 else None
        idle = [await _edit(page, session, edits + k, timeout_s) for k in range(edits)] if finished is not None else []
        return {"session": session + 1, "busy": busy, "idle": idle, "fill_finished": finished}
    finally:
        await context.close()


async def first_view_session(browser, url: str, path: str, timeout_s: float) -> float | None:
    """Seconds from navigation start to the first chart of page `path` (None: none within `timeout_s`)."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(_FIRST_CHART)
    try:
        page = await context.new_page()
        await page.goto(f"{url}/{path}", timeout=timeout_s * 1000)
        await page.wait_for_function("() => window.__firstChart !== undefined", polling=100, timeout=timeout_s * 1000)
        return round(await page.evaluate("() => window.__firstChart") / 1000, 3)
    except Exception as error:  # a timeout is a measurement (never drawn); anything else is not
        if type(error).__name__ != "TimeoutError":
            raise
        return None
    finally:
        await context.close()
