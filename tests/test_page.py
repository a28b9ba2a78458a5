"""End-to-end: the real page in a real headless Chromium (Debian's), driven by Playwright.

Every request to a host other than 127.0.0.1 is aborted, and each test checks that none was
even attempted. Digits are drawn with the mouse, stroke by stroke, along paths traced from
MNIST test images (thinned to a skeleton, then walked), at different sizes and places.

One browser serves the whole module; the main page is loaded once and shared by the tests that
draw on it (Pyodide takes a few seconds to start on every load). A test that needs a page of its
own (other context options, its own server) starts it with `ready_page`, as do
tests/test_page_teach.py and tests/test_page_robust.py.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

import numpy as np
import pytest

import chromium
from training.strokes import CANVAS, centred, draw_number, one_piece, trace

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1280, "height": 860}
SCREENSHOT = REPO / "docs" / "screenshot.png"
READY_TIMEOUT = 90_000  # ms; Pyodide starts in a few seconds, but CI machines can be busy
STATUS = "document.documentElement.dataset.status"

if not (REPO / "site" / "vendor" / ".complete").is_file():
    pytest.skip("the Python runtime is not built: run `make runtime`", allow_module_level=True)
if not chromium.EXECUTABLE.exists():
    pytest.skip(chromium.MISSING, allow_module_level=True)


# --- the page ------------------------------------------------------------------------------------


def guarded_context(browser, *, viewport=VIEWPORT, **options):
    """A browser context (1280x860 unless `viewport` says otherwise; Playwright's context
    `options`) where anything not on 127.0.0.1 is aborted, and recorded."""
    context = browser.new_context(viewport=viewport, **options)
    outside: list[str] = []

    def local(url: str) -> bool:
        parsed = urlparse(url)
        return parsed.scheme not in ("http", "https", "ws", "wss") or parsed.hostname == "127.0.0.1"

    def gate(route):
        if local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    context.on("request", lambda request: None if local(request.url) else outside.append(request.url))
    return context, outside


def wait_ready(page, timeout=READY_TIMEOUT) -> str:
    page.wait_for_function(f"{STATUS} !== 'loading'", timeout=timeout)
    return page.evaluate(STATUS)


def status(page) -> str:
    """The status line and its details: the message of a failed assertion."""
    return f"{page.text_content('#status')} | {page.text_content('#status-detail pre')}"


class Pad:
    """Draws on #canvas with the mouse and waits for the page's reading."""

    def __init__(self, page):
        self.page = page

    @property
    def box(self):
        return self.page.locator("#canvas").bounding_box()

    def stroke(self, points):
        mouse = self.page.mouse
        mouse.move(*points[0])
        mouse.down()
        for x, y in points[1:]:
            mouse.move(x, y, steps=2)
        mouse.up()

    def digit(self, image: np.ndarray, height: float, cx: float, cy: float) -> None:
        """Trace an MNIST image as strokes: its ink `height` (a fraction of the canvas height)
        tall, centred at (cx, cy) (fractions of the canvas width and height)."""
        box = self.box
        x0, y0 = box["x"] + cx * box["width"], box["y"] + cy * box["height"]
        for path in centred(trace(image), height * box["height"], x0, y0):
            self.stroke([(float(x), float(y)) for x, y in path])

    def reading(self, timeout=20_000) -> str:
        """The text of #prediction once the page has read the current ink."""
        version = self.page.evaluate("pad.version")
        self.page.wait_for_selector(f'#prediction[data-ink="{version}"]', state="attached", timeout=timeout)
        return self.page.text_content("#prediction")

    def count(self) -> int:
        return int(self.page.get_attribute("#prediction", "data-count"))


class Visit(NamedTuple):
    """A page of its own (ready_page): its context, the page, a Pad on it, and what went wrong
    there: requests that tried to leave 127.0.0.1, errors thrown in the page."""

    context: Any
    page: Any
    pad: Pad
    outside: list[str]
    errors: list[str]


