"""The page in a real browser: start-up time, bytes, recognition latency (issue 6, browser part).

    .venv/bin/python -m bench.browser [--digits 300] [--loads 5] [--out bench/results/browser.json]

One headless Chromium (Debian's, driven by Playwright) against serve.py on 127.0.0.1, serving a
temporary root (bench/results/browser-*.tmp/, removed at the end): hard links of site/ (vendor/
included), bench/fixtures/ as bench/, and the three onnxruntime-web files the lab page needs as
bench/ort/. Every request to another host goes to a dead proxy (so it fails at once, without the
cost of Playwright's request interception, which would also switch the HTTP cache off) and is
counted. Prints a table and writes JSON. About 2.5 minutes here (longer on a busy machine).

  1. start-up, cold (a fresh browser context each: empty HTTP cache, no service worker): the
     real page (index.html, until data-status="ready") against the physical floor, a bare
     Pyodide + numpy page (bench/fixtures/bare.html: loadPyodide, loadPackage("numpy"), import
     numpy), and the same with numpy preloaded (bare.html?preload: loadPyodide({packages}), as
     the page does); the three in rotating order, --loads times each; medians, real/bare (bar
     <= 1.3) and the median of the per-round ratios; when each big file arrived. Time =
     performance.now() in the page when data-status turns "ready" (from navigation start).
     After each cold visit, once the service worker reports the site cached, a second visit of
     the same page (warm).
  2. bytes of the first visit until ready, as serve.py's log says it sent them (the bodies,
     gzip where serve.py has a .gz copy; headers not counted), the page's and its Python
     worker's requests alike (DevTools' network events of the page miss the worker's), against
     the uncompressed size of the same files; the biggest files.
  3. one recognition, one digit at a time, p50/p95 over --digits seeded MNIST test digits
     (uint8 / 255), the same float32 bytes for both: numpy (Net.predict_proba inside Pyodide,
     timed inside Python) and onnxruntime-web (wasm, one thread, the shipped digits.onnx),
     interleaved digit by digit so a busy machine slows both alike; measured after a warm-up
     that lasts until numpy stops getting faster (V8 first runs Pyodide's wasm from its
     baseline compiler); the first 20 digits before any warm-up are reported apart. Bar:
     numpy p50 / ort p50 <= 4 (aim 2). Their argmax agreement; digits.read on canvas-like inks.
  4. effective multiply-adds per second of the forward pass (Net.multiply_adds / p50) as a
     share of a (256x256)@(256x256) product's rate in the same page (better of float32/64).
  5. requests that tried to leave 127.0.0.1 (must be 0), with a probe that proves the counter
     and the block work.
  6. issue 10 in the page ("personal"): one digit through the base network and through
     digits.personal with PERSONAL_KEPT examples kept (MNIST training digits, seeded, as a memory
     file the page would load), interleaved digit by digit, --personal-rounds passes over the
     --digits digits after a warm-up; p50 of each and their ratio (bar in bench/bars.toml:
     browser.personal_read_time_ratio); digits.read on the inks both ways; and how long loading
     the memory takes (from_bytes, as at the page's start-up). `--only-personal` measures this
     alone and writes only the "personal" key of the --out JSON (the other figures are kept).
  And what makes numpy slow in the page: every layer of the shipped net on one digit, with the
  alternatives (im2col vs Winograd F(2x2)/F(4x4), the products written other ways, the
  transforms), timed round-robin; and whole forward passes with cheap bit-identical changes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

import chromium
import serve
from bench import bars, lighthouse, whole_path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
DEFAULT_OUT = ROOT / "bench" / "results" / "browser.json"
# Everything not on loopback goes to a proxy that is not there: it fails at once.
BLOCK_OUTSIDE = ("--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1")
ARGS = [*chromium.FLAGS, *BLOCK_OUTSIDE]
BARS = {"ready_ratio": 1.3, "latency_ratio": 4.0, "latency_ratio_aim": 2.0}
PERSONAL_KEPT = 500  # examples kept for issue 10's speed bar (the memory's capacity)
MEMORY_FILE = "personal-500.bin"  # in the served root's bench/
READY_TIMEOUT = 120_000  # ms
CHUNK = 50  # digits per alternation between numpy and onnxruntime
TIMELINE = r"""() => {
  const pick = (re) => {
    const e = performance.getEntriesByType("resource").find((entry) => re.test(entry.name.split("?")[0]));
    return e ? { start: e.startTime, end: e.responseEnd } : null;
  };
  const marks = Object.fromEntries(performance.getEntriesByType("mark").map((m) => [m.name, m.startTime]));
  // The page's Python worker fetches the runtime: its files are on the worker's timeline, not
  // this one; boot.js marks each of the worker's steps here (digits:wasm, digits:net, ...).
  return { "boot.js": pick(/\/boot\.js$/), "worker.js": pick(/\/worker\.js$/), "words.json": pick(/\/words\.json$/),
           "pyodide.mjs": pick(/pyodide\.mjs$/), "pyodide.asm.wasm": pick(/pyodide\.asm\.wasm$/),
           "python_stdlib.zip": pick(/python_stdlib\.zip$/), "numpy wheel": pick(/numpy-[^/]*\.whl$/), marks,
           domContentLoaded: performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd ?? null };
}"""
WATCH = """(() => {
  // bench/browser.py: when data-status leaves "loading", note performance.now() (ms from navigation start).
  const check = () => {
    const status = document.documentElement && document.documentElement.dataset.status;
    if ((status === "ready" || status === "error") && !window.__benchDone)
      window.__benchDone = { status, ms: performance.now() };
  };
  new MutationObserver(check).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-status"] });
})();"""


# --- inputs ------------------------------------------------------------------------------------


def pick_digits(count: int, seed: int):
    """`count` MNIST test digits, chosen by a seeded generator: (N, 28, 28) float32, labels, indices."""
    from training.data import load as load_mnist

    data = load_mnist()
    index = np.sort(np.random.default_rng(seed).choice(len(data.x_test), size=count, replace=False))
    x = (data.x_test[index] / 255).astype(np.float32)
    return x, data.y_test[index].astype(int), index, data


def make_inks(data, count: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Canvas-like inks as draw.js hands them to Python: uint8 coverage, at most 400 px a side,
    one MNIST test digit each (rendered as a solid anti-aliased stroke, 35-80 % of the height)."""
    from bench.reading import crop, render

    rng = np.random.default_rng(seed + 1)
    inks, labels = [], []
    for i in rng.choice(len(data.x_test), size=count, replace=False):
        h, w = int(rng.integers(240, 401)), int(rng.integers(280, 401))
        image = crop(data.x_test[i])
        ink = render(image, round(h * rng.uniform(0.35, 0.8)), level=rng.uniform(0.15, 0.6))
        ink = ink[:h, :w]
        canvas = np.zeros((h, w), np.float32)
        top = int(rng.integers(0, h - ink.shape[0] + 1))
        left = int(rng.integers(0, w - ink.shape[1] + 1))
        canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
        inks.append(np.round(canvas * 255).astype(np.uint8))
        labels.append(int(data.y_test[i]))
    return inks, labels


