"""digits.read now against digits.read at an earlier commit: the same readings, and how long each takes.

    .venv/bin/python -m bench.against 5235a53              # in CPython
    .venv/bin/python -m bench.against 5235a53 --pyodide    # in Pyodide under node (site/vendor/, make runtime)

For a change meant to be faster and to read the same (``--may-differ``: for one meant to read
differently, which counts the drawings it reads differently). The commit's site/digits/ is unpacked
(git archive) as the package ``digits_then`` beside a copy of today's; MNIST test digits traced
into strokes and drawn with the page's pen (bench.reading's seed), and four-digit numbers, are
read by both in one process, alternately, each reading timed (bench/fixtures/against.py). It
stops at the first pair of readings that differ (text, or probabilities beyond float32 rounding)
and otherwise prints the median times and their ratio. Both sides load site/model/digits.npz.
Writes nothing: a machine shared with others makes absolute times drift, not the ratio of two
codes read in turns.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "site" / "vendor" / "pyodide"


def unpack(revision: str, folder: Path) -> None:
    """site/digits/ at ``revision`` -> folder/digits_then, today's -> folder/digits."""
    archive = subprocess.run(["git", "archive", revision, "site/digits"], cwd=ROOT, capture_output=True)
    if archive.returncode:
        sys.exit(f"bench.against: git cannot archive site/digits at {revision!r}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder / "then", filter="data")
    shutil.move(folder / "then" / "site" / "digits", folder / "digits_then")
    shutil.copytree(ROOT / "site" / "digits", folder / "digits", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "site" / "model" / "digits.npz", folder / "digits.npz")


def drawings(count: int, numbers: int, seed: int) -> dict[str, list]:
    """Pen-drawn test digits (as bench.reading draws them) and four-digit numbers: (ink, strokes)."""
    from training import data, pen
    from training import strokes as pen_strokes

    traced = pen.traced(data.load().x_test, "test10000")
    rng = np.random.default_rng(seed + 5)
    singles = [pen_strokes.draw(traced[i], rng) for i in range(count)]
    rng = np.random.default_rng(seed + 7)
    fours = [pen_strokes.draw_number([traced[i] for i in rng.choice(len(traced), 4)], rng) for _ in range(numbers)]
    return {"one digit": singles, "four digits": fours}


def in_cpython(folder: Path, sets: dict, rounds: int, may_differ: bool) -> None:
    sys.path.insert(0, str(folder))
    import digits_then
    import digits_then.cnn

    import digits
    import digits.cnn
    from bench.fixtures.against import compare

    net_now, net_then = digits.cnn.load(folder / "digits.npz"), digits_then.cnn.load(folder / "digits.npz")
    for name, drawn in sets.items():
        report(name, compare(digits, digits_then, net_now, net_then, drawn, rounds, may_differ))


PYODIDE_SCRIPT = """
import numpy as np, digits, digits.cnn, digits_then, digits_then.cnn
from against import compare
saved = np.load("/work/drawings.npz")
net_now, net_then = digits.cnn.load("/work/digits.npz"), digits_then.cnn.load("/work/digits.npz")
for name in saved["names"]:
    drawn = []
    for k in range(int(saved[f"{name}/count"])):
        ink = np.divide(saved[f"{name}/{k}/ink"], np.float32(255), dtype=np.float32)  # as worker.py receives it
        starts = saved[f"{name}/{k}/starts"]
        drawn.append((ink, np.split(saved[f"{name}/{k}/points"], starts[1:-1])))
    times = compare(digits, digits_then, net_now, net_then, drawn, ROUNDS, MAY_DIFFER)
    print(f"{name}\\t{times['then']}\\t{times['now']}\\t{times['differ']}\\t{times['drawings']}")
"""


def in_pyodide(folder: Path, sets: dict, rounds: int, may_differ: bool) -> None:
    if not (VENDOR / "pyodide.mjs").is_file():
        sys.exit("bench.against --pyodide: site/vendor/pyodide/ is missing; run `make runtime` first")
    if shutil.which("node") is None:
        sys.exit("bench.against --pyodide: node is not on PATH (it runs Pyodide here); install Node.js 20")
    arrays = {"names": np.array(list(sets))}
    for name, drawn in sets.items():
        arrays[f"{name}/count"] = np.array(len(drawn))
        for k, (ink, strokes) in enumerate(drawn):
            arrays[f"{name}/{k}/ink"] = np.round(np.clip(ink, 0, 1) * 255).astype(np.uint8)  # what the page sends
            arrays[f"{name}/{k}/points"] = np.concatenate(strokes).astype(np.float32)
            arrays[f"{name}/{k}/starts"] = np.cumsum([0] + [len(s) for s in strokes])
    np.savez(folder / "drawings.npz", **arrays)
    shutil.copy(ROOT / "bench" / "fixtures" / "against.py", folder / "against.py")
    (folder / "run.py").write_text(PYODIDE_SCRIPT.replace("ROUNDS", str(rounds)).replace("MAY_DIFFER", str(may_differ)))
    done = subprocess.run(["node", str(ROOT / "bench" / "fixtures" / "against.mjs"), str(VENDOR), str(folder), str(folder / "run.py")],
                          capture_output=True, text=True)
    if done.returncode:
        # readings that differ end the script as in CPython: say so in one line, not node's traceback
        differ = [line for line in done.stderr.splitlines() if line.startswith("AssertionError: ")]
        if differ:
            raise AssertionError(differ[-1].removeprefix("AssertionError: "))
        sys.exit(f"bench.against --pyodide: node failed:\n{done.stderr.strip()[-2000:]}")
    for line in done.stdout.splitlines():
        name, then, now, differ, count = line.split("\t")
        report(name, {"then": float(then), "now": float(now), "differ": int(differ), "drawings": int(count)})


def report(name: str, times: dict) -> None:
    same = "the same readings" if not times["differ"] else f"{times['differ']} of {times['drawings']} drawings read differently"
    print(f"{name}: {same}; median {times['then']:.2f} ms then, {times['now']:.2f} ms now, "
          f"{times['now'] / times['then']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the earlier commit (anything git names: a hash, HEAD~3, a tag)")
    parser.add_argument("--pyodide", action="store_true", help="read in Pyodide under node instead of CPython")
    parser.add_argument("--digits", type=int, default=120, help="pen-drawn test digits (default 120)")
    parser.add_argument("--numbers", type=int, default=40, help="four-digit numbers (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the drawings (default 3)")
    parser.add_argument("--seed", type=int, default=4, help="bench.reading's seed (default 4)")
    parser.add_argument("--may-differ", action="store_true",
                        help="a change meant to read differently: count the drawings read differently instead of stopping")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        unpack(args.revision, Path(tmp))
        sets = drawings(args.digits, args.numbers, args.seed)
        try:
            (in_pyodide if args.pyodide else in_cpython)(Path(tmp), sets, args.rounds, args.may_differ)
        except AssertionError as e:
            sys.exit(f"bench.against: {e} (for a change meant to read differently, --may-differ counts them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
