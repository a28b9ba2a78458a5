"""Training data the way the page draws it: MNIST traced into pen strokes, and non-digit drawings.

    traced(images, name)      every digit's strokes (training.strokes.trace), computed once and
                              cached beside the MNIST files (.cache/mnist/<name>-strokes.npz)
    pen_images(strokes, ...)  each digit redrawn with the page's round pen, through to_mnist
    nondigit_images(n, ...)   letters, symbols, shapes and scribbles (training.nondigits), drawn
                              and normalised the same way: what the network must learn to doubt
    pair_images(strokes, ...) two digits touching, read as one piece: a reading the network must
                              doubt too, so that touching digits are told apart by recognition

The cache file says what it is: ``format`` ("digits-strokes"), ``version``, the sha256 of the
images it was traced from (a different MNIST file is traced anew, never silently reused) and its
arrays: ``points`` (P, 2) float32 (x, y) in MNIST pixel coordinates, ``stroke_ends`` (S,) int64
cumulative point counts, ``digit_ends`` (N,) int64 cumulative stroke counts. Its own sha256 sits
beside it (``.sha256``); a file that does not match is traced again.

Tracing 60,000 digits takes a few minutes on two cores; drawing them again about as long, so the
drawn images are cached too, keyed by everything that shapes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from training import strokes as pen_strokes
from training.data import DEFAULT_CACHE

FORMAT, VERSION = "digits-strokes", 1
DRAW_VERSION = 1  # bump when pen_images or nondigit_images draw differently: the cache is keyed by it
PEN_TO_HEIGHT = (0.05, 0.25)  # the page's pen over a digit's height: a big lone digit .. a small one in a number
CHUNK = 1000
PAIR_ASPECT = 1.2  # a touching pair narrower than this (width / height) may pass for one digit: not taught


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _trace_chunk(images: np.ndarray) -> list[list[np.ndarray]]:
    return [pen_strokes.trace(image) for image in images]


def _parallel(function, chunks: list, label: str) -> list:
    """Run ``function`` over ``chunks`` on every core, in order, with a progress bar."""
    from tqdm import tqdm

    workers = min(os.cpu_count() or 1, len(chunks)) or 1
    with ProcessPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(function, chunks), total=len(chunks), desc=label, unit="k digits", leave=False))


def pack(digits: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    strokes = [s for d in digits for s in d]
    return {
        "points": np.concatenate(strokes).astype(np.float32) if strokes else np.zeros((0, 2), np.float32),
        "stroke_ends": np.cumsum([len(s) for s in strokes]).astype(np.int64),
        "digit_ends": np.cumsum([len(d) for d in digits]).astype(np.int64),
    }


def unpack(arrays) -> list[list[np.ndarray]]:
    points, stroke_ends, digit_ends = arrays["points"], arrays["stroke_ends"], arrays["digit_ends"]
    strokes = np.split(points, stroke_ends[:-1]) if len(stroke_ends) else []
    starts = np.concatenate([[0], digit_ends])[:-1]  # no digits: no starts
    return [strokes[a:b] for a, b in zip(starts, digit_ends, strict=True)]


def traced(images: np.ndarray, name: str, cache: Path = DEFAULT_CACHE) -> list[list[np.ndarray]]:
    """(N, 28, 28) uint8 scans -> their strokes, from the cache when it holds these very images."""
    source = digest(np.ascontiguousarray(images).tobytes())
    path = Path(cache) / f"{name}-strokes.npz"
    check = path.with_suffix(".sha256")
    if path.exists() and check.exists():
        data = path.read_bytes()
        if digest(data) == check.read_text().strip():
            with np.load(path) as arrays:
                header = json.loads(str(arrays["header"]))
                if header == {"format": FORMAT, "version": VERSION, "source_sha256": source, "count": len(images)}:
                    return unpack(arrays)
        print(f"{path}: stale or corrupt, tracing again", flush=True)
    chunks = [images[i : i + CHUNK] for i in range(0, len(images), CHUNK)]
    digits = [d for part in _parallel(_trace_chunk, chunks, f"tracing {name}") for d in part]
    header = {"format": FORMAT, "version": VERSION, "source_sha256": source, "count": len(images)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, header=np.array(json.dumps(header)), **pack(digits))
    check.write_text(digest(tmp.read_bytes()) + "\n")
    tmp.replace(path)
    return digits


def draw_small(strokes: list[np.ndarray], rng: np.random.Generator, jitter: float = 1.0) -> np.ndarray:
    """One drawing, as the network would see it from the page: a round pen, then to_mnist.

    Drawn at 28-60 px tall (to_mnist's output hardly depends on the size; small is fast) with
    a pen of PEN_TO_HEIGHT of the height, log-uniform, and a hand's jitter.
    """
    from digits.preprocess import to_mnist

    strokes = pen_strokes.jitter(strokes, rng, jitter)
    height = rng.uniform(28, 60)
    pen = height * np.exp(rng.uniform(*np.log(PEN_TO_HEIGHT)))
    points = np.concatenate(strokes)
    extent = np.ptp(points, axis=0)
    scale = height / max(float(extent.max()), 1e-6) if extent[1] < 0.2 * extent.max() else height / float(extent[1])
    margin = pen + 2
    placed = [(s - points.min(axis=0)) * scale + margin for s in strokes]
    shape = (int(extent[1] * scale + 2 * margin) + 1, int(extent[0] * scale + 2 * margin) + 1)
    return to_mnist(pen_strokes.paint(placed, shape, pen))


def _draw_chunk(job) -> np.ndarray:
    drawings, seed, index, variants = job
    rng = np.random.default_rng([seed, index])
    out = np.zeros((len(drawings), variants, 28, 28), np.uint8)
    for i, strokes in enumerate(drawings):
        for v in range(variants):
            if len(strokes):
                out[i, v] = np.round(draw_small(strokes, rng) * 255)
    return out


def _cached(key: dict, name: str, make, cache: Path) -> np.ndarray:
    path = Path(cache) / f"{name}-{digest(json.dumps(key, sort_keys=True).encode())[:16]}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            print(f"{path}: corrupt, drawing again", flush=True)
    array = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)
    return array


def pen_images(digits: list[list[np.ndarray]], seed: int, variants: int, name: str, cache: Path = DEFAULT_CACHE):
    """Every traced digit drawn ``variants`` times -> (N, variants, 28, 28) uint8, cached."""
    key = {"what": "pen", "name": name, "n": len(digits), "seed": seed, "variants": variants, "v": DRAW_VERSION,
           "strokes": digest(pack(digits)["points"].tobytes())}

    def make():
        jobs = [(digits[i : i + CHUNK], seed, i // CHUNK, variants) for i in range(0, len(digits), CHUNK)]
        return np.concatenate(_parallel(_draw_chunk, jobs, f"drawing {name}"))

    return _cached(key, f"{name}-pen", make, cache)


def draw_pair(first: list[np.ndarray], second: list[np.ndarray], rng: np.random.Generator) -> np.ndarray | None:
    """Two digits drawn side by side until their ink touches or overlaps a little, normalised as
    one piece: what a reader sees when it fails to tell touching digits apart. Not a digit."""
    from digits.preprocess import to_mnist

    height = rng.uniform(28, 60)
    pen = height * np.exp(rng.uniform(*np.log(PEN_TO_HEIGHT)))
    a = pen_strokes.fit(pen_strokes.jitter(first, rng), height, pen + 2, pen + 2)
    b = pen_strokes.fit(pen_strokes.jitter(second, rng), height * rng.uniform(0.85, 1.15), 0, pen + 2)
    a_right = max(float(s[:, 0].max()) for s in a)
    b_width = max(float(s[:, 0].max()) for s in b)
    left = a_right + pen * rng.uniform(-1.5, 1.0) - 0.1 * b_width * rng.uniform()
    b = [s + np.array([max(left, pen + 2), 0], np.float32) for s in b]
    points = np.concatenate(a + b)
    if np.ptp(points[:, 0]) < PAIR_ASPECT * np.ptp(points[:, 1]):
        return None  # as compact as one digit (a 1 against a 7): it may well read as one
    shape = (int(points[:, 1].max() + pen + 3), int(points[:, 0].max() + pen + 3))
    return to_mnist(pen_strokes.paint(a + b, shape, pen))


def _pair_chunk(job) -> np.ndarray:
    drawings, seed, index, count = job
    rng = np.random.default_rng([seed, index, 11])
    out = np.zeros((count, 28, 28), np.uint8)
    done = 0
    while done < count:
        first, second = rng.integers(0, len(drawings), 2)
        if len(drawings[first]) and len(drawings[second]):
            image = draw_pair(drawings[first], drawings[second], rng)
            if image is not None:
                out[done] = np.round(image * 255)
                done += 1
    return out


def pair_images(digits: list[list[np.ndarray]], count: int, seed: int, name: str, cache: Path = DEFAULT_CACHE):
    """``count`` pairs of touching training digits read as one piece -> (count, 28, 28) uint8, cached."""
    key = {"what": "pairs", "name": name, "n": count, "seed": seed, "v": DRAW_VERSION, "aspect": PAIR_ASPECT,
           "strokes": digest(pack(digits)["points"].tobytes())}

    def make():
        pool = 2000  # each chunk draws its pairs from its own slice of digits: small jobs to ship
        jobs = [(digits[(i * pool) % len(digits) :][:pool], seed, i // CHUNK, min(CHUNK, count - i)) for i in range(0, count, CHUNK)]
        return np.concatenate(_parallel(_pair_chunk, jobs, "drawing touching pairs"))

    return _cached(key, f"{name}-pairs", make, cache)


def _nondigit_chunk(job) -> np.ndarray:
    count, seed, index, kinds = job
    from training import nondigits

    rng = np.random.default_rng([seed, index, 7])
    out = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        _, drawing = nondigits.sample(rng, kinds)
        out[i] = np.round(draw_small([np.asarray(s, np.float32) * 28 for s in drawing], rng, jitter=0.5) * 255)
    return out


def nondigit_images(count: int, seed: int, kinds: tuple[str, ...] | None = None, cache: Path = DEFAULT_CACHE):
    """``count`` non-digit drawings from ``kinds`` (default: training.nondigits.TRAIN_KINDS) -> (count, 28, 28) uint8."""
    from training import nondigits

    kinds = tuple(kinds or nondigits.TRAIN_KINDS)
    key = {"what": "nondigits", "n": count, "seed": seed, "kinds": kinds, "v": DRAW_VERSION,
           "source": digest(Path(nondigits.__file__).read_bytes())}

    def make():
        jobs = [(min(CHUNK, count - i), seed, i // CHUNK, kinds) for i in range(0, count, CHUNK)]
        return np.concatenate(_parallel(_nondigit_chunk, jobs, "drawing non-digits"))

    return _cached(key, "nondigits", make, cache)
