"""The whole path a person feels: pen lifted -> the answer in the DOM -> the next painted frame.

Run by bench/browser.py in the same browser and run as its other figures (issue 11). MNIST test
digits, traced into pen strokes (bench/pen.py), are drawn with the mouse on the real page; every
stroke but the last is drawn and read first, then the last one is timed:

  up      the pointerup event's timeStamp (when the browser received the pen lifted)
  dom     #prediction's data-count changed (app.js sets it last): the answer is in the DOM
  frame   the first task after the next animation frame: the answer has been painted

and split by stage with the page's own timings (window.digitsTimings; clocks are
performance.timeOrigin + now(), shared by the page and its worker):

  ink       draw.js renders the strokes and reads the ink from its canvas
  to_python the message to the worker and the ink into numpy (the strokes too)
  read      digits.read in Python, whole; and, timed alone right after (worker.py's profile()):
            segment (strokes grouped into pieces, pixels where strokes do not explain the ink),
            net (the network, timed inside a second reading, over every candidate it read) and
            to_mnist (the rest of that reading: the images prepared and the choice among them)
  back      the answer packed (numpy -> typed arrays) and posted back
  draw      app.js puts it into the DOM

One digit and four digits, p50 and p95, steady state (from STEADY_AFTER_MS after ready on); the
first reading after "ready" in fresh visits, drawn at once; and the same whole path on an onnxruntime-web page (bench/fixtures/peer.html: the same
draw.js and canvas, the simplest MNIST preprocessing by drawImage, one run on digits.onnx, on the
main thread) for one digit.
"""

from __future__ import annotations

import numpy as np

from training.strokes import centred, one_piece, trace

PROBE = """(() => {
  // bench/whole_path.py: when the pen is lifted, when the answer is in the DOM, when it is painted.
  window.__path = [];
  addEventListener("pointerup", (event) => { window.__up = event.timeStamp; }, true);
  const watch = () => {
    const prediction = document.getElementById("prediction");
    if (!prediction) return void setTimeout(watch, 20);
    new MutationObserver(() => {
      const entry = { up: window.__up, dom: performance.now(), version: Number(prediction.dataset.ink) };
      window.__path.push(entry);
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { entry.frame = performance.now(); };
        channel.port2.postMessage(0);
      });
    }).observe(prediction, { attributes: true, attributeFilter: ["data-count"] });
  };
  addEventListener("DOMContentLoaded", watch);
})();"""
STEADY_AFTER_MS = 3000  # the steady state starts this long after ready (the page warms up in idle time)
READ = "(v) => document.getElementById('prediction').dataset.ink === String(v)"
PAINTED = "(v) => window.__path.some((e) => e.version === v && e.frame !== undefined)"


def pick(x_test, y_test, count: int, seed: int) -> list[np.ndarray]:
    """`count` MNIST test digits drawn in one piece, chosen by a seeded generator."""
    rng = np.random.default_rng(seed)
    chosen = []
    for i in rng.permutation(len(x_test)):
        if one_piece(x_test[i]):
            chosen.append(x_test[i])
            if len(chosen) == count:
                return chosen
    return chosen


def placed(image: np.ndarray, box: dict, height: float, cx: float, cy: float) -> list[list[tuple[float, float]]]:
    """An MNIST image's strokes in page coordinates: `height` of the canvas tall, centred at (cx, cy)."""
    x0, y0 = box["x"] + cx * box["width"], box["y"] + cy * box["height"]
    return [[(float(x), float(y)) for x, y in path] for path in centred(trace(image), height * box["height"], x0, y0)]


def stroke(page, points) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y)
    page.mouse.up()


def version(page) -> int:
    return int(page.evaluate("document.getElementById('canvas').dataset.version || 0"))


