"""The shipped model files under site/model/: the product, measured on the real MNIST test set."""

import json
from pathlib import Path

import numpy as np
import pytest

from bench.bars import BARS
from digits import cnn
from export import sha256_file
from export.model import onnx_proba
from training import data
from training.train import Settings

MODEL = Path(__file__).resolve().parent.parent / "site" / "model"


@pytest.fixture(scope="module")
def shipped():
    m = data.load()
    x = m.x_test.astype(np.float32) / 255.0
    net = cnn.load(MODEL / "digits.npz")
    return net, x, m.y_test, net.predict_proba(x), json.loads((MODEL / "card.json").read_text())


def test_shipped_numpy_network_meets_the_release_floor(shipped):
    """The shipped files reach what `make train` ships at (training's target). Issue 9's bar for
    MNIST (bench/bars.toml) is higher; the README's model table says whether it is met."""
    _, _, y, p, card = shipped
    accuracy = (p.argmax(1) == y).mean()
    floor = Settings().target
    assert accuracy >= floor, f"shipped model scores {accuracy:.2%} on MNIST test, below the release floor {floor:.2%}"
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-9), "card.json does not report the measured figure"
    assert BARS["card.mnist_accuracy"].met(accuracy) == (accuracy >= 0.996)  # the bar itself is not moved


def test_numpy_agrees_with_onnxruntime_on_the_whole_test_set(shipped):
    _, x, _, p, _ = shipped
    assert BARS["card.parity"].met(np.abs(p - onnx_proba(MODEL / "digits.onnx", x)).max())
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)


def test_size_cost_and_digests_are_as_the_card_says(shipped):
    net, _, _, _, card = shipped
    assert BARS["card.npz_bytes"].met((MODEL / "digits.npz").stat().st_size)
    assert BARS["card.multiply_adds"].met(net.multiply_adds)
    assert card["multiply_adds_per_digit"] == net.multiply_adds
    assert card["parameters"] == net.parameters
    for name in ("digits.npz", "digits.onnx"):
        assert card["files"][name]["sha256"] == sha256_file(MODEL / name), f"{name} changed since card.json was written"


def test_the_pages_winograd_path_agrees_with_onnxruntime(shipped):
    """The page (numpy without BLAS) runs 3x3 convolutions as Winograd: same answers to 1e-4."""
    _, x, _, p, _ = shipped
    fast = cnn.load(MODEL / "digits.npz", winograd=True)
    assert any(layer.winograd_tile for layer in fast.layers)
    assert np.abs(fast.predict_proba(x[:2000]) - p[:2000]).max() <= 1e-4
