"""Read handwritten digits: a drawn number in, the digits the network sees out.

    from digits import cnn, read
    net = cnn.load("site/model/digits.npz")
    reading = read(ink, net)          # ink: (H, W) floats 0..1, 1 = ink
    reading = read(ink, net, strokes) # better: the strokes too, (n, 2) (x, y) arrays in drawing order
    reading.text                      # "42", "" for a blank canvas
    reading.digits[0].probabilities   # (10,) summing to 1
    reading.digits[0].doubt           # "not sure: 4 or 9?" or "not a digit?" when in doubt, else ""

The pipeline: ``group`` (strokes) or ``segment`` (pixels) splits the drawing into one piece per
digit, ``preprocess.to_mnist`` normalises each piece the way MNIST's digits were, and the network
reads them all in one batch; where the split is uncertain, the network's readings decide it.
A digit is doubted ("not sure") when a slightly bolder or lighter pen would change its reading
(``steadiness``), and called "not a digit" when the network spreads its probability.
numpy only: the same package runs in the page (Pyodide, numpy 2.0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import group, preprocess, segment
from .preprocess import to_mnist
from .segment import Box, Piece

__all__ = ["Box", "Digit", "NOT_A_DIGIT_BELOW", "Reading", "UNSURE_BELOW", "group", "preprocess", "read", "segment", "steadiness",
           "to_mnist"]

# A digit whose steadiness (``steadiness``: the probability of its label, at worst, as drawn and
# drawn a little bolder or lighter) is below this is marked unsure. Calibrated by bench/reading.py
# on one half of the pen-drawn MNIST test digits (the largest threshold leaving nearly all of them
# sure); its figures on the other half are in bench/results/reading.json and the README.
UNSURE_BELOW = 0.58

# How a reading's steadiness is tried: the digit moved this far towards its 3x3 dilation (bolder)
# and its erosion (lighter), and read again; only if it reads as its label below STEADY_ABOVE (a
# reading surer than that held up under both, on the pen-drawn digits bench/reading.py draws).
BOLDER = 0.5
STEADY_ABOVE = 0.99

# A piece whose top probability is below this is "not a digit": the network was taught to spread
# its probability evenly over non-digit drawings (letters, shapes, scribbles). Calibrated by
# bench/reading.py on pen-drawn digits, so that almost no real digit falls below it.
NOT_A_DIGIT_BELOW = 0.3

# A wide piece is read as touching digits only if the network is less sure than this of it as one
# digit (and surer of every part): a wide but well-formed 2 or 7 stays whole.
SPLIT_BELOW = 0.9
# A narrow piece (``Piece.narrow``: hardly wider than tall, digits pushed into each other) only if
# the network reads it whole below NARROW_SPLIT_BELOW and each of the two parts at least at
# NARROW_PART_ABOVE: a sloppy single digit, which reads badly whatever the cut, stays whole.
# Chosen with bench/reading.py's pixel numbers (touching, and with gaps).
NARROW_SPLIT_BELOW = 0.5
NARROW_PART_ABOVE = 0.9


@dataclass(frozen=True)
class Digit:
    """One digit read from the ink.

    label          the digit the network reads, 0-9
    probabilities  (10,) float32, summing to 1
    box            where it is, in ink (canvas) pixels
    image          (28, 28) float32: what the network saw (MNIST-normalised)
    unsure         True if its steadiness is below the calibrated threshold, if its strokes say
                   it may not be one digit (``group.Grouping.doubtful``), or if it was cut from a
                   piece read as several digits
    runner_up      the second most probable digit
    steadiness     the probability of ``label`` at worst, as drawn and drawn a little bolder or
                   lighter (``steadiness``): at most ``confidence``, and far below it for a
                   reading that a slightly different pen would change
    reason         why it is unsure: "" (it is not), "unsure" (torn between digits, doubted by its strokes,
                   or cut from a larger piece) or
                   "not a digit" (the network spreads its probability: a letter, a shape, a scribble)
    """

    label: int
    probabilities: np.ndarray
    box: Box
    image: np.ndarray
    unsure: bool
    runner_up: int
    steadiness: float
    reason: str = ""

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.label])

    @property
    def doubt(self) -> str:
        """``"not a digit?"``, ``"not sure: 4 or 9?"`` for an unsure digit, ``""`` otherwise."""
        if self.reason == "not a digit":
            return "not a digit?"
        return f"not sure: {self.label} or {self.runner_up}?" if self.unsure else ""


@dataclass(frozen=True)
class Reading:
    """What was read: the digits left to right; ``text`` is ``""`` for blank ink."""

    digits: list[Digit]

    @property
    def text(self) -> str:
        return "".join(str(d.label) for d in self.digits)

    @property
    def unsure(self) -> bool:
        return any(d.unsure for d in self.digits)

    @property
    def images(self) -> np.ndarray:
        """(N, 28, 28) float32: every digit as the network saw it."""
        return np.array([d.image for d in self.digits], np.float32).reshape(-1, 28, 28)

    def __str__(self) -> str:
        return "".join(f"{d.label}?" if d.unsure else str(d.label) for d in self.digits)


def look(net, pieces: list[Piece], seen: dict, memo: dict | None = None) -> None:
    """Have the network read ``pieces`` in one batch: ``seen[id(piece)]`` = (image, probabilities).

    With a ``memo`` (see ``read``), a piece whose ink the last reading already read is not prepared
    and read again: the same ink gives the same image and, from the same network, the same reading.
    """
    known = memo["last"] if memo is not None else {}
    keys = {id(piece): (piece.ink.shape, piece.ink.tobytes()) for piece in pieces} if memo is not None else {}
    seen.update({id(piece): known[keys[id(piece)]] for piece in pieces if keys.get(id(piece)) in known})
    fresh = [piece for piece in pieces if keys.get(id(piece)) not in known]
    if fresh:
        images = np.array([preprocess.normalise(piece.ink) for piece in fresh], np.float32)  # pieces come clean and cropped
        probabilities = np.asarray(net.predict_proba(images), np.float32)
        seen.update({id(piece): (image, p) for piece, image, p in zip(fresh, images, probabilities, strict=True)})
    if memo is not None:
        memo["now"].update({keys[id(piece)]: seen[id(piece)] for piece in pieces})


def steadiness(net, images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(N, 28, 28) prepared digits and their (N, 10) probabilities -> (N,) float32: how surely each
    reads as its label (the most probable digit) whatever the pen: the label's probability, at
    worst, as drawn and drawn a little bolder and a little lighter (``preprocess.bolder_and_lighter``).

    A misreading is often a reading that hangs on the pen: a 9 whose loop a bolder pen would close,
    a 4 that a lighter one would open. Only readings less sure than STEADY_ABOVE are read again
    (both variants of all of them in one batch); the others keep their probability.
    """
    probabilities = np.asarray(probabilities, np.float32)
    labels = probabilities.argmax(axis=1)
    worst = probabilities[np.arange(len(labels)), labels]
    shaky = np.flatnonzero(worst < STEADY_ABOVE)
    if shaky.size:
        bolder, lighter = preprocess.bolder_and_lighter(np.asarray(images, np.float32)[shaky], BOLDER)
        again = np.asarray(net.predict_proba(np.concatenate([bolder, lighter])), np.float32)
        rows = np.arange(shaky.size)
        worst[shaky] = np.minimum(worst[shaky], np.minimum(again[rows, labels[shaky]], again[shaky.size + rows, labels[shaky]]))
    return worst


