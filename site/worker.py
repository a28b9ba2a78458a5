"""The page's Python, run by worker.js in a Web Worker: events in, results out.

worker.js calls the functions below with plain values and posts what they return (dicts of
numbers, strings, lists and numpy arrays) to the page, which draws it. Nothing here touches the
page, and every decision about digits lives in ``digits/``.

    start(words, weights, status, reason, offline) -> {"facts": ...} or {"error": message}
    read(version, ink, width, height, points, lengths) -> the reading, ready to draw
    layers(index) -> every layer's output for digit ``index`` of the last reading, as pictures
    warm_up(turn) -> {ms, digits}: one reading of a made-up digit, in idle time after start()
    profile() -> the last reading's stages timed one by one (for bench/browser.py)
    teach(version, index, label) -> {"count"}: digit ``index`` of reading ``version`` was a ``label``
    forget() -> {"count": 0}; memory() -> the memory file's bytes (Personal.to_bytes())
    load_memory(data) -> {"count"} or {"error": why}: a memory file (stored or imported) replaces the memory

What this person taught (``digits.personal``) is read through: every reading goes through
``personal``, which is the network's own reading until something is taught. worker.js keeps the
memory file in the browser's storage and hands it back here at start-up.
"""

from __future__ import annotations

import json
import time

import numpy as np

import digits
import pictures
from digits import cnn
from digits.personal import MemoryFormatError, Personal

WEIGHTS = "model/digits.npz"

# The page's state: what start() and read() leave for the calls after them.
words: dict = {}  # words.json
net: cnn.Net | None = None
personal: Personal | None = None  # the net and what this person taught it; every reading goes through it
last: digits.Reading | None = None  # the latest reading, for layers() and teach()
last_version = -1  # ... the page's version of the ink it read
last_ink: np.ndarray | None = None  # ... the ink it was read from, and its strokes, for profile()
last_strokes: list[np.ndarray] = []
memo: dict = {}  # digits.read's memo: the pieces of the last reading; emptied when `personal` changes


def start(words_json: str, weights, status: int, reason: str, offline: bool) -> dict:
    """Build the network from the weights' bytes (a JS Uint8Array, or None if they did not
    arrive: then ``status``/``reason`` say why and ``offline`` whether the browser is offline)."""
    global words, net, personal
    words = json.loads(words_json)
    failed = words["failed"]
    try:
        if weights is None:
            if offline:
                raise cnn.WeightsError(failed["weights_offline"])
            why = f"HTTP {status} {reason}".strip() if status else reason
            raise cnn.WeightsError(failed["weights_missing"].format(path=WEIGHTS, reason=why))
        loaded = cnn.load(weights.to_bytes())
        # One pass on a blank image: an architecture that does not fit 28x28 fails here, not at the first digit.
        probabilities = loaded.predict_proba(np.zeros((1, 28, 28), np.float32))
        if probabilities.shape != (1, 10):
            raise cnn.WeightsError(failed["weights_outputs"].format(path=WEIGHTS, shape=probabilities.shape[1:]))
    except cnn.WeightsError as e:
        return {"error": failed["weights"].format(reason=e)}
    net = loaded
    personal = Personal(net)
    memo.clear()
    accuracy = net.meta.get("test_accuracy")
    return {"facts": {"parameters": int(net.parameters), "multiply_adds": int(net.multiply_adds),
                      "test_accuracy": accuracy if isinstance(accuracy, int | float) else None}}


def strokes_of(points, lengths) -> list[np.ndarray]:
    """Flat (x, y) points (a JS Float32Array) and each stroke's point count -> one (n, 2)
    float array a stroke, in drawing order."""
    flat = np.frombuffer(points.to_bytes(), np.float32).reshape(-1, 2)
    counts = np.frombuffer(lengths.to_bytes(), np.uint32)
    return np.split(flat, np.cumsum(counts)[:-1]) if counts.size else []


def read(version: int, ink, width: int, height: int, points, lengths) -> dict:
    """The ink (a JS Uint8Array of coverage 0..255, row-major) -> what the page shows."""
    global last, last_version, last_ink, last_strokes
    t0 = time.perf_counter()
    pixels = np.frombuffer(ink.to_bytes(), np.uint8).reshape(height, width)
    image = np.divide(pixels, np.float32(255), dtype=np.float32)  # one pass: no uint8 -> float32 copy first
    strokes = strokes_of(points, lengths)
    last_ink, last_strokes = image, strokes
    t1 = time.perf_counter()
    last = digits.read(image, personal, strokes=strokes, memo=memo)  # digits the last stroke left alone: not read again
    last_version = version
    t2 = time.perf_counter()
    found = packed(last)
    t3 = time.perf_counter()
    return {"version": version, "text": last.text, "unsure": last.unsure, "digits": found,
            "ms": {"to_numpy": (t1 - t0) * 1e3, "read": (t2 - t1) * 1e3, "pack": (t3 - t2) * 1e3}}


def packed(reading: digits.Reading) -> list[dict]:
    """A reading's digits as the page draws them (plain values and numpy arrays)."""
    return [{"label": d.label, "probabilities": d.probabilities, "unsure": d.unsure, "runner_up": d.runner_up,
             "doubt": d.doubt, "reason": d.reason, "box": [int(v) for v in d.box],
             "preview": pictures.grey(d.image).reshape(-1)}
            for d in reading.digits]


