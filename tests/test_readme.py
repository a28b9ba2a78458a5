"""README.md's tables and docs/model-card.md say what the committed results say, and nothing else does.

Everything here renders from the committed JSON (site/model/card.json, bench/results/*.json) with
docs/render.py: a result rerun without `python -m docs.render`, or a figure edited by hand, fails.
"""

import copy
import re

import pytest

from bench import bars
from docs import render


@pytest.fixture(scope="module")
def results():
    return render.load_results()


@pytest.fixture(scope="module")
def blocks(results):
    return render.readme_blocks(results)


def block_in(readme: str, name: str) -> str:
    found = re.search(rf"<!-- begin:{name} -->\n(.*?)\n<!-- end:{name} -->", readme, re.S)
    assert found, f"README.md has no <!-- begin:{name} --> ... <!-- end:{name} --> block"
    return found.group(1)


def outside_blocks(readme: str) -> str:
    return re.sub(r"<!-- begin:(\w+) -->\n.*?<!-- end:\1 -->", "", readme, flags=re.S)


def test_every_generated_block_of_the_readme_is_a_fresh_render(blocks):
    readme = render.README.read_text()
    for name, fresh in blocks.items():
        assert block_in(readme, name) == fresh, f"README.md's {name} block is stale: run `python -m docs.render`"


def test_the_model_card_is_a_fresh_render(results):
    assert results["model_card"] and results["card"], "bench/results/model_card.json or site/model/card.json missing"
    assert render.MODEL_CARD.read_text() == render.model_card(results["model_card"], results["card"]), (
        "docs/model-card.md is stale: run `python -m docs.render`")


def test_render_check_agrees_and_writes_nothing(capsys):
    before = {path: path.read_text() for path in (render.README, render.MODEL_CARD)}
    assert render.main(["--check"]) == 0, capsys.readouterr().err
    assert before == {path: path.read_text() for path in before}


def test_every_measured_block_is_filled_from_results(blocks, results):
    """The committed results hold the model, the canvas readings and the performance: no block may say
    'not measured' for them."""
    for name in ("model", "architecture", "reading", "performance"):
        assert "|" in blocks[name] or "→" in blocks[name], f"the {name} block has no figures: {blocks[name]}"


def test_no_figure_in_a_block_is_typed_anywhere_else_in_the_readme(blocks):
    """Figures with decimals or thousands separators are distinctive enough to look for: none of those in
    a generated block may also appear in the README's hand-written prose (it would go stale)."""
    figure = re.compile(r"(?<![\w.,])(\d+\.\d+|\d{1,3}(?:,\d{3})+)(?![\w.]|,\d)")
    generated = {f for body in blocks.values() for f in figure.findall(body)}
    prose = outside_blocks(render.README.read_text())
    typed = sorted(f for f in set(figure.findall(prose)) if f in generated)
    assert not typed, f"README prose repeats figures the renderer writes: {typed}; put them in a template instead"


def test_every_shown_bar_that_has_a_figure_says_whether_it_is_met(blocks, results):
    """A bar whose `value` path in bench/bars.toml is wrong would show without its verdict."""
    text = "\n".join(blocks.values())
    for key, bar in bars.BARS.items():
        source = results.get(key.split(".")[0])
        if bar.value and source and bars.figure(source, bar.value) is not None and bar.text() in text:
            assert re.search(re.escape(bar.text()) + r", (meets|\*\*misses\*\*)", text), f"{key} shows no verdict"


def test_a_changed_result_changes_the_render(results):
    """The comparison above can fail: a different figure gives a different block, with the bar's verdict."""
    worse = copy.deepcopy(results)
    worse["reading"]["single_digits"]["accuracy"] = 0.5
    block = render.readme_blocks(worse)["reading"]
    assert "**50.00%**" in block and f"{bars.BARS['reading.canvas_digits'].text()}, **misses**" in block
    assert block != render.readme_blocks(results)["reading"]


def test_a_missing_result_says_which_command_measures_it(results):
    nothing = dict.fromkeys(results)
    blocks = render.readme_blocks(nothing)
    assert "bench.reading" in blocks["reading"] and "make bench" in blocks["performance"]
    assert "make train" in blocks["model"]


def test_the_pen_block_renders_every_pen_figure(results):
    """The committed reading.json may predate the pen section; a minimal one shows where each figure goes."""
    reading = copy.deepcopy(results["reading"])
    rate = {"count": 10, "exact_rate": 0.9}
    reading["latency"]["read_one_pen_digit_ms"] = 1.5
    reading["pen"] = {
        "single_digits": {"count": 4000, "accuracy": 0.9912, "pixels_only_accuracy": 0.98},
        "unsure": {"rule": "r", "unsure_below": 0.9, "not_a_digit_below": 0.3,
                   "shipped": {"unsure_below": 0.9, "not_a_digit_below": 0.3},
                   "held_out": {"errors_flagged": 0.85, "read_unsure_or_blank": 0.02, "rejected_as_not_a_digit": 0.001}},
        "numbers": rate | {"exact_rate": 0.995}, "touching_pairs": rate, "same_pairs_apart": rate,
        "nondigits": {split: {"count": 300, "blank_or_unsure": 0.93, "read_as_sure_digits_by_kind": {"letter:A": 3}}
                      for split in ("trained_kinds", "held_out_kinds")},
    }
    block = render.readme_blocks(results | {"reading": reading})["pen"]
    assert "n = 4,000 | **99.12%** | ≥ 99.0 % (aim 99.5 %), meets" in block
    assert "**1.50 ms** | ≤ 2 ms (aim 1 ms), meets" in block
    assert block.count("**misses**") == 0 and block.count("meets") == 8
    assert "letter:A 3" in render.reading_details(reading)
