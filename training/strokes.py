"""MNIST digits as the page draws them: thinned to a centre line, traced into pen strokes, painted.

MNIST's digits were written on paper and scanned (soft edges, strokes of varying width); the page
paints polylines with one round pen (``site/draw.js``: round caps and joins, width ``PEN`` of
the canvas' shorter side). A network that has only seen scans misreads more of what the page
paints, so training, the benchmarks and the tests all draw MNIST digits the page's way, with this
module (numpy, plus scikit-image's thinning in ``trace``):

  trace(digit)        (28, 28) uint8 scan -> strokes: (n, 2) float arrays of (x, y) points in
                      MNIST pixel coordinates, centre-line polylines in a plausible drawing order
  paint(strokes, ...) strokes -> (h, w) float32 ink, 1 = ink, anti-aliased like a canvas
  draw(strokes, ...)  strokes fitted to a height, jittered, placed on a canvas of their own

Coordinates are continuous: pixel (row i, column j) covers [j, j+1) x [i, i+1), so its centre is
(j + 0.5, i + 0.5). That is the canvas' convention and ``draw.js``'s.
"""

from __future__ import annotations

import numpy as np

PEN = 0.045  # site/draw.js: the pen's width as a fraction of the canvas' shorter side
MIN_PEN = 2.0  # ... and never thinner than this many CSS pixels
UPSAMPLE = 2  # thinning runs on the scan enlarged this much: a smoother centre line
INK_LEVEL = 0.45  # of the enlarged scan, the part thinned: lower fills small loops, higher breaks thin strokes
SPUR = 1.5  # a dangling branch shorter than this (MNIST pixels) is a thinning artefact


# --- scan -> strokes -----------------------------------------------------------------------------


