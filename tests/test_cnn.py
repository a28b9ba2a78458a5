"""site/digits/cnn.py: each layer against a plain loop, the file format, and bad weight files."""

import json
import os
import threading
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digits import cnn, machine


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
@given(
    n=st.integers(1, 2), h=st.integers(5, 11), w=st.integers(5, 11), c=st.integers(1, 2), k=st.integers(1, 4),
    size=st.sampled_from([1, 3, 5]), block=st.integers(1, 6), seed=st.integers(0, 2**16),
)
def test_conv2d_by_row_blocks_matches_loops(n, h, w, c, k, size, block, seed):
    """Any block length, whether or not it divides the output's width (the last block is padded)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    weight = rng.standard_normal((size, size, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    got = cnn.conv2d_rows(x, cnn.banded_weights(weight, block), bias, size, size, block)
    np.testing.assert_allclose(got, conv2d_loops(x, weight, bias, "valid"), rtol=1e-4, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2), half_h=st.integers(1, 5), blocks=st.integers(1, 3), c=st.integers(1, 2), k=st.integers(1, 4),
    size=st.sampled_from([1, 3, 5]), block=st.sampled_from([2, 4, 6]), seed=st.integers(0, 2**16),
)
def test_conv2d_by_row_blocks_then_pooled_matches_loops(n, half_h, blocks, c, k, size, block, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2 * half_h + size - 1, blocks * block + size - 1, c)).astype(np.float32)
    weight = rng.standard_normal((size, size, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    got = cnn.conv2d_rows_pooled(x, cnn.banded_weights(weight, block, paired=True), bias, size, size, block)
    np.testing.assert_allclose(got, max_pool_loops(conv2d_loops(x, weight, bias, "valid"), 2), rtol=1e-4, atol=1e-4)


def test_the_image_s_convolution_runs_by_row_blocks_only_with_blas(tmp_path, monkeypatch):
    """With BLAS the first convolution (one channel in) takes the row-block product, pooled in the
    same step; without it (the page) multiply-adds are the cost and im2col's product stays; both
    give the same outputs, as does running the layers one by one."""
    valid_net_file(tmp_path / "valid.npz")
    x = np.random.default_rng(3).random((3, 28, 28)).astype(np.float32)
    outputs = {}
    for block in (4, None):
        monkeypatch.setattr(machine, "ROW_BLOCK", block)
        net = cnn.load(tmp_path / "valid.npz")
        outputs[block] = net.predict_proba(x)
        assert net.layers[0].row_block == block and net.layers[3].row_block is None  # 8 channels in: im2col
        assert (net.layers[0].pooled is not None) == (block is not None)  # and its max-pool with it
        np.testing.assert_allclose(net.activations(x)[-1], outputs[block], rtol=1e-6, atol=1e-7)  # layer by layer
    np.testing.assert_allclose(outputs[4], outputs[None], rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), size=st.sampled_from([2, 3]), seed=st.integers(0, 2**16))
def test_max_pool_matches_loops(h, w, size, seed):
    x = np.random.default_rng(seed).standard_normal((2, h, w, 3)).astype(np.float32)
    if h < size or w < size:
        return
    np.testing.assert_array_equal(cnn.max_pool(x, size), max_pool_loops(x, size))


@pytest.mark.parametrize("blas", [True, False], ids=["BLAS (CPython)", "no BLAS (the page)"])
def test_dense_relu_flatten_softmax_match_definitions(blas, monkeypatch):
    monkeypatch.setattr(machine, "HAS_BLAS", blas)  # dense takes another path without BLAS
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 7)), rng.standard_normal((7, 4)), rng.standard_normal(4)
    expected = np.array([[sum(x[i, j] * w[j, o] for j in range(7)) + b[o] for o in range(4)] for i in range(3)])
    np.testing.assert_allclose(cnn.dense(x, w, b), expected, rtol=1e-10)
    np.testing.assert_allclose(cnn.dense(x, np.ascontiguousarray(w.T).T, b), expected, rtol=1e-10)  # as build_dense keeps it
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


def valid_net_file(path):
    """small_net_file with its 3x3 convolution 'valid' (12x12 in, 10x10 out), a layer Winograd F(5x5) can run."""
    layers, arrays = small_net_file(path)
    layers[3]["padding"] = "valid"
    arrays["d1.weight"] = np.zeros((200, 16), np.float16) + np.float16(0.01)
    cnn.save(path, layers, arrays)
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
    with pytest.raises(cnn.WeightsError, match="not a digits weight file"):
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


def test_winograd_and_im2col_networks_agree(tmp_path):
    valid_net_file(tmp_path / "valid.npz")
    x = np.random.default_rng(4).random((5, 28, 28)).astype(np.float32)
    fast, plain = cnn.load(tmp_path / "valid.npz", winograd=True), cnn.load(tmp_path / "valid.npz", winograd=False)
    assert fast.layers[3].winograd_tile == 5 and plain.layers[3].winograd_tile is None
    np.testing.assert_allclose(fast.predict_proba(x), plain.predict_proba(x), atol=1e-6)


# --- a weight file that does not describe a digits network fails at load, saying why ----------------


def broken(layers, arrays, change):
    """A copy of the layer list and arrays with one change made by `change(layers, arrays)`."""
    layers, arrays = [dict(spec) for spec in layers], dict(arrays)
    change(layers, arrays)
    return layers, arrays


def swap_dense_weight(layers, arrays):
    arrays["d1.weight"] = np.zeros((300, 16), np.float16)


LOAD_PROBLEMS = {
    "no layers": (lambda layers, arrays: layers.clear(), r"lists no layers"),
    "reversed": (lambda layers, arrays: layers.reverse(), r"layer 1 \(dense\): needs a flat input"),
    "no softmax": (lambda layers, arrays: layers.pop(), r"last layer is dense, not softmax"),
    "11 outputs": (lambda layers, arrays: arrays.update({"d2.weight": np.zeros((16, 11), np.float16),
                                                         "d2.bias": np.zeros(11, np.float16)}), r"11 outputs, not 10"),
    "conv channels": (lambda layers, arrays: arrays.update({"c2.weight": np.zeros((3, 3, 4, 8), np.float16)}),
                      r"layer 3 \(conv2d\): weight \(3, 3, 4, 8\) takes 4 channels in, but the layer before gives 8"),
    "conv bias": (lambda layers, arrays: arrays.update({"c1.bias": np.zeros(7, np.float16)}),
                  r"layer 0 \(conv2d\): bias has shape \(7,\), expected \(8,\)"),
    "dense size": (swap_dense_weight, r"layer 7 \(dense\): weight has shape \(300, 16\), expected \(288, outputs\)"),
    "no flatten": (lambda layers, arrays: layers.pop(6), r"layer 6 \(dense\): needs a flat input.*flatten layer is missing"),
    "kernel too big": (lambda layers, arrays: arrays.update({"c1.weight": np.zeros((29, 29, 1, 8), np.float16)}),
                       r"29x29 kernel does not fit its 28x28 input"),
    "missing array": (lambda layers, arrays: layers[0].update(weight="c9.weight"), r"layer 0 \(conv2d\): its weight 'c9.weight' is not in"),
    "no weight named": (lambda layers, arrays: layers[7].pop("weight"), r"layer 7 \(dense\): names no weight array"),
    "integer weights": (lambda layers, arrays: arrays.update({"c1.weight": np.zeros((5, 5, 1, 8), np.int32)}), r"holds int32, not floats"),
    "misspelt option": (lambda layers, arrays: layers[3].update(paddding="same"), r"layer 3 \(conv2d\): unknown field 'paddding'"),
    "relu option": (lambda layers, arrays: layers[1].update(alpha=0.1), r"layer 1 \(relu\): unknown field 'alpha' \(it has no fields\)"),
    "bad padding": (lambda layers, arrays: layers[3].update(padding="full"), r"padding 'full' is neither 'valid' nor 'same'"),
    "bad pool size": (lambda layers, arrays: layers[2].update(size="2"), r"layer 2 \(max_pool\): size '2' must be a whole number"),
    "not an object": (lambda layers, arrays: layers.insert(2, "relu"), r"layer 2: an entry must be an object with a \"type\""),
    "unknown type": (lambda layers, arrays: layers.insert(1, {"type": "gelu"}), r"layer 1 \(gelu\): unknown layer type 'gelu'"),
}


@pytest.mark.parametrize("problem", LOAD_PROBLEMS)
def test_a_network_that_does_not_chain_fails_at_load_naming_the_problem(tmp_path, problem):
    change, message = LOAD_PROBLEMS[problem]
    layers, arrays = broken(*small_net_file(tmp_path / "net.npz"), change)
    cnn.save(tmp_path / "bad.npz", layers, arrays)
    with pytest.raises(cnn.WeightsError, match=message):
        cnn.load(tmp_path / "bad.npz")


def test_the_layer_options_defaults_live_in_the_table(tmp_path):
    """A file that leaves padding and pool size out gets the table's defaults, and says so."""
    layers, arrays = broken(*small_net_file(tmp_path / "net.npz"), lambda layers, arrays: [layers[i].pop(key) for i, key in
                                                                                         ((0, "padding"), (2, "size"))])
    cnn.save(tmp_path / "defaults.npz", layers, arrays)
    net = cnn.load(tmp_path / "defaults.npz")
    assert net.layers[0].options == {"padding": cnn.LAYER_TYPES["conv2d"].options["padding"]} == {"padding": "valid"}
    assert net.layers[1].type == "max_pool" and net.layers[1].options == {"size": 2}  # pooled before the relu
    assert [layer.shape for layer in net.layers[:3]] == [(24, 24, 8), (12, 12, 8), (12, 12, 8)]


