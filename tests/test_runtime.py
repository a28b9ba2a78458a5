"""The runtime build (export/runtime.py): the built site/vendor/ and the checks that guard it.

The checks run on temporary copies; nothing here touches the network (the one CLI test needs
node_modules/ as `make runtime` left it, and skips otherwise).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SITE

from export import runtime, sha256_file
from export.runtime import WHEELS, BuildError

VENDOR = SITE / "vendor"
PYODIDE = VENDOR / "pyodide"
LOCK = PYODIDE / "pyodide-lock.json"
NUMPY = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"


@pytest.fixture(scope="module")
def built() -> Path:
    if not (VENDOR / runtime.STAMP).is_file():
        pytest.fail("site/vendor/ is not built: run `make runtime` (make test and make pytest do)")
    return VENDOR


@pytest.fixture
def copy(built, tmp_path) -> Path:
    """A temporary copy of the wheels and pyodide-lock.json."""
    folder = tmp_path / "pyodide"
    folder.mkdir()
    for name in (*WHEELS, "pyodide-lock.json"):
        shutil.copyfile(PYODIDE / name, folder / name)
    return folder


def add_to_lock(folder: Path, name: str, data: bytes = b"PK a small wheel") -> None:
    """Write a wheel `name` into `folder` and name it, with its true sha256, in folder's pyodide-lock.json."""
    (folder / name).write_bytes(data)
    lock_path = folder / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"][name.split("-")[0]] = {"file_name": name, "sha256": hashlib.sha256(data).hexdigest()}
    lock_path.write_text(json.dumps(lock))


def tamper(path: Path, offset: int = 1000) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ the built folder


def test_built_wheels_match_the_lock(built):
    runtime.check_wheels(PYODIDE, LOCK)  # raises on any mismatch
    digests = runtime.lock_digests(LOCK)
    for name in WHEELS:
        assert sha256_file(PYODIDE / name) == digests[name]


