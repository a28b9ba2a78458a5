"""Learning one person's handwriting (issue 10): ``digits.personal`` measured against its bars.

    .venv/bin/python -m bench.personal [--model site/model/digits.npz] [--seed 0] [--digits 2000] [--orders 3]

Writes ``bench/results/personal.json`` (each figure's pass or fail against ``bench/bars.toml``)
and prints one line; ``python -m docs.render --print personal`` shows the table. Everything is seeded: the same model gives the same figures, timings aside.

Writers. MNIST test digits are traced into pen strokes (``training.strokes``), redrawn the way
one person writes (their own slant replacing the MNIST writer's), painted with a round pen as
the page paints, and normalised by ``to_mnist``:

  continental  1s with a long flag from the top going down-left, 7s crossed, a slight slant:
               the style the network misreads systematically (a flagged 1 looks like a 7)
  slanted      everything slanted 45 degrees to the right
  thick        a very wide pen

A writer's habits (flag length and angle, slant, pen) vary a little from digit to digit, and
every drawing gets a hand's jitter. Each writer draws the same ``--digits`` MNIST test digits;
``--orders`` times they are shuffled (seeded) and split in two halves, a stream and new digits.

Measures, per writer and order, each from an empty memory:

  1. stream: the first half read one at a time, every misreading corrected at once (``learn``);
     errors against the base network's on the same digits.
  2. after 5 corrections: the digits of the second half that the style changes (the
     continental writer's 1s and 7s; all of the others') read in turn, the first misreadings
     corrected until there are 5; then the digits after them read.
  3. MNIST test accuracy (the plain 10,000) with the stream's corrections kept, and with the 5.

The bars for 1 and 2 are judged on the continental writer, the style the network misreads,
averaged over the orders; the slanted and thick writers' rarer errors are scattered over many
digits (one person's slant is not one confusion), and their rows say what learning does there.
The MNIST drop is judged on the worst writer and order. And, once:

  4. one deliberately wrong correction, ``--wrong-trials`` times from an empty memory: a random
     MNIST test digit taught as the network's runner-up for it (a plausible slip), as a random
     wrong label, or a digit the network is unsure of (top probability below
     digits.UNSURE_BELOW) taught as its runner-up. The share of every other digit (MNIST test
     and all the writers') whose reading changes; judged on the worst trial.
  5. time to read one digit with 500 examples kept, against the bare network, in CPython: for
     each of ``--timed`` digits the best of 5 calls of each, called alternately (the best of a
     few is what the code costs, whatever else the machine is doing), then the medians. Also
     ``digits.read`` on the digit's ink (segmentation and to_mnist included), with no bar.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "site"))  # this checkout's digits, whichever one the editable install names

import digits  # noqa: E402
from bench import bars  # noqa: E402
from digits import cnn, personal  # noqa: E402
from digits.personal import Personal  # noqa: E402
from training import strokes  # noqa: E402
from training.data import load as load_mnist  # noqa: E402

DEFAULT_MODEL = ROOT / "site" / "model" / "digits.npz"
DEFAULT_OUT = ROOT / "bench" / "results" / "personal.json"
JUDGED_WRITER = "continental"


@dataclass(frozen=True)
class Config:
    model: Path = DEFAULT_MODEL
    out: Path = DEFAULT_OUT
    seed: int = 0
    digits: int = 2000  # MNIST test digits each writer draws: half a stream, half new digits
    orders: int = 3  # shuffles of them, each measured from an empty memory
    corrections: int = 5
    wrong_trials: int = 60
    kept: int = 500  # examples kept while timing
    timed: int = 300  # digits timed, each side
    writers: tuple[str, ...] = ("continental", "slanted", "thick")


# --- writers: MNIST digits redrawn in one person's hand -------------------------------------


@dataclass(frozen=True)
class Writer:
    """One person's habits. Lengths are fractions of the digit's height; slant is a shear (dx/dy)."""

    slant: float = 0.0
    pen: float = 0.075  # the page's pen for a digit about 60 % of the canvas high
    flag: float = 0.0  # a 1 gets a flag this long from its top, going down-left ...
    flag_angle: float = 35.0  # ... this many degrees below the horizontal
    cross: float = 0.0  # a 7 gets a bar through its stem, this long on each side
    digits: tuple[int, ...] = tuple(range(10))  # the digits this style changes
    variation: dict = field(default_factory=lambda: {"slant": 0.05, "pen": 0.1, "flag": 0.1, "flag_angle": 5.0})


WRITERS = {
    "continental": Writer(slant=0.1, flag=0.42, cross=0.22, digits=(1, 7)),
    "slanted": Writer(slant=1.0),
    "thick": Writer(pen=0.22),
}
HEIGHT = 64  # pixels: a drawing's height before to_mnist (whose output hardly depends on it)


def restyle(digit: list[np.ndarray], label: int, writer: Writer, rng: np.random.Generator) -> tuple[list[np.ndarray], float]:
    """Traced strokes (MNIST coordinates, y down) -> the digit as ``writer`` draws it, and its pen (of the height)."""
    vary = writer.variation
    points = np.concatenate(digit)
    top, bottom = float(points[:, 1].min()), float(points[:, 1].max())
    height = max(bottom - top, 1.0)
    out = [s.copy() for s in digit]
    if label == 1 and writer.flag:
        start = points[points[:, 1].argmin()]
        length = writer.flag * height * rng.normal(1, vary["flag"])
        angle = np.deg2rad(writer.flag_angle + rng.normal(0, vary["flag_angle"]))
        end = start + length * np.array([-np.cos(angle), np.sin(angle)])
        out.insert(0, np.linspace(end, start, 8).astype(np.float32))  # drawn up to the top, then the stem
    if label == 7 and writer.cross:
        y = top + height * rng.uniform(0.5, 0.6)
        stem = points[np.abs(points[:, 1] - y) < 0.08 * height]
        x = float(np.median(stem[:, 0])) if len(stem) else float(points[:, 0].mean())
        half = writer.cross * height * rng.normal(1, 0.1)
        tilt = rng.normal(0, 0.03) * height
        out.append(np.linspace([x - half, y + tilt], [x + half, y - tilt], 8).astype(np.float32))
    # The writer's slant replaces the MNIST writer's (from the strokes' second moments: x against y).
    moments = np.cov(points[:, 0], points[:, 1])
    shear = moments[0, 1] / max(float(moments[1, 1]), 1e-6) + writer.slant + rng.normal(0, vary["slant"])
    centre = (top + bottom) / 2
    out = [np.column_stack([s[:, 0] + shear * (centre - s[:, 1]), s[:, 1]]).astype(np.float32) for s in out]
    return strokes.jitter(out, rng, 0.5), writer.pen * rng.normal(1, vary["pen"])


def paint(digit: list[np.ndarray], pen: float) -> np.ndarray:
    """Strokes -> ink HEIGHT pixels tall, painted with a round pen ``pen`` x HEIGHT wide, as the page paints."""
    points = np.concatenate(digit)
    lo, extent = points.min(axis=0), np.ptp(points, axis=0)
    scale = HEIGHT / max(float(extent[1]), 1e-6)
    width = pen * HEIGHT
    margin = width + 2
    placed = [(s - lo) * scale + margin for s in digit]
    shape = (int(extent[1] * scale + 2 * margin) + 1, int(extent[0] * scale + 2 * margin) + 1)
    return strokes.paint(placed, shape, width)


@dataclass
class Drawn:
    """Digits in one writer's hand: the inks, what the network sees, the truth."""

    inks: list[np.ndarray]
    images: np.ndarray  # (n, 28, 28) float32
    labels: np.ndarray

    def part(self, indices) -> Drawn:
        return Drawn([self.inks[i] for i in indices], self.images[indices], self.labels[indices])


