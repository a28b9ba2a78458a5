"""Keras -> site files (digits.npz, digits.onnx, card.json), and the page's Python runtime."""

import hashlib
import os
from pathlib import Path

# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notes) hides the progress bars; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file, hex, read in blocks: the one digest card.json records, the runtime
    build checks the wheels with, and the model card cross-checks (standard library only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
