"""bench/against.py: today's reader against a commit's, in turns, in CPython and in Pyodide under
node (both run the loop of bench/fixtures/against.py)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def against(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.against", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_reader_against_its_own_commit_reads_the_same():
    done = against("HEAD", "--digits", "4", "--numbers", "2", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()[-2:]  # after what fetching MNIST may have said, on a fresh machine
    assert [line.split(":")[0] for line in lines] == ["one digit", "four digits"]
    assert all("the same readings" in line and line.endswith("x") for line in lines)


def test_an_unknown_commit_is_a_clear_message():
    done = against("no-such-commit-anywhere")
    assert done.returncode != 0
    assert "git cannot archive site/digits at 'no-such-commit-anywhere'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_commit_that_reads_differently_stops_the_comparison_unless_it_may_differ():
    # caeab24 predates the grouping that reads touching and wide digits differently (5573b20)
    args = ("caeab24", "--digits", "2", "--numbers", "12", "--rounds", "1", "--seed", "4")
    strict = against(*args)
    assert strict.returncode != 0 and "the readings differ" in strict.stderr and "--may-differ" in strict.stderr
    assert "Traceback" not in strict.stderr
    counted = against(*args, "--may-differ")
    assert counted.returncode == 0, counted.stderr
    one, four = counted.stdout.splitlines()[-2:]
    assert one.startswith("one digit: the same readings")
    assert four.startswith("four digits: ") and "of 12 drawings read differently" in four


def test_in_pyodide_readings_that_differ_are_one_clear_line_too():
    done = against("caeab24", "--digits", "2", "--numbers", "12", "--rounds", "1", "--seed", "4", "--pyodide")
    assert done.returncode != 0 and "the readings differ" in done.stderr and "--may-differ" in done.stderr
    assert "Traceback" not in done.stderr and "node failed" not in done.stderr
