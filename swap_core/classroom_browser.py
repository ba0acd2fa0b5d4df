"""The browser side of `bench --classroom` (swap_core/classroom.py): one student, a browser
context of its own, through the Cell Designer, Activation Patterns and Search, reading what
each page shows. Takes Playwright's objects as arguments and never imports Playwright.

A page is read by polling one small script in the page (every 0.2 s): whether the last full
script run has ended (the app's end-of-run marker drawn and fresh, Streamlit's script state
idle or only a fragment running, connected), the fresh metrics with the labels asked for,
the fresh `st.code` blocks, every exception box and a "Connection error" dialog. An exception
or a lost connection ends the visit at once with what the page showed. Every wait is bounded
by the visit's deadline.
"""
from __future__ import annotations

import re
import time
import urllib.parse

from .lecture_browser import VIEWPORT, _choose

READY_MARKER = "swap_run_end"  # ui.settings.RUN_END_KEY: the last thing each full run draws
DESIGNER_LABELS = ("SWAP-Score", "Regularised SWAP", "NASWOT")  # the Cell Designer's headline metrics
ACTIVATION_LABELS = ("Units U", "Samples N", "Distinct standard patterns", "Distinct sample-wise patterns")
SEARCH_LABELS = ("Evaluations", "Best score", "Status")
SEARCH_ALGORITHM, SEARCH_OBJECTIVE = "Random search", "SWAP-Score"  # as the Search page titles them
POLL_S, QUIET_S = 0.2, 0.5

_READ = r"""(labels) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const stale = el => !!el.closest('[data-stale="true"]');
  const marker = document.querySelector('.st-key-__MARKER__ [data-testid="stElementContainer"]');
  const state = app && app.getAttribute('data-test-script-state');
  const ready = !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED' && !!main
      && !!main.querySelector('h1') && !!marker && marker.getAttribute('data-stale') !== 'true'
      && (state === 'notRunning' ? !document.querySelector('[data-stale="true"]') : state === 'running');
  const metrics = {};
  for (const m of (main ? main.querySelectorAll('[data-testid="stMetric"]') : [])) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    const text = label && label.textContent.trim();
    if (value && labels.includes(text) && !stale(m)) metrics[text] = value.textContent.trim();
  }
  const codes = main ? [...main.querySelectorAll('[data-testid="stCode"]')].filter(c => !stale(c))
      .map(c => c.textContent.trim()) : [];
  const exceptions = [...document.querySelectorAll('[data-testid="stException"]')]
      .map(e => e.textContent.trim().slice(0, 4000));
  const lost = [...document.querySelectorAll('[role="dialog"]')].some(d => d.textContent.includes('Connection error'));
  return {ready, metrics, codes, exceptions, connection_error: lost};
}""".replace("__MARKER__", READY_MARKER)


class PageFailed(RuntimeError):
    """A visit that showed an exception, lost its connection or ran out of time."""


def exception_summary(text: str) -> str:
    """An exception box's text as one line: its message and the innermost file and line."""
    message = " ".join(text.split("Traceback")[0].split())
    places = re.findall(r'File "([^"]+)", line (\d+)', text)
    return message + (f" (at {places[-1][0]}, line {places[-1][1]})" if places else "")


def page_url(url: str, path: str, arch: str) -> str:
    """The link of page `path` on the sidebar's defaults with the cell `arch`."""
    return f"{url}/{path}?" + urllib.parse.urlencode({"arch": arch})


async def read(page, labels) -> dict:
    """What the page shows now (the module docstring); raises PageFailed on an exception box
    or a lost connection."""
    shown = await page.evaluate(_READ, list(labels))
    if shown["exceptions"]:
        raise PageFailed(f"{page.url} shows an exception: {exception_summary(shown['exceptions'][0])}")
    if shown["connection_error"]:
        raise PageFailed(f"{page.url} shows 'Connection error'")
    return shown


async def wait_for(page, labels, done, deadline: float, what: str, quiet_s: float = 0.0) -> dict:
    """Poll `read` until `done(shown)` holds (for `quiet_s` seconds in a row) or `deadline`
    (time.monotonic()) passes: PageFailed saying what the page showed last."""
    since, shown = None, None
    while time.monotonic() < deadline:
        shown = await read(page, labels)
        if done(shown):
            since = since or time.monotonic()
            if time.monotonic() - since >= quiet_s:
                return shown
        else:
            since = None
        await page.wait_for_timeout(POLL_S * 1000)
    raise PageFailed(f"{page.url} did not show {what} in time; it showed {shown}")


async def ready(page, deadline: float) -> dict:
    """Wait until the last full script run has ended (and stayed so for QUIET_S)."""
    return await wait_for(page, (), lambda s: s["ready"], deadline, "the end of its script run", QUIET_S)


def ms_left(deadline: float) -> float:
    """Milliseconds to `deadline` (time.monotonic()), at least 100: a Playwright timeout."""
    return max(deadline - time.monotonic(), 0.1) * 1000


async def cell_designer(page, url: str, arch: str, deadline: float) -> dict:
    """Open the Cell Designer on `arch`: its headline metrics as shown, and seconds from the
    navigation to them."""
    start = time.monotonic()
    await page.goto(page_url(url, "cell_designer", arch), timeout=ms_left(deadline))
    shown = await wait_for(page, DESIGNER_LABELS, lambda s: s["ready"] and arch in s["codes"]
                           and all(label in s["metrics"] for label in DESIGNER_LABELS), deadline,
                           f"the headline scores of {arch}")
    return {"shown": {label: shown["metrics"][label] for label in DESIGNER_LABELS},
            "score_s": round(time.monotonic() - start, 3)}