def test_built_folder_is_what_the_page_loads(built):
    lock = json.loads(LOCK.read_text())
    assert lock["info"]["version"] == runtime.PYODIDE_VERSION == "0.27.7"
    assert lock["info"]["python"].startswith("3.12")
    assert lock["packages"]["numpy"]["version"] == "2.0.2"
    for name in runtime.PYODIDE_CORE:
        assert (PYODIDE / name).stat().st_size > 0, name
    assert (PYODIDE / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"
    # Pyodide and the stamp, nothing else: no PyScript (an older build's vendor/pyscript/ is gone)
    assert {p.name for p in VENDOR.iterdir()} == {"pyodide", runtime.STAMP}
    # nothing the page does not use: no source maps, type declarations, non-module builds, extra wheels
    names = {p.name for p in VENDOR.rglob("*") if p.is_file()}
    assert not {n for n in names if n.endswith((".map", ".d.ts", ".part"))}
    assert "pyodide.js" not in names and "console.html" not in names
    assert {n for n in names if n.endswith(".whl")} == set(WHEELS) == {NUMPY}
    assert json.loads((VENDOR / runtime.STAMP).read_text()) == {"pyodide": "0.27.7", "wheels": [NUMPY]}


def test_the_wheels_are_what_the_worker_preloads_and_their_dependencies(built):
    """WHEELS is exactly what worker.js's loadPyodide({packages}) fetches: a package added there
    without its wheel would fail the page; a wheel nothing loads (micropip, packaging) would only
    cost the build."""
    found = re.search(r"loadPyodide\(\{[^}]*packages:\s*\[([^\]]*)\]", (SITE / "worker.js").read_text())
    assert found, "worker.js no longer calls loadPyodide({..., packages: [...]})"
    packages = json.loads(f"[{found.group(1)}]")
    lock = json.loads(LOCK.read_text())["packages"]
    needed, todo = set(), list(packages)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(lock[name]["depends"])
    assert {lock[name]["file_name"] for name in needed} == set(WHEELS)


def test_built_gzip_copies_are_exact_and_worth_it(built):
    copies = list(VENDOR.rglob("*.gz"))
    assert (PYODIDE / "pyodide.asm.wasm.gz") in copies and (PYODIDE / "pyodide.asm.js.gz") in copies
    for gz in copies:
        original = gz.with_name(gz.name[: -len(".gz")])
        assert gzip.decompress(gz.read_bytes()) == original.read_bytes(), gz.name
        assert gz.stat().st_size <= original.stat().st_size * (1 - runtime.GZIP_MIN_SAVING), gz.name
        assert gz.stat().st_mtime_ns >= original.stat().st_mtime_ns, f"{gz.name} is stale"
    assert not any(gz.name.endswith(".whl.gz") for gz in copies)  # wheels are zips already


# ------------------------------------------------------------------ the checks, on temporary copies


def test_a_tampered_wheel_is_rejected_by_name(copy):
    other = "other-1.0-py3-none-any.whl"
    add_to_lock(copy, other)
    names = (*WHEELS, other)
    runtime.check_wheels(copy, copy / "pyodide-lock.json", names)  # the clean copy passes
    tamper(copy / NUMPY)
    with pytest.raises(BuildError) as info:
        runtime.check_wheels(copy, copy / "pyodide-lock.json", names)
    message = str(info.value)
    assert NUMPY in message and "does not match pyodide-lock.json" in message
    assert other not in message  # only the bad one is named


def test_every_bad_wheel_is_named_at_once(copy):
    other = "other-1.0-py3-none-any.whl"
    add_to_lock(copy, other)
    tamper(copy / NUMPY)
    (copy / other).unlink()
    with pytest.raises(BuildError) as info:
        runtime.check_wheels(copy, copy / "pyodide-lock.json", (*WHEELS, other))
    message = str(info.value)
    assert f"{NUMPY}: sha256" in message and f"{other}: missing" in message


def test_a_mismatching_digest_in_the_lock_is_rejected(copy):
    lock_path = copy / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"]["numpy"]["sha256"] = "0" * 64
    lock_path.write_text(json.dumps(lock))
    with pytest.raises(BuildError, match=re.escape(NUMPY) + ".*0{64}"):
        runtime.check_wheels(copy, lock_path)


def test_a_missing_wheel_is_named(copy):
    (copy / NUMPY).unlink()
    with pytest.raises(BuildError, match=re.escape(NUMPY) + ".*missing"):
        runtime.check_wheels(copy, copy / "pyodide-lock.json")


def test_a_wheel_the_lock_does_not_name_is_rejected(copy):
    (copy / "evil-1.0-py3-none-any.whl").write_bytes(b"PK")
    with pytest.raises(BuildError, match="names no such wheel"):
        runtime.check_wheels(copy, copy / "pyodide-lock.json", names=("evil-1.0-py3-none-any.whl",))


def test_fetch_takes_verified_wheels_from_the_cache(copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    runtime.fetch_wheels(out, copy, copy / "pyodide-lock.json")
    runtime.check_wheels(out, copy / "pyodide-lock.json")
    runtime.fetch_wheels(out, copy, copy / "pyodide-lock.json")  # a second run: nothing to do, still fine


def test_fetch_stops_on_a_tampered_cached_wheel(copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    tamper(copy / NUMPY)
    with pytest.raises(BuildError) as info:
        runtime.fetch_wheels(out, copy, copy / "pyodide-lock.json")
    message = str(info.value)
    assert NUMPY in message and "delete" in message and str(copy / NUMPY) in message
    assert not (out / NUMPY).exists()


def test_fetch_replaces_a_damaged_output_wheel_from_the_cache(copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copyfile(copy / NUMPY, out / NUMPY)
    tamper(out / NUMPY)
    runtime.fetch_wheels(out, copy, copy / "pyodide-lock.json")
    assert (out / NUMPY).read_bytes() == (copy / NUMPY).read_bytes()


def test_cli_stops_without_a_stamp_on_a_tampered_wheel(copy, tmp_path):
    if not runtime._installed_matches_lock(REPO):
        pytest.skip("node_modules/ does not match package-lock.json (run `make runtime`); this test stays offline")
    tamper(copy / NUMPY)
    out = tmp_path / "vendor"
    result = subprocess.run(
        [sys.executable, "-m", "export.runtime", "--out", str(out), "--cache", str(copy), "--no-gzip"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert NUMPY in result.stderr and "does not match pyodide-lock.json" in result.stderr
    assert "NOT complete" in result.stderr and "Traceback" not in result.stderr
    assert not (out / runtime.STAMP).exists()


def test_cli_help():
    result = subprocess.run(
        [sys.executable, "-m", "export.runtime", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--cache" in result.stdout and "sha256" in result.stdout


# ------------------------------------------------------------------ leftovers, gzip


def test_an_older_builds_leftovers_are_removed(tmp_path):
    """A site/vendor/ built when the page still loaded PyScript: its pyscript/ folder goes, whole,
    and so do wheels nothing loads any more; Pyodide's own files stay."""
    out = tmp_path / "vendor"
    (out / "pyscript").mkdir(parents=True)
    (out / "pyscript" / "core.js").write_text("export{};")
    (out / "pyscript" / "core.js.gz").write_bytes(b"")
    (out / "pyodide").mkdir()
    for name in ("pyodide.mjs", NUMPY, "micropip-0.9.0-py3-none-any.whl", "packaging-24.2-py3-none-any.whl"):
        (out / "pyodide" / name).write_bytes(b"x")
    assert runtime.remove_retired(out) == ["pyscript"]
    runtime._prune(out / "pyodide", {"pyodide.mjs", *WHEELS})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "pyodide",
        f"pyodide/{NUMPY}",
        "pyodide/pyodide.mjs",
    ]
    assert runtime.remove_retired(out) == []  # nothing left to remove: a second build is a no-op


def test_precompress_keeps_only_copies_that_help(tmp_path):
    text = tmp_path / "a.js"
    text.write_text("let x = 1;\n" * 5000)
    noise = tmp_path / "b.wasm"
    noise.write_bytes(os.urandom(20000))
    tiny = tmp_path / "c.js"
    tiny.write_text("x")
    before, after = runtime.precompress([text, noise, tiny])
    assert (tmp_path / "a.js.gz").is_file() and gzip.decompress(
        (tmp_path / "a.js.gz").read_bytes()
    ) == text.read_bytes()
    assert not (tmp_path / "b.wasm.gz").exists() and not (tmp_path / "c.js.gz").exists()
    assert before == text.stat().st_size and after == (tmp_path / "a.js.gz").stat().st_size
    # a changed file gets a fresh copy
    text.write_text("let y = 2;\n" * 5000)
    runtime.precompress([text])
    assert gzip.decompress((tmp_path / "a.js.gz").read_bytes()) == text.read_bytes()
