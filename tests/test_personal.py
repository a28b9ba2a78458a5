"""digits.personal: what a person teaches, how it changes readings, and its memory file.

The shipped network and real MNIST test digits throughout. The style the network misreads is
built here from MNIST 1s: a continental 1, a long flag drawn from the top going down-left.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import digits
from digits import cnn, to_mnist
from digits.personal import CAPACITY, MAGIC, VERSION, MemoryFormatError, Personal, parse

MODEL = Path(__file__).resolve().parent.parent / "site" / "model" / "digits.npz"
SLOW_EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def mnist():
    return pytest.importorskip("training.data").load()


@pytest.fixture(scope="module")
def net(mnist) -> cnn.Net:
    if not MODEL.exists():
        pytest.skip(f"{MODEL} is missing: run `make train` (or restore site/model/)")
    net = cnn.load(MODEL)
    if (net.predict(mnist.x_test[:500] / np.float32(255)) == mnist.y_test[:500]).mean() < 0.98:
        pytest.skip(f"{MODEL} is not a trained network yet")
    return net


@pytest.fixture(scope="module")
def test_digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    """2,000 MNIST test digits, (N, 28, 28) float32 and labels."""
    return mnist.x_test[:2000] / np.float32(255), mnist.y_test[:2000].astype(np.int64)


def flagged(digit: np.ndarray, length: float = 0.45, angle: float = 35.0) -> np.ndarray:
    """An MNIST 1 (uint8) with a flag from its top, ``length`` of its height, ``angle`` degrees
    below the horizontal, going left: a continental 1, normalised as the page would."""
    ink = digit / np.float32(255)
    rows, cols = np.nonzero(ink > 0.5)
    top = rows.min()
    start = np.array([top, cols[rows == top].mean()], np.float32)
    reach = length * (rows.max() - top)
    end = start + reach * np.array([np.sin(np.radians(angle)), -np.cos(np.radians(angle))], np.float32)
    y, x = np.mgrid[:28, :28].astype(np.float32)
    d = end - start
    t = np.clip(((y - start[0]) * d[0] + (x - start[1]) * d[1]) / (d @ d), 0, 1)
    distance = np.hypot(y - start[0] - t * d[0], x - start[1] - t * d[1])
    return to_mnist(np.maximum(ink, np.clip(1.6 - distance, 0, 1)))


@pytest.fixture(scope="module")
def continental_ones(net, mnist) -> tuple[np.ndarray, np.ndarray]:
    """(misread, all): continental 1s the network reads as something else, and all of them."""
    ones = np.array([flagged(d) for d in mnist.x_test[mnist.y_test == 1][:400]])
    misread = ones[net.predict(ones) != 1]
    if len(misread) < 20:
        pytest.skip(f"the network misreads only {len(misread)} of 400 continental 1s: no style to teach")
    return misread, ones


def encode(images: np.ndarray, labels: np.ndarray, **header_changes) -> bytes:
    """A memory file written from the format in personal.py's docstring, independently of to_bytes."""
    payload = np.asarray(images, np.uint8).tobytes() + np.asarray(labels, np.uint8).tobytes()
    header = {"count": len(labels), "shape": [28, 28], "crc32": zlib.crc32(payload), **header_changes}
    text = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<II", VERSION, len(text)) + text + payload


# --- the network split that personal reads -------------------------------------------------


def test_features_then_head_is_predict_proba(net, test_digits):
    x = test_digits[0][:300]
    features = net.features(x)
    assert features.shape == (300, net.layers[net.head_start].weight.shape[0]) and features.dtype == np.float32
    np.testing.assert_allclose(net.head(features), net.predict_proba(x), rtol=1e-5, atol=1e-7)
    assert net.features(np.zeros((0, 28, 28), np.float32)).shape == (0, features.shape[1])
    assert (features >= 0).all()  # after the relu: what the last dense layer reads


def test_features_head_split_over_chunks(net, test_digits):
    x = test_digits[0][: cnn.CHUNK * 2 + 5]  # several chunks, as a large batch
    np.testing.assert_allclose(net.head(net.features(x)), net.predict_proba(x), rtol=1e-5, atol=1e-7)


