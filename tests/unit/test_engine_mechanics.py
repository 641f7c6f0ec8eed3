"""Tick-loop mechanics with scripted policies: settlement, queues, splits, budgets, registers,
collateral and timers, with hand-computed balances and exact event fields (engine.md 5-7)."""
import pytest

from enginekit import RELEASE, ScriptedPolicy, engine_for, of_type, pay, run, two_banks
from paysim_lab.engine.decisions import Decision
from paysim_lab.errors import PolicyRuntimeError, SimulationError


def types(events, tick=None):
    return [e[0] for e in events if tick is None or e[1] == tick]


def test_release_settles_immediately_with_balances():
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 30_000, 0)]))
    events = run(eng, 1)
    assert types(events) == ["Arrival", "ScenarioEventExecuted", "RtgsSubmission",
                             "PolicySubmit", "RtgsImmediateSettlement"]
    s = of_type(events, "RtgsImmediateSettlement")[0]
    assert (s["sender_balance_before"], s["sender_balance_after"]) == (100_000, 70_000)
    assert eng.world.agents["B"].balance == 30_000


def test_unaffordable_payment_queues_then_settles_when_funds_arrive():
    cfg = two_banks(a_bal=10_000, b_bal=50_000,
                    scenario_events=[pay("A", "B", 30_000, 0), pay("B", "A", 25_000, 1)])
    # LSM off so the Queue 2 pass is what settles it
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    eng = engine_for(cfg)
    events = run(eng, 2)
    assert of_type(events, "QueuedRtgs") == [{"event_type": "QueuedRtgs", "tick": 0,
                                              "tx_id": "tx_00000000", "sender_id": "A"}]
    rel = of_type(events, "Queue2LiquidityRelease")
    assert rel == [{"event_type": "Queue2LiquidityRelease", "tick": 1, "tx_id": "tx_00000000",
                    "sender": "A", "receiver": "B", "amount": 30_000, "queue_wait_ticks": 1,
                    "release_reason": "liquidity_available"}]
    assert eng.world.agents["A"].balance == 10_000 + 25_000 - 30_000
    assert eng.world.queue2 == [] and eng.world.queue2_value == 0


def test_split_1001_into_3_event_order_and_friction():
    split = ScriptedPolicy(payment=lambda env: Decision("Split", path="S", num_splits=3))
    cfg = two_banks(scenario_events=[pay("A", "B", 1001, 0)])
    cfg["cost_rates"]["split_friction_cost"] = 700
    eng = engine_for(cfg, {"A": split})
    events = run(eng, 1)
    assert types(events)[2:] == ["Arrival", "RtgsSubmission"] * 3 + [
        "CostAccrual", "PolicySplit", "RtgsImmediateSettlement", "RtgsImmediateSettlement",
        "RtgsImmediateSettlement"]
    arrivals = of_type(events, "Arrival")[1:]
    assert [a["amount"] for a in arrivals] == [333, 333, 335]
    cost = of_type(events, "CostAccrual")[0]
    assert cost["split_friction_cost"] == 1400 and cost["total"] == 1400
    ps = of_type(events, "PolicySplit")[0]
    assert ps["child_ids"] == ["tx_00000001", "tx_00000002", "tx_00000003"]
    parent = eng.world.txs["tx_00000000"]
    assert parent.remaining_amount == 0 and parent.status == "Settled"
    assert eng.world.agents["A"].cost_run[6] == 1400


def test_split_below_two_is_a_runtime_error():
    bad = ScriptedPolicy(payment=lambda env: Decision("Split", path="S", num_splits=1))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 1000, 0)]), {"A": bad})
    with pytest.raises(PolicyRuntimeError, match="num_splits"):
        eng.tick()


def budget_bank(max_value, focus=None, per=None):
    return lambda env: Decision("SetReleaseBudget", path="B", max_value=max_value, focus=focus,
                                per_counterparty=per)


def test_budget_equality_allowed_then_exhausted():
    pol = ScriptedPolicy(payment=lambda env: RELEASE, bank=budget_bank(30_000))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 30_000, 0), pay("A", "B", 1, 0)]),
                     {"A": pol})
    events = run(eng, 1)
    holds = of_type(events, "PolicyHold")
    assert [(h["tx_id"], h["reason"]) for h in holds] == [("tx_00000001", "BudgetExhausted")]
    bs = of_type(events, "BankBudgetSet")
    assert bs[0]["max_value"] == 30_000 and bs[0]["focus_counterparties"] is None
    assert eng.world.agents["A"].release_budget.remaining == 0


