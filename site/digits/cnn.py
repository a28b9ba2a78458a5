"""The digit network's forward pass in plain numpy, built from a self-describing weight file.

The same file runs in CPython and in the page (Pyodide), so it uses numpy and the standard
library only. Arrays are NHWC throughout, as Keras stores them, so weights need no reordering.

Weight file format (``digits.npz``, version 1)
------------------------------------------------
An ``.npz`` archive holding:

  ``format``   a 0-d string array, ``"digits-npz"``
  ``version``  a 0-d int array, ``1``
  ``layers``   a 0-d string array: JSON, the layer sequence, input first. Each entry is an
               object with a ``"type"`` and its own fields:
                 {"type": "conv2d", "weight": NAME, "bias": NAME, "padding": "valid"|"same"}
                    weight (kh, kw, c_in, c_out), bias (c_out,), stride 1
                 {"type": "relu"}
                 {"type": "max_pool", "size": 2}          (non-overlapping, floor)
                 {"type": "flatten"}                      (NHWC order, as Keras flattens)
                 {"type": "dense", "weight": NAME, "bias": NAME}   weight (n_in, n_out)
                 {"type": "softmax"}
  ``meta``     a 0-d string array: JSON, free-form facts (accuracy, training settings).
  NAME...      the weight arrays the layers name, any float dtype (float16 to halve the
               file); they are cast to float32 at load.

Batch norm is folded into the preceding layer's weight and bias at export, so inference
needs no normalisation layers.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "digits-npz"
VERSION = 1
CHUNK = 128  # images per pass: keeps the im2col buffer (128 x 24 x 24 x 25 floats = 7 MB) near cache

# Without BLAS (Pyodide's numpy) multiply-adds are the cost, and Winograd's 2.25-4x fewer of them
# win for every 3x3 convolution. With BLAS (CPython wheels) one im2col product beats Winograd
# F(2x2) and loses to F(4x4) (measured by bench/browser.py and bench/cpython.py).
HAS_BLAS = bool(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("found"))


class WeightsError(ValueError):
    """The weight file is missing, corrupt, or not a digits network."""


# --- layers: the mathematics --------------------------------------------------------------


def windows(x: np.ndarray, kh: int, kw: int, step: int = 1) -> np.ndarray:
    """(N, H, W, C) -> (N, Ho, Wo, C, kh, kw): every kh x kw window, ``step`` apart, as a view.

    as_strided directly: numpy's sliding_window_view does the same with far more Python around
    it, which the page pays at every layer.
    """
    n, h, w, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, (h - kh) // step + 1, (w - kw) // step + 1, c, kh, kw)
    return np.lib.stride_tricks.as_strided(x, shape, (sn, step * sh, step * sw, sc, sh, sw), writeable=False)


def im2col(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(N, H, W, C) -> (N, H-kh+1, W-kw+1, kh*kw*C): every kh x kw patch as one row."""
    patches = windows(x, kh, kw)  # N,Ho,Wo,C,kh,kw
    n, ho, wo, c = patches.shape[:4]
    return patches.transpose(0, 1, 2, 4, 5, 3).reshape(n, ho, wo, kh * kw * c)


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: str = "valid") -> np.ndarray:
    """(N, H, W, C) * (kh, kw, C, K) + (K,) -> (N, Ho, Wo, K), stride 1."""
    kh, kw, c, k = w.shape
    if padding == "same":
        top, left = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    y = im2col(x, kh, kw) @ w.reshape(kh * kw * c, k)
    y += b  # in place: the first layer's output is the largest array of the pass
    return y


# Winograd F(m x m, 3x3) (Lavin & Gray, 2015): each m x m block of a 3x3 convolution's output
# comes from an (m+2) x (m+2) block of its input with (m+2)^2 multiplies per channel pair instead
# of 9 m^2: 2.25x fewer for m = 2, 4x for m = 4, 4.6x for m = 5. numpy in the page has no BLAS, so
# multiply-adds are the latency; the transforms are small and cheap.
#   output = A^T [ (G w G^T) * (B^T d B) ] A,  summed over input channels
# The matrices come from Cook-Toom interpolation at these points (and infinity), chosen small
# and symmetric so that float32 keeps the result within a few 1e-6 of the direct convolution.
WINOGRAD_POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2), 5: (0, 1, -1, 1 / 2, -1 / 2, 2)}


