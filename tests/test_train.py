"""training/train.py's augmentation: the elastic distortion against a plain-loop resampler, and the affine augmenter's strengths."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from training.train import elastic  # noqa: E402


def digit_like(n: int, seed: int = 0) -> np.ndarray:
    """(n, 28, 28, 1) float32: a bar and a ring each, at random places: ink to move about."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:28, :28]
    images = np.zeros((n, 28, 28, 1), np.float32)
    for image in images:
        r, c = rng.integers(9, 19, 2)
        image[..., 0] = np.clip(1.5 - np.abs(np.hypot(rows - r, cols - c) - 5), 0, 1)
        image[4:24, c - 1 : c + 1, 0] = 1.0
    return images


def resample_by_loops(image: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Bilinear sampling of ``image`` (h, w) at (row + dy, col + dx), clamped to the image: one pixel at a time."""
    h, w = image.shape
    out = np.zeros_like(image)
    for r in range(h):
        for c in range(w):
            y = min(max(r + dy[r, c], 0.0), h - 1.0)
            x = min(max(c + dx[r, c], 0.0), w - 1.0)
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = y - y0, x - x0
            out[r, c] = ((image[y0, x0] * (1 - fx) + image[y0, x1] * fx) * (1 - fy)
                         + (image[y1, x0] * (1 - fx) + image[y1, x1] * fx) * fy)
    return out


def test_no_strength_leaves_the_images_as_they_are():
    images = digit_like(4)
    np.testing.assert_array_equal(elastic(tf.constant(images), 0.0, 4.0, seed=1).numpy(), images)


def test_a_uniform_field_shifts_the_ink_as_plain_bilinear_sampling_does(monkeypatch):
    # Noise of one value everywhere (one for rows, another for columns) smooths to that value
    # (away from the zero-padded edge the Gaussian's taps sum to 1): the field is then known, and
    # so is the result.
    images = digit_like(2)
    monkeypatch.setattr(tf.random, "uniform", lambda shape, lo, hi, seed=None: tf.ones(shape) * tf.constant([0.25, -0.4]))
    out = elastic(tf.constant(images), 2.0, 1.0, seed=1).numpy()
    inner = slice(3, -3)  # 3 sigma of zero padding reaches this far in
    for image, result in zip(images[..., 0], out[..., 0], strict=True):
        expected = resample_by_loops(image, np.full((28, 28), 0.5), np.full((28, 28), -0.8))
        np.testing.assert_allclose(result[inner, inner], expected[inner, inner], atol=1e-5)


def test_a_random_field_bends_the_ink_but_keeps_it():
    images = digit_like(16)
    out = elastic(tf.constant(images), 34.0, 4.0, seed=1).numpy()
    assert out.shape == images.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 + 1e-6  # bilinear: never outside the inputs' range
    moved = np.abs(out - images).sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert (moved > 0.05).all()  # every image changed ...
    kept = out.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert 0.5 < kept.min() and kept.max() < 1.5 and abs(kept.mean() - 1) < 0.1  # ... stretched here, squeezed there, but kept
    again = elastic(tf.constant(images), 34.0, 4.0, seed=1).numpy()
    assert not np.array_equal(out, again)  # a new field at every call: every epoch sees new shapes


def test_an_augmenter_of_no_strength_leaves_the_images_as_they_are():
    from training.model import augmenter

    images = digit_like(4)
    out = augmenter(seed=1, rotation=0, zoom=0, shift=0)(tf.constant(images), training=True).numpy()
    np.testing.assert_allclose(out, images, atol=1e-6)


def test_the_augmenter_moves_ink_by_at_most_its_shift():
    from training.model import augmenter

    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 13:15, 13:15] = 1.0  # a dot in the middle
    out = augmenter(seed=1, rotation=0, zoom=0, shift=0.1)(tf.constant(images), training=True).numpy()
    rows, cols = np.mgrid[:28, :28]
    mass = out[..., 0].sum(axis=(1, 2))
    centre_r = (out[..., 0] * rows).sum(axis=(1, 2)) / mass
    centre_c = (out[..., 0] * cols).sum(axis=(1, 2)) / mass
    moved = np.hypot(centre_r - 13.5, centre_c - 13.5)
    assert moved.max() <= 0.1 * 28 * np.sqrt(2) + 0.5  # within the shift, both ways
    assert moved.max() > 0.5  # and it does move them
