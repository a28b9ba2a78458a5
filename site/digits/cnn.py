"""The digit network's forward pass in plain numpy, built from a self-describing weight file.

The same file runs in CPython and in the page (Pyodide), so it uses numpy and the standard
library only. Arrays are NHWC throughout, as Keras stores them, so weights need no reordering.

Weight file format (``digits.npz``, version 1)
------------------------------------------------
An ``.npz`` archive holding:

  ``format``   a 0-d string array, ``"digits-npz"``
  ``version``  a 0-d int array, ``1``
  ``layers``   a 0-d string array: JSON, the layer sequence, input first. Each entry is an
               object with a ``"type"`` and its own fields (LAYER_TYPES below is the table):
                 {"type": "conv2d", "weight": NAME, "bias": NAME, "padding": "valid"|"same"}
                    weight (kh, kw, c_in, c_out), bias (c_out,), stride 1; padding "valid" if absent
                 {"type": "relu"}
                 {"type": "max_pool", "size": 2}          (non-overlapping, floor; size 2 if absent)
                 {"type": "flatten"}                      (NHWC order, as Keras flattens)
                 {"type": "dense", "weight": NAME, "bias": NAME}   weight (n_in, n_out)
                 {"type": "softmax"}                      (the last layer, over the 10 digits)
  ``meta``     a 0-d string array: JSON, free-form facts (accuracy, training settings).
  NAME...      the weight arrays the layers name, any float dtype (float16 to halve the
               file); they are cast to float32 at load.

Batch norm is folded into the preceding layer's weight and bias at export, so inference
needs no normalisation layers. ``load`` checks the whole sequence against a 28x28x1 input
(types, fields, array shapes, the 10 softmax outputs) and says what is wrong before any digit
is read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from . import machine, winograd

FORMAT = "digits-npz"
VERSION = 1
INPUT = (28, 28, 1)  # one image as the first layer sees it: MNIST's 28x28, one channel
CLASSES = 10  # the softmax's outputs: the digits 0-9
CHUNK = 32  # images per pass: small enough that a layer's buffers stay in a core's own cache


class WeightsError(ValueError):
    """The weight file is missing, corrupt, or not a digits network."""


# --- the layers: the mathematics --------------------------------------------------------------


def windows(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(N, H, W, C) -> (N, H-kh+1, W-kw+1, C, kh, kw): every kh x kw window, as a view.

    as_strided directly: numpy's sliding_window_view does the same with far more Python around
    it, which the page pays at every layer.
    """
    n, h, w, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, h - kh + 1, w - kw + 1, c, kh, kw)
    return np.lib.stride_tricks.as_strided(x, shape, (sn, sh, sw, sc, sh, sw), writeable=False)


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


