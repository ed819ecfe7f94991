import math

import pytest

from latentgap.tools.bench import measure


def test_summarize_reports_median_and_spread():
    f = measure.summarize([3.0, 1.0, 2.0, 10.0], "s")
    assert (f["median"], f["min"], f["max"], f["n"], f["unit"]) == (2.5, 1.0, 10.0, 4, "s")
    assert f["q1"] <= f["median"] <= f["q3"] and f["samples"] == [3.0, 1.0, 2.0, 10.0]


def test_ratio_is_the_ratio_of_medians():
    a, b = measure.summarize([10, 20, 30], "x"), measure.summarize([1, 2, 100], "x")
    assert measure.ratio(a, b) == pytest.approx(20 / 2)
    assert math.isnan(measure.ratio(a, measure.summarize([0.0], "x")))


def test_per_second_and_repeat():
    calls = []
    times = measure.repeat(lambda: calls.append(1), reps=3, warmup=2)
    assert len(times) == 3 and len(calls) == 5 and all(t >= 0 for t in times)
    assert measure.per_second([0.5, 1.0, 2.0], 10, "images/s")["median"] == pytest.approx(10.0)


def test_power_law_exponent_recovers_the_exponent():
    b, a = measure.power_law_exponent([1e3, 1e4, 1e5], [2e-3 * n**1.3 for n in (1e3, 1e4, 1e5)])
    assert b == pytest.approx(1.3) and a == pytest.approx(2e-3)


def test_max_rss_is_positive():
    assert measure.max_rss_mb() > 1
