"""Export a trained Keras model as the site's files, refusing anything that does not agree.

    python -m export --run runs/latest            # writes site/model/{digits.npz,digits.onnx,card.json}

1. Fold batch norm into the preceding convolution or dense layer, and round every weight to
   float16 (the npz stores float16: half the download, and the rounding is applied to the ONNX
   file too so that all three implementations run the very same numbers).
2. Rebuild the folded network in Keras, write it as ONNX with tf2onnx (dynamic batch, input
   ``image`` (N, 28, 28) float32 in 0..1, output ``probabilities`` (N, 10)), ``onnx.checker`` it.
3. Run the same 1,000 test images through Keras, onnxruntime and ``site/digits/cnn.py``; refuse to
   write anything if any pair differs by more than 1e-4 in probability.
4. Measure the shipped numpy network on all 10,000 test images, and numpy against onnxruntime on
   all of them; write ``card.json`` with the figures, sizes, digests, settings and versions.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits import cnn
from export import sha256_file

ROOT = Path(__file__).resolve().parent.parent

TOLERANCE = 1e-4
PARITY_IMAGES = 1000
DEFAULT_FLOOR = 0.99  # a run without run.json (or without a target) must at least read this much of MNIST


class ExportError(RuntimeError):
    """The export would ship files that disagree or miss their targets; nothing was written."""


@dataclass(frozen=True)
class ExportSettings:
    run: str = "runs/latest"  # folder with model.keras and run.json from training
    out: str = "site/model"
    mnist: str | None = None
    min_accuracy: float | None = None  # refuse to export below this numpy test accuracy (None: the run's own target)


def fold(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Keras model -> (layer list, float16 arrays) in the npz's vocabulary, batch norm folded."""
    import keras

    specs: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    pending = None  # the conv/dense layer whose output a following batch norm rescales

    def emit_pending():
        nonlocal pending
        if pending is not None:
            kind, w, b = pending
            name = f"{len(arrays) // 2}_{kind}"
            arrays[f"{name}.weight"], arrays[f"{name}.bias"] = w.astype(np.float16), b.astype(np.float16)
            specs.append({"type": kind, "weight": f"{name}.weight", "bias": f"{name}.bias"}
                         | ({"padding": pending_padding} if kind == "conv2d" else {}))
            if pending_softmax:
                specs.append({"type": "softmax"})
            pending = None

    pending_padding, pending_softmax = "valid", False
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Dropout):
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = (np.asarray(v, np.float64) for v in layer.get_weights())
            scale = gamma / np.sqrt(var + layer.epsilon)
            kind, w, b = pending
            pending = (kind, w * scale, (b - mean) * scale + beta)
            continue
        emit_pending()
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            if isinstance(layer, keras.layers.Conv2D) and tuple(layer.strides) != (1, 1):
                raise ExportError(f"{layer.name}: only stride-1 convolutions are supported")
            weights = [np.asarray(v, np.float64) for v in layer.get_weights()]
            w = weights[0]
            b = weights[1] if layer.use_bias else np.zeros(w.shape[-1])
            kind = "conv2d" if isinstance(layer, keras.layers.Conv2D) else "dense"
            pending = (kind, w, b)
            pending_padding = getattr(layer, "padding", "valid")
            activation = layer.activation.__name__
            if activation not in ("linear", "softmax", "relu"):
                raise ExportError(f"{layer.name}: activation {activation!r} is not supported")
            pending_softmax = activation == "softmax"
            if activation == "relu":
                emit_pending()
                specs.append({"type": "relu"})
        else:
            specs.append(weightless_spec(layer))
    emit_pending()
    if not specs or specs[-1]["type"] != "softmax":
        raise ExportError("the model must end in a softmax")
    return specs, arrays


def weightless_spec(layer) -> dict:
    """The npz's spec of a layer without weights (relu, max_pool, flatten), or ExportError if numpy cannot run it."""
    import keras

    if isinstance(layer, keras.layers.ReLU):
        return {"type": "relu"}
    if isinstance(layer, keras.layers.MaxPooling2D):
        if tuple(layer.pool_size) != tuple(layer.strides) or layer.pool_size[0] != layer.pool_size[1]:
            raise ExportError(f"{layer.name}: only square, non-overlapping max pooling is supported")
        return {"type": "max_pool", "size": int(layer.pool_size[0])}
    if isinstance(layer, keras.layers.Flatten):
        return {"type": "flatten"}
    raise ExportError(f"{layer.name}: layer type {type(layer).__name__} has no numpy counterpart")


