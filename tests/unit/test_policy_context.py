"""Context field getters on a hand-built World (policy.md 10.2), exact values."""
import math

import pytest

from paysim_lab.engine.decisions import EvalEnv
from paysim_lab.engine.state import Agent, Penalty, Transaction, World
from paysim_lab.errors import PolicyRuntimeError
from paysim_lab.policy import FIELD_NAMES, compile_policy
from paysim_lab.policy.catalog import AGENT_FIELDS, TRANSACTION_FIELDS
from paysim_lab.policy.context import EvalFailure, context_values, getter

pytestmark = pytest.mark.filterwarnings("ignore::paysim_lab.errors.PolicyWarning")


class NoIter(list):
    """A list that refuses iteration: getters may use len() but must never scan."""

    def __iter__(self):
        raise AssertionError("a field getter scanned a queue or the agent list")


def make_world(tick=250, tpd=100):
    """Three banks, a Queue 1 of two payments for A, three payments in Queue 2."""
    w = World(ticks_per_day=tpd, num_days=5)
    w.tick = tick
    a = Agent("A", 0, opening_balance=-30_000, unsecured_cap=100_000)
    a.posted_collateral = 50_000
    a.collateral_haircut = 0.1
    b = Agent("B", 1, opening_balance=80_000, unsecured_cap=20_000)
    b.posted_collateral = 100_000
    b.max_collateral_capacity_cfg = 400_000
    c = Agent("C", 2, opening_balance=-120_000, unsecured_cap=100_000)
    c.posted_collateral = 50_000
    c.collateral_haircut = 0.1
    for ag in (a, b, c):
        w.add_agent(ag)
    t1 = Transaction("tx_1", 1, "A", "B", 40_000, arrival_tick=240, deadline_tick=255, priority=7)
    t2 = Transaction("tx_2", 2, "A", "C", 90_000, arrival_tick=252, deadline_tick=245, priority=3,
                     parent_id="tx_0")
    t2.remaining_amount = 60_000
    t2.mark_overdue(245)
    t2.rtgs_priority = "Urgent"
    a.queue1 = NoIter([t1, t2])
    a.queue1_value = 40_000 + 60_000
    a.q2_index_count = 2
    a.q2_index_nearest_deadline = 260
    a.sent_amount_total = 200_000
    a.settled_amount_total = 50_000
    a.state_registers = {"bank_state_mode": 2.0}
    w.queue2 = NoIter([object(), object(), object()])
    w.queue2_value = 123_456
    w.agent_list = NoIter(w.agent_list)
    w.costs.deadline_penalty = Penalty("rate", bps_per_event=25.0)
    return w, a, b, c, t1, t2


def field(name, env, kind="payment"):
    return getter(name, kind)(env)


def test_transaction_fields():
    w, a, b, c, t1, t2 = make_world()
    e1 = EvalEnv(w, a, t1, "payment")
    e2 = EvalEnv(w, a, t2, "payment")
    assert field("amount", e1) == 40000.0
    assert field("remaining_amount", e2) == 60000.0
    assert field("settled_amount", e2) == 30000.0
    assert field("arrival_tick", e1) == 240.0
    assert field("deadline_tick", e1) == 255.0
    assert field("priority", e1) == 7.0
    assert (field("is_split", e1), field("is_split", e2)) == (0.0, 1.0)
    assert (field("is_past_deadline", e1), field("is_past_deadline", e2)) == (0.0, 1.0)
    assert (field("is_overdue", e1), field("is_overdue", e2)) == (0.0, 1.0)
    assert (field("is_in_queue2", e1), field("is_in_queue2", e2)) == (0.0, 1.0)
    assert (field("overdue_duration", e1), field("overdue_duration", e2)) == (0.0, 5.0)
    assert (field("ticks_to_deadline", e1), field("ticks_to_deadline", e2)) == (5.0, -5.0)
    assert (field("queue_age", e1), field("queue_age", e2)) == (10.0, 0.0)
    assert field("cost_delay_this_tx_one_tick", e1) == 40000 * 0.0001
    assert field("cost_overdraft_this_amount_one_tick", e1) == 40000.0 * 0.001 / 10000.0


