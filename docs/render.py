"""Write the README's generated blocks and docs/model-card.md from the measurements, never by hand.

    .venv/bin/python -m docs.render                  # rewrite README.md's blocks and docs/model-card.md
    .venv/bin/python -m docs.render --check          # exit 1 if either is not what the results say
    .venv/bin/python -m docs.render --print reading  # a README block, or a benchmark's table, on the terminal
    .venv/bin/python -m docs.render --print personal --from /tmp/personal.json  # that table from another run

Figures come from the JSON the exporter and the benchmarks wrote (site/model/card.json and
bench/results/*.json: bench/bars.py SOURCES), bars from bench/bars.toml, and every word from the
Markdown templates in docs/templates/, whose parts this module fills with str.format_map. It measures
nothing: a missing result leaves its block saying which command produces it. The benchmarks print no
tables: theirs are the --print blocks of TABLES (reading-details, personal, browser, whole-path, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from bench import bars

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "docs" / "templates"
README = ROOT / "README.md"
MODEL_CARD = ROOT / "docs" / "model-card.md"


# --- templates --------------------------------------------------------------------------------------


def _percent(places: int):
    return lambda v: f"{v * 100:.{places}f} %"


# Format specs the templates may use on numbers, beyond Python's own; a missing figure (None) shows "-".
SPECS = {
    "pct": _percent(2), "pct0": _percent(0), "pct1": _percent(1), "pct3": _percent(3),
    "pt": lambda v: f"{v * 100:+.2f} pt",  # a share's change in percentage points
    "ratio": lambda v: f"{v:.2f}x",
    "ms": lambda v: f"{v:,.0f} ms" if v >= 100 else f"{v:.2f} ms",
    "M": lambda v: f"{v / 1e6:.2f}",  # millions
    "KB": lambda v: f"{v / 1024:.0f}",  # bytes as KiB, as the sizes have always been shown
    "MB": lambda v: f"{v / 1e6:.1f}",
    "sec": lambda v: f"{v / 1000:.2f}",  # milliseconds as seconds
}


class Figures:
    """A JSON value for str.format_map: {a.b}, {a[b]} and {a[0]} reach into it, numbers take SPECS too."""

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def __getitem__(self, key):
        value = self._value[key]
        return value if isinstance(value, str) else Figures(value)

    def __getattr__(self, key):
        try:
            return self[key]
        except (KeyError, IndexError, TypeError) as e:
            raise AttributeError(key) from e

    def __format__(self, spec: str) -> str:
        if spec in SPECS and isinstance(self._value, int | float | None):
            return "-" if self._value is None else SPECS[spec](self._value)
        return format(self._value, spec)


class Template:
    """docs/templates/NAME.md: parts that start at a line ``<!-- part:NAME -->``."""

    def __init__(self, name: str):
        self.path = TEMPLATES / f"{name}.md"
        pieces = re.split(r"^<!-- part:([\w-]+) -->\n", self.path.read_text(encoding="utf-8"), flags=re.M)
        self.parts = {part: body.rstrip("\n") for part, body in zip(pieces[1::2], pieces[2::2], strict=True)}

    def fill(self, part: str, **names) -> str:
        try:
            return self.parts[part].format_map({k: v if isinstance(v, str) else Figures(v) for k, v in names.items()})
        except (KeyError, AttributeError, IndexError, TypeError, ValueError) as e:
            raise SystemExit(f"{self.path}, part {part}: cannot fill it from the results ({type(e).__name__}: {e}); "
                             "rerun the benchmark that writes them, or fix the template") from e

    def rows(self, part: str, items) -> str:
        return "\n".join(self.fill(part, **item) for item in items)


def load_results() -> dict[str, dict | None]:
    return {name: json.loads(path.read_text()) if path.exists() else None for name, path in bars.SOURCES.items()}


def bar_cells(results: dict[str, dict | None], template: Template) -> dict[str, str]:
    """Every bar of bench/bars.toml as a table cell: the bar, and whether the figure meets it."""
    cells = {}
    for key, bar in bars.BARS.items():
        source = results.get(key.split(".")[0])
        figure = bars.figure(source, bar.value) if source and bar.value else None
        verdict = "bar" if figure is None else "bar_meets" if bar.met(figure) else "bar_misses"
        cells[key] = template.fill(verdict, bar=bar.text())
    return cells


def architecture(layers: list[dict]) -> str:
    """The weight file's layer list in words: conv 5×5/32 → max-pool 2 → … + softmax."""
    words = Template("model-card")
    text = ""
    for layer in layers:
        if f"layer_{layer['type']}" in words.parts:  # relu and flatten go without saying
            said = words.fill(f"layer_{layer['type']}", **layer)
            text += said if said.startswith(" ") or not text else " → " + said
    return text