def draw_writer(writer: Writer, traced: list[list[np.ndarray]], labels: np.ndarray, rng: np.random.Generator) -> Drawn:
    inks = [paint(*restyle(digit, int(label), writer, rng)) for digit, label in zip(traced, labels, strict=True)]
    return Drawn(inks, np.array([digits.to_mnist(ink) for ink in inks], np.float32), labels.astype(np.int64))


# --- the measurements ------------------------------------------------------------------------


def stream(net, drawn: Drawn) -> tuple[dict, Personal]:
    """Read the digits one at a time, correcting every misreading as it happens."""
    memory = Personal(net)
    errors = 0
    for image, label in zip(drawn.images, drawn.labels, strict=True):
        if memory.predict(image[None])[0] != label:
            errors += 1
            memory.learn(image[None], [label])
    base_errors = int((net.predict(drawn.images) != drawn.labels).sum())
    return {"digits": len(drawn.labels), "base_errors": base_errors, "errors": errors,
            "fewer_errors": 1 - errors / base_errors if base_errors else None, "kept": len(memory)}, memory


def after_corrections(net, drawn: Drawn, corrections: int) -> tuple[dict, Personal]:
    """Correct the first ``corrections`` misreadings of new digits in a style, then read the digits after them."""
    memory = Personal(net)
    seen = 0
    for image, label in zip(drawn.images, drawn.labels, strict=True):
        if len(memory) == corrections:
            break
        seen += 1
        if memory.predict(image[None])[0] != label:
            memory.learn(image[None], [label])
    images, labels = drawn.images[seen:], drawn.labels[seen:]
    read, base = memory.predict(images), net.predict(images)
    return {
        "corrections": len(memory),
        "digits_read_before": seen,
        "corrected_labels": sorted(set(memory.labels.tolist())),
        "new_digits": len(labels),
        "accuracy": float((read == labels).mean()) if len(labels) else None,
        "base_accuracy": float((base == labels).mean()) if len(labels) else None,
    }, memory


