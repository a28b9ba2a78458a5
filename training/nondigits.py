"""Drawings that are not digits, as pen strokes: letters, symbols, shapes and scribbles.

What it is for: the network learns to say "that is not a digit" by outlier exposure (these
drawings, painted like the page paints a person's strokes, are trained towards a uniform target
so the network is unsure of them), and a benchmark counts how many such drawings the reader
rejects. Training draws only from ``TRAIN_KINDS``; ``HELD_OUT_KINDS`` are kinds it never sees, so
the benchmark shows whether rejection carries over to drawings of a new kind.

Coordinates: a drawing is a list of strokes in drawing order; a stroke is an ``(n, 2)`` float64
array of ``(x, y)`` points, x to the right, y DOWN, inside the unit box [0, 1] x [0, 1]. The
drawing fills the box along its longer side and is centred on the other, keeping its natural
aspect ratio (a dash is wide and flat). Consecutive points are at most ``STEP`` (0.02) apart, so
painting them as polylines with a round pen looks drawn; a stroke of one point is a dot.

Kinds are named ``"family:name"`` (``"letter:A"``, ``"symbol:+"``, ``"shape:star"``,
``"scribble:loops"``); the family is the part before the colon (``family_of``).

Left out, because a person drawing them may well mean a digit, so rejecting them would be wrong:
  * 0: O o Q D, a lone circle or ellipse, a tall rectangle (a boxy 0), Ø/Φ (a slashed zero).
  * 1: I l i | / \\ ( ) [ ] { }, any lone near-vertical or slanted line; J (a 1 with a hooked
    foot); T (a 1 with a flat serif, or a 7 whose stem falls straight).
  * 2: Z z (and N only upright: on its side it is a Z).
  * 3: Ʒ ʒ and a curly E; our E is drawn straight.
  * 4: y and Ч (the open-top 4); h only upright (upside down it is that 4).
  * 5: S s $ §.
  * 6: b G δ.
  * 7: ¬ ⅂ (an L upside down); ">" (tilted a little, its upper arm lies flat: a 7); f (a crossed
    7's outline: hook, long stem, bar through it).
  * 8: B ß, two loops stacked; ∞ is kept because it lies flat and stays wide.
  * 9: g q a d p, a loop on a stem (so the flower has no stalk and the stick figure has limbs).
  * "_" is left out only because it is "-" once normalised; "r" is drawn with a wide shoulder
    (a narrow one is a 1 with a flag).
Kept although they are open or closed loops: C and U (a 0 is closed), the square and the diamond
(corners), the cloud (bumps), the smiley, the eye and © (something inside), "!" and "?" (their dot
sets them apart).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import numpy as np

STEP = 0.02  # largest gap between consecutive points of a finished stroke (0.03 is the contract)

FAMILIES = ("letter", "symbol", "shape", "scribble")

Strokes = list[np.ndarray]
KINDS: dict[str, Callable[[np.random.Generator], Strokes]] = {}


def family_of(kind: str) -> str:
    """``"letter:A"`` -> ``"letter"``."""
    return kind.split(":", 1)[0]


# --- templates: pieces of a stroke in any units; `finish` scales the drawing into the unit box ---


def densify(points, step: float = STEP) -> np.ndarray:
    """Insert points along every segment longer than `step`; the given points are kept."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2:
        return points.copy()
    segments = np.diff(points, axis=0)
    pieces = np.maximum(1, np.ceil(np.hypot(*segments.T) / step).astype(int))
    segment = np.repeat(np.arange(len(segments)), pieces)
    first = np.concatenate([[0], np.cumsum(pieces)[:-1]])
    t = (np.arange(pieces.sum()) - first[segment]) / pieces[segment]
    return np.vstack([points[segment] + segments[segment] * t[:, None], points[-1:]])


def line(p, q) -> np.ndarray:
    return np.array([p, q], dtype=np.float64)


def polyline(*points) -> np.ndarray:
    return np.array(points, dtype=np.float64)


def closed(*points) -> np.ndarray:
    """A polygon drawn in one stroke, back to where it started."""
    return polyline(*points, points[0])


def dot(p) -> np.ndarray:
    return np.array([p], dtype=np.float64)


def arc(centre, radius, start: float, end: float) -> np.ndarray:
    """Points on an ellipse from angle `start` to `end` (degrees, either way round).

    Angle 0 points right and 90 points down (y is down), so increasing angles turn clockwise on
    screen. `radius` is a number or ``(rx, ry)``.
    """
    rx, ry = np.broadcast_to(np.asarray(radius, dtype=np.float64), (2,))
    angles = np.radians(np.linspace(start, end, max(3, math.ceil(abs(end - start) / 4) + 1)))
    return np.column_stack([centre[0] + rx * np.cos(angles), centre[1] + ry * np.sin(angles)])


def ellipse(centre, radius, start: float = -90, tilt: float = 0) -> np.ndarray:
    """A whole ellipse in one stroke from angle `start`, its axes turned by `tilt` degrees."""
    loop = arc((0, 0), radius, start, start + 360)
    return np.asarray(centre, dtype=np.float64) + rotate(loop, tilt)


def bezier(*controls, samples: int = 24) -> np.ndarray:
    controls = np.asarray(controls, dtype=np.float64)
    degree = len(controls) - 1
    t = np.linspace(0, 1, samples)[:, None]
    return sum(math.comb(degree, k) * t**k * (1 - t) ** (degree - k) * controls[k] for k in range(degree + 1))


