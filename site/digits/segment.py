"""A drawn number -> one piece of ink per digit, left to right.

  1. Connected components of the ink, found on a coarse grid (the canvas max-pooled so that its
     longer side is at most GRID cells) by vectorised union-find: no Python loop over pixels,
     and a 600x400 canvas costs about as much as a 300x300 one.
  2. Specks (much smaller than the tallest component) are dropped, then components that overlap
     horizontally are merged: a 5's hat, a 4 or a 7 drawn in two strokes, a broken loop. What is
     still small and light after that is a fragment of a neighbour (a 5's hat drawn off to the
     side, a broken stroke): it joins the nearest piece if it is close, else it is dropped.
  3. A piece that is much wider than tall may be two or more touching digits: it carries
     candidate splits (cuts at the emptiest columns), and the reader keeps a split only if the
     network reads every part more confidently than the whole (segmentation by recognition).
     Digits pushed together until they overlap can make a piece hardly wider than tall (a 1
     into the 7 beside it): a ``narrow`` piece cut from the pixels carries splits into two too,
     which the reader keeps only on far stronger evidence (``digits.NARROW_SPLIT_BELOW``).
     With strokes (``group``) it does not: digits drawn apart are apart in their strokes, and a
     symbol in one run of them (a "%") would be read as two digits.
  4. What is left and looks like a dot (small, roundish and filled) or a solid block is not a digit.

numpy only: the same file runs in the page (Pyodide, numpy 2.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .preprocess import FLOOR, as_ink, clean, framed

GRID = 160  # the coarse grid's longer side, in cells
LEVEL = 0.3  # a pixel this dark (relative to the darkest) is ink for connectivity
SPECK = 0.25  # a component whose longer side is under this fraction of the tallest one is a speck
MIN_EXTENT = 3  # ... and one under this many pixels always is
MERGE_OVERLAP = 0.5  # merge two pieces overlapping horizontally by this fraction of the narrower
FRAGMENT_HEIGHT, FRAGMENT_MASS = 0.5, 0.4  # lower and lighter than this (of the tallest, the heaviest): a fragment
ATTACH_GAP = 0.25  # a fragment this close (fraction of the tallest's height) joins its nearest piece
SPLIT_ASPECT = 1.2  # a piece this much wider than tall may be touching digits ...
NARROW_ASPECT = 0.85  # ... and so may a narrower one this wide, pushed together (a 1 into a 7), if it reads badly whole
DIGIT_ASPECT = 0.75  # a typical digit's width / height, to guess how many digits a wide piece holds
MAX_SPLIT = 4  # a wide piece is split into at most this many digits (a long line is not 400 ones)
SHORTEST_PART = 0.5  # ... into parts at least this tall (of the tallest part): a 6's tail is not a 7
DOT_FILL, DOT_ASPECT = 0.65, 2.0  # a piece whose ink fills this much of its box, this round, ...
DOT_SIZE = 0.1  # ... and this small (fraction of the canvas' shorter side) is a dot: a bold 0 is not
SOLID_FILL = 0.9  # no roundish digit fills this much of its box (a filled canvas, a painted-over block)
MAX_PIECES = 24  # beyond this (noise, confetti) only the largest pieces are read


class Box(NamedTuple):
    """A rectangle in ink (canvas) pixel coordinates; right and bottom are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True)