def winograd_matrices(m: int, r: int = 3) -> dict[str, np.ndarray]:
    """B^T (a, a), G (a, r), A^T (m, a) of F(m, r), a = m + r - 1, by Cook-Toom.

    A correlation is the transpose of a linear convolution: evaluate at the points (V), multiply,
    interpolate (V^-1); transposed, V^-1 becomes B^T and the data's evaluation becomes A^T.
    """
    a = m + r - 1
    points = WINOGRAD_POINTS[m]

    def vandermonde(n: int) -> np.ndarray:  # polynomials of n coefficients, evaluated at the points
        v = np.zeros((a, n))
        v[:-1] = np.array(points, np.float64)[:, None] ** np.arange(n)
        v[-1, -1] = 1.0  # "at infinity": the leading coefficient
        return v

    return {"BT": np.linalg.inv(vandermonde(a)).T, "G": vandermonde(r), "AT": vandermonde(m).T}


WINOGRAD = {m: winograd_matrices(m) for m in WINOGRAD_POINTS}
WINOGRAD32 = {m: {k: v.astype(np.float32) for k, v in mats.items()} for m, mats in WINOGRAD.items()}


def winograd_tile(out_h: int, out_w: int) -> int:
    """The output tile size: the largest that divides the output exactly (no padding waste), else 2."""
    return next((m for m in (5, 4, 2) if out_h % m == 0 and out_w % m == 0), 2)


def winograd_weights(w: np.ndarray, m: int = 2) -> np.ndarray:
    """(3, 3, C, K) -> ((m+2)^2, C, K): G w G^T for every channel pair, done once at load."""
    g = WINOGRAD[m]["G"]
    u = np.einsum("ia,abck,jb->ijck", g, w.astype(np.float64), g)
    return np.ascontiguousarray(u.reshape(-1, *w.shape[2:]), dtype=np.float32)


def both_axes_separable(mat: np.ndarray, d: np.ndarray) -> np.ndarray:
    """mat (r, a) applied along the first two axes of d (a, a, P) -> (r, r, P): mat d mat^T.

    One axis at a time, by einsum: without BLAS, a contraction this short (4 or 6) runs about
    1.6x slower through numpy's own matmul, which pays per output element.
    """
    t = np.einsum("ra,abp->rbp", mat, d)
    return np.einsum("sb,rbp->rsp", mat, t)


def both_axes_kron(mat: np.ndarray, d: np.ndarray) -> np.ndarray:
    """As both_axes_separable, as one product with mat (x) mat: more multiplies, but a single
    BLAS call and one pass over d, which is what counts when BLAS is there."""
    r, a = mat.shape
    return (np.kron(mat, mat) @ d.reshape(a * a, -1)).reshape(r, r, -1)


_both_axes = both_axes_kron if HAS_BLAS else both_axes_separable


