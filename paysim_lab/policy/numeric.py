"""Number rules of the policy language (policy.md sections 6-8.1).

Every value inside a tree is an IEEE double. These helpers reproduce the reference engine's
float semantics exactly, including the places where Python's built-ins differ: ``round`` is half
away from zero (Python's is banker's rounding), ``max``/``min`` ignore NaN operands (Python's
return whichever comes first) and float -> integer conversions saturate instead of raising.

>>> round_half_away(2.5), round_half_away(-2.5), round_half_away(0.49999999999999994)
(3.0, -3.0, 0.0)
>>> to_count(2.9), to_i64(float("nan")), to_u8(300.0)
(2, 0, 255)
"""
from __future__ import annotations

import math
import numbers

EPS = 1e-9                      # comparison and div0 tolerance
EPS64 = 2.220446049250313e-16   # machine epsilon: the `/` zero test
INF = math.inf
NEG_INF = -math.inf

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
_TWO_63 = 9.223372036854775808e18   # 2**63 as a float (exact)
_TWO_64 = 1.8446744073709551616e19  # 2**64 as a float (exact)

# "no Queue 2 deadline" sentinel of the queue2_nearest_deadline field
NO_DEADLINE = float(U64_MAX)


def cmp_eq(l: float, r: float) -> bool:
    """``==`` with tolerance: NaN or inf-inf compare unequal."""
    return abs(l - r) < EPS


def cmp_ne(l: float, r: float) -> bool:
    """``!=``: false for NaN operands too (the difference is NaN)."""
    return abs(l - r) >= EPS


def cmp_lt(l: float, r: float) -> bool:
    return l < r


def cmp_le(l: float, r: float) -> bool:
    return l <= r or abs(l - r) < EPS


def cmp_gt(l: float, r: float) -> bool:
    return l > r


def cmp_ge(l: float, r: float) -> bool:
    return l >= r or abs(l - r) < EPS


COMPARATORS = {"==": cmp_eq, "!=": cmp_ne, "<": cmp_lt, "<=": cmp_le, ">": cmp_gt, ">=": cmp_ge}


def fmax(a: float, b: float) -> float:
    """Two-operand max that returns the other operand when one is NaN."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a > b else b


def fmin(a: float, b: float) -> float:
    """Two-operand min that returns the other operand when one is NaN."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a < b else b


def max_of(values) -> float:
    """Running max from -inf, replaced only by a strictly greater operand (NaN never wins)."""
    best = NEG_INF
    for v in values:
        if v > best:
            best = v
    return best


def min_of(values) -> float:
    best = INF
    for v in values:
        if v < best:
            best = v
    return best


def clamp(value: float, lo: float, hi: float) -> float:
    """``min(max(value, lo), hi)`` with NaN-ignoring max/min: lo > hi gives hi."""
    return fmin(fmax(value, lo), hi)


def round_half_away(x: float) -> float:
    """Nearest integer, halves away from zero; exact for every double (no ``x + 0.5``)."""
    if x != x or x in (INF, NEG_INF):
        return x
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:    # exact: a and r are within 1 of each other
        r += 1
    return math.copysign(float(r), x)


def fceil(x: float) -> float:
    if x != x or x in (INF, NEG_INF):
        return x
    return float(math.ceil(x))


def ffloor(x: float) -> float:
    if x != x or x in (INF, NEG_INF):
        return x
    return float(math.floor(x))


def to_i64(x: float) -> int:
    """Truncate toward zero, NaN -> 0, saturating at the signed 64-bit range."""
    if x != x:
        return 0
    if x >= _TWO_63:
        return I64_MAX
    if x <= -_TWO_63:
        return I64_MIN
    return int(x)


def to_count(x: float) -> int:
    """Unsigned conversion: NaN or x <= 0 -> 0, saturating at 2**64 - 1."""
    if x != x or x <= 0:
        return 0
    if x >= _TWO_64:
        return U64_MAX
    return int(x)


def to_u8(x: float) -> int:
    if x != x or x < 0:
        return 0
    if x > 255:
        return 255
    return int(x)


def json_number(v) -> float:
    """A JSON number as a double, the way a JSON parser reading into f64 would.

    Integers too large for a double become +-inf (Python's float() raises instead).
    """
    try:
        return float(v)
    except OverflowError:
        return INF if v > 0 else NEG_INF


def is_json_number(v) -> bool:
    """True for real numbers that are not booleans (JSON true/false are not numbers).

    Accepts numpy scalars too, so notebook users can pass them in dicts.
    """
    return isinstance(v, numbers.Real) and not isinstance(v, bool)
