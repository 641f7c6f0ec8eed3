"""The small closures a compiled policy is made of: arithmetic and comparisons with their
constant-folding, ``and`` / ``or`` over conditions, and the closures that raise a policy's
runtime errors (missing or invalid parameters, division by zero)."""
from __future__ import annotations

from .context import EvalFailure
from .numeric import COMPARATORS, EPS, EPS64


# ---- runtime error helpers -------------------------------------------------------------------

def _invalid_param(detail: str) -> EvalFailure:
    return EvalFailure("InvalidActionParameter", f"Invalid action parameter type: {detail}")


def _missing_param(name: str) -> EvalFailure:
    return EvalFailure("MissingActionParameter", f"Missing required action parameter: {name}")


def _raiser(kind: str, detail: str):
    def fail(env):
        raise EvalFailure(kind, detail)
    return fail


def _failing(exc: EvalFailure):
    def fail(env):
        raise EvalFailure(exc.kind, exc.detail)
    return fail


def _constant(c: float):
    return lambda env: c


# ---- arithmetic and comparison builders -----------------------------------------------------

def _division_by_zero():
    return EvalFailure("DivisionByZero", "Division by zero in computation")


def _binary(op, lf, lc, rf, rc):
    if op == "+":
        if rc is not None:
            return lambda e: lf(e) + rc
        if lc is not None:
            return lambda e: lc + rf(e)
        return lambda e: lf(e) + rf(e)
    if op == "-":
        if rc is not None:
            return lambda e: lf(e) - rc
        if lc is not None:
            return lambda e: lc - rf(e)
        return lambda e: lf(e) - rf(e)
    if op == "*":
        if rc is not None:
            return lambda e: lf(e) * rc
        if lc is not None:
            return lambda e: lc * rf(e)
        return lambda e: lf(e) * rf(e)
    # "/": zero test with machine epsilon (policy.md 8), after both operands are evaluated
    if rc is not None and not (-EPS64 < rc < EPS64):
        return lambda e: lf(e) / rc

    def divide(e):
        l = lf(e)
        r = rf(e)
        if -EPS64 < r < EPS64:
            raise _division_by_zero()
        return l / r
    return divide


def _comparison(op, lf, lc, rf, rc):
    if rc is not None:
        if op == "==":
            return lambda e: abs(lf(e) - rc) < EPS
        if op == "!=":
            return lambda e: abs(lf(e) - rc) >= EPS
        if op == "<":
            return lambda e: lf(e) < rc
        if op == ">":
            return lambda e: lf(e) > rc
        if op == "<=":
            return lambda e: (l := lf(e)) <= rc or abs(l - rc) < EPS
        return lambda e: (l := lf(e)) >= rc or abs(l - rc) < EPS
    cmp = COMPARATORS[op]
    if lc is not None:
        return lambda e: cmp(lc, rf(e))
    if op == "<":
        return lambda e: lf(e) < rf(e)
    if op == ">":
        return lambda e: lf(e) > rf(e)
    if op == "==":
        return lambda e: abs(lf(e) - rf(e)) < EPS
    if op == "!=":
        return lambda e: abs(lf(e) - rf(e)) >= EPS
    if op == "<=":
        return lambda e: (l := lf(e)) <= (r := rf(e)) or abs(l - r) < EPS
    return lambda e: (l := lf(e)) >= (r := rf(e)) or abs(l - r) < EPS


def _all(fns):
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda e: a(e) and b(e)

    def all_of(e):
        for f in fns:
            if not f(e):
                return False
        return True
    return all_of


def _any(fns):
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda e: a(e) or b(e)

    def any_of(e):
        for f in fns:
            if f(e):
                return True
        return False
    return any_of
