"""bench/model_card.py measures the card and draws its pictures, docs/render.py writes it; a wrong card.json stops it."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench import model_card
from digits import cnn
from docs import render
from training import data

MODEL = Path(__file__).resolve().parent.parent / "site" / "model"
PICTURES = {"confusion.png", "errors.png", "calibration.png", "training.png"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("card")
    code = model_card.main(["--img", str(out / "docs" / "img"), "--json", str(out / "model_card.json")])
    assert code == 0
    figures = json.loads((out / "model_card.json").read_text())
    card = json.loads((MODEL / "card.json").read_text())
    (out / "docs" / "model-card.md").write_text(render.model_card(figures, card, card_dir=out / "docs"))
    return out / "docs", figures


@pytest.fixture(scope="module")
def direct():
    """The shipped network's predictions, computed here without the generator."""
    m = data.load()
    p = cnn.load(MODEL / "digits.npz").predict_proba(m.x_test.astype(np.float32) / 255.0)
    return p.argmax(1), m.y_test, p, m.x_test


@pytest.fixture
def model_copy(tmp_path):
    """A private copy of site/model/ whose card.json a test may edit."""
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    return folder


def edit_card(folder: Path, **changes) -> None:
    path = folder / "card.json"
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        model_card.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--img" in text and "--model-dir" in text and "--json" in text


def test_markdown_references_existing_small_pngs(generated):
    docs, _ = generated
    text = (docs / "model-card.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert {Path(link).name for link in links} >= PICTURES - ({"training.png"} if not (MODEL / "history.csv").exists() else set())
    for link in links:
        assert not link.startswith("/") and "://" not in link, f"{link}: links must be relative"
        png = docs / link
        assert png.is_file(), f"{link} is referenced but missing"
        head = png.read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n", f"{link} is not a PNG"
        assert png.stat().st_size < 150_000, f"{link} is {png.stat().st_size:,} bytes"
        assert b"matplotlib" not in png.read_bytes(), f"{link} carries a version stamp"


def test_stated_accuracy_matches_a_direct_computation(generated, direct):
    docs, figures = generated
    predicted, y, _, _ = direct
    accuracy = float((predicted == y).mean())
    errors = int((predicted != y).sum())
    text = (docs / "model-card.md").read_text()
    stated = re.search(r"\*\*test accuracy\*\* \(MNIST, 10,000 digits\) \| \*\*([\d.]+) %\*\* \(([\d,]+) errors\)", text)
    assert stated, "the summary table does not state the accuracy"
    assert stated.group(1) == f"{accuracy * 100:.2f}"
    assert int(stated.group(2).replace(",", "")) == errors
    assert figures["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert figures["errors"] == errors == len(figures["error_list"])
    assert [e["index"] for e in figures["error_list"]] == np.flatnonzero(predicted != y).tolist()
    for e in figures["error_list"][:50]:
        assert e["true"] == y[e["index"]] and e["predicted"] == predicted[e["index"]] != e["true"]
        assert 0.1 <= e["confidence"] <= 1
    for d in range(10):
        assert figures["per_digit"][str(d)]["accuracy"] == pytest.approx((predicted[y == d] == d).mean(), abs=1e-6)
    assert 0 <= figures["ece"] <= 1
    assert sum(b["count"] for b in figures["calibration_bins"]) == len(y)


def test_a_card_json_that_disagrees_with_the_measurement_stops_it(model_copy, tmp_path, capsys, direct, monkeypatch):
    predicted, y, p, x = direct
    # The measurement itself is checked above; reuse it here rather than run the network a third time.
    measured = model_card.Measured(x, y.astype(int), p, predicted, p.max(1), p.max(1))
    monkeypatch.setattr(model_card, "measure", lambda net, mnist: measured)
    errors = int((predicted != y).sum())
    edit_card(model_copy, test_accuracy=1 - (errors + 7) / len(y), test_errors=errors + 7)
    out = tmp_path / "img"
    code = model_card.main(["--img", str(out), "--model-dir", str(model_copy), "--json", str(tmp_path / "m.json")])
    message = capsys.readouterr().err
    assert code != 0
    assert "card.json" in message and "test_errors" in message
    assert f"says {errors + 7}, measured {errors}" in message
    assert not out.exists() and not (tmp_path / "m.json").exists(), "nothing may be written on a mismatch"


def test_a_card_json_describing_other_files_stops_it_before_measuring(model_copy, tmp_path):
    card = json.loads((model_copy / "card.json").read_text())
    card["files"]["digits.npz"]["sha256"] = "0" * 64
    edit_card(model_copy, files=card["files"], parameters=card["parameters"] + 1)
    with pytest.raises(model_card.CardMismatch, match=r"digits\.npz: card\.json sha256 0+ is not the file's") as e:
        model_card.generate(tmp_path / "img", model_copy, tmp_path / "m.json")
    assert "parameters: card.json says" in str(e.value)


def test_the_architecture_is_the_weight_files_own_layer_list(generated):
    docs, figures = generated
    net = cnn.load(MODEL / "digits.npz")
    assert [layer["type"] for layer in figures["layers"]] == [layer.type for layer in net.layers]
    convs = [layer.weight.shape for layer in net.layers if layer.type == "conv2d"]
    said = re.search(r"Architecture \([^)]*\): (.*?), batch norm", (docs / "model-card.md").read_text()).group(1)
    assert said.startswith(f"conv {convs[0][0]}×{convs[0][1]}/{convs[0][3]} →") and said.endswith(" + softmax")
    assert said.count("conv ") == len(convs) and said.count("dense ") == sum(t.type == "dense" for t in net.layers)


def test_the_measurement_is_the_committed_one(generated):
    """bench/results/model_card.json (what docs/model-card.md is rendered from) is what the bench measures now,
    apart from where the pictures went."""
    _, figures = generated
    committed = json.loads((MODEL.parent.parent / "bench" / "results" / "model_card.json").read_text())
    assert {**figures, "pictures": None} == {**committed, "pictures": None}, "rerun `make model-card`"
