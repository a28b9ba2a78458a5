"""Shared fixtures.

`server`     - session-scoped: the real serve.py serving the real site/ on 127.0.0.1 on a free
               port; yields its base URL without a trailing slash, e.g. "http://127.0.0.1:41234".
               Use it as f"{server}/" or f"{server}/vendor/pyodide/pyodide.mjs".
`serve_site` - a factory for tests that need their own root: `serve_site(root, *extra_args)`
               starts serve.py on `root` and returns a RunningServer; stopped at teardown.

Both run serve.py as a subprocess exactly as a person would (`python serve.py --port 0`), and
read the URL it prints (serve.start, shared with bench/browser.py). Its log goes to a file
(RunningServer.log), never to a pipe that could fill.
"""

from __future__ import annotations

import os

# One BLAS thread for the whole suite, set before numpy loads: on a shared 2-core machine
# OpenBLAS's spinning threads turned a 0.3 ms product into 32 ms. The page has no threads either.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
from pathlib import Path

import pytest

from serve import RunningServer
from serve import start as start_server

REPO = Path(__file__).resolve().parent.parent
SERVE = REPO / "serve.py"
SITE = REPO / "site"
# The tests check this checkout's recognizer: `digits` is installed editable into .venv, but a
# second checkout (a git worktree) sharing that venv must still test its own site/digits/.
sys.path.insert(0, str(SITE))


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """Base URL of serve.py serving the real site/ (session-wide; stopped at the end)."""
    running = start_server(SITE, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture
def serve_site(tmp_path):
    """Factory: serve_site(root, *extra_args) -> RunningServer on its own free port; stopped at teardown."""
    started: list[RunningServer] = []

    def start(root: Path, *extra: str) -> RunningServer:
        running = start_server(Path(root), tmp_path / f"serve-{len(started)}.log", *extra)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
