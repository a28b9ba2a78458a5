"""A drawn number's strokes -> one piece of ink per digit, left to right.

The page knows which ink was drawn together: every stroke, in drawing order. Grouping strokes is
far surer than cutting pixels apart: two digits whose ink touches were still drawn as separate
strokes, and a 4 or a 5 drawn in two strokes is still one digit because its strokes share their
columns.

  1. Strokes are checked against the ink: points outside the canvas are clipped, one-point
     strokes are dots, and if the strokes do not explain the ink (another picture, a stale
     list) ``group`` returns None and the caller reads the pixels instead.
  2. Every ink pixel is given to the stroke nearest to it (a breadth-first growth of the strokes'
     own pixels on the coarse grid), so a piece holds its own strokes' ink and nothing else,
     even where two digits touch.
  3. People write a number digit by digit, so a digit is a run of strokes in writing order (a
     small late stroke inside an earlier digit's columns, a 5's hat added at the end, is moved
     next to that digit first). A run ends only where the next stroke sits beside it, not over
     it, or where two tall strokes stand side by side (a 1 pushed against the 7 before it). Every
     run that could be one digit (at most MAX_RUN strokes, not wider than WIDEST) is a
     candidate, and so is every shortest run whatever its shape, so that no stroke's ink is left
     out (a 5 whose hat is longer than its body). A run wider than RUN_ASPECT, or whose strokes'
     columns fall apart, is likelier two digits, but may be one drawn in pieces (a 2 with a long
     tail, a 4 whose bar stops short of its upright, a 5 whose hat was lifted off): unless the
     gap is wide, it stays a candidate, at WIDE_COST or APART_COST. The reader has the
     network read them all in one batch, and ``Grouping.choose`` finds the partition into runs
     it reads best, by dynamic programming: segmentation by recognition. A 4 in two strokes
     reads better whole than as an L and a 1; a 1 touching the 7 after it reads better as two
     digits than as one (and strokes side by side pay BESIDE_COST to be read as one digit).

numpy only: the same file runs in the page (Pyodide, numpy 2.0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .preprocess import FLOOR, as_ink, bounding_box, clean, framed
from .segment import GRID, LEVEL, Box, Piece, coarse_mask, looks_like_dot, per_pixel

MAX_STROKES = 60  # more than this is not a number (hatching, confetti): the pixels are read instead
MAX_POINTS = 20_000  # points kept over all strokes (a long scribble is thinned evenly)
EXPLAINED = 0.9  # strokes must lie near this share of the ink, or they are not this ink's strokes
MAX_RUN = 6  # a digit is at most this many strokes in a row (a traced 8 can take five)
SPECK = 0.2  # a stroke smaller than this (of the largest stroke) never stands alone as a digit
SPLIT_HEIGHT = 0.6  # only a run this tall (of the tallest stroke) may be several digits written in one stroke
RUN_ASPECT = 1.6  # a run of strokes wider than this (width / height) is likelier several digits than one ...
WIDE_COST = 0.5  # ... so reading it as one costs this much log-confidence (a 2 with a long tail, a 5 with a long hat) ...
WIDEST = 2.2  # ... and a run wider than this is not one digit
GAP = 0.1  # strokes whose columns are this far apart (of the run's height) are likelier two digits than one ...
APART_COST = 0.5  # ... so reading them as one costs this much log-confidence: only a far better reading does it; ...
WIDE_GAP = 0.3  # ... and strokes this far apart are two digits (a 4's bar stops short of its upright by less)
DIGIT_COST = 0.2  # each digit read costs this much log-confidence: merge unless splitting reads clearly better
BESIDE_COST = 0.15  # ... and a digit made of two tall strokes side by side this much more (see ``beside``)
TALL = 0.75  # strokes side by side are two digits' only if each is this tall (of the two together)
SHORT = 0.5  # a run less tall than this (of the tallest stroke) is a small part of a digit, rarely a digit ...
SHORT_COST = 1.0  # ... so reading it as one costs this much more
SKIP_COST = 1e3  # leaving a stroke out of every digit: only for strokes no candidate covers (a dot)
SAME_DIGIT = 0.8  # a late stroke sharing this share of an earlier stroke's columns finishes that digit
LATE_STROKE = 0.6  # ... if it is smaller than this (of the tallest stroke): a hat, a bar, a tick


def clean_strokes(strokes, shape: tuple[int, int]) -> list[np.ndarray]:
    """Whatever the caller sent -> (n, 2) float arrays of finite points on the ink's canvas.

    Raises ValueError for something that is not a list of point lists.
    """
    h, w = shape
    out = []
    for stroke in strokes:
        points = np.asarray(stroke, np.float64)
        if points.size == 0:
            continue
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"each stroke must be an (n, 2) array of (x, y) points, got shape {points.shape}")
        # Points off the canvas (a pen dragged past its edge, a wild value) painted nothing: dropped,
        # not clipped onto the edge, where they would stretch the stroke's columns over other digits.
        inside = np.isfinite(points).all(axis=1) & (points >= 0).all(axis=1) & (points < (w, h)).all(axis=1)
        points = points[inside]
        if len(points):
            out.append(points)
    total = sum(len(s) for s in out)
    if total > MAX_POINTS:  # keep every k-th point (and each stroke's last): the shape, not the detail
        k = -(-total // MAX_POINTS)
        out = [np.concatenate([s[::k], s[-1:]]) if len(s) > k else s for s in out]
    return out


def rasterise(strokes: list[np.ndarray], grid: tuple[int, int], cell: int) -> np.ndarray:
    """(grid) int32: 1 + the index of the stroke passing through each coarse cell (0 = none).

    Segments are sampled every half cell so no cell along a stroke is skipped. Where two strokes
    cross, the later one wins; the growth in ``own`` makes that immaterial. All strokes at once:
    a segment joins two consecutive points of one stroke; a stroke of one point is a dot.
    """
    points = np.concatenate(strokes)
    stroke = np.repeat(np.arange(len(strokes)), [len(s) for s in strokes])
    joined = stroke[:-1] == stroke[1:]  # joined[i]: points i and i + 1 make a segment
    segments = np.flatnonzero(joined)
    steps = np.maximum(1, np.ceil(np.linalg.norm(points[segments + 1] - points[segments], axis=1) / (cell / 2))).astype(int)
    start = np.repeat(segments, steps)
    t = (np.arange(len(start)) - np.repeat(np.cumsum(steps) - steps, steps)) / np.repeat(steps, steps)  # k / n along each
    ends = segments[np.append(~joined[1:], True)[segments]]  # each stroke's last segment, taken to t = 1
    start, t = np.concatenate([start, ends]), np.concatenate([t, np.ones(len(ends))])
    samples = points[start] + t[:, None] * (points[start + 1] - points[start])
    dots = np.flatnonzero(~np.append(False, joined) & ~np.append(joined, False))
    samples, owner = np.concatenate([samples, points[dots]]), np.concatenate([stroke[start], stroke[dots]])
    cells = (samples // cell).astype(int)
    where = np.minimum(cells[:, 1], grid[0] - 1) * grid[1] + np.minimum(cells[:, 0], grid[1] - 1)
    labels = np.zeros(grid[0] * grid[1], np.int32)
    for k in range(len(strokes)):  # stroke by stroke: the later stroke wins (np.maximum.at is slower)
        labels[where[owner == k] if len(strokes) > 1 else where] = k + 1
    return labels.reshape(grid)


NEIGHBOURS = ((0, 1), (1, 0), (1, 2), (2, 1), (0, 0), (0, 2), (2, 0), (2, 2))  # (dy, dx) in the padded grid


def grow(labels: np.ndarray, mask: np.ndarray, steps: int) -> np.ndarray:
    """Give each unlabelled cell of ``mask`` the label of a labelled neighbour, ``steps`` times:
    every ink cell ends up owned by the stroke it is nearest to (in cells).

    Each step looks at the cells still empty only (a list of them, not the whole grid): each
    takes its first labelled neighbour, sides before corners, as the grid was when the step began.
    """
    h, w = labels.shape
    grid = framed(labels * mask, 1).ravel()  # the blank border: no neighbour wraps across a row
    inside = framed(mask, 1).ravel()
    empty = np.flatnonzero(inside & (grid == 0))
    around = np.array([(dy - 1) * (w + 2) + dx - 1 for dy, dx in NEIGHBOURS])  # flat offsets
    for _ in range(steps):
        if not empty.size:
            break
        neighbours = grid[empty[:, None] + around]  # (cells, 8): what each empty cell sees
        taken = neighbours[np.arange(empty.size), np.argmax(neighbours > 0, axis=1)]
        if not taken.any():
            break  # what is still empty is out of every stroke's reach
        grid[empty] = taken
        empty = empty[taken == 0]
    return grid.reshape(h + 2, w + 2)[1:-1, 1:-1]


def group(ink, strokes) -> Grouping | None:
    """(H, W) ink and its strokes -> the candidate digits (runs of strokes) to be weighed by the
    network; None if the strokes do not explain the ink or no run of them is digit-shaped (the
    caller then reads the pixels)."""
    ink = as_ink(ink)
    box = bounding_box(ink)  # on the raw ink (NaN is never ink): clean only the box, not the whole canvas
    if box is None:
        return Grouping([], [])
    strokes = clean_strokes(strokes, ink.shape)
    if not strokes or len(strokes) > MAX_STROKES:
        return None
    # Work on the ink's bounding box only (most of a canvas is paper), on the canvas' own grid.
    cell = max(1, -(-max(ink.shape) // GRID))
    canvas_side = min(ink.shape)
    top, left = box[0], box[2]
    ink = clean(ink[top : box[1], left : box[3]])
    strokes = [s - (left, top) for s in strokes]
    strokes = [s[((s >= -cell) & (s <= (ink.shape[1] + cell, ink.shape[0] + cell))).all(axis=1)] for s in strokes]
    strokes = [np.minimum(np.maximum(s, 0), (ink.shape[1] - 1e-3, ink.shape[0] - 1e-3)) for s in strokes if len(s)]
    own = ownership(ink, strokes, cell) if strokes else None
    if own is None:
        return None
    boxes = extents(strokes)
    order = writing_order(boxes, own)
    # Where a digit may end: between consecutive strokes that sit side by side. Strokes of one
    # digit (a 4's two strokes, a 7 and its bar) have each one's middle within the other's columns.
    size = [max(boxes[i][2] - boxes[i][0], boxes[i][3] - boxes[i][1]) for i in order]
    tiny = [x < SPECK * max(size) for x in size]  # a tick, a dot, a stray touch: part of a neighbour, never a digit
    over = [overlapping(boxes[order[k - 1]], boxes[order[k]]) for k in range(1, len(order))] + [False]
    # A tiny stroke belongs to the stroke before it, unless it sits over the next one only: then
    # it starts that digit (a 0 begun with a tick, a 5 begun with its hat's stub).
    leads = [tiny[k] and over[k] and (k == 0 or not over[k - 1]) for k in range(len(order))]
    # Two tall strokes side by side, the later right of the earlier at every height they share (a 1
    # pushed against the 7 before it), are likelier two digits than one, however their columns overlap.
    side_by_side = [False] + [beside(own, order[k - 1], order[k], boxes) for k in range(1, len(order))]
    cuts = [0] + [k for k in range(1, len(order))
                  if side_by_side[k] or not (over[k - 1] or (tiny[k] and not leads[k]) or (tiny[k - 1] and (k == 1 or leads[k - 1])))]
    cuts.append(len(order))
    tallest = max(boxes[i][3] - boxes[i][1] for i in order)
    runs, pieces, short, gapped, wide = [], [], [], [], []
    for a, start in enumerate(cuts[:-1]):
        for stop in cuts[a + 1 :]:
            if stop - start > MAX_RUN and stop != cuts[a + 1]:
                break
            members = order[start:stop]
            extent = (max(boxes[i][2] for i in members) - min(boxes[i][0] for i in members),
                      max(boxes[i][3] for i in members) - min(boxes[i][1] for i in members))
            # The shortest run from a cut is always a candidate, whatever its shape: its strokes sit
            # over each other, no other run can hold them apart, and leaving them out would lose
            # their ink (a 5 whose hat is longer than its body; ``cut_out`` may still split it).
            shortest = stop == cuts[a + 1]
            aspect = extent[0] / max(extent[1], 1.0)
            if not shortest and aspect > WIDEST:
                continue  # wider than any digit (a longer run may be taller: a 9 whose loop comes first)
            gap = 0.0 if shortest else widest_gap([boxes[i] for i in members]) / max(extent[1], 1.0)
            if gap > WIDE_GAP:
                continue  # a wide gap between its strokes' columns: two digits, not one
            piece = cut_out(ink, own, cell, members, (left, top), splittable=extent[1] >= SPLIT_HEIGHT * tallest)
            if piece is not None and not looks_like_dot(piece, canvas_side):
                runs.append((start, stop))
                pieces.append(piece)
                short.append(extent[1] < SHORT * tallest)
                gapped.append(gap > GAP)
                wide.append(not shortest and aspect > RUN_ASPECT)
    if not runs:
        return None  # every run is a dot or owns no ink: read the pixels, lose nothing
    return Grouping(runs, pieces, len(order), touching_strokes(own, order), tiny, side_by_side, short, gapped, wide)


def ownership(ink: np.ndarray, strokes: list[np.ndarray], cell: int) -> np.ndarray | None:
    """Which stroke owns each cell of the coarse grid (1 + its index, 0 = none): every ink cell
    goes to the stroke nearest to it. None if the strokes do not explain the ink: ink far from
    every stroke means another drawing (a picture, a stale stroke list)."""
    mask = ink >= max(FLOOR, LEVEL * float(ink.max()))
    height, width = mask.shape
    coarse = coarse_mask(mask, cell)
    own = rasterise(strokes, coarse.shape, cell)
    pen_cells = int(np.ceil(estimate_pen(ink, strokes) / cell)) + 1
    own = grow(np.where(coarse, own, 0), coarse, pen_cells)
    if not (coarse & (own == 0)).any():
        return own  # every ink cell has its stroke: all the ink is explained (the usual case)
    explained = per_pixel(own > 0, cell, 0, height, 0, width)
    if ink[explained].sum() < EXPLAINED * ink[mask].sum() - 1e-6:
        return None
    return own


@dataclass
class Grouping:
    """Candidate digits: ``pieces[k]`` is the ink of the strokes ``order[runs[k][0]:runs[k][1]]``.

    ``choose`` picks the partition of the strokes into digits that the network reads best.
    """

    runs: list[tuple[int, int]]
    pieces: list[Piece]
    strokes: int = 0
    touch: np.ndarray | None = None  # (strokes, strokes) bool, in writing order: their inks touch
    tiny: list[bool] | None = None  # in writing order: a stroke too small to be a digit (a dot, a tick)
    beside: list[bool] | None = None  # in writing order: stroke k stands tall beside stroke k - 1 (``beside``)
    short: list[bool] | None = None  # per run: less tall than SHORT of the tallest stroke
    gapped: list[bool] | None = None  # per run: a gap between its strokes' columns (``widest_gap``) over GAP
    wide: list[bool] | None = None  # per run: wider than RUN_ASPECT (and not its cut's shortest run)

    def doubtful(self, chosen: list[int]) -> set[int]:
        """The chosen runs that are read, but not as sure, because the strokes say they may not
        be digits:
          * a run whose ink touches another chosen run's: the cut between them was a guess (a Y
            or an N read as 1s, a 1 run into the 7 after it);
          * a run with a tiny stroke that touches none of its other strokes: a dot or a mark
            apart (a "?" read as a 7, an "i" as a 1);
          * a short run (``short``) read beside others: digits side by side are alike in height,
            a small ring beside a tall stroke is likelier part of a symbol (a "%" read as "06").
        """
        if self.touch is None or self.tiny is None:
            return set()
        touching = {a for a in chosen for b in chosen
                    if a != b and self.touch[slice(*self.runs[a]), slice(*self.runs[b])].any()}
        dotted = set()
        for k in chosen:
            start, stop = self.runs[k]
            block = self.touch[start:stop, start:stop]
            if stop - start > 1 and any(self.tiny[start + i] and not block[i].any() for i in range(stop - start)):
                dotted.add(k)
        small = {k for k in chosen if self.short and self.short[k] and len(chosen) > 1}
        return touching | dotted | small

    def _per_run(self, marks: list[bool] | None) -> list[bool]:
        """One of the per-run marks, all False when the grouping was made without it (by hand, in tests)."""
        return marks or [False] * len(self.runs)

    def first_guess(self) -> list[int]:
        """The runs to read first: from the first stroke on, the longest candidate run starting
        there, then on from where it stops (a digit drawn in several strokes is read whole). Runs
        wider than RUN_ASPECT or with a gap between their strokes are left for ``choose`` to ask
        for: in a number they are two digits."""
        longest: dict[int, int] = {}
        gapped, wide = self._per_run(self.gapped), self._per_run(self.wide)
        for k, (start, stop) in enumerate(self.runs):
            if gapped[k] or wide[k]:
                continue
            if start not in longest or stop > self.runs[longest[start]][1]:
                longest[start] = k
        guess, at = [], 0
        while at < self.strokes:
            if at in longest:
                guess.append(longest[at])
                at = self.runs[longest[at]][1]
            else:
                at += 1
        return guess

    def choose(self, confidences: list[list[float] | None]) -> list[int]:
        """Indices of the pieces to read, left to right: the partition of the strokes (in writing
        order) into runs that maximises the sum of log-confidences, each digit paying DIGIT_COST
        (so a stroke is not read alone when it reads as well with its neighbours), and a digit of
        strokes that stand beside each other, fall apart, spread wide or are short paying
        BESIDE_COST, APART_COST, WIDE_COST or SHORT_COST more.

        ``confidences[k]`` is the network's top probability for each digit piece k reads as (one,
        or several when the piece is a single stroke running through several digits), or None
        if it has not been read: it then counts as one digit read with certainty, the best it
        could do, so a partition chosen without it is the best whatever it would have read.

        A stroke that is part of no candidate (a dot, a stroke hidden under others) is skipped, at
        SKIP_COST: so high that a stroke some candidate covers is always read.
        """
        n = self.strokes
        best = np.full(n + 1, -np.inf)
        best[0] = 0.0
        back: list[tuple[int, int] | None] = [None] * (n + 1)
        ending: dict[int, list[int]] = {}
        for k, (_, stop) in enumerate(self.runs):
            ending.setdefault(stop, []).append(k)
        merged = [self.beside is not None and any(self.beside[start + 1 : stop]) for start, stop in self.runs]
        short, gapped, wide = self._per_run(self.short), self._per_run(self.gapped), self._per_run(self.wide)
        for stop in range(1, n + 1):
            # skipping stroke stop-1 altogether: only where no candidate covers it
            best[stop], back[stop] = best[stop - 1] - SKIP_COST, (stop - 1, -1)
            for k in ending.get(stop, []):
                start = self.runs[k][0]
                read = confidences[k] if confidences[k] is not None else [1.0]
                costs = BESIDE_COST * merged[k] + SHORT_COST * short[k] + APART_COST * gapped[k] + WIDE_COST * wide[k]
                score = best[start] + sum(float(np.log(max(c, 1e-9))) - DIGIT_COST for c in read) - costs
                if score > best[stop]:
                    best[stop], back[stop] = score, (start, k)
        chosen, at = [], n
        while at > 0:
            start, k = back[at]
            if k >= 0:
                chosen.append(k)
            at = start
        return sorted(chosen, key=lambda k: (self.pieces[k].box.left + self.pieces[k].box.right) / 2)


def touching_strokes(own: np.ndarray, order: list[int]) -> np.ndarray:
    """(n, n) bool over strokes in writing order: do strokes ``order[i]`` and ``order[j]`` own
    neighbouring cells (8-connected) of the coarse grid, that is, does their ink touch?"""
    if len(order) < 2:
        return np.zeros((len(order), len(order)), bool)  # one stroke touches no other
    position = np.zeros(int(own.max()) + 1, np.int64)
    position[np.asarray(order, np.int64) + 1] = np.arange(1, len(order) + 1)
    at = position[own]  # 1 + the stroke's place in writing order, 0 = no stroke's
    touch = np.zeros((len(order) + 1, len(order) + 1), bool)
    for a, b in ((at[:, :-1], at[:, 1:]), (at[:-1], at[1:]), (at[:-1, :-1], at[1:, 1:]), (at[:-1, 1:], at[1:, :-1])):
        differ = a != b  # only where the owner changes: few cells
        touch[a[differ], b[differ]] = True
    touch = touch | touch.T
    return touch[1:, 1:] & ~np.eye(len(order), dtype=bool)


def extents(strokes: list[np.ndarray]) -> list[tuple[float, float, float, float]]:
    """Each stroke's (left, top, right, bottom), as Python floats: what the grouping's decisions
    look at, computed once for all strokes (each a non-empty (n, 2) array of (x, y) points)."""
    starts = np.cumsum([0] + [len(s) for s in strokes[:-1]])
    points = np.concatenate(strokes)
    low, high = np.minimum.reduceat(points, starts), np.maximum.reduceat(points, starts)
    return [tuple(box) for box in np.concatenate([low, high], axis=1).tolist()]


def writing_order(boxes: list[tuple[float, float, float, float]], own: np.ndarray) -> list[int]:
    """Strokes (given by their ``extents``) in drawing order, except that a small late stroke inside
    an earlier digit's columns (a 5's hat or a 7's bar added after the next digit) moves next to
    the stroke it finishes.

    Strokes that own no ink are left out.
    """
    owned = np.bincount(own.ravel(), minlength=len(boxes) + 1)
    alive = [i for i in range(len(boxes)) if owned[i + 1]]
    if not alive:
        return []
    spans = {i: (boxes[i][0], boxes[i][2]) for i in alive}
    tall = {i: boxes[i][3] - boxes[i][1] for i in alive}
    tallest = max(tall.values()) or 1.0
    order: list[int] = []
    for i in alive:
        extent = max(tall[i], spans[i][1] - spans[i][0])
        host = None
        if order and extent < LATE_STROKE * tallest:
            shares = [shared(spans[j], spans[i]) for j in order]
            best = int(np.argmax(shares))
            if shares[best] >= SAME_DIGIT and best < len(order) - 1 and shares[-1] < SAME_DIGIT:
                host = best
        if host is None:
            order.append(i)
        else:
            order.insert(host + 1, i)
    return order


def overlapping(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Does either stroke's middle column lie within the other's columns? (``extents`` boxes)"""
    (a0, a1), (b0, b1) = (a[0], a[2]), (b[0], b[2])
    return a0 <= (b0 + b1) / 2 <= a1 or b0 <= (a0 + a1) / 2 <= b1