@contextmanager
def ready_page(browser, url: str, *, init_script: str | None = None, **options) -> Iterator[Visit]:
    """How a test starts a page of its own: a guarded context (guarded_context's `viewport` and
    context `options`; `init_script` runs in the page before its own scripts), `url` loaded in a
    new page and asserted ready, its errors recorded. The context is closed on the way out."""
    context, outside = guarded_context(browser, **options)
    try:
        if init_script is not None:
            context.add_init_script(init_script)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        assert wait_ready(page) == "ready", status(page)
        yield Visit(context, page, Pad(page), outside, errors)
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = chromium.launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def mnist():
    """MNIST's test images, and for each digit the first test image drawn as one piece (a few
    MNIST digits are broken, e.g. a 5 whose hat floats apart: a reading of two digits is fair)."""
    from training.data import load

    data = load()
    firsts = {label: next(int(i) for i in np.flatnonzero(data.y_test == label) if one_piece(data.x_test[i]))
              for label in range(10)}
    return data.x_test, data.y_test, firsts


@pytest.fixture(scope="module")
def session(browser, server):
    """The page, loaded once (cold), shared by the drawing tests; its context keeps the
    service worker for the offline test."""
    context, outside = guarded_context(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.perf_counter()
    page.goto(f"{server}/")
    state = wait_ready(page)
    cold = time.perf_counter() - start
    yield {"page": page, "context": context, "outside": outside, "errors": errors, "status": state,
           "cold": cold, "url": f"{server}/"}
    context.close()


@pytest.fixture
def pad(session):
    page = session["page"]
    if page.evaluate("pad.strokes"):
        page.keyboard.press("Escape")
    Pad(page).reading()
    yield Pad(page)
    assert session["outside"] == [], f"requests left the site: {session['outside']}"
    assert session["errors"] == [], f"errors in the page: {session['errors']}"


# --- tests ---------------------------------------------------------------------------------------


def test_page_becomes_ready(session):
    page = session["page"]
    assert session["status"] == "ready", status(page)
    print(f"\ncold load: ready after {session['cold']:.1f} s (page clock {page.get_attribute('html', 'data-ready-ms')} ms)")
    assert page.text_content("#prediction") == ""
    assert page.get_attribute("#prediction", "aria-live") in ("polite", "assertive")
    assert session["errors"] == []
    assert session["outside"] == []


def test_blank_canvas_shows_no_digit(pad):
    page = pad.page
    assert pad.reading() == ""
    assert page.is_disabled("#clear") and page.is_disabled("#undo")
    assert page.text_content("#probabilities li:first-child .p") == "–"


def test_mnist_digits_drawn_with_the_mouse_are_read(pad, mnist):
    x_test, y_test, firsts = mnist
    # (label, height as a fraction of the canvas, centre x, centre y): sizes and places vary.
    plan = [(0, 0.55, 0.5, 0.5), (1, 0.7, 0.3, 0.45), (2, 0.45, 0.7, 0.55), (3, 0.8, 0.5, 0.5),
            (4, 0.35, 0.25, 0.3), (5, 0.6, 0.6, 0.5), (6, 0.5, 0.4, 0.6), (7, 0.75, 0.5, 0.48),
            (8, 0.4, 0.75, 0.4), (9, 0.65, 0.45, 0.5)]
    wrong = []
    for label, height, cx, cy in plan:
        pad.page.keyboard.press("Escape")
        before = pad.count()
        pad.digit(x_test[firsts[label]], height, cx, cy)
        text = pad.reading()
        assert pad.count() > before
        if text != str(label):
            wrong.append((label, text, pad.page.text_content("#verdict")))
    assert wrong == [], f"misread (label, read, verdict): {wrong}"


def test_a_letter_is_doubted_not_read_as_a_sure_digit(pad):
    """An "A" in three strokes: the network was taught to doubt drawings that are not digits."""
    pad.page.keyboard.press("Escape")
    box = pad.box
    x0, y0, h = box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"], 0.6 * box["height"]
    for stroke in ([(-0.35, 0.5), (0, -0.5)], [(0, -0.5), (0.35, 0.5)], [(-0.2, 0.12), (0.2, 0.12)]):
        pad.stroke([(x0 + x * h, y0 + y * h) for x, y in np.linspace(stroke[0], stroke[1], 12)])
    text = pad.reading()
    classes = pad.page.get_attribute("#prediction", "class") or ""
    assert text == "" or "unsure" in classes.split(), (text, pad.page.text_content("#verdict"))


def test_two_digits_whose_ink_touches_are_read_as_two_from_their_strokes(pad, mnist):
    """Drawn one after the other, pushed together until the pen's ink touches (training.strokes)."""
    x_test, _, firsts = mnist
    pad.page.keyboard.press("Escape")
    box = pad.box
    _, drawn = draw_number([trace(x_test[firsts[d]]) for d in (4, 7)], np.random.default_rng(1), touch=True)
    k = min(box["width"] / CANVAS[1], box["height"] / CANVAS[0])
    for path in drawn:
        pad.stroke([(box["x"] + float(x) * k, box["y"] + float(y) * k) for x, y in path])
    assert pad.reading() == "47"


def test_a_four_drawn_in_two_strokes_whose_bar_stops_short_of_its_upright_is_one_four(pad):
    """An open 4: the L's bar ends before the upright, so the two strokes' columns fall apart; it
    is read whole, not as a 6 or a 1 beside a 1 (digits.group's APART_COST)."""
    pad.page.keyboard.press("Escape")
    box = pad.box
    h = box["height"]
    x0 = box["x"] + box["width"] / 2 - 0.45 * h
    for stroke in ([(0.40, 0.22), (0.30, 0.58), (0.44, 0.58)], [(0.56, 0.28), (0.55, 0.82)]):
        points = np.concatenate([np.linspace(a, b, 10) for a, b in zip(stroke[:-1], stroke[1:], strict=False)])
        pad.stroke([(x0 + x * h, box["y"] + y * h) for x, y in points])
    assert pad.reading() == "4", pad.page.text_content("#verdict")


def test_a_two_digit_number_is_read_as_a_number(pad, mnist):
    x_test, _, firsts = mnist
    pad.digit(x_test[firsts[4]], 0.55, 0.3, 0.5)
    pad.digit(x_test[firsts[2]], 0.55, 0.68, 0.45)
    assert pad.reading() == "42", pad.page.text_content("#verdict")
    assert pad.page.locator("#choices button").count() == 2


def test_undo_and_clear_with_buttons_and_keys(pad, mnist):
    page = pad.page
    x_test, _, firsts = mnist
    pad.digit(x_test[firsts[7]], 0.6, 0.3, 0.5)
    strokes_of_seven = page.evaluate("pad.strokes")
    pad.stroke([(pad.box["x"] + pad.box["width"] * 0.7, pad.box["y"] + pad.box["height"] * y) for y in
                np.linspace(0.2, 0.8, 12)])  # a 1
    assert pad.reading() == "71"
    page.keyboard.press("Control+z")
    assert pad.reading() == "7"
    assert page.evaluate("pad.strokes") == strokes_of_seven
    page.click("#undo")
    assert page.evaluate("pad.strokes") == strokes_of_seven - 1
    pad.reading()
    pad.digit(x_test[firsts[3]], 0.6, 0.7, 0.5)
    assert pad.reading().endswith("3")
    page.click("#clear")
    assert pad.reading() == ""
    assert page.evaluate("pad.strokes") == 0
    pad.digit(x_test[firsts[3]], 0.6, 0.5, 0.5)
    assert pad.reading() == "3"
    page.keyboard.press("Escape")
    assert pad.reading() == ""
    assert page.is_disabled("#clear")


def test_a_finger_and_a_pen_draw_too_and_the_page_does_not_scroll(pad, session):
    page = pad.page
    cdp = session["context"].new_cdp_session(page)
    page.click("#layers summary")  # a long page, so that a swipe could scroll it
    page.wait_for_selector("#layers[open]")
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.documentElement.scrollHeight > innerHeight")
    box = pad.box
    x = box["x"] + box["width"] * 0.5
    ys = [box["y"] + box["height"] * f for f in np.linspace(0.85, 0.15, 12)]  # a swipe upwards
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": ys[0]}]})
    for y in ys[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert pad.reading() == "1"
    assert page.evaluate("scrollY") == 0
    page.keyboard.press("Escape")
    pad.reading()
    x = box["x"] + box["width"] * 0.4
    pen = {"pointerType": "pen", "button": "left", "clickCount": 1}
    cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": ys[-1], **pen})
    for y in ys[::-1][1:]:
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, **pen, "buttons": 1})
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": ys[0], **pen})
    assert pad.reading() == "1"
    assert page.evaluate("scrollY") == 0
    page.click("#layers summary")
    cdp.detach()