def versions(card: dict) -> str:
    return ", ".join(f"{name} {version}" for name, version in card.get("versions", {}).items())


# --- the README -------------------------------------------------------------------------------------


def readme_blocks(results: dict[str, dict | None]) -> dict[str, str]:
    t = Template("readme")
    card, m, reading = results["card"], results["model_card"], results["reading"]
    bar = bar_cells(results, t)
    blocks = {"model": "model_missing", "architecture": "architecture_missing", "reading": "reading_missing",
              "pen": "pen_missing", "performance": "performance_missing"}
    blocks = {name: t.fill(missing) for name, missing in blocks.items()}
    if card:
        shared = t.fill("shared_machine") if card.get("training", {}).get("shared_machine") else ""
        blocks["model"] = t.fill("model", card=card, bar=bar, d={"versions": versions(card), "shared_machine": shared})
    if m:
        blocks["architecture"] = t.fill("architecture", d={"architecture": architecture(m["layers"])})
    if reading:
        blocks["reading"] = t.fill("reading", reading=reading, bar=bar)
    if reading and "pen" in reading:
        blocks["pen"] = t.fill("pen", reading=reading, pen=reading["pen"], bar=bar)
    if results["browser"] or results["cpython"]:
        blocks["performance"] = performance(t, results, bar)
    return blocks


def performance(t: Template, results: dict[str, dict | None], bar: dict[str, str]) -> str:
    browser, cpython, m = results["browser"], results["cpython"], results["model_card"]
    rows, notes, machine = [], [], None
    if browser:
        tiles = [layer["page_winograd_tile"] for layer in (m or {}).get("layers", []) if "page_winograd_tile" in layer]
        d = {"cold_loads": len(browser["startup"]["real_cold_ms"]), "browser_date": browser["date"][:10],
             "wire_ratio": browser["transfer"]["wire_bytes"] / browser["transfer"]["uncompressed_bytes"],
             "page_winograd": " and ".join(t.fill("winograd", tile=tile) for tile in tiles)}
        rows.append(t.fill("browser_rows", browser=browser, bar=bar, d=d))
        if (browser.get("lighthouse") or {}).get("total_blocking_ms") is not None:
            rows.append(t.fill("lighthouse_row", lighthouse=browser["lighthouse"], bar=bar))
        notes.append(t.fill("browser_note", browser=browser, d=d))
        machine = browser["machine"]
    if cpython:
        rows.append(t.fill("cpython_row", cpython=cpython, bar=bar))
        notes.append(t.fill("cpython_note", cpython=cpython))
        machine = cpython["machine"]
    notes.append(t.fill("machine_note", machine=machine))
    return t.fill("performance", d={"rows": "\n".join(rows), "notes": "\n".join(notes)})


