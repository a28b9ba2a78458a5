"""Keras -> site files (digits.npz, digits.onnx, card.json), and the page's Python runtime."""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notes) hides the progress bars; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
