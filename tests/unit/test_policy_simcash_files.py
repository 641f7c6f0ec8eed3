"""SimCash's published policy files load unchanged and decide as documented (policy.md 14-15).

Reads the reference files in ../shared/simcash (never copied into the repository); every test
here is skipped when that folder is absent.
"""
import itertools
import warnings
from pathlib import Path

import pytest

from paysim_lab.engine.decisions import EvalEnv
from paysim_lab.engine.state import Agent, Transaction, World
from paysim_lab.errors import PolicyWarning
from paysim_lab.policy import (BUILTIN_FILES, builtin_document, check_feature_toggles,
                               load_policy)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
POLICIES = SHARED / "simcash" / "simulator" / "policies"
FILES = sorted(POLICIES.glob("*.json")) + sorted((POLICIES / "test_policies").glob("*.json"))
needs_shared = pytest.mark.skipif(not POLICIES.is_dir(),
                                  reason="reference policies in ../shared/simcash are absent")
pytestmark = [needs_shared, pytest.mark.filterwarnings("ignore::paysim_lab.errors.PolicyWarning")]


def load(name, profile="simcash"):
    path = POLICIES / name if (POLICIES / name).exists() else POLICIES / "test_policies" / name
    return load_policy(path, profile=profile)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES] or None)
@pytest.mark.parametrize("profile", ["simcash", "extended"])
def test_every_reference_file_validates_and_compiles(path, profile):
    p = load_policy(path, profile=profile)
    cp = p.compiled
    assert cp.policy_id == p.policy_id
    assert cp.has_payment_tree


def test_reference_folder_has_the_documented_files():
    names = {p.name for p in FILES}
    assert len(names) == 29 + 18
    assert {"fifo.json", "target2_priority_escalator.json",
            "test_zero_deadline.json"} <= names


def test_lints_of_known_files():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        load("time_aware_test.json")
    msgs = [str(x.message) for x in w if issubclass(x.category, PolicyWarning)]
    assert len(msgs) == 2 and all("'hold_reason'" in m for m in msgs)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        load("sophisticated_adaptive_bank.json")
    assert any("WrongTreeAction: Hold is not a bank-tree action" in str(x.message) for x in w)


# (file, context that releases, context that holds, hold reason)
TEST_POLICY_CASES = [
    ("test_always_release.json", {}, None, None),
    ("test_always_release_with_credit.json", {}, None, None),
    ("test_always_hold.json", None, {}, 'Custom("TestPolicy")'),
    ("test_affordability_only.json", {"effective_liquidity": 500, "remaining_amount": 500},
     {"effective_liquidity": 499, "remaining_amount": 500}, 'Custom("Unaffordable")'),
    ("test_exactly_at_threshold.json",
     {"effective_liquidity": 500 - 5e-10, "remaining_amount": 500},
     {"effective_liquidity": 499.99, "remaining_amount": 500}, 'Custom("BelowThreshold")'),
    ("test_buffer_only.json", {"effective_liquidity": 1000, "remaining_amount": 500},
     {"effective_liquidity": 999, "remaining_amount": 500}, 'Custom("WeakBuffer")'),
    ("test_compute_multiply.json", {"effective_liquidity": 1000, "remaining_amount": 500},
     {"effective_liquidity": 999, "remaining_amount": 500}, 'Custom("BelowMultiplyThreshold")'),
    ("test_compute_divide.json", {"effective_liquidity": 250, "remaining_amount": 500},
     {"effective_liquidity": 249, "remaining_amount": 500}, 'Custom("BelowDivideThreshold")'),
    ("test_compute_max.json", {"effective_liquidity": 500000, "remaining_amount": 100},
     {"effective_liquidity": 499999, "remaining_amount": 100}, 'Custom("BelowMaxThreshold")'),
    ("test_compute_min.json", {"effective_liquidity": 100, "remaining_amount": 100},
     {"effective_liquidity": 99, "remaining_amount": 100}, 'Custom("BelowMinThreshold")'),
    ("test_buffer_then_time.json",
     {"effective_liquidity": 10, "remaining_amount": 500, "day_progress_fraction": 0.51},
     {"effective_liquidity": 10, "remaining_amount": 500, "day_progress_fraction": 0.5},
     'Custom("NoBufferEarlyDay")'),
    ("test_eod_only.json", {"is_eod_rush": 1}, {"is_eod_rush": 0}, 'Custom("NotEOD")'),
    ("test_eod_and_liquidity.json",
     {"is_eod_rush": 1, "effective_liquidity": 5, "remaining_amount": 5},
     {"is_eod_rush": 1, "effective_liquidity": 4, "remaining_amount": 5},
     'Custom("ConditionNotMet")'),
    ("test_urgent_or_affordable.json",
     {"ticks_to_deadline": 3, "effective_liquidity": 0, "remaining_amount": 5},
     {"ticks_to_deadline": 4, "effective_liquidity": 0, "remaining_amount": 5},
     'Custom("BothConditionsFalse")'),
    ("test_time_of_day_only.json", {"day_progress_fraction": 0.6},
     {"day_progress_fraction": 0.5}, 'Custom("EarlyDay")'),
    ("test_urgency_only.json", {"ticks_to_deadline": 3}, {"ticks_to_deadline": 4},
     'Custom("NotUrgent")'),
    ("test_zero_deadline.json", {"ticks_to_deadline": 0}, {"ticks_to_deadline": -1},
     'Custom("DeadlineNotImmediate")'),
]


