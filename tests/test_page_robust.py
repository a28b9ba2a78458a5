"""End-to-end: the page holds up where a real visitor's screen and the site itself move under it.

- Short screens: the canvas and the answer (#prediction) are both in view without scrolling, a
  digit drawn there is read, and the page still scrolls by touch outside the canvas.
- A resize in the middle of a stroke (desktop -> phone width) does not bend the stroke.
- A site update that lands while a page is loading: every page runs one version of the site.

Same browser, server and helpers as tests/test_page.py (real serve.py, Debian's chromium).
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import test_page
from test_page import guarded_context, ready_page, status, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# test_page.py's fixtures, for this module too: one browser, and MNIST's test digits.
browser = test_page.browser
mnist = test_page.mnist


# --- short screens ---------------------------------------------------------------------------------

PHONE = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
SCREENS = {
    "phone-320x480": ({"width": 320, "height": 480}, PHONE),
    "phone-sideways-480x320": ({"width": 480, "height": 320}, PHONE),
    "phone-390x844": ({"width": 390, "height": 844}, PHONE),
    # 1280x800 at 200 % browser zoom: zoom halves the CSS pixels of the window and doubles the
    # device pixels per CSS pixel, so the page lays out exactly as in a 640x400 window at
    # device scale factor 2 (Playwright's device_scale_factor alone is not zoom: the layout
    # would stay 1280 CSS pixels wide).
    "desktop-1280x800-zoom-200": ({"width": 640, "height": 400}, {"device_scale_factor": 2}),
}

IN_VIEW = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: innerWidth, height: innerHeight,
          inside: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth};
}"""


def assert_in_view(page, selector):
    where = page.evaluate(IN_VIEW, selector)
    assert where["inside"], f"{selector} not entirely in the {where['width']}x{where['height']} viewport: {where}"


