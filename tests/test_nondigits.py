"""training.nondigits: non-digit drawings as pen strokes, for outlier exposure and the rejection benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training import nondigits
from training.nondigits import FAMILIES, HELD_OUT_KINDS, KINDS, TRAIN_KINDS, densify, family_of, sample

TOLERANCE = 1e-9
MAX_GAP = 0.03  # the contract: painted as polylines, the strokes look drawn


def check_drawing(strokes) -> None:
    """The shape every drawing must have, whatever its kind."""
    assert isinstance(strokes, list) and strokes
    for stroke in strokes:
        assert isinstance(stroke, np.ndarray) and stroke.dtype == np.float64
        assert stroke.ndim == 2 and stroke.shape[1] == 2 and len(stroke) >= 1
        assert np.isfinite(stroke).all()
        assert (stroke >= -TOLERANCE).all() and (stroke <= 1 + TOLERANCE).all()
        if len(stroke) > 1:
            assert np.hypot(*np.diff(stroke, axis=0).T).max() <= MAX_GAP + TOLERANCE
    points = np.vstack(strokes)
    extent = points.max(axis=0) - points.min(axis=0)
    assert extent.max() == pytest.approx(1, abs=1e-6)  # fills the box along its longer side
    shorter = int(np.argmin(extent))
    centre = (points[:, shorter].max() + points[:, shorter].min()) / 2
    assert centre == pytest.approx(0.5, abs=1e-6)  # and is centred on the other


def same_drawing(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(s, t) for s, t in zip(a, b, strict=True))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_draws_valid_strokes(kind):
    for seed in range(5):
        check_drawing(KINDS[kind](np.random.default_rng(seed)))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_varies_validly(kind):
    for seed in range(5):
        name, strokes = sample(np.random.default_rng(seed), [kind])
        assert name == kind
        check_drawing(strokes)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**63 - 1))
def test_sample_is_valid_and_deterministic(seed):
    kind, strokes = sample(np.random.default_rng(seed))
    assert kind in KINDS
    check_drawing(strokes)
    again_kind, again = sample(np.random.default_rng(seed))
    assert again_kind == kind and same_drawing(again, strokes)


def test_kind_templates_are_deterministic():
    for kind, draw in KINDS.items():
        assert same_drawing(draw(np.random.default_rng(7)), draw(np.random.default_rng(7))), kind


def test_sample_varies_the_drawing():
    drawings = [sample(np.random.default_rng(seed), ["letter:A"])[1] for seed in range(10)]
    assert not any(same_drawing(drawings[0], d) for d in drawings[1:])


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**63 - 1))
def test_sample_keeps_to_the_kinds_asked_for(seed):
    kind, _ = sample(np.random.default_rng(seed), TRAIN_KINDS)
    assert kind in TRAIN_KINDS
    kind, _ = sample(np.random.default_rng(seed), HELD_OUT_KINDS)
    assert kind in HELD_OUT_KINDS


def test_sample_chooses_kinds_uniformly():
    rng = np.random.default_rng(0)
    counts = {kind: 0 for kind in ("symbol:+", "shape:star", "letter:A")}
    for _ in range(1500):
        counts[sample(rng, counts)[0]] += 1
    assert all(400 < n < 600 for n in counts.values()), counts


def test_sample_rejects_no_kinds_or_unknown_ones():
    with pytest.raises(ValueError, match="no kinds"):
        sample(np.random.default_rng(0), [])
    with pytest.raises(ValueError, match="letter:O"):
        sample(np.random.default_rng(0), ["letter:A", "letter:O"])


def test_near_horizontal_lines_stay_flat():
    # A dash must still be a dash after the jitter, not a slanted line (a 1).
    for seed in range(200):
        points = np.vstack(sample(np.random.default_rng(seed), ["symbol:-"])[1])
        assert np.ptp(points[:, 1]) < 0.35


def test_the_split_is_disjoint_and_covers_every_kind():
    assert not set(TRAIN_KINDS) & set(HELD_OUT_KINDS)
    assert set(TRAIN_KINDS) | set(HELD_OUT_KINDS) == set(KINDS)
    assert len(set(TRAIN_KINDS)) == len(TRAIN_KINDS) and len(set(HELD_OUT_KINDS)) == len(HELD_OUT_KINDS)


def test_every_family_is_in_both_splits_with_about_a_third_held_out():
    assert {family_of(k) for k in KINDS} == set(FAMILIES)
    for family in FAMILIES:
        train = [k for k in TRAIN_KINDS if family_of(k) == family]
        held_out = [k for k in HELD_OUT_KINDS if family_of(k) == family]
        assert train and held_out, family
    letters = [k for k in KINDS if family_of(k) == "letter"]
    held_letters = [k for k in HELD_OUT_KINDS if family_of(k) == "letter"]
    assert 0.25 <= len(held_letters) / len(letters) <= 0.4
    figures = [k for k in KINDS if family_of(k) in ("symbol", "shape")]
    held_figures = [k for k in HELD_OUT_KINDS if family_of(k) in ("symbol", "shape")]
    assert 0.25 <= len(held_figures) / len(figures) <= 0.4
    assert len([k for k in HELD_OUT_KINDS if family_of(k) == "scribble"]) == 1


def test_enough_kinds_of_each_family():
    count = {family: sum(family_of(k) == family for k in KINDS) for family in FAMILIES}
    assert count["letter"] >= 18 and count["symbol"] >= 15 and count["shape"] >= 12 and count["scribble"] >= 5
    assert all(":" in k and k.split(":", 1)[1] for k in KINDS)


DIGIT_LOOKALIKES = [
    *("letter:O", "letter:o", "letter:Q", "letter:D", "shape:circle", "shape:ellipse"),  # 0
    *("letter:I", "letter:l", "letter:i", "letter:J", "letter:T", "symbol:|", "symbol:/", "symbol:\\"),  # 1
    *("symbol:(", "symbol:)", "symbol:[", "symbol:]", "shape:line"),  # 1
    *("letter:Z", "letter:z", "letter:y", "letter:S", "letter:s", "symbol:$", "letter:b", "letter:G"),  # 2 4 5 6
    *("letter:f", "symbol:>", "symbol:¬", "letter:B", "letter:g", "letter:q", "letter:a", "letter:d"),  # 7 8 9
]


def test_no_digit_lookalikes():
    assert not set(DIGIT_LOOKALIKES) & set(KINDS)


def test_no_lone_steep_straight_line():
    # A single straight stroke at more than 30 degrees from horizontal passes for a 1.
    for kind, draw in KINDS.items():
        strokes = draw(np.random.default_rng(0))
        if len(strokes) == 1 and len(strokes[0]) > 1:
            points = strokes[0] - strokes[0].mean(axis=0)
            straightness = np.linalg.svd(points, compute_uv=False)
            if straightness[1] < 0.02 * straightness[0]:
                direction = np.linalg.svd(points)[2][0]
                assert abs(direction[1]) < 0.5, kind


def test_densify_keeps_the_points_and_bounds_the_gaps():
    corners = np.array([[0, 0], [1, 0], [1, 0.5], [1, 0.5], [0.2, 0.9]])
    dense = densify(corners, step=0.03)
    assert np.hypot(*np.diff(dense, axis=0).T).max() <= 0.03 + TOLERANCE
    for corner in corners:
        assert np.isclose(dense, corner).all(axis=1).any()
    assert np.array_equal(dense[0], corners[0]) and np.array_equal(dense[-1], corners[-1])
    assert densify([[0.3, 0.4]]).shape == (1, 2)


def test_family_of():
    assert family_of("letter:A") == "letter" and family_of("shape:stick figure") == "shape"


def test_imports_no_tensorflow():
    code = "import sys, training.nondigits; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
    assert nondigits.__doc__ and "outlier exposure" in nondigits.__doc__
