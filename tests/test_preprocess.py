"""digits.preprocess: canvas ink -> 28x28 the MNIST way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from digits import preprocess
from digits.preprocess import to_mnist
from digits.segment import segment

# --- slow, obviously-correct references -----------------------------------------------------


def area_reference(n_in: int, n_out: int, scale: float, shift: float) -> np.ndarray:
    """Area averaging one pixel at a time: output pixel j's footprint is [(j-shift)/scale, ...)."""
    m = np.zeros((n_out, n_in))
    for j in range(n_out):
        a, b = (j - shift) / scale, (j + 1 - shift) / scale
        for i in range(n_in):
            m[j, i] = max(0.0, min(b, i + 1) - max(a, i)) / (b - a)
    return m


def linear_reference(n_in: int, n_out: int, scale: float, shift: float) -> np.ndarray:
    """Linear interpolation with np.interp, blank (0) beyond the outermost pixel centres."""
    m = np.zeros((n_out, n_in))
    centres_in = np.arange(n_in) + 0.5
    for j in range(n_out):
        v = (j + 0.5 - shift) / scale
        for i in range(n_in):
            unit = np.zeros(n_in + 2)
            unit[i + 1] = 1.0
            m[j, i] = np.interp(v, np.r_[-0.5, centres_in, n_in + 0.5], unit)
    return m


def dilation_reference(image: np.ndarray, r: int) -> np.ndarray:
    padded = np.pad(image, 2 * r)
    h, w = image.shape[0] + 2 * r, image.shape[1] + 2 * r
    return np.array([[padded[i : i + 2 * r + 1, j : j + 2 * r + 1].max() for j in range(w)] for i in range(h)])


def erosion_reference(image: np.ndarray, r: int) -> np.ndarray:
    padded = np.pad(image, r)
    h, w = image.shape
    return np.array([[padded[i : i + 2 * r + 1, j : j + 2 * r + 1].min() for j in range(w)] for i in range(h)])


