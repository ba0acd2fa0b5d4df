"""Helpers of the e2e suite (tests/test_e2e_browser.py) for the live pages: read a run's
count from the page, measure how long Stop takes to show, and take screenshots at the
screen sizes a lecture room has.

Stop is timed inside the browser: a capture-phase listener takes the click's `timeStamp` (when
the browser received it; `click_dispatch_s` is how much later a busy page dispatched it), and
a MutationObserver (backed by a 20 ms poll) notes the first moment the DOM shows the stopped
state, with the count shown at that moment. So `latency_s` is click -> first DOM observation,
without Playwright's round trips; `wall_s`, seen from Python (the click call -> the wait
returns), also holds Playwright's checks before it clicks.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

SCREENS = ((1366, 768), (1920, 1080))
STOP_GOAL_S = 0.5  # the goal, "Stop answers within half a second": measured and recorded as a ratio
STOP_LATENCY_S = 3.0  # what a test asserts: Stop answers at all, on a CI machine whose load nobody controls

# What the page shows, found in the DOM: ("metric", label) is the value of the metric labelled
# `label`; ("progress", words) the text of the first progress bar that starts with `words`; both
# under the expander whose title contains `scope`, when one is given.
_FINDERS = r"""
  const root = (scope) => scope ? [...document.querySelectorAll('[data-testid="stExpander"]')]
      .find(e => e.querySelector('summary') && e.querySelector('summary').textContent.includes(scope)) : document;
  const metric = (r, label) => {
    for (const m of r.querySelectorAll('[data-testid="stMetric"]')) {
      const l = m.querySelector('[data-testid="stMetricLabel"]');
      if (l && l.textContent.trim() === label) {
        const v = m.querySelector('[data-testid="stMetricValue"]');
        return v ? v.textContent.trim() : null;
      }
    }
    return null;
  };
  const progress = (r, words) => {
    for (const p of r.querySelectorAll('[data-testid="stProgress"]')) {
      const t = p.textContent.trim();
      if (t.startsWith(words)) return t;
    }
    return null;
  };
  const find = (scope, [kind, label]) => {
    const r = root(scope);
    return !r ? null : kind === 'metric' ? metric(r, label) : progress(r, label);
  };
