"""Statistics of run costs: mean, standard deviation, confidence intervals, paired differences.

Costs over seeds are heavy-tailed (a rare day with deadline or end-of-day penalties dominates
the mean), so every mean comes with an interval. Intervals are bootstrap intervals
(``scipy.stats.bootstrap``, percentile method by default) drawn with a fixed generator seed, so
the same costs always give the same interval; ``method="t"`` gives the Student-t interval.

>>> s = summarize([100, 200, 300, 400], method="t")
>>> s["mean"], round(s["sd"], 2), round(s["ci_low"], 1), round(s["ci_high"], 1)
(250.0, 129.1, 44.6, 455.4)
>>> d = paired([100, 250, 300], [150, 200, 300])
>>> d["mean_diff"], d["a_wins"], d["b_wins"], d["ties"]
(0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333)
"""
from __future__ import annotations

import math
from typing import Sequence

METHODS = ("percentile", "basic", "BCa", "t")
#: Default number of bootstrap resamples and generator seed of every interval.
N_RESAMPLES = 2000
CI_SEED = 0


def _check(confidence: float, method: str, n_resamples: int) -> None:
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")


def _values(values, name: str) -> list[float]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise ValueError(f"{name} holds a missing value (a failed run?)")
        out.append(float(v))
    if not out:
        raise ValueError(f"{name} is empty")
    return out


def mean_interval(values: Sequence[float], confidence: float = 0.95, method: str = "percentile",
                  n_resamples: int = N_RESAMPLES, seed: int = CI_SEED) -> tuple[float, float]:
    """(low, high) confidence interval of the mean of ``values``.

    One value: (nan, nan), nothing to resample. All values equal: (value, value), every
    resample has that mean. ``method``: ``"percentile"``, ``"basic"``, ``"BCa"`` (bootstrap,
    ``n_resamples`` resamples from a generator seeded with ``seed``) or ``"t"`` (Student t).

    >>> mean_interval([5, 5, 5])
    (5.0, 5.0)
    """
    _check(confidence, method, n_resamples)
    xs = _values(values, "values")
    n = len(xs)
    if n == 1:
        return (math.nan, math.nan)
    if all(x == xs[0] for x in xs):
        return (xs[0], xs[0])
    import numpy as np
    from scipy import stats
    if method == "t":
        mean = sum(xs) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
        return (mean - half, mean + half)
    res = stats.bootstrap((np.asarray(xs),), np.mean, n_resamples=n_resamples,
                          confidence_level=confidence, method=method, vectorized=True,
                          rng=np.random.default_rng(seed))
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def summarize(values: Sequence[float], confidence: float = 0.95, method: str = "percentile",
              n_resamples: int = N_RESAMPLES, seed: int = CI_SEED) -> dict:
    """``n``, ``mean``, ``sd`` (n - 1 denominator; nan for one value), ``ci_low``, ``ci_high``.

    >>> summarize([1, 3])["sd"]
    1.4142135623730951
    """
    xs = _values(values, "values")
    n = len(xs)
    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    low, high = mean_interval(xs, confidence, method, n_resamples, seed)
    return {"n": n, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high}


def paired(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
           method: str = "percentile", n_resamples: int = N_RESAMPLES,
           seed: int = CI_SEED) -> dict:
    """Paired comparison of costs ``a`` and ``b`` measured on the same seeds, in the same order.

    Differences are ``a - b`` (negative: ``a`` is cheaper). Returns ``n``, ``mean_a``,
    ``mean_b``, ``mean_diff``, ``sd_diff``, ``ci_low``/``ci_high`` (interval of the mean
    difference), and the shares of seeds where ``a`` costs less (``a_wins``), more
    (``b_wins``) or the same (``ties``).

    >>> paired([10, 20], [15, 20])["mean_diff"]
    -2.5
    """
    xs, ys = _values(a, "a"), _values(b, "b")
    if len(xs) != len(ys):
        raise ValueError(f"paired costs need one value per seed on both sides, got "
                         f"{len(xs)} and {len(ys)}")
    diffs = [x - y for x, y in zip(xs, ys)]
    s = summarize(diffs, confidence, method, n_resamples, seed)
    n = len(diffs)
    return {"n": n, "mean_a": sum(xs) / n, "mean_b": sum(ys) / n, "mean_diff": s["mean"],
            "sd_diff": s["sd"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "a_wins": sum(d < 0 for d in diffs) / n, "b_wins": sum(d > 0 for d in diffs) / n,
            "ties": sum(d == 0 for d in diffs) / n}


def resample_indices(n: int, n_resamples: int, seed: int = CI_SEED) -> list[list[int]]:
    """``n_resamples`` bootstrap resamples of ``range(n)`` (with replacement), reproducibly.

    >>> resample_indices(3, 2, seed=1) == resample_indices(3, 2, seed=1)
    True
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    return [sorted(int(i) for i in rng.integers(0, n, size=n)) for _ in range(n_resamples)]