def test_budget_focus_and_per_counterparty():
    cfg = two_banks(scenario_events=[pay("A", "B", 100, 0), pay("A", "C", 100, 0),
                                     pay("A", "B", 100, 0)])
    cfg["agents"].append({"id": "C", "opening_balance": 0})
    pol = ScriptedPolicy(payment=lambda env: RELEASE, bank=budget_bank(10_000, ["B"], 150))
    events = run(engine_for(cfg, {"A": pol}), 1)
    held = [h["tx_id"] for h in of_type(events, "PolicyHold")]
    assert held == ["tx_00000001", "tx_00000002"]  # C not in focus; second B over 150


def test_budget_survives_setstate_tick_and_resets_on_noaction():
    ticks = {0: budget_bank(100), 1: lambda env: Decision("SetState", path="S",
                                                          key="bank_state_x", value=1.0,
                                                          reason="r"),
             2: lambda env: Decision("NoAction")}
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         bank=lambda env: ticks[env.world.tick](env))
    cfg = two_banks(tpd=3, scenario_events=[pay("A", "B", 60, 0), pay("A", "B", 60, 1),
                                            pay("A", "B", 60, 2)], profile="simcash")
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 3)
    # simcash: tick 1 keeps tick 0's budget with 40 left: the 60 payment is blocked
    assert [(h["tick"], h["reason"]) for h in of_type(events, "PolicyHold")] == [
        (1, "BudgetExhausted")]
    assert eng.world.agents["A"].release_budget is None
    assert eng.world.agents["B"].balance == 180  # tick 2: both queued payments released


def test_registers_prefix_limit_and_eod_reset_order():
    def bank(env):
        t = env.world.tick
        if t < 11:
            return Decision("SetState", path="P", key=f"bank_state_{10 - t:02d}", value=float(t),
                            reason="fill")
        return Decision("SetState", path="P", key="nope", value=1.0, reason="bad")
    pol = ScriptedPolicy(payment=lambda env: RELEASE, bank=bank)
    cfg = two_banks(tpd=13, profile="simcash")
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 13)
    sets = of_type(events, "StateRegisterSet")
    writes = [s for s in sets if s["reason"] == "fill"]
    assert len(writes) == 10                      # the 11th distinct key is rejected
    resets = [s for s in sets if s["reason"] == "eod_reset"]
    assert [r["register_key"] for r in resets] == sorted(f"bank_state_{i:02d}" for i in range(1, 11))
    assert resets[0]["decision_path"] is None and resets[0]["new_value"] == 0.0
    assert eng.world.agents["A"].state_registers == {}


def test_setstate_on_last_tick_gives_two_events_same_tick():
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         bank=lambda env: [Decision("SetState", path="a", key="bank_state_m",
                                                    value=1.0, reason="one"),
                                           Decision("SetState", path="b", key="bank_state_m",
                                                    value=5.0, reason="two")])
    eng = engine_for(two_banks(tpd=1), {"A": pol})
    events = run(eng, 1)
    sets = of_type(events, "StateRegisterSet")
    assert [(s["old_value"], s["new_value"], s["reason"]) for s in sets] == [
        (0.0, 1.0, "one"), (1.0, 5.0, "two"), (5.0, 0.0, "eod_reset")]


def post(amount, timer=None, reason="UrgentLiquidityNeed"):
    return Decision("PostCollateral", path="C", amount=amount, reason=reason, timer=timer)


def test_post_above_capacity_aborts_with_details():
    pol = ScriptedPolicy(payment=lambda env: RELEASE, strategic=lambda env: post(600))
    cfg = two_banks(profile="simcash")  # extended posts what fits: test_profile_fixes.py
    cfg["agents"][0]["unsecured_cap"] = 50  # capacity 10 x 50 = 500
    with pytest.raises(SimulationError, match=r"agent A, tick 0: tried to post 600 collateral "
                                              r"but only has 500 capacity remaining"):
        engine_for(cfg, {"A": pol}).tick()


def test_timer_fires_after_k_ticks_with_guarded_amount():
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         strategic=lambda env: post(100_000, timer=3) if env.world.tick == 0
                         else Decision("HoldCollateral"))
    cfg = two_banks(profile="simcash")  # extended withdraws all: test_profile_fixes.py
    cfg["agents"][0]["max_collateral_capacity"] = 1_000_000
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 4)
    post_ev = of_type(events, "CollateralPost")[0]
    assert (post_ev["tick"], post_ev["amount"], post_ev["new_total"], post_ev["withdrawal_tick"],
            post_ev["layer"]) == (0, 100_000, 100_000, 3, "strategic")
    fired = of_type(events, "CollateralTimerWithdrawn")
    # guard: credit_used 0 + buffer 100, no unsecured cap -> ceil(100 / 0.98) = 103 kept
    assert [(f["tick"], f["amount"], f["new_total"], f["posted_at_tick"]) for f in fired] == [
        (3, 99_897, 103, 0)]