"""
_READ = "([scope, what]) => {" + _FINDERS + "  return find(scope, what);\n}"
# Install the stopwatch: `stopped` is [kind, label, value] (value: the metric's text, or null for
# "a progress text starting with label is shown"); `count` is [kind, label].
_WATCH = "([scope, stopped, count]) => {" + _FINDERS + r"""
  const isStopped = () => {
    const now = find(scope, stopped);
    return stopped[2] === null ? now !== null : now === stopped[2];
  };
  const watch = window.__stopWatch = {click: null, handled: null, seen: null, count: null, before: isStopped()};
  const check = () => {
    if (watch.click === null) return;
    if (watch.seen === null && isStopped()) watch.seen = performance.now();
    // the count as first shown with the stopped state (a page that moved its elements may
    // draw the status a moment before the count)
    if (watch.seen !== null && watch.count === null) watch.count = find(scope, count);
  };
  document.addEventListener('click', e => {
    const button = e.target.closest('button');
    if (watch.click === null && button && button.textContent.trim().endsWith('Stop')) {
      watch.click = e.timeStamp;  // when the browser received the click (the user's moment), not when
      watch.handled = performance.now();  // a busy page got round to dispatching it
    }
  }, true);
  watch.observer = new MutationObserver(check);
  watch.observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  watch.poll = setInterval(check, 20);
  return watch.before;
}
"""


# Ready: the page's last full script run has ended and everything it drew is drawn, whatever
# fragments (a live run's redraws) do meanwhile. Two signals, both really given by the app:
# - Streamlit's app root: `data-test-script-state` ("initial" before the first run, "running",
#   "notRunning", "rerunRequested", ...) and `data-test-connection-state`;
# - the app's end-of-run marker (`ui.settings.end_of_run`: an element in a container keyed
#   READY_MARKER, the last thing each full run draws): Streamlit marks it stale while a full run
#   is going on and not while only a fragment reruns.
# Ready = connected, the title (an h1) drawn, the marker drawn and fresh, and either no run at all
# with no stale element, or only a fragment running; continuously for `quiet` ms. A
# MutationObserver re-checks on every change of the script state or of an element's staleness,
# so a short full run between two polls still restarts the interval.
READY_MARKER = "swap_run_end"
_READY_CHECK = r"""(needTitle) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const marker = document.querySelector('.st-key-__MARKER__ [data-testid="stElementContainer"]');
  const state = app && app.getAttribute('data-test-script-state');
  return {script: state, connection: app && app.getAttribute('data-test-connection-state'),
          stale: document.querySelectorAll('[data-stale="true"]').length,
          title: !!document.querySelector('[data-testid="stMain"] h1'),
          marker: !marker ? 'missing' : marker.getAttribute('data-stale') === 'true' ? 'stale' : 'fresh',
          ok: !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
              && (!needTitle || !!document.querySelector('[data-testid="stMain"] h1'))
              && !!marker && marker.getAttribute('data-stale') !== 'true'
              && (state === 'notRunning' ? !document.querySelector('[data-stale="true"]') : state === 'running')};
}""".replace("__MARKER__", READY_MARKER)
_READY = r"""([quietMs, token, needTitle]) => {
  const check = __CHECK__;
  let w = window.__swapReady;
  if (!w || w.token !== token) {
    if (w && w.observer) w.observer.disconnect();
    w = window.__swapReady = {token, since: null};
    w.observer = new MutationObserver(() => { if (!check(needTitle).ok) w.since = null; });
    w.observer.observe(document.documentElement, {subtree: true, attributes: true,
                                                   attributeFilter: ['data-test-script-state', 'data-stale']});
  }
  if (!check(needTitle).ok) { w.since = null; return false; }
  if (w.since === null) { w.since = performance.now(); return false; }
  if (performance.now() - w.since < quietMs) return false;
  w.observer.disconnect();
  return true;
}""".replace("__CHECK__", _READY_CHECK)
_ready_calls = 0


def wait_ready(page, timeout: float = 90, *, quiet: float = 0.5, title: bool = True) -> None:
    """Wait until the page's last full script run has ended and stayed so for `quiet` seconds
    (connected, its end-of-run marker drawn and fresh, no stale element unless a fragment is
    redrawing, the page's title drawn when `title`). Raises AssertionError saying what was still
    missing after `timeout` seconds. A live run's fragment redrawing does not count as running."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    global _ready_calls
    _ready_calls += 1
    try:
        page.wait_for_function(_READY, arg=[quiet * 1000, _ready_calls, title], polling=50, timeout=timeout * 1000)
    except PlaywrightTimeout:
        state = page.evaluate(_READY_CHECK, title)
        raise AssertionError(
            f"the page {page.url} was not ready after {timeout:g} s: script state {state['script']!r}, "
            f"connection {state['connection']!r}, end-of-run marker {state['marker']}, {state['stale']} stale "
            f"elements, title {'drawn' if state['title'] else 'missing'}") from None


def count_of(text: str | None) -> int | None:
    """The k of a "k of n" (None when there is none)."""
    found = re.search(r"(\d[\d,]*) of \d", text or "")
    return int(found.group(1).replace(",", "")) if found else None


def shown(page, what: tuple[str, str], scope: str = "") -> str | None:
    """What the page shows for `what`: ("metric", label) -> the metric's value; ("progress",
    words) -> the text of the first progress bar starting with `words` (None when absent)."""
    return page.evaluate(_READ, [scope, list(what)])


def shown_count(page, what: tuple[str, str], scope: str = "") -> int | None:
    """The k of the "k of n" shown for `what`."""
    return count_of(shown(page, what, scope))


def wait_until_advancing(read, timeout_s: float = 90, every_s: float = 0.1, steps: int = 2) -> list[int]:
    """Wait until `read()` (a count) is shown and has grown `steps` times without a click
    (the page redraws a run that goes on): the counts seen, the first one first."""
    deadline = time.monotonic() + timeout_s
    seen: list[int] = []
    while time.monotonic() < deadline:
        now = read()
        if now is not None and (not seen or now > seen[-1]):
            seen.append(now)
            if len(seen) > steps:
                return seen
        time.sleep(every_s)
    raise AssertionError(f"the count went {seen} in {timeout_s} s: the run does not visibly advance")


def click_stop_and_time(page, stop_button, *, stopped: tuple, count: tuple[str, str], scope: str = "",
                        timeout_s: float = 60) -> dict:
    """Click `stop_button` and time, in the page, the click -> the first DOM that shows the
    stopped state: `stopped` is ("metric", label, value) or ("progress", words, None). Returns
    latency_s (in the page), wall_s (seen from Python: click call -> wait returned) and the
    count shown for `count` at that first observation."""
    assert not page.evaluate(_WATCH, [scope, list(stopped), list(count)]), f"{stopped} shown before Stop"
    start = time.perf_counter()
    stop_button.click()
    page.wait_for_function("() => window.__stopWatch.seen !== null", polling=20, timeout=timeout_s * 1000)
    wall = time.perf_counter() - start
    page.wait_for_function("() => window.__stopWatch.count !== null", polling=20, timeout=timeout_s * 1000)
    watch = page.evaluate("() => { const w = window.__stopWatch; clearInterval(w.poll); w.observer.disconnect();"
                          " return {click: w.click, handled: w.handled, seen: w.seen, count: w.count}; }")
    assert watch["click"] is not None, "the page saw no click on Stop"
    return {"latency_s": round((watch["seen"] - watch["click"]) / 1000, 3),
            "click_dispatch_s": round((watch["handled"] - watch["click"]) / 1000, 3), "wall_s": round(wall, 3),
            "count": count_of(watch["count"]), "count_text": watch["count"]}


def assert_frozen(read, expected: int | None, seconds: float = 2.0, every_s: float = 0.1) -> None:
    """The count shown stays `expected` for `seconds` (nothing is computed after Stop)."""
    assert expected is not None, "no count was shown when the stopped state appeared"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = read()
        assert now in (expected, None), f"the count moved from {expected} to {now} after Stop"
        time.sleep(every_s)
    assert read() == expected


def screenshots(page, folder: Path, name: str, focus=None) -> list[Path]:
    """Screenshots of what a 1366×768 and a 1920×1080 screen show (scrolled to `focus`, a
    locator, when given); the viewport is set back afterwards."""
    before, paths = page.viewport_size, []
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)  # reflow and Plotly's resize
        if focus is not None:
            focus.first.evaluate("e => e.scrollIntoView({block: 'center'})")
        path = folder / f"{name}_{width}x{height}.png"
        page.screenshot(path=str(path))
        paths.append(path)
    page.set_viewport_size(before)
    return paths


__all__ = ["READY_MARKER", "SCREENS", "STOP_LATENCY_S", "assert_frozen", "click_stop_and_time", "count_of",
           "screenshots", "shown", "shown_count", "wait_ready", "wait_until_advancing"]