def weigh(net, pieces: list[Piece], indices, seen: dict, readings: dict, memo: dict | None = None) -> None:
    """``readings[k]`` = what ``pieces[k]`` reads best as, for each k in ``indices``: itself, or the
    parts of one of its splits. The pieces are read in one batch; then, in a second, the parts of
    the splits of the pieces the network is unsure of (only those can be read as several digits).
    """
    look(net, [pieces[k] for k in indices], seen, memo)
    unsure = [k for k in indices if seen[id(pieces[k])][1].max() < (NARROW_SPLIT_BELOW if pieces[k].narrow else SPLIT_BELOW)]
    look(net, [part for k in unsure for split in pieces[k].splits for part in split], seen, memo)
    for k in indices:
        best, best_confidence = [pieces[k]], seen[id(pieces[k])][1].max()
        floor = NARROW_PART_ABOVE if pieces[k].narrow else 0.0
        for split in pieces[k].splits if k in unsure else ():
            weakest = min(seen[id(part)][1].max() for part in split)
            if weakest > best_confidence and weakest >= floor:
                best, best_confidence = split, weakest
        readings[k] = best


def read(ink, net, strokes=None, unsure_below: float = UNSURE_BELOW, not_a_digit_below: float = NOT_A_DIGIT_BELOW,
         memo: dict | None = None) -> Reading:
    """(H, W) ink, 0..1 with 1 = ink, any size -> the Reading of the number drawn on it.

    ``net`` is a ``digits.cnn.Net`` (anything with ``predict_proba((N, 28, 28)) -> (N, 10)``).
    ``strokes``, when the caller has them, is the drawing's strokes in drawing order, each an
    (n, 2) array of (x, y) points in the ink's pixels: digits are then found by grouping strokes
    (``group``), and by the ink's connected pixels (``segment``) when there are none or when they
    do not explain the ink.
    A piece wide enough to be touching digits is read both whole and split; the split is kept
    only if the network is unsure of the whole (below SPLIT_BELOW) and more confident of every
    part than of the whole (a narrow piece: below NARROW_SPLIT_BELOW, and every part at least
    NARROW_PART_ABOVE). With strokes, which runs of strokes are digits is decided the same
    way, by what the network reads best (``group.Grouping.choose``). A digit read is unsure when
    its ``steadiness`` is below ``unsure_below``, when it was cut from a piece read as several
    digits, or when its strokes say it may not be one digit; "not a digit" when its top
    probability is below ``not_a_digit_below``.

    ``memo``, for a caller that reads a drawing again each time it grows (the page, at every
    stroke): pass the same dict each time, empty at first, and empty it whenever ``net`` changes
    (what a person taught it, another network). It keeps what the last reading's pieces read as,
    so pieces whose ink has not changed (the digits written before the newest stroke) are not
    prepared and read again (nor their steadiness tried again); it holds the last reading's pieces only.
    """
    if memo is not None:
        memo.setdefault("last", {})
        memo["now"] = {}
    try:
        return _read(ink, net, strokes, unsure_below, not_a_digit_below, memo)
    finally:
        if memo is not None:
            memo["last"] = memo.pop("now")