def test_liquidity_fields_negative_balance():
    w, a, *_ = make_world()
    e = EvalEnv(w, a, None, "bank")
    # coll_cap = floor(50000 * 0.9) = 45000; used = 30000
    assert field("balance", e, "bank") == -30000.0
    assert field("credit_limit", e, "bank") == 100000.0
    assert field("unsecured_cap", e, "bank") == 100000.0
    assert field("available_liquidity", e, "bank") == 115000.0
    assert field("credit_used", e, "bank") == 30000.0
    assert field("effective_liquidity", e, "bank") == 40000.0     # cap + 2 * balance
    assert field("credit_headroom", e, "bank") == 70000.0
    assert field("is_using_credit", e, "bank") == 1.0
    assert field("liquidity_buffer", e, "bank") == 0.0
    assert field("liquidity_pressure", e, "bank") == 1.0           # 1 - 0 / 120000
    assert field("is_overdraft_capped", e, "bank") == 1.0
    assert field("allowed_overdraft_limit", e, "bank") == 145000.0
    assert field("overdraft_headroom", e, "bank") == 115000.0
    assert field("overdraft_utilization", e, "bank") == 30000.0 / 145000.0
    assert field("required_collateral_for_usage", e, "bank") == 0.0
    assert field("excess_collateral", e, "bank") == 50000.0


def test_liquidity_fields_positive_balance_and_configured_capacity():
    w, a, b, *_ = make_world()
    e = EvalEnv(w, b, None, "bank")
    assert field("available_liquidity", e, "bank") == 80000.0 + 20000.0 + 98000.0
    assert field("effective_liquidity", e, "bank") == 100000.0
    assert field("is_using_credit", e, "bank") == 0.0
    assert field("liquidity_pressure", e, "bank") == 1.0 - 80000.0 / 200000.0
    assert field("max_collateral_capacity", e, "bank") == 400000.0
    assert field("remaining_collateral_capacity", e, "bank") == 300000.0
    assert field("collateral_utilization", e, "bank") == 0.25
    assert field("collateral_haircut", e, "bank") == 0.02


def test_collateral_requirement_when_credit_exceeds_cap():
    w, a, b, c, *_ = make_world()
    e = EvalEnv(w, c, None, "bank")
    assert field("required_collateral_for_usage", e, "bank") == float(math.ceil(20000 / 0.9))
    assert field("required_collateral_for_usage", e, "bank") == 22223.0
    assert field("excess_collateral", e, "bank") == 27777.0
    assert field("max_collateral_capacity", e, "bank") == 1_000_000.0   # 10 x cap
    assert field("remaining_collateral_capacity", e, "bank") == 950_000.0
    assert field("collateral_utilization", e, "bank") == 0.05


def test_queue_and_system_fields():
    w, a, *_ = make_world()
    e = EvalEnv(w, a, None, "bank")
    assert field("outgoing_queue_size", e, "bank") == 2.0
    assert field("queue1_total_value", e, "bank") == 100000.0
    assert field("queue1_liquidity_gap", e, "bank") == 0.0          # 100000 - 115000 < 0
    assert field("headroom", e, "bank") == 15000.0
    assert field("incoming_expected_count", e, "bank") == 0.0
    assert field("rtgs_queue_size", e, "bank") == 3.0
    assert field("queue2_size", e, "bank") == 3.0
    assert field("rtgs_queue_value", e, "bank") == 123456.0
    assert field("total_agents", e, "bank") == 3.0
    assert field("queue2_count_for_agent", e, "bank") == 2.0
    assert field("queue2_nearest_deadline", e, "bank") == 260.0
    assert field("ticks_to_nearest_queue2_deadline", e, "bank") == 10.0
    assert field("system_queue2_pressure_index", e, "bank") == 1.0 / (1.0 + math.exp(-0.2))
    a.queue1_value = 200_000
    assert field("queue1_liquidity_gap", e, "bank") == 85000.0
    assert field("headroom", e, "bank") == -85000.0


def test_queue2_index_sentinels_and_floor():
    w, a, *_ = make_world()
    e = EvalEnv(w, a, None, "bank")
    a.q2_index_nearest_deadline = None
    assert field("queue2_nearest_deadline", e, "bank") == 1.8446744073709552e19
    assert field("ticks_to_nearest_queue2_deadline", e, "bank") == math.inf
    a.q2_index_nearest_deadline = 240
    assert field("ticks_to_nearest_queue2_deadline", e, "bank") == 0.0
    w.queue2 = NoIter([])
    assert field("system_queue2_pressure_index", e, "bank") == 0.0


