"""Lighthouse on the page, as bench/browser.py serves it (issue 11's bars: blocking time, scores).

Lighthouse 12.2.3 from npm (13.x wants Node 22) through `npm exec`, desktop preset (no CPU
throttling), Debian's Chromium headless. The main thread is what Lighthouse judges: its total
blocking time is the time tasks on it held input back while the page loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import chromium

PACKAGE = "lighthouse@12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices")
TIMEOUT_S = 300


def measure(url: str) -> dict:
    """Lighthouse's scores and timings of `url`; {"error": ...} if it could not run."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "lighthouse.json"
        command = ["npm", "exec", "--yes", f"--package={PACKAGE}", "--", "lighthouse", url, "--preset=desktop",
                   f"--only-categories={','.join(CATEGORIES)}", "--output=json", f"--output-path={report}", "--quiet",
                   "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
        env = os.environ | {"CHROME_PATH": str(chromium.EXECUTABLE)}
        try:
            done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": f"{type(e).__name__}: {e}"}
        if done.returncode or not report.is_file():
            return {"error": (done.stderr or done.stdout).strip()[-500:] or f"exit {done.returncode}"}
        r = json.loads(report.read_text())
    audits = r["audits"]
    return {
        "lighthouse": r["lighthouseVersion"], "url": url, "preset": "desktop",
        "performance": r["categories"]["performance"]["score"],
        "accessibility": r["categories"]["accessibility"]["score"],
        "best_practices": r["categories"]["best-practices"]["score"],
        "total_blocking_ms": audits["total-blocking-time"]["numericValue"],
        "interactive_ms": audits["interactive"]["numericValue"],
        "largest_contentful_paint_ms": audits["largest-contentful-paint"]["numericValue"],
        "max_potential_fid_ms": audits["max-potential-fid"]["numericValue"],
    }
