"""digits.group: a drawing's strokes -> candidate digits (runs of strokes), and the best partition."""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_strokes import distance_by_loop

from digits import group as G
from digits.segment import GRID, Box, Piece
from training.strokes import paint

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PEN = 12.0


def line(*points) -> np.ndarray:
    return np.array(points, np.float64)


def ellipse(cx, cy, rx, ry, n=40) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return np.c_[cx + rx * np.cos(t), cy + ry * np.sin(t)]


def drawn(strokes, shape=(300, 400), width=PEN) -> np.ndarray:
    return paint([np.asarray(s, np.float32) for s in strokes], shape, width)


def ownership(ink, strokes):
    """What group() computes before it forms runs: the coarse cell size and each cell's stroke."""
    cell = max(1, -(-max(ink.shape) // GRID))
    return cell, G.ownership(ink, strokes, cell)


# Digits drawn on a 300 x 400 canvas, in ink pixels.
ZERO = [ellipse(100, 150, 40, 70)]
ONE = [line((250, 80), (245, 220))]
FOUR = [line((110, 70), (80, 170), (180, 170)), line((160, 90), (158, 240))]  # an L, then the bar through it
FIVE_BODY = [line((100, 80), (95, 140), (140, 135), (160, 170), (150, 210), (100, 220), (85, 205))]
FIVE_HAT = [line((100, 80), (160, 78))]


# --- clean_strokes ---------------------------------------------------------------------------------


def test_clean_strokes_drops_empty_strokes_and_points_that_are_not_finite():
    strokes = [[], np.zeros((0, 2)), [(1, 2), (np.nan, 3), (4, np.inf), (5, 6)], [(np.nan, np.nan)]]
    (cleaned,) = G.clean_strokes(strokes, (10, 10))
    np.testing.assert_array_equal(cleaned, [(1, 2), (5, 6)])
    assert cleaned.dtype == np.float64


def test_clean_strokes_drops_points_off_the_canvas_rather_than_clipping_them():
    # clipped onto the edge, a wild point would stretch the stroke's columns over other digits
    (cleaned,) = G.clean_strokes([[(-5, -5), (4, 3), (50, 3), (3, 1e300), (-np.inf, 2), (29.5, 19.5)]], (20, 30))
    np.testing.assert_array_equal(cleaned, [(4, 3), (29.5, 19.5)])
    assert G.clean_strokes([[(-5, -5), (50, 3)]], (20, 30)) == []  # nothing left on the canvas: no stroke


@pytest.mark.parametrize("bad", [[(1, 2, 3)], [1, 2], np.zeros((2, 2, 2)), [[(1, 2)], [(3, 4)]]])
def test_a_stroke_that_is_not_n_by_2_points_raises_a_clear_value_error(bad):
    with pytest.raises(ValueError, match=r"\(n, 2\) array of \(x, y\) points"):
        G.clean_strokes([bad], (10, 10))


def test_clean_strokes_thins_a_flood_of_points_evenly_keeping_each_stroke_s_ends():
    rng = np.random.default_rng(0)
    strokes = [rng.uniform(0, 100, (15_000, 2)) for _ in range(3)]
    cleaned = G.clean_strokes(strokes, (100, 100))
    assert sum(len(s) for s in cleaned) <= G.MAX_POINTS + len(strokes)
    for before, after in zip(strokes, cleaned, strict=True):
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_array_equal(after[-1], before[-1])
        assert len(after) > G.MAX_POINTS // 4


wild = st.floats(allow_nan=True, allow_infinity=True, width=64)


@FAST
@given(strokes=st.lists(arrays(np.float64, st.tuples(st.integers(0, 5), st.just(2)), elements=wild), max_size=6),
       h=st.integers(1, 50), w=st.integers(1, 50))
def test_cleaned_strokes_are_finite_points_inside_the_ink(strokes, h, w):
    for s in G.clean_strokes(strokes, (h, w)):
        assert s.ndim == 2 and s.shape[1] == 2 and len(s) >= 1 and np.isfinite(s).all()
        assert (s >= 0).all() and (s[:, 0] < w).all() and (s[:, 1] < h).all()


# --- rasterise and grow -------------------------------------------------------------------------


def components(cells: set[tuple[int, int]]) -> int:
    """8-connected components of a set of cells, by breadth-first search."""
    left, count = set(cells), 0
    while left:
        count += 1
        queue = deque([left.pop()])
        while queue:
            r, c = queue.popleft()
            for dr, dc in itertools.product((-1, 0, 1), repeat=2):
                if (r + dr, c + dc) in left:
                    left.remove((r + dr, c + dc))
                    queue.append((r + dr, c + dc))
    return count


@FAST
@given(points=arrays(np.float64, st.tuples(st.integers(1, 8), st.just(2)), elements=st.floats(0, 59.99)),
       cell=st.integers(1, 6))
def test_a_rasterised_stroke_is_an_unbroken_chain_of_the_cells_it_runs_through(points, cell):
    grid = (-(-60 // cell), -(-60 // cell))
    labels = G.rasterise([points], grid, cell)
    cells = set(zip(*np.nonzero(labels), strict=True))
    assert set(np.unique(labels)) <= {0, 1}
    assert components(cells) == 1  # no gap along the stroke
    for x, y in points:
        assert (int(y // cell), int(x // cell)) in cells  # every point's cell
    for r, c in cells:  # and only cells the stroke passes through
        assert distance_by_loop((c + 0.5) * cell, (r + 0.5) * cell, points) <= cell * math.sqrt(0.5) + 1e-9


def test_where_strokes_cross_the_later_one_wins():
    labels = G.rasterise([line((0, 5), (10, 5)), line((5, 0), (5, 10))], (10, 10), 1)
    assert labels[5, 5] == 2 and labels[5, 0] == 1 and labels[0, 5] == 2
    assert G.rasterise([line((3, 7))], (10, 10), 1)[7, 3] == 1  # a one-point stroke: its cell


def geodesic_distances(seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """8-connected distance, within mask, from the cells where seeds is True (inf where unreachable)."""
    h, w = mask.shape
    distance = np.full((h, w), np.inf)
    queue = deque()
    for r, c in zip(*np.nonzero(seeds & mask), strict=True):
        distance[r, c] = 0
        queue.append((r, c))
    while queue:
        r, c = queue.popleft()
        for dr, dc in itertools.product((-1, 0, 1), repeat=2):
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and distance[rr, cc] > distance[r, c] + 1:
                distance[rr, cc] = distance[r, c] + 1
                queue.append((rr, cc))
    return distance


@FAST
@given(labels=arrays(np.int32, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=st.sampled_from([0] * 6 + [1, 2, 3])),
       mask=st.data(), steps=st.integers(0, 6))
def test_grow_gives_each_ink_cell_to_a_nearest_stroke_within_steps(labels, mask, steps):
    mask = mask.draw(arrays(np.bool_, labels.shape))
    grown = G.grow(labels, mask, steps)
    nearest = geodesic_distances(labels > 0, mask)
    assert not grown[~mask].any()  # nothing outside the ink
    np.testing.assert_array_equal(grown > 0, nearest <= steps)  # every cell within reach, no other
    for r, c in zip(*np.nonzero(grown), strict=True):  # owned by a stroke at the nearest distance
        own = geodesic_distances(labels == grown[r, c], mask)
        assert own[r, c] == nearest[r, c]
    kept = (labels > 0) & mask
    np.testing.assert_array_equal(grown[kept], labels[kept])  # a stroke's own cells stay its own


# --- writing order, columns ----------------------------------------------------------------------


def everyone_owns_ink(n):
    return np.arange(1, n + 1, dtype=np.int32)[None, :]


def test_writing_order_is_drawing_order_for_a_number_written_left_to_right():
    strokes = ZERO + ONE + [line((300, 80), (380, 80), (320, 220))]
    assert G.writing_order(G.extents(strokes), everyone_owns_ink(3)) == [0, 1, 2]


def test_a_hat_added_after_the_next_digit_moves_next_to_the_digit_it_finishes():
    # 5 (body), then a 1 to its right, then the 5's hat: read as 5 then 1
    strokes = FIVE_BODY + [line((250, 80), (245, 220))] + FIVE_HAT
    assert G.writing_order(G.extents(strokes), everyone_owns_ink(3)) == [0, 2, 1]


def test_strokes_that_own_no_ink_are_left_out_of_the_writing_order():
    strokes = ZERO + ONE + ZERO
    own = np.array([[1, 3, 0]], np.int32)
    assert G.writing_order(G.extents(strokes), own) == [0, 2]
    assert G.writing_order(G.extents(strokes), np.zeros((2, 2), np.int32)) == []


def test_overlapping_asks_whether_either_stroke_s_middle_lies_in_the_other_s_columns():
    def overlapping(a, b):
        return G.overlapping(*G.extents([a, b]))

    a = line((0, 0), (100, 0))
    assert overlapping(a, line((40, 0), (60, 50)))  # inside
    assert overlapping(a, line((90, 0), (105, 50)))  # its middle (97.5) within a's columns
    assert not overlapping(a, line((95, 0), (200, 50)))  # only the ends meet
    assert overlapping(line((5, 5)), line((5, 9)))  # two dots one above the other


@FAST
@given(a=arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2)), elements=st.floats(-100, 100)),
       b=arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2)), elements=st.floats(-100, 100)))
def test_overlapping_is_symmetric(a, b):
    boxes = G.extents([a, b])
    assert G.overlapping(*boxes) == G.overlapping(*boxes[::-1])


def test_widest_gap_is_the_gap_between_column_clusters_whatever_the_order():
    strokes = [line((0, 0), (30, 0)), line((20, 0), (50, 0)), line((80, 0), (90, 0)), line((95, 0), (99, 0))]
    boxes = G.extents(strokes)
    for members in itertools.permutations(range(4)):
        assert G.widest_gap([boxes[i] for i in members]) == 30
    assert G.widest_gap(boxes[:2]) == 0  # chained overlaps are one cluster


def test_estimate_pen_is_ink_over_stroke_length():
    stroke = line((50, 50), (350, 50))
    ink = drawn([stroke], (100, 400), 10)
    assert G.estimate_pen(ink, [stroke]) == pytest.approx(10, rel=0.05)
    assert G.estimate_pen(ink, [line((50, 50))]) == 400 / 4  # no length: at most a quarter of the canvas
    assert G.estimate_pen(np.zeros((10, 10), np.float32), [stroke]) == 1.0  # at least a pixel


# --- cut_out and group -----------------------------------------------------------------------------


def test_cut_out_holds_the_ink_of_its_strokes_alone_even_where_digits_touch():
    zero, one = ellipse(150, 150, 40, 70), line((195, 80), (200, 220))  # the 1 touches the 0
    strokes = [zero, one]
    ink = drawn(strokes)
    assert np.ptp(np.flatnonzero((ink > 0.5).any(axis=0))) + 1 == (ink > 0.5).any(axis=0).sum()  # touching
    cell, own = ownership(ink, strokes)
    for k, stroke in enumerate(strokes):
        piece = G.cut_out(ink, own, cell, [k])
        alone = drawn([stroke])
        assert piece.box.left <= stroke[:, 0].min() and stroke[:, 0].max() <= piece.box.right
        assert piece.box.top <= stroke[:, 1].min() and stroke[:, 1].max() <= piece.box.bottom
        assert piece.ink.shape == (piece.box.height, piece.box.width)
        assert piece.ink.sum() == pytest.approx(alone.sum(), rel=0.15)
    assert G.cut_out(ink, own, cell, [7]) is None  # owns nothing


def test_blank_ink_groups_into_nothing():
    grouping = G.group(np.zeros((100, 100)), ONE)
    assert grouping.runs == [] and grouping.pieces == [] and grouping.choose([]) == []


def test_no_usable_strokes_or_strokes_elsewhere_mean_read_the_pixels():
    ink = drawn(ZERO)
    assert G.group(ink, []) is None
    assert G.group(ink, [np.full((3, 2), np.nan)]) is None
    assert G.group(ink, [line((300, 20), (390, 280))]) is None  # strokes of another drawing
    assert G.group(ink, [s * 0.5 for s in ZERO]) is None  # CSS pixels not scaled to the ink


def test_confetti_of_strokes_means_read_the_pixels():
    rng = np.random.default_rng(0)
    starts = rng.uniform(20, 280, (G.MAX_STROKES + 1, 2))
    strokes = [np.stack([p, p + 2]) for p in starts]
    assert G.group(drawn(strokes, width=4), strokes) is None


def test_digits_drawn_apart_are_separate_runs_never_one():
    strokes = ZERO + ONE
    grouping = G.group(drawn(strokes), strokes)
    assert grouping.runs == [(0, 1), (1, 2)] and grouping.strokes == 2
    zero, one = grouping.pieces
    assert zero.box.right < one.box.left


def test_digits_a_little_apart_are_read_as_one_only_at_a_cost():
    strokes = [line((100, 80), (95, 220)), line((135, 80), (130, 220))]  # two 1s, a fifth of their height apart
    grouping = G.group(drawn(strokes), strokes)
    assert grouping.runs == [(0, 1), (0, 2), (1, 2)] and grouping.gapped == [False, True, False]
    assert grouping.first_guess() == [0, 2]  # the two digits are read first; the pair only if asked for
    assert grouping.choose([[0.99], [0.99], [0.99]]) == [0, 2]


# A 4 whose bar stops short of its upright: its two strokes' columns fall apart.
OPEN_FOUR = [line((110, 70), (80, 170), (140, 170)), line((165, 90), (163, 240))]


def test_a_digit_drawn_in_pieces_whose_columns_fall_apart_is_still_a_candidate():
    grouping = G.group(drawn(OPEN_FOUR), OPEN_FOUR)
    assert G.GAP < G.widest_gap(G.extents(OPEN_FOUR)) / 170 < G.WIDE_GAP
    assert (0, 2) in grouping.runs and grouping.gapped[grouping.runs.index((0, 2))]
    # read far better whole than as an L and a 1, it is read whole
    confidences = [[0.4] if run == (0, 1) else [0.9] if run == (1, 2) else [0.99] for run in grouping.runs]
    assert [grouping.runs[k] for k in grouping.choose(confidences)] == [(0, 2)]


def test_a_four_drawn_in_two_strokes_is_one_candidate():
    grouping = G.group(drawn(FOUR), FOUR)
    assert grouping.runs == [(0, 2)]
    (piece,) = grouping.pieces
    assert piece.box.left <= 80 and piece.box.right >= 180 and piece.box.top <= 70 and piece.box.bottom >= 240


def test_a_late_hat_joins_its_five_not_the_digit_written_between():
    strokes = FIVE_BODY + ONE + FIVE_HAT
    grouping = G.group(drawn(strokes), strokes)
    assert (0, 2) in grouping.runs  # body and hat, moved next to it
    chosen = grouping.choose([[0.99]] * len(grouping.runs))
    boxes = [grouping.pieces[k].box for k in chosen]
    assert len(boxes) == 2 and boxes[0].top <= 80 and boxes[0].right <= 175 and boxes[1].left >= 230


def test_a_digit_whose_first_strokes_are_wide_is_still_a_candidate_whole():
    # A 9: a wide, flat loop, a small stroke inside it, then the tail. Loop and small stroke alone
    # are wider than any digit, but with the tail the run is tall: it must still be a candidate.
    strokes = [ellipse(150, 90, 60, 30), line((170, 75), (185, 110)), line((120, 120), (110, 260))]
    grouping = G.group(drawn(strokes), strokes)
    assert (0, 3) in grouping.runs


# A 5 whose hat runs far to the right: hat and body together are wider than any digit.
LONG_HAT_FIVE = [line((30, 140), (160, 135), (215, 105), (320, 100), (460, 70)),
                 line((165, 150), (170, 170), (205, 200), (220, 235), (200, 265), (150, 280), (110, 280))]


def test_strokes_that_sit_over_each_other_are_a_candidate_however_wide():
    # No other run can hold the hat and the body apart: left out, their ink would be lost.
    grouping = G.group(drawn(LONG_HAT_FIVE, (330, 487), 14), LONG_HAT_FIVE)
    assert grouping.runs == [(0, 2)]
    assert grouping.pieces[0].splittable  # still offered as touching digits, should it read as such


def test_a_wide_digit_before_another_loses_neither():
    # A 5 with a long hat, then a 1 apart: before, no run held the 5's strokes and it was dropped.
    five = [s * 0.5 + (10, 60) for s in LONG_HAT_FIVE]
    strokes = five + [line((300, 100), (296, 220))]
    grouping = G.group(drawn(strokes), strokes)
    chosen = grouping.choose([[0.99]] * len(grouping.runs))
    assert sorted(grouping.runs[k] for k in chosen) == [(0, 2), (2, 3)]


def test_a_tick_over_the_next_digit_starts_it_rather_than_ending_the_one_before():
    # A 1, then a 0 begun with a short tick at its top: the tick goes with the 0, which then
    # stands apart from the 1 (before, 1 + tick + 0 had to be one run, too wide to be a digit).
    strokes = [line((60, 80), (55, 220)), line((135, 60), (147, 56)), ellipse(160, 150, 40, 70)]
    grouping = G.group(drawn(strokes), strokes)
    assert (0, 1) in grouping.runs and (1, 3) in grouping.runs
    chosen = grouping.choose([[0.99]] * len(grouping.runs))
    assert sorted(grouping.runs[k] for k in chosen) == [(0, 1), (1, 3)]


def test_two_tall_strokes_side_by_side_may_be_two_digits_even_where_their_columns_overlap():
    # Two slanted 1s pushed together until their inks touch: each one's middle lies within the
    # other's columns (one digit, by that test alone), but at every height one is left of the other.
    ones = [line((150, 80), (110, 220)), line((164, 80), (124, 220))]
    ink = drawn(ones)
    grouping = G.group(ink, ones)
    assert G.overlapping(*G.extents([np.asarray(s, np.float32) for s in ones]))
    assert grouping.beside == [False, True]
    assert {(0, 1), (1, 2), (0, 2)} <= set(grouping.runs)
    _, own = ownership(ink, ones)
    boxes = G.extents([np.asarray(s, np.float32) for s in ones])
    assert G.beside(own, 0, 1, boxes) and G.beside(own, 1, 0, boxes)


def test_strokes_of_one_digit_do_not_stand_beside_each_other():
    for strokes in (FOUR, FIVE_BODY + FIVE_HAT, [ellipse(150, 90, 40, 30), line((188, 90), (180, 240))]):  # 4, 5, 9
        ink = drawn(strokes)
        _, own = ownership(ink, strokes)
        assert not G.beside(own, 0, 1, G.extents([np.asarray(s, np.float32) for s in strokes]))


def test_a_run_much_shorter_than_the_tallest_stroke_is_marked_short():
    # a tall 1, then a small ring low beside it: a ring a third of the 1's height is rarely a 0
    strokes = ONE + [ellipse(290, 200, 20, 20)]
    grouping = G.group(drawn(strokes), strokes)
    marks = dict(zip(grouping.runs, grouping.short, strict=True))
    assert marks[(0, 1)] is False and marks[(1, 2)] is True


def test_a_short_digit_read_beside_a_tall_one_is_doubtful_and_one_of_alike_height_is_not():
    ring = G.group(drawn(ONE + [ellipse(290, 200, 20, 20)]), ONE + [ellipse(290, 200, 20, 20)])
    both = [ring.runs.index((0, 1)), ring.runs.index((1, 2))]
    assert ring.doubtful(both) == {both[1]}
    alike = G.group(drawn(ZERO + ONE), ZERO + ONE)
    assert alike.doubtful([0, 1]) == set()


def test_choose_charges_a_short_run():
    runs = [(0, 1), (1, 2), (0, 2)]
    confidences = [[0.99], [0.99], [0.6]]  # the parts read far better than the whole
    assert G.Grouping(runs, [piece_for(*run) for run in runs], 2).choose(confidences) == [0, 1]
    short = G.Grouping(runs, [piece_for(*run) for run in runs], 2, short=[False, True, False])
    assert short.choose(confidences) == [2]


def test_choose_charges_a_digit_of_two_strokes_side_by_side():
    runs = [(0, 1), (1, 2), (0, 2)]
    plain = G.Grouping(runs, [piece_for(*run) for run in runs], 2, beside=[False, False])
    side_by_side = G.Grouping(runs, [piece_for(*run) for run in runs], 2, beside=[False, True])
    # the whole reads better than the parts, by less than BESIDE_COST
    part = math.exp((math.log(0.6) + G.DIGIT_COST - G.BESIDE_COST / 2) / 2)
    confidences = [[part], [part], [0.6]]
    assert plain.choose(confidences) == [2]
    assert side_by_side.choose(confidences) == [0, 1]


# A 2 whose long tail is a stroke of its own, starting under the middle of the 2 and running right.
LONG_TAIL_TWO = [line((100, 80), (160, 70), (170, 110), (110, 200)), line((150, 200), (330, 205))]


def test_a_digit_wider_than_run_aspect_is_still_a_candidate_and_pays_for_it():
    grouping = G.group(drawn(LONG_TAIL_TWO), LONG_TAIL_TWO)
    assert not G.overlapping(*G.extents(LONG_TAIL_TWO))  # a cut between body and tail
    width, height = 330 - 100, 205 - 70
    assert G.RUN_ASPECT < width / height < G.WIDEST
    assert grouping.runs == [(0, 1), (0, 2), (1, 2)] and grouping.wide == [False, True, False]
    assert grouping.first_guess() == [0, 2]  # the wide run is read only if choose asks for it
    # read far better whole than as its parts, it is read whole
    assert grouping.choose([[0.5], [0.99], [0.2]]) == [1]


@pytest.mark.parametrize(("mark", "cost"), [("wide", G.WIDE_COST), ("gapped", G.APART_COST)])
def test_choose_charges_a_digit_wider_than_run_aspect_or_whose_strokes_fall_apart(mark, cost):
    runs = [(0, 1), (1, 2), (0, 2)]
    plain = G.Grouping(runs, [piece_for(*run) for run in runs], 2, **{mark: [False, False, False]})
    marked = G.Grouping(runs, [piece_for(*run) for run in runs], 2, **{mark: [False, False, True]})
    # the whole reads better than the parts, by less than the cost
    part = math.exp((math.log(0.6) + G.DIGIT_COST - cost / 2) / 2)
    confidences = [[part], [part], [0.6]]
    assert plain.choose(confidences) == [2]
    assert marked.choose(confidences) == [0, 1]


def test_every_candidate_lies_inside_the_ink_and_covers_its_strokes():
    strokes = FIVE_BODY + ONE + FIVE_HAT + [line((300, 70), (380, 75), (320, 230))]
    ink = drawn(strokes)
    grouping = G.group(ink, strokes)
    cleaned = G.clean_strokes(strokes, ink.shape)
    order = G.writing_order(G.extents(cleaned), ownership(ink, cleaned)[1])
    assert grouping.strokes == len(order) == 4
    for (start, stop), piece in zip(grouping.runs, grouping.pieces, strict=True):
        assert 0 <= start < stop <= grouping.strokes
        box = piece.box
        assert 0 <= box.left < box.right <= ink.shape[1] and 0 <= box.top < box.bottom <= ink.shape[0]
        points = np.concatenate([strokes[i] for i in order[start:stop]])
        assert box.left <= points[:, 0].min() and points[:, 0].max() <= box.right


# --- Grouping.choose against every partition -------------------------------------------------------


def piece_for(start, stop):
    """A stand-in piece whose box sits where its strokes are, so that left to right = writing order."""
    return Piece(Box(10 * start, 0, 10 * stop, 1), np.ones((1, 10 * (stop - start)), np.float32))


def run_score(confidences):
    return sum(math.log(max(c, 1e-9)) - G.DIGIT_COST for c in confidences)


def best_by_enumeration(n, runs, confidences) -> float:
    """Every partition of strokes 0..n-1 into consecutive segments, each a candidate run or one
    stroke skipped (SKIP_COST): the best total score."""
    best = -math.inf
    for cuts in itertools.product((False, True), repeat=n - 1):
        bounds = [0] + [i + 1 for i, cut in enumerate(cuts) if cut] + [n]
        total = 0.0
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            options = [run_score(confidences[k]) for k, run in enumerate(runs) if run == (a, b)]
            if b - a == 1:
                options.append(-G.SKIP_COST)
            if not options:
                total = -math.inf
                break
            total += max(options)
        best = max(best, total)
    return best


@st.composite
def groupings(draw):
    n = draw(st.integers(1, 6))
    spans = [(a, b) for a in range(n) for b in range(a + 1, min(n, a + 4) + 1)]
    runs = draw(st.lists(st.sampled_from(spans), max_size=12))
    confidence = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.1, 0.5]))
    confidences = [draw(st.lists(confidence, min_size=1, max_size=3)) for _ in runs]
    return n, runs, confidences


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=groupings())
def test_choose_finds_the_best_partition_that_enumeration_finds(case):
    n, runs, confidences = case
    grouping = G.Grouping(runs, [piece_for(*run) for run in runs], n)
    chosen = grouping.choose(confidences)
    covered = [i for k in chosen for i in range(*runs[k])]
    assert len(covered) == len(set(covered))  # the chosen runs do not share a stroke
    centres = [grouping.pieces[k].box.left + grouping.pieces[k].box.right for k in chosen]
    assert centres == sorted(centres)  # left to right
    score = sum(run_score(confidences[k]) for k in chosen) - G.SKIP_COST * (n - len(covered))
    assert score == pytest.approx(best_by_enumeration(n, runs, confidences), abs=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=groupings(), data=st.data())
