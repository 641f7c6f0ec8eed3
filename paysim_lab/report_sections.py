"""The sections of one tick's verbose text (persistence.md 8.2), in the order
:func:`paysim_lab.report.render_tick` prints them; each returns its lines (empty: no section)."""
from __future__ import annotations

import math

from .records import TickRecord, canonical_json
from .report_model import DayTotals, Filters, RunInfo
from .report_text import (BULLET, COLLATERAL_TYPES, DECISION_TYPES, LSM_TYPES, SUB, _plural,
                          _round_half_away, _same, money, number, priority_label, short_id,
                          signed_money)


# --- section 1
def _arrivals(by_type) -> list[str]:
    evs = by_type.get("Arrival")
    if not evs:
        return []
    out = [f"📥 {len(evs)} transaction(s) arrived:"]
    for e in evs:
        p = e["priority"]
        out.append(f"{BULLET}TX {short_id(e['tx_id'])}: {e['sender_id']} → {e['receiver_id']}"
                   f" | {money(e['amount'])} | P:{p} {priority_label(p)}"
                   f" | ⏰ Tick {e['deadline']}")
    return out


def _queue_rows_for(rec: TickRecord, f: Filters) -> list[dict]:
    rows = rec.queues
    if f.agent is not None:
        rows = [q for q in rows if q["agent_id"] == f.agent or q["receiver_id"] == f.agent]
    if f.tx is not None:
        rows = [q for q in rows if q["tx_id"] == f.tx]
    return rows


# --- section 2
def _near_deadline(rec: TickRecord, f: Filters) -> list[str]:
    t = rec.tick
    rows = [q for q in _queue_rows_for(rec, f)
            if q["overdue_since_tick"] is None and t + 1 <= q["deadline_tick"] <= t + 3]
    if not rows:
        return []
    out = ["⚠️ Transactions Near Deadline (within 2 ticks):"]
    for q in rows:
        away = q["deadline_tick"] - (t + 1)
        line = (f"{BULLET}TX {short_id(q['tx_id'])}: {q['agent_id']} → {q['receiver_id']}"
                f" | {money(q['remaining_amount'])} remaining | Deadline: Tick "
                f"{q['deadline_tick']} ({_plural(away, 'tick')} away)")
        if away <= 1:
            line += " 🔴 NEXT TICK!"
        out.append(line)
    return out


