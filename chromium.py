"""Debian's Chromium, headless, launched the one way the page tests and bench/browser.py both use.

Playwright drives it, but Playwright's own browser download does not work here (DESIGN.md), so
both take /usr/bin/chromium (``make browser`` installs it) with the flags that work in this
sandbox. Each caller adds its own extra flags (the benchmark blocks every outside request).
"""

from __future__ import annotations

from pathlib import Path

EXECUTABLE = Path("/usr/bin/chromium")
FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync")
MISSING = "Debian's chromium is not installed: run `make browser`"


def launch(playwright, *extra_flags: str):
    """A headless Chromium from Playwright's sync API: ``with sync_playwright() as p: launch(p)``."""
    return playwright.chromium.launch(executable_path=str(EXECUTABLE), args=[*FLAGS, *extra_flags])
