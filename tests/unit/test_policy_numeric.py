"""Number rules of the policy language (policy.md 6-8.1, conformance items 2-4)."""
import math

import pytest

from paysim_lab.errors import PolicyRuntimeError
from paysim_lab.policy import compile_policy
from paysim_lab.policy import numeric as N

pytestmark = pytest.mark.filterwarnings("ignore::paysim_lab.errors.PolicyWarning")

NAN = float("nan")
INF = float("inf")


def cond_policy(expr, profile="extended"):
    """A payment tree that releases when ``expr`` holds (evaluated on a plain dict)."""
    doc = {"version": "1.0", "policy_id": "t", "payment_tree": {
        "type": "condition", "node_id": "C", "condition": expr,
        "on_true": {"type": "action", "node_id": "T", "action": "Release"},
        "on_false": {"type": "action", "node_id": "F", "action": "Drop"}}}
    return compile_policy(doc, profile=profile, for_mapping=True)


def holds(op, l, r):
    cp = cond_policy({"op": op, "left": {"field": "balance"}, "right": {"field": "amount"}})
    return cp.payment({"balance": l, "amount": r}).action == "Release"


def compute(comp, ctx=None):
    """The float a computation evaluates to (via SetState's value in a bank tree)."""
    doc = {"version": "1.0", "policy_id": "t", "bank_tree": {
        "type": "action", "node_id": "S", "action": "SetState",
        "parameters": {"key": {"value": "bank_state_out"}, "value": {"compute": comp}}},
        "payment_tree": {"type": "action", "node_id": "P", "action": "Release"}}
    cp = compile_policy(doc, profile="simcash", for_mapping=True)
    return cp.bank(ctx or {})[0].value


# ---- comparisons (6.1) ------------------------------------------------------------------------

def test_ge_true_within_epsilon_and_lt_true_at_the_same_time():
    l, r = 1000.0 - 5e-10, 1000.0
    assert holds(">=", l, r) is True
    assert holds("<", l, r) is True
    assert holds("<=", r + 5e-10, r) is True
    assert holds(">", r + 5e-10, r) is True


def test_eq_and_ne_both_false_with_nan():
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert holds(op, NAN, 1.0) is False, op
        assert holds(op, 1.0, NAN) is False, op


def test_inf_vs_inf():
    assert holds("==", INF, INF) is False
    assert holds("!=", INF, INF) is False
    assert holds("<=", INF, INF) is True
    assert holds(">=", INF, INF) is True
    assert holds("<", INF, INF) is False
    assert holds(">", INF, INF) is False


def test_eq_tolerance_boundary():
    assert holds("==", 1.0, 1.0 + 5e-10) is True
    assert holds("==", 1.0, 1.0 + 2e-9) is False
    assert holds("!=", 1.0, 1.0 + 2e-9) is True


def test_comparison_with_constant_side():
    cp = cond_policy({"op": ">=", "left": {"field": "balance"}, "right": {"value": 100}})
    assert cp.payment({"balance": 100 - 5e-10}).action == "Release"
    assert cp.payment({"balance": 99.99}).action == "Drop"
    cp = cond_policy({"op": ">=", "left": {"value": 100}, "right": {"field": "balance"}})
    assert cp.payment({"balance": 100 + 5e-10}).action == "Release"


# ---- boolean operators (6.2) ----------------------------------------------------------------

def test_and_or_short_circuit_skips_errors():
    boom = {"op": ">", "left": {"compute": {"op": "/", "left": {"value": 1},
                                            "right": {"field": "balance"}}},
            "right": {"value": 0}}
    false = {"op": "<", "left": {"value": 1}, "right": {"value": 0}}
    true = {"op": ">", "left": {"value": 1}, "right": {"value": 0}}
    cp = cond_policy({"op": "and", "conditions": [false, boom]})
    assert cp.payment({"balance": 0}).action == "Drop"
    cp = cond_policy({"op": "or", "conditions": [true, boom]})
    assert cp.payment({"balance": 0}).action == "Release"
    cp = cond_policy({"op": "or", "conditions": [false, boom]})
    with pytest.raises(PolicyRuntimeError) as e:
        cp.payment({"balance": 0})
    assert e.value.kind == "DivisionByZero"


def test_empty_and_is_true_empty_or_is_false_and_not():
    assert cond_policy({"op": "and", "conditions": []}).payment({}).action == "Release"
    assert cond_policy({"op": "or", "conditions": []}).payment({}).action == "Drop"
    cp = cond_policy({"op": "not", "condition": {"op": "==", "left": {"field": "balance"},
                                                 "right": {"value": 1}}})
    assert cp.payment({"balance": 1}).action == "Drop"
    assert cp.payment({"balance": 2}).action == "Release"


# ---- computations (8) ----------------------------------------------------------------------

def test_division_uses_machine_epsilon():
    assert compute({"op": "/", "left": {"value": 1}, "right": {"field": "bank_state_d"}},
                   {"bank_state_d": 1e-12}) == 1e12
    with pytest.raises(PolicyRuntimeError) as e:
        compute({"op": "/", "left": {"value": 1}, "right": {"field": "bank_state_d"}},
                {"bank_state_d": 1e-17})
    assert e.value.kind == "DivisionByZero"
    assert e.value.detail == "Division by zero in computation"


def test_division_overflow_gives_inf_not_error():
    assert compute({"op": "/", "left": {"value": 1e308}, "right": {"field": "bank_state_d"}},
                   {"bank_state_d": 1e-10}) == INF