def ring(size: int = 300, radius: float = 100, width: float = 12, centre=(150, 150)) -> np.ndarray:
    """A drawn "0": an anti-aliased ring on a (size, size) canvas."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    distance = np.hypot((yy - centre[0]) / 1.3, xx - centre[1])  # taller than wide, like a 0
    return np.clip(width / 2 - np.abs(distance - radius) + 0.5, 0, 1).astype(np.float32)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]] + 0.5
    return float((image * yy).sum() / image.sum()), float((image * xx).sum() / image.sum())


# --- resampling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_in, n_out, scale, shift",
    [(300, 80, 80 / 300, 0.0), (97, 40, 0.4, 1.3), (80, 28, 0.25, 4.2), (80, 28, 0.25, -3.7), (5, 2, 0.3, 0.55)],
)
def test_area_resampling_matches_a_pixel_by_pixel_reference(n_in, n_out, scale, shift):
    got = preprocess.resample_matrix(n_in, n_out, scale, shift)
    assert_allclose(got, area_reference(n_in, n_out, scale, shift), atol=1e-6)


@pytest.mark.parametrize("n_in, n_out, scale, shift", [(3, 80, 80 / 3, 0.0), (10, 28, 2.5, 1.7), (1, 20, 20.0, 0.0)])
def test_enlarging_interpolates_linearly(n_in, n_out, scale, shift):
    got = preprocess.resample_matrix(n_in, n_out, scale, shift)
    assert_allclose(got, linear_reference(n_in, n_out, scale, shift), atol=1e-6)


@given(n_in=st.integers(1, 400), n_out=st.integers(1, 120), scale=st.floats(0.02, 30), shift=st.floats(-20, 20))
@settings(max_examples=200, deadline=None)
def test_the_band_holds_every_weight_of_the_resampling_matrix(n_in, n_out, scale, shift):
    index, weights = preprocess.resample_band(n_in, n_out, scale, shift)
    scattered = np.zeros((n_out, n_in), np.float32)
    np.add.at(scattered, (np.arange(n_out)[:, None].repeat(index.shape[1], 1), index), weights)
    assert_allclose(scattered, preprocess.resample_matrix(n_in, n_out, scale, shift), atol=1e-6)


def test_resample_is_the_matrix_product_it_stands_for():
    image = np.random.default_rng(2).random((97, 61)).astype(np.float32)
    for shape, scale, shift in (((40, 30), 0.3, (1.5, -2.0)), ((28, 28), 0.25, (4.2, -3.7)), ((60, 90), 2.5, (0.3, 0.0))):
        rows = preprocess.resample_matrix(97, shape[0], scale, shift[0])
        cols = preprocess.resample_matrix(61, shape[1], scale, shift[1])
        assert_allclose(preprocess.resample(image, shape, scale, shift), rows @ image @ cols.T, rtol=1e-5, atol=1e-6)


def box_by_mask(ink):
    mask = ink >= preprocess.FLOOR
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return None if rows.size == 0 else (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


SHAPES = st.tuples(st.integers(0, 12), st.integers(0, 12))


@given(ink=st.one_of(
    arrays(st.sampled_from([np.float32, np.float64]), SHAPES,
           elements=st.sampled_from([0.0, 0.01, 0.05, 0.5, 1.0, np.nan, np.inf, -np.inf])),
    arrays(st.sampled_from([np.uint8, np.int64]), SHAPES, elements=st.integers(0, 255)),
    arrays(bool, SHAPES)))
@settings(max_examples=300, deadline=None)
def test_bounding_box_is_the_box_of_the_pixels_at_least_floor_dark(ink):
    assert preprocess.bounding_box(ink) == box_by_mask(ink)


ODD_VALUES = [0.0, -0.0, 0.01, 0.05, 0.0499, 0.5, 1.0, 1.5, np.nan, np.inf, -np.inf]


@given(ink=st.one_of(
    arrays(np.float32, SHAPES, elements=st.sampled_from(ODD_VALUES)),
    arrays(np.float64, SHAPES, elements=st.sampled_from([*ODD_VALUES, -1e300, 1e300])),  # beyond float32
    arrays(bool, SHAPES)))
@settings(max_examples=300, deadline=None)
def test_clean_is_float32_in_0_1_with_nan_and_faint_ink_as_paper(ink):
    # An independent spelling of the rule, in float64: NaN and -inf are paper, +inf full ink.
    x = np.nan_to_num(ink.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    expected = np.clip(x, 0, 1).astype(np.float32)
    expected[expected < preprocess.FLOOR] = 0
    cleaned = preprocess.clean(ink)
    assert cleaned.dtype == np.float32 and cleaned.shape == ink.shape
    np.testing.assert_array_equal(cleaned, expected)
    assert not np.signbit(cleaned).any()  # no -0.0 either


def test_area_resampling_keeps_the_mass():
    rng = np.random.default_rng(0)
    image = rng.random((120, 90)).astype(np.float32)
    scale = 0.3
    out = preprocess.resample(image, (40, 30), scale)
    assert_allclose(out.sum(), image.sum() * scale**2, rtol=1e-5)


def test_grey_dilation_and_erosion_match_a_sliding_window_reference():
    rng = np.random.default_rng(1)
    image = rng.random((17, 23)).astype(np.float32)
    for r in (1, 2, 3):
        assert_allclose(preprocess.grey_morphology(image, r), dilation_reference(image, r))
        assert_allclose(preprocess.grey_morphology(image, -r), erosion_reference(image, r))
    assert preprocess.grey_morphology(image, 0) is image


def test_stroke_width_of_a_long_bar_is_its_width():
    bar = np.zeros((50, 400))
    bar[20:26, 10:390] = 1
    assert preprocess.stroke_width(bar) == pytest.approx(6, rel=0.03)
    assert preprocess.stroke_width(np.zeros((5, 5))) == 0.0


# --- to_mnist: MNIST's normalisation ----------------------------------------------------------


def test_longer_side_becomes_20_pixels_and_the_aspect_ratio_is_kept():
    ink = np.zeros((400, 300), np.float32)
    ink[50:350, 100:250] = 1.0  # 300 tall, 150 wide: a solid block, so no stroke adjustment is mixed in
    ink[60:340, 110:240] = 0.0  # ... make it a frame, a plausible "0"
    out = to_mnist(ink)
    rows, cols = np.flatnonzero(out.max(1) > 0.5), np.flatnonzero(out.max(0) > 0.5)
    assert rows[-1] - rows[0] + 1 in (20, 21)
    assert cols[-1] - cols[0] + 1 in (10, 11)


def test_output_is_28x28_float32_with_darkest_pixel_1_and_mnist_like_intensity():
    out = to_mnist(ring())
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.max() == pytest.approx(1.0)
    assert out.min() >= 0
    assert 0.06 < out.mean() < 0.25  # MNIST: 0.13 on average


def test_centre_of_mass_lands_where_mnist_puts_it():
    for centre in [(150, 150), (110, 200), (190, 80)]:
        out = to_mnist(ring(centre=centre, radius=60))
        assert_allclose(centre_of_mass(out), (14.5, 14.5), atol=0.05)


def test_position_and_size_on_the_canvas_do_not_matter():
    small = to_mnist(ring(size=300, radius=50, width=6, centre=(80, 90)))
    large = to_mnist(ring(size=600, radius=100, width=12, centre=(350, 300)))
    assert np.abs(small - large).mean() < 0.02


def test_mnist_digits_come_back_nearly_unchanged():
    data = pytest.importorskip("training.data")
    try:
        mnist = data.load()
    except data.DatasetError as e:
        pytest.skip(f"MNIST not available: {e}")
    images = mnist.x_test[:200].astype(np.float32) / 255
    diffs = [np.abs(to_mnist(image) - image).mean() for image in images]
    assert np.median(diffs) < 0.04  # MNIST is already normalised: only resampling differences remain


def test_thin_and_thick_pens_come_out_with_mnist_like_strokes():
    for width in (1.5, 4, 12, 40):
        out = to_mnist(ring(size=600, radius=200, width=width, centre=(300, 300)))
        assert 1.2 <= preprocess.stroke_width(out) <= 3.8, width


def test_a_light_pen_reads_like_a_dark_one():
    assert_allclose(to_mnist(0.4 * ring()), to_mnist(ring()), atol=0.02)


def test_blank_ink_gives_zeros():
    for blank in (np.zeros((300, 300)), np.zeros((0, 0)), np.full((50, 50), 0.01), np.full((9, 9), np.nan)):
        out = to_mnist(blank)
        assert out.shape == (28, 28) and not out.any()


def test_odd_values_are_cleaned_not_propagated():
    ink = ring()
    noisy = ink.astype(np.float64)
    noisy[0, 0], noisy[1, 1], noisy[2, 2] = np.nan, -np.inf, -1e300
    noisy[ink > 0.9] = 1e300  # far beyond 1 means "ink"
    out = to_mnist(noisy)
    assert np.isfinite(out).all()
    assert_allclose(out, to_mnist(ink), atol=0.05)


def test_uint8_and_bool_images_are_understood():
    ink = ring()
    assert_allclose(to_mnist((ink * 255).astype(np.uint8)), to_mnist(ink), atol=0.02)
    assert_allclose(to_mnist(ink > 0.5), to_mnist(ink), atol=0.1)


def test_input_is_not_modified():
    ink = ring()
    ink[0, 0] = 0.01
    before = ink.copy()
    to_mnist(ink)
    assert_allclose(ink, before)


@pytest.mark.parametrize("bad", [np.zeros(10), np.zeros((2, 28, 28)), np.float32(1.0)])
def test_wrong_dimensions_say_what_was_expected(bad):
    with pytest.raises(ValueError, match="2-D array"):
        to_mnist(bad)


def test_non_numbers_are_refused():
    with pytest.raises(ValueError, match="real numbers"):
        to_mnist(np.array([["a", "b"]]))


def test_a_mask_reads_the_same_in_any_integer_dtype():
    """uint8 0/1 is a mask like bool 0/1 (it used to be divided by 255 and vanish as blank)."""
    mask = ring() > 0.5
    expected = to_mnist(mask)
    assert expected.any()
    for dtype in (np.uint8, np.int8, np.int64, np.uint16):
        np.testing.assert_array_equal(to_mnist(mask.astype(dtype)), expected)
    assert [p.box for p in segment(mask.astype(np.uint8))] == [p.box for p in segment(mask)]


def test_pixels_0_to_255_read_the_same_in_any_integer_dtype():
    pixels = (ring() * 255).astype(np.uint8)
    expected = to_mnist(pixels)
    for dtype in (np.int16, np.int64, np.uint32):
        np.testing.assert_array_equal(to_mnist(pixels.astype(dtype)), expected)


@given(image=st.one_of(arrays(np.float32, SHAPES, elements=st.floats(0, 1, width=32)), arrays(bool, SHAPES)),
       width=st.integers(0, 4))
@settings(max_examples=100, deadline=None)
def test_framed_is_np_pad_with_zeros(image, width):
    framed = preprocess.framed(image, width)
    assert framed.dtype == image.dtype
    np.testing.assert_array_equal(framed, np.pad(image, width))


def test_bolder_and_lighter_are_grey_dilation_and_erosion_blended_in():
    images = np.random.default_rng(3).random((4, 28, 28), dtype=np.float32) ** 4
    for amount in (0.0, 0.5, 1.0):
        bolder, lighter = preprocess.bolder_and_lighter(images, amount)
        for image, b, lt in zip(images, bolder, lighter, strict=True):  # one image at a time, by grey_morphology
            np.testing.assert_allclose(b, image + amount * (preprocess.grey_morphology(image, 1)[1:-1, 1:-1] - image), atol=1e-6)
            np.testing.assert_allclose(lt, image + amount * (preprocess.grey_morphology(image, -1) - image), atol=1e-6)
    bolder, lighter = preprocess.bolder_and_lighter(images, 0.5)
    assert (lighter <= images + 1e-7).all() and (images <= bolder + 1e-7).all()
