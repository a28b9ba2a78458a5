"""python -m export.evaluate as a person runs it: real model files, real MNIST, a subprocess."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, SITE

MODEL = SITE / "model"


def evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "export.evaluate", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def model_dir(tmp_path, *names: str):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in names:
        shutil.copy(MODEL / name, folder / name)
    return folder


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda tmp: ["--mnist", str(tmp / "no-such-folder")], r"no-such-folder: not a folder \(expected a folder holding the four MNIST"),
    (lambda tmp: ["--mnist", str(model_dir(tmp, "card.json"))], r"no train-images-idx3-ubyte"),
    (lambda tmp: ["--model-dir", str(tmp / "nope")], r"nope: not a folder \(expected one holding digits\.npz and digits\.onnx\)"),
    (lambda tmp: ["--model-dir", str(model_dir(tmp))], r"weight file not found: .*digits\.npz"),
    (lambda tmp: ["--model-dir", str(model_dir(tmp, "digits.npz"))], r"digits\.onnx: not found; `make export` writes it"),
])
def test_wrong_paths_are_one_clear_error_not_a_traceback(tmp_path, make_args, message):
    result = evaluate(*make_args(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("python -m export.evaluate: error: ")]
    assert len(error) == 1, result.stderr
    assert re.search(message, error[0]), error[0]


def test_a_broken_onnx_file_is_named(tmp_path):
    folder = model_dir(tmp_path, "digits.npz")
    (folder / "digits.onnx").write_bytes(b"not a protobuf")
    result = evaluate("--model-dir", str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "digits.onnx: onnxruntime cannot run it" in result.stderr


def test_the_shipped_files_are_measured(tmp_path):
    result = evaluate()
    assert result.returncode == 0, result.stderr
    assert re.search(r"numpy \(site/digits/cnn\.py\): 99\.\d\d% on 10,000 MNIST test images \(\d+ errors\)",
                                   result.stdout), result.stdout