# --- the served root -----------------------------------------------------------------------------


def ensure_ort() -> None:
    if all((ORT_DIST / name).is_file() for name in ORT_FILES):
        return
    print("onnxruntime-web is not in node_modules/: running `npm ci` (dev dependencies included)", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    missing = [name for name in ORT_FILES if not (ORT_DIST / name).is_file()]
    if missing:
        raise SystemExit(f"bench.browser: onnxruntime-web has no {', '.join(missing)} in {ORT_DIST}")


def link(src: Path, dst: Path) -> None:
    """A hard link (same inode, same mtime: serve.py's .gz-is-fresh check still holds); a copy
    with its times where a link is impossible."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def assemble(root: Path, x: np.ndarray, inks: list[np.ndarray]) -> None:
    for path in sorted(SITE.rglob("*")):
        if path.is_file() and not path.is_symlink():
            link(path, root / path.relative_to(SITE))
    for path in sorted(FIXTURES.iterdir()):
        if path.is_file():
            link(path, root / "bench" / path.name)
    for name in ORT_FILES:
        link(ORT_DIST / name, root / "bench" / "ort" / name)
    (root / "bench" / "inputs.f32").write_bytes(np.ascontiguousarray(x, np.float32).tobytes())
    (root / "bench" / "inks.u8").write_bytes(b"".join(ink.tobytes() for ink in inks))
    (root / "bench" / "inks.json").write_text(json.dumps([list(ink.shape) for ink in inks]))


class Server:
    """serve.py on a free port of 127.0.0.1, its log read as it grows (what it sent, and how)."""

    LINE = re.compile(r"^\S+ \S+ (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<size>\d+)(?: (?P<enc>\w+))?$")

    def __init__(self, root: Path, log: Path):
        self.log = log
        try:
            self.running = serve.start(root, log, timeout=20)
        except RuntimeError as e:
            raise SystemExit(f"bench.browser: {e}") from None
        self.url = self.running.url + "/"
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.log.stat().st_size

    def since_mark(self) -> list[dict]:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
        out = []
        for line in text.splitlines():
            m = self.LINE.match(line.strip())
            if m:
                out.append({"method": m["method"], "path": m["path"], "status": int(m["status"]),
                            "bytes": int(m["size"]), "encoding": m["enc"]})
        return out

    def stop(self) -> None:
        self.running.stop()


# --- the browser -----------------------------------------------------------------------------------


class Guard:
    """Counts every request (from any page, worker or service worker of the contexts it watches)
    whose host is not 127.0.0.1."""

    def __init__(self):
        self.outside: list[str] = []

    @staticmethod
    def local(url: str) -> bool:
        parsed = urlparse(url)
        return parsed.scheme not in ("http", "https", "ws", "wss") or parsed.hostname == "127.0.0.1"

    def watch(self, context) -> None:
        context.on("request", lambda request: None if self.local(request.url) else self.outside.append(request.url))


def new_context(browser, guard: Guard):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(WATCH)
    guard.watch(context)
    return context


def wait_done(page, timeout: int = READY_TIMEOUT) -> dict:
    page.wait_for_function("window.__benchDone", timeout=timeout, polling=50)
    done = page.evaluate("window.__benchDone")
    if done["status"] != "ready":
        detail = page.evaluate("document.documentElement.dataset.error || document.getElementById('status')?.textContent || ''")
        raise RuntimeError(f"page ended in {done['status']!r}: {detail.strip()[:500]}")
    return done


def cold_load(browser, guard, url: str, warm: bool = False, server: Server | None = None) -> dict:
    """One visit in a fresh context (nothing cached); optionally a second visit once the
    service worker has cached the site."""
    context = new_context(browser, guard)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        if server:
            server.mark()
        out = navigate(page, url)
        out |= {"errors": errors, "timeline": page.evaluate(TIMELINE) | {"ready": out["ready_ms"]}}
        if server:
            out["server"] = server.since_mark()
            server.mark()
        if warm:
            out["warm"] = warm_visit(page, url, server)
        return out
    finally:
        context.close()


def navigate(page, url: str) -> dict:
    """Go to ``url`` and wait for ready: the page's own clock and the wall clock, in ms."""
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    done = wait_done(page)
    return {"ready_ms": done["ms"], "wall_ms": 1e3 * (time.perf_counter() - t0)}


def warm_visit(page, url: str, server: Server | None) -> dict:
    """The second visit: once index.html's service worker reports the site cached, go again."""
    t0 = time.perf_counter()
    try:
        page.wait_for_function("document.documentElement.dataset.offline === 'ready'", timeout=60_000, polling=100)
    except Exception as e:  # noqa: BLE001 - a page without offline support still gets a warm (HTTP cache) visit
        cached = f"service worker did not report the site cached: {type(e).__name__}"
    else:
        cached = "ok"
    cache_s = time.perf_counter() - t0
    sw_traffic = server.since_mark() if server else []
    if server:
        server.mark()
    out = navigate(page, url) | {"service_worker": cached, "sw_cache_wait_s": cache_s,
           "sw_caching_traffic": {"requests": len(sw_traffic), "bytes": sum(r["bytes"] for r in sw_traffic),
                                  "gets_200": sum(r["method"] == "GET" and r["status"] == 200 for r in sw_traffic)}}
    if server:
        served = server.since_mark()
        out["server_requests"] = len(served)
        out["server_bytes"] = sum(r["bytes"] for r in served)
    return out


KINDS = ("real", "bare", "preload")  # the page; bare.html; bare.html?preload


def measure_loads(browser, guard, server: Server, loads: int) -> dict:
    urls = {"real": server.url + "index.html", "bare": server.url + "bench/bare.html",
            "preload": server.url + "bench/bare.html?preload"}
    results = {kind: [] for kind in KINDS} | {"warm": [], "errors": [], "pairs": [], "timelines": {k: [] for k in KINDS}}
    print("  warm-up: one bare load (not counted) ...", flush=True)
    try:
        cold_load(browser, guard, urls["bare"])
    except Exception as e:  # noqa: BLE001
        results["errors"].append(f"warm-up: {e}")
    first = None
    for i in range(loads):
        pair = {}
        for kind in KINDS[i % 3 :] + KINDS[: i % 3]:  # each kind goes first, second, third in turn
            try:
                if kind == "real":
                    r = cold_load(browser, guard, urls[kind], warm=True, server=server)
                    if first is None:
                        first = r
                    results["warm"].append(r["warm"]["ready_ms"])
                    results.setdefault("warm_details", []).append(r["warm"])
                    results.setdefault("page_errors", []).extend(r["errors"])
                else:
                    r = cold_load(browser, guard, urls[kind])
                results[kind].append(r["ready_ms"])
                pair[kind] = r["ready_ms"]
                results["timelines"][kind].append(r["timeline"])
                print(f"  load {i + 1}/{loads} {kind:7}: ready in {r['ready_ms']:6.0f} ms"
                      + (f" (then warm visit {r['warm']['ready_ms']:.0f} ms)" if kind == "real" else ""), flush=True)
            except Exception as e:  # noqa: BLE001 - report it, keep measuring the rest
                results["errors"].append(f"{kind} load {i + 1}: {type(e).__name__}: {e}")
                print(f"  load {i + 1}/{loads} {kind}: FAILED {e}", flush=True)
        if len(pair) == len(KINDS):
            results["pairs"].append(pair)
    results["first"] = first
    return results


def bytes_report(first: dict, root: Path) -> dict:
    """The first visit's bytes until ready: as serve.py sent them (its log) and uncompressed."""
    rows = []
    for r in first.get("server", []):
        if r["method"] != "GET":
            continue
        file = root / r["path"].split("?")[0].lstrip("/")
        if file.is_dir():
            file = file / "index.html"
        rows.append({"path": r["path"], "status": r["status"], "encoding": r["encoding"], "wire": r["bytes"],
                     "raw": file.stat().st_size if file.is_file() else None})
    return {
        "requests": len(rows),
        "wire_bytes": sum(r["wire"] for r in rows),
        "uncompressed_bytes": sum(r["raw"] or 0 for r in rows),
        "gzip_served": sum(r["encoding"] == "gzip" for r in rows),
        "source": "serve.py's log: response bodies as sent (gzip where a .gz copy exists), headers not counted",
        "files": sorted(rows, key=lambda r: -(r["raw"] or 0)),
    }


# --- the lab page ------------------------------------------------------------------------------------


def run_lab(browser, guard, server: Server, count: int) -> dict:
    context = new_context(browser, guard)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "bench/lab.html")
        page.wait_for_function("window.lab", timeout=60_000)
        config = {"count": count, "pyFiles": sorted(p.name for p in (SITE / "digits").glob("*.py")),
                  "weights": "../model/digits.npz", "onnx": "../model/digits.onnx", "labPy": "lab.py"}
        t0 = time.perf_counter()
        out = {"init": page.evaluate("(config) => lab.init(config)", config)}
        steps = {"init": round(time.perf_counter() - t0, 1)}
        t0 = time.perf_counter()
        print(f"  lab ready: Python {out['init']['python_ms']:.0f} ms, onnxruntime {out['init']['ort_ms']:.0f} ms", flush=True)
        out["timer"] = page.evaluate("lab.timer()")
        paired = "([s, e, w]) => lab.paired(s, e, w)"
        # The first recognitions after start-up, no warm-up at all: what the first digit drawn costs.
        r = page.evaluate(paired, [0, min(count, 20), 0])
        out["first_after_start"] = {"numpy_ms": r["numpy_ms"], "ort_ms": r["ort_ms"]}
        # Warm-up until numpy stops getting faster: V8 runs wasm first from its baseline compiler
        # and swaps in optimised code for hot functions in the background (slowly on a busy machine).
        history = []
        for _ in range(12):  # at least 5 rounds of 40, then until a round is not 10 % faster than the best
            r = page.evaluate(paired, [0, min(count, 40), 0])
            history.append(float(np.median(r["numpy_ms"])))
            if len(history) >= 5 and history[-1] > 0.9 * min(history[:-1]):
                break
        out["warmup_numpy_p50_ms"] = history
        print("  warm-up, numpy p50 per round of 40: " + ", ".join(f"{v:.1f}" for v in history) + " ms", flush=True)
        numpy_ms, ort_ms, numpy_p, ort_p = [], [], [], []
        for start in range(0, count, CHUNK):
            stop = min(count, start + CHUNK)
            r = page.evaluate(paired, [start, stop, 2])
            numpy_ms += r["numpy_ms"]
            numpy_p += r["numpy_probs"]
            ort_ms += r["ort_ms"]
            ort_p += r["ort_probs"]
        print(f"  latency: numpy p50 {np.median(numpy_ms):.2f} ms, onnxruntime-web p50 {np.median(ort_ms):.2f} ms", flush=True)
        out.update(numpy_ms=numpy_ms, ort_ms=ort_ms, numpy_probs=numpy_p, ort_probs=ort_p)
        steps["latency"] = time.perf_counter() - t0
        for key, call in (("batch", "lab.batch(300)"), ("read", "lab.read(3)"), ("matmul", "lab.matmul(256, 7)"),
                          ("layers", "lab.layers()"), ("variants", "lab.variants()")):
            t0 = time.perf_counter()
            out[key] = page.evaluate(call)
            steps[key] = round(time.perf_counter() - t0, 1)
        print("  per-layer profile done", flush=True)
        # The guard's own test: two requests that must be blocked and counted.
        before = len(guard.outside)
        probe = page.evaluate("""async () => Promise.all(["http://93.184.215.14/bench-probe", "https://cdn.jsdelivr.net/bench-probe"]
            .map((u) => fetch(u, { mode: "no-cors" }).then(() => "loaded", (e) => "blocked: " + e.message)))""")
        page.wait_for_timeout(200)
        out["probe"] = {"results": probe, "counted": len(guard.outside) - before}
        del guard.outside[before:]
        out["errors"] = errors
        out["steps"] = {k: round(v, 1) for k, v in steps.items()}
        return out
    finally:
        context.close()


