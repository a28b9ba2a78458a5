"""bench/bars.toml, read by bench/bars.py: every bar once, shown as people read it, judged the right way round."""

import pytest

from bench import bars


def test_bars_read_both_ways_round():
    accuracy, latency = bars.BARS["reading.pen_digits"], bars.BARS["reading.read_one_pen_digit_ms"]
    assert accuracy.met(accuracy.at_least) and not accuracy.met(accuracy.at_least - 1e-4)
    assert latency.met(latency.at_most) and not latency.met(latency.at_most + 1e-3)


@pytest.mark.parametrize(("key", "text"), [
    ("card.mnist_accuracy", "≥ 99.60 % (aim 99.70 %; Flask app it replaces: 99.32 %)"),
    ("card.parity", "≤ 1e-4"),
    ("card.multiply_adds", "≤ 15 M (aim 8 M)"),
    ("card.npz_bytes", "≤ 1 MB (aim 400 KB)"),
    ("reading.touching_pixel_pairs", "≥ 97 % (aim 98.5 %)"),
    ("reading.pen_digits_rejected", "≤ 0.5 %"),
    ("browser.ready_ratio", "≤ 1.15x (aim 1.05x)"),
    ("personal.mnist_drop", "≤ 0.1 pt (aim 0.0 pt)"),
])
def test_a_bar_is_shown_as_the_issue_states_it(key, text):
    assert bars.BARS[key].text() == text


def test_the_issues_bars_are_all_there():
    """Issue 9's seven rows and its limits on multiply-adds and training time; issue 13's three, issue 10's
    five (its speed row, "page and CPython", holds two) and issue 11's eleven (its Lighthouse row holds
    three); besides the older ones."""
    by_issue = {}
    for bar in bars.BARS.values():
        by_issue[bar.issue] = by_issue.get(bar.issue, 0) + 1
    assert (by_issue[9], by_issue[13], by_issue[10], by_issue[11]) == (9, 3, 6, 11)


def test_verdicts_cover_the_figures_a_result_holds():
    results = {"single_digits": {"accuracy": 0.995}, "latency": {"to_mnist_plus_net_ms": 2.5}}
    assert bars.verdicts("reading", results) == {"canvas_digits": True, "to_mnist_plus_net_ms": False}


def test_a_malformed_bar_table_is_refused(tmp_path):
    bad = tmp_path / "bars.toml"
    bad.write_text('[reading.x]\nmeasure = "m"\nunit = "%"\nat_least = 0.9\nat_most = 1\n')
    with pytest.raises(ValueError, match="exactly one of at_least and at_most"):
        bars.load(bad)
    bad.write_text('[nowhere.x]\nmeasure = "m"\nunit = "%"\nat_least = 0.9\n')
    with pytest.raises(ValueError, match="names no known source"):
        bars.load(bad)


def test_a_bar_a_full_run_could_not_measure_is_named_not_dropped():
    results = {"fewer_errors": 0.5, "after_five_corrections": None, "mnist_drop": 0.0, "wrong_correction_changes": 0.0,
               "read_time_ratio": 1.05}
    passed = bars.verdicts("personal", results)
    assert "after_five_corrections" not in passed
    assert bars.unmeasured("personal", results) == ["after_five_corrections"]
    assert bars.said(passed, bars.unmeasured("personal", results)) == "4 of 4 bars met; not measured: after_five_corrections"
    assert bars.unmeasured("personal", results | {"after_five_corrections": 0.97}) == []
