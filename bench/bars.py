"""The bars of bench/bars.toml, for the benchmarks (pass/fail in their JSON), the tests and docs/render.py.

    from bench import bars
    bar = bars.BARS["reading.pen_digits"]
    bar.met(0.993), bar.text()            # True, "≥ 99.0 % (aim 99.5 %)"
    bars.verdicts("reading", results)     # {"pen_digits": True, ...} for every bar whose figure is in results
    bars.said(passed)                     # "4 of 5 bars met (missed: pen_digits)"
    bars.said(passed, bars.unmeasured("reading", results))  # ... "; not measured: pen_numbers"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The JSON files bars point into: card.json is the exporter's, the rest the benchmarks'.
SOURCES = {"card": ROOT / "site" / "model" / "card.json"} | {
    name: RESULTS / f"{name}.json" for name in ("reading", "cpython", "browser", "model_card", "personal")
}


@dataclass(frozen=True)
class Bar:
    key: str  # "SOURCE.NAME"
    measure: str
    unit: str
    at_least: float | None = None
    at_most: float | None = None
    aim: float | None = None
    value: str | None = None  # where the figure is in the source's JSON, keys joined by "/"
    places: int = 0
    issue: int | None = None
    note: str = ""

    def met(self, figure: float) -> bool:
        return figure >= self.at_least if self.at_least is not None else figure <= self.at_most

    def text(self) -> str:
        """The bar as people read it: "≥ 99.0 % (aim 99.5 %)"."""
        sign, limit = ("≥", self.at_least) if self.at_least is not None else ("≤", self.at_most)
        extra = [f"aim {self.show(self.aim)}"] if self.aim is not None else []
        extra += [self.note] if self.note else []
        return f"{sign} {self.show(limit)}" + (f" ({'; '.join(extra)})" if extra else "")

    def show(self, v: float) -> str:
        if self.unit in ("%", "pt"):
            places = self.places  # at least as many as the bar asks for, and enough to show 0.985 as 98.5
            while places < 3 and round(v * 100, places) != round(v * 100, 6):
                places += 1
            return f"{v * 100:.{places}f} {self.unit}"
        if self.unit == "M":
            return f"{v / 1e6:g} M"
        if self.unit == "bytes":
            return f"{v / 2**20:g} MB" if v >= 2**20 else f"{v / 2**10:g} KB"
        if self.unit == "x":
            return f"{v:g}x"
        if self.unit == "" and 0 < v < 1e-3:
            return f"{v:.0e}".replace("e-0", "e-")
        return f"{v:g} {self.unit}".rstrip()


def load(path: Path = ROOT / "bench" / "bars.toml") -> dict[str, Bar]:
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for source, measures in table.items():
        if source not in SOURCES:
            raise ValueError(f"{path}: [{source}.*] names no known source; known: {', '.join(SOURCES)}")
        for name, fields in measures.items():
            bar = Bar(key=f"{source}.{name}", **fields)
            if (bar.at_least is None) == (bar.at_most is None):
                raise ValueError(f"{path}: [{bar.key}] needs exactly one of at_least and at_most")
            out[bar.key] = bar
    return out


BARS = load()


def figure(results: dict, path: str):
    """The value at ``path`` ("a/b/c") in ``results``, or None where any key is missing."""
    for key in path.split("/"):
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def verdicts(source: str, results: dict) -> dict[str, bool]:
    """Pass (True) or fail for every bar of ``source`` whose figure ``results`` holds."""
    out = {}
    for bar in BARS.values():
        if bar.key.startswith(source + ".") and bar.value and (v := figure(results, bar.value)) is not None:
            out[bar.key.removeprefix(source + ".")] = bar.met(v)
    return out


def unmeasured(source: str, results: dict) -> list[str]:
    """The bars of ``source`` whose figure ``results`` lacks or holds as None: a full run that
    could not measure one (too few cases of it) must say so, not drop it from its count."""
    return [bar.key.removeprefix(source + ".") for bar in BARS.values()
            if bar.key.startswith(source + ".") and bar.value and figure(results, bar.value) is None]


def said(passed: dict[str, bool], not_measured: list[str] = ()) -> str:
    """Verdicts in the words a benchmark's one line ends with: "4 of 5 bars met (missed: pen_digits)",
    and "; not measured: ..." for bars a full run should have measured but could not."""
    missed = [name for name, met in passed.items() if not met]
    return (f"{len(passed) - len(missed)} of {len(passed)} bars met" + (f" (missed: {', '.join(missed)})" if missed else "")
            + (f"; not measured: {', '.join(not_measured)}" if not_measured else ""))
