"""MNIST digits as pen strokes: what the page tests and bench/browser.py draw with the mouse.

An MNIST image is thinned to its skeleton and walked into polylines, (row, col) points, which a
test or a benchmark scales and places on the page's canvas and draws stroke by stroke.
"""

from __future__ import annotations

import numpy as np


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: a binary image -> its one-pixel-wide skeleton."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            c = img[1:-1, 1:-1]
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:-1])
            transitions = sum((a == 0) & (b == 1) for a, b in zip(ring, ring[1:], strict=False))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            kill = (c == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if kill.any():
                c[kill] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1]


def strokes_of(image: np.ndarray, level: int = 110) -> list[list[tuple[float, float]]]:
    """An MNIST image (28x28 uint8) -> pen strokes, (row, col) points along its skeleton."""
    skeleton = thin(image >= level)
    left = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    everything = set(left)

    def around(p):
        straight = [(p[0] + dr, p[1] + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
        diagonal = [(p[0] + dr, p[1] + dc) for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1))]
        return [q for q in straight + diagonal if q in everything]

    strokes = []
    while left:
        # Start at an end of a line if there is one (top-most first), else anywhere on a loop.
        ends = sorted(p for p in left if len(around(p)) == 1)
        start = ends[0] if ends else min(left)
        path, p = [start], start
        left.discard(start)
        while True:
            nxt = [q for q in around(p) if q in left]
            if not nxt:
                # Join the line to where it meets an already drawn one, or close a loop.
                joins = [q for q in around(p) if q not in path[-3:]]
                if joins and len(path) > 2:
                    path.append(joins[0])
                break
            p = nxt[0]
            path.append(p)
            left.discard(p)
        if len(path) >= 3 or len(everything) < 6:
            strokes.append(path)
    # Smooth the pixel staircase a little (a moving average; the ends stay put).
    smooth = []
    for path in strokes:
        a = np.array(path, float)
        if len(a) > 4:
            a[1:-1] = (a[:-2] + a[1:-1] + a[2:]) / 3
        smooth.append([(float(r), float(c)) for r, c in a])
    return smooth


def one_piece(image: np.ndarray, level: int = 110) -> bool:
    """True if the image's ink is one 8-connected piece (a pen draws it without gaps)."""
    ink = image >= level
    seen = np.zeros_like(ink)
    stack = [tuple(np.argwhere(ink)[0])]
    while stack:
        r, c = stack.pop()
        if 0 <= r < 28 and 0 <= c < 28 and ink[r, c] and not seen[r, c]:
            seen[r, c] = True
            stack.extend((r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
    return bool((seen == ink).all())
