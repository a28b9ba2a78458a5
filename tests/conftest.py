"""Shared fixtures.

`server`     - session-scoped: the real serve.py serving the real site/ on 127.0.0.1 on a free
               port; yields its base URL without a trailing slash, e.g. "http://127.0.0.1:41234".
               Use it as f"{server}/" or f"{server}/vendor/pyodide/pyodide.mjs".
`serve_site` - a factory for tests that need their own root: `serve_site(root, *extra_args)`
               starts serve.py on `root` and returns a RunningServer; stopped at teardown.

Both run serve.py as a subprocess exactly as a person would (`python serve.py --port 0`), and
read the URL it prints. Its log goes to a file (RunningServer.log), never to a pipe that could fill.
"""

from __future__ import annotations

import os

# One BLAS thread for the whole suite, set before numpy loads: on a shared 2-core machine
# OpenBLAS's spinning threads turned a 0.3 ms product into 32 ms. The page has no threads either.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SERVE = REPO / "serve.py"
SITE = REPO / "site"
# The tests check this checkout's recognizer: `digits` is installed editable into .venv, but a
# second checkout (a git worktree) sharing that venv must still test its own site/digits/.
sys.path.insert(0, str(SITE))


@dataclass
class RunningServer:
    url: str  # base URL, no trailing slash
    host: str
    port: int
    process: subprocess.Popen
    log: Path  # serve.py's stderr: warnings and one line per request

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10) -> int:
        """Stop as Ctrl-C would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


def start_server(root: Path, log: Path, *extra: str, timeout: float = 15) -> RunningServer:
    """Start serve.py on `root` (port 0 unless `extra` names one) and wait for the URL it prints."""
    args = [sys.executable, str(SERVE), "--host", "127.0.0.1", "--root", str(root)]
    if "--port" not in extra:
        args += ["--port", "0"]
    args += list(extra)
    err = open(log, "w", encoding="utf-8")  # noqa: SIM115 - kept open by the child
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if process.poll() is not None or left <= 0:
            process.kill()
            process.wait()
            raise RuntimeError(f"serve.py did not start: {log.read_text(errors='replace').strip()}")
        ready, _, _ = select.select([process.stdout], [], [], left)
        if ready:
            line = process.stdout.readline()
            match = re.search(r"http://(\S+):(\d+)/", line)
            if match:
                host, port = match.group(1), int(match.group(2))
                return RunningServer(f"http://{host}:{port}", host, port, process, log)


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
