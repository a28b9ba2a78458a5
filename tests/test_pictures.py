"""site/pictures.py: the pixels the page shows for a digit and for every layer of the network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pictures
from digits import cnn

SITE = Path(__file__).resolve().parent.parent / "site"


@pytest.fixture(scope="module")
def net():
    return cnn.load(SITE / "model" / "digits.npz")


@pytest.fixture(scope="module")
def words():
    return json.loads((SITE / "words.json").read_text(encoding="utf-8"))["layers"]


def test_grey_is_white_ink_on_black():
    image = np.zeros((28, 28), np.float32)
    image[10, 12] = 1
    image[3, 4] = 2  # out of range: clipped
    rgba = pictures.grey(image)
    assert rgba.shape == (28, 28, 4) and rgba.dtype == np.uint8
    assert rgba[10, 12].tolist() == [255, 255, 255, 255] and rgba[3, 4].tolist() == [255, 255, 255, 255]
    assert rgba[0, 0].tolist() == [0, 0, 0, 255]


def test_heat_runs_along_the_ramp_and_masks():
    values = np.array([[0.0, 1.0, 0.5]], np.float32)
    rgba = pictures.heat(values, np.array([[1, 1, 0]], np.float32))
    assert rgba[0, 0, :3].tolist() == pictures.RAMP[0].tolist()
    assert rgba[0, 1, :3].tolist() == pictures.RAMP[-1].tolist()
    assert rgba[0, :, 3].tolist() == [255, 255, 0]


def test_tile_lays_maps_out_one_pixel_apart():
    maps = np.ones((5, 4, 10), np.float32)
    grid, mask = pictures.tile(maps)
    assert grid.shape == (2 * 6 - 1, 8 * 5 - 1)  # 8 columns, 2 rows
    assert mask.sum() == 10 * 5 * 4
    assert (grid == mask).all()


def test_layer_view_shows_every_layer_the_next_one_sees(net, words):
    image = np.zeros((28, 28), np.float32)
    image[6:22, 13:15] = 1  # a 1
    shown = pictures.layer_view(net, image, words)
    assert shown[0].kind == "input" and shown[0].caption == words["input"]
    assert shown[0].rgba.shape == (28, 28, 4)
    assert shown[-1].kind == "softmax" and shown[-1].caption == words["softmax"]
    kinds = [p.kind for p in shown]
    assert "relu" not in kinds and "flatten" not in kinds
    assert sum(k == "conv2d" for k in kinds) == sum(layer.type == "conv2d" for layer in net.layers)
    for p in shown:
        assert p.rgba.dtype == np.uint8 and p.rgba.ndim == 3 and p.rgba.shape[2] == 4
    assert all(p.caption.startswith("convolution") for p in shown if p.kind == "conv2d")
    assert any(p.caption.endswith(words["relu"]) for p in shown)  # a layer followed by its ReLU is shown after it