class Piece:
    """One digit's ink: ``ink`` is (box.height, box.width) float32, other digits' ink removed,
    clean (``preprocess.clean``) and cropped to its ink (every edge row and column holds some),
    so that it goes to the network through ``preprocess.normalise`` as it is.

    ``splits`` holds candidate readings of this piece as several touching digits (each a list of
    pieces, left to right); empty unless the piece is ``splittable`` and wide enough to be more
    than one digit (a ``narrow`` one only with ``narrow_splits``). They are worked out when
    first asked for: the reader asks only when the network is unsure of the piece whole, which
    a clearly drawn digit never is.
    """

    box: Box
    ink: np.ndarray
    splittable: bool = False
    narrow_splits: bool = False  # a narrow piece may be split too (pieces cut from the pixels alone)

    @property
    def narrow(self) -> bool:
        """Less wide than SPLIT_ASPECT: one digit, unless the network reads it very badly whole."""
        return self.box.width < SPLIT_ASPECT * self.box.height

    @cached_property
    def splits(self) -> list[list[Piece]]:
        if not self.splittable or (self.narrow and not self.narrow_splits):
            return []
        return candidate_splits(self.box, self.ink)


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a (h, w) bool mask -> ((h, w) int32 labels 1..n, 0 = none; n).

    Union-find done with whole-array operations: every edge hooks the larger of its two roots
    onto the smaller, then pointer jumping flattens the trees; repeat until no edge joins two
    different roots. A few rounds suffice even for long snaking strokes.
    """
    h, w = mask.shape
    padded = framed(mask, 1)  # the blank border keeps neighbours from wrapping across rows
    width = w + 2
    flat = padded.ravel()
    cells = np.flatnonzero(flat)
    if cells.size == 0:
        return np.zeros((h, w), np.int32), 0
    node = np.full(flat.size, -1, np.int64)
    node[cells] = np.arange(cells.size)
    a_parts, b_parts = [], []
    for offset in (1, width - 1, width, width + 1):  # right, and the three neighbours below
        joined = cells[flat[cells + offset]]
        a_parts.append(node[joined])
        b_parts.append(node[joined + offset])
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)

    parent = np.arange(cells.size)
    while True:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            break
        low = np.minimum(root_a[apart], root_b[apart])
        high = np.maximum(root_a[apart], root_b[apart])
        np.minimum.at(parent, high, low)  # hook: roots only point to smaller roots, so no cycles
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    roots, compact = np.unique(parent, return_inverse=True)
    labels = np.zeros(flat.size, np.int32)
    labels[cells] = compact.reshape(-1) + 1
    return labels.reshape(h + 2, width)[1:-1, 1:-1], int(roots.size)


def coarse_mask(mask: np.ndarray, cell: int) -> np.ndarray:
    """(H, W) bool -> (ceil(H/cell), ceil(W/cell)) bool: a cell is set if any pixel in it is."""
    if cell == 1:
        return mask.copy()
    h, w = mask.shape
    # Rows of cells, then cells: `cell` ORs of strided views per axis (in the page several times
    # faster than any() over the two inner axes of a (ch, cell, cw, cell) reshape).
    rows = np.zeros((-(-h // cell), w), bool)
    for k in range(cell):
        part = mask[k::cell]
        rows[: len(part)] |= part
    out = np.zeros((rows.shape[0], -(-w // cell)), bool)
    for k in range(cell):
        part = rows[:, k::cell]
        out[:, : part.shape[1]] |= part
    return out


def per_pixel(cells: np.ndarray, cell: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """The coarse grid's values over pixels [r0:r1, c0:c1]: each pixel takes its cell's (the way
    back from coarse_mask), by repeating cells rather than indexing every pixel."""
    block = cells[r0 // cell : -(-r1 // cell), c0 // cell : -(-c1 // cell)]
    return np.repeat(np.repeat(block, cell, axis=0), cell, axis=1)[r0 % cell :, c0 % cell :][: r1 - r0, : c1 - c0]


def segment(ink) -> list[Piece]:
    """(H, W) ink, 0..1 with 1 = ink -> the digits' pieces, left to right ([] for blank ink)."""
    ink = clean(as_ink(ink))
    darkest = float(ink.max()) if ink.size else 0.0
    if darkest <= 0:
        return []
    mask = ink >= max(FLOOR, LEVEL * darkest)
    height, width = mask.shape
    cell = max(1, -(-max(height, width) // GRID))
    labels, n = label(coarse_mask(mask, cell))
    if n == 0:
        return []

    # Each component's box, in ink pixels (coarse cells scaled up, then clipped to the canvas).
    rows, cols = np.nonzero(labels)
    ids = labels[rows, cols] - 1
    top = np.full(n, rows.max() + 1)
    left = np.full(n, cols.max() + 1)
    bottom = np.zeros(n, np.int64)
    right = np.zeros(n, np.int64)
    np.minimum.at(top, ids, rows)
    np.minimum.at(left, ids, cols)
    np.maximum.at(bottom, ids, rows + 1)
    np.maximum.at(right, ids, cols + 1)
    top, left = top * cell, left * cell
    bottom, right = np.minimum(bottom * cell, height), np.minimum(right * cell, width)
    extent = np.maximum(bottom - top, right - left)
    keep = (extent >= SPECK * (bottom - top).max()) & (extent >= MIN_EXTENT)
    kept = np.flatnonzero(keep)
    if kept.size > MAX_PIECES:
        mass = np.bincount(ids, minlength=n)
        kept = kept[np.argsort(-mass[kept], kind="stable")[:MAX_PIECES]]

    groups = merge_overlapping([([int(i) + 1], int(left[i]), int(right[i])) for i in kept])
    mass = np.bincount(ids, minlength=n)  # coarse cells: a proxy for ink, enough to compare pieces
    groups = attach_fragments(groups, top, bottom, mass)
    pieces = []
    for members, _, _ in groups:
        piece = cut_out(ink, mask, labels, cell, members)
        if piece is not None and not looks_like_dot(piece, min(height, width)):
            pieces.append(piece)
    return sorted(pieces, key=lambda p: (p.box.left + p.box.right) / 2)


def merge_overlapping(groups: list[tuple[list[int], int, int]]) -> list[tuple[list[int], int, int]]:
    """Merge (labels, left, right) groups whose spans overlap by MERGE_OVERLAP of the narrower.

    Sweeps left to right, repeated until nothing merges (a merged span can reach a new
    neighbour).
    """
    groups = sorted(groups, key=lambda g: g[1])
    while True:
        merged: list[tuple[list[int], int, int]] = []
        for members, left, right in groups:
            if merged:
                last_members, last_left, last_right = merged[-1]
                overlap = min(right, last_right) - max(left, last_left)
                narrower = max(1, min(right - left, last_right - last_left))
                if overlap >= MERGE_OVERLAP * narrower:
                    merged[-1] = (last_members + members, min(left, last_left), max(right, last_right))
                    continue
            merged.append((members, left, right))
        if len(merged) == len(groups):
            return merged
        groups = merged


def attach_fragments(groups, top, bottom, mass) -> list[tuple[list[int], int, int]]:
    """Join small, light groups to the nearest proper piece (or drop them if none is close).

    ``top``, ``bottom``, ``mass`` are per component (index = label - 1).
    """
    if not groups:
        return []
    heights, weights = [], []
    for members, _, _ in groups:
        index = np.array(members) - 1
        heights.append(int(bottom[index].max() - top[index].min()))
        weights.append(int(mass[index].sum()))
    tallest, heaviest = max(heights), max(weights)
    fragment = [h < FRAGMENT_HEIGHT * tallest and w < FRAGMENT_MASS * heaviest for h, w in zip(heights, weights, strict=True)]
    proper = [list(g) for g, is_fragment in zip(groups, fragment, strict=True) if not is_fragment]
    for (members, left, right), is_fragment in zip(groups, fragment, strict=True):
        if not is_fragment:
            continue
        gaps = [max(0, max(left, g[1]) - min(right, g[2])) for g in proper]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= ATTACH_GAP * tallest:
            host = proper[nearest]
            proper[nearest] = [host[0] + members, min(host[1], left), max(host[2], right)]
    return [tuple(g) for g in proper]


def cut_out(ink: np.ndarray, mask: np.ndarray, labels: np.ndarray, cell: int, members: list[int]) -> Piece | None:
    """The piece made of the components ``members``: their ink alone, cropped to its box.

    Ink in cells no component owns (faint anti-aliased edges) stays; ink of other components
    inside the box is removed, so a neighbour's overhang does not leak into this digit.
    """
    owned = np.isin(labels, members)
    rows, cols = np.flatnonzero(owned.any(axis=1)), np.flatnonzero(owned.any(axis=0))
    # one coarse cell of margin: the faint edge of a stroke may lie in an unowned cell
    r0, r1 = max(0, int(rows[0] - 1) * cell), min(ink.shape[0], int(rows[-1] + 2) * cell)
    c0, c1 = max(0, int(cols[0] - 1) * cell), min(ink.shape[1], int(cols[-1] + 2) * cell)
    owner = per_pixel(labels, cell, r0, r1, c0, c1)
    mine = np.isin(owner, members)
    region = ink[r0:r1, c0:c1] * (mine | (owner == 0))
    strong = mask[r0:r1, c0:c1] & mine  # the box is where this piece's ink is clearly ink
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    if rows.size == 0:
        return None
    box = Box(c0 + int(cols[0]), r0 + int(rows[0]), c0 + int(cols[-1]) + 1, r0 + int(rows[-1]) + 1)
    crop = region[box.top - r0 : box.bottom - r0, box.left - c0 : box.right - c0]
    return Piece(box, crop, splittable=True, narrow_splits=True)


def candidate_splits(box: Box, crop: np.ndarray) -> list[list[Piece]]:
    """For a piece wider than tall: ways to read it as k touching digits.

    k is the number of typical-width digits that fit, one fewer and one more, and always two:
    digits are not all of a typical width (a 2 with a long tail, a 1 beside a 7), so the count
    their widths suggest can be wrong. Each cut is sought at the emptiest column within a band
    around its even spacing. For two digits, the next-emptiest columns anywhere but the outer
    tenths are tried as well: where two digits touch, the thinnest column is not always between
    them, nor near the middle (a 1 is narrow). Returns [] for pieces narrower than NARROW_ASPECT.
    """
    if box.width < NARROW_ASPECT * box.height:
        return []
    profile = crop.sum(axis=0)
    guess = round(box.width / (DIGIT_ASPECT * box.height))
    splits, seen = [], set()
    counts = {min(MAX_SPLIT, max(2, guess + d)) for d in (0, -1, 1)} | {2}
    for k in sorted(counts, key=lambda k: abs(k - guess)):
        for cuts in cut_sets(profile, k):
            if tuple(cuts) not in seen:
                seen.add(tuple(cuts))
                parts = split_at(box, crop, cuts)
                heights = [part.box.height for part in parts]
                if parts and min(heights) >= SHORTEST_PART * max(heights):  # digits side by side are alike in height
                    splits.append(parts)
    return splits


def cut_sets(profile: np.ndarray, k: int) -> list[list[int]]:
    """Column cuts (including 0 and the width) that split a profile into k parts."""
    width = len(profile)
    spacing = width / k
    cuts = [0]
    for i in range(1, k):
        lo = max(cuts[-1] + 1, int(i * spacing - spacing / 3))
        hi = min(width - 1, int(i * spacing + spacing / 3) + 1)
        if hi <= lo:
            return []
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    sets = [cuts + [width]]
    if k == 2:  # the three emptiest local minima between the outer tenths
        lo, hi = width // 10, 9 * width // 10
        inner = profile[lo:hi]
        minima = [i for i in range(1, len(inner) - 1) if inner[i] <= inner[i - 1] and inner[i] <= inner[i + 1]]
        for i in sorted(minima, key=lambda i: inner[i])[:3]:
            sets.append([0, lo + i, width])
    return sets


def split_at(box: Box, crop: np.ndarray, cuts: list[int]) -> list[Piece]:
    parts = []
    for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
        part = crop[:, start:stop]
        rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
        if rows.size == 0:
            return []
        sub = Box(box.left + start + int(cols[0]), box.top + int(rows[0]),
                  box.left + start + int(cols[-1]) + 1, box.top + int(rows[-1]) + 1)
        parts.append(Piece(sub, part[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]))
    return parts


def looks_like_dot(piece: Piece, canvas_side: int) -> bool:
    """A small filled roundish blob (a tap of the pen) or a solid block is not a digit.

    A disc fills pi/4 = 0.79 of its box, but so does a 0 or an 8 drawn so boldly that its holes
    closed: size tells them apart, a tap is about a pen's width, a digit many times that.
    """
    box = piece.box
    long_side, short_side = max(box.width, box.height), max(1, min(box.width, box.height))
    filled = piece.ink.sum(dtype=np.float64) / (box.width * box.height * float(piece.ink.max()))
    if long_side > DOT_ASPECT * short_side:  # a line (a 1, a dash) is no dot however solid
        return False
    return filled >= SOLID_FILL or (filled >= DOT_FILL and long_side < DOT_SIZE * canvas_side)
