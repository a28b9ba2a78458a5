"""digits.segment: a drawn number -> one piece of ink per digit, left to right."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digits import segment
from digits.segment import Box


def flood_fill_reference(mask: np.ndarray) -> np.ndarray:
    """8-connected labels by breadth-first search, one pixel at a time."""
    labels = np.zeros(mask.shape, int)
    n = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        n += 1
        labels[start] = n
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not labels[rr, cc]:
                        labels[rr, cc] = n
                        queue.append((rr, cc))
    return labels


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labellings describe the same components (label numbers may differ)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = set(zip(a[a > 0].tolist(), b[b > 0].tolist(), strict=True))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def stroke(ink: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    ink[rows, cols] = 1.0
    return ink


bar = stroke


# --- connected components -----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 30), st.integers(1, 30))))
def test_labels_match_a_flood_fill(mask):
    labels, n = segment.label(mask)
    reference = flood_fill_reference(mask)
    assert n == reference.max()
    assert same_partition(labels, reference)


def test_a_long_snake_is_one_component():
    mask = np.zeros((41, 41), bool)
    mask[::4, :] = True  # rows joined alternately at the right and the left end
    for k, row in enumerate(range(0, 37, 4)):
        mask[row : row + 5, 40 if k % 2 == 0 else 0] = True
    labels, n = segment.label(mask)
    assert n == 1 and (labels[mask] == 1).all()


def test_coarse_mask_marks_a_cell_if_any_pixel_is_set():
    mask = np.zeros((7, 10), bool)
    mask[0, 0] = mask[6, 9] = True
    coarse = segment.coarse_mask(mask, 3)
    assert coarse.shape == (3, 4)
    assert coarse[0, 0] and coarse[2, 3] and coarse.sum() == 2



@given(mask=arrays(bool, st.tuples(st.integers(1, 14), st.integers(1, 14))), cell=st.integers(1, 5))
@settings(max_examples=200, deadline=None)
def test_coarse_mask_is_any_over_each_cell(mask, cell):
    h, w = mask.shape
    expected = np.array([[mask[r : r + cell, c : c + cell].any() for c in range(0, w, cell)] for r in range(0, h, cell)])
    np.testing.assert_array_equal(segment.coarse_mask(mask, cell), expected)

# --- pieces ---------------------------------------------------------------------------------


def test_separate_digits_come_out_left_to_right_with_exact_boxes():
    ink = np.zeros((300, 700), np.float32)
    stroke(ink, slice(50, 250), slice(400, 420))  # drawn first, but it is the third digit
    stroke(ink, slice(60, 240), slice(100, 125))
    stroke(ink, slice(70, 260), slice(250, 270))
    pieces = segment.segment(ink)
    assert [p.box for p in pieces] == [Box(100, 60, 125, 240), Box(250, 70, 270, 260), Box(400, 50, 420, 250)]
    assert all(p.ink.shape == (p.box.height, p.box.width) for p in pieces)


def test_strokes_overlapping_horizontally_are_one_digit():
    ink = np.zeros((300, 300), np.float32)
    stroke(ink, slice(50, 160), slice(80, 95))  # a 4 in two strokes: the open left part ...
    stroke(ink, slice(150, 165), slice(80, 200))
    stroke(ink, slice(40, 260), slice(170, 185))  # ... and the long stroke, crossing it
    stroke(ink, slice(40, 55), slice(60, 120))  # a 5's hat, not touching
    pieces = segment.segment(ink)
    assert len(pieces) == 1
    assert pieces[0].box == Box(60, 40, 200, 260)


def test_specks_and_lone_dots_are_not_digits():
    ink = np.zeros((300, 400), np.float32)
    stroke(ink, slice(50, 250), slice(100, 120))
    stroke(ink, slice(240, 250), slice(200, 210))  # a full stop
    stroke(ink, slice(10, 12), slice(300, 302))  # a speck
    assert [p.box for p in segment.segment(ink)] == [Box(100, 50, 120, 250)]

    dot = np.zeros((300, 300), np.float32)
    yy, xx = np.mgrid[:300, :300]
    dot[np.hypot(yy - 150, xx - 150) < 9] = 1.0
    assert segment.segment(dot) == []
    assert segment.segment(np.ones((300, 300))) == []  # the canvas filled is not a digit

    bold_zero = np.zeros((300, 300), np.float32)  # drawn so boldly that its hole closed: still a digit
    bold_zero[(((yy - 150) / 100) ** 2 + ((xx - 150) / 70) ** 2) < 1] = 1.0
    assert len(segment.segment(bold_zero)) == 1
    one = bar(np.zeros((300, 300), np.float32), slice(50, 250), slice(140, 160))  # solid, but a line
    assert len(segment.segment(one)) == 1


def test_a_fragment_beside_a_digit_joins_it():
    ink = np.zeros((300, 500), np.float32)
    stroke(ink, slice(80, 250), slice(100, 120))  # a 5's body, roughly ...
    stroke(ink, slice(50, 65), slice(125, 200))  # ... and its hat, drawn off to the right, not touching
    stroke(ink, slice(60, 250), slice(300, 320))  # another digit
    pieces = segment.segment(ink)
    assert [p.box for p in pieces] == [Box(100, 50, 200, 250), Box(300, 60, 320, 250)]


def test_a_neighbours_overhang_is_not_part_of_a_digit():
    ink = np.zeros((300, 400), np.float32)
    stroke(ink, slice(80, 250), slice(100, 120))  # a 1
    stroke(ink, slice(50, 65), slice(112, 260))  # a 7 whose bar reaches back over the 1's top
    stroke(ink, slice(50, 250), slice(245, 260))
    left, right = segment.segment(ink)
    assert left.box == Box(100, 80, 120, 250)
    assert right.box == Box(112, 50, 260, 250)
    assert right.ink[65:, :8].sum() == 0  # the 1's ink inside the 7's box is not the 7's
    assert right.ink[:15, :8].all()


def test_a_wide_piece_offers_a_split_and_a_narrow_one_does_not():
    ink = np.zeros((200, 400), np.float32)
    # two touching "0"s: two frames sharing a short bridge
    for left in (50, 160):
        stroke(ink, slice(40, 160), slice(left, left + 100))
        ink[55:145, left + 15 : left + 85] = 0
    stroke(ink, slice(95, 105), slice(150, 160))
    (piece,) = segment.segment(ink)
    assert piece.box == Box(50, 40, 260, 160)
    split = piece.splits[0]  # the first candidate: as many digits as fit, cut at the emptiest columns
    assert len(split) == 2
    assert split[0].box.right <= 160 and split[1].box.left >= 150
    assert all(2 <= len(s) <= segment.MAX_SPLIT for s in piece.splits)
    narrow = np.zeros((200, 200), np.float32)
    stroke(narrow, slice(40, 160), slice(50, 150))
    narrow[55:145, 65:135] = 0
    assert segment.segment(narrow)[0].splits == []


def test_a_split_never_makes_a_digit_of_a_small_part_beside_a_tall_one():
    # a 6 with a long flat tail: tall loop, then a low stroke running right (not a 6 and a 7)
    ink = np.zeros((200, 400), np.float32)
    stroke(ink, slice(40, 160), slice(50, 140))
    ink[55:145, 65:125] = 0
    stroke(ink, slice(60, 80), slice(140, 300))
    (piece,) = segment.segment(ink)
    assert piece.box.width >= segment.SPLIT_ASPECT * piece.box.height
    assert piece.splits == []


def test_a_wide_piece_is_tried_as_two_digits_whatever_its_width_suggests():
    # a long-tailed digit against a narrow one: 2.7 times wider than tall, which typical widths
    # would read as three or four digits
    crop = np.zeros((100, 270), np.float32)
    crop[:, :180] = crop[:, 190:] = 1.0
    crop[45:55, 180:190] = 1.0  # where they touch
    twos = [parts for parts in segment.candidate_splits(Box(0, 0, 270, 100), crop) if len(parts) == 2]
    assert any(180 <= parts[0].box.right <= 190 for parts in twos)


def test_two_digits_are_cut_where_they_touch_even_near_the_edge():
    # a narrow 1 pushed against a wide digit: the thinnest column is a seventh of the way across
    crop = np.zeros((100, 130), np.float32)
    crop[:, :15] = crop[:, 25:] = 1.0
    crop[45:55, 15:25] = 1.0
    splits = segment.candidate_splits(Box(0, 0, 130, 100), crop)
    assert any(len(parts) == 2 and 15 <= parts[0].box.right <= 25 for parts in splits)


@settings(max_examples=60, deadline=None)
@given(crop=arrays(np.float32, st.tuples(st.integers(4, 30), st.integers(40, 120)), elements=st.sampled_from([0.0, 1.0])))
def test_the_parts_of_every_split_are_alike_in_height(crop):
    crop[:, 0] = crop[:, -1] = 1.0  # ink at both ends, as in a cropped piece
    for parts in segment.candidate_splits(Box(0, 0, crop.shape[1], crop.shape[0]), crop):
        heights = [part.box.height for part in parts]
        assert min(heights) >= segment.SHORTEST_PART * max(heights)


def test_blank_and_empty_canvases_have_no_pieces():
    assert segment.segment(np.zeros((300, 300))) == []
    assert segment.segment(np.zeros((0, 7))) == []
    assert segment.segment(np.full((40, 40), np.nan)) == []


def test_big_canvases_are_segmented_exactly():
    """A 6-megapixel canvas: labelled on the coarse grid, boxed at full resolution. (How long that
    takes is a benchmark's question, not a test's: bench/reading.py times digits.read.)"""
    ink = np.zeros((2000, 3000), np.float32)
    for k in range(4):
        stroke(ink, slice(400, 1600), slice(300 + 700 * k, 400 + 700 * k))
    pieces = segment.segment(ink)
    assert [p.box for p in pieces] == [Box(300 + 700 * k, 400, 400 + 700 * k, 1600) for k in range(4)]


def test_wrong_dimensions_say_what_was_expected():
    with pytest.raises(ValueError, match="2-D array"):
        segment.segment(np.zeros((3, 3, 3)))