def spline(*points, samples: int = 12) -> np.ndarray:
    """A smooth curve through every point (Catmull-Rom), as a hand passes through them."""
    p = np.asarray(points, dtype=np.float64)
    padded = np.vstack([p[:1], p, p[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    pieces = [
        0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t**2 + (3 * b - a - 3 * c + d) * t**3)
        for a, b, c, d in zip(padded[:-3], padded[1:-2], padded[2:-1], padded[3:], strict=True)
    ]
    return np.vstack([*pieces, p[-1:]])


def join(*pieces) -> np.ndarray:
    """Pieces drawn one after another without lifting the pen."""
    return np.vstack([np.asarray(piece, dtype=np.float64).reshape(-1, 2) for piece in pieces])


def rotate(points, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.asarray(points, dtype=np.float64) @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])


def mirror(strokes: Strokes) -> Strokes:
    """Left-right mirror image (the box is re-fitted afterwards, so the axis does not matter)."""
    return [s * (-1, 1) for s in strokes]


def quarter_turns(strokes: Strokes, turns: int) -> Strokes:
    return [rotate(s, 90 * turns) for s in strokes]


def normalise(strokes: Strokes) -> Strokes:
    """Scale into the unit box: longer side exactly 1, centred on the shorter one."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    size = (high - low).max()
    scale = 1 / size if size > 0 else 1.0
    margin = (1 - (high - low) * scale) / 2
    return [np.clip((s - low) * scale + margin, 0, 1) for s in strokes]


def finish(strokes: Strokes) -> Strokes:
    return [np.ascontiguousarray(densify(s)) for s in normalise(strokes)]


def kind(name: str):
    """Register a template under `name`; the registered function returns finished strokes."""

    def register(template: Callable[[np.random.Generator], Strokes]):
        @functools.wraps(template)
        def draw(rng: np.random.Generator) -> Strokes:
            return finish(template(rng))

        assert name not in KINDS, name
        KINDS[name] = draw
        return draw

    return register


def either(rng: np.random.Generator) -> bool:
    """A coin toss, for the two ways people commonly draw the same thing."""
    return bool(rng.random() < 0.5)


def shuffled(rng: np.random.Generator, strokes: Strokes) -> Strokes:
    """Strokes in a random order, where people differ in which they draw first."""
    return [strokes[i] for i in rng.permutation(len(strokes))]


# --- letters: capitals are 1 tall; small letters 1 tall with ascenders, x-height `xh` below ---


@kind("letter:A")
def _capital_a(rng):
    w, bar = rng.uniform(0.6, 0.85), rng.uniform(0.55, 0.7)
    inset = w / 2 * (1 - bar)  # where the legs are at the crossbar's height
    crossbar = line((inset - 0.03, bar), (w - inset + 0.03, bar))
    if either(rng):
        return [polyline((0, 1), (w / 2, 0), (w, 1)), crossbar]
    return [line((w / 2, 0), (0, 1)), line((w / 2, 0), (w, 1)), crossbar]


@kind("letter:C")
def _capital_c(rng):
    w, half_gap = rng.uniform(0.7, 0.95), rng.uniform(50, 65)  # a wide mouth: a 0 is closed
    return [arc((w / 2, 0.5), (w / 2, 0.5), -half_gap, -360 + half_gap)]


@kind("letter:E")
def _capital_e(rng):
    w, middle = rng.uniform(0.55, 0.75), rng.uniform(0.45, 0.55)
    middle_bar = line((0, middle), (rng.uniform(0.7, 0.95) * w, middle))
    if either(rng):
        return [polyline((w, 0), (0, 0), (0, 1), (w, 1)), middle_bar]
    return [line((0, 0), (0, 1)), line((0, 0), (w, 0)), middle_bar, line((0, 1), (w, 1))]


@kind("letter:F")
def _capital_f(rng):
    w, middle = rng.uniform(0.5, 0.7), rng.uniform(0.4, 0.55)
    middle_bar = line((0, middle), (rng.uniform(0.65, 0.9) * w, middle))
    if either(rng):
        return [polyline((w, 0), (0, 0), (0, 1)), middle_bar]
    return [line((0, 0), (0, 1)), line((0, 0), (w, 0)), middle_bar]


@kind("letter:H")
def _capital_h(rng):
    w, bar = rng.uniform(0.6, 0.85), rng.uniform(0.45, 0.55)
    left, right, crossbar = line((0, 0), (0, 1)), line((w, 0), (w, 1)), line((0, bar), (w, bar))
    return [left, right, crossbar] if either(rng) else [left, crossbar, right]


@kind("letter:K")
def _capital_k(rng):
    w, meet = rng.uniform(0.55, 0.8), rng.uniform(0.5, 0.6)
    stem = line((0, 0), (0, 1))
    if either(rng):
        return [stem, polyline((w, 0), (0, meet), (w, 1))]
    return [stem, line((w, 0), (0, meet)), line((0.3 * w, 0.7 * meet), (w, 1))]


@kind("letter:L")
def _capital_l(rng):
    w = rng.uniform(0.5, 0.7)
    return [polyline((0, 0), (0, 1), (w, 1))]


@kind("letter:M")
def _capital_m(rng):
    w, valley, splay = rng.uniform(0.8, 1.05), rng.uniform(0.5, 0.9), rng.uniform(0, 0.1)
    return [polyline((0, 1), (splay * w, 0), (w / 2, valley), ((1 - splay) * w, 0), (w, 1))]


@kind("letter:N")
def _capital_n(rng):
    w = rng.uniform(0.6, 0.8)
    if either(rng):
        return [polyline((0, 1), (0, 0), (w, 1), (w, 0))]
    return [line((0, 0), (0, 1)), line((0, 0), (w, 1)), line((w, 1), (w, 0))]


def _bowl(w: float, bottom: float, back_to: float = 0) -> np.ndarray:
    """The bowl of P and R: out along the top, round, and back to x = `back_to` at `bottom`."""
    r = bottom / 2
    return join(line((0, 0), (w - r, 0)), arc((w - r, r), r, -90, 90), line((w - r, bottom), (back_to, bottom)))


@kind("letter:P")
def _capital_p(rng):
    w, bottom = rng.uniform(0.5, 0.7), rng.uniform(0.5, 0.6)
    if either(rng):
        return [join(line((0, 1), (0, 0)), _bowl(w, bottom))]  # up the stem and round in one go
    return [line((0, 0), (0, 1)), _bowl(w, bottom)]


@kind("letter:R")
def _capital_r(rng):
    w, bottom = rng.uniform(0.55, 0.75), rng.uniform(0.45, 0.55)
    bowl_and_leg = join(_bowl(w, bottom, back_to=0.15 * w), line((0.15 * w, bottom), (w * rng.uniform(0.95, 1.1), 1)))
    return [line((0, 0), (0, 1)), bowl_and_leg]


@kind("letter:U")
def _capital_u(rng):
    w, turn = rng.uniform(0.6, 0.85), rng.uniform(0.4, 0.6)
    return [join(line((0, 0), (0, turn)), arc((w / 2, turn), (w / 2, 1 - turn), 180, 0), line((w, turn), (w, 0)))]


@kind("letter:V")
def _capital_v(rng):
    w = rng.uniform(0.7, 1.0)  # a narrow V is close to a 1 with a long flag
    return [polyline((0, 0), (w / 2, 1), (w, 0))]


@kind("letter:W")
def _capital_w(rng):
    w, middle = rng.uniform(0.95, 1.25), rng.uniform(0.1, 0.45)
    return [polyline((0, 0), (0.25 * w, 1), (0.5 * w, middle), (0.75 * w, 1), (w, 0))]


@kind("letter:X")
def _capital_x(rng):
    w = rng.uniform(0.6, 0.85)
    return [line((0, 0), (w, 1)), line((w, 0), (0, 1))]


@kind("letter:Y")
def _capital_y(rng):
    w, fork = rng.uniform(0.6, 0.9), rng.uniform(0.4, 0.55)
    if either(rng):
        return [polyline((0, 0), (w / 2, fork), (w / 2, 1)), line((w, 0), (w / 2, fork))]
    return [line((0, 0), (w / 2, fork)), line((w, 0), (w / 2, fork)), line((w / 2, fork), (w / 2, 1))]


@kind("letter:e")
def _small_e(rng):
    w = rng.uniform(0.8, 1.0)
    return [join(line((0.05 * w, 0.5), (w, 0.5)), arc((w / 2, 0.5), (w / 2, 0.5), 0, -rng.uniform(290, 320)))]


def _arch(x0: float, x1: float, top: float, bottom: float, rise: float) -> np.ndarray:
    """The hump of n, m and h: up from a stem at x0, over, and down to `bottom` at x1."""
    centre = ((x0 + x1) / 2, top + rise)
    return join(arc(centre, ((x1 - x0) / 2, rise), 180, 360), line((x1, top + rise), (x1, bottom)))


@kind("letter:h")
def _small_h(rng):
    w, top = rng.uniform(0.5, 0.7), 1 - rng.uniform(0.5, 0.6)
    rise = rng.uniform(0.1, 0.15)
    if either(rng):
        return [join(line((0, 0), (0, 1)), line((0, 1), (0, top + rise)), _arch(0, w, top, 1, rise))]
    return [line((0, 0), (0, 1)), _arch(0, w, top, 1, rise)]


@kind("letter:k")
def _small_k(rng):
    w, top = rng.uniform(0.45, 0.65), 1 - rng.uniform(0.5, 0.6)
    return [line((0, 0), (0, 1)), polyline((w, top), (0, top + 0.55 * (1 - top)), (w, 1))]


@kind("letter:m")
def _small_m(rng):
    w, rise = rng.uniform(1.1, 1.5), rng.uniform(0.2, 0.35)
    return [
        join(
            line((0, 0), (0, 1)),
            line((0, 1), (0, rise)),
            _arch(0, w / 2, 0, 1, rise),
            line((w / 2, 1), (w / 2, rise)),
            _arch(w / 2, w, 0, 1, rise),
        )
    ]


@kind("letter:n")
def _small_n(rng):
    w, rise = rng.uniform(0.65, 0.9), rng.uniform(0.25, 0.4)
    return [join(line((0, 0), (0, 1)), line((0, 1), (0, rise)), _arch(0, w, 0, 1, rise))]


@kind("letter:r")
def _small_r(rng):
    w, rise = rng.uniform(0.65, 0.85), rng.uniform(0.25, 0.35)
    shoulder = arc((w / 2, rise), (w / 2, rise), 180, rng.uniform(315, 340))
    if either(rng):
        return [join(line((0, 0), (0, 1)), line((0, 1), (0, rise)), shoulder)]
    return [line((0, 0), (0, 1)), shoulder]


@kind("letter:t")
def _small_t(rng):
    w, bar, hook = rng.uniform(0.5, 0.7), rng.uniform(0.25, 0.35), rng.uniform(0.12, 0.2)
    stem_x = rng.uniform(0.35, 0.5) * w
    stem = join(line((stem_x, 0), (stem_x, 1 - hook)), arc((stem_x + hook, 1 - hook), hook, 180, 40))
    return [stem, line((0, bar), (w, bar))]


@kind("letter:w")
def _small_w(rng):
    w, middle = rng.uniform(1.2, 1.5), rng.uniform(0.2, 0.5)
    xs = np.array([0, 0.08, 0.25, 0.42, 0.5, 0.58, 0.75, 0.92, 1]) * w
    ys = [0, 0.6, 1, 0.6, middle, 0.6, 1, 0.6, 0]
    return [spline(*zip(xs, ys, strict=True))]


# Letters of other alphabets: a visitor may write their own.


@kind("letter:α")
def _alpha(rng):
    # A loop open to the right with two tails: lying wide, not a 9's loop on a stem.
    reach = rng.uniform(1.2, 1.5)
    return [spline((reach, 0.1), (0.75, 0.5), (0.45, 0.8), (0.12, 0.7), (0.05, 0.35), (0.35, 0.15),
                   (0.7, 0.45), (reach, rng.uniform(0.8, 0.95)))]


@kind("letter:λ")
def _lambda(rng):
    w, joint = rng.uniform(0.7, 0.9), rng.uniform(0.4, 0.55)
    long_leg = polyline((0.1, 0), (0.25 * w, 0.05), (w, 1))
    at = 0.25 * w + (w - 0.25 * w) * (joint - 0.05) / 0.95  # where the short leg leaves the long one
    return [long_leg, line((at, joint), (0, 1))]


@kind("letter:Ж")
def _zhe(rng):
    w, waist = rng.uniform(1.1, 1.4), rng.uniform(0.18, 0.26)
    middle = w / 2
    left = polyline((0, 0), (middle - waist, 0.5), (0, 1))
    right = polyline((w, 0), (middle + waist, 0.5), (w, 1))
    bar = line((middle - waist, 0.5), (middle + waist, 0.5))
    return shuffled(rng, [line((middle, 0), (middle, 1)), left, right, bar])


@kind("letter:Д")
def _de(rng):
    w, foot = rng.uniform(0.75, 0.95), rng.uniform(0.15, 0.22)
    roof = polyline((0.15 * w, 0.85), (0.3 * w, 0), (0.85 * w, 0), (0.85 * w, 0.85))
    base = polyline((0, 0.85 + foot), (0, 0.85), (w, 0.85), (w, 0.85 + foot))
    return [roof, base]


# --- symbols ---


@kind("symbol:+")
def _plus(rng):
    low, high = rng.uniform(0, 0.1, 2), rng.uniform(0.9, 1, 2)
    cross = rng.uniform(0.4, 0.6, 2)
    return shuffled(rng, [line((cross[0], low[0]), (cross[0], high[0])), line((low[1], cross[1]), (high[1], cross[1]))])


@kind("symbol:×")
def _times(rng):
    return shuffled(rng, [line((0, 0), (1, 1)), line((1, 0), (0, 1))])


@kind("symbol:=")
def _equals(rng):
    gap = rng.uniform(0.25, 0.45)
    return [line((0, 0), (1, 0)), line((rng.uniform(0, 0.08), gap), (rng.uniform(0.92, 1.05), gap))]


@kind("symbol:#")
def _hash(rng):
    lean = rng.uniform(0, 0.15)
    return [
        line((0.35 + lean, 0), (0.35 - lean, 1)),
        line((0.7 + lean, 0), (0.7 - lean, 1)),
        line((0, 0.35), (1, 0.35)),
        line((0, 0.68), (1, 0.68)),
    ]


@kind("symbol:@")
def _at(rng):
    inner = rng.uniform(0.17, 0.23)
    return [
        join(
            ellipse((0.5, 0.5), inner, start=-30),  # the small a
            line((0.5 + inner * 0.87, 0.5 - inner / 2), (0.5 + inner * 0.95, 0.5 + inner)),
            bezier((0.5 + inner * 0.95, 0.5 + inner), (0.9, 0.75), (1, 0.5)),
            arc((0.5, 0.5), 0.5, 0, -rng.uniform(290, 320)),  # round the outside
        )
    ]


@kind("symbol:?")
def _question(rng):
    w, dot_gap = rng.uniform(0.5, 0.7), rng.uniform(0.15, 0.25)
    r = w / 2
    top = arc((r, r), r, 190, 420)
    return [join(top, bezier(top[-1], (r, 2.3 * r), (r, 1 - dot_gap))), dot((r, 1))]


@kind("symbol:!")
def _exclamation(rng):
    return [line((0, 0), (0, rng.uniform(0.65, 0.78))), dot((0, 1))]


@kind("symbol:%")
def _percent(rng):
    r = rng.uniform(0.12, 0.18)
    return [ellipse((r, r), r), line((0.85, 0), (0.15, 1)), ellipse((1 - r, 1 - r), r)]


@kind("symbol:&")
def _ampersand(rng):
    tail = rng.uniform(0.85, 1.0)
    return [
        spline(
            (tail, 1.0), (0.45, 0.55), (0.27, 0.3), (0.32, 0.08), (0.47, 0.01), (0.6, 0.12), (0.55, 0.3),
            (0.3, 0.5), (0.1, 0.72), (0.16, 0.93), (0.4, 1.0), (0.65, 0.87), (0.85, rng.uniform(0.55, 0.65)),
        )
    ]  # fmt: skip


@kind("symbol:*")
def _asterisk(rng):
    bars = 3 if either(rng) else 4
    start = rng.uniform(-10, 10)
    return [rotate(line((0, -0.5), (0, 0.5)), start + k * 180 / bars) for k in range(bars)]


@kind("symbol:<")
def _less(rng):
    w = rng.uniform(0.7, 1.0)
    return [polyline((w, 0), (0, 0.5), (w, 1))]


@kind("symbol:^")
def _caret(rng):
    h = rng.uniform(0.35, 0.6)  # taller, it is close to a 1 with a long flag
    return [polyline((0, h), (0.5, 0), (1, h))]


@kind("symbol:~")
def _tilde(rng):
    x = np.linspace(0, 1, 40)
    return [np.column_stack([x, -rng.uniform(0.1, 0.18) * np.sin(2 * np.pi * x)])]


@kind("symbol:-")
def _dash(rng):
    return [bezier((0, 0), (0.5, rng.uniform(-0.04, 0.04)), (1, rng.uniform(-0.03, 0.03)))]


@kind("symbol:→")
def _right_arrow(rng):
    head, spread = rng.uniform(0.15, 0.3), math.radians(rng.uniform(25, 40))
    back, side = 1 - head * math.cos(spread), head * math.sin(spread)
    return [line((0, 0), (1, 0)), polyline((back, -side), (1, 0), (back, side))]


@kind("symbol:←")
def _left_arrow(rng):
    return mirror(_right_arrow(rng))


@kind("symbol:✓")
def _check(rng):
    # The long arm leans well over: steep, it is a J (a hooked 1).
    return [polyline((0, rng.uniform(0.45, 0.6)), (rng.uniform(0.3, 0.45), 1), (rng.uniform(1.2, 1.5), 0))]


@kind("symbol:π")
def _pi(rng):
    h, curl = rng.uniform(0.7, 0.9), rng.uniform(0.06, 0.12)
    right_leg = join(line((0.7, 0.02), (0.7, h - curl)), arc((0.7 + curl, h - curl), curl, 180, 60))
    return [line((0, 0.06), (1, 0)), line((0.3, 0.04), (rng.uniform(0.18, 0.3), h)), right_leg]


@kind("symbol:Σ")
def _sigma(rng):
    w = rng.uniform(0.7, 0.9)
    return [polyline((w, 0), (0, 0), (rng.uniform(0.45, 0.6) * w, 0.5), (0, 1), (w, 1))]


@kind("symbol:÷")
def _divide(rng):
    gap = rng.uniform(0.22, 0.35)
    bar, dots = line((0, 0.5), (1, 0.5)), [dot((0.5, 0.5 - gap)), dot((0.5, 0.5 + gap))]
    return [bar, *dots] if either(rng) else [dots[0], bar, dots[1]]


@kind("symbol:∞")
def _infinity(rng):
    t = np.linspace(0, 2 * np.pi, 120) + np.pi / 2  # from the crossing, round both loops
    lemniscate = np.column_stack([np.cos(t), np.sin(t) * np.cos(t)]) / (1 + np.sin(t) ** 2)[:, None]
    return [lemniscate * (1, rng.uniform(0.9, 1.4))]


@kind("symbol:±")
def _plus_minus(rng):
    arm = rng.uniform(0.35, 0.45)
    return [line((0.5 - arm, 0.4), (0.5 + arm, 0.4)), line((0.5, 0.4 - arm), (0.5, 0.4 + arm)), line((0.05, 1), (0.95, 1))]


@kind("symbol:√")
def _root(rng):
    bar = rng.uniform(1.2, 1.6)
    return [polyline((0, 0.6), (0.12, 0.5), (0.3, 1), (0.55, 0), (0.55 + bar, 0))]


@kind("symbol:≠")
def _not_equal(rng):
    gap = rng.uniform(0.3, 0.4)
    slash = line((rng.uniform(0.6, 0.75), -0.2), (rng.uniform(0.25, 0.4), gap + 0.2))
    return [line((0, 0), (1, 0)), line((0, gap), (1, gap)), slash]


@kind("symbol:≤")
def _less_or_equal(rng):
    w = rng.uniform(0.7, 0.9)
    return [polyline((w, 0), (0, 0.35), (w, 0.7)), line((0, 1), (w, 1))]


@kind("symbol:¢")
def _cent(rng):
    c = arc((0.5, 0.5), (0.4, 0.42), rng.uniform(-55, -40), -300)
    return [c, line((0.55, -0.05), (0.48, 1.05))]


@kind("symbol:€")
def _euro(rng):
    c = arc((0.6, 0.5), 0.5, rng.uniform(-60, -45), -300)
    return [c, line((0, 0.4), (0.75, 0.4)), line((0, 0.6), (0.7, 0.6))]


@kind("symbol:©")
def _copyright(rng):
    ring = ellipse((0, 0), 1, start=rng.uniform(-120, -60))
    return [ring, arc((0.05, 0), 0.45, -50, -310)]


@kind("symbol:∀")
def _for_all(rng):
    w = rng.uniform(0.75, 0.95)
    return [polyline((0, 0), (w / 2, 1), (w, 0)), line((0.2 * w, 0.4), (0.8 * w, 0.4))]


@kind("symbol:∴")
def _therefore(rng):
    spread = rng.uniform(0.8, 1.0)
    return shuffled(rng, [dot((0.5 * spread, 0)), dot((0, 0.8)), dot((spread, 0.8))])


@kind("symbol:≈")
def _approximately(rng):
    x = np.linspace(0, 1, 40)
    wave = np.column_stack([x, 0.12 * np.sin(2 * np.pi * x)])
    return [wave, wave + (0, rng.uniform(0.3, 0.4))]


# --- shapes ---


@kind("shape:triangle")
def _triangle(rng):
    apex, h = rng.uniform(0.35, 0.65), rng.uniform(0.75, 0.95)
    return [closed((apex, 0), (1, h), (0, h))]


@kind("shape:square")
def _square(rng):
    w = rng.uniform(0.9, 1.1)
    return [closed((0, 0), (w, 0), (w, 1), (0, 1))]


@kind("shape:rectangle")
def _rectangle(rng):
    h = rng.uniform(0.45, 0.65)  # lying down: a tall one is a boxy 0
    return [closed((0, 0), (1, 0), (1, h), (0, h))]


@kind("shape:star")
def _star(rng):
    angles = np.radians(-90 + 144 * np.arange(6) + rng.uniform(-6, 6))
    return [np.column_stack([np.cos(angles), np.sin(angles)])]


@kind("shape:heart")
def _heart(rng):
    r, tip = rng.uniform(0.23, 0.27), rng.uniform(0.9, 1.05)
    left_lobe = arc((0.5 - r, r + 0.02), r, 0, -210)
    right_lobe = arc((0.5 + r, r + 0.02), r, 30, -180)
    to_tip = bezier(left_lobe[-1], (0.12, 0.65), (0.5, tip))
    from_tip = bezier((0.5, tip), (0.88, 0.65), right_lobe[0])
    return [join(left_lobe, to_tip, from_tip, right_lobe)]


@kind("shape:spiral")
def _spiral(rng):
    turns = rng.uniform(2, 3.5)
    angle = np.linspace(0, 2 * np.pi * turns, math.ceil(turns * 90))
    radius = 0.05 + angle / angle[-1]
    sense = 1 if either(rng) else -1
    return [np.column_stack([radius * np.cos(angle), sense * radius * np.sin(angle)])]


@kind("shape:arrow")
def _block_arrow(rng):
    shaft, head, head_length = rng.uniform(0.12, 0.2), rng.uniform(0.3, 0.45), rng.uniform(0.3, 0.45)
    neck = 1 - head_length
    outline = closed((0, -shaft), (neck, -shaft), (neck, -head), (1, 0), (neck, head), (neck, shaft), (0, shaft))
    return quarter_turns([outline], int(rng.integers(4)))


@kind("shape:smiley")
def _smiley(rng):
    face = ellipse((0, 0), (1, rng.uniform(0.9, 1.1)), start=rng.uniform(-120, -60))
    eye_x, eye_y = rng.uniform(0.3, 0.4), rng.uniform(-0.4, -0.25)
    if either(rng):
        eyes = [dot((-eye_x, eye_y)), dot((eye_x, eye_y))]
    else:
        eyes = [line((-eye_x, eye_y - 0.1), (-eye_x, eye_y + 0.1)), line((eye_x, eye_y - 0.1), (eye_x, eye_y + 0.1))]
    mouth = arc((0, 0.05), rng.uniform(0.45, 0.6), rng.uniform(20, 40), rng.uniform(140, 160))
    return [face, *eyes, mouth]


@kind("shape:house")
def _house(rng):
    w, eaves = rng.uniform(0.8, 1.1), rng.uniform(0.4, 0.5)
    strokes = [closed((0, eaves), (w, eaves), (w, 1), (0, 1)), polyline((0, eaves), (w / 2, 0), (w, eaves))]
    if either(rng):
        door = rng.uniform(0.1, 0.15) * w
        strokes.append(polyline((w / 2 - door, 1), (w / 2 - door, 0.7), (w / 2 + door, 0.7), (w / 2 + door, 1)))
    return strokes


@kind("shape:zigzag")
def _zigzag(rng):
    segments, height = int(rng.integers(4, 9)), rng.uniform(0.15, 0.35)
    return [np.column_stack([np.arange(segments + 1) / segments, height * (np.arange(segments + 1) % 2)])]


@kind("shape:wave")
def _wave(rng):
    periods = rng.uniform(1.5, 3)
    x = np.linspace(0, 1, math.ceil(periods * 30))
    return [np.column_stack([x, rng.uniform(0.08, 0.15) * np.sin(2 * np.pi * periods * x)])]


@kind("shape:crescent")
def _crescent(rng):
    # The outer circle (radius 1 at the origin) less an inner one shifted right: fat, so not a "(".
    shift, inner = rng.uniform(0.55, 0.75), rng.uniform(0.8, 0.95)
    tip_x = (1 - inner**2 + shift**2) / (2 * shift)
    tip_y = math.sqrt(1 - tip_x**2)
    outer_tip, inner_tip = math.degrees(math.atan2(tip_y, tip_x)), math.degrees(math.atan2(tip_y, tip_x - shift))
    outline = join(arc((0, 0), 1, outer_tip, 360 - outer_tip), arc((shift, 0), inner, 360 - inner_tip, inner_tip))
    return quarter_turns([outline], int(rng.integers(4)))


@kind("shape:grid")
def _grid(rng):
    across, down = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    rows = [line((rng.uniform(0, 0.05), y), (rng.uniform(0.95, 1), y)) for y in np.linspace(0.08, 0.92, across)]
    columns = [line((x, rng.uniform(0, 0.05)), (x, rng.uniform(0.95, 1))) for x in np.linspace(0.08, 0.92, down)]
    strokes = rows + columns
    return [rotate(s, 45) for s in strokes] if rng.random() < 0.3 else strokes  # cross-hatching


@kind("shape:sun")
def _sun(rng):
    rays, start = int(rng.integers(7, 13)), rng.uniform(0, 360)
    ray_length = rng.uniform(0.2, 0.35)
    spokes = [rotate(line((0.5, 0), (0.5 + ray_length, 0)), start + k * 360 / rays) for k in range(rays)]
    return [ellipse((0, 0), 0.35), *spokes]


@kind("shape:stick figure")
def _stick_figure(rng):
    arms = rng.uniform(0.35, 0.5)
    if either(rng):
        arm_stroke = line((-0.35, arms), (0.35, arms))
    else:
        arm_stroke = polyline((-0.35, arms - 0.2), (0, arms + 0.05), (0.35, arms - 0.2))  # waving
    return [
        ellipse((0, 0.14), 0.14),
        line((0, 0.28), (0, 0.68)),
        arm_stroke,
        polyline((-rng.uniform(0.2, 0.35), 1), (0, 0.68), (rng.uniform(0.2, 0.35), 1)),
    ]


@kind("shape:flower")
def _flower(rng):
    petals, heart = int(rng.integers(5, 9)), 0.15
    length, width = rng.uniform(0.3, 0.4), rng.uniform(0.2, 0.3)
    start = rng.uniform(0, 360)
    strokes = [ellipse((0, 0), heart)]
    for k in range(petals):
        angle = start + k * 360 / petals
        centre = rotate(np.array([[heart + length / 2, 0]]), angle)[0]
        strokes.append(ellipse(centre, (length / 2, width / 2), start=180, tilt=angle))
    return strokes


@kind("shape:diamond")
def _diamond(rng):
    w = rng.uniform(0.8, 1.1)
    return [closed((w / 2, 0), (w, 0.5), (w / 2, 1), (0, 0.5))]


@kind("shape:cube")
def _cube(rng):
    depth = rng.uniform(0.25, 0.35)
    front = closed((0, depth), (1 - depth, depth), (1 - depth, 1), (0, 1))
    top = polyline((0, depth), (depth, 0), (1, 0), (1, 1 - depth), (1 - depth, 1))
    return [front, top, line((1 - depth, depth), (1, 0))]


@kind("shape:fish")
def _fish(rng):
    body, tail = rng.uniform(0.3, 0.4), rng.uniform(0.25, 0.35)
    # Round the body from above the tail to below it, then the tail's two edges cross back.
    belly = arc((0.5, 0.5), (0.5, body), -30, -330)
    outline = join(belly, polyline((1.3, 0.5 - tail), (1.3, 0.5 + tail)), belly[:1])
    strokes = [outline]
    if either(rng):
        strokes.append(dot((0.25, 0.45)))
    return mirror(strokes) if either(rng) else strokes


@kind("shape:envelope")
def _envelope(rng):
    h, fold = rng.uniform(0.6, 0.75), rng.uniform(0.35, 0.55)
    return [closed((0, 0), (1, 0), (1, h), (0, h)), polyline((0, 0), (0.5, fold * h), (1, 0))]


@kind("shape:tree")
def _tree(rng):
    w, trunk = rng.uniform(0.6, 0.8), rng.uniform(0.08, 0.12)
    crown = closed((w / 2, 0), (w, 0.7), (0, 0.7))
    stem = polyline((w / 2 - trunk, 0.7), (w / 2 - trunk, 1), (w / 2 + trunk, 1), (w / 2 + trunk, 0.7))
    return [crown, stem]


@kind("shape:eye")
def _eye(rng):
    h = rng.uniform(0.3, 0.4)
    lids = join(arc((0.5, 0.5 + 0.9), (0.7, 1.0 + h / 2), -135, -45), arc((0.5, 0.5 - 0.9), (0.7, 1.0 + h / 2), 45, 135))
    return [lids, ellipse((0.5, 0.5), rng.uniform(0.13, 0.18))]


@kind("shape:boxed x")
def _boxed_x(rng):
    return [closed((0, 0), (1, 0), (1, 1), (0, 1)), line((0.05, 0.05), (0.95, 0.95)), line((0.95, 0.05), (0.05, 0.95))]


@kind("shape:cloud")
def _cloud(rng):
    bumps = int(rng.integers(4, 7))
    centres = np.linspace(0, 2 * np.pi, bumps, endpoint=False) + rng.uniform(0, np.pi)
    pieces = []
    for a, b in zip(centres, np.append(centres[1:], centres[0] + 2 * np.pi), strict=True):
        middle = (a + b) / 2
        centre = (0.5 + 0.42 * np.cos(middle), 0.5 + 0.3 * np.sin(middle))
        span = math.degrees(b - a) / 2
        pieces.append(arc(centre, 0.2, math.degrees(middle) - span - 50, math.degrees(middle) + span + 50))
    return [join(*pieces)]


@kind("shape:ladder")
def _ladder(rng):
    rungs, w = int(rng.integers(3, 6)), rng.uniform(0.35, 0.5)
    steps = [line((0, y), (w, y)) for y in np.linspace(0.15, 0.85, rungs)]
    return [line((0, 0), (0, 1)), line((w, 0), (w, 1)), *steps]


@kind("shape:boat")
def _boat(rng):
    hull = polyline((0, 0.7), (1, 0.7), (0.8, 1), (0.2, 1), (0, 0.7))
    mast = line((0.5, 0), (0.5, 0.7))
    sail = polyline((0.5, 0.05), (rng.uniform(0.8, 0.9), 0.6), (0.5, 0.6))
    return [hull, mast, sail]


# --- scribbles ---


@kind("scribble:loops")
def _loops(rng):
    loops, advance, radius = int(rng.integers(3, 7)), rng.uniform(0.08, 0.16), rng.uniform(0.4, 0.55)
    t = np.linspace(0, 2 * np.pi * loops, loops * 48)
    size = radius * (1 + 0.25 * np.sin(t / 3 + rng.uniform(0, 2 * np.pi)))  # loops of uneven size
    drift = rng.uniform(0.3, 0.6) * np.sin(t / loops * rng.uniform(0.5, 1.5) + rng.uniform(0, 2 * np.pi))
    return [np.column_stack([advance * t - size * np.sin(t), -size * np.cos(t) + drift])]


@kind("scribble:hatching")
def _hatching(rng):
    passes = int(rng.integers(8, 21))
    across = np.linspace(-0.5, 0.5, passes) + rng.normal(0, 0.1 / passes, passes)
    lengths = rng.uniform(0.6, 1.0) * (1 + rng.normal(0, 0.08, passes))
    slant = rng.uniform(-0.05, 0.05)
    ends = np.where(np.arange(passes) % 2 == 0, -0.5, 0.5) * lengths  # back and forth
    x = np.repeat(across, 2) + np.tile([0, slant], passes)
    y = np.column_stack([ends, -ends]).ravel()
    return [rotate(np.column_stack([x, y]), rng.uniform(0, 180))]


@kind("scribble:tangle")
def _tangle(rng):
    strokes = [spline(*rng.uniform(0, 1, (int(rng.integers(9, 16)), 2)))]  # fewer points can make a digit by chance
    if rng.random() < 0.3:
        strokes.append(spline(*rng.uniform(0, 1, (int(rng.integers(4, 8)), 2))))
    return strokes


@kind("scribble:confetti")
def _confetti(rng):
    strokes = []
    for _ in range(int(rng.integers(12, 41))):
        centre, length, angle = rng.uniform(0, 1, 2), rng.uniform(0.03, 0.15), rng.uniform(0, 360)
        shape = rng.random()
        if shape < 0.2:
            strokes.append(dot(centre))
        elif shape < 0.4:
            strokes.append(centre + rotate(arc((0, 0), length, 0, rng.uniform(90, 240)), angle))
        else:
            strokes.append(centre + rotate(line((-length / 2, 0), (length / 2, 0)), angle))
    return strokes


@kind("scribble:scrawl")
def _scrawl(rng):
    # Colouring-in: quick small circles while the hand drifts slowly across the patch.
    turns = int(rng.integers(10, 26))
    t = np.linspace(0, 1, turns * 36)
    drift = np.column_stack([np.sin(np.pi * rng.uniform(0.5, 1.5) * t + rng.uniform(0, 2 * np.pi)) for _ in range(2)])
    radius = rng.uniform(0.12, 0.22) * (1 + 0.25 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))[:, None]
    circling = np.column_stack([np.cos(2 * np.pi * turns * t), rng.uniform(0.6, 1) * np.sin(2 * np.pi * turns * t)])
    return [0.3 * drift + radius * rotate(circling, rng.uniform(0, 180))]


@kind("scribble:signature")
def _signature(rng):
    # A name signed quickly: small loops riding a wave, and a long flourish back under them.
    loops = int(rng.integers(3, 6))
    t = np.linspace(0, 2 * np.pi * loops, loops * 36)
    size = rng.uniform(0.1, 0.16)
    ride = 0.08 * np.sin(t / loops * rng.uniform(1, 2))
    word = np.column_stack([t / (2 * np.pi * loops) * 1.6 - size * np.sin(t), -size * np.cos(t) + ride])
    underline = spline(word[-1], (1.2, 0.3), (0.5, 0.25), (-0.1, 0.3))
    return [join(word, underline)]


# --- the split: about a third of each family held out, never trained on ---

HELD_OUT_KINDS: tuple[str, ...] = (
    *("letter:E", "letter:K", "letter:N", "letter:U", "letter:Y", "letter:h", "letter:t", "letter:w"),
    *("symbol:%", "symbol:&", "symbol:?", "symbol:@", "symbol:Σ", "symbol:÷", "symbol:→"),
    *("shape:heart", "shape:house", "shape:spiral", "shape:crescent", "shape:stick figure"),
    "scribble:tangle",
    # Added with the second batch of kinds, a third of them held out in the same way:
    *("letter:Д", "symbol:€", "symbol:≤", "symbol:©", "shape:fish", "shape:cloud", "shape:boat"),
)
TRAIN_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k not in HELD_OUT_KINDS)


# --- sampling with a person's variation ---


def _wobble(stroke: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth unsteadiness along the stroke: a few slow sine waves in arc length, at most `amplitude`."""
    along = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    waves = 3
    wavelengths = rng.uniform(0.3, 1.2, (waves, 2))  # shorter ones read as a shaking hand, not a sloppy one
    phases = rng.uniform(0, 2 * np.pi, (waves, 2))
    weights = rng.dirichlet(np.ones(waves), 2).T  # each axis's weights sum to 1
    offset = sum(weights[k] * np.sin(2 * np.pi * along[:, None] / wavelengths[k] + phases[k]) for k in range(waves))
    return stroke + amplitude * offset


def vary(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """One person's way of drawing it: slanted, sheared, stretched, unsteady; back in the unit box."""
    angle, shear = math.radians(rng.uniform(-12, 12)), rng.uniform(-0.25, 0.25)
    scale = rng.uniform(0.8, 1.2, 2)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = turn @ np.array([[1, shear], [0, 1]]) @ np.diag(scale)
    strokes = normalise([(s - 0.5) @ matrix.T for s in strokes])
    amplitude = rng.uniform(0.01, 0.02)
    strokes = [_wobble(s, amplitude, rng) for s in strokes]
    # Which way a stroke was drawn changes no pixel; randomise it so nothing downstream learns from it.
    reverse = rng.random(len(strokes)) < 0.5
    return finish([s[::-1] if r else s for s, r in zip(strokes, reverse, strict=True)])


def sample(rng: np.random.Generator, kinds: Iterable[str] | None = None) -> tuple[str, Strokes]:
    """A kind drawn uniformly from `kinds` (default: all of KINDS) and one varied drawing of it."""
    names = tuple(KINDS) if kinds is None else tuple(kinds)
    if not names:
        raise ValueError("no kinds to choose from")
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ValueError(f"unknown kinds: {unknown}")
    name = names[int(rng.integers(len(names)))]
    return name, vary(KINDS[name](rng), rng)