# --- nothing taught ------------------------------------------------------------------------


def test_empty_memory_reads_exactly_as_the_net(net, test_digits):
    x = test_digits[0][:200]
    personal = Personal(net)
    assert len(personal) == 0
    assert np.array_equal(personal.predict_proba(x), net.predict_proba(x))
    assert personal.predict_proba(x).dtype == np.float32


def test_forget_brings_the_net_back(net, test_digits, continental_ones):
    x = test_digits[0][:200]
    personal = Personal(net)
    personal.learn(continental_ones[0][:5], [1] * 5)
    assert len(personal) == 5
    personal.forget()
    assert len(personal) == 0
    assert np.array_equal(personal.predict_proba(x), net.predict_proba(x))


# --- learning ------------------------------------------------------------------------------


def test_taught_drawing_and_near_copies_read_as_taught(net, continental_ones):
    shifted_right = []
    for image in continental_ones[0][:10]:
        personal = Personal(net)
        personal.learn(image[None], [1])
        # The same drawing made again at other sizes, as the page would normalise it: read as taught.
        again = np.stack([image] + [to_mnist(np.kron(image, np.ones((k, k), np.float32))) for k in (3, 7)])
        assert (personal.predict(again) == 1).all()
        # Moved by one pixel (which changes the features more than redrawing usually does): mostly.
        moved = np.stack([np.roll(image, 1, axis=1), np.roll(image, -1, axis=1), np.roll(image, 1, axis=0)])
        shifted_right += (personal.predict(moved) == 1).tolist()
    assert np.mean(shifted_right) >= 0.8


def test_probabilities_stay_probabilities(net, test_digits, continental_ones):
    personal = Personal(net)
    personal.learn(continental_ones[0][:20], [1] * 20)
    p = personal.predict_proba(np.concatenate([test_digits[0][:100], continental_ones[1][:100]]))
    assert p.shape == (200, 10) and p.dtype == np.float32
    assert (p >= 0).all() and np.allclose(p.sum(axis=1), 1, atol=1e-5)


def test_the_page_s_product_reads_as_blas_does(net, test_digits, continental_ones, monkeypatch):
    """Without BLAS (the page) the head's product takes numpy's einsum path (cnn.matmul): the same readings."""
    personal = Personal(net)
    personal.learn(continental_ones[0][:20], [1] * 20)
    x = np.concatenate([test_digits[0][:50], continental_ones[1][:50]])
    with_blas = personal.predict_proba(x)
    monkeypatch.setattr(cnn.machine, "HAS_BLAS", False)
    np.testing.assert_allclose(personal.predict_proba(x), with_blas, atol=1e-5)


def test_five_corrections_teach_the_style(net, test_digits, continental_ones):
    misread, ones = continental_ones
    personal = Personal(net)
    personal.learn(misread[:5], [1] * 5)
    taught = {image.tobytes() for image in misread[:5]}
    new = np.array([image for image in ones if image.tobytes() not in taught])
    base, now = (net.predict(new) == 1).mean(), (personal.predict(new) == 1).mean()
    assert now >= 0.85 and now - base >= 0.5 * (1 - base), (base, now)
    x, y = test_digits
    assert (personal.predict(x) == y).mean() >= (net.predict(x) == y).mean() - 0.002  # MNIST almost untouched


def test_one_wrong_correction_changes_few_other_readings(net, test_digits):
    x, y = test_digits
    base = net.predict(x)
    for truth, wrong in [(3, 8), (1, 7), (4, 9), (0, 6)]:
        i = int(np.flatnonzero((y == truth) & (base == truth))[0])
        personal = Personal(net)
        personal.learn(x[i][None], [wrong])
        now = personal.predict(x)
        assert now[i] == wrong  # what was taught is read as taught ...
        others = np.arange(len(y)) != i
        assert (now[others] != base[others]).mean() <= 0.005, (truth, wrong)  # ... and barely anything else


