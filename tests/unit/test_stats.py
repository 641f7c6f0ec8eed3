"""Cost statistics against hand computation."""
from __future__ import annotations

import math

import pytest

from paysim_lab.experiments import stats


def test_summary_mean_sd_and_t_interval_by_hand():
    s = stats.summarize([100, 200, 300, 400], method="t")
    # mean 250; squared deviations 22500 + 2500 + 2500 + 22500 = 50000; sd = sqrt(50000 / 3)
    assert s["n"] == 4
    assert s["mean"] == 250.0
    assert s["sd"] == pytest.approx(math.sqrt(50000 / 3))
    half = 3.182446 * math.sqrt(50000 / 3) / 2          # t(0.975, 3 df) from a table
    assert s["ci_low"] == pytest.approx(250 - half, abs=1e-3)
    assert s["ci_high"] == pytest.approx(250 + half, abs=1e-3)


def test_bootstrap_interval_of_two_points_spans_both():
    # Resampled means of (0, 10) are 0, 5 or 10 with probabilities 1/4, 1/2, 1/4: the 2.5% and
    # 97.5% percentiles of 2000 of them are 0 and 10.
    assert stats.mean_interval([0, 10]) == (0.0, 10.0)


def test_bootstrap_interval_is_reproducible_and_inside_the_data():
    xs = [3, 9, 4, 120, 7, 5, 6, 8, 2, 11]
    low, high = stats.mean_interval(xs)
    assert (low, high) == stats.mean_interval(xs)
    assert min(xs) <= low < sum(xs) / len(xs) < high <= max(xs)
    assert stats.mean_interval(xs, seed=1) != (low, high)


def test_degenerate_and_single_values():
    assert stats.mean_interval([7, 7, 7]) == (7.0, 7.0)
    one = stats.summarize([5])
    assert one["mean"] == 5.0 and math.isnan(one["sd"]) and math.isnan(one["ci_low"])


def test_paired_difference_by_hand():
    a, b = [300, 250, 100, 400], [200, 250, 150, 100]
    d = stats.paired(a, b, method="t")
    # differences a - b: 100, 0, -50, 300 -> mean 87.5; squared deviations sum to 71875
    assert d["mean_a"] == 262.5 and d["mean_b"] == 175.0
    assert d["mean_diff"] == 87.5
    assert d["sd_diff"] == pytest.approx(math.sqrt(71875 / 3))
    half = 3.182446 * math.sqrt(71875 / 3) / 2
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(87.5 - half, abs=1e-3),
                                           pytest.approx(87.5 + half, abs=1e-3))
    assert (d["a_wins"], d["b_wins"], d["ties"]) == (0.25, 0.5, 0.25)
    # the bootstrap interval of a paired comparison is that of the differences
    boot = stats.paired(a, b)
    assert (boot["ci_low"], boot["ci_high"]) == stats.mean_interval([100, 0, -50, 300])


@pytest.mark.parametrize("call, problem", [
    (lambda: stats.paired([1, 2], [1]), "one value per seed"),
    (lambda: stats.summarize([]), "empty"),
    (lambda: stats.summarize([1, None]), "missing value"),
    (lambda: stats.summarize([1, 2], confidence=1.5), "confidence"),
    (lambda: stats.summarize([1, 2], method="normal"), "method"),
])
def test_bad_input_is_named(call, problem):
    with pytest.raises(ValueError, match=problem):
        call()