def mnist_drop(memory: Personal, features: np.ndarray, base_read: np.ndarray, labels: np.ndarray) -> dict:
    """MNIST test accuracy without and with ``memory``; the drop as a fraction (0.001 = 0.1 pt)."""
    read = memory.head(features).argmax(axis=1)
    base, now = float((base_read == labels).mean()), float((read == labels).mean())
    return {"base": base, "with_memory": now, "drop": base - now, "readings_changed": int((read != base_read).sum())}


def wrong_corrections(net, x, y, features, base_read, trials: int, rng: np.random.Generator) -> dict:
    """Teach one MNIST test digit a wrong label; the share of all other digits whose reading changes."""
    probabilities = net.head(features[: len(y)])
    unsure = np.flatnonzero(probabilities.max(axis=1) < digits.UNSURE_BELOW)
    runs = []
    for trial in range(trials):
        kind = ("runner-up", "random label", "unsure digit's runner-up")[trial % 3]
        i = int(rng.choice(unsure) if kind.startswith("unsure") and len(unsure) else rng.integers(len(y)))
        truth, ranked = int(y[i]), np.argsort(-probabilities[i], kind="stable")
        if kind == "random label":
            wrong = int(rng.choice([d for d in range(10) if d != truth]))
        else:
            wrong = int(ranked[1] if ranked[0] == truth else ranked[0])  # its runner-up, or its wrong reading
        memory = Personal(net)
        memory.learn(x[i][None], [wrong])
        moved = memory.head(features).argmax(axis=1) != base_read
        others = np.arange(len(moved)) != i
        own_class = np.zeros(len(moved), bool)
        own_class[: len(y)] = y == truth
        runs.append({"mnist_index": i, "truth": truth, "taught": wrong, "kind": kind,
                     "taught_drawing_read_as_taught": bool(memory.predict(x[i][None])[0] == wrong),
                     "changed": float(moved[others].mean()), "changed_in_its_class": float(moved[others & own_class].mean())})
    changed = [r["changed"] for r in runs]
    return {
        "trials": trials,
        "digits_compared": int(len(base_read) - 1),
        "changed_mean": float(np.mean(changed)),
        "changed_max": float(np.max(changed)),
        "changed_in_its_class_mean": float(np.mean([r["changed_in_its_class"] for r in runs])),
        "taught_drawing_read_as_taught": float(np.mean([r["taught_drawing_read_as_taught"] for r in runs])),
        "worst": max(runs, key=lambda r: r["changed"]),
    }