def test_the_latest_correction_of_a_drawing_wins(net, test_digits):
    x, _ = test_digits
    personal = Personal(net)
    personal.learn(x[:1], [8])  # a slip of the finger ...
    personal.learn(x[:1], [3])  # ... corrected
    assert len(personal) == 1 and personal.labels.tolist() == [3]
    assert personal.predict(x[:1])[0] == 3


def test_capacity_drops_redundant_then_oldest(net, test_digits):
    x, y = test_digits
    picks = [int(np.flatnonzero(y == d)[0]) for d in (2, 1, 5, 6)]
    personal = Personal(net, capacity=3)
    personal.learn(x[picks[:2]], y[picks[:2]])  # a 2, a 1
    personal.learn(x[picks[1]][None], [1])  # the same 1 again
    assert len(personal) == 3
    personal.learn(x[picks[2]][None], [5])  # one over: the older 1, which the newer duplicates, goes
    assert personal.labels.tolist() == [2, 1, 5]
    personal.learn(x[picks[3]][None], [6])  # one over, nothing redundant: the oldest goes
    assert personal.labels.tolist() == [1, 5, 6]


def test_memory_never_exceeds_capacity(net, test_digits):
    x, y = test_digits
    personal = Personal(net, capacity=50)
    personal.learn(x[:80], y[:80])
    assert len(personal) == 50
    assert np.array_equal(personal.images[-1], np.rint(x[79] * 255) / np.float32(255))  # the newest stays
    assert Personal(net).capacity == CAPACITY


def test_learn_refuses_what_is_not_a_correction(net, test_digits):
    x, _ = test_digits
    personal = Personal(net)
    for images, labels in [(x[:2], [1]), (x[:1], [10]), (x[:1], [-1]), (x[:1, :27], [1]), (x[:1], [1.5])]:
        with pytest.raises(ValueError):
            personal.learn(images, labels)
    assert len(personal) == 0


# --- reading ink ---------------------------------------------------------------------------


def test_read_works_unchanged_with_a_personal(net, continental_ones):
    inks = (np.pad(np.kron(image, np.ones((8, 8), np.float32)), 40) for image in continental_ones[0])  # big drawings
    ink = next(ink for ink in inks if digits.read(ink, net).text != "1")
    personal = Personal(net)
    plain, through = digits.read(ink, net), digits.read(ink, personal)
    assert through.text == plain.text
    np.testing.assert_array_equal(through.digits[0].probabilities, plain.digits[0].probabilities)
    personal.learn(through.digits[0].image[None], [1])  # "it's a 1", as the page teaches
    assert digits.read(ink, personal).text == "1"


# --- the memory file -----------------------------------------------------------------------


def test_round_trip(net, test_digits, continental_ones):
    x, y = test_digits
    personal = Personal(net)
    personal.learn(continental_ones[0][:7], [1] * 7)
    personal.learn(x[:5], y[:5])
    data = personal.to_bytes()
    again = Personal.from_bytes(net, data)
    assert len(again) == len(personal)
    assert np.array_equal(again.images, personal.images) and np.array_equal(again.labels, personal.labels)
    assert again.to_bytes() == data
    probe = np.concatenate([continental_ones[1][:50], x[:50]])
    np.testing.assert_allclose(again.predict_proba(probe), personal.predict_proba(probe), atol=1e-5)


def test_memory_file_is_what_the_docstring_says(net, test_digits):
    x, y = test_digits
    personal = Personal(net)
    personal.learn(x[:3], y[:3])
    images = np.rint(x[:3] * 255).astype(np.uint8)
    header = json.loads(personal.to_bytes()[16 : 16 + struct.unpack_from("<I", personal.to_bytes(), 12)[0]])
    assert header["count"] == 3 and header["shape"] == [28, 28]
    assert parse(personal.to_bytes())[0].tobytes() == images.tobytes()
    assert parse(encode(images, y[:3]))[1].tolist() == y[:3].tolist()


