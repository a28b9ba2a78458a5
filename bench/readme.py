"""Regenerate the README's figures from the benchmarks' JSON and the model card, never by hand.

    .venv/bin/python -m bench.readme          # rewrites the <!-- begin:NAME --> ... <!-- end:NAME --> blocks

Sources: site/model/card.json (model), bench/results/reading.json (bench.reading),
bench/results/browser.json (bench.browser), bench/results/cpython.json (bench.cpython).
A missing source leaves its block saying which command produces it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _ok(passed: bool) -> str:
    return "meets" if passed else "**misses**"


def model_block(card: dict | None) -> str:
    if card is None:
        return "_No model card: run `make train`._"
    t = card.get("training", {})
    settings = t.get("settings", {})
    files = card["files"]
    return "\n".join([
        "| measure | value | bar |",
        "|---|---|---|",
        f"| MNIST test accuracy, shipped `digits.npz` through `site/digits/cnn.py` | **{card['test_accuracy']:.2%}** "
        f"({card['test_errors']} errors of {card['test_images']:,}) | ≥ 99.60 % (Flask app it replaces: 99.32 %) |",
        f"| numpy vs onnxruntime, max difference in probability, all 10,000 test images | "
        f"{card['parity']['numpy_vs_onnxruntime_full_test_set']:.1e} | ≤ 1e-4 |",
        f"| multiply-adds per digit | {card['multiply_adds_per_digit'] / 1e6:.2f} M | ≤ 15 M (aim < 8 M) |",
        f"| parameters | {card['parameters']:,} | |",
        f"| `digits.npz` (float16) / `digits.onnx` | {files['digits.npz']['bytes'] / 1024:.0f} KB / "
        f"{files['digits.onnx']['bytes'] / 1024:.0f} KB | npz ≤ 1 MB (aim < 400 KB) |",
        f"| training: {settings.get('epochs', '?')} epochs, batch {settings.get('batch_size', '?')}, seed "
        f"{settings.get('seed', '?')} | {t.get('training_minutes', float('nan')):.1f} min on this 2-core machine"
        f"{', shared with other jobs' if t.get('shared_machine') else ''} | < 30 min, "
        f"{_ok(t.get('training_minutes', 99) < 30)} |",
        "",
        f"Reproduce: `make train` (train + export), or measure the shipped files alone with "
        f"`.venv/bin/python -m export.evaluate`. Exported {card.get('exported', '?')} with "
        + ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items()) + ".",
    ])


def reading_block(r: dict | None) -> str:
    if r is None:
        return "_Not measured yet: run `.venv/bin/python -m bench.reading`._"
    s, n, t, lat, u, ok = r["single_digits"], r["numbers"], r["touching_numbers"], r["latency"], r["unsure"], r["passed"]
    h = u["held_out"]
    return "\n".join([
        "| measure | value | bar |",
        "|---|---|---|",
        f"| MNIST test digits drawn as canvas ink (8-12x, anywhere, 40-90 % of the height, thick or thin), "
        f"`to_mnist` + net, n = {s['count']:,} | **{s['accuracy']:.2%}** | ≥ 99.0 %, {_ok(ok['single_digit_accuracy'])} |",
        f"| the same canvases squashed to 28x28 without MNIST's normalisation | {s['squashed_accuracy']:.2%} | |",
        f"| numbers of 2-4 MNIST digits, random gaps, sizes and offsets, read exactly, n = {n['count']:,} | "
        f"**{n['exact_rate']:.2%}** | ≥ 96 %, {_ok(ok['number_exact_rate'])} |",
        f"| numbers whose digits touch or overlap, read exactly, n = {t['count']:,} | {t['exact_rate']:.2%} | |",
        f"| `to_mnist` + net for one digit, CPython median | **{lat['to_mnist_plus_net_ms']:.2f} ms** | "
        f"< 2 ms, {_ok(ok['latency_ms'])} |",
        f"| `digits.read` of a 4-digit number, CPython median | {lat['read_number_ms']:.2f} ms | |",
        "",
        f"A digit whose top probability is below **{u['chosen']}** is read as \"not sure: 4 or 9?\" "
        f"(`digits.UNSURE_BELOW`). Chosen on one half of the canvas digits ({u['rule']}); on the other half it "
        f"leaves {h['coverage']:.2%} of digits sure, {h['sure_accuracy']:.2%} of those right, and flags "
        f"{h['errors_flagged']:.0%} of the misreadings. Reproduce: `.venv/bin/python -m bench.reading` "
        f"(seed {r['seed']}, {r['seconds']:.0f} s).",
    ])


def page_winograd() -> str:
    """How the page runs the shipped net's 3x3 convolutions (numpy without BLAS chooses all of them)."""
    from digits import cnn

    net = cnn.load(ROOT / "site" / "model" / "digits.npz", winograd=True)
    tiles = [layer.winograd_tile for layer in net.layers if layer.winograd_tile]
    return " and ".join(f"Winograd F({m}x{m},3x3)" for m in tiles)


