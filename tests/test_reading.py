"""bench/reading.py: the gallery of pen-drawn digits read wrong, each beside its scan; the pen thresholds' calibration."""

from __future__ import annotations

import numpy as np

import digits
from bench import reading
from digits import cnn
from training import strokes as pen_strokes

MODEL = reading.ROOT / "site" / "model" / "digits.npz"


def test_the_pen_error_gallery_shows_each_drawing_beside_the_scan_it_was_traced_from(tmp_path):
    net = cnn.load(MODEL)
    scans = np.zeros((3, 28, 28), np.uint8)
    scans[2, 4:24, 12:16] = 255  # the scan of entry 2: a bar, a 1
    bar = [np.array([[14.0, 4.0], [14.0, 24.0]], np.float32)]
    ink, drawn = pen_strokes.draw(bar, np.random.default_rng(0))
    gallery = [(ink, digits.read(ink, net, strokes=drawn), 7, 2)]  # "a 7", read as whatever the bar reads as
    out = tmp_path / "pen-errors.png"
    reading.plot_pen_errors(gallery, 1, out, scans)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with_scan = blue_pixels(out)
    assert with_scan > 50
    reading.plot_pen_errors([(ink, gallery[0][1], 7, 0)], 1, out, scans)  # entry 0's scan is blank paper
    assert blue_pixels(out) < with_scan


def test_pen_thresholds_are_the_largest_hundredths_the_rule_allows():
    rng = np.random.default_rng(0)
    n = 4000
    steadiness = np.where(rng.random(n) < 0.05, rng.uniform(0, 1, n), 0.995)  # a tail of doubtful digits
    confidence = np.where(rng.random(n) < 0.01, rng.uniform(0, 1, n), 0.999)
    structural = rng.random(n) < 0.003
    scores = {"confidence": confidence, "steadiness": steadiness, "structural": structural}
    got = reading.calibrate_pen(rng.random(n) < 0.98, scores, seed=6)
    calibration, _ = reading.halves(n, seed=6)  # the half the thresholds are chosen on

    def sure(t):
        return ((steadiness[calibration] >= t) & ~structural[calibration]).mean()

    def rejected(t):
        return (confidence[calibration] < t).mean()

    unsure, not_a_digit = got["unsure_below"], got["not_a_digit_below"]
    assert 0.1 < unsure < 0.9 and 0.05 < not_a_digit < 0.9
    assert sure(unsure) >= reading.PEN_SURE > sure(unsure + 0.01)
    assert rejected(not_a_digit) <= reading.PEN_REJECTED < rejected(not_a_digit + 0.01)
    assert round(unsure, 2) == unsure and round(not_a_digit, 2) == not_a_digit


def blue_pixels(png) -> int:
    """Pixels clearly blue: the scan is drawn in blue, the pen's ink in grey."""
    import matplotlib.image

    picture = matplotlib.image.imread(png)
    return int((picture[..., 2] > picture[..., 0] + 0.3).sum())