def _grouped(events: list[dict], key: str = "agent_id") -> list[tuple[str, list[dict]]]:
    """Group by agent in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for e in events:
        groups.setdefault(e.get(key), []).append(e)
    return list(groups.items())


# --- section 3
def _decisions(shown) -> list[str]:
    evs = [e for e in shown if e["event_type"] in DECISION_TYPES]
    if not evs:
        return []
    out = [f"🎯 Policy Decisions ({len(evs)}):"]
    for agent, group in _grouped(evs):
        out.append(f"   {agent}:")
        for e in group:
            et, tid = e["event_type"], short_id(e["tx_id"])
            if et == "PolicySubmit":
                out.append(f"{BULLET}SUBMIT: TX {tid}")
            elif et == "PolicyHold":
                out.append(f"{BULLET}HOLD: TX {tid} - {e['reason']}")
            elif et == "PolicyDrop":
                out.append(f"{BULLET}DROP: TX {tid} - {e['reason']}")
            else:
                out.append(f"{BULLET}SPLIT: TX {tid} → {len(e['child_ids'])} children")
    return out


# --- section 4
def _memory(shown) -> list[str]:
    evs = [e for e in shown if e["event_type"] == "StateRegisterSet"
           and not _same(e["old_value"], e["new_value"])]
    if not evs:
        return []
    out = [f"🧠 Agent Memory Updates ({len(evs)}):"]
    for agent, group in _grouped(evs):
        out.append(f"   {agent}:")
        for e in group:
            key = e["register_key"]
            if key.startswith("bank_state_"):
                key = key[len("bank_state_"):]
            reason = "EOD reset" if e["reason"] == "eod_reset" else e["reason"]
            out.append(f"{BULLET}{key}: {number(e['old_value'])} → {number(e['new_value'])}"
                       f" ({reason})")
            if e.get("decision_path"):
                out.append(f"{SUB}Path: {e['decision_path']}")
    return out


# --- section 5
def _budgets(shown, states) -> list[str]:
    evs = [e for e in shown if e["event_type"] == "BankBudgetSet"]
    if not evs:
        return []
    out = [f"💰 Release Budget Updates ({len(evs)}):"]
    for e in evs:
        out.append(f"   {e['agent_id']}:")
        out.append(f"{BULLET}Max Release: {money(e['max_value'])}")
        focus = e.get("focus_counterparties")
        if focus:
            out.append(f"{SUB}Focus: {', '.join(focus)}")
        if e.get("max_per_counterparty") is not None:
            out.append(f"{SUB}Max per Counterparty: {money(e['max_per_counterparty'])}")
        st = states.get(e["agent_id"])
        if st is not None:
            rem = st["release_budget_remaining"]
            out.append(f"{SUB}Remaining after tick: "
                       f"{money(rem) if rem is not None else 'unlimited'}")
    return out


# --- section 6
def _misc_line(e: dict) -> str | None:
    et = e["event_type"]
    if et == "PriorityEscalated":
        return (f"⬆️ PRIORITY ESCALATED: TX {short_id(e['tx_id'])} ({e['sender_id']}) "
                f"P:{e['original_priority']} → P:{e['escalated_priority']} "
                f"(+{e['boost_applied']}, {_plural(e['ticks_until_deadline'], 'tick')} to deadline)")
    if et == "TransactionReprioritized":
        return (f"🔀 REPRIORITIZED: TX {short_id(e['tx_id'])} ({e['agent_id']}) "
                f"P:{e['old_priority']} → P:{e['new_priority']}")
    if et == "RtgsSubmission":
        return (f"📨 RTGS SUBMISSION: TX {short_id(e['tx_id'])}: {e['sender']} → {e['receiver']}"
                f" | {money(e['amount'])} | {e['rtgs_priority']} (P:{e['internal_priority']})")
    if et == "RtgsWithdrawal":
        return (f"↩️ RTGS WITHDRAWAL: TX {short_id(e['tx_id'])} ({e['sender']}) "
                f"was {e['original_rtgs_priority']}")
    if et == "RtgsResubmission":
        return (f"🔁 RTGS RESUBMISSION: TX {short_id(e['tx_id'])} ({e['sender']}) "
                f"{e['old_rtgs_priority']} → {e['new_rtgs_priority']}")
    if et == "BilateralLimitExceeded":
        return (f"🚧 BILATERAL LIMIT EXCEEDED: TX {short_id(e['tx_id'])}: {e['sender']} → "
                f"{e['receiver']} | {money(e['amount'])} | outflow "
                f"{money(e['current_bilateral_outflow'])} of limit {money(e['bilateral_limit'])}")
    if et == "MultilateralLimitExceeded":
        return (f"🚧 MULTILATERAL LIMIT EXCEEDED: TX {short_id(e['tx_id'])} ({e['sender']}) | "
                f"{money(e['amount'])} | outflow {money(e['current_total_outflow'])} of limit "
                f"{money(e['multilateral_limit'])}")
    if et == "AlgorithmExecution":
        return (f"⚙️ ALGORITHM {e['algorithm']}: {e['result']} | "
                f"{e['settlements']} settled | {money(e['settled_value'])}")
    if et == "EntryDispositionOffset":
        return (f"🔄 ENTRY DISPOSITION OFFSET: {e['agent_a']} ⇄ {e['agent_b']} | offset "
                f"{money(e['offset_amount'])} (incoming {money(e['incoming_amount'])}, queued "
                f"{money(e['queued_amount'])}) | TX {short_id(e['incoming_tx_id'])} / "
                f"TX {short_id(e['queued_tx_id'])}")
    if et == "LiquidityAllocation":
        return (f"🏦 LIQUIDITY ALLOCATION: {e['agent_id']} | {money(e['amount'])} "
                f"({number(e['fraction'])} of pool) | Balance: {money(e['balance_after'])}")
    if et == "LiquidityReturn":
        return (f"🏦 LIQUIDITY RETURN: {e['agent_id']} | {money(e['amount'])} | Balance: "
                f"{money(e['balance_after'])}")
    if et == "DeferredCreditApplied":
        return (f"💵 DEFERRED CREDIT: {e['agent_id']} | {money(e['amount'])} from "
                f"{_plural(len(e['source_transactions']), 'payment')}")
    return None


def _misc(shown) -> list[str]:
    out = []
    for e in shown:
        line = _misc_line(e)
        if line is not None:
            out.append(line)
    return out


# --- section 7
def _settlements(rec: TickRecord, events, by_type, f: Filters) -> list[str]:
    n = rec.summary["num_settlements"]
    any_lsm = any(e["event_type"] in LSM_TYPES for e in events)
    if n <= 0 and not any_lsm:
        return []
    out = [f"✅ {n} transaction(s) settled:"]
    rtgs = by_type.get("RtgsImmediateSettlement", [])
    if rtgs:
        out.append("")
        out.append(f"   RTGS Immediate ({len(rtgs)}):")
        for e in rtgs:
            out.append(f"{BULLET}TX {short_id(e['tx_id'])}: {e['sender']} → {e['receiver']} | "
                       f"{money(e['amount'])}")
            if f.shows_agent(e["sender"]):
                out.append(f"{SUB}Balance: {money(e['sender_balance_before'])} → "
                           f"{money(e['sender_balance_after'])}")
    for et, title in (("Queue2LiquidityRelease", "Queue 2 Releases"),
                      ("LsmQueueRetrySettlement", "LSM Queue Retries")):
        evs = by_type.get(et, [])
        if evs:
            out.append("")
            out.append(f"   {title} ({len(evs)}):")
            for e in evs:
                out.append(f"{BULLET}TX {short_id(e['tx_id'])}: {e['sender']} → "
                           f"{e['receiver']} | {money(e['amount'])} | waited "
                           f"{_plural(e['queue_wait_ticks'], 'tick')} | {e['release_reason']}")
    bil = by_type.get("LsmBilateralOffset", [])
    if bil:
        out.append("")
        out.append(f"   LSM Bilateral Offset ({len(bil)}):")
        for e in bil:
            mark = "" if e.get("settled", True) else " (not settled)"
            out.append(f"{BULLET}{e['agent_a']} ⇄ {e['agent_b']}: {money(e['amount_a'])} ⇄ "
                       f"{money(e['amount_b'])} | {_plural(len(e['tx_ids']), 'payment')}{mark}")
    cyc = by_type.get("LsmCycleSettlement", [])
    if cyc:
        out.append("")
        out.append(f"   LSM Cycle ({len(cyc)}):")
        for e in cyc:
            out.append(f"{BULLET}{' → '.join(e['agents'])}")
            for tid, amt in zip(e["tx_ids"], e["tx_amounts"]):
                out.append(f"{SUB}TX {short_id(tid)}: {money(amt)}")
            saved = e["total_value"] - e["max_net_outflow"]
            out.append(f"{SUB}Total: {money(e['total_value'])} | Max net outflow: "
                       f"{money(e['max_net_outflow'])} | Liquidity saved: {money(saved)}")
    return out


# --- section 8
def _queued(by_type) -> list[str]:
    evs = by_type.get("QueuedRtgs")
    if not evs:
        return []
    out = [f"📋 {len(evs)} transaction(s) queued in RTGS:"]
    for e in evs:
        out.append(f"{BULLET}TX {short_id(e['tx_id'])} ({e['sender_id']})")
    return out


def _lsm_diagram(shown) -> list[str]:
    evs = [e for e in shown if e["event_type"] in ("LsmBilateralOffset", "LsmCycleSettlement")]
    if not evs:
        return []
    out = ["🔄 LSM Activity:"]
    for e in evs:
        if e["event_type"] == "LsmBilateralOffset":
            a, b = e["agent_a"], e["agent_b"]
            net = e["amount_a"] - e["amount_b"]
            payer = a if net > 0 else b
            out.append(f"   {a} ⇄ {b} (bilateral){'' if e.get('settled', True) else ' - not settled'}")
            out.append(f"{SUB}{a} → {b}: {money(e['amount_a'])} | {b} → {a}: {money(e['amount_b'])}"
                       f" | net {money(abs(net))} paid by {payer}")
        else:
            agents = e["agents"]
            out.append(f"   {' → '.join(agents)} (cycle of {len(agents) - 1})")
            nets = ", ".join(f"{ag} {signed_money(v)}"
                             for ag, v in zip(agents[:-1], e["net_positions"]))
            out.append(f"{SUB}Net positions: {nets}")
    return out


# --- section 9
def _collateral(shown, states) -> list[str]:
    evs = [e for e in shown if e["event_type"] in COLLATERAL_TYPES]
    if not evs:
        return []
    out = [f"💰 Collateral Activity ({len(evs)}):"]
    for agent, group in _grouped(evs):
        out.append(f"   {agent}:")
        st = states.get(agent)
        haircut = st["collateral_haircut"] if st is not None else 0.02
        for e in group:
            et = e["event_type"]
            if et == "CollateralPostCapped":
                out.append(f"{BULLET}CAPPED: asked {money(e['requested_amount'])} - "
                           f"{e['reason']} | capacity left {money(max(e['capacity_remaining'], 0))}"
                           f" | posting {money(e['posted_amount'])}")
            elif et == "CollateralPost":
                line = (f"{BULLET}POSTED: {money(e['amount'])} - {e['reason']} | New Total: "
                        f"{money(e['new_total'])}")
                if e.get("withdrawal_tick") is not None:
                    line += f" | Auto-withdraw at tick {e['withdrawal_tick']}"
                out.append(line)
                out.append(_impact(e["amount"], haircut, +1))
            elif et == "CollateralWithdraw":
                out.append(f"{BULLET}WITHDRAWN: {money(e['amount'])} - {e['reason']} | New Total: "
                           f"{money(e['new_total'])}")
                out.append(_impact(e["amount"], haircut, -1))
            elif et == "CollateralTimerWithdrawn":
                out.append(f"{BULLET}AUTO-WITHDRAWN (timer): {money(e['amount'])} | Posted at tick "
                           f"{e['posted_at_tick']} ({e['original_reason']}) | New Total: "
                           f"{money(e['new_total'])}")
                out.append(_impact(e["amount"], haircut, -1))
            else:
                out.append(f"{BULLET}TIMER BLOCKED: requested {money(e['requested_amount'])} - "
                           f"{e['reason']} | Posted at tick {e['posted_at_tick']} "
                           f"({e['original_reason']})")
    return out


def _impact(amount: int, haircut: float, sign: int) -> str:
    h = max(0.0, 1.0 - haircut)
    credit = math.floor(float(amount) * h)
    return (f"{SUB}Impact: {signed_money(sign * credit)} credit capacity "
            f"(haircut {haircut * 100:g}%)")


# --- section 10
def _scenario_and_overdue(shown) -> list[str]:
    out = []
    for e in shown:
        et = e["event_type"]
        if et == "ScenarioEventExecuted":
            details = e.get("details")
            if details is None:
                details = e.get("details_json")
            text = details if isinstance(details, str) else canonical_json(details)
            out.append(f"🎬 SCENARIO EVENT: {e['scenario_event_type']}")
            out.append(f"{SUB}{text}")
        elif et == "TransactionWentOverdue":
            out.append(f"⏰ TRANSACTION OVERDUE: TX {short_id(e['tx_id'])}")
            out.append(f"{SUB}{e['sender_id']} → {e['receiver_id']} | Amount: {money(e['amount'])}"
                       f" | Remaining: {money(e['remaining_amount'])}")
            out.append(f"{SUB}Deadline: Tick {e['deadline_tick']} | "
                       f"{_plural(e['ticks_overdue'], 'tick')} overdue | Penalty: "
                       f"{money(e['deadline_penalty_cost'])}")
        elif et == "OverdueTransactionSettled":
            out.append(f"✅ OVERDUE TRANSACTION SETTLED: TX {short_id(e['tx_id'])}")
            out.append(f"{SUB}{e['sender_id']} → {e['receiver_id']} | Settled: "
                       f"{money(e['settled_amount'])} of {money(e['amount'])}")
            out.append(f"{SUB}Deadline: Tick {e['deadline_tick']} | Overdue since tick "
                       f"{e['overdue_since_tick']} ({_plural(e['total_ticks_overdue'], 'tick')})"
                       f" | Penalty: {money(e['deadline_penalty_cost'])} | Est. delay cost: "
                       f"{money(e['estimated_delay_cost'])}")
    return out


# --- section 11
def _overdue_table(rec: TickRecord, info: RunInfo, f: Filters) -> list[str]:
    rows = [q for q in _queue_rows_for(rec, f) if q["overdue_since_tick"] is not None]
    if not rows:
        return []
    rows = sorted(rows, key=lambda q: q["overdue_since_tick"])  # stable: queue order on ties
    now = rec.tick + 1
    out = ["🔥 Overdue Transactions:"]
    grand = 0
    for q in rows:
        ticks = now - q["overdue_since_tick"]
        penalty = info.deadline_penalty(q["amount"])
        delay = _round_half_away(float(q["remaining_amount"]) * info.delay_cost_per_tick_per_cent
                                 * info.overdue_delay_multiplier * ticks)
        total = penalty + delay
        grand += total
        out.append(f"{BULLET}TX {short_id(q['tx_id'])}: {q['agent_id']} → {q['receiver_id']} | "
                   f"{money(q['remaining_amount'])} remaining | {_plural(ticks, 'tick')} overdue")
        out.append(f"{SUB}Penalty {money(penalty)} + est. delay {money(delay)} = {money(total)}")
    out.append(f"   Total overdue cost: {money(grand)}")
    return out


# --- section 12
COST_LABELS = (("cost_overdraft", "overdraft"), ("cost_delay", "delay"),
               ("cost_collateral", "collateral"),
               ("cost_liquidity_opportunity", "liquidity opportunity"),
               ("cost_deadline_penalty", "deadline penalty"), ("cost_eod_penalty", "EOD penalty"),
               ("cost_split_friction", "split friction"))


def _financial_stats(rec, info: RunInfo, f: Filters, states) -> list[str]:
    out = ["💰 Agent Financial Stats"]
    for aid in info.agent_ids:
        a = states.get(aid)
        if a is None or not f.shows_agent(aid):
            continue
        headroom = a["allowed_overdraft_limit"] - a["credit_used"]
        budget = a["release_budget_remaining"]
        parts = [f"{lbl} {money(a[k])}" for k, lbl in COST_LABELS if a.get(k)]
        costs = money(a["total_cost"]) + (f" ({', '.join(parts)})" if parts else "")
        out.append(f"   {aid}:")
        out.append(f"{SUB}Balance: {money(a['balance'])} | Unsecured cap: "
                   f"{money(a['unsecured_cap'])}")
        out.append(f"{SUB}Credit used: {money(a['credit_used'])} | Available liquidity: "
                   f"{money(a['available_liquidity'])} | Overdraft headroom: {money(headroom)}")
        out.append(f"{SUB}Collateral: {money(a['posted_collateral'])} | Queue 1: "
                   f"{a['queue1_count']} ({money(a['queue1_value'])}) | Budget remaining: "
                   f"{money(budget) if budget is not None else 'unlimited'}")
        out.append(f"{SUB}Costs to date: {costs}")
    return out


# --- section 13
def _credit_pct(a: dict) -> str:
    used, limit = a["credit_used"], a["allowed_overdraft_limit"]
    if used == 0:
        return "0%"
    if limit <= 0:
        return "over limit"
    return f"{used * 100 / limit:.0f}%"


def _agent_states(rec, info: RunInfo, f: Filters, states) -> list[str]:
    q1: dict[str, list[dict]] = {}
    q2: dict[str, list[dict]] = {}
    for q in rec.queues:
        (q1 if q["queue_type"] == "queue1" else q2).setdefault(q["agent_id"], []).append(q)
    out = []
    for aid in info.agent_ids:
        a = states.get(aid)
        if a is None or not f.shows_agent(aid):
            continue
        mine1, mine2 = q1.get(aid, []), q2.get(aid, [])
        if a["balance_change"] == 0 and not mine1 and not mine2:
            continue
        out.append(f"{aid}: {money(a['balance'])} ({signed_money(a['balance_change'])}) | "
                   f"Credit: {_credit_pct(a)} used")
        for title, rows in (("Queue 1", mine1), ("Queue 2", mine2)):
            if rows:
                value = sum(r["remaining_amount"] for r in rows)
                out.append(f"   {title} ({_plural(len(rows), 'transaction')}, {money(value)}):")
                for r in rows:
                    out.append(f"{BULLET}TX {short_id(r['tx_id'])} → {r['receiver_id']} | "
                               f"{money(r['remaining_amount'])} | P:{r['priority']} | "
                               f"⏰ Tick {r['deadline_tick']}")
        if a["posted_collateral"]:
            out.append(f"   Collateral: {money(a['posted_collateral'])} posted")
    return out


# --- section 14
COMPONENTS = (("liquidity_cost", "overdraft"), ("delay_cost", "delay"),
              ("collateral_cost", "collateral"), ("penalty_cost", "penalty"),
              ("split_friction_cost", "split friction"),
              ("liquidity_opportunity_cost", "liquidity opportunity"))


def _cost_accruals(by_type) -> list[str]:
    evs = by_type.get("CostAccrual")
    if not evs:
        return []
    out = [f"💰 Cost Accruals ({len(evs)}):"]
    for e in evs:
        parts = [f"{lbl} {money(e[k])}" for k, lbl in COMPONENTS if e.get(k)]
        src = e.get("source")
        out.append(f"{BULLET}{e['agent_id']}: {money(e['total'])}"
                   + (f" ({', '.join(parts)})" if parts else "")
                   + (f" [{src}]" if src else ""))
    return out


# --- section 15
DELTAS = (("liquidity_cost_delta", "overdraft"), ("delay_cost_delta", "delay"),
          ("collateral_cost_delta", "collateral"), ("penalty_cost_delta", "penalty"),
          ("split_friction_cost_delta", "split friction"))


def _tick_costs(rec, info: RunInfo, f: Filters, states, events) -> list[str]:
    total = rec.summary["total_cost"]
    if total <= 0:
        return []
    opportunity: dict[str, int] = {}
    for e in events:
        if e["event_type"] == "CostAccrual" and e.get("liquidity_opportunity_cost"):
            opportunity[e["agent_id"]] = (opportunity.get(e["agent_id"], 0)
                                          + e["liquidity_opportunity_cost"])
    out = [f"💰 Costs Accrued This Tick: {money(total)}"]
    for aid in info.agent_ids:
        a = states.get(aid)
        if a is None or not f.shows_agent(aid):
            continue
        parts = [(lbl, a[k]) for k, lbl in DELTAS if a.get(k)]
        if opportunity.get(aid):
            parts.append(("liquidity opportunity", opportunity[aid]))
        if not parts:
            continue
        agent_total = sum(v for _, v in parts)
        out.append(f"{BULLET}{aid}: {money(agent_total)} ("
                   + ", ".join(f"{lbl} {money(v)}" for lbl, v in parts) + ")")
    return out


# --- sections 16-18
def _summary(rec, shown, info: RunInfo, f: Filters, states, day: DayTotals | None) -> list[str]:
    s = rec.summary
    line = f"Summary: {s['num_arrivals']} in | {s['num_settlements']} settled"
    if s["num_lsm_releases"] > 0:
        line += f" | {s['num_lsm_releases']} LSM"
    if s["queue1_total"] > 0:
        line += f" | {s['queue1_total']} queued"
    out = [line]
    for e in shown:
        if e["event_type"] == "EndOfDay":
            out.append(f"🌙 End of Day {e['day']} - {e['unsettled_count']} unsettled, "
                       f"{money(e['total_penalties'])} in penalties")
    if s["is_end_of_day"]:
        out.extend(_day_block(rec, info, f, states, day))
    return out


def _day_block(rec, info: RunInfo, f: Filters, states, day: DayTotals | None) -> list[str]:
    if day is None or day.day != rec.day:
        s = rec.summary
        day = DayTotals(rec.day, s["num_arrivals"], s["num_settlements"],
                        s["num_lsm_releases"], s["total_cost"], {})
    s = rec.summary
    unsettled = s["queue1_total"] + s["queue2_total"]
    pct = f"{day.settlements * 100 / day.arrivals:.1f}%" if day.arrivals else "n/a"
    lsm_pct = f"{day.lsm_releases * 100 / day.settlements:.1f}%" if day.settlements else "n/a"
    rule = "═" * 70
    out = ["", rule, f"📅 End of Day {rec.day} Summary", rule,
           f"   Arrivals: {day.arrivals} | Settled: {day.settlements} ({pct}) | "
           f"Unsettled: {unsettled}",
           f"   LSM-settled: {day.lsm_releases} ({lsm_pct} of settled) | "
           f"Cost: {money(day.cost)}"]
    for aid in info.agent_ids:
        a = states.get(aid)
        if a is None or not f.shows_agent(aid):
            continue
        day_cost = a["total_cost"] - day.start_costs.get(aid, 0)
        out.append(f"{BULLET}{aid}: Final balance {money(a['balance'])} | Credit used "
                   f"{money(a['credit_used'])} / {money(a['allowed_overdraft_limit'])} | "
                   f"Queue 1: {a['queue1_count']} | Queue 2: {a['queue2_count']} | "
                   f"Day cost: {money(day_cost)}")
    out.append(rule)
    return out