def whole_path_rows(w: dict | None) -> list[str]:
    """Pen lifted -> the answer in the DOM, as a person feels it (bench/whole_path.py)."""
    if not w:
        return []
    one, four, first, peer = w["real"]["one"], w["real"]["four"], w["real"]["first"], w["peer"]["one"]
    ratio, warm = w["ratio_one_real_over_peer"], w["ratio_first_over_steady"]
    return [
        f"| pen lifted → answer in the DOM, one digit drawn with the mouse, p50 (p95), {one['n']} readings | "
        f"{one['dom_p50_ms']:.0f} ms ({one['dom_p95_ms']:.0f}) | an onnxruntime-web page on the same canvas "
        f"{peer['dom_p50_ms']:.0f} ms ({peer['dom_p95_ms']:.0f}) | {ratio:.1f}x | ≤ 1.5x, {_ok(ratio <= 1.5)} |",
        f"| the same, a 4-digit number | {four['dom_p50_ms']:.0f} ms ({four['dom_p95_ms']:.0f}) | | | ≤ 25 ms, "
        f"{_ok(four['dom_p50_ms'] <= 25)} |",
        f"| the first reading after ready, p50 of {first['n']} fresh visits | {first['dom_p50_ms']:.0f} ms | "
        f"steady {one['dom_p50_ms']:.0f} ms | {warm:.1f}x | ≤ 1.5x, {_ok(warm <= 1.5)} |",
    ]


def performance_block(b: dict | None, c: dict | None) -> str:
    rows = ["| measure | this project | peer / floor | ratio | bar |", "|---|---|---|---|---|"]
    notes = []
    if b is not None:
        st, lat, tr, ce = b["startup"], b["latency"], b["transfer"], b["ceiling"]
        rows += [
            f"| one recognition in the browser, p50 (p95), {lat['digits']} MNIST digits | numpy in Pyodide "
            f"{lat['numpy_p50_ms']:.2f} ms ({lat['numpy_p95_ms']:.2f}) | onnxruntime-web (wasm, 1 thread) "
            f"{lat['ort_p50_ms']:.2f} ms ({lat['ort_p95_ms']:.2f}) | {lat['ratio_numpy_over_ort']:.1f}x | ≤ 4x (aim 2x), "
            f"{_ok(lat['ratio_numpy_over_ort'] <= lat['bar'])} |",
            f"| navigation to ready, cold cache, median of {len(st['real_cold_ms'])} | the page "
            f"{st['real_cold_median_ms'] / 1000:.2f} s | bare Pyodide + numpy {st['bare_cold_median_ms'] / 1000:.2f} s | "
            f"{st['ratio_real_over_bare']:.2f}x | ≤ 1.3x, {_ok(st['ratio_real_over_bare'] <= st['bar'])} |",
            f"| reload (service worker and HTTP cache) | {st['real_warm_median_ms'] / 1000:.2f} s | first load "
            f"{st['real_cold_median_ms'] / 1000:.2f} s | {st['ratio_warm_over_cold']:.2f}x | faster |",
            f"| first-load transfer, {tr['requests']} requests | {tr['wire_bytes'] / 1e6:.1f} MB gzip-served | "
            f"{tr['uncompressed_bytes'] / 1e6:.1f} MB uncompressed | {tr['wire_bytes'] / tr['uncompressed_bytes']:.2f}x | |",
            f"| forward pass's effective rate vs a large numpy matmul in the same page | "
            f"{ce['effective_gmacs']:.2f} G MAC/s | {ce['matmul_gmacs']:.2f} G MAC/s | {ce['fraction_of_matmul']:.2f}x | |",
            f"| requests leaving the site | {b['guard']['outside_requests']} | | | 0 |",
        ]
        rows += whole_path_rows(b.get("whole_path"))
        notes.append(f"Browser: {b['browser']}, Pyodide numpy {b['pyodide']['numpy']} (no BLAS, so the 3x3 convolutions "
                     f"run as {page_winograd()}); `{b['command']}` on {b['date'][:10]}.")
        machine = b["machine"]
    if c is not None:
        rows.append(
            f"| CPython throughput, 10,000 test images | numpy {c['numpy_images_per_second']:,.0f} images/s | "
            f"onnxruntime {c['onnxruntime_images_per_second']:,.0f} images/s | {c['ratio_numpy_to_onnxruntime']:.2f}x | "
            f"≥ {c['bar']}x, {_ok(c['ratio_numpy_to_onnxruntime'] >= c['bar'])} |")
        notes.append(f"CPython: numpy {c['machine']['numpy']} ({c['numpy_path']}), onnxruntime {c['onnxruntime']}, "
                     f"median of {c['repeats']}; `.venv/bin/python -m bench.cpython` on {c['date']}.")
        machine = c["machine"]
    if b is None and c is None:
        return "_Not measured yet: run `make bench`._"
    notes.append(f"Machine: {machine['cpu']}, {machine['cores']} cores, shared with other work (figures are noisy; "
                 "ratios come from the same run). All of it: `make bench`.")
    return "\n".join(rows + [""] + notes)


def render(readme: str) -> str:
    blocks = {
        "model": model_block(_load(ROOT / "site" / "model" / "card.json")),
        "reading": reading_block(_load(RESULTS / "reading.json")),
        "performance": performance_block(_load(RESULTS / "browser.json"), _load(RESULTS / "cpython.json")),
    }
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- begin:{name} -->\n).*?(\n<!-- end:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- begin:{name} --> ... <!-- end:{name} --> block")
        readme = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), readme)
    return readme


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.readme", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("--check", action="store_true", help="exit 1 if the README's blocks are not up to date")
    a = p.parse_args(argv)
    old = a.readme.read_text()
    new = render(old)
    if a.check:
        if new != old:
            print("README.md's figures are stale: run `.venv/bin/python -m bench.readme`", file=sys.stderr)
            return 1
        return 0
    a.readme.write_text(new)
    print(f"updated {a.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