def centre_line(digit: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 scan -> (56, 56) bool: its one-pixel-wide skeleton at UPSAMPLE x resolution."""
    from skimage.morphology import skeletonize
    from skimage.transform import rescale

    image = rescale(digit.astype(np.float32) / 255, UPSAMPLE, order=1, anti_aliasing=False)
    return skeletonize(image > INK_LEVEL)


NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def walk(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """A skeleton -> its branches as pixel paths: between junctions and ends, then closed loops.

    A pixel with other than two neighbours is a node (an end or a junction); every path from a
    node runs through two-neighbour pixels until it meets a node. What is left is loops (an O).
    """
    on = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    near = {p: [(p[0] + dr, p[1] + dc) for dr, dc in NEIGHBOURS if (p[0] + dr, p[1] + dc) in on] for p in on}
    nodes = sorted(p for p in on if len(near[p]) != 2)
    used: set[frozenset] = set()
    paths = []

    def follow(start, step):
        path, prev, here = [start, step], start, step
        used.add(frozenset((start, step)))
        while len(near[here]) == 2 and here != start:
            nxt = next((q for q in near[here] if q != prev and frozenset((here, q)) not in used), None)
            if nxt is None:
                break
            used.add(frozenset((here, nxt)))
            path.append(nxt)
            prev, here = here, nxt
        return path

    for node in nodes:
        for step in near[node]:
            if frozenset((node, step)) not in used:
                paths.append(follow(node, step))
    for p in sorted(on):  # loops: every pixel has two neighbours, no node to start from
        for step in near[p]:
            if frozenset((p, step)) not in used:
                paths.append(follow(p, step))
    return paths


def smooth(points: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """A staircase of skeleton pixels -> a smooth polyline with points about ``spacing`` apart."""
    if len(points) > 2:
        padded = np.concatenate([points[:1], points, points[-1:]])
        points = np.concatenate([points[:1], (padded[:-2] + 2 * padded[1:-1] + padded[2:])[1:-1] / 4, points[-1:]])
    step = max(1, int(round(spacing * UPSAMPLE)))
    keep = list(range(0, len(points), step))
    if keep[-1] != len(points) - 1:
        keep.append(len(points) - 1)
    return points[keep]


def trace(digit: np.ndarray) -> list[np.ndarray]:
    """(28, 28) uint8 MNIST scan -> its strokes, (n, 2) float32 (x, y) in MNIST pixel coordinates.

    The skeleton's branches, short spurs dropped, branches that continue each other at a node
    (the straightest pair) joined into one stroke, then ordered roughly as people write: top to
    bottom, left to right.
    """
    paths = [np.array(p, np.float32) for p in walk(centre_line(digit))]
    paths = [p[:, ::-1] / UPSAMPLE + 0.5 / UPSAMPLE for p in paths]  # (row, col) -> (x, y) continuous
    length = [float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for p in paths]
    if len(paths) > 1:
        keep = [length[i] >= SPUR or len(paths) == 1 for i in range(len(paths))]
        if any(keep):
            paths = [p for p, k in zip(paths, keep, strict=True) if k]
    paths = join(paths)
    strokes = [smooth(p) for p in paths if len(p)]
    strokes.sort(key=lambda s: (round(float(s[:, 1].min()) / 7), float(s[:, 0].min())))
    return [s.astype(np.float32) for s in strokes]


def join(paths: list[np.ndarray], reach: float = 1.0) -> list[np.ndarray]:
    """Join branches whose ends meet and continue each other (a pen does not lift at every node)."""
    paths = [p for p in paths if len(p) >= 2]
    joined = True
    while joined and len(paths) > 1:
        joined = False
        best = None
        for i in range(len(paths)):
            for j in range(i + 1, len(paths)):
                for a_end in (0, -1):
                    for b_end in (0, -1):
                        a, b = paths[i], paths[j]
                        if np.linalg.norm(a[a_end] - b[b_end]) > reach:
                            continue
                        # Directions leaving the meeting point along each branch: straight on = opposite.
                        da = direction(a if a_end == 0 else a[::-1])
                        db = direction(b if b_end == 0 else b[::-1])
                        straightness = -float(da @ db)
                        if straightness > 0.5 and (best is None or straightness > best[0]):
                            best = (straightness, i, j, a_end, b_end)
        if best:
            _, i, j, a_end, b_end = best
            a = paths[i] if a_end == -1 else paths[i][::-1]
            b = paths[j] if b_end == 0 else paths[j][::-1]
            paths = [p for k, p in enumerate(paths) if k not in (i, j)] + [np.concatenate([a, b[1:]])]
            joined = True
    return paths


def direction(path: np.ndarray, span: int = 4) -> np.ndarray:
    """Unit vector from a path's first point a few points in."""
    d = path[min(span, len(path) - 1)] - path[0]
    n = np.linalg.norm(d)
    return d / n if n else d


# --- strokes -> ink --------------------------------------------------------------------------------


def paint(strokes: list[np.ndarray], shape: tuple[int, int], width: float) -> np.ndarray:
    """Strokes in pixel coordinates -> (h, w) float32 ink, painted like a canvas with a round pen.

    Every pixel's coverage is how far its centre lies inside the pen's outline (the set of points
    within width / 2 of the polyline: round caps and joins), with a one-pixel linear edge: the
    anti-aliasing a canvas gives. A one-point stroke is a dot.
    """
    h, w = shape
    ink = np.zeros((h, w), np.float32)
    radius = width / 2
    for stroke in strokes:
        stroke = np.asarray(stroke, np.float32).reshape(-1, 2)
        if not len(stroke):
            continue
        lo = np.floor(stroke.min(axis=0) - radius - 1).astype(int)
        hi = np.ceil(stroke.max(axis=0) + radius + 1).astype(int)
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        distance = distance_to_polyline(xs.ravel(), ys.ravel(), stroke).reshape(xs.shape)
        cover = np.clip(radius + 0.5 - distance, 0.0, 1.0)
        np.maximum(ink[y0:y1, x0:x1], cover, out=ink[y0:y1, x0:x1])
    return ink


def distance_to_polyline(x: np.ndarray, y: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance from each (x, y) to the nearest point of the polyline through ``points``."""
    a = points[:-1] if len(points) > 1 else points
    b = points[1:] if len(points) > 1 else points
    best = np.full(x.shape, np.inf, np.float32)
    for chunk in range(0, len(a), 64):  # (pixels, segments) at a time: bounded memory
        pa, pb = a[chunk : chunk + 64], b[chunk : chunk + 64]
        d = pb - pa
        length2 = np.maximum((d**2).sum(axis=1), 1e-12)
        px = x[:, None] - pa[None, :, 0]
        py = y[:, None] - pa[None, :, 1]
        t = np.clip((px * d[:, 0] + py * d[:, 1]) / length2, 0, 1)
        dist = np.hypot(px - t * d[:, 0], py - t * d[:, 1]).min(axis=1)
        np.minimum(best, dist, out=best)
    return best


def pen_width(canvas_w: float, canvas_h: float, scale: float = 1.0) -> float:
    """The page's pen in ink pixels: PEN of the canvas' shorter side (CSS pixels) times the ink's scale."""
    return max(MIN_PEN, PEN * min(canvas_w, canvas_h)) * scale


def fit(strokes: list[np.ndarray], height: float, left: float, top: float) -> list[np.ndarray]:
    """Scale strokes so that their bounding box is ``height`` tall, its corner at (left, top)."""
    points = np.concatenate(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    k = height / max(float(hi[1] - lo[1]), 1e-6)
    return [(s - lo) * k + np.array([left, top], np.float32) for s in strokes]


def jitter(strokes: list[np.ndarray], rng: np.random.Generator, amount: float = 1.0) -> list[np.ndarray]:
    """A hand's variation: a small random rotation, shear and squash about the centre, and a wobble.

    ``amount`` scales all of it (0 = none). Units are those of the strokes.
    """
    points = np.concatenate(strokes)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    size = float(np.ptp(points, axis=0).max()) or 1.0
    angle = rng.normal(0, 0.08) * amount
    shear = rng.normal(0, 0.1) * amount
    squash = np.exp(rng.normal(0, 0.06, 2) * amount)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = rotate @ np.array([[1, shear], [0, 1]]) @ np.diag(squash)
    out = []
    for s in strokes:
        wobble = np.cumsum(rng.normal(0, 0.004 * size * amount, s.shape), axis=0)
        wobble -= wobble[0] + np.linspace(0, 1, len(s))[:, None] * (wobble[-1] - wobble[0])  # ends stay put: joins still meet
        out.append(((s - centre) @ m.T + centre + wobble).astype(np.float32))
    return out


def draw(strokes: list[np.ndarray], rng: np.random.Generator, height: float | None = None, canvas: tuple[int, int] | None = None):
    """Strokes in MNIST coordinates -> (ink, strokes on the canvas): one digit drawn on the page.

    The canvas is what draw.js would hand Python (the CSS canvas at scale 1): the digit is
    ``height`` tall (default 30-90 % of the canvas height), anywhere, with the page's pen.
    """
    if canvas is None:
        side = int(rng.integers(160, 400))
        canvas = (side, int(side * rng.uniform(0.8, 1.5)))
    h, w = canvas
    if height is None:
        height = h * rng.uniform(0.3, 0.9)
    strokes = jitter(strokes, rng)
    points = np.concatenate(strokes)
    aspect = float(np.ptp(points[:, 0])) / max(float(np.ptp(points[:, 1])), 1e-6)
    width = min(height * aspect, w * 0.9)
    height = width / aspect if aspect else height
    pen = pen_width(w, h)
    left = rng.uniform(pen, max(pen, w - width - pen))
    top = rng.uniform(pen, max(pen, h - height - pen))
    placed = fit(strokes, height, left, top)
    return paint(placed, (h, w), pen), placed


CANVAS = (300, 400)  # the page's ink at its largest: 4:3, INK_MAX = 400 on the longer side


def densify(strokes: list[np.ndarray], step: float = 1.0) -> np.ndarray:
    out = []
    for s in strokes:
        out.append(s[:1])
        for p, q in zip(s[:-1], s[1:], strict=True):
            n = max(1, int(np.ceil(np.linalg.norm(q - p) / step)))
            out.append(p + (q - p) * (np.arange(1, n + 1) / n)[:, None])
    return np.concatenate(out)


def draw_number(digits: list[list[np.ndarray]], rng: np.random.Generator, touch: bool = False, canvas=CANVAS):
    """Several digits' strokes (MNIST coordinates) -> (ink, strokes in drawing order): a number
    written left to right on the page's canvas with its pen.

    Each digit is jittered, 40-60 % of the canvas height (shrunk if the number would not fit),
    its baseline wandering a little. With ``touch`` each digit is pushed into the one before it
    until their ink touches (the pen outlines meet, centre lines a pen's width apart); otherwise
    the gaps are 10-50 % of the height, as people leave them.
    """
    h, w = canvas
    pen = pen_width(w, h)
    height = h * rng.uniform(0.4, 0.6)
    placed: list[list[np.ndarray]] = []
    x = 0.0
    for strokes in digits:
        strokes = jitter(strokes, rng)
        size = height * rng.uniform(0.9, 1.1)
        top = (h - size) / 2 + rng.uniform(-0.08, 0.08) * height
        digit = fit(strokes, size, 0.0, top)
        if placed:
            previous = placed[-1]
            right = max(float(s[:, 0].max()) for s in previous)
            if touch:
                # Start clear of the neighbour, then slide left until the pens' outlines meet
                # (centre lines one pen's width apart): touching, not yet crossing.
                mine, theirs = densify(digit), densify(previous)
                x = right + pen - float(min(p[:, 0].min() for p in digit))
                while x > right - height:
                    gap = np.sqrt(((theirs[:, None, :] - (mine + [x, 0])[None, :, :]) ** 2).sum(-1)).min()
                    if gap <= pen:
                        break
                    x -= max(0.5, min(gap - pen, pen) / 2)
            else:
                x = right + pen + rng.uniform(0.1, 0.5) * height
        placed.append([s + [x, 0] for s in digit])
        x = max(float(s[:, 0].max()) for s in placed[-1])
    every = [s for d in placed for s in d]
    points = np.concatenate(every)
    lo, hi = points.min(axis=0), points.max(axis=0)
    k = min(1.0, (w - 2 * pen) / max(float(hi[0] - lo[0]), 1e-6))
    offset = np.array([(w - k * (hi[0] - lo[0])) / 2 - k * lo[0], 0], np.float32)
    every = [(s - [0, (lo[1] + hi[1]) / 2]) * k + [0, (lo[1] + hi[1]) / 2] + offset for s in every]
    every = [s.astype(np.float32) for s in every]
    return paint(every, (h, w), pen), every


def one_piece(digit: np.ndarray, level: int = 110) -> bool:
    """Is a (28, 28) uint8 scan's ink one 8-connected piece (drawn without lifting much)?"""
    from skimage.measure import label

    return int(label(digit >= level, connectivity=2).max()) == 1


def centred(strokes: list[np.ndarray], height: float, cx: float, cy: float) -> list[np.ndarray]:
    """Strokes scaled to ``height`` tall, their bounding box centred at (cx, cy): where a test or a
    benchmark moves the mouse."""
    points = np.concatenate(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    k = height / max(float(hi[1] - lo[1]), 1e-6)
    return [(s - (lo + hi) / 2) * k + np.array([cx, cy]) for s in strokes]
