"""The README's figures are the ones the benchmarks and the exporter wrote, never typed by hand."""

from pathlib import Path

from bench import readme

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_figures_match_the_latest_results():
    text = README.read_text()
    assert readme.render(text) == text, "README.md is stale: run `.venv/bin/python -m bench.readme`"


def test_every_generated_block_is_filled():
    text = README.read_text()
    for name in ("model", "reading", "performance"):
        block = text.split(f"<!-- begin:{name} -->")[1].split(f"<!-- end:{name} -->")[0]
        assert "|---|" in block, f"the {name} block has no table: a result file is missing"
