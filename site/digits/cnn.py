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
CHUNK = 256  # images per pass: bounds the im2col buffer (256 x 24 x 24 x 25 floats = 15 MB)

# With BLAS (CPython wheels), one big im2col product is fastest; without it (Pyodide's numpy), the
# multiply-adds are the cost and Winograd's 2.25x fewer of them win (measured in bench/).
HAS_BLAS = bool(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("found"))


class WeightsError(ValueError):
    """The weight file is missing, corrupt, or not a digits network."""


# --- layers: the mathematics --------------------------------------------------------------


def im2col(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(N, H, W, C) -> (N, H-kh+1, W-kw+1, kh*kw*C): every kh x kw patch as one row."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # N,Ho,Wo,C,kh,kw
    n, ho, wo, c = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, ho, wo, kh * kw * c)


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: str = "valid") -> np.ndarray:
    """(N, H, W, C) * (kh, kw, C, K) + (K,) -> (N, Ho, Wo, K), stride 1."""
    kh, kw, c, k = w.shape
    if padding == "same":
        top, left = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    return im2col(x, kh, kw) @ w.reshape(kh * kw * c, k) + b


# Winograd F(2x2, 3x3) (Lavin & Gray, 2015): each 2x2 block of a 3x3 convolution's output comes
# from a 4x4 block of its input with 16 multiplies per channel pair instead of 36. numpy in the
# page has no BLAS, so multiply-adds are the latency; the transforms are only additions.
WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)


def winograd_weights(w: np.ndarray) -> np.ndarray:
    """(3, 3, C, K) -> (16, C, K): G w G^T for every channel pair, done once at load."""
    u = np.einsum("ia,abck,jb->ijck", WINOGRAD_G, w, WINOGRAD_G)
    return np.ascontiguousarray(u.reshape(16, *w.shape[2:]), dtype=np.float32)


def _bt(d: np.ndarray) -> np.ndarray:
    """B^T along the first axis (length 4): (d0 - d2, d1 + d2, d2 - d1, d1 - d3)."""
    out = np.empty_like(d)
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])
    return out


def _at(m: np.ndarray) -> np.ndarray:
    """A^T along the first axis (length 4): (m0 + m1 + m2, m1 - m2 - m3)."""
    out = np.empty((2, *m.shape[1:]), m.dtype)
    np.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    np.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]
    return out


def conv3x3_winograd(x: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, H, W, C) * winograd_weights (16, C, K) + (K,) -> (N, H-2, W-2, K), as conv2d 'valid'."""
    n, h, w, c = x.shape
    ho, wo = h - 2, w - 2
    th, tw = -(-ho // 2), -(-wo // 2)  # 2x2 output tiles down and across
    if (2 * th + 2, 2 * tw + 2) != (h, w):
        x = np.pad(x, ((0, 0), (0, 2 * th + 2 - h), (0, 2 * tw + 2 - w), (0, 0)))
    tiles = np.lib.stride_tricks.sliding_window_view(x, (4, 4), axis=(1, 2))[:, ::2, ::2]  # N,th,tw,C,4,4
    d = tiles.transpose(4, 5, 0, 1, 2, 3).reshape(4, 4, n * th * tw, c)  # 4,4,T,C
    v = _bt(_bt(d).swapaxes(0, 1)).swapaxes(0, 1)  # B^T d B, one axis at a time
    m = (v.reshape(16, n * th * tw, c) @ u).reshape(4, 4, n * th * tw, -1)  # 16 products (T, C) @ (C, K)
    y = _at(_at(m).swapaxes(0, 1)).swapaxes(0, 1)  # A^T m A: 2,2,T,K
    y = y.reshape(2, 2, n, th, tw, -1).transpose(2, 3, 0, 4, 1, 5).reshape(n, 2 * th, 2 * tw, -1)
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

    def use_winograd(self) -> None:
        if self.type == "conv2d" and self.weight.shape[:2] == (3, 3) and self.options.get("padding", "valid") == "valid":
            self.winograd = winograd_weights(self.weight)

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

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 in 0..1, ink = 1 -> (N, 10) float32, rows summing to 1."""
        x = self._input(x)
        parts = []
        for start in range(0, len(x), CHUNK):
            h = x[start : start + CHUNK]
            for layer in self.layers:
                h = layer(h)
            parts.append(h)
        if not parts:
            return np.zeros((0, 10), np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds for one 28x28 digit (convolutions and dense layers)."""
        total, (h, w) = 0, (28, 28)
        for layer in self.layers:
            if layer.type == "conv2d":
                kh, kw, c, k = layer.weight.shape
                if layer.options.get("padding", "valid") == "valid":
                    h, w = h - kh + 1, w - kw + 1
                total += h * w * kh * kw * c * k
            elif layer.type == "max_pool":
                size = layer.options.get("size", 2)
                h, w = h // size, w // size
            elif layer.type == "dense":
                total += layer.weight.size
        return total

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

    ``winograd``: run 3x3 convolutions as Winograd F(2x2, 3x3); None chooses it where numpy has
    no BLAS (in the page), since both give the same answers to float32 rounding.
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
                if winograd or (winograd is None and not HAS_BLAS):
                    layers[-1].use_winograd()
        except WeightsError:
            raise
        except Exception as e:  # missing array, bad JSON, truncated member
            raise WeightsError(f"weight file is damaged ({type(e).__name__}: {e}); restore site/model/digits.npz") from None
    return Net(layers, meta)


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