def best_of(run, x, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        run(x)
        best = min(best, time.perf_counter() - started)
    return best


def timing(net, kept: Drawn, queries: Drawn, repeats: int = 5) -> dict:
    """One digit read by the bare network and with a full memory, each digit's best of ``repeats``, alternately."""
    memory = Personal(net)
    memory.learn(kept.images, kept.labels)
    out = {"kept": len(memory), "digits": len(queries.labels), "repeats": repeats,
           "within_reach": float(memory.boost(net.features(queries.images)).any(axis=1).mean())}
    for name, bare, taught, inputs in [
        ("predict_proba", net.predict_proba, memory.predict_proba, [image[None] for image in queries.images]),
        ("read", lambda ink: digits.read(ink, net), lambda ink: digits.read(ink, memory), queries.inks),
    ]:
        for x in inputs[:20]:  # warm-up
            bare(x), taught(x)
        seconds = np.array([[best_of(bare, x, repeats), best_of(taught, x, repeats)] for x in inputs])
        base_ms, personal_ms = np.median(seconds, axis=0) * 1e3
        out[name] = {"base_ms": float(base_ms), "personal_ms": float(personal_ms), "ratio": float(personal_ms / base_ms)}
    return out


def summary(runs: list[dict], path: tuple[str, ...]) -> dict:
    """Mean, worst-case ends and every value of one figure over the orders (None where a run had none)."""
    values = []
    for run in runs:
        for key in path:
            run = run[key]
        values.append(run)
    present = [v for v in values if v is not None]
    return {"mean": float(np.mean(present)) if present else None, "min": min(present, default=None),
            "max": max(present, default=None), "values": values}


def measure(config: Config) -> dict:
    """Every figure above, with each one's pass or fail against bench/bars.toml."""
    started = time.perf_counter()
    net = cnn.load(config.model)
    mnist = load_mnist()
    x_test = mnist.x_test / np.float32(255)
    features = net.features(x_test)
    test = (features, net.head(features).argmax(axis=1), mnist.y_test)  # MNIST test: features, readings, truth
    drawn = draw_writers(config, mnist.x_test, mnist.y_test)
    writers = {name: learn_writer(net, config, w, name, hand, test) for w, (name, hand) in enumerate(drawn.items())}
    everything = Drawn([ink for hand in drawn.values() for ink in hand.inks],
                       np.concatenate([hand.images for hand in drawn.values()]),
                       np.concatenate([hand.labels for hand in drawn.values()]))
    every_feature = np.concatenate([features, net.features(everything.images)])  # MNIST test, then the writers'
    wrong = wrong_corrections(net, x_test, mnist.y_test, every_feature, net.head(every_feature).argmax(axis=1),
                              config.wrong_trials, np.random.default_rng([config.seed, 3]))
    pick = np.random.default_rng([config.seed, 4]).permutation(len(everything.labels))
    speed = timing(net, everything.part(pick[: config.kept]), everything.part(pick[config.kept : config.kept + config.timed]))
    results = figures(config, writers, wrong, speed) | {"seconds": round(time.perf_counter() - started, 1)}
    results["passed"] = bars.verdicts("personal", results)  # against bench/bars.toml
    return results


def draw_writers(config: Config, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Drawn]:
    """The same --digits MNIST test digits (seeded; those that trace into strokes) in each writer's hand."""
    pool = np.random.default_rng([config.seed, 0]).permutation(len(y_test))[: config.digits]
    traced = [strokes.trace(x_test[i]) for i in pool]
    pool = np.array([i for i, t in zip(pool, traced, strict=True) if t])  # an empty trace cannot be redrawn
    traced = [t for t in traced if t]
    return {name: draw_writer(WRITERS[name], traced, y_test[pool], np.random.default_rng([config.seed, 1, w]))
            for w, name in enumerate(config.writers)}


def learn_writer(net, config: Config, w: int, name: str, hand: Drawn, test: tuple) -> dict:
    """Measures 1 to 3 for one writer, in each of --orders shuffles, and their summaries."""
    runs = []
    for order in range(config.orders):
        shuffled = np.random.default_rng([config.seed, 2, w, order]).permutation(len(hand.labels))
        half = len(shuffled) // 2
        stream_result, stream_memory = stream(net, hand.part(shuffled[:half]))
        new = shuffled[half:][np.isin(hand.labels[shuffled[half:]], WRITERS[name].digits)]  # the style's digits
        five_result, five_memory = after_corrections(net, hand.part(new), config.corrections)
        runs.append({"stream": stream_result, "after_corrections": five_result,
                     "mnist_with_stream_memory": mnist_drop(stream_memory, *test),
                     "mnist_with_corrections": mnist_drop(five_memory, *test)})
    return {
        "writer": asdict(WRITERS[name]),
        "base_accuracy": float((net.predict(hand.images) == hand.labels).mean()),
        "fewer_errors": summary(runs, ("stream", "fewer_errors")),
        "after_corrections": summary(runs, ("after_corrections", "accuracy")),
        "base_after_corrections": summary(runs, ("after_corrections", "base_accuracy")),
        "mnist_drop": summary([{"d": max(r["mnist_with_stream_memory"]["drop"], r["mnist_with_corrections"]["drop"])}
                               for r in runs], ("d",)),
        "runs": runs,
    }


def figures(config: Config, writers: dict, wrong: dict, speed: dict) -> dict:
    """The result file: what was measured how, the judged figures (bench/bars.toml's), then the detail."""
    judged = writers.get(JUDGED_WRITER)
    return {
        "model": {"path": str(config.model.relative_to(ROOT) if config.model.is_relative_to(ROOT) else config.model),
                  "sha256": hashlib.sha256(config.model.read_bytes()).hexdigest()},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "method": {name: getattr(personal, name) for name in
                   ("CAPACITY", "REACH", "CAP", "NEAR", "OWN_REACH", "FIRM", "MARGIN", "PLAUSIBLE", "AGREE")},
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpu": platform.processor()},
        "judged_writer": JUDGED_WRITER,
        "fewer_errors": judged["fewer_errors"]["mean"] if judged else None,
        "after_five_corrections": judged["after_corrections"]["mean"] if judged else None,
        "mnist_drop": max(w["mnist_drop"]["max"] for w in writers.values()),
        "wrong_correction_changes": wrong["changed_max"],
        "read_time_ratio": speed["predict_proba"]["ratio"],
        "writers": writers,
        "wrong_correction": wrong,
        "timing": speed,
    }


def main(argv: list[str] | None = None) -> int:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=defaults.model)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--digits", type=int, default=defaults.digits, help="MNIST test digits each writer draws")
    parser.add_argument("--orders", type=int, default=defaults.orders, help="shuffles of them, each from an empty memory")
    parser.add_argument("--corrections", type=int, default=defaults.corrections)
    parser.add_argument("--wrong-trials", type=int, default=defaults.wrong_trials)
    parser.add_argument("--kept", type=int, default=defaults.kept, help="examples kept while timing")
    parser.add_argument("--timed", type=int, default=defaults.timed, help="digits timed")
    parser.add_argument("--writers", nargs="+", choices=sorted(WRITERS), default=list(defaults.writers))
    args = parser.parse_args(argv)
    config = Config(model=args.model.resolve(), out=args.out, seed=args.seed, digits=args.digits, orders=args.orders,
                    corrections=args.corrections, wrong_trials=args.wrong_trials, kept=args.kept, timed=args.timed,
                    writers=tuple(args.writers))
    try:
        results = measure(config)
    except cnn.WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(results, indent=2) + "\n")
    shown = "" if config.out == DEFAULT_OUT else f" --from {config.out}"
    not_measured = bars.unmeasured("personal", results)
    print(f"{bars.said(results['passed'], not_measured)}; wrote {config.out}; table: python -m docs.render --print personal{shown}")
    if "after_five_corrections" in not_measured:
        print(f"after {config.corrections} corrections: the network misread fewer than {config.corrections} of the "
              f"{JUDGED_WRITER} writer's new {' and '.join(f'{d}s' for d in WRITERS[JUDGED_WRITER].digits)} in every order, so there was nothing left to "
              f"read after them: draw more with --digits (up to 10000)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