def test_a_choice_made_without_some_runs_read_is_the_best_whatever_they_read(case, data):
    # What digits.read relies on to read fewer runs: counted as sure as can be, unread runs that
    # the choice leaves out could not have made a better partition.
    n, runs, confidences = case
    grouping = G.Grouping(runs, [piece_for(*run) for run in runs], n)
    read = set(grouping.first_guess()) | set(data.draw(st.sets(st.sampled_from(range(len(runs))))) if runs else set())
    chosen = grouping.choose([confidences[k] if k in read else None for k in range(len(runs))])
    if all(k in read for k in chosen):
        covered = [i for k in chosen for i in range(*runs[k])]
        score = sum(run_score(confidences[k]) for k in chosen) - G.SKIP_COST * (n - len(covered))
        assert score == pytest.approx(best_by_enumeration(n, runs, confidences), abs=1e-9)


def test_the_first_guess_covers_the_strokes_with_the_longest_runs():
    runs = [(0, 1), (1, 2), (0, 2), (2, 3), (3, 5), (4, 5)]
    grouping = G.Grouping(runs, [piece_for(*run) for run in runs], 6)
    assert grouping.first_guess() == [2, 3, 4]  # strokes 0-1 whole, 2, 3-4; stroke 5 is in no run


def test_choose_merges_unless_splitting_reads_clearly_better():
    runs = [(0, 1), (1, 2), (0, 2)]
    grouping = G.Grouping(runs, [piece_for(*run) for run in runs], 2)
    assert grouping.choose([[0.99], [0.99], [0.99]]) == [2]  # as sure whole as in parts: one digit
    assert grouping.choose([[0.99], [0.99], [0.6]]) == [0, 1]  # the parts read far better
    assert grouping.choose([[0.9], [0.9], [0.99, 0.99]]) == [2]  # a run may read as several digits