def test_not_sure_is_shown_honestly(pad, mnist):
    """Digits the shipped network finds hard (its least confident MNIST test digits, as CPython
    reads them) are drawn until the page reads one as unsure; then it must say so."""
    from digits import cnn

    x_test, _, _ = mnist
    net = cnn.load(REPO / "site" / "model" / "digits.npz")
    confidence = net.predict_proba(x_test[:2000] / np.float32(255)).max(axis=1)
    hard = [int(i) for i in np.argsort(confidence) if one_piece(x_test[i])][:8]
    page = pad.page
    for i in hard:
        page.keyboard.press("Escape")
        pad.reading()
        pad.digit(x_test[i], 0.6, 0.5, 0.5)
        text = pad.reading()
        verdict = page.text_content("#verdict")
        if "Not sure" not in verdict or len(text) != 1:  # sure, or read as several digits: not this case
            continue
        top = page.get_attribute("#probabilities li.top", "data-digit")
        second = page.get_attribute("#probabilities li.second", "data-digit")
        assert text == top
        assert verdict.startswith(f"Not sure: {top} or {second}?"), verdict
        assert "unsure" in page.get_attribute("#prediction", "class")
        return
    pytest.skip("the network was sure of every hard digit drawn")


def test_keyboard_reaches_every_control(pad, mnist):
    page = pad.page
    x_test, _, firsts = mnist
    pad.digit(x_test[firsts[1]], 0.6, 0.5, 0.5)
    assert pad.reading() == "1"
    page.evaluate("document.activeElement.blur()")
    reached = []
    for _ in range(30):  # the page's controls (ten of them "Wrong? It's a ..." buttons), around once
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    for control in ("canvas", "undo", "clear", "SUMMARY"):
        assert control in reached, reached
    page.focus("#canvas")
    page.keyboard.press("Escape")
    assert pad.reading() == ""