def test_timer_blocked_when_collateral_backs_overdraft():
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         strategic=lambda env: post(100_000, timer=2) if env.world.tick == 0
                         else Decision("HoldCollateral"))
    cfg = two_banks(a_bal=0, scenario_events=[pay("A", "B", 98_000, 1)])
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 3)
    blocked = of_type(events, "CollateralTimerBlocked")
    assert blocked == [{"event_type": "CollateralTimerBlocked", "tick": 2, "agent_id": "A",
                        "requested_amount": 100_000,
                        "reason": "No headroom available for withdrawal: credit_used=98000, "
                                  "allowed_limit=98000, headroom=0",
                        "original_reason": "UrgentLiquidityNeed", "posted_at_tick": 0}]


def test_end_of_tick_timer_zero_never_fires():
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         end_of_tick=lambda env: post(1000, timer=0) if env.world.tick == 0
                         else Decision("HoldCollateral"))
    eng = engine_for(two_banks(), {"A": pol})
    events = run(eng, 5)
    assert of_type(events, "CollateralTimerWithdrawn") == []
    assert eng.world.agents["A"].posted_collateral == 1000


def test_withdraw_has_no_headroom_check():
    seq = {0: post(50_000), 1: Decision("WithdrawCollateral", path="W", amount=80_000,
                                        reason="LiquidityRestored")}
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         strategic=lambda env: seq.get(env.world.tick, Decision("HoldCollateral")))
    cfg = two_banks(a_bal=0, scenario_events=[pay("A", "B", 40_000, 0)], profile="simcash")
    cfg["agents"][0]["max_collateral_capacity"] = 1_000_000
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 2)
    w = of_type(events, "CollateralWithdraw")[0]
    assert (w["amount"], w["new_total"], w["balance"]) == (50_000, 0, -40_000)
    assert eng.world.agents["A"].allowed_overdraft_limit == 0


def test_drop_removes_without_penalty():
    pol = ScriptedPolicy(payment=lambda env: Decision("Drop", path="D"))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 10, 0, deadline=1)]), {"A": pol})
    events = run(eng, 10)
    assert of_type(events, "PolicyDrop")[0]["reason"] == "Expired deadline"
    assert of_type(events, "TransactionWentOverdue") == []
    assert eng.world.txs["tx_00000000"].status == "Overdue"
    assert eng.world.agents["A"].queue1 == []


def test_reprioritize_reports_uncapped_value():
    pol = ScriptedPolicy(payment=lambda env: Decision("Reprioritize", path="R", new_priority=255))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 10, 0)], profile="simcash"),
                     {"A": pol})
    events = run(eng, 1)
    ev = of_type(events, "TransactionReprioritized")[0]
    assert (ev["old_priority"], ev["new_priority"]) == (5, 255)
    assert eng.world.txs["tx_00000000"].priority == 10


def test_timed_release_waits_silently():
    pol = ScriptedPolicy(payment=lambda env: Decision("Release", path="T", timed_for_tick=2))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 10, 0)]), {"A": pol})
    events = run(eng, 3)
    assert [e[1] for e in events if e[0] == "PolicySubmit"] == [2]
    assert types(events, 1) == []


def test_priority_flag_persists_even_if_blocked():
    pol = ScriptedPolicy(payment=lambda env: Decision("Release", path="R", priority_flag=10),
                         bank=budget_bank(0))
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 10, 0)]), {"A": pol})
    run(eng, 1)
    assert eng.world.txs["tx_00000000"].priority == 10


def test_missing_payment_tree_is_fatal():
    eng = engine_for(two_banks(scenario_events=[pay("A", "B", 10, 0)]),
                     {"A": ScriptedPolicy(bank=budget_bank(5))})
    with pytest.raises(PolicyRuntimeError, match="InvalidTree"):
        eng.tick()


def test_deferred_crediting_blocks_same_tick_recycling():
    cfg = two_banks(a_bal=30_000, b_bal=0, deferred_crediting=True,
                    scenario_events=[pay("A", "B", 30_000, 0), pay("B", "A", 30_000, 0)])
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    eng = engine_for(cfg)
    events = run(eng, 1)
    assert of_type(events, "QueuedRtgs")[0]["sender_id"] == "B"
    credit = of_type(events, "DeferredCreditApplied")
    assert credit == [{"event_type": "DeferredCreditApplied", "tick": 0, "agent_id": "B",
                       "amount": 30_000, "source_transactions": ["tx_00000000"]}]
    assert eng.world.agents["B"].balance == 30_000


