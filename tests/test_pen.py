"""training.pen: traced strokes cached with their checksum, and digits redrawn with the page's pen."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training import pen
from training import strokes as pen_strokes


def scan(*strokes, width: float = 2.5) -> np.ndarray:
    """A (28, 28) uint8 'scan' of strokes given as point lists in MNIST coordinates."""
    return np.round(pen_strokes.paint([np.array(s, np.float32) for s in strokes], (28, 28), width) * 255).astype(np.uint8)


RING = [(14 + 6 * np.cos(t), 14 + 9 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 40)]
IMAGES = np.array([
    scan([(14, 4), (14, 24)]),  # a bar
    scan(RING),  # a ring
    scan([(6, 14), (22, 14)], [(14, 5), (14, 23)]),  # a plus
    np.zeros((28, 28), np.uint8),  # blank
    scan([(7, 6), (21, 6), (12, 23)]),  # a 7
])


def serial(function, chunks, label):
    return [function(chunk) for chunk in chunks]


def refuse(function, chunks, label):
    raise AssertionError(f"{label}: computed again although the cache holds it")


def same_digits(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert len(x) == len(y)
        for s, t in zip(x, y, strict=True):
            np.testing.assert_array_equal(s, t)


# --- pack / unpack -------------------------------------------------------------------------------


stroke_lists = st.lists(
    st.lists(arrays(np.float32, st.tuples(st.integers(0, 5), st.just(2)), elements=st.floats(-30, 30, width=32)),
             max_size=4),
    max_size=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digits=stroke_lists)
def test_unpack_of_pack_gives_back_every_digit_s_strokes(digits):
    packed = pen.pack(digits)
    assert packed["points"].dtype == np.float32 and packed["points"].shape[1:] == (2,)
    assert packed["stroke_ends"].dtype == np.int64 and packed["digit_ends"].dtype == np.int64
    same_digits(pen.unpack(packed), digits)


def test_no_digits_pack_and_unpack_to_no_digits():
    assert pen.unpack(pen.pack([])) == []
    assert pen.unpack(pen.pack([[], []])) == [[], []]


# --- traced: the cache ----------------------------------------------------------------------------


def test_traced_traces_every_image_and_caches_it_with_its_checksum_and_source(tmp_path):
    digits = pen.traced(IMAGES, "tiny", tmp_path)  # the real worker pool, once
    same_digits(digits, [pen_strokes.trace(image) for image in IMAGES])
    assert digits[3] == []  # a blank scan has no strokes
    path, check = tmp_path / "tiny-strokes.npz", tmp_path / "tiny-strokes.sha256"
    assert check.read_text().strip() == hashlib.sha256(path.read_bytes()).hexdigest()
    with np.load(path) as arrays_:
        header = json.loads(str(arrays_["header"]))
        assert header == {"format": "digits-strokes", "version": pen.VERSION, "count": len(IMAGES),
                          "source_sha256": hashlib.sha256(IMAGES.tobytes()).hexdigest()}
        assert set(arrays_.files) == {"header", "points", "stroke_ends", "digit_ends"}
    assert not list(tmp_path.glob("*.tmp*"))  # written whole, then moved into place


def test_traced_reads_its_cache_without_tracing_again(tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    first = pen.traced(IMAGES, "tiny", tmp_path)
    monkeypatch.setattr(pen, "_parallel", refuse)
    same_digits(pen.traced(IMAGES, "tiny", tmp_path), first)


def spoil_file(tmp_path):
    path = tmp_path / "tiny-strokes.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def drop_checksum(tmp_path):
    (tmp_path / "tiny-strokes.sha256").unlink()


def wrong_checksum(tmp_path):
    (tmp_path / "tiny-strokes.sha256").write_text("0" * 64 + "\n")


def older_version(tmp_path):
    """A well-formed file with a matching checksum, written by an older version of the format."""
    path = tmp_path / "tiny-strokes.npz"
    with np.load(path) as arrays_:
        content = {name: arrays_[name] for name in arrays_.files}
    header = json.loads(str(content.pop("header")))
    header["version"] = pen.VERSION - 1
    np.savez_compressed(path, header=np.array(json.dumps(header)), **content)
    (tmp_path / "tiny-strokes.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")


@pytest.mark.parametrize("spoil", [spoil_file, drop_checksum, wrong_checksum, older_version])
def test_a_corrupt_or_unverifiable_cache_is_traced_again(spoil, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pen, "_parallel", serial)
    first = pen.traced(IMAGES, "tiny", tmp_path)
    spoil(tmp_path)
    calls = []
    monkeypatch.setattr(pen, "_parallel", lambda f, chunks, label: calls.append(label) or serial(f, chunks, label))
    same_digits(pen.traced(IMAGES, "tiny", tmp_path), first)
    assert calls, "the spoiled cache was used"
    path = tmp_path / "tiny-strokes.npz"
    assert (tmp_path / "tiny-strokes.sha256").read_text().strip() == hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(pen, "_parallel", refuse)
    same_digits(pen.traced(IMAGES, "tiny", tmp_path), first)  # and the new cache is good


def test_a_cache_of_other_images_is_not_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pen, "_parallel", serial)
    pen.traced(IMAGES, "tiny", tmp_path)
    other = IMAGES[::-1].copy()
    same_digits(pen.traced(other, "tiny", tmp_path), [pen_strokes.trace(image) for image in other])
    assert "stale or corrupt" in capsys.readouterr().out
    with np.load(tmp_path / "tiny-strokes.npz") as arrays_:
        assert json.loads(str(arrays_["header"]))["source_sha256"] == hashlib.sha256(other.tobytes()).hexdigest()
    # one image fewer: the same bytes would be a prefix, the count tells them apart
    monkeypatch.setattr(pen, "_parallel", serial)
    assert len(pen.traced(other[:-1], "tiny", tmp_path)) == len(other) - 1


def test_traced_of_no_images_is_cached_too(tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    assert pen.traced(IMAGES[:0], "none", tmp_path) == []
    monkeypatch.setattr(pen, "_parallel", refuse)
    assert pen.traced(IMAGES[:0], "none", tmp_path) == []


# --- drawing with the page's pen -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_digits():
    return [pen_strokes.trace(image) for image in IMAGES]


def centre_of_mass(image):
    total = image.sum(dtype=np.float64)
    ys, xs = np.mgrid[:28, :28] + 0.5
    return float((image * xs).sum() / total), float((image * ys).sum() / total)


def test_pen_images_draws_every_digit_several_times_mnist_style_and_caches_them(tiny_digits, tmp_path, monkeypatch):
    images = pen.pen_images(tiny_digits, seed=3, variants=2, name="tiny", cache=tmp_path)
    assert images.shape == (len(IMAGES), 2, 28, 28) and images.dtype == np.uint8
    assert not images[3].any()  # a digit without strokes stays blank
    for k in (0, 1, 2, 4):
        for image in images[k]:
            assert image.max() >= 200
            x, y = centre_of_mass(image.astype(np.float64))
            assert abs(x - 14.5) < 1.5 and abs(y - 14.5) < 1.5  # MNIST's centring
            rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
            assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22  # the longer side about 20 px
    assert not np.array_equal(images[:, 0], images[:, 1])  # variants differ
    monkeypatch.setattr(pen, "_parallel", refuse)
    np.testing.assert_array_equal(pen.pen_images(tiny_digits, seed=3, variants=2, name="tiny", cache=tmp_path), images)


def test_pen_images_depend_on_the_seed_alone(tiny_digits, tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    a = pen.pen_images(tiny_digits, seed=5, variants=1, name="tiny", cache=tmp_path / "a")
    b = pen.pen_images(tiny_digits, seed=5, variants=1, name="tiny", cache=tmp_path / "b")
    c = pen.pen_images(tiny_digits, seed=6, variants=1, name="tiny", cache=tmp_path / "a")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_drawings_are_cached_in_a_folder_made_if_missing(tiny_digits, tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    folder = tmp_path / "not" / "yet"
    images = pen.pen_images(tiny_digits, seed=3, variants=1, name="tiny", cache=folder)  # as traced() does
    assert len(list(folder.glob("tiny-pen-*.npy"))) == 1 and images.shape == (len(IMAGES), 1, 28, 28)


def test_a_corrupt_drawing_cache_is_drawn_again(tiny_digits, tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    images = pen.pen_images(tiny_digits, seed=3, variants=1, name="tiny", cache=tmp_path)
    (cached,) = tmp_path.glob("tiny-pen-*.npy")
    cached.write_bytes(b"not a numpy file")
    np.testing.assert_array_equal(pen.pen_images(tiny_digits, seed=3, variants=1, name="tiny", cache=tmp_path), images)


def test_pair_images_are_two_digits_side_by_side_normalised_as_one(tiny_digits, tmp_path, monkeypatch):
    monkeypatch.setattr(pen, "_parallel", serial)
    pairs = pen.pair_images(tiny_digits, count=4, seed=1, name="tiny", cache=tmp_path)
    assert pairs.shape == (4, 28, 28) and pairs.dtype == np.uint8
    for image in pairs:
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        assert cols[-1] - cols[0] >= rows[-1] - rows[0]  # wider than tall: two digits abreast
    monkeypatch.setattr(pen, "_parallel", refuse)
    np.testing.assert_array_equal(pen.pair_images(tiny_digits, count=4, seed=1, name="tiny", cache=tmp_path), pairs)


def test_draw_pair_refuses_a_pair_as_compact_as_one_digit():
    bar = [np.array([(14, 4), (14, 24)], np.float32)]
    rng = np.random.default_rng(0)
    assert all(pen.draw_pair(bar, bar, rng) is None for _ in range(20))  # 1 against 1 looks like one digit


def test_nondigit_images_draw_the_kinds_asked_and_are_cached(tmp_path, monkeypatch):
    from training import nondigits

    monkeypatch.setattr(pen, "_parallel", serial)
    kinds = nondigits.TRAIN_KINDS[:2]
    images = pen.nondigit_images(3, seed=0, kinds=kinds, cache=tmp_path)
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert all(image.max() >= 200 for image in images)
    monkeypatch.setattr(pen, "_parallel", refuse)
    np.testing.assert_array_equal(pen.nondigit_images(3, seed=0, kinds=kinds, cache=tmp_path), images)
    monkeypatch.setattr(pen, "_parallel", serial)
    other = pen.nondigit_images(3, seed=0, kinds=nondigits.TRAIN_KINDS[2:4], cache=tmp_path)
    assert not np.array_equal(other, images)  # the cache is keyed by the kinds