def test_a_retrained_network_reads_an_old_memory(net, test_digits, continental_ones):
    """The file keeps drawings, not one network's features: another network computes its own."""
    x, y = test_digits
    personal = Personal(net)
    personal.learn(continental_ones[0][:5], [1] * 5)
    personal.learn(x[:3], [(label + 1) % 10 for label in y[:3]])  # and three the network firmly disagrees with
    specs, arrays, meta = cnn.read_weight_file(MODEL)  # a stand-in for a retrained network: every weight moved by 10 %
    rng = np.random.default_rng(0)
    moved = {name: (a * (1 + 0.1 * rng.standard_normal(a.shape))).astype(np.float32) for name, a in arrays.items()}
    retrained = cnn.Net(cnn.build(specs, moved), meta)
    assert np.abs(retrained.predict_proba(x) - net.predict_proba(x)).max() > 0.1  # it does read differently
    again = Personal.from_bytes(retrained, personal.to_bytes())
    assert np.array_equal(again.labels, personal.labels)
    assert np.array_equal(again.predict(again.images), personal.labels)  # every taught drawing read as taught


@SLOW_EXAMPLES
@given(st.data())
def test_any_memory_round_trips(net, data):
    n = data.draw(st.integers(0, 4))
    blobs = data.draw(st.lists(st.binary(min_size=784, max_size=784), min_size=n, max_size=n))
    images = np.frombuffer(b"".join(blobs), np.uint8).reshape(n, 28, 28)
    labels = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.uint8)
    raw = encode(images, labels)
    got_images, got_labels = parse(raw)
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    personal = Personal.from_bytes(net, raw)
    assert len(personal) == n and personal.to_bytes() == raw


@pytest.fixture(scope="module")
def good_file(mnist) -> bytes:
    return encode(mnist.x_test[:2], mnist.y_test[:2])


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda good: b"", "shorter than its fixed header"),
        (lambda good: good[:10], "shorter than its fixed header"),
        (lambda good: b"PK\x03\x04" + good[4:], "not a digits memory file"),
        (lambda good: good[:8] + struct.pack("<I", 2) + good[12:], "version 2 is not supported"),
        (lambda good: good[:12] + struct.pack("<I", 10**6) + good[16:], "truncated"),
        (lambda good: good[:-1], "truncated"),
        (lambda good: good + b"\0", "too long"),
    ],
)
def test_bad_bytes_are_refused_with_a_reason(net, good_file, make, says):
    with pytest.raises(MemoryFormatError, match=says):
        Personal.from_bytes(net, make(good_file))


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"shape": [27, 28]}, "shaped"),
        ({"count": 3}, "truncated"),
        ({"count": -1}, "count"),
        ({"count": "2"}, "count"),
        ({"crc32": 12345}, "checksum"),
        ({"crc32": None}, "crc32"),
        ({"comment": "hi"}, "exactly count, shape and crc32"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(net, mnist, changes, says):
    data = encode(mnist.x_test[:2], mnist.y_test[:2], **changes)
    with pytest.raises(MemoryFormatError, match=says):
        Personal.from_bytes(net, data)


def test_label_out_of_range_with_a_right_checksum_is_refused(mnist):
    with pytest.raises(MemoryFormatError, match="labels out of range"):
        parse(encode(mnist.x_test[:2], np.array([3, 12])))


def test_header_that_is_not_json_is_refused():
    text = b"{count: 1"
    with pytest.raises(MemoryFormatError, match="not JSON"):
        parse(MAGIC + struct.pack("<II", VERSION, len(text)) + text)
    with pytest.raises(MemoryFormatError, match="bytes"):
        parse("digitmem")


def test_every_single_byte_change_is_caught(good_file):
    for position in range(len(good_file)):
        damaged = bytearray(good_file)
        damaged[position] ^= 0x20
        with pytest.raises(MemoryFormatError):
            parse(bytes(damaged))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused(data):
    with pytest.raises(MemoryFormatError):
        parse(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_behind_a_right_magic_are_refused(data):
    with pytest.raises(MemoryFormatError):
        parse(MAGIC + struct.pack("<I", VERSION) + data)