def test_time_fields():
    w, a, *_ = make_world(tick=250, tpd=100)
    e = EvalEnv(w, a, None, "bank")
    assert field("current_tick", e, "bank") == 250.0
    assert field("system_ticks_per_day", e, "bank") == 100.0
    assert field("system_current_day", e, "bank") == 2.0
    assert field("system_tick_in_day", e, "bank") == 50.0
    assert field("ticks_remaining_in_day", e, "bank") == 49.0
    assert field("day_progress_fraction", e, "bank") == 0.5
    assert field("expected_throughput_fraction_by_now", e, "bank") == 0.5
    assert field("is_eod_rush", e, "bank") == 0.0
    w.eod_rush_threshold = 0.5
    assert field("is_eod_rush", e, "bank") == 1.0
    w.tick = 299
    assert field("ticks_remaining_in_day", e, "bank") == 0.0
    assert field("day_progress_fraction", e, "bank") == 0.99


def test_throughput_fields():
    w, a, b, *_ = make_world()
    e = EvalEnv(w, a, None, "bank")
    assert field("my_throughput_fraction_today", e, "bank") == 0.25
    assert field("throughput_gap", e, "bank") == -0.25
    assert field("my_throughput_fraction_today", EvalEnv(w, b, None, "bank"), "bank") == 0.0


def test_cost_fields_and_penalty_argument_per_tree():
    w, a, b, c, t1, t2 = make_world()
    assert field("cost_overdraft_bps_per_tick", EvalEnv(w, a, None, "bank"), "bank") == 0.001
    assert field("cost_delay_per_tick_per_cent", EvalEnv(w, a, None, "bank"), "bank") == 0.0001
    assert field("cost_collateral_bps_per_tick", EvalEnv(w, a, None, "bank"), "bank") == 0.0002
    assert field("cost_split_friction", EvalEnv(w, a, None, "bank"), "bank") == 1000.0
    # deadline penalty: rate 25 bps of x; x = amount (payment), 0 (bank), 1 (collateral)
    assert field("cost_deadline_penalty", EvalEnv(w, a, t1, "payment")) == 100.0
    assert field("cost_deadline_penalty", EvalEnv(w, a, None, "bank"), "bank") == 0.0
    placeholder = Transaction("dummy", 0, "A", "DUMMY", 1, 250, 251, 5)
    assert field("cost_deadline_penalty", EvalEnv(w, a, placeholder, "collateral"),
                 "collateral") == 0.0
    w.costs.deadline_penalty = Penalty("rate", bps_per_event=10_000.0)
    assert field("cost_deadline_penalty", EvalEnv(w, a, placeholder, "collateral"),
                 "collateral") == 1.0
    assert field("cost_deadline_penalty", EvalEnv(w, a, None, "bank"), "bank") == 0.0
    # eod penalty: fixed 10000 everywhere; with a rate it uses remaining_amount
    assert field("cost_eod_penalty", EvalEnv(w, a, t2, "payment")) == 10000.0
    w.costs.eod_penalty = Penalty("rate", bps_per_event=10_000.0)
    assert field("cost_eod_penalty", EvalEnv(w, a, t2, "payment")) == 60000.0


def test_state_registers_and_unknown_names():
    w, a, *_ = make_world()
    e = EvalEnv(w, a, None, "bank")
    assert field("bank_state_mode", e, "bank") == 2.0
    assert field("bank_state_typo", e, "bank") == 0.0
    with pytest.raises(EvalFailure) as exc:
        field("cost_urgency", EvalEnv(w, a, None, "payment"))          # phantom
    assert exc.value.detail == "Field not found: cost_urgency"
    with pytest.raises(EvalFailure):
        field("amount", e, "bank")                                     # T field in bank tree
    assert getter("test_counter", "bank", registers=frozenset({"test_counter"}))(e) == 0.0
    a.state_registers["test_counter"] = 5.0
    assert getter("test_counter", "bank", registers=frozenset({"test_counter"}))(e) == 5.0
    assert getter("tick", "bank", aliases=True)(e) == 250.0


