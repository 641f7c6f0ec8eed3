"""The verbose log renderer on hand-built tick records (persistence.md 8.2)."""
from __future__ import annotations

import math

import pytest

from paysim_lab.records import AGENT_STATE_COLUMNS, TickRecord
from paysim_lab.report import (DayAccumulator, Filters, RunInfo, VerboseLog, money,
                               parse_tick_range, priority_label, render_tick, short_id,
                               signed_money)

INFO = RunInfo(agent_ids=("A", "B"), ticks_per_day=10)
RULE = "─" * 70


def agent(aid: str, **over) -> dict:
    row = {c: 0 for c in AGENT_STATE_COLUMNS}
    row.update(agent_id=aid, collateral_haircut=0.02, release_budget_max=None,
               release_budget_remaining=None, registers_json="{}")
    row.update(over)
    return row


def summary(**over) -> dict:
    s = {"num_arrivals": 0, "num_settlements": 0, "num_lsm_releases": 0, "total_cost": 0,
         "queue1_total": 0, "queue2_total": 0, "is_end_of_day": False}
    s.update(over)
    return s


def ev(seq: int, et: str, tick: int = 3, **fields) -> dict:
    return {"seq": seq, "event_type": et, "tick": tick, **fields}


def record(tick=3, events=(), states=None, queues=(), **summ) -> TickRecord:
    states = states if states is not None else [agent("A", balance=100_000),
                                                agent("B", balance=50_000)]
    return TickRecord(tick, tick // 10, list(events), summary(**summ), states, list(queues))


def qrow(tx, owner, receiver, remaining, deadline, kind="queue1", pos=0, overdue=None,
         amount=None, priority=5):
    return {"queue_type": kind, "agent_id": owner, "position": pos, "tx_id": tx,
            "receiver_id": receiver, "amount": amount if amount is not None else remaining,
            "remaining_amount": remaining, "priority": priority, "deadline_tick": deadline,
            "rtgs_priority": None, "overdue_since_tick": overdue}


# ------------------------------------------------------------------------------ formatting
def test_money_formats_cents_with_separators_and_sign():
    assert money(123456) == "$1,234.56"
    assert money(-123456) == "$-1,234.56"
    assert money(0) == "$0.00"
    assert money(7) == "$0.07"
    assert money(100_000_000_00) == "$100,000,000.00"
    assert signed_money(-250) == "-$2.50"
    assert signed_money(250) == "+$2.50"


def test_short_ids_are_eight_characters():
    assert short_id("tx_00000123") == "00000123"
    assert short_id("tx_123456789") == "23456789"
    assert short_id("6f1c2a9e-77aa-4bb1") == "6f1c2a9e"
    assert short_id("scheduled_settlement_A_B_5_1") == "schedule"
    assert short_id("short") == "short"


def test_priority_labels():
    assert [priority_label(p) for p in (0, 3, 4, 6, 7, 10)] == \
        ["LOW", "LOW", "MED", "MED", "HIGH", "HIGH"]


def test_tick_range_parsing():
    assert parse_tick_range("3-9") == (3, 9)
    assert parse_tick_range("3-") == (3, None)
    assert parse_tick_range("-9") == (None, 9)
    for bad in ("3", "a-b", "-", "9-3"):
        with pytest.raises(ValueError):
            parse_tick_range(bad)


def test_run_info_round_trips_through_json():
    info = RunInfo(("A", "B"), 100, 0.0002, 3.0, "rate", 0, 25.0)
    assert RunInfo.from_json(info.to_json()) == info
    assert info.deadline_penalty(1_000_000) == 2500


# ------------------------------------------------------------------------------ whole tick
def test_simple_tick_renders_exactly():
    rec = record(events=[
        ev(0, "Arrival", tx_id="tx_00000007", sender_id="A", receiver_id="B", amount=123456,
           deadline=12, priority=7, is_divisible=False),
        ev(1, "RtgsSubmission", tx_id="tx_00000007", sender="A", receiver="B", amount=123456,
           internal_priority=7, rtgs_priority="Normal"),
        ev(2, "PolicySubmit", agent_id="A", tx_id="tx_00000007", decision_path="R"),
        ev(3, "RtgsImmediateSettlement", tx_id="tx_00000007", sender="A", receiver="B",
           amount=123456, sender_balance_before=223456, sender_balance_after=100000),
    ], states=[agent("A", balance=100000, balance_change=-123456, available_liquidity=100000,
                     total_cost=0),
               agent("B", balance=173456, balance_change=123456, available_liquidity=173456)],
        num_arrivals=1, num_settlements=1)
    expected = "\n".join([
        "═══ Tick 3 ═══",
        "📥 1 transaction(s) arrived:",
        "   • TX 00000007: A → B | $1,234.56 | P:7 HIGH | ⏰ Tick 12",
        "🎯 Policy Decisions (1):",
        "   A:",
        "   • SUBMIT: TX 00000007",
        "📨 RTGS SUBMISSION: TX 00000007: A → B | $1,234.56 | Normal (P:7)",
        "✅ 1 transaction(s) settled:",
        "",
        "   RTGS Immediate (1):",
        "   • TX 00000007: A → B | $1,234.56",
        "     Balance: $2,234.56 → $1,000.00",
        "", RULE, "",
        "💰 Agent Financial Stats",
        "   A:",
        "     Balance: $1,000.00 | Unsecured cap: $0.00",
        "     Credit used: $0.00 | Available liquidity: $1,000.00 | Overdraft headroom: $0.00",
        "     Collateral: $0.00 | Queue 1: 0 ($0.00) | Budget remaining: unlimited",
        "     Costs to date: $0.00",
        "   B:",
        "     Balance: $1,734.56 | Unsecured cap: $0.00",
        "     Credit used: $0.00 | Available liquidity: $1,734.56 | Overdraft headroom: $0.00",
        "     Collateral: $0.00 | Queue 1: 0 ($0.00) | Budget remaining: unlimited",
        "     Costs to date: $0.00",
        "", RULE, "",
        "A: $1,000.00 (-$1,234.56) | Credit: 0% used",
        "B: $1,734.56 (+$1,234.56) | Credit: 0% used",
        "", RULE, "",
        "Summary: 1 in | 1 settled",
    ]) + "\n\n"
    assert render_tick(rec, INFO) == expected


def test_quiet_tick_has_header_stats_and_summary_only():
    text = render_tick(record(tick=0), INFO)
    assert text.startswith("═══ Tick 0 ═══\n💰 Agent Financial Stats\n")
    assert text.endswith("\n\nSummary: 0 in | 0 settled\n\n")
    assert text.count(RULE) == 1


# ------------------------------------------------------------------------------ seed bug 3
def test_budget_update_shows_max_release_focus_cap_and_remaining():
    rec = record(events=[ev(0, "BankBudgetSet", agent_id="A", max_value=8750000,
                            focus_counterparties=["B", "C"], max_per_counterparty=100000,
                            decision_path="B1")],
                 states=[agent("A", release_budget_max=8750000,
                               release_budget_remaining=8700000), agent("B")])
    text = render_tick(rec, INFO)
    assert ("💰 Release Budget Updates (1):\n   A:\n   • Max Release: $87,500.00\n"
            "     Focus: B, C\n     Max per Counterparty: $1,000.00\n"
            "     Remaining after tick: $87,000.00\n") in text
    assert "Budget remaining: $87,000.00" in text


def test_budget_exhausted_hold_is_listed():
    rec = record(events=[ev(0, "PolicyHold", agent_id="A", tx_id="tx_00000001",
                            reason="BudgetExhausted", decision_path=None)])
    assert "   • HOLD: TX 00000001 - BudgetExhausted\n" in render_tick(rec, INFO)


# ------------------------------------------------------------------------------ seed bug 4
def test_collateral_activity_shows_posts_timer_withdrawals_and_blocks():
    rec = record(events=[
        ev(0, "CollateralTimerWithdrawn", agent_id="A", amount=100000,
           original_reason="PreemptivePosting", posted_at_tick=0, new_total=0, balance=5),
        ev(1, "CollateralTimerBlocked", agent_id="A", requested_amount=5000,
           reason="No headroom available for withdrawal: credit_used=9, allowed_limit=9, "
                  "headroom=0", original_reason="UrgentLiquidityNeed", posted_at_tick=1),
        ev(2, "CollateralPost", agent_id="B", amount=200000, reason="UrgentLiquidityNeed",
           new_total=200000, layer="strategic", auto_withdraw_after_ticks=3,
           withdrawal_tick=6, balance=0, decision_path="S1"),
    ], states=[agent("A"), agent("B", collateral_haircut=0.1, posted_collateral=200000)])
    text = render_tick(rec, INFO)
    assert ("💰 Collateral Activity (3):\n"
            "   A:\n"
            "   • AUTO-WITHDRAWN (timer): $1,000.00 | Posted at tick 0 (PreemptivePosting)"
            " | New Total: $0.00\n"
            "     Impact: -$980.00 credit capacity (haircut 2%)\n"
            "   • TIMER BLOCKED: requested $50.00 - No headroom available for withdrawal: "
            "credit_used=9, allowed_limit=9, headroom=0 | Posted at tick 1 "
            "(UrgentLiquidityNeed)\n"
            "   B:\n"
            "   • POSTED: $2,000.00 - UrgentLiquidityNeed | New Total: $2,000.00"
            " | Auto-withdraw at tick 6\n"
            "     Impact: +$1,800.00 credit capacity (haircut 10%)\n") in text


# ------------------------------------------------------------------------------ memory
def test_memory_updates_strip_prefix_mark_resets_and_skip_unchanged():
    rec = record(tick=9, events=[
        ev(0, "StateRegisterSet", tick=9, agent_id="B", register_key="bank_state_mode",
           old_value=1.0, new_value=2.0, reason="crisis", decision_path="B_Root(true) → B_Set"),
        ev(1, "StateRegisterSet", tick=9, agent_id="A", register_key="bank_state_x",
           old_value=3.0, new_value=3.0, reason="same", decision_path="P"),
        ev(2, "StateRegisterSet", tick=9, agent_id="B", register_key="bank_state_mode",
           old_value=2.0, new_value=0.0, reason="eod_reset", decision_path=None),
        ev(3, "StateRegisterSet", tick=9, agent_id="A", register_key="bank_state_nan",
           old_value=math.nan, new_value=math.nan, reason="eod_reset", decision_path=None),
    ])
    text = render_tick(rec, INFO)
    assert ("🧠 Agent Memory Updates (2):\n   B:\n"
            "   • mode: 1.0 → 2.0 (crisis)\n     Path: B_Root(true) → B_Set\n"
            "   • mode: 2.0 → 0.0 (EOD reset)\n") in text
    assert "bank_state_x" not in text and "x: 3.0" not in text


# ------------------------------------------------------------------------------ deadlines
def test_near_deadline_and_overdue_sections_from_queue_snapshot():
    info = RunInfo(("A", "B"), 10, delay_cost_per_tick_per_cent=0.0001,
                   overdue_delay_multiplier=5.0, deadline_penalty_amount=50000)
    rec = record(tick=3, queues=[
        qrow("tx_00000001", "A", "B", 10000, 5),                 # t+2: one tick away
        qrow("tx_00000002", "A", "B", 10000, 6, pos=1),          # t+3: two ticks away
        qrow("tx_00000003", "A", "B", 10000, 8, pos=2),          # too far
        qrow("tx_00000004", "B", "A", 2_000_000, 1, kind="rtgs", overdue=2),
    ], states=[agent("A", queue1_count=3, queue1_value=30000), agent("B", queue2_count=1)],
        queue1_total=3, queue2_total=1)
    text = render_tick(rec, info)
    assert ("⚠️ Transactions Near Deadline (within 2 ticks):\n"
            "   • TX 00000001: A → B | $100.00 remaining | Deadline: Tick 5 (1 tick away)"
            " 🔴 NEXT TICK!\n"
            "   • TX 00000002: A → B | $100.00 remaining | Deadline: Tick 6 (2 ticks away)\n"
            ) in text
    # overdue since tick 2, viewed from t+1 = 4: 2 ticks; delay = 2,000,000 * 0.0001 * 5 * 2
    assert ("🔥 Overdue Transactions:\n"
            "   • TX 00000004: B → A | $20,000.00 remaining | 2 ticks overdue\n"
            "     Penalty $500.00 + est. delay $20.00 = $520.00\n"
            "   Total overdue cost: $520.00\n") in text
    assert "Summary: 0 in | 0 settled | 3 queued" in text
    assert ("A: $0.00 (+$0.00) | Credit: 0% used\n"
            "   Queue 1 (3 transactions, $300.00):\n"
            "   • TX 00000001 → B | $100.00 | P:5 | ⏰ Tick 5\n") in text
    assert ("   Queue 2 (1 transaction, $20,000.00):\n"
            "   • TX 00000004 → A | $20,000.00 | P:5 | ⏰ Tick 1\n") in text


# ------------------------------------------------------------------------------ LSM
def test_lsm_cycle_lists_chain_legs_and_liquidity_saved():
    rec = record(events=[ev(0, "LsmCycleSettlement", agents=["A", "B", "C", "A"],
                            tx_ids=["tx_00000001", "tx_00000002", "tx_00000003"],
                            tx_amounts=[500, 400, 300], total_value=1200,
                            net_positions=[-200, 100, 100, -200], max_net_outflow=200,
                            max_net_outflow_agent="A", cycle_value=1200)],
                 num_settlements=3, num_lsm_releases=3)
    text = render_tick(rec, INFO)
    assert ("✅ 3 transaction(s) settled:\n\n   LSM Cycle (1):\n   • A → B → C → A\n"
            "     TX 00000001: $5.00\n     TX 00000002: $4.00\n     TX 00000003: $3.00\n"
            "     Total: $12.00 | Max net outflow: $2.00 | Liquidity saved: $10.00\n") in text
    assert ("🔄 LSM Activity:\n   A → B → C → A (cycle of 3)\n"
            "     Net positions: A -$2.00, B +$1.00, C +$1.00\n") in text
    assert "Summary: 0 in | 3 settled | 3 LSM" in text


# ------------------------------------------------------------------------------ costs, EOD
def test_cost_sections_and_end_of_day_block_use_day_totals():
    acc = DayAccumulator()
    info = RunInfo(("A", "B"), 2)
    r0 = TickRecord(0, 0, [], summary(num_arrivals=4, num_settlements=2, total_cost=100),
                    [agent("A", total_cost=100), agent("B")], [])
    r1 = TickRecord(1, 0, [
        ev(0, "CostAccrual", tick=1, agent_id="A", liquidity_cost=150, delay_cost=0,
           collateral_cost=0, penalty_cost=50, split_friction_cost=0, total=200,
           liquidity_opportunity_cost=0, source="tick"),
        ev(1, "EndOfDay", tick=1, day=0, unsettled_count=1, total_penalties=0),
    ], summary(num_arrivals=1, num_settlements=2, num_lsm_releases=1, total_cost=200,
               queue1_total=1, is_end_of_day=True),
        [agent("A", total_cost=300, liquidity_cost_delta=150, penalty_cost_delta=50,
               credit_used=500, allowed_overdraft_limit=1000, queue1_count=1),
         agent("B")], [])
    acc.feed(r0)
    text = render_tick(r1, info, day=acc.feed(r1))
    assert ("💰 Cost Accruals (1):\n   • A: $2.00 (overdraft $1.50, penalty $0.50) [tick]\n"
            "💰 Costs Accrued This Tick: $2.00\n   • A: $2.00 (overdraft $1.50, penalty $0.50)\n"
            ) in text
    rule = "═" * 70
    assert text.endswith("\n".join([
        "Summary: 1 in | 2 settled | 1 LSM | 1 queued",
        "🌙 End of Day 0 - 1 unsettled, $0.00 in penalties",
        "", rule, "📅 End of Day 0 Summary", rule,
        "   Arrivals: 5 | Settled: 4 (80.0%) | Unsettled: 1",
        "   LSM-settled: 1 (25.0% of settled) | Cost: $3.00",
        "   • A: Final balance $0.00 | Credit used $5.00 / $10.00 | Queue 1: 1 | Queue 2: 0"
        " | Day cost: $3.00",
        "   • B: Final balance $0.00 | Credit used $0.00 / $0.00 | Queue 1: 0 | Queue 2: 0"
        " | Day cost: $0.00",
        rule]) + "\n\n")


def test_day_accumulator_resets_at_a_new_day_and_keeps_start_costs():
    acc = DayAccumulator()
    acc.feed(TickRecord(1, 0, [], summary(num_arrivals=2, total_cost=7),
                        [agent("A", total_cost=70)], []))
    t = acc.feed(TickRecord(2, 1, [], summary(num_arrivals=1), [agent("A", total_cost=90)], []))
    assert (t.day, t.arrivals, t.cost, t.start_costs) == (1, 1, 0, {"A": 70})


# ------------------------------------------------------------------------------ filters
def _busy() -> TickRecord:
    return record(events=[
        ev(0, "Arrival", tx_id="tx_00000001", sender_id="A", receiver_id="B", amount=100,
           deadline=9, priority=5, is_divisible=False),
        ev(1, "Arrival", tx_id="tx_00000002", sender_id="B", receiver_id="A", amount=200,
           deadline=9, priority=5, is_divisible=False),
        ev(2, "RtgsImmediateSettlement", tx_id="tx_00000002", sender="B", receiver="A",
           amount=200, sender_balance_before=700, sender_balance_after=500),
    ], states=[agent("A", balance_change=200), agent("B", balance_change=-200)],
        num_arrivals=2, num_settlements=1)


def test_agent_filter_keeps_receiver_settlements_but_hides_other_balances():
    text = render_tick(_busy(), INFO, Filters.parse(agent="A"))
    assert "📥 1 transaction(s) arrived:\n   • TX 00000001" in text   # arrivals: sender only
    assert "TX 00000002: B → A | $2.00\n" in text          # settlement where A receives
    assert "Balance: $7.00 → $5.00" not in text            # B's balance is hidden
    assert "   B:\n" not in text and "\nB: " not in text    # sections 12, 13 limited to A
    assert "Summary: 2 in | 1 settled" in text             # counters never filtered


def test_event_type_and_tx_filters_select_events():
    t1 = render_tick(_busy(), INFO, Filters.parse(event_types="RtgsImmediateSettlement"))
    assert "arrived" not in t1 and "RTGS Immediate (1)" in t1
    t2 = render_tick(_busy(), INFO, Filters.parse(tx="tx_00000001"))
    assert "📥 1 transaction(s) arrived:\n   • TX 00000001" in t2
    assert "RTGS Immediate" not in t2
    assert "✅ 1 transaction(s) settled:" in t2


def test_tick_range_filter_hides_whole_ticks():
    f = Filters.parse(tick_range="4-")
    assert render_tick(_busy(), INFO, f) == ""
    log = VerboseLog(INFO, f)
    assert log.text(_busy()) == ""


def test_agent_filter_matches_lists_and_pairs():
    f = Filters.parse(agent="C")
    assert f.matches({"event_type": "LsmCycleSettlement", "agents": ["A", "C", "A"]})
    assert f.matches({"event_type": "LsmBilateralOffset", "agent_a": "B", "agent_b": "C"})
    assert f.matches({"event_type": "Queue2LiquidityRelease", "sender": "A", "receiver": "C"})
    assert not f.matches({"event_type": "Arrival", "sender_id": "A", "receiver_id": "C"})
    assert not f.matches({"event_type": "EndOfDay", "day": 0})
