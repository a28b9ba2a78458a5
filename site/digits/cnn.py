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


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def max_pool(x: np.ndarray, size: int = 2) -> np.ndarray:
    """(N, H, W, C) -> (N, H//size, W//size, C), the largest value of each size x size block."""
    n, h, w, c = x.shape
    h, w = h // size * size, w // size * size
    return x[:, :h, :w].reshape(n, h // size, size, w // size, size, c).max(axis=(2, 4))


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

    def __call__(self, x: np.ndarray) -> np.ndarray:
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


def load(source: str | Path | bytes) -> Net:
    """Build the network described by a ``digits.npz`` file (a path, or its bytes)."""
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
