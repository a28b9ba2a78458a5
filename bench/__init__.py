"""Benchmarks: they measure, write bench/results/*.json and print one line (they are not timed tests);
docs/render.py turns the JSON into the README's tables and the terminal's (`python -m docs.render --print`).

Runs before any bench module's own imports, so it is where the environment they share is set:
one OpenBLAS thread, before numpy loads. On a shared 2-core machine OpenBLAS's spinning threads
slowed small products many times over; single-digit latency is what the page sees (it has no
threads at all), and bench.cpython spreads work over the cores itself, one chunk per thread.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
