"""The page's glue: events in, pictures out.

draw.js turns pointer input into ink and fires an "ink" event on #canvas whenever it changes;
this file hands the ink to ``digits.read`` and draws what came back: the number in large type,
ten probability bars, the 28x28 image the network saw, boxes around the digits on the canvas
and, on request, every layer's activations. Every decision about digits lives in ``digits/``.
"""

import time

import numpy as np
from pyodide.ffi import to_js
from pyscript import document, when, window

import digits
from digits import cnn

WEIGHTS = "model/digits.npz"

page = window.digitsPage  # loading/error state, defined in index.html
pad = window.pad  # the drawing surface, defined in draw.js
prediction = document.getElementById("prediction")
verdict = document.getElementById("verdict")
choices = document.getElementById("choices")
bars = document.getElementById("probabilities").querySelectorAll("li")
preview = document.getElementById("input-preview")
layers = document.getElementById("layers")
layer_pictures = document.getElementById("layer-pictures")
timing = document.getElementById("timing")



def ordinal(i: int) -> str:
    """0 -> "1st", 1 -> "2nd", ... (position i counted from 1)."""
    n = i + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# A dark-to-bright ramp (after matplotlib's "inferno") for activation pictures: legible on a
# light page and on a dark one.
RAMP = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21),
                 (250, 193, 39), (252, 255, 164)], np.float32)


# --- start-up: the weights --------------------------------------------------------------------


async def load_net() -> cnn.Net:
    """The network from model/digits.npz (fetched by index.html at once, in parallel with Python)."""
    response = await window.digitsWeights
    if not response.ok:
        reason = f"HTTP {response.status} {response.statusText}".strip() if response.status else response.statusText
        raise cnn.WeightsError(
            f"the network's weights ({WEIGHTS}) could not be loaded: {reason}. "
            "If you run this site yourself, `make train` (or restoring site/model/) puts them back."
        )
    page.stage("weights")
    net = cnn.load(response.bytes.to_bytes())
    # One pass on a blank image: an architecture that does not fit 28x28 fails here, not at the first digit.
    probabilities = net.predict_proba(np.zeros((1, 28, 28), np.float32))
    if probabilities.shape != (1, 10):
        raise cnn.WeightsError(f"the network in {WEIGHTS} gives {probabilities.shape[1:]} outputs, not 10 digits")
    return net


# --- drawing results --------------------------------------------------------------------------


def put_pixels(canvas, rgba: np.ndarray) -> None:
    """(H, W, 4) uint8 -> the canvas' pixels (the canvas takes the image's size)."""
    h, w, _ = rgba.shape
    canvas.width, canvas.height = w, h
    data = window.Uint8ClampedArray.new(rgba.size)
    data.assign(np.ascontiguousarray(rgba, np.uint8).reshape(-1))
    canvas.getContext("2d").putImageData(window.ImageData.new(data, w, h), 0, 0)


def grey(image: np.ndarray) -> np.ndarray:
    """(H, W) 0..1 -> RGBA, white ink on black as MNIST shows it."""
    v = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return np.dstack([v, v, v, np.full_like(v, 255)])