def warm_up(turn: int = 0) -> dict:
    """Read a made-up digit and forget it: the first readings after start-up are several times
    slower than later ones, so the page reads a few of these in the idle time after ready. Turns
    go round a ring drawn in one stroke, a 4 drawn in two, and a 7 drawn with a thin pen, so that
    the code a digit of several strokes takes (grouping runs, choosing among them) and the
    widening of a thin stroke (to_mnist's dilation, which a drawing at the page's size often
    needs) are warm too. The made-up digit is read the way read() reads (with a memo, of its own)
    and answered in the same shape, so that what the page's first reading runs after Python (the
    answer's conversion to JS and its trip to the page) is warm too; nothing of the page's state
    changes. Returns {"ms": how long it took, "digits": the reading, packed as read() packs it}."""
    start = time.perf_counter()
    image = np.zeros((300, 400), np.float32)
    if turn % 3 == 0:
        rows, cols = np.mgrid[:300, :400]
        image = (np.abs(np.hypot(rows - 150, cols - 200) - 70) < 9).astype(np.float32)
        angles = np.linspace(0, 2 * np.pi, 40, dtype=np.float32)
        strokes = [np.stack([200 + 70 * np.cos(angles), 150 + 70 * np.sin(angles)], 1)]
    elif turn % 3 == 1:  # an L, then the stem through its foot: straight lines, painted as bands
        strokes = [np.array([[150, 60], [150, 170], [250, 170]], np.float32), np.array([[220, 90], [220, 250]], np.float32)]
        image[60:170, 141:160] = image[161:180, 150:250] = image[90:250, 211:230] = 1.0
    else:  # a 7 with a pen a few pixels wide: its bar, then its stem
        image[60:66, 120:260] = 1.0
        for k in range(190):
            image[66 + k, 252 - k // 2 : 258 - k // 2] = 1.0
        strokes = [np.array([[120, 63], [259, 63]], np.float32), np.array([[255, 66], [160, 255]], np.float32)]
    reading = digits.read(image, personal, strokes=strokes, memo={})
    found = packed(reading)
    return {"ms": (time.perf_counter() - start) * 1e3, "digits": found}


def layers(index: int) -> list[dict]:
    """Every layer's output for digit ``index`` of the last reading (none if it is gone)."""
    if last is None or not 0 <= index < len(last.digits):
        return []
    return [{"caption": p.caption, "kind": p.kind, "width": p.rgba.shape[1], "height": p.rgba.shape[0],
             "rgba": p.rgba.reshape(-1)}
            for p in pictures.layer_view(net, last.digits[index].image, words["layers"])]


class Timed:
    """The network as digits.read sees it, timed: how long the reading spent in it, on how many images."""

    def __init__(self, net):
        self.net, self.ms, self.images = net, 0.0, 0

    def predict_proba(self, x):
        start = time.perf_counter()
        probabilities = self.net.predict_proba(x)
        self.ms += (time.perf_counter() - start) * 1e3
        self.images += len(x)
        return probabilities


def profile() -> dict:
    """The last ink read again from scratch (no memo: every piece prepared and read), split into
    stages the way ``digits.read`` goes: grouping the strokes into pieces (``segment``:
    group.group, which falls back on the ink's connected pixels), timed alone; then the whole
    reading, whose time in the network (``net``, over the ``candidates`` it read) is timed inside
    it, and the rest of it (``to_mnist``: every image prepared, and the choice among them); and
    what arrived: the ink's shape, the strokes and the box around their points."""
    if last_ink is None:
        return {}
    t0 = time.perf_counter()
    grouping = digits.group.group(last_ink, last_strokes)
    pieces = grouping.pieces if grouping is not None else digits.segment.segment(last_ink)
    t1 = time.perf_counter()
    timed = Timed(personal)
    t2 = time.perf_counter()
    digits.read(last_ink, timed, strokes=last_strokes)
    t3 = time.perf_counter()
    segment = (t1 - t0) * 1e3
    points = np.concatenate(last_strokes) if last_strokes else np.zeros((0, 2), np.float32)
    return {"pieces": len(pieces), "candidates": timed.images,
            "segment": segment, "to_mnist": max(0.0, (t3 - t2) * 1e3 - segment - timed.ms), "net": timed.ms,
            "ink_shape": list(last_ink.shape), "strokes": len(last_strokes), "points": len(points),
            "points_box": [float(v) for v in (*points.min(0), *points.max(0))] if len(points) else []}


# --- what this person taught -------------------------------------------------------------------


def teach(version: int, index: int, label: int) -> dict:
    """Digit ``index`` of the reading of ink ``version`` is a ``label``: keep it, as the network
    saw it. A reading that is no longer the latest (the ink changed since) teaches nothing."""
    if last is None or version != last_version or not 0 <= index < len(last.digits) or not 0 <= label <= 9:
        return {"error": "stale", "count": len(personal)}
    personal.learn(last.digits[index].image[None], [label])
    memo.clear()  # what was read before the correction is read again
    return {"count": len(personal)}


def forget() -> dict:
    personal.forget()
    memo.clear()
    return {"count": 0}


def memory() -> np.ndarray:
    """The memory file (digits.personal's format) as uint8: worker.js stores it and the page exports it."""
    return np.frombuffer(personal.to_bytes(), np.uint8)


def load_memory(data) -> dict:
    """A memory file's bytes (a JS Uint8Array): it replaces the memory, features recomputed with
    this network. Bad bytes change nothing and say why (MemoryFormatError's words)."""
    global personal
    try:
        loaded = Personal.from_bytes(net, data.to_bytes())
    except MemoryFormatError as e:
        return {"error": str(e), "count": len(personal)}
    personal = loaded
    memo.clear()
    return {"count": len(personal)}