def steadiness_of(net, read: list[tuple[np.ndarray, np.ndarray]], memo: dict | None) -> np.ndarray:
    """``steadiness`` of the (image, probabilities) pairs ``read``; with a ``memo`` (see ``read``),
    what the last reading found for the same image and probabilities is not tried again."""
    if not read:
        return np.zeros(0, np.float32)
    known = memo["last"] if memo is not None else {}
    keys = [("steadiness", image.tobytes(), p.tobytes()) for image, p in read]
    out = np.array([known.get(key, np.nan) for key in keys], np.float32)
    fresh = np.flatnonzero(np.isnan(out))
    if fresh.size:
        out[fresh] = steadiness(net, np.array([read[k][0] for k in fresh]), np.array([read[k][1] for k in fresh]))
    if memo is not None:
        memo["now"].update(zip(keys, out.tolist(), strict=True))
    return out


def _read(ink, net, strokes, unsure_below: float, not_a_digit_below: float, memo: dict | None) -> Reading:
    grouping = group.group(ink, strokes) if strokes is not None else None
    pieces = grouping.pieces if grouping is not None else segment.segment(ink)
    if not pieces:
        return Reading([])
    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    readings: dict[int, list[Piece]] = {}  # piece index -> the digits it reads best as
    if grouping is None:
        weigh(net, pieces, range(len(pieces)), seen, readings, memo)
        order, doubtful = range(len(pieces)), set[int]()
    else:  # which runs of strokes are the digits: the network's best partition
        # Read no more than the choice needs: first the runs of the greedy cover; the other runs
        # only if, counted as surely read as can be, they could still make a better partition.
        weigh(net, pieces, grouping.first_guess(), seen, readings, memo)
        while True:
            order = grouping.choose([[float(seen[id(part)][1].max()) for part in readings[k]] if k in readings else None
                                     for k in range(len(pieces))])
            if all(k in readings for k in order):
                break
            weigh(net, pieces, [k for k in range(len(pieces)) if k not in readings], seen, readings, memo)
        doubtful = {id(part) for k in grouping.doubtful(order) for part in readings[k]}
    # A piece read as several digits was cut where nothing said to cut: the ink ran on (one stroke
    # through two digits, digits pushed together), or it is no digit at all and its parts look like
    # some (an infinity sign as "00", a zigzag as "1111"). Like a cut between touching strokes, a guess.
    doubtful |= {id(part) for k in order if len(readings[k]) > 1 for part in readings[k]}
    chosen = sorted((part for k in order for part in readings[k]), key=lambda part: part.box.left + part.box.right)
    # Only a reading less sure than STEADY_ABOVE is tried with a bolder and a lighter pen.
    shaky = [piece for piece in chosen if seen[id(piece)][1].max() < STEADY_ABOVE]
    steady = dict(zip(map(id, shaky), steadiness_of(net, [seen[id(piece)] for piece in shaky], memo).tolist(), strict=True))

    digits = []
    for piece in chosen:
        image, p = seen[id(piece)]
        ranked = np.argsort(-p, kind="stable")
        top = p[ranked[0]]
        steadiest = steady.get(id(piece), float(top))
        doubted = steadiest < unsure_below or id(piece) in doubtful
        digits.append(
            Digit(
                label=int(ranked[0]),
                probabilities=p,
                box=piece.box,
                image=image,
                unsure=bool(doubted or top < not_a_digit_below),
                runner_up=int(ranked[1]),
                steadiness=float(steadiest),
                reason="not a digit" if top < not_a_digit_below else "unsure" if doubted else "",
            )
        )
    return Reading(digits)