def test_choose_skips_strokes_that_are_in_no_candidate():
    runs = [(1, 2)]
    grouping = G.Grouping(runs, [piece_for(1, 2)], 3)
    assert grouping.choose([[0.2]]) == [0]
    assert G.Grouping([], [], 4).choose([]) == []


# --- doubt from the strokes ------------------------------------------------------------------------


def test_touching_strokes_says_which_strokes_inks_touch():
    strokes = FOUR + ONE  # the 4's strokes cross; the 1 stands apart
    ink = drawn(strokes)
    _, own = ownership(ink, strokes)
    touch = G.touching_strokes(own, [0, 1, 2])
    assert touch.tolist() == [[False, True, False], [True, False, False], [False, False, False]]
    # in writing order: the same facts, rows and columns permuted
    assert G.touching_strokes(own, [2, 0, 1]).tolist() == [[False, False, False], [False, False, True], [False, True, False]]


def test_digits_whose_strokes_touch_are_doubtful_and_digits_apart_are_not():
    # An upside-down V in two strokes meeting at the top: each stroke alone would read as a 1.
    strokes = [line((150, 80), (110, 220)), line((150, 80), (190, 220))]
    grouping = G.group(drawn(strokes), strokes)
    apart = G.group(drawn(ZERO + ONE), ZERO + ONE)
    assert {(0, 1), (1, 2)} <= set(grouping.runs)
    split = [grouping.runs.index((0, 1)), grouping.runs.index((1, 2))]
    assert grouping.doubtful(split) == set(split)
    assert apart.doubtful(apart.choose([[0.99], [0.99]])) == set()


def test_a_digit_with_a_dot_apart_is_doubtful_and_one_with_a_touching_tick_is_not():
    hook = [line((120, 80), (160, 60), (200, 80), (200, 120), (160, 150), (160, 190))]
    dot = [line((160, 230))]  # a "?": the hook, then a dot below it
    question = G.group(drawn(hook + dot), hook + dot)
    whole = question.runs.index((0, 2))
    assert question.doubtful([whole]) == {whole}
    tick = [line((150, 190), (170, 190))]  # a foot across the stem's end: one digit, touching
    footed = G.group(drawn(hook + tick), hook + tick)
    assert footed.doubtful([footed.runs.index((0, 2))]) == set()