def heat(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(H, W) 0..1 -> RGBA through RAMP; pixels outside ``mask`` are transparent."""
    x = np.clip(values, 0, 1) * (len(RAMP) - 1)
    i = np.minimum(x.astype(np.int32), len(RAMP) - 2)
    f = (x - i)[..., None]
    rgb = RAMP[i] * (1 - f) + RAMP[i + 1] * f
    alpha = np.full(values.shape + (1,), 255, np.float32) if mask is None else mask[..., None] * 255.0
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


def tile(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) feature maps -> one picture of them in a grid, 1 px apart; and its mask."""
    h, w, c = maps.shape
    cols = min(c, 8 if c <= 32 else 16)
    rows = -(-c // cols)
    out = np.zeros((rows * (h + 1) - 1, cols * (w + 1) - 1), np.float32)
    mask = np.zeros_like(out)
    for k in range(c):
        r, q = divmod(k, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[..., k]
        mask[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = 1
    return out, mask


def describe(layer: cnn.Layer, shape: tuple) -> str:
    if layer.type == "conv2d":
        kh, kw, _, k = layer.weight.shape
        return f"convolution {kh}×{kw}, {k} filters → {shape[0]}×{shape[1]}×{shape[2]}"
    if layer.type == "max_pool":
        return f"max-pool → {shape[0]}×{shape[1]}×{shape[2]}"
    if layer.type == "dense":
        return f"dense → {shape[0]} units"
    if layer.type == "softmax":
        return "softmax: the ten probabilities"
    return layer.type


def show_layers(image: np.ndarray) -> None:
    """Every layer's output for one 28x28 digit, as small pictures (a convolution or dense
    layer is shown after its ReLU, the way the next layer sees it)."""
    outputs = net.activations(image[None])
    items = [("input 28×28", image[..., None], None)]
    for i, (layer, out) in enumerate(zip(net.layers, outputs, strict=True)):
        following = net.layers[i + 1].type if i + 1 < len(net.layers) else None
        if layer.type in ("flatten", "relu") or (layer.type != "softmax" and following == "softmax"):
            continue  # shown with the layer before / the softmax after
        items.append((describe(layer, out.shape[1:]) + (" + ReLU" if following == "relu" else ""),
                      out[0] if following != "relu" else outputs[i + 1][0], layer.type))
    layer_pictures.replaceChildren()
    for caption, values, kind in items:
        if values.ndim == 1:  # dense: one cell a unit, rows of at most 32
            n = values.size
            cols = min(n, 32)
            cells = np.zeros(-(-n // cols) * cols, np.float32)
            cells[:n] = values
            values = cells.reshape(-1, cols, 1)
        top = float(values.max())
        pictures, mask = tile(values / top if top > 0 else values)
        figure = document.createElement("figure")
        canvas = document.createElement("canvas")
        put_pixels(canvas, heat(pictures, mask))
        width = pictures.shape[1] * 4 if kind is None else min(360, pictures.shape[1] * 6)
        canvas.style.width = f"{width}px"
        canvas.setAttribute("role", "img")
        canvas.setAttribute("aria-label", caption)
        text = document.createElement("figcaption")
        text.textContent = caption
        figure.append(canvas, text)
        if kind == "softmax":
            figure.classList.add("softmax")
        layer_pictures.append(figure)


def percent(p: float) -> str:
    if p >= 0.995:
        return "99%" if p < 1 else "100%"
    if p < 0.005:
        return "<1%" if p > 0 else "0%"
    return f"{p:.0%}"


def select(index: int) -> None:
    """Show one digit's details: its bars, its 28x28 image, its layers."""
    global selected
    selected = index
    for k, button in enumerate(choices.querySelectorAll("button")):
        button.setAttribute("aria-pressed", "true" if k == index else "false")
    if reading is None or not reading.digits:
        for li in bars:
            li.querySelector(".fill").style.width = "0%"
            li.querySelector(".p").textContent = "–"
            li.className = ""
        put_pixels(preview, grey(np.zeros((28, 28), np.float32)))
        layer_pictures.replaceChildren()
        return
    digit = reading.digits[index]
    for k, li in enumerate(bars):
        p = float(digit.probabilities[k])
        li.querySelector(".fill").style.width = f"{p * 100:.1f}%"
        li.querySelector(".p").textContent = percent(p)
        li.className = "top" if k == digit.label else ("second" if digit.unsure and k == digit.runner_up else "")
    put_pixels(preview, grey(digit.image))
    if layers.open:
        show_layers(digit.image)


def explain(reading: digits.Reading) -> str:
    found = reading.digits
    if not found:
        return "Draw a digit, or several for a number." if pad.strokes == 0 else "No digit found in that."
    if len(found) == 1:
        d = found[0]
        if d.unsure:
            return f"Not sure: {d.label} or {d.runner_up}? ({percent(d.confidence)} vs {percent(float(d.probabilities[d.runner_up]))})"
        return f"{percent(d.confidence)} sure."
    doubts = [f"{d.label} or {d.runner_up}? ({ordinal(i)} digit)" for i, d in enumerate(found) if d.unsure]
    if doubts:
        return f"A {len(found)}-digit number. Not sure: " + ", ".join(doubts)
    return f"A {len(found)}-digit number, every digit at least {percent(min(d.confidence for d in found))} sure."


def show(new: digits.Reading, scale: float, version: int, ms: float) -> None:
    global reading
    reading = new
    prediction.textContent = new.text
    prediction.classList.toggle("unsure", new.unsure)
    verdict.textContent = explain(new)
    verdict.classList.toggle("unsure", new.unsure)
    buttons = []
    if len(new.digits) > 1:
        for i, d in enumerate(new.digits):
            button = document.createElement("button")
            button.type = "button"
            button.textContent = f"{d.label}?" if d.unsure else str(d.label)
            button.dataset.index = str(i)
            button.setAttribute("aria-label", f"details of the {ordinal(i)} digit, {d.label}")
            buttons.append(button)
    choices.replaceChildren(*buttons)
    choices.hidden = not buttons
    select(0)
    boxes = [{"left": d.box.left, "top": d.box.top, "right": d.box.right, "bottom": d.box.bottom,
              "label": d.label, "unsure": d.unsure} for d in new.digits]
    pad.mark(to_js(boxes, dict_converter=window.Object.fromEntries), scale)
    timing.textContent = f"read in {ms:.0f} ms" if new.digits else ""
    # Last: tests and assistive technology take these as "a reading has finished".
    prediction.dataset.ink = str(version)
    prediction.dataset.count = str(int(prediction.dataset.count or 0) + 1)


# --- events -------------------------------------------------------------------------------------


@when("ink", "#canvas")
def on_ink(event):
    if net is None:  # drawn while Python was starting: read once the network is there
        return
    detail = event.detail
    ink = np.frombuffer(detail.data.to_bytes(), np.uint8).reshape(detail.height, detail.width)
    start = time.perf_counter()
    try:
        new = digits.read(ink.astype(np.float32) / 255, net)
    except Exception as e:  # a bug, not a user error: say so instead of freezing the answer
        window.console.error(f"reading failed: {type(e).__name__}: {e}")
        new = digits.Reading([])
        show(new, detail.scale, detail.version, 0)
        verdict.textContent = f"Something went wrong reading that ({type(e).__name__}: {e})."
        return
    show(new, detail.scale, detail.version, (time.perf_counter() - start) * 1000)


@when("click", "#choices")
def on_choice(event):
    button = event.target.closest("button")
    if button is not None:
        select(int(button.dataset.index))


@when("toggle", "#layers")
def on_layers(event):
    if layers.open and reading is not None and reading.digits:
        try:
            show_layers(reading.digits[selected].image)
        except Exception as e:  # a bug: say so where the pictures would be
            layer_pictures.textContent = f"Could not draw the layers ({type(e).__name__}: {e})."


# --- go -------------------------------------------------------------------------------------------

net: cnn.Net | None = None
reading: digits.Reading | None = None
selected = 0
window.performance.mark("digits:app-start")
page.stage("python")
try:
    net = await load_net()  # noqa: F704 - PyScript runs this file with top-level await
except cnn.WeightsError as e:
    page.fail(f"Can't read digits: {e}")
else:
    window.performance.mark("digits:net-ready")
    page.stage("net")
    facts = f"{net.parameters:,} parameters, {net.multiply_adds / 1e6:.1f} M multiply-adds a digit"
    accuracy = net.meta.get("test_accuracy")
    if isinstance(accuracy, int | float):
        facts += f", {accuracy:.2%} on MNIST's test set"
    document.getElementById("model-facts").textContent = facts + "."
    put_pixels(preview, grey(np.zeros((28, 28), np.float32)))
    page.ready("Ready: draw a digit.")
    if pad.strokes:  # drawn while Python was starting
        pad.emit()