@pytest.mark.parametrize(("content", "message"), [
    (b"\x8f\x13random bytes, not an archive" * 20, r"not an \.npz archive"),
    (b"", r"is empty"),
])
def test_random_bytes_are_not_an_archive_and_pickle_is_never_suggested(tmp_path, content, message):
    (tmp_path / "random.npz").write_bytes(content)
    for source in (tmp_path / "random.npz", content):
        with pytest.raises(cnn.WeightsError, match=message) as e:
            cnn.load(source)
        assert "pickle" not in str(e.value)


def test_an_npy_file_or_object_arrays_are_refused_clearly(tmp_path):
    np.save(tmp_path / "weights.npy", np.zeros(3))
    with pytest.raises(cnn.WeightsError, match=r"not an \.npz archive") as e:
        cnn.load(tmp_path / "weights.npy")
    layers, arrays = small_net_file(tmp_path / "net.npz")
    np.savez(tmp_path / "objects.npz", format=np.array(cnn.FORMAT), version=np.array(1),
             layers=np.array([json.dumps(layers)], dtype=object), **arrays)
    with pytest.raises(cnn.WeightsError, match="corrupt .*Python objects, which are never loaded") as e:
        cnn.load(tmp_path / "objects.npz")
    assert "allow_pickle" not in str(e.value)


