"""The digit network, in Keras.

Chosen for accuracy per multiply-add, because the page runs it with numpy inside Pyodide (no
BLAS, no SIMD, about 1 G multiply-adds a second): one 5x5 convolution at full resolution, then
pool early and do the heavy lifting on 12x12 and 10x10 maps.

    input 28x28x1
    conv 5x5/32 (valid)  -> 24x24x32     460 k MACs
    max-pool 2           -> 12x12x32
    conv 3x3/64 (valid)  -> 10x10x64   1.84 M MACs
    conv 3x3/64 (valid)  ->  8x8x64    2.36 M MACs
    max-pool 2           ->  4x4x64
    dense 192                           197 k MACs
    dense 10, softmax

Batch norm follows each convolution and the hidden dense layer (folded into their weights at
export), dropout regularises the dense head.
"""

from __future__ import annotations

import keras
from keras import layers


def build(dropout: float, hidden: int) -> keras.Model:
    """The network, its dense layer ``hidden`` wide (training.train's Settings says how wide, and why)."""

    def conv_bn_relu(x, filters, size):
        x = layers.Conv2D(filters, size, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((28, 28, 1), name="image")
    x = conv_bn_relu(inputs, 32, 5)
    x = layers.MaxPooling2D(2)(x)
    x = conv_bn_relu(x, 64, 3)
    x = conv_bn_relu(x, 64, 3)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout / 2)(x)
    x = layers.Dense(hidden, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits")


def augmenter(seed: int, rotation: float = 12, zoom: float = 0.15, shift: float = 0.1) -> keras.Sequential:
    """Geometric augmentation: what differs between a scanned MNIST digit and a drawn one.

    ``rotation`` in degrees either way, ``zoom`` and ``shift`` as fractions of the side."""
    return keras.Sequential(
        [
            layers.RandomRotation(rotation / 360, fill_mode="constant", seed=seed),
            layers.RandomZoom((-zoom, zoom), fill_mode="constant", seed=seed + 1),
            layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed + 2),
        ],
        name="augment",
    )
