"""CPython throughput: ``Net.predict_proba`` against onnxruntime on the shipped files.

    .venv/bin/python -m bench.cpython [--repeats 5] [--out bench/results/cpython.json]

Same process, same 10,000 MNIST test images, defaults against defaults, as a user would call
them: ``net.predict_proba(x)`` (a thread per core, chunks of images spread over them) and a
default ``onnxruntime.InferenceSession`` (its own thread pool, one thread per core). OpenBLAS
keeps one thread per call (bench/__init__.py, before numpy loads): its own threads on top of ours
would oversubscribe the cores and spin. Each side runs ``--repeats`` times after a warm-up and
the medians are compared, against the bar in bench/bars.toml (cpython.throughput_ratio).
Writes JSON and prints one line; the table is in the README (python -m docs.render).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import bars
from digits import cnn
from digits.machine import default_workers

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}


def timed(run, repeats: int) -> list[float]:
    run()  # warm-up: first-call allocation and library start-up are not throughput
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def conv_path(layer) -> str:
    """How this numpy runs one convolution layer, in words: "5x5 conv: 4-pixel row blocks, ..."."""
    if layer.winograd_tile:
        how = f"Winograd F({layer.winograd_tile}x{layer.winograd_tile})"
    elif layer.row_block:
        how = f"{layer.row_block}-pixel row blocks" + (", pooled in the same step" if layer.pooled else "")
    else:
        how = "im2col"
    return f"{layer.weight.shape[0]}x{layer.weight.shape[1]} conv: {how}"


def measure(model_dir: Path, repeats: int) -> dict:
    import onnxruntime as ort

    from training import data

    x = data.load().x_test.astype(np.float32) / 255.0
    net = cnn.load(model_dir / "digits.npz")
    session = ort.InferenceSession(str(model_dir / "digits.onnx"))
    numpy_s = timed(lambda: net.predict_proba(x), repeats)
    onnx_s = timed(lambda: session.run(["probabilities"], {"image": x}), repeats)
    n = len(x)
    numpy_rate, onnx_rate = n / statistics.median(numpy_s), n / statistics.median(onnx_s)
    return {
        "images": n,
        "repeats": repeats,
        "numpy_seconds": numpy_s,
        "onnxruntime_seconds": onnx_s,
        "numpy_images_per_second": numpy_rate,
        "onnxruntime_images_per_second": onnx_rate,
        "ratio_numpy_to_onnxruntime": numpy_rate / onnx_rate,
        "numpy_path": ", ".join(conv_path(layer) for layer in net.layers if layer.type == "conv2d")
        + f"; predict_proba's default {default_workers()} threads, 1 BLAS thread each",
        "multiply_adds_per_digit": net.multiply_adds,
        "machine": machine(),
        "onnxruntime": ort.__version__,
        "command": "make bench  (or: .venv/bin/python -m bench.cpython)",
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cpython", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=ROOT / "site" / "model")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per side after a warm-up (default %(default)s)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cpython.json")
    a = p.parse_args(argv)
    r = measure(a.model_dir, a.repeats)
    r["passed"] = bars.verdicts("cpython", r)  # against bench/bars.toml
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(r, indent=2) + "\n")
    print(f"numpy {r['numpy_images_per_second']:,.0f} images/s, onnxruntime {r['onnxruntime_images_per_second']:,.0f}: "
          f"{r['ratio_numpy_to_onnxruntime']:.2f}x ({'meets' if all(r['passed'].values()) else 'MISSES'} "
          f"{bars.BARS['cpython.throughput_ratio'].text()}); wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
