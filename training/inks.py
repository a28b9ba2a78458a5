"""Canvas inks made from MNIST's scans, for the benchmarks and the tests alike (one module, so both
read the same drawings): a digit upscaled and re-thresholded into a crisp, anti-aliased stroke as a
canvas paints it, alone or side by side as a drawn number. Digits drawn with the page's own pen,
from strokes, are training/strokes.py's.

  crop(digit)                              (28, 28) uint8 -> its bounding box as float32 0..1
  render(image, height, level)             a cropped digit -> stroke ink ``height`` pixels tall
  single_canvas(image, rng)                one digit, 8-12x, 40-90 % of a canvas of random shape
  number_canvas(images, rng, gaps)         several digits side by side, gaps in fractions of the height
"""

from __future__ import annotations

import numpy as np


def crop(digit: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 MNIST digit -> its bounding box as float32 0..1."""
    image = digit.astype(np.float32) / 255
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def linear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): linear interpolation between pixel centres, written independently of digits."""
    centres = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    centres = np.clip(centres, 0, n_in - 1)
    below = np.floor(centres).astype(int)
    above = np.minimum(below + 1, n_in - 1)
    frac = (centres - below).astype(np.float32)
    m = np.zeros((n_out, n_in), np.float32)
    np.add.at(m, (np.arange(n_out), below), 1 - frac)
    np.add.at(m, (np.arange(n_out), above), frac)
    return m


def render(image: np.ndarray, height: int, level: float, edge: float = 0.12) -> np.ndarray:
    """A cropped MNIST digit -> (height, ~aspect * height) canvas-like stroke ink.

    Upscaled smoothly, then re-thresholded at ``level`` with a soft edge: a low level gives a
    thick pen, a high one a thin pen, and either way the stroke is solid with anti-aliased edges,
    as a canvas draws it. The image is padded by one pixel first so thick strokes are not clipped.
    """
    image = np.pad(image, 1)
    factor = height / (image.shape[0] - 2)
    width = max(1, round(image.shape[1] * factor))
    smooth = linear_matrix(image.shape[0], round(image.shape[0] * factor)) @ image @ linear_matrix(image.shape[1], width).T
    return np.clip((smooth - level) / edge + 0.5, 0.0, 1.0).astype(np.float32)


def single_canvas(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One cropped MNIST digit on a canvas: upscaled 8-12x, 40-90 % of the height, anywhere."""
    factor = rng.uniform(8, 12)
    ink = render(image, round(image.shape[0] * factor), level=rng.uniform(0.15, 0.6))
    share = rng.uniform(0.4, 0.9)  # of the canvas height, counting the digit's own bounding box
    canvas_h = max(ink.shape[0], round(image.shape[0] * factor / share))
    canvas_w = max(ink.shape[1] + 2, round(canvas_h * rng.uniform(0.8, 1.5)))
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    top = int(rng.integers(0, canvas_h - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas_w - ink.shape[1] + 1))
    canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return canvas


def number_canvas(images: list[np.ndarray], rng: np.random.Generator, gaps: tuple[float, float]) -> np.ndarray:
    """Several cropped MNIST digits side by side: a drawn number.

    One pen (threshold level) for the whole number; each digit's size jitters by +-15 %, its
    baseline by +-10 % of the height, and the gap before it is drawn from ``gaps`` (fractions
    of the height; negative gaps make neighbours overlap).
    """
    height = rng.uniform(8, 12) * 20
    level = rng.uniform(0.15, 0.6)
    placed, x = [], 0.0
    for i, image in enumerate(images):
        h = round(height * image.shape[0] / 20 * rng.uniform(0.85, 1.15))
        ink = render(image, h, level)
        if i:
            x += rng.uniform(*gaps) * height
        y = (height - h) / 2 + rng.uniform(-0.1, 0.1) * height
        placed.append((ink, round(y), round(x)))
        x += ink.shape[1]
    y0 = min(y for _, y, _ in placed)
    y1 = max(y + ink.shape[0] for ink, y, _ in placed)
    x0 = min(x for _, _, x in placed)
    x1 = max(x + ink.shape[1] for ink, _, x in placed)
    share = rng.uniform(0.5, 0.9)
    canvas_h = round((y1 - y0) / share)
    margin_x = round(rng.uniform(0.05, 0.3) * canvas_h)
    canvas = np.zeros((canvas_h, x1 - x0 + 2 * margin_x), np.float32)
    top = int(rng.integers(0, canvas_h - (y1 - y0) + 1))
    for ink, y, x in placed:
        region = canvas[top + y - y0 : top + y - y0 + ink.shape[0], margin_x + x - x0 : margin_x + x - x0 + ink.shape[1]]
        np.maximum(region, ink, out=region)
    return canvas