def test_layer_view_and_screenshot(pad, mnist):
    page = pad.page
    x_test, _, firsts = mnist
    pad.digit(x_test[firsts[4]], 0.6, 0.3, 0.5)
    pad.digit(x_test[firsts[2]], 0.6, 0.68, 0.5)
    assert pad.reading() == "42", page.text_content("#verdict")
    page.click("#layers summary")
    page.wait_for_selector("#layer-pictures canvas")
    pictures = page.locator("#layer-pictures figure").count()
    assert pictures >= 5  # the input, two convolutions, pooling, dense, softmax ...
    page.click("#layers summary")
    # A full-page picture resizes the window to the page's height, the canvas follows and the ink is
    # read again: the picture would catch the page between two answers (no boxes, no corrections).
    # So the window is made that tall first, and the picture waits for the answer to that: two
    # frames let the canvas' ResizeObserver run (a new ink version), then ``reading`` waits for it.
    viewport = page.viewport_size
    for _ in range(3):
        height = page.evaluate("document.documentElement.scrollHeight")
        if height == page.viewport_size["height"]:
            break
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        assert pad.reading() == "42"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.evaluate("document.activeElement.blur()")
    page.add_style_tag(content="#timing { visibility: hidden }")  # the one part that differs run to run
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.evaluate("document.querySelectorAll('style').forEach((s) => s.textContent.includes('#timing') && s.remove())")
    page.set_viewport_size(viewport)
    assert SCREENSHOT.stat().st_size > 10_000


def test_second_visit_works_offline(session, mnist):
    page, context = session["page"], session["context"]
    # The service worker caches the site once the first visit is ready.
    page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
    start = time.perf_counter()
    page.reload()
    assert wait_ready(page) == "ready", status(page)
    warm = time.perf_counter() - start
    context.set_offline(True)
    try:
        start = time.perf_counter()
        page.reload()
        assert wait_ready(page) == "ready", status(page)
        offline = time.perf_counter() - start
        pad = Pad(page)
        x_test, _, firsts = mnist
        pad.digit(x_test[firsts[5]], 0.6, 0.5, 0.5)
        assert pad.reading() == "5"
    finally:
        context.set_offline(False)
    print(f"\nready: cold {session['cold']:.1f} s, warm reload {warm:.1f} s, offline reload {offline:.1f} s")
    assert session["outside"] == []


