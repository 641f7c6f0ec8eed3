"""The run's random number generator and the samplers built on it (engine.md section 2).

xorshift64* with the exact recipes of the reference engine, so arrival streams match it bit
for bit. Only arrival generation draws from it.

>>> g = Rng(42)
>>> g.next_u64()
6255019084209693600
"""
from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from itertools import accumulate

_MASK = (1 << 64) - 1
_MULT = 0x2545F4914F6CDD1D
_TWO_PI = 2.0 * math.pi
_MIN_NORMAL = 2.2250738585072014e-308
_I64_MAX = 2**63 - 1


class Rng:
    """xorshift64* generator; seed 0 behaves as 1."""

    __slots__ = ("state",)

    def __init__(self, seed: int):
        if seed < 0 or seed > _MASK:
            raise ValueError(f"rng_seed must be between 0 and 2**64-1, got {seed}")
        self.state = seed if seed != 0 else 1

    def next_u64(self) -> int:
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & _MASK
        x ^= x >> 27
        self.state = x
        return (x * _MULT) & _MASK

    def next_f64(self) -> float:
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def range(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi) with the reference's modulo bias."""
        if lo >= hi:
            raise ValueError(f"empty range [{lo}, {hi})")
        return lo + self.next_u64() % (hi - lo)


def round_half_away(x: float) -> int:
    """Round half away from zero on a finite double (engine.md 0.1), exact.

    >>> round_half_away(2.5), round_half_away(-2.5), round_half_away(0.49999999999999994)
    (3, -3, 0)
    """
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return int(r) if x >= 0 else -int(r)


def poisson(g: Rng, lam: float) -> int:
    """Knuth's method; lambda <= 0 draws nothing."""
    if not lam > 0:
        return 0
    limit = math.exp(-lam)
    k = 0
    p = 1.0
    while True:
        k += 1
        p *= g.next_f64()
        if p <= limit:
            return k - 1


def _ln(u: float) -> float:
    return math.log(u) if u > 0.0 else -math.inf


def standard_normal(g: Rng) -> float:
    u1 = g.next_f64()
    u2 = g.next_f64()
    return math.sqrt(-2.0 * _ln(u1)) * math.cos(_TWO_PI * u2)


def _finite_positive_to_amount(raw: float, fallback: int) -> int:
    if math.isfinite(raw) and raw > 0:
        v = round_half_away(raw)
        return v if v < _I64_MAX else _I64_MAX
    return fallback


def uniform_amount(g: Rng, lo: int, hi: int) -> int:
    return g.range(lo, hi + 1)


def normal_amount(g: Rng, mean: int, std_dev: int) -> int:
    z = standard_normal(g)
    raw = float(mean) + float(std_dev) * z
    return max(_finite_positive_to_amount(raw, 1), 1)


def lognormal_amount(g: Rng, mean: float, std_dev: float) -> int:
    """Mean and std_dev are moments of the amount in cents (engine.md 2.2, [DOC≠CODE])."""
    if mean <= 0 or std_dev < 0:
        return 1
    v = std_dev * std_dev
    sigma2 = math.log(1.0 + v / (mean * mean))
    sigma = math.sqrt(sigma2)
    mu = math.log(mean) - sigma2 / 2.0
    z = standard_normal(g)
    raw = math.exp(mu + sigma * z)
    return max(_finite_positive_to_amount(raw, round_half_away(mean)), 1)


def exponential_amount(g: Rng, lam: float) -> int:
    u = g.next_f64()
    if u < _MIN_NORMAL:
        u = _MIN_NORMAL
    raw = -math.log(u) / lam
    return max(_finite_positive_to_amount(raw, 1), 1)


def categorical(g: Rng, values: list[int], weights: list[float]) -> int:
    if not values:
        return 5
    total = 0.0
    for w in weights:
        total += w
    if total <= 0:
        return values[0]
    t = g.next_f64() * total
    for i, w in enumerate(weights):
        t -= w
        if t <= 0:
            return min(values[i], 10)
    return min(values[-1], 10)


def uniform_priority(g: Rng, lo: int, hi: int) -> int:
    return min(g.range(lo, lo + (hi - lo + 1)), 10)


class ReceiverTable:
    """Precomputed receiver selection for one weight map (same result as :func:`weighted_choice`).

    When every candidate's weight is an integer-valued float (the common case: unlisted banks
    weigh 1.0), ``t - w0 - w1 - ...`` is computed exactly in floating point until it first
    drops to <= 0, so the sequential walk picks the first candidate whose integer prefix sum
    reaches ``t``: a bisection. Other weight maps fall back to the walk.
    """

    __slots__ = ("candidates", "weights", "prefix", "total")

    def __init__(self, candidates: list[str], weights: dict[str, float]):
        self.candidates = candidates
        self.weights = weights
        get = weights.get
        ws = [get(c, 1.0) for c in candidates]
        total = 0.0
        for w in ws:
            total += w
        self.total = total
        self.prefix = None
        if weights and total < 2.0**52:
            ints = [int(w) for w in ws]
            if ints == ws and min(ints) >= 0:   # every weight integer-valued (1.0 == 1)
                # 8 bytes an entry: a 5,000-bank system holds 5,000 tables of 4,999 entries
                self.prefix = array("q", accumulate(ints))

    def choose(self, g: Rng) -> str:
        if self.prefix is None:
            return weighted_choice(g, self.candidates, self.weights)
        t = g.next_f64() * self.total
        i = bisect_left(self.prefix, t)
        return self.candidates[i] if i < len(self.candidates) else self.candidates[-1]


def weighted_choice(g: Rng, candidates: list[str], weights: dict[str, float]) -> str:
    """Receiver selection (engine.md 2.4): unlisted candidates weigh 1.0."""
    if not weights:
        return candidates[g.range(0, len(candidates))]
    total = 0.0
    for c in candidates:
        total += weights.get(c, 1.0)
    t = g.next_f64() * total
    for c in candidates:
        t -= weights.get(c, 1.0)
        if t <= 0.0:
            return c
    return candidates[-1]
