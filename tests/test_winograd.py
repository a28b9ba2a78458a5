"""site/digits/winograd.py: Winograd F(m x m, 3x3) against a plain 3x3 convolution, and its tile choice."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cnn import conv2d_loops, valid_net_file

from digits import cnn, machine, winograd


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 11), w=st.integers(3, 11), c=st.integers(1, 4), k=st.integers(1, 4), seed=st.integers(0, 2**16),
       m=st.sampled_from(winograd.TILES))
def test_winograd_3x3_matches_loops(h, w, c, k, seed, m):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, c)).astype(np.float32)
    weight = rng.standard_normal((3, 3, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    got = winograd.conv3x3(x, winograd.transform_weights(weight, m), bias, m)
    np.testing.assert_allclose(got, conv2d_loops(x, weight, bias, "valid"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("blas", [True, False], ids=["BLAS (CPython)", "no BLAS (the page)"])
@settings(max_examples=20, deadline=None)
@given(m=st.sampled_from(winograd.TILES), p=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_winograd_transforms_with_and_without_blas_agree(blas, m, p, seed):
    """The page (no BLAS: einsum) and CPython (two BLAS products) take different routes to B^T d B."""
    mat = np.array(winograd.MATRICES[m]["BT"], np.float32)
    d = np.random.default_rng(seed).standard_normal((m + 2, m + 2, p)).astype(np.float32)
    expected = np.einsum("ra,abp,sb->rsp", mat.astype(np.float64), d.astype(np.float64), mat.astype(np.float64))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(winograd, "HAS_BLAS", blas)
        got = winograd.both_axes(mat, d)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(("out", "tile"), [((24, 24), 4), ((10, 10), 5), ((8, 8), 4), ((6, 6), 2), ((7, 9), 2), ((20, 15), 5)])
def test_the_tile_is_the_largest_that_divides_the_output(out, tile):
    assert winograd.tile_for(*out) == tile


def test_the_tile_chosen_at_load_is_the_one_the_layer_runs(tmp_path):
    """The layer records its tile once; a convolution run with that tile equals the layer's output."""
    valid_net_file(tmp_path / "valid.npz")
    fast = cnn.load(tmp_path / "valid.npz", winograd=True)
    conv = fast.layers[3]
    assert conv.type == "conv2d" and conv.winograd_tile == 5 and conv.shape == (10, 10, 8)
    x = np.random.default_rng(5).random((2, 12, 12, 8)).astype(np.float32)
    u = winograd.transform_weights(conv.weight, conv.winograd_tile)
    np.testing.assert_array_equal(conv(x), winograd.conv3x3(x, u, conv.bias, conv.winograd_tile))
    assert cnn.load(tmp_path / "valid.npz", winograd=False).layers[3].winograd_tile is None


def test_by_default_the_shipped_network_runs_winograd_where_it_pays_at_any_batch_size():
    """load()'s own choice on the shipped network: every 3x3 convolution of a tile in
    machine.WINOGRAD_TILES runs as Winograd, for one digit as for a batch (with BLAS too: its
    transforms are two small products); the same outputs as explicit winograd=True, and as
    im2col to float32 rounding."""
    model = Path(__file__).resolve().parent.parent / "site" / "model" / "digits.npz"
    default, chosen = cnn.load(model), cnn.load(model, winograd=True)
    rng = np.random.default_rng(6)
    convs = [(i, layer) for i, layer in enumerate(default.layers) if layer.winograd_tile]
    assert convs  # with or without BLAS, the shipped network has a convolution Winograd pays for
    for i, conv in convs:
        assert conv.winograd_tile in machine.WINOGRAD_TILES
        m = conv.winograd_tile
        u = winograd.transform_weights(conv.weight, m)
        h, w = conv.shape[0] + 2, conv.shape[1] + 2
        for n in (1, 3, 40):
            x = rng.random((n, h, w, conv.weight.shape[2])).astype(np.float32)
            by_winograd = winograd.conv3x3(x, u, conv.bias, m)
            np.testing.assert_array_equal(conv(x), by_winograd)
            np.testing.assert_allclose(conv(x), cnn.conv2d(x, conv.weight, conv.bias), atol=1e-4)
            np.testing.assert_array_equal(chosen.layers[i](x), by_winograd)