def write_memory(root: Path, data, seed: int) -> int:
    """A memory file of PERSONAL_KEPT corrected digits (MNIST training digits, seeded) for the page
    to load, as a person's 500 corrections would be kept (digits.personal's format)."""
    from digits import cnn
    from digits.personal import Personal

    index = np.random.default_rng(seed + 2).choice(len(data.x_train), size=PERSONAL_KEPT, replace=False)
    personal = Personal(cnn.load(SITE / "model" / "digits.npz"))
    personal.learn(data.x_train[index] / np.float32(255), data.y_train[index].astype(int))
    (root / "bench" / MEMORY_FILE).write_bytes(personal.to_bytes())
    return len(personal)


def run_personal(browser, guard, server: Server, count: int, rounds: int) -> dict:
    """Section 6: the base network against digits.personal with PERSONAL_KEPT kept, in the lab page."""
    context = new_context(browser, guard)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "bench/lab.html")
        page.wait_for_function("window.lab", timeout=60_000)
        config = {"count": count, "pyFiles": sorted(p.name for p in (SITE / "digits").glob("*.py")),
                  "weights": "../model/digits.npz", "onnx": "../model/digits.onnx", "labPy": "lab.py"}
        page.evaluate("(config) => lab.init(config)", config)
        page.evaluate("([path, rounds]) => lab.personal(path, rounds)", [MEMORY_FILE, 2])  # warm-up: V8 optimises the hot wasm
        raw = page.evaluate("([path, rounds]) => lab.personal(path, rounds)", [MEMORY_FILE, rounds])
        raw["errors"] = errors
        return raw
    finally:
        context.close()


