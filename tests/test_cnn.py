"""site/digits/cnn.py: each layer against a plain loop, the file format, and bad weight files."""

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digits import cnn


def conv2d_loops(x, w, b, padding):
    kh, kw, c, k = w.shape
    if padding == "same":
        top, left = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    n, h, wd, _ = x.shape
    out = np.zeros((n, h - kh + 1, wd - kw + 1, k))
    for i in range(n):
        for y in range(h - kh + 1):
            for xx in range(wd - kw + 1):
                for o in range(k):
                    out[i, y, xx, o] = np.sum(x[i, y : y + kh, xx : xx + kw, :] * w[..., o]) + b[o]
    return out


def max_pool_loops(x, size):
    n, h, w, c = x.shape
    out = np.zeros((n, h // size, w // size, c))
    for i in range(n):
        for y in range(h // size):
            for xx in range(w // size):
                for ch in range(c):
                    out[i, y, xx, ch] = x[i, y * size : (y + 1) * size, xx * size : (xx + 1) * size, ch].max()
    return out


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2), h=st.integers(5, 9), w=st.integers(5, 9), c=st.integers(1, 3), k=st.integers(1, 4),
    size=st.sampled_from([1, 3, 5]), padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16),
)
def test_conv2d_matches_loops(n, h, w, c, k, size, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    weight = rng.standard_normal((size, size, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    np.testing.assert_allclose(cnn.conv2d(x, weight, bias, padding), conv2d_loops(x, weight, bias, padding), rtol=1e-4, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), size=st.sampled_from([2, 3]), seed=st.integers(0, 2**16))
def test_max_pool_matches_loops(h, w, size, seed):
    x = np.random.default_rng(seed).standard_normal((2, h, w, 3)).astype(np.float32)
    if h < size or w < size:
        return
    np.testing.assert_array_equal(cnn.max_pool(x, size), max_pool_loops(x, size))


def test_dense_relu_flatten_softmax_match_definitions():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 7)), rng.standard_normal((7, 4)), rng.standard_normal(4)
    expected = np.array([[sum(x[i, j] * w[j, o] for j in range(7)) + b[o] for o in range(4)] for i in range(3)])
    np.testing.assert_allclose(cnn.dense(x, w, b), expected, rtol=1e-10)
    np.testing.assert_array_equal(cnn.relu(np.array([-1.0, 0.0, 2.0])), [0, 0, 2])
    image = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(cnn.flatten(image)[1], [image[1, i, j, k] for i in range(3) for j in range(4) for k in range(5)])
    logits = np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]])
    np.testing.assert_allclose(cnn.softmax(logits), [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-12)


def small_net_file(path, seed=0):
    """A randomly initialised net of the shipped architecture, written in the npz format."""
    rng = np.random.default_rng(seed)
    shapes = {"c1": (5, 5, 1, 8), "c2": (3, 3, 8, 8), "d1": (288, 16), "d2": (16, 10)}
    arrays = {}
    for name, shape in shapes.items():
        fan_in = np.prod(shape[:-1])
        arrays[f"{name}.weight"] = (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float16)
        arrays[f"{name}.bias"] = (rng.standard_normal(shape[-1]) * 0.1).astype(np.float16)
    layers = [
        {"type": "conv2d", "weight": "c1.weight", "bias": "c1.bias", "padding": "valid"}, {"type": "relu"},
        {"type": "max_pool", "size": 2},
        {"type": "conv2d", "weight": "c2.weight", "bias": "c2.bias", "padding": "same"}, {"type": "relu"},
        {"type": "max_pool", "size": 2}, {"type": "flatten"},
        {"type": "dense", "weight": "d1.weight", "bias": "d1.bias"}, {"type": "relu"},
        {"type": "dense", "weight": "d2.weight", "bias": "d2.bias"}, {"type": "softmax"},
    ]
    cnn.save(path, layers, arrays, {"note": "test"})
    return layers, arrays


def test_net_built_from_file_matches_the_layers_by_hand(tmp_path):
    _, arrays = small_net_file(tmp_path / "net.npz")
    net = cnn.load(tmp_path / "net.npz")
    x = np.random.default_rng(2).random((3, 28, 28)).astype(np.float32)
    a = {k: v.astype(np.float32) for k, v in arrays.items()}
    h = x[..., None]
    h = max_pool_loops(np.maximum(conv2d_loops(h, a["c1.weight"], a["c1.bias"], "valid"), 0), 2)
    h = max_pool_loops(np.maximum(conv2d_loops(h, a["c2.weight"], a["c2.bias"], "same"), 0), 2)
    h = np.maximum(h.reshape(3, -1) @ a["d1.weight"] + a["d1.bias"], 0) @ a["d2.weight"] + a["d2.bias"]
    expected = np.exp(h) / np.exp(h).sum(1, keepdims=True)
    p = net.predict_proba(x)
    assert p.dtype == np.float32 and p.shape == (3, 10)
    np.testing.assert_allclose(p, expected, atol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    assert net.meta == {"note": "test"}
    assert net.multiply_adds == 24 * 24 * 25 * 8 + 12 * 12 * 72 * 8 + 288 * 16 + 16 * 10
    assert len(net.activations(x[:1])) == 11


def test_batches_larger_than_a_chunk_give_the_same_answers(tmp_path):
    small_net_file(tmp_path / "net.npz")
    net = cnn.load(tmp_path / "net.npz")
    x = np.random.default_rng(3).random((cnn.CHUNK + 7, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(net.predict_proba(x)[-7:], net.predict_proba(x[-7:]), atol=1e-6)
    np.testing.assert_array_equal(net.predict_proba(x, workers=2), net.predict_proba(x))
    assert net.predict_proba(x[:0]).shape == (0, 10)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        net.predict_proba(np.zeros((2, 32, 32)))


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(cnn.WeightsError, match="not found.*make train"):
        cnn.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_file_is_reported_not_crashed(tmp_path, content):
    (tmp_path / "bad.npz").write_bytes(content)
    with pytest.raises(cnn.WeightsError, match="corrupt|damaged"):
        cnn.load(tmp_path / "bad.npz")


def test_truncated_file_is_reported(tmp_path):
    small_net_file(tmp_path / "net.npz")
    raw = (tmp_path / "net.npz").read_bytes()
    with pytest.raises(cnn.WeightsError):
        cnn.load(raw[: len(raw) // 2])


def test_wrong_format_version_and_layer_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(cnn.WeightsError, match="damaged"):
        cnn.load(tmp_path / "other.npz")
    layers, arrays = small_net_file(tmp_path / "net.npz")
    with zipfile.ZipFile(tmp_path / "net.npz") as z:
        assert "layers.npy" in z.namelist()
    np.savez(tmp_path / "v2.npz", format=np.array("digits-npz"), version=np.array(2), layers=np.array(json.dumps(layers)), **arrays)
    with pytest.raises(cnn.WeightsError, match="version 2"):
        cnn.load(tmp_path / "v2.npz")
    bad = [*layers[:-1], {"type": "gelu"}]
    cnn.save(tmp_path / "gelu.npz", bad, arrays)
    with pytest.raises(cnn.WeightsError, match="gelu"):
        cnn.load(tmp_path / "gelu.npz")


def test_loads_from_bytes(tmp_path):
    small_net_file(tmp_path / "net.npz")
    net = cnn.load((tmp_path / "net.npz").read_bytes())
    assert net.parameters == sum(np.prod(s) + s[-1] for s in [(5, 5, 1, 8), (3, 3, 8, 8), (288, 16), (16, 10)])


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 11), w=st.integers(3, 11), c=st.integers(1, 4), k=st.integers(1, 4), seed=st.integers(0, 2**16),
       m=st.sampled_from([2, 4, 5]))
def test_winograd_3x3_matches_loops(h, w, c, k, seed, m):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, c)).astype(np.float32)
    weight = rng.standard_normal((3, 3, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    got = cnn.conv3x3_winograd(x, cnn.winograd_weights(weight, m), bias)
    np.testing.assert_allclose(got, conv2d_loops(x, weight, bias, "valid"), rtol=1e-4, atol=1e-4)


def test_winograd_and_im2col_networks_agree(tmp_path):
    layers, arrays = small_net_file(tmp_path / "net.npz")
    layers[3]["padding"] = "valid"
    arrays["d1.weight"] = np.zeros((200, 16), np.float16) + np.float16(0.01)
    cnn.save(tmp_path / "valid.npz", layers, arrays)
    x = np.random.default_rng(4).random((5, 28, 28)).astype(np.float32)
    fast, plain = cnn.load(tmp_path / "valid.npz", winograd=True), cnn.load(tmp_path / "valid.npz", winograd=False)
    assert fast.layers[3].winograd is not None and plain.layers[3].winograd is None
    np.testing.assert_allclose(fast.predict_proba(x), plain.predict_proba(x), atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(m=st.sampled_from([2, 4, 5]), p=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_winograd_transforms_with_and_without_blas_agree(m, p, seed):
    """The page (no BLAS) and CPython take different routes to the same B^T d B."""
    mat = np.array(cnn.WINOGRAD[m]["BT"], np.float32)
    d = np.random.default_rng(seed).standard_normal((m + 2, m + 2, p)).astype(np.float32)
    expected = np.einsum("ra,abp,sb->rsp", mat.astype(np.float64), d.astype(np.float64), mat.astype(np.float64))
    np.testing.assert_allclose(cnn.both_axes_separable(mat, d), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(cnn.both_axes_kron(mat, d), expected, rtol=1e-5, atol=1e-4)