@pytest.mark.parametrize("name, release_ctx, hold_ctx, reason", TEST_POLICY_CASES,
                         ids=[c[0] for c in TEST_POLICY_CASES])
def test_test_policies_give_their_documented_decision(name, release_ctx, hold_ctx, reason):
    p = load(name)
    if release_ctx is not None:
        assert p.decide("payment", release_ctx).action == "Release"
    if hold_ctx is not None:
        d = p.decide("payment", hold_ctx)
        assert (d.action, d.reason) == ("Hold", reason)
    assert p.decide("strategic", {}).action == "HoldCollateral"
    assert p.decide("end_of_tick", {}).action == "HoldCollateral"


def test_negative_balance_policy_on_an_engine_world():
    p = load("test_negative_balance.json")
    w = World(ticks_per_day=100, num_days=1)
    a = Agent("A", 0, opening_balance=-100, unsecured_cap=1000)
    w.add_agent(a)
    tx = Transaction("tx_1", 1, "A", "B", 800, 0, 10, 5)
    env = EvalEnv(w, a, tx, "payment")
    assert p.decide("payment", env).action == "Release"      # 1000 + 2 * (-100) = 800
    tx.remaining_amount = 801
    assert p.decide("payment", env).reason == 'Custom("InsufficientEffectiveLiquidity")'


def test_priority_escalator_resubmits_in_queue2():
    p = load("target2_priority_escalator.json")
    ctx = {"is_in_queue2": 1, "ticks_to_deadline": 30, "effective_liquidity": 0,
           "remaining_amount": 1}
    d = p.decide("payment", ctx)
    assert (d.action, d.rtgs_priority) == ("ResubmitToRtgs", "Urgent")
    assert p.decide("payment", dict(ctx, ticks_to_deadline=10)).rtgs_priority == "HighlyUrgent"
    assert p.decide("payment", dict(ctx, ticks_to_deadline=31)).action == "Hold"
    assert p.compiled.uses_queue2_actions is True


def test_priority_flag_and_custom_reason_of_reference_files():
    p = load("efficient_splitting.json")
    [node] = [n for n in _action_nodes(p.payment_tree)
              if "priority_flag" in n.get("parameters", {})]
    alone = load_policy({"version": "1.0", "policy_id": "x", "payment_tree": node})
    assert alone.decide("payment", {}).priority_flag == 10
    momentum = load("momentum_investment_bank.json")
    [hold] = [n for n in _action_nodes(momentum.payment_tree)
              if n["action"] == "Hold" and n["parameters"]["reason"]["value"] == "Custom"]
    alone = load_policy({"version": "1.0", "policy_id": "x", "payment_tree": hold})
    assert alone.decide("payment", {}).reason == 'Custom("Custom")'


def _action_nodes(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.get("type") == "action":
            yield n
        else:
            stack += [n["on_true"], n["on_false"]]


# ---- the bundled built-ins decide like SimCash's own files ------------------------------------

BUILTIN_PARAMS = {"Fifo": {}, "Deadline": {"urgency_threshold": 5},
                  "LiquidityAware": {"target_buffer": 50000, "urgency_threshold": 5},
                  "LiquiditySplitting": {"max_splits": 4, "min_split_amount": 10000},
                  "MockSplitting": {"num_splits": 2}}


def _grid():
    for tick, deadline, balance, cap, amount in itertools.product(
            (10, 20), (8, 10, 13, 15, 16, 40), (-5000, 0, 30000, 90000, 160000), (0, 20000),
            (20000, 40000, 100000)):
        used = max(0, -balance)
        yield {"current_tick": tick, "deadline_tick": deadline, "ticks_to_deadline":
               deadline - tick, "balance": balance, "effective_liquidity": balance + cap - used,
               "amount": amount, "remaining_amount": amount}


@pytest.mark.parametrize("type_name", list(BUILTIN_FILES))
def test_builtin_trees_decide_like_the_reference_files(type_name):
    ours = load_policy(builtin_document(type_name, BUILTIN_PARAMS[type_name]), profile="simcash")
    theirs_doc = load(BUILTIN_FILES[type_name]).model_dump()
    theirs_doc["parameters"].update({k: float(v) for k, v in BUILTIN_PARAMS[type_name].items()})
    theirs = load_policy(theirs_doc, profile="simcash")
    assert ours.policy_id == theirs.policy_id
    assert set(ours.parameters) == set(theirs.parameters)
    for ctx in _grid():
        a, b = ours.decide("payment", ctx), theirs.decide("payment", ctx)
        fields = ("action", "reason", "num_splits", "priority_flag", "timed_for_tick")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], ctx


def test_toggle_categories_of_a_reference_file():
    doc = load("cautious_liquidity_preserver.json").model_dump()
    assert check_feature_toggles(doc, include=["PaymentAction", "ComparisonOperator"]) == [
        "AgentField", "BinaryArithmetic", "CollateralAction", "CollateralField", "CostField",
        "LogicalOperator", "NaryArithmetic", "QueueField", "TimeField", "TransactionField"]
    assert check_feature_toggles(doc, exclude=["CostField", "StateRegisterField"]) == [
        "CostField"]