def timed_reading(page, strokes, real: bool) -> dict:
    """Draw `strokes`; every one but the last is read first, then the last one is timed."""
    for points in strokes[:-1]:
        stroke(page, points)
    page.wait_for_function(READ, arg=version(page), timeout=30_000, polling=10)
    stroke(page, strokes[-1])
    v = version(page)
    page.wait_for_function(PAINTED, arg=v, timeout=30_000, polling=10)
    entry = page.evaluate("(v) => window.__path.find((e) => e.version === v)", v)
    out = {"dom_ms": entry["dom"] - entry["up"], "frame_ms": entry["frame"] - entry["up"]}
    if real:
        t = page.evaluate("(v) => window.digitsTimings.find((t) => t.version === v)", v)
        profile = page.evaluate("digitsPage.profile()")
        read = t["ms"]["read"]
        out["stages"] = {
            "ink": t["inkMs"], "to_python": t["arrived"] - t["sent"] + t["ms"]["to_numpy"], "read": read,
            "segment": profile["segment"], "to_mnist": profile["to_mnist"], "net": profile["net"],
            "back": t["back"] - t["arrived"] - t["ms"]["to_numpy"] - read, "draw": t["drawn"] - t["back"],
        }
        out["digits"], out["candidates"] = profile["pieces"], profile["candidates"]
    out["text"] = page.text_content("#prediction")
    return out


def clear(page) -> None:
    if page.evaluate("pad.strokes"):
        page.keyboard.press("Escape")
        page.wait_for_function(READ, arg=version(page), timeout=30_000, polling=10)


def number(images, box) -> list:
    """Several digits side by side, 40 % of the canvas tall."""
    n = len(images)
    return [s for k, image in enumerate(images) for s in placed(image, box, 0.4 if n > 1 else 0.6,
                                                                 (k + 0.5) / n if n > 1 else 0.5, 0.5)]


def session(new_context, url: str, real: bool, ready):
    context = new_context()
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    ready(page)
    page.wait_for_function("window.pad !== undefined")
    return context, page


def measure(new_context, ready, urls: dict, x_test, y_test, rounds: int, firsts: int, seed: int = 0) -> dict:
    """The figures above; `new_context()` a fresh browser context, `ready(page)` waits for the
    page to be ready; urls {"real": ..., "peer": ...}."""
    images = pick(x_test, y_test, 5 * rounds + firsts, seed)
    results: dict = {"rounds": rounds}
    for kind in ("real", "peer"):
        real = kind == "real"
        first = []
        for i in range(firsts):  # fresh visits: the first reading after ready
            context, page = session(new_context, urls[kind], real, ready)
            try:
                box = page.locator("#canvas").bounding_box()
                first.append(timed_reading(page, number([images[i]], box), real))
            finally:
                context.close()
        context, page = session(new_context, urls[kind], real, ready)
        try:
            page.wait_for_timeout(STEADY_AFTER_MS)
            box = page.locator("#canvas").bounding_box()
            timed_reading(page, number([images[firsts]], box), real)  # not counted
            one, four = [], []
            for r in range(rounds):
                clear(page)
                one.append(timed_reading(page, number([images[firsts + 5 * r]], box), real))
                if real:  # the peer has no segmentation: one digit only
                    clear(page)
                    four.append(timed_reading(page, number(images[firsts + 5 * r + 1 : firsts + 5 * r + 5], box), real))
        finally:
            context.close()
        results[kind] = {"first": summary(first), "one": summary(one)} | ({"four": summary(four)} if real else {})
    results["ratio_one_real_over_peer"] = results["real"]["one"]["dom_p50_ms"] / results["peer"]["one"]["dom_p50_ms"]
    results["ratio_first_over_steady"] = results["real"]["first"]["dom_p50_ms"] / results["real"]["one"]["dom_p50_ms"]
    return results


def summary(samples: list[dict]) -> dict:
    def pct(values, q):
        return float(np.percentile(values, q)) if values else None

    out = {"n": len(samples), "texts": [s["text"] for s in samples]}
    for key in ("dom", "frame"):
        values = [s[f"{key}_ms"] for s in samples]
        out[f"{key}_p50_ms"], out[f"{key}_p95_ms"] = pct(values, 50), pct(values, 95)
        out[f"{key}_ms"] = values
    if samples and "stages" in samples[0]:
        out["stages_p50_ms"] = {k: pct([s["stages"][k] for s in samples], 50) for k in samples[0]["stages"]}
        out["digits_found"] = [s["digits"] for s in samples]
        out["candidates"] = [s["candidates"] for s in samples]
    return out