@pytest.mark.parametrize(
    ("what", "path", "body", "expected"),
    [
        ("missing weights", "**/model/digits.npz", None, "weights"),
        ("corrupt weights", "**/model/digits.npz", b"PK\x03\x04 this is not a weight file", "weight data is"),
        ("runtime fails to load", "**/vendor/pyodide/pyodide.asm.wasm", None, "Python runtime failed to load"),
        ("broken page code", "**/digits/segment.py", b"def segment(:\n", "Python code failed to start"),
    ],
    ids=["missing-weights", "corrupt-weights", "runtime-fails", "broken-code"],
)
def test_errors_give_a_readable_message(browser, server, what, path, body, expected):
    context, outside = guarded_context(browser)
    if body is None:
        context.route(path, lambda route: route.fulfill(status=404, body="404 Not Found"))
    else:
        context.route(path, lambda route: route.fulfill(status=200, body=body,
                                                         content_type="application/octet-stream"))
    page = context.new_page()
    try:
        page.goto(f"{server}/")
        assert wait_ready(page) == "error"
        message = page.text_content("#status")
        assert expected in message, message
        assert page.is_visible("#status")
        details = page.text_content("#status-detail pre")
        if "runtime" in what:  # the details name the file that did not arrive
            assert "pyodide.asm.wasm: HTTP 404" in details
        if "code" in what:  # ... or the Python error
            assert "SyntaxError" in details, details
        assert outside == []
    finally:
        context.close()


def link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def test_an_update_to_the_site_replaces_the_cache(browser, serve_site, tmp_path):
    """A copy of the site (hard links: no 20 MB copy) is visited, then one file changes: the next
    visit still runs from the cache and renews it in the background (the old cache stays while
    that page runs it); the one after runs the new site, and only its cache is left."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "site", root, copy_function=link_or_copy)
    running = serve_site(root)
    caches = "caches.keys().then((names) => names.filter((name) => name.startsWith('digits-')))"
    with ready_page(browser, f"{running.url}/") as (_, page, _, outside, _):
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        first = page.evaluate(caches)
        assert len(first) == 1

        index = root / "index.html"
        html = index.read_text(encoding="utf-8")
        index.unlink()  # a hard link: write a new file, never through the link into site/
        index.write_text(html.replace("<title>Digits", "<title>Digits (updated)"), encoding="utf-8")
        later = time.time() + 5  # a different mtime even on a coarse clock
        os.utime(index, (later, later))

        page.reload()
        assert wait_ready(page) == "ready", status(page)
        assert "(updated)" not in page.title()  # this visit ran from the cache ...
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        second = page.evaluate(caches)
        assert len(second) == 2 and first[0] in second  # ... and built a new one beside it
        page.reload(wait_until="commit")
        # Drawn while Python is still starting: read as soon as it is ready.
        page.wait_for_function("window.pad !== undefined")
        pad = Pad(page)
        box = pad.box
        pad.stroke([(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * y) for y in np.linspace(0.2, 0.8, 12)])
        assert wait_ready(page) == "ready", status(page)
        assert "(updated)" in page.title()
        assert pad.reading() == "1"
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        assert page.evaluate(caches) == [name for name in second if name not in first]  # no page runs the old one
        assert outside == []


# --- Python in a worker: the page never waits for it ----------------------------------------------

LONG_TASKS = """window.__longTasks = [];
try {
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
    .observe({ type: "longtask", buffered: true });
} catch { /* no long task timing: nothing recorded */ }"""
STATUSES = """window.__statuses = [];
new MutationObserver(() => window.__statuses.push(document.documentElement.dataset.status))
  .observe(document, { attributes: true, subtree: true, attributeFilter: ["data-status"] });"""


def test_python_files_are_all_sent_to_the_worker():
    """worker.js writes a fixed list of Python files into Pyodide: it must name every module the
    page's Python imports (a new module in digits/ would otherwise be missing in the page only)."""
    text = (REPO / "site" / "worker.js").read_text(encoding="utf-8")
    listed = text[text.index("PYTHON_FILES = [") : text.index("];", text.index("PYTHON_FILES = ["))]
    named = set(re.findall(r'"([\w/]+\.py)"', listed))
    on_disk = {p.relative_to(REPO / "site").as_posix() for p in (REPO / "site" / "digits").glob("*.py")}
    assert on_disk | {"worker.py", "pictures.py"} == named


def test_the_main_thread_never_waits_for_python(browser, server, mnist):
    """A cold load and a 4-digit number read: no task on the page's main thread blocks it long
    (Lighthouse's total blocking time: the part of every task beyond 50 ms)."""
    with ready_page(browser, f"{server}/", init_script=LONG_TASKS) as (_, page, pad, outside, _):
        x_test, _, firsts = mnist
        for k, label in enumerate((1, 9, 8, 4)):
            pad.digit(x_test[firsts[label]], 0.4, 0.14 + 0.24 * k, 0.5)
        assert pad.reading() == "1984", page.text_content("#verdict")
        tasks = page.evaluate("window.__longTasks")
        blocking = sum(max(0.0, t - 50) for t in tasks)
        assert blocking < 200, f"main thread blocked {blocking:.0f} ms (long tasks: {tasks})"
        assert outside == []