def banded_weights(w: np.ndarray, block: int, paired: bool = False) -> np.ndarray:
    """(kh, kw, C, K) -> (kh * (block+kw-1) * C, block * K): the filter at every offset of a
    block of ``block`` output pixels along a row, zero elsewhere (once, at load). ``paired``
    puts the block's even pixels first, then its odd ones (for conv2d_rows_pooled)."""
    kh, kw, c, k = w.shape
    band = np.zeros((kh, block + kw - 1, c, block, k), np.float32)
    for i in range(block):
        band[:, i : i + kw, :, (i % 2) * (block // 2) + i // 2 if paired else i] = w
    return band.reshape(kh * (block + kw - 1) * c, block * k)


def conv2d_rows(x: np.ndarray, band: np.ndarray, b: np.ndarray, kh: int, kw: int, block: int) -> np.ndarray:
    """conv2d ('valid') of banded_weights(w, block): the same convolution, ``block`` output pixels
    along a row from one kh x (block+kw-1) patch.

    For the image's one channel im2col copies every pixel kh*kw times and multiplies by a
    25-row matrix, which leaves BLAS waiting on memory; these patches are a few times smaller,
    for a product with some multiplies by zero, which BLAS does quickly.
    """
    n, h, w, _ = x.shape
    ho, wo = h - kh + 1, w - kw + 1
    blocks = -(-wo // block)
    if blocks * block != wo:
        x = np.pad(x, ((0, 0), (0, 0), (0, blocks * block - wo), (0, 0)))
    y = row_patches(x, kh, kw, block) @ band  # N*Ho*blocks, block*K
    y = y.reshape(n, ho, blocks * block, -1)[:, :, :wo]
    y += b
    return y


def row_patches(x: np.ndarray, kh: int, kw: int, block: int) -> np.ndarray:
    """(N, H, W, C) -> (N * Ho * Wo/block, kh * (block+kw-1) * C): the patch of every block of
    ``block`` output pixels along a row (Wo a multiple of block), one row each."""
    n, h, w, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, h - kh + 1, (w - kw + 1) // block, kh, block + kw - 1, c)
    patches = np.lib.stride_tricks.as_strided(x, shape, (sn, sh, block * sw, sh, sw, sc), writeable=False)
    return patches.reshape(-1, kh * (block + kw - 1) * c)


def conv2d_rows_pooled(x: np.ndarray, band: np.ndarray, b: np.ndarray, kh: int, kw: int, block: int) -> np.ndarray:
    """max_pool(conv2d_rows(...), 2) in one step, for banded_weights(w, block, paired=True) and an
    output whose sides are even and whose width ``block`` (even) divides: -> (N, Ho/2, Wo/2, K).

    Each block's pixels come out even ones first, so the pool's maximum across pixels is over two
    contiguous halves, and the bias is added to the pooled quarter: max(a + b, c + b) = max(a, c) + b.
    """
    n, h, w, _ = x.shape
    ho, wo = h - kh + 1, w - kw + 1
    y = row_patches(x, kh, kw, block) @ band
    y = y.reshape(n, ho // 2, 2, wo // block, 2, -1)  # N, Ho/2, row of the pair, block, even|odd, block/2 * K
    out = np.maximum(y[:, :, 0, :, 0], y[:, :, 0, :, 1])
    np.maximum(out, y[:, :, 1, :, 0], out=out)
    np.maximum(out, y[:, :, 1, :, 1], out=out)
    out = out.reshape(n, ho // 2, wo // 2, -1)
    out += b
    return out


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


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, n_in) @ (n_in, n_out) -> (N, n_out), the way this numpy does it fastest.

    Without BLAS (the page), numpy's matmul works out each output as a strided dot product, while
    einsum runs its own multiply-add loops: faster on the large dense layer (bench/browser.py's
    per-layer profile times both) and on digits.personal's product.
    """
    return x @ w if machine.HAS_BLAS else np.einsum("ni,io->no", x, w)


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, n_in) @ (n_in, n_out) + (n_out,) -> (N, n_out)."""
    return matmul(x, w) + b


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- the layer table: what each type reads from the file, and the function it runs --------------


@dataclass
class Layer:
    """One step of the forward pass, built at load: ``forward`` is the function it runs."""

    type: str
    options: dict  # the file's options for this type, every default filled in
    weight: np.ndarray | None
    bias: np.ndarray | None
    shape: tuple[int, ...]  # one image's output: (H, W, C), or (n,) once flat
    forward: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    winograd_tile: int | None = None  # m, when this convolution runs as Winograd F(m x m, 3x3)
    row_block: int | None = None  # pixels per product row, when this convolution runs as conv2d_rows
    pooled: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)  # this and the next layer (a max-pool) at once

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


def _image_input(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise WeightsError(f"needs an image (height, width, channels) in, but the layer before gives {shape} (flat)")
    return shape


def _bias_for(bias: np.ndarray, outputs: int) -> np.ndarray:
    if bias.shape != (outputs,):
        raise WeightsError(f"bias has shape {bias.shape}, expected ({outputs},) for its {outputs} outputs")
    return bias


def build_conv2d(options, weight, bias, shape, winograd_tiles) -> Layer:
    h, w, c = _image_input(shape)
    if weight.ndim != 4:
        raise WeightsError(f"weight has shape {weight.shape}, expected (kh, kw, channels in, channels out)")
    kh, kw, c_in, k = weight.shape
    if c_in != c:
        raise WeightsError(f"weight {weight.shape} takes {c_in} channels in, but the layer before gives {c} ({shape})")
    bias = _bias_for(bias, k)
    padding = options["padding"]
    if padding not in ("valid", "same"):
        raise WeightsError(f"padding {padding!r} is neither 'valid' nor 'same'")
    out = (h, w, k) if padding == "same" else (h - kh + 1, w - kw + 1, k)
    if min(out[:2]) < 1:
        raise WeightsError(f"a {kh}x{kw} kernel does not fit its {h}x{w} input")
    if c == 1 and padding == "valid" and machine.ROW_BLOCK:
        block = machine.ROW_BLOCK
        band = banded_weights(weight, block)
        return Layer("conv2d", options, weight, bias, out, lambda x: conv2d_rows(x, band, bias, kh, kw, block),
                     row_block=block)
    if (kh, kw) == (3, 3) and padding == "valid" and (m := winograd.tile_for(out[0], out[1])) in winograd_tiles:
        u = winograd.transform_weights(weight, m)
        return Layer("conv2d", options, weight, bias, out, lambda x: winograd.conv3x3(x, u, bias, m), m)
    return Layer("conv2d", options, weight, bias, out, lambda x: conv2d(x, weight, bias, padding))


def build_dense(options, weight, bias, shape, winograd_tiles) -> Layer:
    if len(shape) != 1:
        raise WeightsError(f"needs a flat input, but the layer before gives {shape}: a flatten layer is missing")
    if weight.ndim != 2 or weight.shape[0] != shape[0]:
        raise WeightsError(f"weight has shape {weight.shape}, expected ({shape[0]}, outputs): the layer before gives "
                           f"{shape[0]} values")
    bias = _bias_for(bias, weight.shape[1])
    # Kept transposed in memory, used as w.T: numpy without BLAS then reads both operands of
    # (1, n) x (n, k) sequentially, faster in the page (bench/browser.py's variants time it); with
    # BLAS the transposed operand costs nothing.
    weight = np.ascontiguousarray(weight.T).T
    return Layer("dense", options, weight, bias, (weight.shape[1],), lambda x: dense(x, weight, bias))


def build_max_pool(options, weight, bias, shape, winograd_tiles) -> Layer:
    h, w, c = _image_input(shape)
    size = options["size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(h, w):
        raise WeightsError(f"size {size!r} must be a whole number from 1 to {min(h, w)} for its {h}x{w} input")
    return Layer("max_pool", options, None, None, (h // size, w // size, c), lambda x: max_pool(x, size))


def build_flatten(options, weight, bias, shape, winograd_tiles) -> Layer:
    return Layer("flatten", options, None, None, (int(np.prod(shape)),), flatten)


def build_relu(options, weight, bias, shape, winograd_tiles) -> Layer:
    return Layer("relu", options, None, None, shape, relu)


def build_softmax(options, weight, bias, shape, winograd_tiles) -> Layer:
    return Layer("softmax", options, None, None, shape, softmax)


@dataclass(frozen=True)
class LayerType:
    build: Callable[..., Layer]  # (options, weight, bias, input shape, Winograd tiles allowed) -> Layer
    options: dict = field(default_factory=dict)  # option -> its default: the one place defaults live
    weights: bool = False  # names a "weight" and a "bias" array


LAYER_TYPES = {
    "conv2d": LayerType(build_conv2d, {"padding": "valid"}, weights=True),
    "relu": LayerType(build_relu),
    "max_pool": LayerType(build_max_pool, {"size": 2}),
    "flatten": LayerType(build_flatten),
    "dense": LayerType(build_dense, weights=True),
    "softmax": LayerType(build_softmax),
}


# --- the network -----------------------------------------------------------------------------------


ROUNDING = 1e-3  # how far outside 0..1 an image may stray by float rounding


def as_images(x) -> np.ndarray:
    """(N, 28, 28) or one (28, 28) image, values 0..1 (ink = 1, as MNIST) -> (N, 28, 28, 1) float32.

    Anything else is refused with a ValueError that says what to do; in particular uint8 pixels
    0..255 are not guessed at (``digits.to_mnist`` takes those; the network's own input is 0..1).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"images must hold numbers 0..1, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != INPUT[:2]:
        raise ValueError(f"expected images shaped (N, 28, 28) (or one (28, 28)), got {np.shape(x)}")
    if x.size:
        lo, hi = x.min(), x.max()
        # A hair outside 0..1 is float rounding (resampling sums weights), not a wrong scale.
        if not (lo >= -ROUNDING and hi <= 1 + ROUNDING):  # NaN fails both comparisons
            if np.isnan(lo) or np.isnan(hi):
                raise ValueError("images hold NaN; values must be 0..1 (ink = 1)")
            hint = ": pixel values 0..255? divide by 255 first" if 1 < hi <= 255 and lo >= 0 else ""
            raise ValueError(f"images must hold values 0..1 (ink = 1, as MNIST), got {lo}..{hi}{hint}")
    return x.astype(np.float32, copy=False)[..., None]


@dataclass
class Net:
    layers: list[Layer]
    meta: dict = field(default_factory=dict)

    def activations(self, x) -> list[np.ndarray]:
        """Every layer's output for a batch (N, 28, 28): for pictures of what the net sees."""
        out, h = [], as_images(x)
        for layer in self.layers:
            h = layer(h)
            out.append(h)
        return out

    def predict_proba(self, x, workers: int | None = None) -> np.ndarray:
        """(N, 28, 28) float in 0..1, ink = 1 (or one (28, 28)) -> (N, 10) float32, rows summing to 1.

        Batches run in chunks of CHUNK images; ``workers`` threads share the chunks (None: every
        core, as onnxruntime does; 1 where there are no threads, as in the page). Each chunk is
        computed the same whatever the number of threads, so the result is bit-identical for
        every ``workers``. A batch of one chunk (a digit, a number) stays on the calling thread.
        OpenBLAS's own threads would compete with these for the same cores: with several workers,
        set OPENBLAS_NUM_THREADS=1 before numpy loads (the benchmarks and tests do).
        """
        x = as_images(x)
        chunks = [x[start : start + CHUNK] for start in range(0, len(x), CHUNK)]
        if not chunks:
            return np.zeros((0, self.layers[-1].shape[0]), np.float32)
        parts = machine.map_in_order(self._run, chunks, 1 if len(chunks) == 1 else workers)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def predict(self, x, workers: int | None = None) -> np.ndarray:
        return self.predict_proba(x, workers).argmax(axis=1)

    def _run(self, h: np.ndarray, layers: list[Layer] | None = None) -> np.ndarray:
        layers = self.layers if layers is None else layers
        i = 0
        while i < len(layers):
            if layers[i].pooled and i + 1 < len(layers):  # it and its max-pool, in one step
                h, i = layers[i].pooled(h), i + 2
            else:
                h, i = layers[i](h), i + 1
        return h

    # The network split at its last dense layer, for readers of what it has learned to see
    # (digits.personal compares a drawing with the ones a person taught): head(features(x)) is
    # predict_proba(x), one pass, no layer run twice.

    @cached_property  # each reading asks: look once, the layers do not change after load
    def head_start(self) -> int:
        """Index of the last dense layer: the layers before it make the features, the rest the head."""
        return max(i for i, layer in enumerate(self.layers) if layer.type == "dense")

    def features(self, x) -> np.ndarray:
        """(N, 28, 28) float in 0..1 (or one (28, 28)) -> (N, D) float32: the input of the last dense layer."""
        x, body = as_images(x), self.layers[: self.head_start]
        if not len(x):
            return np.zeros((0, body[-1].shape[0]), np.float32)
        if len(x) <= CHUNK:  # a digit, a number: one pass, nothing to join
            return self._run(x, body).astype(np.float32, copy=False)
        parts = [self._run(x[start : start + CHUNK], body) for start in range(0, len(x), CHUNK)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def head(self, features: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N, 10) float32 probabilities, as predict_proba would give."""
        return self._run(np.asarray(features, np.float32), self.layers[self.head_start :]).astype(np.float32, copy=False)

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds for one 28x28 digit (convolutions and dense layers, as written)."""
        total = 0
        for layer in self.layers:
            if layer.type == "conv2d":
                total += layer.shape[0] * layer.shape[1] * layer.weight.size
            elif layer.type == "dense":
                total += layer.weight.size
        return total

    @property
    def parameters(self) -> int:
        return sum(a.size for layer in self.layers for a in (layer.weight, layer.bias) if a is not None)


def build(specs: list, arrays: dict[str, np.ndarray], winograd_tiles: tuple[int, ...] = ()) -> list[Layer]:
    """The layer list of a weight file (its JSON entries and its arrays) -> Layers, checked to chain
    from a 28x28x1 image to a softmax over 10 digits; a WeightsError names the first problem."""
    if not isinstance(specs, list) or not specs:
        raise WeightsError("the weight file lists no layers")
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise WeightsError(f"layer {i}: an entry must be an object with a \"type\", got {json.dumps(spec)[:80]}")
    order = list(range(len(specs)))  # file positions, kept for the messages
    # relu then max_pool equals max_pool then relu (both monotone), and pooling first leaves the
    # relu a quarter of the values.
    for k in range(len(order) - 1):
        if specs[order[k]]["type"] == "relu" and specs[order[k + 1]]["type"] == "max_pool":
            order[k], order[k + 1] = order[k + 1], order[k]
    layers, shape = [], INPUT
    for i in order:
        try:
            layer = _layer(specs[i], arrays, shape, winograd_tiles)
        except WeightsError as e:
            raise WeightsError(f"layer {i} ({specs[i]['type']}): {e}") from None
        layers.append(layer)
        shape = layer.shape
    for conv, pool in zip(layers, layers[1:], strict=False):
        conv.pooled = _pooled(conv, pool)
    if layers[-1].type != "softmax":
        raise WeightsError(f"the last layer is {layers[-1].type}, not softmax: the network must end in probabilities")
    if shape != (CLASSES,):
        raise WeightsError(f"the network gives {shape[0] if len(shape) == 1 else shape} outputs, not {CLASSES} digits")
    return layers


def _pooled(conv: Layer, pool: Layer) -> Callable[[np.ndarray], np.ndarray] | None:
    """With BLAS, a row-block convolution and a 2x2 max-pool straight after it run as one step
    (conv2d_rows_pooled), where its output's sides are even and its row block divides the width."""
    block = conv.row_block
    if not block or pool.type != "max_pool" or pool.options["size"] != 2:
        return None
    ho, wo, _ = conv.shape
    if ho % 2 or block % 2 or wo % block:
        return None
    kh, kw, _, _ = conv.weight.shape
    band, bias = banded_weights(conv.weight, block, paired=True), conv.bias
    return lambda x: conv2d_rows_pooled(x, band, bias, kh, kw, block)


def _layer(spec: dict, arrays: dict[str, np.ndarray], shape: tuple[int, ...], winograd_tiles: tuple[int, ...]) -> Layer:
    """One entry of the layer list -> its Layer, for an input of one image's ``shape``."""
    kind = spec["type"]
    if kind not in LAYER_TYPES:
        raise WeightsError(f"unknown layer type {kind!r} (known: {', '.join(LAYER_TYPES)})")
    layer_type = LAYER_TYPES[kind]
    fields = {*layer_type.options, *(("weight", "bias") if layer_type.weights else ())}
    unknown = sorted(set(spec) - fields - {"type"})
    if unknown:
        known = f"its fields are {', '.join(sorted(fields))}" if fields else "it has no fields"
        raise WeightsError(f"unknown field {unknown[0]!r} ({known})")
    weight, bias = (_array(arrays, spec, "weight"), _array(arrays, spec, "bias")) if layer_type.weights else (None, None)
    options = {name: spec.get(name, default) for name, default in layer_type.options.items()}
    return layer_type.build(options, weight, bias, shape, winograd_tiles)


def _array(arrays: dict[str, np.ndarray], spec: dict, role: str) -> np.ndarray:
    name = spec.get(role)
    if name is None:
        raise WeightsError(f"names no {role} array")
    if name not in arrays:
        raise WeightsError(f"its {role} {name!r} is not in the weight file")
    array = arrays[name]
    if array.dtype.kind != "f":
        raise WeightsError(f"its {role} {name!r} holds {array.dtype}, not floats")
    return array.astype(np.float32)


# --- the weight file --------------------------------------------------------------------------------

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an .npz is a zip archive: a first entry, or an empty one
RESTORE = "restore site/model/digits.npz (git checkout) or run `make train`"


def load(source: str | Path | bytes, winograd: bool | None = None) -> Net:
    """Build the network described by a ``digits.npz`` file (a path, or its bytes).

    ``winograd``: True runs every 3x3 'valid' convolution as Winograd (F(2x2), F(4x4) or F(5x5)
    by the layer's output size, see winograd.tile_for), False none; None only where it is the
    faster path on this numpy (machine.WINOGRAD_TILES). All give the same answers to float32
    rounding. Raises WeightsError, with what is wrong, for a missing, corrupt or invalid file.
    """
    specs, arrays, meta = read_weight_file(source)
    return Net(build(specs, arrays, winograd_tiles(winograd)), meta)


def winograd_tiles(choice: bool | None) -> tuple[int, ...]:
    """The Winograd tiles ``load(winograd=choice)`` allows: all, none, or the ones that pay here."""
    if choice is None:
        return machine.WINOGRAD_TILES
    return winograd.TILES if choice else ()


def read_weight_file(source: str | Path | bytes) -> tuple[list, dict[str, np.ndarray], dict]:
    """(layer entries, arrays by name, meta) of a weight file, its format and version checked."""
    data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else _read_bytes(source)
    what = "the weight data" if isinstance(source, bytes | bytearray | memoryview) else f"weight file {source}"
    if not data:
        raise WeightsError(f"{what} is empty; {RESTORE}")
    if data[:4] not in ZIP_MAGIC:
        raise WeightsError(f"{what} is not an .npz archive (a zip file starts with PK, this starts with {data[:4]!r}); {RESTORE}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as e:  # zipfile.BadZipFile, a truncated member, object arrays: all mean corrupt
        reason = "it holds Python objects, which are never loaded" if "pickle" in str(e) else f"{type(e).__name__}: {e}"
        raise WeightsError(f"{what} is corrupt ({reason}); {RESTORE}") from None
    missing = [name for name in ("format", "version", "layers") if name not in arrays]
    if missing:
        raise WeightsError(f"{what} is not a digits weight file (no {', '.join(missing)} entry); {RESTORE}")
    if str(arrays.pop("format")) != FORMAT:
        raise WeightsError(f"{what} is not a digits weight file (its format is not {FORMAT!r})")
    version = arrays.pop("version")
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != VERSION:
        raise WeightsError(f"{what} has format version {version}; this code reads version {VERSION}")
    try:
        specs = json.loads(str(arrays.pop("layers")))
        meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    except ValueError as e:
        raise WeightsError(f"{what} is corrupt (its layer list or meta is not JSON: {e}); {RESTORE}") from None
    return specs, arrays, meta if isinstance(meta, dict) else {}


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"weight file not found: {path}; {RESTORE}") from None
    except OSError as e:
        raise WeightsError(f"cannot read weight file {path}: {e.strerror or e}") from None


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
