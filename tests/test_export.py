"""Training smoke run through export: a 2,000-image, one-epoch model goes all the way to site files,
and the three implementations (Keras, onnxruntime, numpy) agree on it."""

import json

import numpy as np
import onnx
import pytest

from digits import cnn
from export import model as export_model
from export import sha256_file
from export.model import ExportError, ExportSettings, export, fold, folded_keras
from training.train import Settings, train

# One epoch on 2,000 images, with few non-digit drawings and a narrower hidden layer than the
# default (so that its width is seen to reach the shipped file): the whole chain, quickly.
SMOKE = {"epochs": 1, "subset": 2000, "target": 0, "nondigits": 200, "pairs": 200, "hidden": 128}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    result = train(Settings(**SMOKE, out=str(run)))
    site = run / "site"
    card = export(ExportSettings(run=str(run), out=str(site)))
    return run, site, result, card


def test_training_writes_its_files_and_learns_something(smoke):
    run, _, result, _ = smoke
    assert (run / "model.keras").exists()
    assert "val_accuracy" in (run / "history.csv").read_text().splitlines()[0]
    run_info = json.loads((run / "run.json").read_text())
    assert run_info["train_images"] == 2000 + 200 + 200  # digits, non-digits, touching pairs
    assert len(run_info["epoch_seconds"]) == 1 and 0 < run_info["epoch_seconds"][0] < 600
    assert result["test_accuracy"] > 0.5  # one epoch on 2,000 images: far above chance, far below the bar


def test_export_writes_self_describing_consistent_files(smoke):
    _, site, _, card = smoke
    net = cnn.load(site / "digits.npz")
    assert [spec["type"] for spec in card["layers"]] == [
        "conv2d", "relu", "max_pool", "conv2d", "relu", "conv2d", "relu", "max_pool", "flatten", "dense", "relu",
        "dense", "softmax",
    ]
    assert card["multiply_adds_per_digit"] == net.multiply_adds < 15_000_000
    assert net.features(np.zeros((1, 28, 28), np.float32)).shape == (1, SMOKE["hidden"])  # --hidden, as trained
    assert card["files"]["digits.npz"]["sha256"] == sha256_file(site / "digits.npz")
    assert (site / "digits.npz").stat().st_size < 1_000_000
    assert net.meta["test_accuracy"] == card["test_accuracy"]
    onnx.checker.check_model(onnx.load(str(site / "digits.onnx")), full_check=True)
    assert json.loads((site / "card.json").read_text()) == card


def test_numpy_onnxruntime_and_keras_agree(smoke):
    import keras

    from training import data

    run, site, _, _ = smoke
    x = data.load().x_test[:300].astype(np.float32) / 255.0
    specs, arrays = fold(keras.models.load_model(run / "model.keras"))
    p_keras = np.asarray(folded_keras(specs, arrays)(x))
    p_numpy = cnn.load(site / "digits.npz").predict_proba(x)
    p_onnx = export_model.onnx_proba(site / "digits.onnx", x)
    np.testing.assert_allclose(p_numpy, p_onnx, atol=1e-4)
    np.testing.assert_allclose(p_numpy, p_keras, atol=1e-4)
    # Folding and float16 rounding keep the trained network's answers.
    p_trained = np.asarray(keras.models.load_model(run / "model.keras")(x[..., None], training=False))
    np.testing.assert_allclose(p_numpy, p_trained, atol=2e-2)


def test_export_refuses_to_write_below_its_accuracy_floor(smoke, tmp_path):
    run, _, _, _ = smoke
    with pytest.raises(ExportError, match="below 99.90%"):
        export(ExportSettings(run=str(run), out=str(tmp_path / "out"), min_accuracy=0.999))
    assert not (tmp_path / "out").exists()


def test_export_without_a_run_says_what_to_do(tmp_path):
    with pytest.raises(ExportError, match="train first"):
        export(ExportSettings(run=str(tmp_path), out=str(tmp_path / "out")))


def test_training_is_reproducible_from_its_seed(smoke, tmp_path):
    import keras

    run, _, result, _ = smoke
    again = train(Settings(**SMOKE, out=str(tmp_path)))
    assert again["test_accuracy"] == result["test_accuracy"]
    for a, b in zip(keras.models.load_model(run / "model.keras").get_weights(),
                    keras.models.load_model(tmp_path / "model.keras").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_run_below_its_target_fails_and_cannot_be_shipped(tmp_path):
    from training.train import main

    run = tmp_path / "run"
    code = main(["--epochs", "1", "--subset", "200", "--nondigits", "20", "--pairs", "20", "--target", "0.99",
                 "--out", str(run)])
    assert code == 1
    assert not (run / "model.keras").exists() and (run / "model.below-target.keras").exists()
    assert json.loads((run / "run.json").read_text())["meets_target"] is False
    with pytest.raises(ExportError, match="train first"):  # export finds no model.keras to ship
        export(ExportSettings(run=str(run), out=str(tmp_path / "out")))
    (run / "model.below-target.keras").rename(run / "model.keras")  # even renamed by hand: refused
    with pytest.raises(ExportError, match="missed its accuracy target"):
        export(ExportSettings(run=str(run), out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()