def fill_readme(readme: str, blocks: dict[str, str]) -> str:
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- begin:{name} -->\n).*?(<!-- end:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- begin:{name} --> ... <!-- end:{name} --> block")
        readme = pattern.sub(lambda found, body=body: found.group(1) + body + "\n" + found.group(2), readme)
    return readme


# --- the model card ---------------------------------------------------------------------------------


def model_card(m: dict, card: dict, card_dir: Path = MODEL_CARD.parent) -> str:
    t = Template("model-card")
    settings = card["training"]["settings"]
    errors = {e["index"]: e for e in m["error_list"]}
    top_band = m["confidence_bands"][-1]
    d = {
        "epochs_word": "epoch" if settings["epochs"] == 1 else "epochs",
        "errors_not_flagged": m["errors"] - m["unsure"]["errors_flagged_unsure"],
        "shown": len(m["gallery"]),
        "confident_errors": sum(e["confidence"] >= 0.9 for e in m["error_list"]),
        "img": {name: Path(os.path.relpath(ROOT / path, card_dir)).as_posix() for name, path in m["pictures"].items()},
        "architecture": architecture(m["layers"]),
        "versions": versions(card),
    }
    names = {"m": m, "card": card, "d": d}
    sections = {
        "smoke_warning": t.fill("smoke_warning", **names) if settings.get("subset") or settings["epochs"] < 3 else "",
        "file_rows": t.rows("file_row", ({"name": name} | f for name, f in card["files"].items())),
        "sure_clause": t.fill("sure_clause", **names) if m["unsure"]["accuracy_of_sure"] else "",
        "per_digit_rows": t.rows("per_digit_row", per_digit(m)),
        "gallery": t.fill("gallery_all" if len(m["gallery"]) == m["errors"] else "gallery_capped", **names),
        "error_table": t.fill("error_table", **names, error_rows=t.rows("error_row", (errors[i] for i in m["gallery"])))
        if m["errors"] else "",
        "bands_lead": t.fill("bands_lead_top" if m["calibration_bins"][-1]["count"] > m["test_images"] / 2
                             else "bands_lead"),
        "band_rows": "\n".join(t.fill("band_row" if b["count"] else "band_row_empty",
                                      **b | {"high": "1]" if b["high"] == 1.0 else f"{b['high']:g})"})
                               for b in m["confidence_bands"]),
        "top_band": t.fill("top_band_all_right", **top_band) if top_band["count"] and top_band["accuracy"] == 1 else "",
        "training_curves": t.fill("training_curves" if "training" in d["img"] else "no_training_curves", **names),
        "setting_rows": t.rows("setting_row", ({"name": k.replace("_", " "), "value": str(v)}
                                               for k, v in settings.items() if k not in ("out", "mnist"))),
    }
    text = t.fill("card", **names, **sections)
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"  # an empty optional part leaves no extra blank line


def per_digit(m: dict):
    for digit, row in m["per_digit"].items():
        top3 = list(row["mistaken_for"].items())[:3]
        yield row | {"digit": digit, "mistaken": ", ".join(f"{k} ({n})" for k, n in top3) or "-"}


# --- the command ------------------------------------------------------------------------------------


def rendered(results: dict[str, dict | None] | None = None) -> dict[Path, str]:
    """Every generated file, as it should read now: {path: text}."""
    results = load_results() if results is None else results
    out = {README: fill_readme(README.read_text(encoding="utf-8"), readme_blocks(results))}
    if results["model_card"] and results["card"]:
        out[MODEL_CARD] = model_card(results["model_card"], results["card"])
    return out


def terminal(name: str, results: dict[str, dict | None], source_file: Path | None = None) -> str:
    """A README block, or one of TABLES (from ``source_file`` instead of bench/results/ if given)."""
    if name not in TABLES:
        blocks = readme_blocks(results)
        if name not in blocks:
            raise SystemExit(f"--print: no block {name!r}; choose from {', '.join([*blocks, *TABLES])}")
        if source_file:
            raise SystemExit(f"--from goes with --print {', '.join(TABLES)}")
        return blocks[name]
    source, words = TABLES[name]
    r = json.loads(source_file.read_text()) if source_file else results[source]
    if not r:
        raise SystemExit(f"no {bars.SOURCES[source].relative_to(ROOT)}: run `.venv/bin/python -m bench.{source}`")
    return re.sub(r"\n{3,}", "\n\n", words(r))  # an empty optional part leaves no extra blank line


# --- the benchmarks' own tables, for the terminal ---------------------------------------------------


def reading_details(r: dict) -> str:
    t = Template("reading-details")
    table = [row | {"mark": t.fill("chosen_mark") if row["threshold"] == r["unsure"]["chosen"] else ""}
             for row in r["unsure"]["calibration_table"]]
    kinds = [{"split": split.replace("_", " "), "kinds": ", ".join(f"{k} {n}" for k, n in nd["read_as_sure_digits_by_kind"].items()) or "-"}
             for split, nd in r.get("pen", {}).get("nondigits", {}).items()]
    return t.fill("details", r=r, threshold_rows=t.rows("threshold_row", table), kind_rows=t.rows("kind_row", kinds))


def personal(r: dict) -> str:
    t = Template("personal")
    writers = [{"name": name, "w": w, "d": {"base_errors": sum(run["stream"]["base_errors"] for run in w["runs"]),
                                           "errors": sum(run["stream"]["errors"] for run in w["runs"])}}
               for name, w in r["writers"].items()]
    return t.fill("personal", r=r, wr=r["wrong_correction"], t=r["timing"], bar=bar_cells({"personal": r}, Template("readme")),
                  writer_rows=t.rows("writer_row", writers))


def browser(r: dict) -> str:
    t, s = Template("browser"), r["startup"]
    timeline = s["timeline_median_ms"]
    d = {
        "samples": {k: ", ".join(f"{v:.0f}" for v in s[f"{k}_ms"]) for k in ("real_cold", "bare_cold", "preload_cold", "real_warm")},
        "transposed": r["ceiling"]["matmul_transposed_best"].split()[0],
        "blocked": sum(result.startswith("blocked") for result in r["guard"]["probe"]["results"]),
        "errors": t.fill("errors", rows=t.rows("error_row", ({"error": e} for e in s["errors"]))) if s["errors"] else "",
        "timeline_rows": t.rows("timeline_row", ({"point": point, "at": [timeline[kind].get(point) for kind in timeline]}
                                                 for point in timeline["real"])),
        "transfer": t.fill("transfer", t=r["transfer"], rows=t.rows("file_row", (f | {"encoding": f["encoding"] or ""}
                                                                               for f in r["transfer"]["files"][:8])))
        if r["transfer"] else "",
        "layer_rows": "\n".join(layer_rows(t, r["profile"]["layers"])),
        "variant_rows": t.rows("variant_row", ({"name": name, "ms": ms, "same": str(r["variants"]["bit_identical_on_20_digits"].get(name, ""))}
                                               for name, ms in r["variants"]["ms"].items())),
    }
    return t.fill("browser", r=r, s=s, lat=r["latency"], c=r["ceiling"], bar=bar_cells({"browser": r}, Template("readme")), d=d)


def layer_rows(t: Template, layers: list[dict]):
    """Each layer's time as shipped; a convolution's and a dense layer's alternatives; Winograd's products."""
    for layer in layers:
        what = t.fill(f"what_{layer['type']}", **layer) if f"what_{layer['type']}" in t.parts else ""
        shape = f"{'x'.join(map(str, layer['in']))} → {'x'.join(map(str, layer['out']))}"
        yield t.fill("layer_row", layer=layer, ms=layer["ms"]["as shipped"], d={"what": what, "shape": shape})
        if layer["type"] in ("conv2d", "dense"):
            yield from (t.fill("alternative_row", name=name, ms=ms) for name, ms in layer["ms"].items() if name != "as shipped")
        yield from (t.fill("winograd_row", tag=tag, **facts) for tag, facts in layer.get("winograd", {}).items())


def whole_path(r: dict) -> str:
    w = r["whole_path"]
    stages = {kind: ", ".join(f"{k} {v:.1f}" for k, v in w["real"][kind]["stages_p50_ms"].items()) for kind in w["real"]}
    return Template("browser").fill("whole_path", w=w, d={"stages": stages}, bar=bar_cells({"browser": r}, Template("readme")))


def browser_personal(r: dict) -> str:
    return Template("browser").fill("personal", p=r["personal"], bar=bar_cells({"browser": r}, Template("readme")))


# --print NAME: (the result it shows, the function that words it), beside the README's blocks.
TABLES = {"reading-details": ("reading", reading_details), "personal": ("personal", personal),
          "browser": ("browser", browser), "whole-path": ("browser", whole_path),
          "browser-personal": ("browser", browser_personal)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m docs.render", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    p.add_argument("--print", dest="show", metavar="BLOCK", help=f"print one README block, or {', '.join(TABLES)}")
    p.add_argument("--from", dest="source", type=Path, metavar="JSON", help="with --print: that result file, not bench/results/'s")
    a = p.parse_args(argv)
    if a.show:
        print(terminal(a.show, load_results(), a.source))
        return 0
    stale = []
    for path, text in rendered().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not a.check:
            path.write_text(text, encoding="utf-8")
    if a.check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run `.venv/bin/python -m docs.render`", file=sys.stderr)
        return 1
    print(f"rewrote {', '.join(map(str, stale))}" if stale else "README.md and docs/model-card.md are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