def test_div0_returns_default_below_1e9():
    c = {"op": "div0", "numerator": {"value": 5}, "denominator": {"field": "bank_state_d"},
         "default": {"value": -1}}
    assert compute(c, {"bank_state_d": 1e-10}) == -1.0
    assert compute(c, {"bank_state_d": 2.0}) == 2.5
    # default errors only surface when it is used
    c2 = dict(c, default={"field": "balance"})
    assert compute(c2, {"bank_state_d": 2.0}) == 2.5
    with pytest.raises(PolicyRuntimeError) as e:
        compute(c2, {"bank_state_d": 0.0})
    assert e.value.kind == "FieldNotFound"
    assert e.value.detail == "Field not found: balance"


X = {"field": "bank_state_x"}


def test_round_half_away_from_zero():
    for x, want in ((2.5, 3.0), (-2.5, -3.0), (0.49999999999999994, 0.0), (1.5, 2.0),
                    (-0.5, -1.0), (4503599627370497.0, 4503599627370497.0)):
        assert compute({"op": "round", "value": X}, {"bank_state_x": x}) == want
    assert N.round_half_away(-0.4) == 0.0 and math.copysign(1, N.round_half_away(-0.4)) == -1
    assert math.isnan(N.round_half_away(NAN))


def test_max_min_ignore_nan():
    nan_x = {"bank_state_x": NAN}
    assert compute({"op": "max", "values": [X, {"value": 3}, {"value": 7}]}, nan_x) == 7.0
    assert compute({"op": "max", "values": [X]}, nan_x) == -INF
    assert compute({"op": "min", "values": [X, {"value": 2}]}, nan_x) == 2.0
    assert compute({"op": "min", "values": [X]}, nan_x) == INF


def test_empty_value_list_is_a_runtime_error():
    with pytest.raises(PolicyRuntimeError) as e:
        compute({"op": "max", "values": []})
    assert (e.value.kind, e.value.detail) == ("EmptyValueList",
                                              "Empty value list for min/max computation")


def test_clamp_rules():
    c = {"op": "clamp", "value": X, "min": {"field": "bank_state_lo"},
         "max": {"field": "bank_state_hi"}}

    def clamp(x, lo, hi):
        return compute(c, {"bank_state_x": x, "bank_state_lo": lo, "bank_state_hi": hi})
    assert clamp(5, 10, 3) == 3.0        # lo > hi -> hi
    assert clamp(NAN, 10, 3) == 3.0      # NaN -> min(lo, hi)
    assert clamp(NAN, 1, 3) == 1.0
    assert clamp(2, 1, 3) == 2.0
    assert clamp(0, 1, 3) == 1.0


def test_unary_ops_and_arithmetic():
    assert compute({"op": "ceil", "value": {"value": 1.2}}) == 2.0
    assert compute({"op": "floor", "value": {"value": -1.2}}) == -2.0
    assert compute({"op": "abs", "value": {"value": -3.5}}) == 3.5
    assert compute({"op": "ceil", "value": X}, {"bank_state_x": INF}) == INF
    assert math.isnan(compute({"op": "floor", "value": X}, {"bank_state_x": NAN}))
    assert compute({"op": "-", "left": {"value": 10}, "right": {"value": 2.5}}) == 7.5
    assert compute({"op": "*", "left": {"value": 1e308}, "right": {"value": 10}}) == INF
    assert math.isnan(compute({"op": "-", "left": X, "right": X}, {"bank_state_x": INF}))


def test_literal_booleans_are_numbers_in_expressions():
    assert compute({"op": "+", "left": {"value": True}, "right": {"value": False}}) == 1.0


def test_string_literal_in_computation_is_a_runtime_error():
    with pytest.warns(UserWarning):
        doc = {"version": "1.0", "policy_id": "t", "bank_tree": {
            "type": "action", "node_id": "S", "action": "SetState", "parameters": {
                "key": {"value": "bank_state_x"},
                "value": {"compute": {"op": "+", "left": {"value": "3"},
                                      "right": {"value": 1}}}}}}
        cp = compile_policy(doc, for_mapping=True)
    with pytest.raises(PolicyRuntimeError) as e:
        cp.bank({})
    assert (e.value.kind, e.value.detail) == ("InvalidLiteralType",
                                              "Invalid literal type: expected number")


# ---- conversions (8.1) ------------------------------------------------------------------------

def test_to_i64():
    assert N.to_i64(NAN) == 0
    assert N.to_i64(2.0**63) == 2**63 - 1
    assert N.to_i64(-(2.0**63)) == -(2**63)
    assert N.to_i64(-INF) == -(2**63)
    assert N.to_i64(-2.9) == -2
    assert N.to_i64(12345.99) == 12345


def test_to_count():
    assert N.to_count(2.9) == 2
    assert N.to_count(1.99) == 1
    assert N.to_count(-3.0) == 0
    assert N.to_count(NAN) == 0
    assert N.to_count(0.5) == 0
    assert N.to_count(2.0**64) == 2**64 - 1
    assert N.to_count(INF) == 2**64 - 1


def test_to_u8():
    assert N.to_u8(-1.0) == 0
    assert N.to_u8(255.9) == 255
    assert N.to_u8(256.0) == 255
    assert N.to_u8(NAN) == 0
    assert N.to_u8(7.99) == 7