def swipe_up(cdp, x, y0, y1, steps=10):
    """A finger on (x, y0) moving up to (x, y1), then lifted."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y0}]})
    for y in np.linspace(y0, y1, steps)[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": float(y)}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


@pytest.mark.parametrize(("viewport", "options"), list(SCREENS.values()), ids=list(SCREENS))
def test_canvas_and_answer_fit_a_short_screen(browser, server, mnist, viewport, options):
    with ready_page(browser, f"{server}/", viewport=viewport, **options) as (context, page, pad, outside, errors):
        assert page.evaluate("scrollY") == 0
        assert_in_view(page, "#canvas")
        assert_in_view(page, "#prediction")
        # The canvas is still big enough to draw on.
        box = page.locator("#canvas").bounding_box()
        assert box["width"] >= 200 and box["height"] >= 140, box

        x_test, _, firsts = mnist
        pad.digit(x_test[firsts[7]], 0.7, 0.5, 0.5)
        assert pad.reading() == "7", page.text_content("#verdict")
        assert page.evaluate("scrollY") == 0
        assert_in_view(page, "#canvas")
        assert_in_view(page, "#prediction")  # with a digit in it

        # Whatever is below stays reachable: a finger outside the canvas scrolls the page.
        if options.get("has_touch") and page.evaluate("document.documentElement.scrollHeight > innerHeight + 20"):
            cdp = context.new_cdp_session(page)
            beside = box["x"] / 2  # the margin beside the canvas, at its middle
            swipe_up(cdp, beside, box["y"] + box["height"] * 0.8, box["y"] + box["height"] * 0.2)
            page.wait_for_function("scrollY > 0", timeout=5_000)
            cdp.detach()
        assert errors == []
        assert outside == []


# --- a resize in the middle of a stroke ------------------------------------------------------------


def test_a_resize_mid_stroke_keeps_the_stroke_straight(browser, server):
    """The pen goes down on a desktop-wide page and draws the top half of a 1; the window becomes
    phone-wide (the canvas shrinks and changes shape) while the pen is down; the pen goes on
    straight down from where the stroke now ends on screen, and is lifted. The points Python
    gets form one straight vertical line, and it reads 1."""
    with ready_page(browser, f"{server}/") as (_, page, pad, outside, _):
        before = pad.box
        mouse = page.mouse
        x = before["x"] + before["width"] * 0.5
        mouse.move(x, before["y"] + before["height"] * 0.15)
        mouse.down()
        for f in np.linspace(0.15, 0.5, 10)[1:]:
            mouse.move(x, before["y"] + before["height"] * f, steps=2)

        page.set_viewport_size({"width": 390, "height": 844})
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        after = pad.box
        assert after["width"] < before["width"] * 0.6  # the canvas really shrank
        # Where the drawn half now is: the page scales the drawing uniformly to fit the new canvas.
        k = min(after["width"] / before["width"], after["height"] / before["height"])
        x = after["x"] + before["width"] * 0.5 * k
        y0 = after["y"] + before["height"] * 0.5 * k
        mouse.move(x, y0)  # one step: Playwright's steps would interpolate from the old layout's place
        for y in np.linspace(y0, y0 + after["height"] * 0.35, 10)[1:]:
            mouse.move(x, float(y), steps=2)
        mouse.up()

        assert pad.reading() == "1", page.text_content("#verdict")
        seen = page.evaluate("digitsPage.profile()")
        assert seen["strokes"] == 1
        left, top, right, bottom = seen["points_box"]
        scale = seen["ink_shape"][1] / after["width"]
        assert right - left < 2.0, f"the stroke bent: x spans {left:.1f}..{right:.1f} ink px"
        assert bottom - top > after["height"] * 0.5 * scale  # the whole 1 is there, both halves
        assert outside == []


# --- a site update while a page loads ----------------------------------------------------------------

# Every file a page runs carries the version of the site it came from, readable in the page.
MARKED = {
    "index.html": lambda v: ("<head>", f'<head>\n  <meta name="site-version" content="{v}">'),
    "style.css": lambda v: (None, f'\n:root {{ --site-version: "{v}"; }}\n'),
    "draw.js": lambda v: (None, f'\nwindow.siteVersions = {{ ...window.siteVersions, "draw.js": "{v}" }};\n'),
    "app.js": lambda v: (None, f'\nwindow.siteVersions = {{ ...window.siteVersions, "app.js": "{v}" }};\n'),
    "worker.js": lambda v: (None, f'\nself.siteVersions = {{ ...self.siteVersions, "worker.js": "{v}" }};\n'),
    "worker.py": lambda v: (None, f'\nimport js  # noqa: E402\n\njs.siteVersionOfWorkerPy = "{v}"\n'),
}
PAGE_VERSIONS = """() => ({
  "index.html": document.querySelector('meta[name="site-version"]')?.content,
  "style.css": getComputedStyle(document.documentElement).getPropertyValue("--site-version").trim().replaceAll('"', ""),
  ...window.siteVersions,
})"""
WORKER_VERSIONS = """() => ({ ...self.siteVersions, "worker.py": self.siteVersionOfWorkerPy })"""
# What a page does once it is ready (boot.js): ask the service worker to renew the offline copy;
# here at a moment the test chooses. Resolves with the service worker's answer.
RENEW = """() => new Promise(async (resolve) => {
  navigator.serviceWorker.addEventListener("message", ({ data }) => {
    if (data?.type === "cached" || data?.type === "not-cached") resolve(data);
  });
  (await navigator.serviceWorker.ready).active.postMessage({ type: "cache", urls: [] });
})"""


def mark_site(root, version: str) -> None:
    """Write `version` into every marked file of the copy at `root` (new files: never through a
    hard link into site/), each with a new modification time."""
    for name, edit in MARKED.items():
        anchor, text = edit(version)
        source = (test_page.REPO / "site" / name).read_text(encoding="utf-8")
        marked = source + text if anchor is None else source.replace(anchor, text, 1)
        target = root / name
        target.unlink()
        target.write_text(marked, encoding="utf-8")


def versions_run(page) -> dict[str, str]:
    """The version of every marked file this page (and its Python worker) runs."""
    found = page.evaluate(PAGE_VERSIONS)
    (worker,) = page.workers
    found.update(worker.evaluate(WORKER_VERSIONS))
    assert set(found) == set(MARKED), found
    return found


def test_a_site_update_while_a_page_loads_leaves_every_page_one_version(browser, serve_site, tmp_path):
    """A visitor has the site (version A) open and cached; the site changes to B; a second tab
    opens and is answered from the cache (A), and just then - after its navigation and its first
    files, before it starts its Python worker - the update lands (the first tab asks the service
    worker to renew its copy, as every page does once ready). The second tab must still run A
    throughout, its worker included; a third tab runs B throughout.

    The moment is made exact by a breakpoint at the line of boot.js that starts the worker.
    (Without it the update would have to land in the gap by chance: 3 runs in the issue's probes.)"""
    root = tmp_path / "site"
    shutil.copytree(test_page.REPO / "site", root, copy_function=test_page.link_or_copy)
    mark_site(root, "A")
    running = serve_site(root)
    context, outside = guarded_context(browser)
    try:
        first = context.new_page()
        first.goto(f"{running.url}/")
        assert wait_ready(first) == "ready", status(first)
        first.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        assert set(versions_run(first).values()) == {"A"}

        mark_site(root, "B")
        second = context.new_page()
        cdp = context.new_cdp_session(second)
        paused: list[dict] = []
        cdp.on("Debugger.paused", lambda event: paused.append(event))
        cdp.send("Debugger.enable")
        boot = (root / "boot.js").read_text(encoding="utf-8").splitlines()
        line = next(i for i, text in enumerate(boot) if "new Worker(" in text)
        breakpoint_id = cdp.send("Debugger.setBreakpointByUrl", {"lineNumber": line, "urlRegex": r"/boot\.js$"})[
            "breakpointId"
        ]
        second.goto(f"{running.url}/", wait_until="commit")
        deadline = time.monotonic() + 30
        while not paused and time.monotonic() < deadline:
            first.wait_for_timeout(50)
        assert paused, "the second tab never reached the line that starts its worker"

        renewed = first.evaluate(RENEW)  # the update lands while the second tab is loading
        assert renewed["type"] == "cached" and renewed["downloaded"] >= len(MARKED), renewed

        cdp.send("Debugger.removeBreakpoint", {"breakpointId": breakpoint_id})
        cdp.send("Debugger.resume")
        assert wait_ready(second) == "ready", status(second)
        assert set(versions_run(second).values()) == {"A"}, versions_run(second)
        # The browser stops an idle service worker; started again, it still answers this tab from A.
        cdp.send("ServiceWorker.enable")
        cdp.send("ServiceWorker.stopAllWorkers")
        assert '--site-version: "A"' in second.evaluate("fetch('style.css').then((response) => response.text())")
        cdp.detach()

        third = context.new_page()
        third.goto(f"{running.url}/")
        assert wait_ready(third) == "ready", status(third)
        assert set(versions_run(third).values()) == {"B"}, versions_run(third)
        assert outside == []
    finally:
        context.close()
