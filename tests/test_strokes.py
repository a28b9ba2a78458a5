"""training.strokes: MNIST scans traced into pen strokes, and strokes painted the page's way."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training import strokes as pen

DRAW_JS = Path(__file__).resolve().parent.parent / "site" / "draw.js"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def line(*points) -> np.ndarray:
    return np.array(points, np.float32)


def scan(strokes, width: float = 2.5) -> np.ndarray:
    """Strokes in MNIST coordinates -> a (28, 28) uint8 'scan' of them."""
    return np.round(pen.paint([line(*s) for s in strokes], (28, 28), width) * 255).astype(np.uint8)


def ellipse(cx, cy, rx, ry, n=40):
    t = np.linspace(0, 2 * np.pi, n)
    return [tuple(p) for p in np.c_[cx + rx * np.cos(t), cy + ry * np.sin(t)]]


# --- independent references ---------------------------------------------------------------------


def distance_by_loop(x: float, y: float, points: np.ndarray) -> float:
    """Distance from (x, y) to a polyline, one segment at a time, in plain float64 Python."""
    points = [(float(px), float(py)) for px, py in points]
    segments = list(zip(points[:-1], points[1:], strict=True)) or [(points[0], points[0])]
    best = math.inf
    for (ax, ay), (bx, by) in segments:
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        best = min(best, math.hypot(x - ax - t * dx, y - ay - t * dy))
    return best


def paint_by_loop(strokes, shape, width) -> np.ndarray:
    """The round pen's coverage, pixel by pixel: clip(radius + 0.5 - distance of the pixel's centre)."""
    h, w = shape
    ink = np.zeros(shape)
    for stroke in strokes:
        if not len(stroke):
            continue
        for i in range(h):
            for j in range(w):
                d = distance_by_loop(j + 0.5, i + 0.5, stroke)
                ink[i, j] = max(ink[i, j], min(1.0, max(0.0, width / 2 + 0.5 - d)))
    return ink


coordinates = st.floats(-6, 20, allow_nan=False, width=32)
polylines = st.lists(st.tuples(coordinates, coordinates), min_size=1, max_size=6).map(lambda p: line(*p))


# --- the pen is the page's pen -----------------------------------------------------------------


def test_pen_matches_draw_js():
    js = DRAW_JS.read_text(encoding="utf-8")
    assert float(re.search(r"const PEN = ([0-9.]+);", js).group(1)) == pen.PEN
    # penWidth = () => Math.max(MIN, PEN * Math.min(size.w, size.h))
    smallest = re.search(r"penWidth = \(\) => Math\.max\(([0-9.]+), PEN \* Math\.min\(size\.w, size\.h\)\)", js)
    assert smallest, "draw.js penWidth changed shape: check training.strokes.pen_width against it"
    assert float(smallest.group(1)) == pen.MIN_PEN


def test_canvas_is_the_page_ink_at_its_largest():
    js = DRAW_JS.read_text(encoding="utf-8")
    ink_max = int(re.search(r"const INK_MAX = (\d+);", js).group(1))
    h, w = pen.CANVAS
    assert max(h, w) == ink_max and w * 3 == h * 4  # the canvas is 4:3 (style.css)


def test_pen_width_is_pen_of_the_shorter_side_never_below_min_pen_and_scales_with_the_ink():
    assert pen.pen_width(400, 300) == pytest.approx(pen.PEN * 300)
    assert pen.pen_width(300, 400) == pytest.approx(pen.PEN * 300)
    assert pen.pen_width(20, 20) == pen.MIN_PEN
    assert pen.pen_width(800, 600, scale=0.5) == pytest.approx(pen.PEN * 600 * 0.5)
    assert pen.pen_width(20, 20, scale=0.5) == pen.MIN_PEN * 0.5


# --- distance_to_polyline and paint against plain loops ------------------------------------------


@FAST
@given(points=polylines, probes=st.lists(st.tuples(coordinates, coordinates), min_size=1, max_size=8))
def test_distance_to_polyline_matches_a_plain_loop(points, probes):
    x = np.array([p[0] for p in probes], np.float32)
    y = np.array([p[1] for p in probes], np.float32)
    expected = [distance_by_loop(float(a), float(b), points) for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(pen.distance_to_polyline(x, y, points), expected, rtol=1e-4, atol=1e-4)


def test_distance_to_a_long_polyline_is_right_across_its_chunks_of_64_segments():
    rng = np.random.default_rng(0)
    points = np.cumsum(rng.normal(0, 1, (200, 2)), axis=0).astype(np.float32)
    x, y = (rng.uniform(-20, 20, 50).astype(np.float32) for _ in range(2))
    expected = [distance_by_loop(float(a), float(b), points) for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(pen.distance_to_polyline(x, y, points), expected, rtol=1e-4, atol=1e-4)


@FAST
@given(strokes=st.lists(polylines, max_size=3), width=st.floats(0.5, 8), h=st.integers(1, 14), w=st.integers(1, 14))
def test_paint_matches_per_pixel_coverage_of_a_round_pen(strokes, width, h, w):
    ink = pen.paint(strokes, (h, w), width)
    assert ink.shape == (h, w) and ink.dtype == np.float32
    np.testing.assert_allclose(ink, paint_by_loop(strokes, (h, w), width), atol=2e-4)


def test_a_one_point_stroke_paints_a_round_dot_of_the_pen_s_area():
    ink = pen.paint([line((20, 20))], (40, 40), 10)
    assert ink.sum() == pytest.approx(math.pi * 5**2, rel=0.03)
    np.testing.assert_allclose(ink, ink.T)  # round: symmetric about the diagonal and both axes
    np.testing.assert_allclose(ink, ink[::-1, :])
    np.testing.assert_allclose(ink, ink[:, ::-1])


def test_a_straight_stroke_paints_length_times_width_plus_round_caps():
    ink = pen.paint([line((10, 20), (50, 20))], (40, 60), 8)
    assert ink.sum() == pytest.approx(40 * 8 + math.pi * 4**2, rel=0.02)
    assert ink.max() == 1.0 and ink[20, 30] == 1.0 and ink[20, 3] == 0.0


def test_paint_ignores_empty_strokes_and_strokes_off_the_canvas():
    assert not pen.paint([], (10, 10), 3).any()
    assert not pen.paint([np.zeros((0, 2), np.float32)], (10, 10), 3).any()
    assert not pen.paint([line((-50, -50), (-20, -30)), line((100, 5), (200, 5))], (10, 10), 3).any()
    assert pen.paint([line((-50, 5), (50, 5))], (10, 10), 3)[5].min() == 1.0  # crossing it: painted across


# --- trace ---------------------------------------------------------------------------------------


def check_strokes(strokes):
    for s in strokes:
        assert s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 2 and len(s) >= 1
        assert np.isfinite(s).all() and (s >= 0).all() and (s <= 28).all()


def test_trace_of_a_blank_scan_is_no_strokes():
    assert pen.trace(np.zeros((28, 28), np.uint8)) == []


def test_trace_of_a_bar_is_one_stroke_along_its_centre():
    strokes = pen.trace(scan([[(14, 5), (14, 23)]]))
    check_strokes(strokes)
    (stroke,) = strokes
    assert np.abs(stroke[:, 0] - 14).max() < 0.6
    assert stroke[:, 1].min() < 6 and stroke[:, 1].max() > 22


def test_trace_of_a_ring_is_one_closed_stroke():
    image = scan([ellipse(14, 14, 7, 9)])
    (stroke,) = pen.trace(image)
    assert np.linalg.norm(stroke[0] - stroke[-1]) < 1.0
    repainted, original = pen.paint([stroke], (28, 28), 2.5) > 0.5, image > 127
    assert (repainted & original).sum() / (repainted | original).sum() > 0.85


def test_trace_joins_branches_that_run_straight_through_a_crossing():
    strokes = pen.trace(scan([[(6, 14), (22, 14)], [(14, 5), (14, 23)]]))
    assert len(strokes) == 2  # a plus: two straight strokes, not four arms
    spans = sorted(np.ptp(s, axis=0).max() for s in strokes)
    assert spans[0] > 14


def test_trace_orders_strokes_top_to_bottom():
    strokes = pen.trace(scan([[(5, 21), (23, 21)], [(5, 6), (23, 6)]]))
    assert len(strokes) == 2
    assert strokes[0][:, 1].mean() < 10 < 17 < strokes[1][:, 1].mean()


@pytest.fixture(scope="module")
def mnist_test():
    data = pytest.importorskip("training.data")
    try:
        return data.load()
    except Exception as error:  # no MNIST here: nothing to trace
        pytest.skip(f"MNIST is not available: {error}")


def test_traced_mnist_digits_lie_on_their_ink_and_cover_it(mnist_test):
    for digit in mnist_test.x_test[:30]:
        strokes = pen.trace(digit)
        check_strokes(strokes)
        points = np.concatenate(strokes)
        assert (digit[points[:, 1].astype(int), points[:, 0].astype(int)] > 0).all()  # centre lines run on ink
        strong = np.argwhere(digit > 128)[:, ::-1].astype(np.float32) + 0.5
        near = np.min([pen.distance_to_polyline(strong[:, 0], strong[:, 1], s) for s in strokes], axis=0)
        assert (near <= 2.5).mean() > 0.8  # and the ink lies along them


# --- fit, jitter, draw, draw_number ------------------------------------------------------------


@FAST
@given(strokes=st.lists(polylines, min_size=1, max_size=3), height=st.floats(1, 300), left=st.floats(-50, 50),
       top=st.floats(-50, 50))
def test_fit_puts_the_box_at_left_top_with_the_height_asked(strokes, height, left, top):
    points = np.concatenate(strokes)
    if np.ptp(points[:, 1]) < 0.01:
        return  # flat: no height to scale
    fitted = np.concatenate(pen.fit(strokes, height, left, top))
    assert fitted[:, 0].min() == pytest.approx(left, abs=1e-3 * max(1, height))
    assert fitted[:, 1].min() == pytest.approx(top, abs=1e-3 * max(1, height))
    assert np.ptp(fitted[:, 1]) == pytest.approx(height, rel=1e-4)
    ratio = np.ptp(points[:, 0]) / np.ptp(points[:, 1])
    assert np.ptp(fitted[:, 0]) == pytest.approx(ratio * height, rel=1e-3, abs=1e-3)  # aspect kept


def test_jitter_of_amount_zero_changes_nothing():
    strokes = [line((0, 0), (10, 0), (20, 5)), line((3, 3))]
    for before, after in zip(strokes, pen.jitter(strokes, np.random.default_rng(0), amount=0), strict=True):
        np.testing.assert_allclose(after, before, atol=1e-5)


def test_jitter_is_small_and_keeps_every_stroke_s_points():
    rng = np.random.default_rng(1)
    strokes = [line(*ellipse(14, 14, 6, 9)), line((14, 0), (14, 28))]
    for _ in range(20):
        jittered = pen.jitter(strokes, rng)
        assert [s.shape for s in jittered] == [s.shape for s in strokes]
        assert max(np.abs(a - b).max() for a, b in zip(jittered, strokes, strict=True)) < 8


def test_jitter_keeps_joined_strokes_joined():
    # A 4 drawn as an L and a bar starting where the L ends: after a hand's jitter they still meet.
    strokes = [line((5, 0), (2, 15), (20, 15)), line((20, 15), (15, 0), (16, 28))]
    rng = np.random.default_rng(2)
    for _ in range(10):
        first, second = pen.jitter(strokes, rng)
        np.testing.assert_allclose(first[-1], second[0], atol=1e-3)


@pytest.mark.parametrize("seed", range(6))
def test_draw_places_a_digit_inside_its_canvas_with_the_page_s_pen(seed):
    rng = np.random.default_rng(seed)
    strokes = [line(*ellipse(14, 10, 5, 5)), line((19, 10), (17, 26))]  # a 9
    ink, placed = pen.draw(strokes, rng)
    h, w = ink.shape
    assert 160 <= h < 400 and ink.dtype == np.float32
    points = np.concatenate(placed)
    assert (points >= 0).all() and (points[:, 0] <= w).all() and (points[:, 1] <= h).all()
    assert np.ptp(points[:, 1]) <= 0.9 * h + 1e-3 and np.ptp(points[:, 0]) <= 0.9 * w + 1e-3
    np.testing.assert_array_equal(ink, pen.paint(placed, (h, w), pen.pen_width(w, h)))
    assert len(placed) == len(strokes)


def test_draw_honours_a_given_canvas_and_height():
    ink, placed = pen.draw([line((14, 4), (14, 24))], np.random.default_rng(0), height=100, canvas=(200, 300))
    assert ink.shape == (200, 300)
    assert np.ptp(np.concatenate(placed)[:, 1]) == pytest.approx(100, rel=1e-3)


def digit_boxes(strokes_per_digit):
    return [(min(s[:, 0].min() for s in d), max(s[:, 0].max() for s in d)) for d in strokes_per_digit]


SEVEN = [line((4, 4), (22, 4), (11, 24))]
ONE = [line((14, 3), (13, 25))]
ZERO = [line(*ellipse(14, 14, 6, 10))]


@pytest.mark.parametrize("seed", range(4))
def test_draw_number_writes_digits_left_to_right_apart_on_the_canvas(seed):
    digits_ = [SEVEN, ZERO, ONE, ZERO]
    ink, strokes = pen.draw_number(digits_, np.random.default_rng(seed))
    h, w = pen.CANVAS
    assert ink.shape == (h, w) and len(strokes) == 4
    p = pen.pen_width(w, h)
    points = np.concatenate(strokes)
    assert (points[:, 0] >= p - 1e-3).all() and (points[:, 0] <= w - p + 1e-3).all()
    assert (points[:, 1] >= 0).all() and (points[:, 1] <= h).all()
    spans = digit_boxes([[s] for s in strokes])
    for (_, right), (left, _) in zip(spans[:-1], spans[1:], strict=True):
        assert left - right > p  # a gap wider than the pen: the inks do not touch
    np.testing.assert_array_equal(ink, pen.paint(strokes, (h, w), p))


@pytest.mark.parametrize("seed", range(4))
def test_draw_number_with_touch_pushes_each_digit_until_the_inks_meet(seed):
    ink, strokes = pen.draw_number([ZERO, ZERO, SEVEN], np.random.default_rng(seed), touch=True)
    h, w = pen.CANVAS
    p = pen.pen_width(w, h)
    dense = [pen.densify([s], 0.5) for s in strokes]
    for a, b in zip(dense[:-1], dense[1:], strict=True):
        gap = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min()
        assert gap <= p + 1.0  # pen outlines meet (centre lines about a pen's width apart) ...
        assert gap > 0.3 * p  # ... without running into each other
    columns = (ink > 0.5).any(axis=0)
    first, last = np.flatnonzero(columns)[[0, -1]]
    assert columns[first : last + 1].all()  # no blank column: one piece of ink


def test_densify_keeps_the_points_and_fills_the_gaps():
    dense = pen.densify([line((0, 0), (10, 0)), line((0, 5))], step=1.0)
    assert len(dense) == 12
    assert (np.linalg.norm(np.diff(dense[:11], axis=0), axis=1) <= 1.0 + 1e-6).all()
    np.testing.assert_allclose(dense[-1], (0, 5))