WARM_MESSAGES = """window.__warm = [];
const PageWorker = window.Worker;
window.Worker = class extends PageWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", ({ data }) => { if (data.type === "warm") window.__warm.push(data); });
  }
};"""


def test_the_warm_up_after_ready_reads_like_a_reading_and_shows_nothing(browser, server, mnist):
    """In the idle time after ready, the worker reads made-up digits and answers each in a
    reading's shape (so the first real answer's trip is not the first of its kind), and the page
    runs its drawing code once off screen (app.js warm, draw.js pad.warm): none of it shows, and a
    person's drawing, read meanwhile or after, is read as ever."""
    with ready_page(browser, f"{server}/", init_script=WARM_MESSAGES) as (_, page, pad, outside, errors):
        x_test, _, firsts = mnist
        pad.digit(x_test[firsts[3]], 0.5, 0.5, 0.5)
        assert pad.reading() == "3", page.text_content("#verdict")
        page.wait_for_function("window.__warm.length >= 24", timeout=60_000)
        warm = page.evaluate("""() => window.__warm.map((m) => m.digits.map((d) => ({ label: d.label,
            p: d.probabilities.length, sum: Array.from(d.probabilities).reduce((a, b) => a + b, 0),
            preview: d.preview.length, box: d.box.length })))""")
        assert all(len(digits) == 1 for digits in warm), warm  # the ring, the 4 in two strokes, the 7: one digit each
        assert all(0 <= d["label"] <= 9 and d["p"] == 10 and abs(d["sum"] - 1) < 1e-4 and d["preview"] == 28 * 28 * 4
                   and d["box"] == 4 for digits in warm for d in digits), warm
        seen = """() => ({ version: pad.version, strokes: pad.strokes, text: document.getElementById("prediction").textContent,
                           count: document.getElementById("prediction").dataset.count,
                           overlay: document.getElementById("overlay").toDataURL(),
                           canvas: document.getElementById("canvas").toDataURL() })"""
        before = page.evaluate(seen)
        page.evaluate("pad.warm()")
        assert page.evaluate(seen) == before
        assert errors == [] and outside == []