def conv3x3_winograd(x: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, H, W, C) * winograd_weights ((m+2)^2, C, K) + (K,) -> (N, H-2, W-2, K), as conv2d 'valid'."""
    a = int(round(len(u) ** 0.5))  # input tile side, m + 2
    m = a - 2
    bt, at = WINOGRAD32[m]["BT"], WINOGRAD32[m]["AT"]
    n, h, w, c = x.shape
    ho, wo = h - 2, w - 2
    th, tw = -(-ho // m), -(-wo // m)  # output tiles down and across
    if (m * th + 2, m * tw + 2) != (h, w):
        x = np.pad(x, ((0, 0), (0, m * th + 2 - h), (0, m * tw + 2 - w), (0, 0)))
    tiles = windows(x, a, a, step=m)  # N,th,tw,C,a,a
    t = n * th * tw
    d = tiles.transpose(4, 5, 0, 1, 2, 3).reshape(a, a, t * c)
    v = _both_axes(bt, d).reshape(a * a, t, c)  # B^T d B
    prod = (v @ u).reshape(a, a, -1)  # a*a products (T, C) @ (C, K)
    y = _both_axes(at, prod).reshape(m, m, n, th, tw, -1)  # A^T prod A
    y = y.transpose(2, 3, 0, 4, 1, 5).reshape(n, m * th, m * tw, -1)
    return y[:, :ho, :wo] + b


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def max_pool(x: np.ndarray, size: int = 2) -> np.ndarray:
    """(N, H, W, C) -> (N, H//size, W//size, C), the largest value of each size x size block."""
    h, w = x.shape[1] // size * size, x.shape[2] // size * size
    # The elementwise maximum of the size*size strided views: far faster than a reduction over
    # two non-adjacent axes in numpy without SIMD (the page's).
    out = x[:, 0:h:size, 0:w:size].copy()
    for dy in range(size):
        for dx in range(size):
            if dy or dx:
                np.maximum(out, x[:, dy:h:size, dx:w:size], out=out)
    return out


def flatten(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, n_in) @ (n_in, n_out) + (n_out,) -> (N, n_out)."""
    return x @ w + b


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- the network -------------------------------------------------------------------------


@dataclass
class Layer:
    type: str
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    options: dict = field(default_factory=dict)
    winograd: np.ndarray | None = None  # 3x3 'valid' convolutions: weights transformed once at load

    def __post_init__(self):
        if self.type == "dense":
            # Stored transposed, used as w.T: numpy without BLAS runs (1, n) @ (n, k) 1.7x faster
            # this way in the page; with BLAS the transposed operand costs nothing.
            self.weight = np.ascontiguousarray(self.weight.T).T

    def use_winograd(self, out_h: int, out_w: int) -> None:
        if self.type == "conv2d" and self.weight.shape[:2] == (3, 3) and self.options.get("padding", "valid") == "valid":
            self.winograd = winograd_weights(self.weight, winograd_tile(out_h, out_w))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.winograd is not None:
            return conv3x3_winograd(x, self.winograd, self.bias)
        if self.type == "conv2d":
            return conv2d(x, self.weight, self.bias, self.options.get("padding", "valid"))
        if self.type == "dense":
            return dense(x, self.weight, self.bias)
        if self.type == "max_pool":
            return max_pool(x, self.options.get("size", 2))
        return {"relu": relu, "flatten": flatten, "softmax": softmax}[self.type](x)


@dataclass
class Net:
    layers: list[Layer]
    meta: dict = field(default_factory=dict)

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for a batch (N, 28, 28): for pictures of what the net sees."""
        out, h = [], self._input(x)
        for layer in self.layers:
            h = layer(h)
            out.append(h)
        return out

    def predict_proba(self, x: np.ndarray, workers: int = 1) -> np.ndarray:
        """(N, 28, 28) float32 in 0..1, ink = 1 -> (N, 10) float32, rows summing to 1.

        ``workers`` > 1 runs chunks of CHUNK images on that many threads (numpy releases the GIL
        in its loops); worth it for large batches in CPython with one BLAS thread each. The page
        has no threads and reads one digit at a time.
        """
        x = self._input(x)
        chunks = [x[start : start + CHUNK] for start in range(0, len(x), CHUNK)]
        if not chunks:
            return np.zeros((0, 10), np.float32)
        if workers > 1 and len(chunks) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(self._forward, chunks))
        else:
            parts = [self._forward(chunk) for chunk in chunks]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _forward(self, h: np.ndarray, layers: list[Layer] | None = None) -> np.ndarray:
        for layer in self.layers if layers is None else layers:
            h = layer(h)
        return h

    # The network split at its last dense layer, for readers of what it has learned to see
    # (digits.personal compares a drawing with the ones a person taught): head(features(x)) is
    # predict_proba(x), one pass, no layer run twice.

    @property
    def head_start(self) -> int:
        """Index of the last dense layer: the layers before it make the features, the rest the head."""
        return max(i for i, layer in enumerate(self.layers) if layer.type == "dense")

    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 in 0..1 -> (N, D) float32: the input of the last dense layer."""
        x, body = self._input(x), self.layers[: self.head_start]
        if 0 < len(x) <= CHUNK:  # one chunk, as the page's single digits: no list to join
            return self._forward(x, body).astype(np.float32, copy=False)
        parts = [self._forward(x[start : start + CHUNK], body) for start in range(0, len(x), CHUNK)]
        width = self.layers[self.head_start].weight.shape[0]
        return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros((0, width), np.float32)

    def head(self, features: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N, 10) float32 probabilities, as predict_proba would give."""
        h = self._forward(np.asarray(features, np.float32), self.layers[self.head_start :])
        return h.astype(np.float32, copy=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    def output_sides(self) -> list[tuple[int, int]]:
        """(height, width) of every layer's output for a 28x28 input ((1, 1) once flat)."""
        sides, (h, w) = [], (28, 28)
        for layer in self.layers:
            if layer.type == "conv2d" and layer.options.get("padding", "valid") == "valid":
                h, w = h - layer.weight.shape[0] + 1, w - layer.weight.shape[1] + 1
            elif layer.type == "max_pool":
                h, w = h // layer.options.get("size", 2), w // layer.options.get("size", 2)
            elif layer.type == "flatten":
                h, w = 1, 1
            sides.append((h, w))
        return sides

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds for one 28x28 digit (convolutions and dense layers, as written)."""
        total = 0
        for layer, (h, w) in zip(self.layers, self.output_sides(), strict=True):
            if layer.type == "conv2d":
                total += h * w * layer.weight.size
            elif layer.type == "dense":
                total += layer.weight.size
        return total

    def use_winograd(self, tiles: tuple[int, ...] = (2, 4, 5)) -> None:
        """Run the 3x3 'valid' convolutions as Winograd where the tile size chosen by their output
        size is one of ``tiles``."""
        for layer, (h, w) in zip(self.layers, self.output_sides(), strict=True):
            if winograd_tile(h, w) in tiles:
                layer.use_winograd(h, w)

    @property
    def parameters(self) -> int:
        return sum(a.size for layer in self.layers for a in (layer.weight, layer.bias) if a is not None)

    @staticmethod
    def _input(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(f"expected images shaped (N, 28, 28), got {x.shape}")
        return x[..., None]  # N, 28, 28, 1


def load(source: str | Path | bytes, winograd: bool | None = None) -> Net:
    """Build the network described by a ``digits.npz`` file (a path, or its bytes).

    ``winograd``: True runs every 3x3 convolution as Winograd F(2x2, 3x3) or F(4x4, 3x3), False
    none; None chooses what is fastest on this numpy (see HAS_BLAS). All give the same answers to
    float32 rounding.
    """
    try:
        archive = np.load(io.BytesIO(source) if isinstance(source, bytes) else source, allow_pickle=False)
    except FileNotFoundError:
        raise WeightsError(f"weight file not found: {source}; run `make train` or restore site/model/") from None
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError: all mean "not an npz"
        raise WeightsError(f"weight file is corrupt or not an .npz archive ({e}); restore site/model/digits.npz") from None
    with archive:
        try:
            if str(archive["format"]) != FORMAT:
                raise WeightsError(f"not a digits weight file (format {str(archive['format'])!r})")
            version = int(archive["version"])
            if version != VERSION:
                raise WeightsError(f"weight file version {version} is not supported (this code reads {VERSION})")
            specs = json.loads(str(archive["layers"]))
            meta = json.loads(str(archive["meta"])) if "meta" in archive.files else {}
            layers = []
            for spec in specs:
                kind = spec.pop("type")
                if kind not in {"conv2d", "dense", "relu", "max_pool", "flatten", "softmax"}:
                    raise WeightsError(f"unknown layer type {kind!r} in the weight file")
                weight = archive[spec.pop("weight")].astype(np.float32) if "weight" in spec else None
                bias = archive[spec.pop("bias")].astype(np.float32) if "bias" in spec else None
                layers.append(Layer(kind, weight, bias, spec))
        except WeightsError:
            raise
        except Exception as e:  # missing array, bad JSON, truncated member
            raise WeightsError(f"weight file is damaged ({type(e).__name__}: {e}); restore site/model/digits.npz") from None
    # relu then max_pool equals max_pool then relu (both monotone), and pooling first leaves the
    # relu a quarter of the values.
    for i in range(len(layers) - 1):
        if layers[i].type == "relu" and layers[i + 1].type == "max_pool":
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    net = Net(layers, meta)
    if winograd:
        net.use_winograd()
    elif winograd is None:
        net.use_winograd(tiles=(4,) if HAS_BLAS else (2, 4, 5))
    return net


def save(path: str | Path, layers: list[dict], arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    """Write a version-1 weight file (used by the exporter and by tests building small nets)."""
    np.savez_compressed(
        path,
        format=np.array(FORMAT),
        version=np.array(VERSION),
        layers=np.array(json.dumps(layers)),
        meta=np.array(json.dumps(meta or {})),
        **arrays,
    )