def beside(own: np.ndarray, a: int, b: int, boxes: list[tuple[float, ...]]) -> bool:
    """Do strokes ``a`` and ``b`` stand side by side: each nearly as tall as the two together (TALL),
    sharing most of their rows, and in every shared row of the coarse grid one's ink wholly left of
    the other's (a cell's overlap allowed where they touch)? A 4's bar crosses its upright, a 5's
    hat sits above its body, a 9's loop is short: none of them stands beside another stroke."""
    tops, bottoms = (boxes[a][1], boxes[b][1]), (boxes[a][3], boxes[b][3])
    if min(bottoms[0] - tops[0], bottoms[1] - tops[1]) < TALL * (max(bottoms) - min(tops)):
        return False
    first, second = own == a + 1, own == b + 1
    first_rows, second_rows = first.any(axis=1), second.any(axis=1)
    rows = first_rows & second_rows
    if rows.sum() < TALL * min(first_rows.sum(), second_rows.sum()):
        return False
    (first_left, first_right), (second_left, second_right) = row_ends(first[rows]), row_ends(second[rows])
    return bool((first_right <= second_left + 1).all() or (second_right <= first_left + 1).all())


def row_ends(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) bool, every row holding some True -> each row's first and last True column."""
    columns = np.arange(mask.shape[1])
    return np.where(mask, columns, mask.shape[1]).min(axis=1), np.where(mask, columns, -1).max(axis=1)