def test_strokes_reach_python_in_ink_pixels(pad):
    """Every stroke goes to Python with the ink, in drawing order, as (x, y) in ink pixels."""
    page = pad.page
    box = pad.box
    lines = [[(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for y in np.linspace(0.3, 0.7, 8)]
             for x in (0.3, 0.6)]
    for line in lines:
        pad.stroke(line)
    pad.reading()
    seen = page.evaluate("digitsPage.profile()")
    scale = seen["ink_shape"][1] / box["width"]
    assert seen["strokes"] == 2
    left, top, right, bottom = seen["points_box"]
    assert abs(left - box["width"] * 0.3 * scale) < 1.5 and abs(right - box["width"] * 0.6 * scale) < 1.5
    assert abs(top - box["height"] * 0.3 * scale) < 1.5 and abs(bottom - box["height"] * 0.7 * scale) < 1.5


def test_the_ink_read_back_around_the_strokes_is_the_whole_canvas_read_back(pad, mnist):
    """draw.js reads back only the strokes' box (and the pen's reach): byte for byte the ink the
    whole canvas holds, with strokes in the middle, run off every edge, and a dot."""
    page, box = pad.page, pad.box
    x_test, _, firsts = mnist
    pad.digit(x_test[firsts[8]], 0.5, 0.5, 0.5)
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    pad.stroke([(x0 - 20, y0 + h * 0.5), (x0 + w * 0.2, y0 + h * 0.4)])  # in from the left edge
    pad.stroke([(x0 + w * 0.8, y0 - 20), (x0 + w + 20, y0 + h + 20)])  # top edge to past the corner
    pad.stroke([(x0 + w * 0.1, y0 + h * 0.9), (x0 + w * 0.1 + 0.1, y0 + h * 0.9)])  # a dot
    pad.reading()
    same = page.evaluate("""() => {
        const box = new Uint8Array(pad.ink().ink), whole = new Uint8Array(pad.ink({ whole: true }).ink);
        let differ = 0, ink = 0;
        for (let i = 0; i < whole.length; i++) { differ += box[i] !== whole[i]; ink += whole[i] > 0; }
        return { differ, ink, length: whole.length };
    }""")
    assert same["ink"] > 1000 and same["differ"] == 0, same


def test_undo_of_the_last_stroke_leaves_focus_on_the_canvas(pad):
    page = pad.page
    box = pad.box
    pad.stroke([(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * y) for y in np.linspace(0.2, 0.8, 10)])
    pad.reading()
    page.click("#undo")
    pad.reading()
    assert page.evaluate("document.activeElement.id") == "canvas"
    pad.stroke([(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * y) for y in np.linspace(0.2, 0.8, 10)])
    pad.reading()
    page.focus("#clear")
    page.keyboard.press("Enter")
    pad.reading()
    assert page.evaluate("document.activeElement.id") == "canvas"


# --- slow, stalled and offline loads ----------------------------------------------------------------


def test_a_slow_connection_loads_and_is_not_called_a_failure(browser, server):
    """A cold load throttled (CDP) so that the downloads alone take far longer than the loading
    watchdog's window (shortened by ?stall=): bytes keep arriving, so no false failure; the
    person sees them arrive; the service worker registers and the next visit runs from it."""
    context, outside = guarded_context(browser)
    context.add_init_script(STATUSES)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    throttle = {"offline": False, "latency": 2000, "downloadThroughput": 150_000, "uploadThroughput": 50_000}
    cdp.send("Network.emulateNetworkConditions", throttle)
    try:
        start = time.perf_counter()
        page.goto(f"{server}/?stall=20", timeout=60_000)
        texts = set()
        while page.evaluate(STATUS) == "loading" and time.perf_counter() - start < 240:
            texts.add(page.text_content("#status-text"))
            page.wait_for_timeout(1000)
        took = time.perf_counter() - start
        assert page.evaluate(STATUS) == "ready", status(page)
        assert "error" not in page.evaluate("window.__statuses")
        assert took > 40, f"not slow enough to test anything: ready after {took:.0f} s"
        assert sum("MB so far" in t for t in texts) >= 5, texts  # the bytes are shown as they arrive
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=120_000)
        start = time.perf_counter()
        page.reload(timeout=60_000)
        assert wait_ready(page) == "ready", status(page)
        print(f"\nslow connection: ready after {took:.0f} s; second visit {time.perf_counter() - start:.1f} s")
        assert outside == []
    finally:
        context.close()


def test_a_late_start_after_a_stall_recovers(browser, server):
    """The weights are held back until the watchdog has called the load stalled; when they
    arrive and Python is ready after all, the page says ready and registers its service worker."""
    context, outside = guarded_context(browser)
    held = []
    context.route("**/model/digits.npz", lambda route: held.append(route))
    page = context.new_page()
    try:
        page.goto(f"{server}/?stall=4")
        page.wait_for_function(f"{STATUS} === 'error'", timeout=READY_TIMEOUT)
        assert "no data has arrived" in page.text_content("#status-detail pre")
        assert len(held) == 1
        context.unroute("**/model/digits.npz")  # later requests (the service worker's) go through
        held[0].continue_()
        page.wait_for_function(f"{STATUS} === 'ready'", timeout=READY_TIMEOUT)
        assert page.text_content("#status") == "Ready: draw a digit."
        assert page.is_hidden("#status-detail")
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        assert outside == []
    finally:
        context.close()


def test_offline_without_cached_weights_says_reconnect(browser, server):
    """An offline visit whose cached copy of the weights is gone: the page says it is offline
    and to connect once, not to retrain."""
    with ready_page(browser, f"{server}/") as (context, page, _, outside, _):
        page.wait_for_selector("html[data-offline='ready']", state="attached", timeout=60_000)
        dropped = page.evaluate("""async () => {
          let dropped = 0;
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys())
              if (request.url.endsWith("model/digits.npz")) dropped += await cache.delete(request);
          }
          return dropped;
        }""")
        assert dropped == 1
        context.set_offline(True)
        page.reload()
        assert wait_ready(page) == "error"
        message = page.text_content("#status")
        assert "offline" in message and "Connect" in message, message
        assert "make train" not in message
        assert outside == []