# --- predict_proba takes 0..1 images only, and spreads big batches over the cores ---------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.npz"
    small_net_file(path)
    return cnn.load(path)


def test_uint8_pixels_are_refused_with_what_to_do(net):
    pixels = (np.random.default_rng(6).random((2, 28, 28)) * 255).astype(np.uint8)
    with pytest.raises(ValueError, match=r"0\.\.1 .*got 0\.\.25\d: pixel values 0\.\.255\? divide by 255"):
        net.predict_proba(pixels)
    np.testing.assert_array_equal(net.predict_proba(pixels / np.float32(255)), net.predict_proba(pixels.astype(np.float32) / 255))


@pytest.mark.parametrize(("images", "message"), [
    (np.full((1, 28, 28), -0.5), r"values 0\.\.1 .*got -0\.5\.\.-0\.5$"),
    (np.full((28, 28), 1.01), r"values 0\.\.1"),
    (np.full((1, 28, 28), np.nan), r"NaN"),
    (np.zeros((1, 28, 28, 1)), r"\(N, 28, 28\)"),
    (np.zeros((3, 784)), r"\(N, 28, 28\)"),
    (np.full((1, 28, 28), "a"), r"numbers"),
])
def test_images_outside_the_contract_are_refused(net, images, message):
    with pytest.raises(ValueError, match=message):
        net.predict_proba(images)


def test_a_mask_reads_the_same_in_any_dtype(net):
    mask = np.zeros((1, 28, 28), bool)
    mask[0, 5:23, 12:16] = True
    expected = net.predict_proba(mask.astype(np.float32))
    for dtype in (bool, np.uint8, np.int64, np.float64):
        np.testing.assert_array_equal(net.predict_proba(mask.astype(dtype)), expected)


def test_every_core_by_default_and_the_same_bits_whatever_the_workers(net):
    x = np.random.default_rng(7).random((3 * cnn.CHUNK + 5, 28, 28)).astype(np.float32)
    by_default = net.predict_proba(x)
    for workers in (1, 2, 3, 8):
        np.testing.assert_array_equal(net.predict_proba(x, workers=workers), by_default)
    assert machine.default_workers() == (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_a_nonsense_worker_count_is_refused(net, workers):
    x = np.zeros((2 * cnn.CHUNK, 28, 28), np.float32)
    with pytest.raises(ValueError, match="workers must be a whole number"):
        net.predict_proba(x, workers=workers)


def test_chunks_really_run_side_by_side():
    """Two items that each wait for the other can only finish on two threads at once."""
    meet = threading.Barrier(2, timeout=10)
    assert machine.map_in_order(lambda i: (meet.wait(), i)[1], [0, 1], workers=2) == [0, 1]


def test_without_threads_everything_runs_on_the_calling_thread(monkeypatch):
    """Pyodide cannot start threads: map_in_order must not try, whatever it is asked for."""
    monkeypatch.setattr(machine, "HAS_THREADS", False)
    assert machine.default_workers() == 1
    assert set(machine.map_in_order(lambda i: threading.get_ident(), range(6), workers=4)) == {threading.get_ident()}