def summarise_personal(raw: dict, count: int, rounds: int) -> dict:
    base, kept = np.array(raw["predict_ms"]["base"]), np.array(raw["predict_ms"]["kept"])
    read_base, read_kept = raw["read_ms"]["base"], raw["read_ms"]["kept"]
    out = {
        "kept": raw["kept"], "digits": count, "rounds": rounds, "load_memory_ms": raw["load_ms"],
        "base_p50_ms": pct(base, 50), "kept_p50_ms": pct(kept, 50),
        "base_p95_ms": pct(base, 95), "kept_p95_ms": pct(kept, 95),
        "read_time_ratio": pct(kept, 50) / pct(base, 50),
        "ratio_paired_median": pct(kept / np.maximum(base, 1e-3), 50),
        "read": {"inks": len(read_base), "base_p50_ms": pct(read_base, 50), "kept_p50_ms": pct(read_kept, 50),
                 "ratio": pct(read_kept, 50) / pct(read_base, 50)},
        "errors": raw["errors"],
    }
    out["verdicts"] = bars.verdicts("browser", {"personal": out})
    return out


def print_personal(r: dict) -> None:
    print(f"\npersonal (issue 10), {r['kept']} examples kept, {r['digits']} digits x {r['rounds']} rounds, one digit at a time:")
    print(f"  predict_proba p50: base {ms(r['base_p50_ms'])}, kept {ms(r['kept_p50_ms'])}: "
          f"{r['read_time_ratio']:.3f}x (paired median {r['ratio_paired_median']:.3f}x)")
    print(f"  digits.read p50 on {r['read']['inks']} inks: base {ms(r['read']['base_p50_ms'])}, "
          f"kept {ms(r['read']['kept_p50_ms'])}: {r['read']['ratio']:.3f}x")
    print(f"  loading the memory (from_bytes): {ms(r['load_memory_ms'])}; bars: {r['verdicts']}")


