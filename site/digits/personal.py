"""What one person has taught: corrected digits that change how the network reads their handwriting.

    from digits import cnn, read
    from digits.personal import Personal
    net = cnn.load("site/model/digits.npz")
    personal = Personal(net)
    reading = read(ink, personal)                         # exactly the network's reading until taught
    personal.learn(reading.images[:1], [1])               # "that was a 1"
    read(ink, personal).text                              # now "1", and so are drawings like it
    data = personal.to_bytes()                            # kept on the device, never sent anywhere
    personal = Personal.from_bytes(net, data)             # MemoryFormatError if data is not a memory

How it reads (no training loop, numpy only, the same file in CPython and in the page):

Each kept example is a corrected digit as the network saw it and its true label. The network is
split at its last dense layer (``Net.features``): one forward pass gives a drawing's features f,
and the last dense layer its logits z. A kept example with unit features u and label y counts
for a drawing through its cosine similarity s = f.u / |f| and kernels, each 0 below its reach,
rising linearly to its strength at s = 1:

    kernel(s) = strength * max(0, s - reach) / (1 - reach)
    boost[c]  = the largest kernel of the kept examples of label c
    p'        = softmax(z + boost)

The strengths come from the network's own margin against the taught label on the taught drawing
(z_top - z_y, log-odds; 0 if it read it right): margin + MARGIN reads that drawing as taught.

  - A believable correction, one the network itself found plausible (margin <= PLAUSIBLE) or one
    that another kept example of the same label agrees with (similarity >= AGREE), has a style
    kernel: reach REACH, strength margin + MARGIN but at most CAP. Drawings in the same style
    lean towards its label, and change their reading only where the network is less sure of them
    than CAP: a continental 1 read as a 7 is read as a 1 after a few of them are taught, while a
    real 7 that the network reads firmly stays a 7.
  - Where the style kernel falls short of margin + MARGIN (or there is none), a copy kernel of
    that strength reads the drawing itself and near-copies as taught: reach NEAR for believable
    corrections; for a lone one the network disagrees with, the narrower the firmer it does, up
    to OWN_REACH (the drawing itself, nearly) at a margin of FIRM. A slip of the finger (a 3
    taught as an 8) thus changes that drawing's reading and no other 3's; taught twice, on
    drawings alike, it is believed.

With nothing kept the network's own ``predict_proba`` answers; a drawing out of every kernel's
reach gets the network's probabilities (to float rounding).

Teaching the same drawing a different label replaces the older example (the latest correction
wins, so a mis-tapped button is undone by tapping the right one). The memory holds at most
``capacity`` examples; when full, an example that a newer one of the same label nearly duplicates
goes first, then the oldest.

Features are a network's own, so the file keeps the corrected images, not features: a retrained
network recomputes its features of them when the memory is loaded.

Memory file format (version 1; integers little-endian)
------------------------------------------------------
    offset          size        what
    0               8           magic: the ASCII bytes ``digitmem``
    8               4           version: uint32, 1
    12              4           H: the header's length in bytes, uint32
    16              H           header: UTF-8 JSON object, no other keys
                                  {"count": n, "shape": [28, 28], "crc32": c}
                                  n examples, each image 28 x 28; c = zlib.crc32 of all bytes after
                                  the header (images then labels)
    16 + H          n * 784     images: uint8, row-major, 0 = paper, 255 = ink, oldest first
    16 + H + 784 n  n           labels: uint8, 0-9, in the same order
The file ends there. Anything else (another magic or version, a short or long file, a header
that says something else, a checksum that does not match, a label above 9) raises
MemoryFormatError, a ValueError, saying what is wrong.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from .cnn import matmul, softmax

MAGIC = b"digitmem"
VERSION = 1
SHAPE = (28, 28)
CAPACITY = 500  # examples kept; each costs one dot product per reading and 785 bytes in the file

# The method's constants, chosen with bench/personal.py (cosine similarities of the network's
# penultimate features; log-odds in natural units).
REACH = 0.70  # a style kernel starts at this similarity ...
CAP = 5.0  # ... and adds at most this many log-odds
NEAR = 0.90  # a copy kernel of a believable example starts here; ...
OWN_REACH = 0.99  # ... of one the network firmly disagrees with, here ...
FIRM = 10.0  # ... when its margin against the taught label is this or more (in between: in between)
MARGIN = 2.0  # the taught drawing itself is read as taught by this margin
PLAUSIBLE = 4.0  # the network's margin against the taught label at most this: a believable correction
AGREE = 0.93  # two examples of one label this similar agree (both believable)
SAME_DRAWING = 0.98  # this similar: the same drawing (a new label replaces the old; redundant when full)
TINY = np.float32(1e-30)  # added to norms: an all-zero feature vector is similar to nothing

_HEADER = struct.Struct("<8sII")  # magic, version, header length
_PIXELS = SHAPE[0] * SHAPE[1]


class MemoryFormatError(ValueError):
    """The bytes are not a memory file this code reads (see the format above)."""


class Personal:
    """A network plus what one person taught it; anything that takes a net takes a Personal."""

    def __init__(self, net, capacity: int = CAPACITY):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.net = net
        self.capacity = int(capacity)
        self._dense, *rest = net.layers[net.head_start :]
        if [layer.type for layer in rest] != ["softmax"]:
            raise ValueError("digits.personal reads networks that end in a dense layer and a softmax")
        self._bias = self._dense.bias.astype(np.float32)
        self._images = np.zeros((0, *SHAPE), np.uint8)  # oldest first, as stored in the file
        self._labels = np.zeros(0, np.uint8)
        self._units = np.zeros((0, self._dense.weight.shape[0]), np.float32)  # unit features of the images
        self._margins = np.zeros(0, np.float32)  # the network's log-odds against each label
        self._arrange()

    # --- what is kept ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"Personal({len(self)} examples kept, capacity {self.capacity})"

    @property
    def images(self) -> np.ndarray:
        """(n, 28, 28) float32 0..1: the kept drawings as the network saw them, oldest first."""
        return self._images.astype(np.float32) / 255

    @property
    def labels(self) -> np.ndarray:
        """(n,) int: their true labels, in the same order."""
        return self._labels.astype(np.int64)

    def learn(self, images, labels) -> None:
        """Keep corrected digits: ``images`` (k, 28, 28) as the network saw them, ``labels`` their digits."""
        images = np.asarray(images, np.float32)
        if images.ndim == 2:
            images = images[None]
        if images.ndim != 3 or images.shape[1:] != SHAPE:
            raise ValueError(f"images must be shaped (k, 28, 28), got {images.shape}")
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if labels.dtype.kind not in "iu" or ((labels < 0) | (labels > 9)).any():
            raise ValueError(f"labels must be digits 0-9, got {labels.tolist()}")
        pixels = np.rint(np.clip(np.nan_to_num(images), 0, 1) * 255).astype(np.uint8)
        self._add(pixels, labels.astype(np.uint8))

    def forget(self) -> None:
        """Forget everything taught: readings are the network's own again."""
        keep = np.zeros(len(self), bool)
        self._keep(keep)

    # --- reading -----------------------------------------------------------------------------

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 in 0..1 -> (N, 10) float32, rows summing to 1: the net's, as taught."""
        if not len(self):
            return self.net.predict_proba(x)
        return self.head(self.net.features(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    def features(self, x: np.ndarray) -> np.ndarray:
        """The network's features (see ``Net.features``): ``head(features(x))`` is ``predict_proba(x)``."""
        return self.net.features(x)

    def head(self, features: np.ndarray) -> np.ndarray:
        """(N, D) network features -> (N, 10) float32: the network's probabilities, boosted where taught."""
        if not len(self):
            return self.net.head(features)
        products, bias_and_boost = self._scores(features)
        products += bias_and_boost
        return softmax(products)

    def boost(self, features: np.ndarray) -> np.ndarray:
        """(N, D) network features -> (N, 10) float32: the log-odds each digit gains from what was taught."""
        return self._scores(features)[1] - self._bias

    def _scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features @ the last dense layer's weights, its bias + the boosts), from one product.

        The product takes the dense weights and every kernel's column side by side (``_arrange``);
        then a few numpy calls whatever the number of examples: the page pays per call and for
        the product's multiply-adds, and both stay a small share of the network's own.
        """
        features = np.asarray(features, np.float32)
        products = matmul(features, self._columns)
        kernels = products[:, 10:]  # f.u * gain, per kernel
        kernels /= np.sqrt(np.vecdot(features, features))[:, None] + TINY  # s * gain
        kernels -= self._offsets  # (s - reach) * gain - bias of its digit
        # Each digit's columns start with an inert one worth its bias: bias + max(0, kernels).
        return products[:, :10], np.maximum.reduceat(kernels, self._class_starts, axis=1)

    # --- the file ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The memory as a version-1 memory file (see the module's docstring)."""
        payload = self._images.tobytes() + self._labels.tobytes()
        header = {"count": len(self), "shape": list(SHAPE), "crc32": zlib.crc32(payload)}
        text = json.dumps(header, separators=(",", ":")).encode()
        return _HEADER.pack(MAGIC, VERSION, len(text)) + text + payload

    @classmethod
    def from_bytes(cls, net, data: bytes, capacity: int = CAPACITY) -> Personal:
        """A Personal for ``net`` holding what ``data`` (from ``to_bytes``) kept; MemoryFormatError if bad."""
        images, labels = parse(data)
        personal = cls(net, capacity)
        personal._add(images, labels, replace=False)  # kept as saved: the same memory, byte for byte
        return personal

    # --- keeping the cache in step -----------------------------------------------------------

    def _add(self, images: np.ndarray, labels: np.ndarray, replace: bool = True) -> None:
        """Append examples (uint8 images, labels), in order; then the latest-wins (if ``replace``) and capacity rules."""
        if not len(labels):
            return
        features = self.net.features(images.astype(np.float32) / 255)
        logits = features @ self._dense.weight + self._dense.bias
        margins = logits.max(axis=1) - logits[np.arange(len(labels)), labels]
        units = features / (np.linalg.norm(features, axis=1, keepdims=True) + TINY)
        old = len(self)
        self._images = np.concatenate([self._images, images])
        self._labels = np.concatenate([self._labels, labels])
        self._units = np.concatenate([self._units, units.astype(np.float32)])
        self._margins = np.concatenate([self._margins, margins.astype(np.float32)])

        similarity = self._units @ self._units.T
        newer = np.triu(np.ones((len(self), len(self)), bool), k=1)  # newer[i, j]: j was kept after i
        same_label = self._labels[:, None] == self._labels[None, :]
        # The same drawing taught again with another label: the older teaching is withdrawn.
        replaced = (newer & ~same_label & (similarity >= SAME_DRAWING))[:, old:].any(axis=1)
        keep = ~replaced if replace else np.ones(len(self), bool)
        # Over capacity: drop what a newer example of the same label nearly duplicates, then the oldest.
        excess = int(keep.sum()) - self.capacity
        if excess > 0:
            redundancy = np.where(newer & same_label & keep[None, :], similarity, -1.0).max(axis=1)
            candidates = np.flatnonzero(keep & (redundancy >= SAME_DRAWING))
            by_redundancy = candidates[np.argsort(-redundancy[candidates], kind="stable")][:excess]
            keep[by_redundancy] = False
            keep[np.flatnonzero(keep)[: max(0, int(keep.sum()) - self.capacity)]] = False
        self._keep(keep)

    def _keep(self, keep: np.ndarray) -> None:
        self._images, self._labels = self._images[keep], self._labels[keep]
        self._units, self._margins = self._units[keep], self._margins[keep]
        self._arrange()

    def _arrange(self) -> None:
        """Turn every example into its kernels (see the module's docstring), as columns for _scores.

        A kernel is the column u * gain and the offset reach * gain, gain = strength / (1 - reach):
        (f / |f|) @ column - offset is the kernel at f where positive. Columns are grouped by
        label, each group led by an inert column (all zero), and every offset is shifted by the
        bias of its label's logit: one ``np.maximum.reduceat`` then gives each digit its bias
        plus its boost (the inert column keeps the boost from going below 0), and the columns sit
        right beside the dense layer's weights, so one product serves both.
        """
        similarity = self._units @ self._units.T
        np.fill_diagonal(similarity, -1.0)
        agreeing = ((similarity >= AGREE) & (self._labels[:, None] == self._labels[None, :])).any(axis=1)
        believable = (self._margins <= PLAUSIBLE) | agreeing
        full = self._margins + MARGIN  # what reads the example's own drawing as taught
        copy = full > np.where(believable, CAP, 0)  # the style kernel, if any, falls short of it
        examples = np.concatenate([np.flatnonzero(believable), np.flatnonzero(copy)])
        # A copy kernel reaches near-copies of a believable drawing, and less far the firmer the network disagrees.
        copy_reach = np.where(believable, NEAR, np.interp(self._margins, [PLAUSIBLE, FIRM], [NEAR, OWN_REACH]))
        reach = np.concatenate([np.full(believable.sum(), REACH), copy_reach[copy]])
        strength = np.concatenate([np.minimum(full, CAP)[believable], full[copy]])
        reach, strength = reach.astype(np.float32), strength.astype(np.float32)
        gain = strength / (1 - reach)
        labels = self._labels[examples]
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=10)
        self._class_starts = (np.arange(10) + np.concatenate([[0], np.cumsum(counts)[:-1]])).astype(np.intp)
        real = np.ones(len(examples) + 10, bool)
        real[self._class_starts] = False
        slopes = np.zeros((self._units.shape[1], len(real)), np.float32)
        self._offsets = np.zeros(len(real), np.float32)
        slopes[:, real] = (self._units[examples] * gain[:, None])[order].T
        self._offsets[real] = (reach * gain)[order]
        self._offsets -= self._bias[np.repeat(np.arange(10), counts + 1)]  # see _scores
        self._columns = np.ascontiguousarray(np.concatenate([self._dense.weight, slopes], axis=1), np.float32)


def parse(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A memory file's bytes -> ((n, 28, 28) uint8 images, (n,) uint8 labels); MemoryFormatError if bad."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MemoryFormatError(f"a memory file is bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise MemoryFormatError(f"not a digits memory file: {len(data)} bytes, shorter than its fixed header")
    magic, version, header_length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise MemoryFormatError(f"not a digits memory file (it starts with {magic!r}, not {MAGIC!r})")
    if version != VERSION:
        raise MemoryFormatError(f"memory file version {version} is not supported (this code reads version {VERSION})")
    start = _HEADER.size + header_length
    if start > len(data):
        raise MemoryFormatError(f"memory file is truncated: its header needs {header_length} bytes, {len(data) - _HEADER.size} follow")
    try:
        header = json.loads(data[_HEADER.size : start].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MemoryFormatError(f"memory file header is not JSON ({e})") from None
    if not isinstance(header, dict) or set(header) != {"count", "shape", "crc32"}:
        keys = sorted(header) if isinstance(header, dict) else type(header).__name__
        raise MemoryFormatError(f"memory file header must hold exactly count, shape and crc32, it holds {keys}")
    count, shape, crc = header["count"], header["shape"], header["crc32"]
    if type(count) is not int or count < 0:
        raise MemoryFormatError(f"memory file header: count must be a whole number >= 0, got {count!r}")
    if shape != list(SHAPE):
        raise MemoryFormatError(f"memory file holds images shaped {shape!r}; this code reads {list(SHAPE)}")
    if type(crc) is not int:
        raise MemoryFormatError(f"memory file header: crc32 must be a whole number, got {crc!r}")
    expected = start + count * (_PIXELS + 1)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "too long"
        raise MemoryFormatError(f"memory file is {what}: {count} examples need {expected} bytes, it has {len(data)}")
    payload = data[start:]
    if zlib.crc32(payload) != crc:
        raise MemoryFormatError("memory file is damaged: its checksum does not match its contents")
    images = np.frombuffer(payload, np.uint8, count * _PIXELS).reshape(count, *SHAPE)
    labels = np.frombuffer(payload, np.uint8, count, offset=count * _PIXELS)
    if (labels > 9).any():
        raise MemoryFormatError(f"memory file holds labels out of range 0-9: {sorted(set(labels[labels > 9].tolist()))}")
    return images.copy(), labels.copy()
