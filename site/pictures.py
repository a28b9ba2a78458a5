"""Pictures the page shows, as RGBA pixels: the 28x28 the network saw, and every layer's output.

numpy only; no DOM. worker.py sends these pixels to the page, which puts them on canvases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A dark-to-bright ramp (after matplotlib's "inferno") for activation pictures: legible on a
# light page and on a dark one.
RAMP = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21),
                 (250, 193, 39), (252, 255, 164)], np.float32)
DENSE_COLUMNS = 32  # a dense layer is shown as rows of at most this many cells, one a unit


@dataclass(frozen=True)
class Picture:
    """One layer's output as pixels: ``rgba`` (H, W, 4) uint8; ``kind`` is the layer type
    ("input" for the digit itself), ``caption`` says what it shows."""

    caption: str
    kind: str
    rgba: np.ndarray


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


def caption(layer, shape: tuple, words: dict) -> str:
    """What a layer does, in the page's words (``words`` is words.json's "layers")."""
    size = "×".join(map(str, shape))
    if layer.type == "conv2d":
        kh, kw, _, k = layer.weight.shape
        return words["conv2d"].format(kh=kh, kw=kw, filters=k, shape=size)
    if layer.type == "max_pool":
        return words["max_pool"].format(shape=size)
    if layer.type == "dense":
        return words["dense"].format(units=shape[0])
    if layer.type == "softmax":
        return words["softmax"]
    return layer.type


def layer_view(net, image: np.ndarray, words: dict) -> list[Picture]:
    """Every layer's output for one 28x28 digit (a convolution or dense layer is shown after
    its ReLU, the way the next layer sees it), each as a heat picture of its feature maps."""
    outputs = net.activations(image[None])
    items = [(words["input"], image[..., None], "input")]
    for i, (layer, out) in enumerate(zip(net.layers, outputs, strict=True)):
        following = net.layers[i + 1].type if i + 1 < len(net.layers) else None
        if layer.type in ("flatten", "relu") or (layer.type != "softmax" and following == "softmax"):
            continue  # shown with the layer before / the softmax after
        text = caption(layer, out.shape[1:], words) + (words["relu"] if following == "relu" else "")
        items.append((text, out[0] if following != "relu" else outputs[i + 1][0], layer.type))
    pictures = []
    for text, values, kind in items:
        if values.ndim == 1:  # dense: one cell a unit
            n = values.size
            cols = min(n, DENSE_COLUMNS)
            cells = np.zeros(-(-n // cols) * cols, np.float32)
            cells[:n] = values
            values = cells.reshape(-1, cols, 1)
        top = float(values.max())
        grid, mask = tile(values / top if top > 0 else values)
        pictures.append(Picture(text, kind, heat(grid, mask)))
    return pictures