# --- figures -------------------------------------------------------------------------------------------


def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def summarise(loads: dict, lab: dict, x, y, cpython_probs, net, root: Path) -> dict:
    real, bare, warm, preload = loads["real"], loads["bare"], loads["warm"], loads["preload"]
    startup = {
        "real_cold_ms": real, "bare_cold_ms": bare, "preload_cold_ms": preload, "real_warm_ms": warm,
        "real_cold_median_ms": pct(real, 50), "bare_cold_median_ms": pct(bare, 50),
        "preload_cold_median_ms": pct(preload, 50), "real_warm_median_ms": pct(warm, 50),
        "ratio_real_over_bare": pct(real, 50) / pct(bare, 50) if real and bare else None,
        "ratio_real_over_preload": pct(real, 50) / pct(preload, 50) if real and preload else None,
        "ratio_warm_over_cold": pct(warm, 50) / pct(real, 50) if real and warm else None,
        "bar": BARS["ready_ratio"],
        "warm_details": loads.get("warm_details", []),
        "errors": loads["errors"], "page_errors": loads.get("page_errors", []),
    }
    pairs = loads.get("pairs", [])
    startup["ratio_paired_median"] = pct([p["real"] / p["bare"] for p in pairs], 50) if pairs else None
    startup["timeline_median_ms"] = {kind: timeline_medians(loads["timelines"][kind]) for kind in KINDS}
    startup["pass"] = startup["ratio_real_over_bare"] is not None and startup["ratio_real_over_bare"] <= BARS["ready_ratio"]
    transfer = bytes_report(loads["first"], root) if loads.get("first") else None

    numpy_p, ort_p = np.array(lab["numpy_probs"]), np.array(lab["ort_probs"])
    na, oa, ca = numpy_p.argmax(1), ort_p.argmax(1), cpython_probs.argmax(1)
    latency = {
        "digits": len(x),
        "numpy_p50_ms": pct(lab["numpy_ms"], 50), "numpy_p95_ms": pct(lab["numpy_ms"], 95),
        "ort_p50_ms": pct(lab["ort_ms"], 50), "ort_p95_ms": pct(lab["ort_ms"], 95),
        "numpy_batch_ms_per_digit": lab["batch"]["ms_per_digit"],
        "argmax_agreement": float((na == oa).mean()),
        "argmax_disagreements": int((na != oa).sum()),
        "max_abs_prob_diff": float(np.abs(numpy_p - ort_p).max()),
        "agreement_with_cpython_numpy": float((na == ca).mean()),
        "numpy_accuracy": float((na == y).mean()), "ort_accuracy": float((oa == y).mean()),
        "timer_step_ms": lab["timer"]["step_ms"],
        "bar": BARS["latency_ratio"], "aim": BARS["latency_ratio_aim"],
    }
    latency["ratio_numpy_over_ort"] = latency["numpy_p50_ms"] / latency["ort_p50_ms"]
    latency["ratio_paired_median"] = pct(np.array(lab["numpy_ms"]) / np.maximum(np.array(lab["ort_ms"]), 1e-3), 50)
    latency["pass"] = latency["ratio_numpy_over_ort"] <= BARS["latency_ratio"]
    read = lab["read"]
    first = lab["first_after_start"]
    latency["first_after_start"] = {"digits": len(first["numpy_ms"]), "numpy_p50_ms": pct(first["numpy_ms"], 50),
                                    "ort_p50_ms": pct(first["ort_ms"], 50), "numpy_first_ms": first["numpy_ms"][0],
                                    "ort_first_ms": first["ort_ms"][0]}
    latency["warmup_numpy_p50_ms"] = lab["warmup_numpy_p50_ms"]
    latency["read"] = {"inks": len(read["read_ms"]), "p50_ms": pct(read["read_ms"], 50), "p95_ms": pct(read["read_ms"], 95),
                       "segment_p50_ms": pct(read["segment_ms"], 50), "to_mnist_p50_ms": pct(read["to_mnist_ms"], 50),
                       "net_p50_ms": pct(read["net_ms"], 50),
                       "ink_pixels": [min(h * w for h, w in read["shapes"]), max(h * w for h, w in read["shapes"])]}

    mm = lab["matmul"]
    best = max(("float32", "float64"), key=lambda d: mm[d]["gmacs_median"])
    effective = net.multiply_adds / (latency["numpy_p50_ms"] / 1e3) / 1e9
    layout = max((k for k in mm if k.endswith("bT.T")), key=lambda d: mm[d]["gmacs_median"])
    ceiling = {"multiply_adds": net.multiply_adds, "effective_gmacs": effective, "matmul": mm,
               "matmul_best_dtype": best, "matmul_gmacs": mm[best]["gmacs_median"],
               "fraction_of_matmul": effective / mm[best]["gmacs_median"],
               "matmul_transposed_best": layout, "matmul_transposed_gmacs": mm[layout]["gmacs_median"],
               "fraction_of_transposed_matmul": effective / mm[layout]["gmacs_median"],
               "note": "multiply_adds counts the direct convolution; Winograd does fewer, so the effective rate can exceed the matmul's"}
    return {"startup": startup, "transfer": transfer, "latency": latency, "ceiling": ceiling}