def test_every_listed_field_has_a_getter_that_never_scans():
    w, a, b, c, t1, t2 = make_world()
    for name in TRANSACTION_FIELDS + AGENT_FIELDS:
        value = field(name, EvalEnv(w, a, t1, "payment"))
        assert isinstance(value, float), name
    assert set(FIELD_NAMES["payment"]) == set(TRANSACTION_FIELDS) | set(AGENT_FIELDS)
    assert set(FIELD_NAMES["bank"]) == set(AGENT_FIELDS)


def test_context_values_lists_bank_fields_and_registers():
    w, a, *_ = make_world()
    vals = context_values(EvalEnv(w, a, None, "bank"))
    assert vals["balance"] == -30000.0
    assert vals["bank_state_mode"] == 2.0
    assert "amount" not in vals


def test_compiled_tree_on_engine_env():
    w, a, b, c, t1, t2 = make_world()
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": {
        "type": "condition", "node_id": "N1",
        "condition": {"op": ">=", "left": {"field": "effective_liquidity"},
                      "right": {"field": "remaining_amount"}},
        "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
        "on_false": {"type": "action", "node_id": "A2", "action": "Hold",
                     "parameters": {"reason": {"value": "NearDeadline"}}}}}
    cp = compile_policy(doc)
    d1 = cp.payment(EvalEnv(w, a, t1, "payment"))     # 40000 >= 40000
    assert (d1.action, d1.path) == ("Release", "N1(true) → A1")
    d2 = cp.payment(EvalEnv(w, a, t2, "payment"))     # 40000 < 60000, 5 ticks late
    assert (d2.action, d2.reason, d2.path) == ("Hold", "NearDeadline { ticks_remaining: 0 }",
                                               "N1(false) → A2")
    w.tick = 240
    a.balance = 500_000
    d3 = cp.payment(EvalEnv(w, a, t2, "payment"))
    assert d3.action == "Release"
    a.balance = -90_000
    d4 = cp.payment(EvalEnv(w, a, t1, "payment"))
    assert d4.reason == "NearDeadline { ticks_remaining: 15 }"


def test_phantom_field_fails_at_runtime_with_location():
    w, a, b, c, t1, t2 = make_world()
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": {
        "type": "condition", "node_id": "N1",
        "condition": {"op": ">", "left": {"field": "time_in_queue"}, "right": {"value": 3}},
        "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
        "on_false": {"type": "action", "node_id": "A2", "action": "Hold"}}}
    cp = compile_policy(doc, profile="simcash")
    with pytest.raises(PolicyRuntimeError) as e:
        cp.payment(EvalEnv(w, a, t1, "payment"))
    err = e.value
    assert (err.kind, err.detail, err.tree, err.node_id, err.path) == (
        "FieldNotFound", "Field not found: time_in_queue", "payment_tree", "N1", "N1")
    assert str(err) == ("payment_tree, node N1: FieldNotFound: Field not found: time_in_queue "
                        "(path: N1)")


# ---- floating-point operation order: SimCash's (both profiles) --------------------------------
def test_overdraft_cost_of_this_amount_divides_the_rate_first():
    w, a, *_ = make_world()
    tx = Transaction("tx_9", 9, "A", "B", 9, arrival_tick=240, deadline_tick=260, priority=5)
    w.costs.overdraft_bps_per_tick = 5.0
    value = field("cost_overdraft_this_amount_one_tick", EvalEnv(w, a, tx))
    # (bps / 10000) * amount, as the reference computes it; the other order gives 0.0045
    assert value == 0.0045000000000000005 == (5.0 / 10000.0) * 9
    assert value != 9 * 5.0 / 10000.0


def test_liquidity_pressure_sums_in_integers_then_converts():
    w, a, *_ = make_world()
    a.balance = 2 ** 53 + 1
    a.unsecured_cap = 1
    a.posted_collateral = 0
    value = field("liquidity_pressure", EvalEnv(w, a, None), "bank")
    # total = float(2**53 + 2) exactly; summing floats would give 2**53 and a pressure of 0.0
    assert value == 1.0 - float(2 ** 53 + 1) / float(2 ** 53 + 2) == 2.220446049250313e-16