def folded_keras(specs: list[dict], arrays: dict[str, np.ndarray]):
    """The folded network as a Keras model (input (N, 28, 28)), carrying the float16-rounded weights."""
    import keras
    from keras import layers

    x = inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(x)
    for spec in specs:
        kind = spec["type"]
        if kind in ("conv2d", "dense"):
            w, b = arrays[spec["weight"]].astype(np.float32), arrays[spec["bias"]].astype(np.float32)
            if kind == "conv2d":
                layer = layers.Conv2D(w.shape[-1], w.shape[:2], padding=spec["padding"])
            else:
                layer = layers.Dense(w.shape[-1])
            x = layer(x)
            layer.set_weights([w, b])
        elif kind == "relu":
            x = layers.ReLU()(x)
        elif kind == "max_pool":
            x = layers.MaxPooling2D(spec["size"])(x)
        elif kind == "flatten":
            x = layers.Flatten()(x)
        elif kind == "softmax":
            x = layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, x, name="digits_folded")


def to_onnx(model, path: Path) -> None:
    """Write ``model`` as ONNX through tf2onnx's from_function (from_keras fails on Keras 3)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    signature = (tf.TensorSpec((None, 28, 28), tf.float32, name="image"),)

    @tf.function(input_signature=signature)
    def forward(image):
        return {"probabilities": model(image, training=False)}

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=signature, opset=17)
    proto.doc_string = "Handwritten digit recognizer: image (N,28,28) float32 0..1, ink=1 -> probabilities (N,10)"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


def onnx_proba(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"image": images.astype(np.float32)})[0]


def versions() -> dict[str, str]:
    import keras
    import onnx
    import onnxruntime
    import tensorflow
    import tf2onnx

    return {
        "python": platform.python_version(), "tensorflow": tensorflow.__version__, "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }


def read_run(run: Path, min_accuracy: float | None) -> tuple[dict, float]:
    """The run's run.json ({} without one) and the test accuracy the export must reach; ExportError
    for a run with no model.keras or one that missed its target."""
    if not (run / "model.keras").exists():
        raise ExportError(f"{run}/model.keras not found: train first (`make train`, or python -m training.train --out {run})")
    run_info = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    if run_info.get("meets_target") is False:
        raise ExportError(f"{run}/run.json says this run missed its accuracy target; nothing written")
    judged = run_info.get("judged", {}).get("target")  # a run re-judged against a changed target says so
    floor = min_accuracy if min_accuracy is not None else judged or run_info.get("settings", {}).get("target", DEFAULT_FLOOR)
    return run_info, floor


def parity(folded, net: cnn.Net, onnx_file: Path, sample: np.ndarray) -> dict:
    """Each pair of Keras, onnxruntime and numpy's largest difference in probability on ``sample``;
    ExportError if any pair is further apart than TOLERANCE."""
    p_numpy = net.predict_proba(sample)
    p_onnx = onnx_proba(onnx_file, sample)
    p_keras = np.asarray(folded.predict(sample, batch_size=500, verbose=0))
    pairs = {
        "keras_vs_onnxruntime": np.abs(p_keras - p_onnx).max(),
        "keras_vs_numpy": np.abs(p_keras - p_numpy).max(),
        "numpy_vs_onnxruntime": np.abs(p_numpy - p_onnx).max(),
    }
    for pair, diff in pairs.items():
        print(f"  parity {pair:<22} max |dp| = {diff:.2e} on {PARITY_IMAGES} images")
    bad = {k: v for k, v in pairs.items() if not v <= TOLERANCE}
    if bad:
        raise ExportError(f"implementations disagree beyond {TOLERANCE}: {bad}; nothing written")
    return pairs


def measure(trained, net: cnn.Net, onnx_file: Path, x_test: np.ndarray, y_test: np.ndarray,
            min_accuracy: float) -> tuple[dict, float, float]:
    """The shipped numpy network on the whole test set: the card's scores, its seconds, and its largest
    difference from onnxruntime; ExportError if that is over TOLERANCE or the accuracy under ``min_accuracy``."""
    print("measuring the shipped numpy network on 10,000 test images ...", flush=True)
    started = time.perf_counter()
    p_numpy = net.predict_proba(x_test)
    seconds = time.perf_counter() - started
    p_onnx = onnx_proba(onnx_file, x_test)
    predicted = p_numpy.argmax(1)
    accuracy = float((predicted == y_test).mean())
    trained_accuracy = float((np.asarray(trained.predict(x_test[..., None], batch_size=500, verbose=0)).argmax(1) == y_test).mean())
    full_diff = float(np.abs(p_numpy - p_onnx).max())
    if full_diff > TOLERANCE:
        raise ExportError(f"numpy vs onnxruntime differ by {full_diff:.2e} > {TOLERANCE} on the test set; nothing written")
    if accuracy < min_accuracy:
        raise ExportError(f"numpy test accuracy {accuracy:.2%} is below {min_accuracy:.2%} (the run's target, "
                          "or --min-accuracy); nothing written")
    scores = {
        "test_accuracy": accuracy,
        "test_errors": int((predicted != y_test).sum()),
        "test_images": int(len(y_test)),
        "per_digit_accuracy": {str(d): float((predicted[y_test == d] == d).mean()) for d in range(10)},
        "trained_keras_test_accuracy": trained_accuracy,
    }
    return scores, seconds, full_diff


def model_card(specs: list[dict], net: cnn.Net, files: list[Path], scores: dict, pairs: dict, full_diff: float,
               numpy_seconds: float, run_info: dict) -> dict:
    """card.json: what the shipped files are, how well they read, how they were checked, how to remake them."""
    return {
        "name": "digits",
        "task": "MNIST handwritten digit classification, run in the browser by numpy (Pyodide)",
        **scores,
        "parameters": int(net.parameters),
        "multiply_adds_per_digit": int(net.multiply_adds),
        "layers": specs,
        "weights_dtype": "float16",
        "files": {f.name: {"bytes": f.stat().st_size, "sha256": sha256_file(f)} for f in files},
        "parity": {
            **{k: float(v) for k, v in pairs.items()},
            "parity_images": PARITY_IMAGES,
            "numpy_vs_onnxruntime_full_test_set": full_diff,
            "tolerance": TOLERANCE,
        },
        "numpy_cpython_seconds_10000": round(numpy_seconds, 3),
        "training": run_info,
        "versions": versions(),
        "reproduce": "make train  (or: python -m training.train && python -m export); "
        "accuracy of the shipped files alone: python -m export.evaluate",
        "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def export(s: ExportSettings) -> dict:
    import keras

    from training import data

    run = Path(s.run)
    run_info, min_accuracy = read_run(run, s.min_accuracy)
    trained = keras.models.load_model(run / "model.keras")
    mnist = data.load(s.mnist)
    x_test = mnist.x_test.astype(np.float32) / 255.0
    y_test = mnist.y_test

    print("folding batch norm, rounding weights to float16 ...", flush=True)
    specs, arrays = fold(trained)
    folded = folded_keras(specs, arrays)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        npz, onnx_file = tmp / "digits.npz", tmp / "digits.onnx"
        meta = {"trained": run_info.get("settings", {}), "input": "(N, 28, 28) float32 0..1, ink = 1",
                # what a retrain needs to reproduce these weights bit for bit (see training.train.environment)
                "trained_on": run_info.get("environment", {})}
        cnn.save(npz, specs, arrays, meta)
        print("writing ONNX with tf2onnx ...", flush=True)
        to_onnx(folded, onnx_file)

        # Three-way parity on the same 1,000 test images, then the shipped files on the whole test
        # set, before anything is written.
        net = cnn.load(npz)
        pairs = parity(folded, net, onnx_file, x_test[:PARITY_IMAGES])
        scores, numpy_seconds, full_diff = measure(trained, net, onnx_file, x_test, y_test, min_accuracy)

        # The same arrays again, now with the measured figures in the file's own meta (the page
        # shows them); the digest in card.json is of this final file.
        cnn.save(npz, specs, arrays, meta | {"test_accuracy": scores["test_accuracy"],
                                            "parameters": int(net.parameters),
                                            "multiply_adds_per_digit": int(net.multiply_adds)})
        card = model_card(specs, net, [npz, onnx_file], scores, pairs, full_diff, numpy_seconds, run_info)
        out = Path(s.out)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(npz, out / "digits.npz")
        shutil.copy(onnx_file, out / "digits.onnx")
        (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        if (run / "history.csv").exists():
            shutil.copy(run / "history.csv", out / "history.csv")
    print(
        f"exported to {out}/: test accuracy {card['test_accuracy']:.2%} ({card['test_errors']} errors; "
        f"trained Keras model {card['trained_keras_test_accuracy']:.2%}), {card['parameters']:,} parameters, "
        f"{card['multiply_adds_per_digit'] / 1e6:.2f} M multiply-adds a digit, "
        f"digits.npz {card['files']['digits.npz']['bytes'] / 1024:.0f} KB, "
        f"numpy vs onnxruntime max |dp| {full_diff:.1e} on 10,000 images"
    )
    return card