def timeline_medians(timelines: list[dict]) -> dict:
    """Median over loads of when each file arrived (responseEnd) and each performance mark."""
    points: dict[str, list[float]] = {}
    for t in timelines:
        for key, value in t.items():
            if key == "marks":
                for name, at in value.items():
                    points.setdefault(f"mark {name}", []).append(at)
            elif isinstance(value, dict):
                points.setdefault(f"{key} requested", []).append(value["start"])
                points.setdefault(f"{key} received", []).append(value["end"])
            elif value is not None:
                points.setdefault(key, []).append(value)
    return dict(sorted(((k, pct(v, 50)) for k, v in points.items()), key=lambda kv: kv[1]))


def card_accuracy() -> float | None:
    try:
        return json.loads((SITE / "model" / "card.json").read_text()).get("test_accuracy")
    except (OSError, ValueError):
        return None


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_start": list(os.getloadavg())}


def ms(v) -> str:
    return "-" if v is None else f"{v:,.0f} ms" if v >= 100 else f"{v:.2f} ms"


def mb(v) -> str:
    return "-" if v is None else f"{v / 1e6:.2f} MB"


def print_table(r: dict) -> None:
    s, t, lat, c = r["startup"], r["transfer"], r["latency"], r["ceiling"]
    print()
    print(f"Browser bench: {r['browser']} on {r['machine']['cpu']} ({r['machine']['cores']} cores), "
          f"load average {r['machine']['loadavg_start'][0]:.1f} -> {r['machine']['loadavg_end'][0]:.1f}")
    print(f"{'':44} {'median':>10}   samples")
    print(f"{'1. ready, cold: the page':44} {ms(s['real_cold_median_ms']):>10}   " + ", ".join(f"{v:.0f}" for v in s["real_cold_ms"]))
    print(f"{'   ready, cold: bare Pyodide + numpy':44} {ms(s['bare_cold_median_ms']):>10}   " + ", ".join(f"{v:.0f}" for v in s["bare_cold_ms"]))
    print(f"{'   ready, cold: bare, numpy preloaded':44} {ms(s['preload_cold_median_ms']):>10}   " + ", ".join(f"{v:.0f}" for v in s["preload_cold_ms"]))
    if s["ratio_real_over_bare"]:
        paired = s["ratio_paired_median"]
        print(f"{'   page / bare (bar <= 1.3)':44} {s['ratio_real_over_bare']:>9.2f}x   {'PASS' if s['pass'] else 'FAIL'}"
              + (f"   (median of paired ratios {paired:.2f}x)" if paired else ""))
        if s["ratio_real_over_preload"]:
            print(f"{'   page / bare with numpy preloaded':44} {s['ratio_real_over_preload']:>9.2f}x")
        tl = s["timeline_median_ms"]
        print(f"   where the time goes (median ms from navigation):  {'page':>8} {'bare':>8} {'preload':>8}")
        for key in tl["real"]:
            cells = [tl[k].get(key) for k in KINDS]
            print(f"     {key:44}" + "".join(f" {'-' if c is None else f'{c:,.0f}':>8}" for c in cells))
    print(f"{'   ready, warm (second visit)':44} {ms(s['real_warm_median_ms']):>10}   " + ", ".join(f"{v:.0f}" for v in s["real_warm_ms"]))
    if s["ratio_warm_over_cold"]:
        print(f"{'   warm / cold':44} {s['ratio_warm_over_cold']:>9.2f}x")
    for e in s["errors"]:
        print(f"   ! {e}")
    if t:
        print(f"{'2. first visit, until ready: on the wire':44} {mb(t['wire_bytes']):>10}   {t['requests']} requests, {t['gzip_served']} gzip")
        print(f"{'   the same files uncompressed':44} {mb(t['uncompressed_bytes']):>10}")
        for f in t["files"][:8]:
            wire = "-" if f["wire"] is None else f"{f['wire'] / 1e3:,.0f} kB"
            raw = "-" if f["raw"] is None else f"{f['raw'] / 1e3:,.0f} kB"
            print(f"     {f['path'][:52]:52} {raw:>10} -> {wire:>9} {f['encoding'] or ''}")
    print(f"{'3. one digit, p50 / p95: numpy in Pyodide':44} {ms(lat['numpy_p50_ms']):>10} / {ms(lat['numpy_p95_ms'])}"
          f"   ({lat['digits']} digits; batched: {lat['numpy_batch_ms_per_digit']:.2f} ms a digit)")
    print(f"{'   onnxruntime-web, wasm, 1 thread':44} {ms(lat['ort_p50_ms']):>10} / {ms(lat['ort_p95_ms'])}")
    print(f"{'   numpy / ort at p50 (bar <= 4, aim 2)':44} {lat['ratio_numpy_over_ort']:>9.2f}x   {'PASS' if lat['pass'] else 'FAIL'}"
          f"   (median of per-digit ratios {lat['ratio_paired_median']:.2f}x)")
    print(f"{'   same argmax (numpy vs ort)':44} {lat['argmax_agreement']:>10.2%}   max |dp| {lat['max_abs_prob_diff']:.1e};"
          f" vs CPython numpy {lat['agreement_with_cpython_numpy']:.2%}")
    fa = lat["first_after_start"]
    print(f"{'   right after start-up (first ' + str(fa['digits']) + '), p50':44} {ms(fa['numpy_p50_ms']):>10} numpy, "
          f"{ms(fa['ort_p50_ms'])} ort; the very first: {ms(fa['numpy_first_ms'])} / {ms(fa['ort_first_ms'])}")
    rd = lat["read"]
    print(f"{'   digits.read on canvas inks, p50 / p95':44} {ms(rd['p50_ms']):>10} / {ms(rd['p95_ms'])}"
          f"   ({rd['inks']} inks of {rd['ink_pixels'][0] / 1e3:.0f}-{rd['ink_pixels'][1] / 1e3:.0f} k pixels)")
    print(f"{'     stages alone, p50: segment':44} {ms(rd['segment_p50_ms']):>10}   to_mnist {ms(rd['to_mnist_p50_ms'])},"
          f" net {ms(rd['net_p50_ms'])}; read right: {rd['accuracy']:.0%}")
    print(f"{'4. forward pass, effective':44} {c['effective_gmacs']:>7.2f} G   multiply-adds/s ({c['multiply_adds'] / 1e6:.2f} M a digit)")
    print(f"{'   (256x256)@(256x256), ' + c['matmul_best_dtype']:44} {c['matmul_gmacs']:>7.2f} G   "
          f"(float32 {c['matmul']['float32']['gmacs_median']:.2f}, float64 {c['matmul']['float64']['gmacs_median']:.2f})")
    print(f"{'   forward pass / matmul':44} {c['fraction_of_matmul']:>10.2f}   (nominal multiply-adds: Winograd does 2.25-4.6x fewer in the 3x3 layers)")
    print(f"{'   the same, b stored transposed: ' + c['matmul_transposed_best'].split()[0]:44} {c['matmul_transposed_gmacs']:>7.2f} G   "
          f"forward pass / that: {c['fraction_of_transposed_matmul']:.2f}")
    g = r["guard"]
    print(f"{'5. requests that tried to leave 127.0.0.1':44} {g['outside_requests']:>10}   "
          f"(probe: {g['probe']['counted']} of 2 counted, {sum(p.startswith('blocked') for p in g['probe']['results'])} blocked)")
    p = r["profile"]
    pp = p["predict_proba_ms"]
    print()
    print(f"Per layer in Pyodide, one digit, ms best | median of round-robin samples "
          f"(predict_proba {pp['best']:.2f} | {pp['median']:.2f}; sum of layers, best: {p['sum_best_ms']:.2f}):")
    for row in p["layers"]:
        t = row["ms"]
        shipped = t["as shipped"]
        what = ""
        if row["type"] == "conv2d":
            what = f"{row['path']}, {row['macs'] / 1e6:.2f} M MACs"
        elif row["type"] == "dense":
            what = f"{row['macs'] / 1e6:.3f} M MACs"
        print(f"  {row['index']:>2} {row['type']:9} {'x'.join(map(str, row['in'])):>9} -> {'x'.join(map(str, row['out'])):9}"
              f" {shipped['best']:6.3f} | {shipped['median']:6.3f}   {what}")
        for name, v in t.items():
            if name != "as shipped" and row["type"] in ("conv2d", "dense"):
                print(f"       {name:52} {v['best']:6.3f} | {v['median']:6.3f}")
        for tag, facts in row.get("winograd", {}).items():
            print(f"       {tag}: {facts['products']} = {facts['macs'] / 1e6:.2f} M MACs, "
                  f"max |diff| vs im2col {facts['max_abs_diff_vs_im2col']:.1e}")
    v = r["variants"]
    shipped = v["ms"]["as shipped"]
    print(f"Whole forward pass, one digit, ms best | median of 21 round-robin samples: as shipped {shipped['best']:.3f} | {shipped['median']:.3f}")
    for name, t in v["ms"].items():
        if name != "as shipped":
            print(f"  {name:44} {t['best']:6.3f} | {t['median']:6.3f}   bit-identical: {v['bit_identical_on_20_digits'][name]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser", description=__doc__.split("\n\n")[0],
        epilog="Needs site/vendor/ (make runtime), Debian's chromium (make browser) and onnxruntime-web "
        "(npm ci, run here if missing). About 2-4 minutes.")
    parser.add_argument("--digits", type=int, default=300, help="MNIST test digits for the latency figures (default 300)")
    parser.add_argument("--loads", type=int, default=5, help="cold loads of each page, alternating (default 5)")
    parser.add_argument("--inks", type=int, default=40, help="canvas-like inks for the digits.read latency (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the digit and ink choice (default 0)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--rounds", type=int, default=20, help="readings drawn with the mouse for the whole path (default 20)")
    parser.add_argument("--firsts", type=int, default=3, help="fresh visits for the first reading after ready (default 3)")
    parser.add_argument("--only-path", action="store_true", help="measure the whole path only (bench.whole_path), print it, write nothing")
    parser.add_argument("--no-lighthouse", dest="lighthouse", action="store_false",
                        help=f"skip Lighthouse ({lighthouse.PACKAGE} through npm exec) on the page")
    parser.add_argument("--keep-root", action="store_true", help="keep the assembled temporary root (printed)")
    parser.add_argument("--personal-rounds", type=int, default=3, help="passes over --digits for issue 10's figures (default 3)")
    parser.add_argument("--only-personal", action="store_true",
                        help="measure issue 10's figures only and update the \"personal\" key of --out")
    args = parser.parse_args(argv)
    if args.digits < 1 or args.loads < 1:
        parser.error("--digits and --loads must be at least 1")

    if not (SITE / "vendor" / ".complete").is_file():
        raise SystemExit("bench.browser: the Python runtime is not built: run `make runtime`")
    if not chromium.EXECUTABLE.exists():
        raise SystemExit(f"bench.browser: {chromium.MISSING}")
    from playwright.sync_api import sync_playwright

    from digits import cnn

    started = time.perf_counter()
    info = machine()
    ensure_ort()
    x, y, index, data = pick_digits(args.digits, args.seed)
    inks, ink_labels = make_inks(data, args.inks, args.seed)
    net = cnn.load(SITE / "model" / "digits.npz")
    cpython_probs = net.predict_proba(x)

    work = Path(tempfile.mkdtemp(prefix="browser-", suffix=".tmp", dir=ROOT / "bench" / "results"))
    root = work / "root"
    server = None
    try:
        assemble(root, x, inks)
        write_memory(root, data, args.seed)
        server = Server(root, work / "serve.log")
        print(f"serving {root} at {server.url}", flush=True)
        guard = Guard()
        with sync_playwright() as p:
            browser = chromium.launch(p, *BLOCK_OUTSIDE)
            try:
                if args.only_personal:
                    print(f"personal: {PERSONAL_KEPT} examples kept vs the base network, in the page ...", flush=True)
                    personal = summarise_personal(run_personal(browser, guard, server, args.digits, args.personal_rounds),
                                                  args.digits, args.personal_rounds)
                    print_personal(personal)
                    report = json.loads(args.out.read_text()) if args.out.exists() else {"bench": "browser"}
                    report["personal"] = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                                          "command": shlex.join(sys.orig_argv), **personal}
                    tmp = args.out.with_name(args.out.name + ".tmp")
                    tmp.write_text(json.dumps(report, indent=1) + "\n")
                    tmp.replace(args.out)
                    print(f"wrote the \"personal\" key of {args.out}")
                    return 0
                print("the whole path: pen lifted -> answer, this page and an onnxruntime-web page ...", flush=True)
                t0 = time.perf_counter()
                path = whole_path.measure(lambda: new_context(browser, guard), wait_done,
                                          {"real": server.url + "index.html", "peer": server.url + "bench/peer.html"},
                                          data.x_test, data.y_test, args.rounds, args.firsts, args.seed)
                whole_path.print_table(path)
                if args.only_path:
                    return 0
                phases = {"path_s": round(time.perf_counter() - t0, 1)}
                print("start-up (cold, alternating) ...", flush=True)
                t0 = time.perf_counter()
                loads = measure_loads(browser, guard, server, args.loads)
                phases["loads_s"] = round(time.perf_counter() - t0, 1)
                t0 = time.perf_counter()
                outside_loads = list(guard.outside)
                print("lab: numpy in Pyodide vs onnxruntime-web ...", flush=True)
                lab = run_lab(browser, guard, server, args.digits)
                phases["lab_s"] = round(time.perf_counter() - t0, 1)
                phases["lab_steps_s"] = lab.pop("steps")
                print(f"personal: {PERSONAL_KEPT} examples kept vs the base network ...", flush=True)
                t0 = time.perf_counter()
                personal = summarise_personal(run_personal(browser, guard, server, args.digits, args.personal_rounds),
                                              args.digits, args.personal_rounds)
                phases["personal_s"] = round(time.perf_counter() - t0, 1)
                version = browser.version
                if args.lighthouse:
                    print(f"Lighthouse ({lighthouse.PACKAGE}, desktop preset) ...", flush=True)
                    t0 = time.perf_counter()
                    audit = lighthouse.measure(server.url + "index.html")
                    phases["lighthouse_s"] = round(time.perf_counter() - t0, 1)
                    print(f"  {audit}", flush=True)
            finally:
                browser.close()
        result = summarise(loads, lab, x, y, cpython_probs, net, root)
    finally:
        if server:
            server.stop()
        if args.keep_root:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    info["loadavg_end"] = list(os.getloadavg())
    texts = lab["read"]["texts"]
    result["latency"]["read"]["accuracy"] = float(np.mean([t == str(lb) for t, lb in zip(texts, ink_labels, strict=True)]))
    report = {
        "bench": "browser",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(sys.orig_argv),
        "seconds": round(time.perf_counter() - started, 1),
        "phases": phases,
        "machine": info,
        "browser": f"Chromium {version}",
        "pyodide": {k: lab["timer"][k] for k in ("numpy", "python", "has_blas", "winograd_layers")},
        "cross_origin_isolated": lab["init"]["cross_origin_isolated"],
        "model": {"npz": str((SITE / "model" / "digits.npz").relative_to(ROOT)), "multiply_adds": net.multiply_adds,
                  "parameters": net.parameters, "test_accuracy": card_accuracy(),
                  "npz_mtime": datetime.datetime.fromtimestamp((SITE / "model" / "digits.npz").stat().st_mtime, datetime.UTC).isoformat(timespec="seconds")},
        "config": {"digits": args.digits, "loads": args.loads, "inks": args.inks, "seed": args.seed,
                   "mnist_test_indices_first": index[:10].tolist(), "chromium_args": ARGS, "ort_files": ORT_FILES},
        **result,
        "guard": {"outside_requests": len(outside_loads) + len(guard.outside), "outside_urls": (outside_loads + guard.outside)[:20],
                  "probe": lab["probe"], "method": "--proxy-server to a dead port for every non-loopback request; "
                  "every request of every context counted"},
        "profile": lab["layers"],
        "variants": lab["variants"],
        "whole_path": path,
        "lighthouse": audit if args.lighthouse else None,
        "personal": personal,
        "lab_errors": lab["errors"],
    }
    print_table(report)
    whole_path.print_table(path)
    print_personal(personal)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"\nwrote {args.out} in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