def _queue2_policy(action_in_q2):
    """Release from Queue 1; in the Queue 2 pass (is_in_queue2) act as told."""
    def payment(env):
        if env.tx.rtgs_priority is None:
            return RELEASE
        return action_in_q2(env)
    return ScriptedPolicy(payment=payment, queue2=True)


def test_queue2_pass_error_is_a_silent_hold():
    def boom(env):
        raise PolicyRuntimeError("DivisionByZero", "Division by zero in computation")
    cfg = two_banks(a_bal=0, scenario_events=[pay("A", "B", 500, 0)])
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    eng = engine_for(cfg, {"A": _queue2_policy(boom)})
    events = run(eng, 3)
    assert [e[0] for e in events if e[1] > 0] == []   # nothing happens, nothing aborts
    assert len(eng.world.queue2) == 1


def test_withdraw_from_rtgs_leaves_every_queue():
    cfg = two_banks(a_bal=0, scenario_events=[pay("A", "B", 500, 0, deadline=2)])
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    pol = _queue2_policy(lambda env: Decision("WithdrawFromRtgs", path="W"))
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 10)
    assert of_type(events, "RtgsWithdrawal") == [{"event_type": "RtgsWithdrawal", "tick": 1,
                                                  "tx_id": "tx_00000000", "sender": "A",
                                                  "original_rtgs_priority": "Normal"}]
    tx = eng.world.txs["tx_00000000"]
    assert tx.location == 0 and tx.withdrawn and tx.status == "Pending"
    assert of_type(events, "TransactionWentOverdue") == []       # never marked, never charged
    assert eng.world.queue2_value == 0 and eng.world.agents["A"].queue2_count == 0


def test_resubmit_from_queue2_goes_back_to_queue1_with_new_priority():
    cfg = two_banks(a_bal=0, scenario_events=[pay("A", "B", 500, 0)])
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    pol = _queue2_policy(lambda env: Decision("ResubmitToRtgs", path="R", rtgs_priority="Urgent"))
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 3)
    t1 = [(e[0], e[2:]) for e in events if e[1] == 1]
    assert t1[:2] == [("RtgsWithdrawal", ("tx_00000000", "A", "Normal")),
                      ("RtgsResubmission", ("tx_00000000", "A", "None", "Urgent"))]
    sub = [e for e in of_type(events, "RtgsSubmission") if e["tick"] == 2]
    assert sub[0]["rtgs_priority"] == "Urgent"


def test_limit_events_at_submission_precede_queueing():
    cfg = two_banks(scenario_events=[pay("A", "B", 150, 0), pay("A", "B", 40, 0)])
    cfg["agents"][0]["limits"] = {"bilateral_limits": {"B": 100}, "multilateral_limit": 120}
    cfg["lsm_config"] = {"enable_bilateral": False, "enable_cycles": False}
    events = run(engine_for(cfg), 1)
    s10 = [e for e in events if e[0] in ("BilateralLimitExceeded", "MultilateralLimitExceeded",
                                         "QueuedRtgs", "RtgsImmediateSettlement")]
    assert s10 == [
        ("BilateralLimitExceeded", 0, "A", "B", "tx_00000000", 150, 0, 100),
        ("MultilateralLimitExceeded", 0, "A", "tx_00000000", 150, 0, 120),
        ("QueuedRtgs", 0, "tx_00000000", "A"),
        ("RtgsImmediateSettlement", 0, "tx_00000001", "A", "B", 40, 100_000, 99_960)]


@pytest.mark.parametrize("profile", ["extended", "simcash"])
def test_a_split_into_more_than_max_split_children_is_capped_in_extended_only(profile):
    # reliability defect 19: a policy asking for 1-cent children of a large payment
    from paysim_lab.engine.tick import MAX_SPLIT_CHILDREN
    asked = MAX_SPLIT_CHILDREN * 3
    split = ScriptedPolicy(payment=lambda env: Decision("Split", path="S", num_splits=asked))
    cfg = two_banks(a_bal=1_000_000, scenario_events=[pay("A", "B", 1_000_000, 0)])
    cfg["profile"] = profile
    eng = engine_for(cfg, {"A": split})
    events = run(eng, 1)
    made = MAX_SPLIT_CHILDREN if profile == "extended" else asked
    ps = of_type(events, "PolicySplit")[0]
    assert ps["num_splits"] == asked                 # the event records what was asked
    assert len(ps["child_ids"]) == made
    amounts = [a["amount"] for a in of_type(events, "Arrival")[1:]]
    assert len(amounts) == made and sum(amounts) == 1_000_000
    assert amounts[0] == 1_000_000 // made