async def activation_patterns(page, url: str, arch: str, deadline: float) -> dict:
    """Open Activation Patterns on `arch`: its pattern counts as shown, and seconds to them."""
    start = time.monotonic()
    await page.goto(page_url(url, "activation_patterns", arch), timeout=ms_left(deadline))
    shown = await wait_for(page, ACTIVATION_LABELS, lambda s: s["ready"]
                           and all(label in s["metrics"] for label in ACTIVATION_LABELS), deadline,
                           "its pattern counts")
    return {"shown": {label: shown["metrics"][label] for label in ACTIVATION_LABELS},
            "score_s": round(time.monotonic() - start, 3)}


async def _fill(page, label: str, value: int, deadline: float) -> None:
    box = page.get_by_label(label, exact=True).first
    await box.fill(str(value), timeout=ms_left(deadline))
    await box.press("Enter", timeout=ms_left(deadline))
    await ready(page, deadline)


async def search(page, url: str, arch: str, budget: int, seed: int, deadline: float) -> dict:
    """Run a random search for SWAP-Score with `budget` evaluations and search seed `seed` on
    the Search page: the best score, evaluations and best cell shown once it is done, and
    seconds from Start to them."""
    await page.goto(page_url(url, "search", arch), timeout=ms_left(deadline))
    await ready(page, deadline)
    for label, option in (("Algorithm", SEARCH_ALGORITHM), ("Objective (maximised)", SEARCH_OBJECTIVE)):
        await _choose(page, label, option)
        await ready(page, deadline)
    await _fill(page, "Budget (evaluations)", budget, deadline)
    await _fill(page, "Search seed", seed, deadline)
    start = time.monotonic()
    await page.locator('.st-key-se_start:not([data-stale="true"]) button:visible').click(timeout=ms_left(deadline))

    def finished(shown: dict) -> bool:
        if shown["metrics"].get("Status") == "failed":
            raise PageFailed(f"{page.url}: the search failed")
        # not `ready`: a finished search's numbers are read from fresh (not stale) elements, and a
        # page whose fragment still polls can stay "running" a while under load (seen 1 in 10)
        return (shown["metrics"].get("Status") == "done" and "Best score" in shown["metrics"]
                and any(code.startswith("|") for code in shown["codes"]))
    shown = await wait_for(page, SEARCH_LABELS, finished, deadline, "its finished search", QUIET_S)
    best = [code for code in shown["codes"] if code.startswith("|")]  # the best cell (NB201 strings start so)
    return {"shown": {"Best score": shown["metrics"]["Best score"], "Evaluations": shown["metrics"]["Evaluations"],
                      "best cell": best[-1]}, "score_s": round(time.monotonic() - start, 3)}


def _record_events(page) -> list[str]:
    """What the browser says about `page` as it happens (a crashed renderer, an uncaught
    script error, an error in the console, a navigation of the main frame), each with the
    seconds since it was opened: a failed visit's evidence beside its screenshot."""
    began, events = time.monotonic(), []

    def note(what: str) -> None:
        events.append(f"{time.monotonic() - began:7.1f} s {what[:300]}")
    page.on("crash", lambda _page: note("the page crashed"))
    page.on("pageerror", lambda error: note(f"uncaught error: {error}"))
    page.on("console", lambda message: message.type == "error" and note(f"console error: {message.text}"))
    page.on("framenavigated", lambda frame: frame == page.main_frame and note(f"navigated to {frame.url}"))
    return events


def browser_errors(events: list[str]) -> list[str]:
    """The events that break a page whatever it shows: a crashed renderer or an uncaught
    script error (Streamlit's own front end blanks the page on one)."""
    return [event for event in events if "the page crashed" in event or "uncaught error" in event]


async def _keep_screenshot(page, path) -> str | None:
    """A full-page screenshot of a failed visit at `path` (its name), or None if the page
    cannot be photographed any more (a closed or crashed page)."""
    try:
        await page.screenshot(path=str(path), full_page=True, timeout=15_000)
        return str(path)
    except Exception:  # evidence is a courtesy: never let it hide the visit's own error
        return None


async def student(browser, url: str, session: int, arch: str, budget: int, deadline: float,
                  evidence=None) -> dict:
    """One student (a browser context): the three pages in turn on cell `arch`, search seed
    `session`. Each visit: what it showed, seconds to its score, seconds in all; or its error
    (and, with a folder `evidence`, a screenshot of the page as it failed)."""
    context = await browser.new_context(viewport=VIEWPORT)
    visits: list[dict] = []
    try:
        page = await context.new_page()
        events = _record_events(page)
        steps = (("cell_designer", lambda: cell_designer(page, url, arch, deadline)),
                 ("activation_patterns", lambda: activation_patterns(page, url, arch, deadline)),
                 ("search", lambda: search(page, url, arch, budget, session, deadline)))
        for name, visit in steps:
            start, seen = time.monotonic(), len(events)
            try:
                result = await visit()
            except Exception as error:  # a failed page is a finding of the test, not a crash of it
                visits.append({"page": name, "error": f"{type(error).__name__}: {str(error)[:600]}",
                               "browser_events": events[-20:], "browser_errors": browser_errors(events[seen:])})
                if evidence is not None:
                    visits[-1]["screenshot"] = await _keep_screenshot(page, evidence / f"session{session}_{name}.png")
                continue
            visits.append({"page": name, **result, "seconds": round(time.monotonic() - start, 3), "error": None,
                           "browser_errors": browser_errors(events[seen:])})
    finally:
        await context.close()
    return {"session": session, "arch": arch, "visits": visits}
