"""How well ``digits`` reads drawings: canvas inks made from MNIST scans, and digits drawn with the page's pen.

    .venv/bin/python -m bench.reading [--model site/model/digits.npz] [--digits 10000] [--numbers 2000]

Writes ``bench/results/reading.json``, with each figure's pass or fail against its bar in
``bench/bars.toml``, and prints one line; ``python -m docs.render --print reading`` (``pen``,
``reading-details``) shows the tables. Everything is seeded: the same model gives the same figures.

  1. single digits: every MNIST test digit rendered as canvas ink (upscaled 8-12x with linear
     interpolation, re-thresholded into a crisp anti-aliased stroke that is thinner or thicker
     than the original, 40-90 % of the canvas height, anywhere on a canvas of random shape),
     then ``to_mnist`` + the net. For context, the same net on plain MNIST (the ceiling) and on
     the canvas squashed to 28x28 without MNIST's normalisation.
  2. numbers: 2-4 MNIST test digits side by side with random gaps, size jitter and vertical
     offsets, read whole by ``digits.read``; and numbers whose digits touch or nearly touch
     (gaps down to -10 % of the height).
  3. latency: median CPython time of ``to_mnist`` + ``predict_proba`` for one digit on its
     canvas, and of ``digits.read``. Measured with one BLAS thread (the page has no threads either).
  4. the "unsure" threshold: the single-digit readings are split in two seeded halves; on the
     calibration half, for each candidate threshold, the share of digits read as sure (coverage)
     and the accuracy of those; the chosen threshold is the largest one that still leaves at
     least 98 % of digits sure (at most 1 in 50 well-drawn digits gets "not sure"). Its figures
     are then reported on the other half, which played no part in the choice.
  5. the page's pen: MNIST test digits traced to strokes and drawn as the page draws them, read
     with their strokes; numbers, touching pairs and the same pairs apart; UNSURE_BELOW and
     NOT_A_DIGIT_BELOW calibrated on half of them; non-digit drawings (letters, symbols, shapes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import digits
from bench import bars
from digits import cnn
from digits.preprocess import resample
from training import pen
from training import strokes as pen_strokes
from training.data import load as load_mnist
from training.inks import crop, number_canvas, single_canvas
from training.inks import render as render  # re-exported: bench.browser takes crop and render from here

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MODEL = ROOT / "site" / "model" / "digits.npz"
DEFAULT_OUT = ROOT / "bench" / "results" / "reading.json"
THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995]
COVERAGE_TARGET = 0.98
GALLERY_MAX = 60  # pen-drawn misreadings shown in docs/img/pen-errors.png
PEN_SURE = 0.975  # the unsure threshold leaves at least this share of pen-drawn digits sure (issue 13: doubt at most 3 %, with room)
PEN_REJECTED = 0.0025  # ... and the not-a-digit threshold rejects at most this share of them, so that the
# held-out half's share, even two standard deviations above it (binomial, 2,000 digits), meets issue 13's 0.5 % bar


# --- the measurements ---------------------------------------------------------------------


def measure_single(net, x, y, count, seed):
    """Accuracy of to_mnist + net on canvas-rendered digits; the probabilities, for calibration."""
    rng = np.random.default_rng(seed)
    indices = np.arange(len(x))[:count]
    prepared = np.empty((len(indices), 28, 28), np.float32)
    squashed = np.empty((len(indices), 28, 28), np.float32)
    canvases_for_latency = []
    for k, i in enumerate(indices):
        canvas = single_canvas(crop(x[i]), rng)
        prepared[k] = digits.to_mnist(canvas)
        scale = min(28 / canvas.shape[0], 28 / canvas.shape[1])  # naive: whole canvas into 28x28
        squashed[k] = resample(canvas, (28, 28), scale)
        if k < 300:
            canvases_for_latency.append(canvas)
    p = net.predict_proba(prepared)
    steady = digits.steadiness(net, prepared, p)
    plain = net.predict(x[indices].astype(np.float32) / 255)
    return {
        "count": int(len(indices)),
        "accuracy": float((p.argmax(1) == y[indices]).mean()),
        "plain_mnist_accuracy": float((plain == y[indices]).mean()),
        "squashed_accuracy": float((net.predict(squashed) == y[indices]).mean()),
        "mean_pixel": float(prepared.mean()),
        "mnist_mean_pixel": float((x[indices] / 255).mean()),
    }, (p, steady), canvases_for_latency


def halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of ``count`` readings: (the half a threshold is chosen on, the half it is reported on)."""
    order = np.random.default_rng(seed).permutation(count)
    return order[: count // 2], order[count // 2 :]


def calibrate(p: np.ndarray, steady: np.ndarray, y: np.ndarray, seed: int):
    """The unsure threshold, on each reading's steadiness (``digits.steadiness``, what "not sure" is
    decided on): chosen on one half of the readings, reported on the other."""
    calibration, held_out = halves(len(y), seed)

    def figures(idx, threshold):
        top, right = steady[idx], p[idx].argmax(1) == y[idx]
        sure = top >= threshold
        wrong = ~right
        return {
            "threshold": threshold,
            "coverage": float(sure.mean()),
            "sure_accuracy": float(right[sure].mean()) if sure.any() else 1.0,
            "errors_flagged": float((~sure & wrong).sum() / wrong.sum()) if wrong.any() else 1.0,
            "right_flagged": float((~sure & right).sum() / right.sum()) if right.any() else 0.0,
        }

    table = [figures(calibration, t) for t in THRESHOLDS]
    eligible = [row["threshold"] for row in table if row["coverage"] >= COVERAGE_TARGET]
    chosen = max(eligible) if eligible else min(THRESHOLDS)
    return {
        "rule": f"largest threshold leaving >= {COVERAGE_TARGET:.0%} of calibration digits sure",
        "calibration_table": table,
        "chosen": chosen,
        "held_out": figures(held_out, chosen),
        "held_out_table": [figures(held_out, t) for t in THRESHOLDS],
        "shipped": digits.UNSURE_BELOW,
    }


def measure_numbers(net, x, y, count, seed, gaps):
    """Exact-read rate of whole numbers composed from MNIST test digits."""
    rng = np.random.default_rng(seed)
    exact = flagged_wrong = flagged_right = wrong_count = 0
    length_right = 0
    failures = []
    for _ in range(count):
        k = int(rng.integers(2, 5))
        picks = rng.integers(0, len(x), k)
        truth = "".join(str(int(y[i])) for i in picks)
        reading = digits.read(number_canvas([crop(x[i]) for i in picks], rng, gaps), net)
        right = reading.text == truth
        exact += right
        length_right += len(reading.text) == len(truth)
        if right:
            flagged_right += reading.unsure
        else:
            wrong_count += 1
            flagged_wrong += reading.unsure
            if len(failures) < 20:
                failures.append({"truth": truth, "read": reading.text})
    return {
        "count": count,
        "gaps": list(gaps),
        "exact_rate": exact / count,
        "digit_count_right": length_right / count,
        "wrong_with_unsure_flag": flagged_wrong / wrong_count if wrong_count else None,
        "right_with_unsure_flag": flagged_right / exact if exact else None,
        "first_failures": failures,
    }


# --- drawn with the page's pen --------------------------------------------------------------


def top_confidence(reading) -> float:
    """The least confident digit of a reading (1.0 for a blank one): what decides "not a digit"."""
    return min((d.confidence for d in reading.digits), default=1.0)


def least_steady(reading) -> float:
    """The least steady digit of a reading (``digits.steadiness``; 1.0 for a blank one): what decides "unsure"."""
    return min((d.steadiness for d in reading.digits), default=1.0)


def doubted_by_strokes(reading) -> bool:
    """Is a digit of the reading unsure whatever its steadiness: its strokes touch another digit's,
    it has a mark apart (``group.Grouping.doubtful``), or it was cut from a piece read as several?"""
    return any(d.unsure and d.reason == "unsure" and d.steadiness >= digits.UNSURE_BELOW for d in reading.digits)


def measure_pen_singles(net, traced, y, seed):
    """MNIST test digits traced and drawn with the page's pen on a canvas, read by digits.read
    with their strokes (and, for comparison, from the pixels alone)."""
    rng = np.random.default_rng(seed)
    right, right_pixels, confidence, steadiness, structural, failures, inks, gallery = [], [], [], [], [], [], [], []
    for strokes_28, label in zip(traced, y, strict=True):
        ink, drawn = pen_strokes.draw(strokes_28, rng)
        reading = digits.read(ink, net, strokes=drawn)
        right.append(reading.text == str(label))
        right_pixels.append(digits.read(ink, net).text == str(label))
        confidence.append(top_confidence(reading) if reading.digits else 0.0)  # blank: as doubted as can be
        steadiness.append(least_steady(reading) if reading.digits else 0.0)
        structural.append(doubted_by_strokes(reading))
        if not right[-1]:
            failures.append({"truth": int(label), "read": str(reading), "index": len(right) - 1,
                             "confidence": round(top_confidence(reading), 4)})
            if len(gallery) < GALLERY_MAX:
                gallery.append((ink, reading, int(label), len(right) - 1))
        if len(inks) < 300:
            inks.append((ink, drawn))
    right, structural = np.array(right), np.array(structural)
    return {
        "count": len(right),
        "accuracy": float(right.mean()),
        "pixels_only_accuracy": float(np.mean(right_pixels)),
        "failures": failures,
    }, right, {"confidence": np.array(confidence), "steadiness": np.array(steadiness), "structural": structural}, inks, gallery


def plot_pen_errors(gallery, total: int, path: Path, scans: np.ndarray) -> None:
    """The pen-drawn digits read wrong, as drawn (cropped to the ink), with what was read, and beside
    each, at its foot, the MNIST scan it was traced from: a reader can see which misreadings are the
    network's and which the tracing's (a loop inked solid in the scan traces as a bare stroke)."""
    from bench.model_card import pyplot, save

    plt = pyplot()
    cols = 10
    rows = max(1, -(-len(gallery) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.15, rows * 1.35 + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (ink, reading, label, index) in zip(axes.flat, gallery, strict=False):
        box = digits.preprocess.bounding_box(ink)
        pad = 4
        crop = ink[max(0, box[0] - pad) : box[1] + pad, max(0, box[2] - pad) : box[3] + pad] if box else ink
        h, w = crop.shape
        ax.imshow(crop, cmap="gray_r", vmin=0, vmax=1, interpolation="antialiased", extent=(0, w, h, 0))
        side, gap = 0.45 * max(h, w), 0.05 * max(h, w)  # the scan beside the drawing, at its foot
        ax.imshow(scans[index], cmap="Blues", vmin=0, vmax=255, interpolation="nearest",
                  extent=(w + gap, w + gap + side, h, h - side))
        ax.set_xlim(0, w + gap + side)
        ax.set_ylim(h, min(0, h - side))
        said = str(reading) or "blank"
        ax.set_title(f"{label} → {said}\n#{index}", fontsize=8, linespacing=1.15)
    what = f"all {total}" if len(gallery) == total else f"the first {len(gallery)} of {total}"
    fig.suptitle(f"{what[0].upper()}{what[1:]} pen-drawn MNIST test digits read wrong: true → read (? = unsure), "
                 "test index; in blue, the scan it was traced from", fontsize=10)
    fig.tight_layout()
    save(fig, path)


def calibrate_pen(right: np.ndarray, scores: dict[str, np.ndarray], seed: int) -> dict:
    """UNSURE_BELOW and NOT_A_DIGIT_BELOW from pen-drawn digits: chosen on one half, reported on the other.
    ``scores`` holds each reading's least ``steadiness`` (what "unsure" is decided on), least
    ``confidence`` (what "not a digit" is decided on) and ``structural``: unsure whatever its
    steadiness (``doubted_by_strokes``).

    Unsure: the largest threshold that leaves at least PEN_SURE of the calibration digits sure.
    Not a digit: the largest threshold below which at most PEN_REJECTED of them fall.
    """
    confidence, steadiness, structural = scores["confidence"], scores["steadiness"], scores["structural"]
    cal, held = halves(len(right), seed)
    # Every hundredth: the rule asks for the largest such threshold, and a coarser grid stops short
    # of it by up to a step, doubting fewer drawings that are not digits than the rule allows.
    grid = np.round(np.concatenate([np.arange(0.01, 0.995, 0.01), [0.995, 0.999]]), 3)
    sure_share = [((steadiness[cal] >= t) & ~structural[cal]).mean() for t in grid]
    unsure = max([t for t, share in zip(grid, sure_share, strict=True) if share >= PEN_SURE], default=grid[0])
    rejected_share = [(confidence[cal] < t).mean() for t in grid]
    not_a_digit = max([t for t, share in zip(grid, rejected_share, strict=True) if share <= PEN_REJECTED], default=0.0)

    def figures(idx):
        sure, wrong = (steadiness[idx] >= unsure) & ~structural[idx], ~right[idx]
        return {
            "read_unsure_or_blank": float((~sure).mean()),
            "rejected_as_not_a_digit": float((confidence[idx] < not_a_digit).mean()),
            "errors_flagged": float((~sure & wrong).sum() / wrong.sum()) if wrong.any() else 1.0,
            "sure_accuracy": float(right[idx][sure].mean()) if sure.any() else 1.0,
            "doubted_by_strokes": float(structural[idx].mean()),
        }

    return {
        "rule": f"unsure: largest threshold leaving >= {PEN_SURE:.1%} of calibration digits sure; "
        f"not a digit: largest threshold rejecting <= {PEN_REJECTED:.2%} of them",
        "unsure_below": float(unsure),
        "not_a_digit_below": float(not_a_digit),
        "held_out": figures(held),
        "shipped": {"unsure_below": digits.UNSURE_BELOW, "not_a_digit_below": digits.NOT_A_DIGIT_BELOW},
    }


def measure_pen_numbers(net, traced, y, count, seed, touch, lengths=(2, 4)):
    """Numbers of pen-drawn test digits (``lengths``: fewest and most digits), read exactly with
    their strokes. The digits picked depend on the seed alone, so the same pairs can be drawn
    touching and apart."""
    picking, drawing = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    exact, failures = 0, []
    for _ in range(count):
        picks = picking.integers(0, len(traced), int(picking.integers(lengths[0], lengths[1] + 1)))
        truth = "".join(str(int(y[i])) for i in picks)
        ink, drawn = pen_strokes.draw_number([traced[i] for i in picks], drawing, touch=touch)
        text = digits.read(ink, net, strokes=drawn).text
        exact += text == truth
        if text != truth and len(failures) < 20:
            failures.append({"truth": truth, "read": text})
    return {"count": count, "touching": touch, "exact_rate": exact / count, "first_failures": failures}


def measure_nondigits(net, counts: dict[str, int], seed):
    """Letters, symbols, shapes and scribbles drawn as strokes: how many read blank or unsure, and
    how many are rejected as "not a digit", for kinds trained on and kinds held out of training;
    ``counts`` says how many drawings of each split ("trained_kinds", "held_out_kinds")."""
    from training import nondigits

    out = {}
    for split, kinds in (("trained_kinds", nondigits.TRAIN_KINDS), ("held_out_kinds", nondigits.HELD_OUT_KINDS)):
        rng = np.random.default_rng([seed, len(kinds)])
        doubted = rejected = 0
        missed: dict[str, int] = {}
        count = counts[split]
        for _ in range(count):
            kind, unit = nondigits.sample(rng, kinds)
            side = float(rng.uniform(0.3, 0.8)) * pen_strokes.CANVAS[0]
            placed = [np.asarray(s, np.float32) * side + [60, 40] for s in unit]
            ink = pen_strokes.paint(placed, pen_strokes.CANVAS, pen_strokes.pen_width(*pen_strokes.CANVAS[::-1]))
            reading = digits.read(ink, net, strokes=placed)
            doubted += reading.text == "" or reading.unsure
            rejected += any(d.reason == "not a digit" for d in reading.digits)
            if not (reading.text == "" or reading.unsure):
                missed[kind] = missed.get(kind, 0) + 1
        out[split] = {"count": count, "blank_or_unsure": doubted / count, "rejected": rejected / count,
                      "read_as_sure_digits_by_kind": dict(sorted(missed.items(), key=lambda kv: -kv[1])[:15])}
    return out


def median_ms(fn, inputs, repeats=3):
    times = []
    for _ in range(repeats):
        for item in inputs:
            start = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def measure_latency(net, canvases, number_canvases):
    for canvas in canvases[:20]:  # warm-up
        net.predict_proba(digits.to_mnist(canvas))
    return {
        "to_mnist_plus_net_ms": median_ms(lambda c: net.predict_proba(digits.to_mnist(c)), canvases),
        "to_mnist_ms": median_ms(digits.to_mnist, canvases),
        "net_ms": median_ms(net.predict_proba, [digits.to_mnist(c) for c in canvases]),
        "read_one_digit_ms": median_ms(lambda c: digits.read(c, net), canvases),
        "read_number_ms": median_ms(lambda c: digits.read(c, net), number_canvases, repeats=1),
        "canvas_pixels": {"min": min(c.size for c in canvases), "max": max(c.size for c in canvases)},
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def measure_pen(net, x, y, args) -> tuple[dict, float]:
    """Everything drawn with the page's pen (the picture of its misreadings included), and the median
    time of reading one such digit with its strokes."""
    traced = pen.traced(x, "test10000")
    count = min(args.pen_digits, len(x))
    pen_singles, pen_right, pen_scores, pen_inks, gallery = measure_pen_singles(net, traced[:count], y[:count], args.seed + 5)
    plot_pen_errors(gallery, len(pen_singles["failures"]), ROOT / "docs" / "img" / "pen-errors.png", x)
    pen_unsure = calibrate_pen(pen_right, pen_scores, args.seed + 6)
    pen_numbers = measure_pen_numbers(net, traced, y, args.pen_numbers, args.seed + 7, touch=False)
    pen_touching = measure_pen_numbers(net, traced, y, args.pen_numbers // 2, args.seed + 8, touch=True, lengths=(2, 2))
    pen_apart = measure_pen_numbers(net, traced, y, args.pen_numbers // 2, args.seed + 8, touch=False, lengths=(2, 2))
    others = measure_nondigits(net, {"trained_kinds": args.nondigits, "held_out_kinds": args.held_out_nondigits}, args.seed + 9)
    read_ms = median_ms(lambda item: digits.read(item[0], net, strokes=item[1]), pen_inks)
    return {"single_digits": pen_singles, "unsure": pen_unsure, "numbers": pen_numbers, "touching_pairs": pen_touching,
            "same_pairs_apart": pen_apart, "nondigits": others}, read_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--digits", type=int, default=10_000, help="MNIST test digits to render (max 10000)")
    parser.add_argument("--numbers", type=int, default=2_000, help="composed numbers to read")
    parser.add_argument("--pen-digits", type=int, default=4_000, help="MNIST test digits drawn with the page's pen")
    parser.add_argument("--pen-numbers", type=int, default=1_000, help="pen-drawn numbers (and half as many touching pairs)")
    # Dozens of drawings of each kind: with a dozen, which drawings the seed picked could move a
    # split's figure across its bar.
    parser.add_argument("--nondigits", type=int, default=1_500, help="non-digit drawings of the kinds trained on")
    # The held-out figure is the one with a bar: samples of 1,500 drawn with other seeds put it on
    # either side of its bar, so it is measured on four times as many.
    parser.add_argument("--held-out-nondigits", type=int, default=6_000, help="non-digit drawings of the kinds held out of training")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.model = args.model.resolve()

    try:
        net = cnn.load(args.model)
    except cnn.WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    mnist = load_mnist()
    x, y = mnist.x_test, mnist.y_test
    started = time.perf_counter()

    single, (p, steady), canvases = measure_single(net, x, y, min(args.digits, len(x)), args.seed)
    unsure = calibrate(p, steady, y[: len(p)], args.seed + 1)
    numbers = measure_numbers(net, x, y, args.numbers, args.seed + 2, gaps=(0.0, 0.5))
    touching = measure_numbers(net, x, y, max(1, args.numbers // 4), args.seed + 3, gaps=(-0.1, 0.05))
    rng = np.random.default_rng(args.seed + 4)
    number_canvases = [
        number_canvas([crop(x[i]) for i in rng.integers(0, len(x), 4)], rng, (0.0, 0.5)) for _ in range(50)
    ]
    latency = measure_latency(net, canvases, number_canvases)

    drawn_with_pen, latency["read_one_pen_digit_ms"] = measure_pen(net, x, y, args)

    results = {
        "model": {
            "path": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model),
            "sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
        },
        "seed": args.seed,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpu": platform.processor()},
        "single_digits": single,
        "numbers": numbers,
        "touching_numbers": touching,
        "latency": latency,
        "unsure": unsure,
        "pen": drawn_with_pen,
        "seconds": round(time.perf_counter() - started, 1),
    }
    results["passed"] = bars.verdicts("reading", results)  # against bench/bars.toml
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{bars.said(results['passed'], bars.unmeasured('reading', results))}; wrote {args.out}; tables: python -m docs.render --print reading "
          "(or pen, reading-details)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
