"""What this Python offers the forward pass: BLAS or not, threads or not, and the choices that follow.

The same files run in CPython, where numpy's wheels bring OpenBLAS and threads are there, and in
the page (Pyodide), where numpy has neither BLAS nor SIMD and no thread can be started. The layer
maths never asks which; ``cnn`` and ``winograd`` take their defaults from here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

HAS_BLAS = bool(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("found"))

# Emscripten (Pyodide) and WASI builds of Python cannot start threads.
HAS_THREADS = sys.platform not in ("emscripten", "wasi")

# Which Winograd tiles pay. Without BLAS multiply-adds are the cost, and Winograd's 2.25-4.6x fewer
# of them win for every 3x3 convolution. With BLAS one im2col product beats F(2x2) and loses to
# F(4x4) and F(5x5), for one digit as for a batch (bench/browser.py and bench/cpython.py measure
# the paths).
WINOGRAD_TILES: tuple[int, ...] = (4, 5) if HAS_BLAS else (2, 4, 5)

# A convolution over one channel (the image) runs, with BLAS, as a product of small patches with
# a banded matrix, this many output pixels along a row at a time (cnn.conv2d_rows): im2col's
# patch copy is most of that layer's time there. Without BLAS multiply-adds are the cost, and
# the band's zeros would add to them.
ROW_BLOCK: int | None = 4 if HAS_BLAS else None

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Threads a large batch is spread over by default: every core this process may use (as
    onnxruntime does), or 1 where there are no threads."""
    if not HAS_THREADS:
        return 1
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return len(cores) if cores else (os.cpu_count() or 1)


def map_in_order(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """[fn(item) for item in items], on up to ``workers`` threads (None: default_workers()).

    numpy releases the GIL inside its loops and BLAS calls, so independent items run in parallel.
    Each item is computed exactly as it would be alone, so the results never depend on ``workers``.
    """
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of threads, 1 or more (or None for every core), got {workers!r}")
    workers = min(workers, len(items)) if HAS_THREADS else 1
    if workers <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))
