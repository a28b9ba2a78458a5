"""Winograd F(m x m, 3x3): a 3x3 'valid' convolution with far fewer multiplications.

Lavin & Gray (2015). Each m x m block of the output comes from an (m+2) x (m+2) block of the input
with (m+2)^2 multiplies per channel pair instead of 9 m^2: 2.25x fewer for m = 2, 4x for m = 4,
4.6x for m = 5. numpy in the page has no BLAS, so multiply-adds are its latency; the transforms
are small and cheap.

    output = A^T [ (G w G^T) * (B^T d B) ] A,   summed over input channels

w is a 3x3 filter, d an input tile. G w G^T is computed once per filter at load
(``transform_weights``); B^T d B and A^T (.) A per tile at every pass (``conv3x3``).
"""

from __future__ import annotations

import numpy as np

from .machine import HAS_BLAS

# The matrices come from Cook-Toom interpolation at these points (and infinity), chosen small and
# symmetric so that float32 keeps the result within a few 1e-6 of the direct convolution.
POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2), 5: (0, 1, -1, 1 / 2, -1 / 2, 2)}
TILES = tuple(POINTS)  # the output tile sides m on offer


def matrices(m: int, r: int = 3) -> dict[str, np.ndarray]:
    """B^T (a, a), G (a, r), A^T (m, a) of F(m, r), a = m + r - 1, by Cook-Toom.

    A correlation is the transpose of a linear convolution: evaluate at the points (V), multiply,
    interpolate (V^-1); transposed, V^-1 becomes B^T and the data's evaluation becomes A^T.
    """
    a = m + r - 1
    points = POINTS[m]

    def vandermonde(n: int) -> np.ndarray:  # polynomials of n coefficients, evaluated at the points
        v = np.zeros((a, n))
        v[:-1] = np.array(points, np.float64)[:, None] ** np.arange(n)
        v[-1, -1] = 1.0  # "at infinity": the leading coefficient
        return v

    return {"BT": np.linalg.inv(vandermonde(a)).T, "G": vandermonde(r), "AT": vandermonde(m).T}


MATRICES = {m: matrices(m) for m in POINTS}
_MATRICES32 = {m: {k: v.astype(np.float32) for k, v in mats.items()} for m, mats in MATRICES.items()}


def tile_for(out_h: int, out_w: int) -> int:
    """The output tile side for an out_h x out_w output: the largest that divides it exactly (no
    padding waste), else 2."""
    return next((m for m in (5, 4, 2) if out_h % m == 0 and out_w % m == 0), 2)


def transform_weights(w: np.ndarray, m: int) -> np.ndarray:
    """(3, 3, C, K) -> ((m+2)^2, C, K) float32: G w G^T for every channel pair (once, at load)."""
    g = MATRICES[m]["G"]
    u = np.einsum("ia,abck,jb->ijck", g, w.astype(np.float64), g)
    return np.ascontiguousarray(u.reshape(-1, *w.shape[2:]), dtype=np.float32)


def both_axes(mat: np.ndarray, d: np.ndarray) -> np.ndarray:
    """mat (r, a) applied along the first two axes of d (a, a, P) -> (r, r, P): mat d mat^T.

    One axis at a time: with BLAS as two products (the second one mat @ each of the r slices), a
    seventh of the multiplies of one product with mat (x) mat; without BLAS by einsum, as numpy's
    own matmul runs a contraction this short (4 or 6) slower, paying per output element
    (bench/browser.py's per-layer profile times both).
    """
    r, a = mat.shape
    if HAS_BLAS:
        t = (mat @ d.reshape(a, -1)).reshape(r, a, -1)
        return mat @ t
    t = np.einsum("ra,abp->rbp", mat, d)
    return np.einsum("sb,rbp->rsp", mat, t)


def conv3x3(x: np.ndarray, u: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """(N, H, W, C) * transform_weights(w, m) + (K,) -> (N, H-2, W-2, K): the 3x3 'valid'
    convolution of w, in m x m output tiles (the last ones padded if m does not divide the output)."""
    a = m + 2  # input tile side
    bt, at = _MATRICES32[m]["BT"], _MATRICES32[m]["AT"]
    n, h, w, c = x.shape
    ho, wo = h - 2, w - 2
    th, tw = -(-ho // m), -(-wo // m)  # output tiles down and across
    if (m * th + 2, m * tw + 2) != (h, w):
        x = np.pad(x, ((0, 0), (0, m * th + 2 - h), (0, m * tw + 2 - w), (0, 0)))
    tiles = _input_tiles(x, a, m)  # N,th,tw,C,a,a
    t = n * th * tw
    d = tiles.transpose(4, 5, 0, 1, 2, 3).reshape(a, a, t * c)
    v = both_axes(bt, d).reshape(a * a, t, c)  # B^T d B
    prod = (v @ u).reshape(a, a, -1)  # a*a products (T, C) @ (C, K)
    y = both_axes(at, prod).reshape(m, m, n, th, tw, -1)  # A^T prod A
    y = y.transpose(2, 3, 0, 4, 1, 5).reshape(n, m * th, m * tw, -1)
    return y[:, :ho, :wo] + b


def _input_tiles(x: np.ndarray, side: int, step: int) -> np.ndarray:
    """(N, H, W, C) -> (N, th, tw, C, side, side): every side x side tile, ``step`` apart, as a view
    (as_strided directly: sliding_window_view wraps the same in far more Python, paid per layer)."""
    n, h, w, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, (h - side) // step + 1, (w - side) // step + 1, c, side, side)
    return np.lib.stride_tricks.as_strided(x, shape, (sn, step * sh, step * sw, sc, sh, sw), writeable=False)