def widest_gap(boxes: list[tuple[float, ...]]) -> float:
    """The widest gap between the strokes' column spans (of their ``extents`` boxes), 0 if they chain together."""
    spans = sorted((box[0], box[2]) for box in boxes)
    reach, widest = spans[0][1], 0.0
    for left, right in spans[1:]:
        widest = max(widest, left - reach)
        reach = max(reach, right)
    return widest


def estimate_pen(ink: np.ndarray, strokes: list[np.ndarray]) -> float:
    """The pen's width in pixels: ink area over stroke length (a round pen paints length x width)."""
    length = sum(float(np.sqrt(np.vecdot(d, d)).sum()) for d in (np.diff(s, axis=0) for s in strokes))
    return float(min(max(ink.sum() / max(length, 1.0), 1.0), max(ink.shape) / 4))  # as np.clip: floor, then cap


def shared(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The share of the narrower of two column spans that the other covers too."""
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    return max(0.0, overlap) / max(1.0, min(a[1] - a[0], b[1] - b[0]))


def cut_out(ink: np.ndarray, own: np.ndarray, cell: int, members: list[int], offset=(0, 0),
            splittable: bool = True) -> Piece | None:
    """The ink owned by strokes ``members`` (indices), cropped to its box (moved by ``offset``:
    where ``ink`` sits on the canvas). ``splittable``: offer readings as several touching digits
    if it is wide (a number written in one stroke), not for a short run (a 5's hat alone)."""
    owners = int(own.max())
    wanted = np.zeros(max(owners, max(members) + 1) + 1, bool)
    wanted[np.asarray(members) + 1] = True
    everything = bool(wanted[1 : owners + 1].all())  # the run holds every stroke that owns ink
    mine = own > 0 if everything else wanted[own]
    rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
    if rows.size == 0:
        return None
    # One cell of margin, and unowned cells kept: the faint anti-aliased edge of a stroke lies
    # outside the cells that count as ink.
    r0, r1 = max(0, int(rows[0] - 1) * cell), min(ink.shape[0], (int(rows[-1]) + 2) * cell)
    c0, c1 = max(0, int(cols[0] - 1) * cell), min(ink.shape[1], (int(cols[-1]) + 2) * cell)
    wanted[0] = True  # cells no stroke owns are kept too
    block = None if everything else wanted[own[r0 // cell : -(-r1 // cell), c0 // cell : -(-c1 // cell)]]
    if block is None or block.all():  # no other stroke owns a cell in its box
        region = ink[r0:r1, c0:c1]
    else:  # which cells to keep, looked up over the region's cells only (r0 and c0 are cell-aligned)
        region = ink[r0:r1, c0:c1] * per_pixel(block, cell, 0, r1 - r0, 0, c1 - c0)
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return None
    x, y = offset
    box = Box(x + c0 + int(cols[0]), y + r0 + int(rows[0]), x + c0 + int(cols[-1]) + 1, y + r0 + int(rows[-1]) + 1)
    crop = region[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()  # its own, C-ordered
    return Piece(box, crop, splittable)
