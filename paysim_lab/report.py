"""The per-tick verbose log (persistence.md 8.2): a pure function of one tick's record.

Live runs and replay call the same :func:`render_tick` with a :class:`~paysim_lab.records.
TickRecord` (built from the engine, or read back from a store), the static :class:`RunInfo`
of the run, optional display :class:`Filters` and the running :class:`DayTotals` of the
current day. Nothing here looks at the engine, the wall clock or a terminal, which is what makes
``paysim replay --verbose`` print byte for byte what ``paysim run --verbose`` printed.

>>> from paysim_lab.records import TickRecord
>>> info = RunInfo(agent_ids=("A", "B"), ticks_per_day=10)
>>> rec = TickRecord(0, 0, [], {"num_arrivals": 0, "num_settlements": 0, "num_lsm_releases": 0,
...                             "total_cost": 0, "queue1_total": 0, "queue2_total": 0,
...                             "is_end_of_day": False}, [])
>>> print(render_tick(rec, info).splitlines()[0])
═══ Tick 0 ═══
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from .engine.state import Penalty
from .records import TickRecord, canonical_json

SEPARATOR = ["", "─" * 70, ""]
BULLET = "   • "
SUB = "     "

SETTLEMENT_TYPES = frozenset({"RtgsImmediateSettlement", "Queue2LiquidityRelease",
                              "LsmQueueRetrySettlement", "LsmBilateralOffset",
                              "LsmCycleSettlement", "OverdueTransactionSettled",
                              "EntryDispositionOffset"})
LSM_TYPES = frozenset({"LsmBilateralOffset", "LsmCycleSettlement", "EntryDispositionOffset"})
# Settlement events that also concern their receiver under --filter-agent.
RECEIVER_FIELD = {"RtgsImmediateSettlement": "receiver", "Queue2LiquidityRelease": "receiver",
                  "LsmQueueRetrySettlement": "receiver",
                  "OverdueTransactionSettled": "receiver_id"}
AGENT_FIELDS = ("agent_id", "sender_id", "sender", "agent_a", "agent_b")
DECISION_TYPES = ("PolicySubmit", "PolicyHold", "PolicyDrop", "PolicySplit")
COLLATERAL_TYPES = ("CollateralPost", "CollateralWithdraw", "CollateralTimerWithdrawn",
                    "CollateralTimerBlocked", "CollateralPostCapped")


# ---------------------------------------------------------------------------- formatting helpers
def money(cents) -> str:
    """``$`` + cents/100 with thousands separators and two decimals.

    >>> money(123456), money(-123456), money(5)
    ('$1,234.56', '$-1,234.56', '$0.05')
    """
    if cents is None:
        return "n/a"
    if isinstance(cents, float):
        if not math.isfinite(cents):
            return f"${cents}"
        cents = int(math.floor(cents + 0.5))
    sign = "-" if cents < 0 else ""
    c = abs(int(cents))
    return f"${sign}{c // 100:,}.{c % 100:02d}"


def signed_money(cents: int) -> str:
    """``+$1.00`` / ``-$1.00``.

    >>> signed_money(-250), signed_money(0)
    ('-$2.50', '+$0.00')
    """
    return ("-" if cents < 0 else "+") + money(abs(cents))


def short_id(tx_id) -> str:
    """A transaction id shortened to 8 characters.

    Engine ids (``tx_`` + an 8-digit counter) keep their counter, the part that tells them
    apart; other long ids (SimCash UUIDs, scheduled settlements) keep their first 8 characters.

    >>> short_id("tx_00000123"), short_id("6f1c2a9e-77aa"), short_id("ab")
    ('00000123', '6f1c2a9e', 'ab')
    """
    s = str(tx_id)
    if len(s) <= 8:
        return s
    if s.startswith("tx_") and s[3:].isdigit():
        return s[-8:]
    return s[:8]


def priority_label(p: int) -> str:
    """``HIGH`` (>= 7), ``MED`` (4-6), ``LOW`` (<= 3)."""
    return "HIGH" if p >= 7 else ("MED" if p >= 4 else "LOW")


def number(v) -> str:
    """A register value as Python writes it (``1.0``, ``nan``, ``-inf``)."""
    return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


# ---------------------------------------------------------------------------- static run data
@dataclass(frozen=True, slots=True)
class RunInfo:
    """The static data the log needs besides the tick record (stored with every run).

    >>> RunInfo.from_json(RunInfo(("A",), 10).to_json()).ticks_per_day
    10
    """

    agent_ids: tuple[str, ...]
    ticks_per_day: int
    delay_cost_per_tick_per_cent: float = 0.0001
    overdue_delay_multiplier: float = 5.0
    deadline_penalty_mode: str = "fixed"
    deadline_penalty_amount: int = 50000
    deadline_penalty_bps: float = 0.0

    @classmethod
    def from_world(cls, world) -> "RunInfo":
        c = world.costs
        dp = c.deadline_penalty
        return cls(agent_ids=tuple(sorted(world.agents)), ticks_per_day=world.ticks_per_day,
                   delay_cost_per_tick_per_cent=float(c.delay_cost_per_tick_per_cent),
                   overdue_delay_multiplier=float(c.overdue_delay_multiplier),
                   deadline_penalty_mode=dp.mode, deadline_penalty_amount=int(dp.amount or 0),
                   deadline_penalty_bps=float(dp.bps_per_event or 0.0))

    @classmethod
    def from_sim(cls, sim) -> "RunInfo":
        return cls.from_world(sim.world)

    def to_json(self) -> str:
        return canonical_json({
            "agent_ids": list(self.agent_ids), "ticks_per_day": self.ticks_per_day,
            "delay_cost_per_tick_per_cent": self.delay_cost_per_tick_per_cent,
            "overdue_delay_multiplier": self.overdue_delay_multiplier,
            "deadline_penalty": {"mode": self.deadline_penalty_mode,
                                 "amount": self.deadline_penalty_amount,
                                 "bps_per_event": self.deadline_penalty_bps}})

    @classmethod
    def from_json(cls, text: str) -> "RunInfo":
        d = json.loads(text)
        dp = d["deadline_penalty"]
        return cls(agent_ids=tuple(d["agent_ids"]), ticks_per_day=int(d["ticks_per_day"]),
                   delay_cost_per_tick_per_cent=float(d["delay_cost_per_tick_per_cent"]),
                   overdue_delay_multiplier=float(d["overdue_delay_multiplier"]),
                   deadline_penalty_mode=dp["mode"], deadline_penalty_amount=int(dp["amount"]),
                   deadline_penalty_bps=float(dp["bps_per_event"]))

    def deadline_penalty(self, amount: int) -> int:
        return Penalty(self.deadline_penalty_mode, self.deadline_penalty_amount,
                       self.deadline_penalty_bps).resolve(amount)


# ---------------------------------------------------------------------------- filters
def parse_tick_range(text: str) -> tuple[int | None, int | None]:
    """``"A-B"``, ``"A-"`` or ``"-B"`` (inclusive) -> (A or None, B or None).

    >>> parse_tick_range("10-20"), parse_tick_range("5-"), parse_tick_range("-7")
    ((10, 20), (5, None), (None, 7))
    """
    s = text.strip()
    if "-" not in s:
        raise ValueError(f"tick range {text!r}: expected A-B, A- or -B")
    a, b = s.split("-", 1)
    try:
        lo = int(a) if a.strip() else None
        hi = int(b) if b.strip() else None
    except ValueError:
        raise ValueError(f"tick range {text!r}: expected A-B, A- or -B with whole numbers") from None
    if lo is None and hi is None:
        raise ValueError(f"tick range {text!r}: give at least one end")
    if (lo is not None and lo < 0) or (hi is not None and hi < 0):
        raise ValueError(f"tick range {text!r}: ticks cannot be negative")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"tick range {text!r}: start is after end")
    return lo, hi


@dataclass(frozen=True, slots=True)
class Filters:
    """Display filters (AND-ed); they never change what is stored or exported.

    >>> f = Filters.parse(event_types="Arrival,PolicySubmit", agent="A")
    >>> f.matches({"event_type": "Arrival", "sender_id": "A"})
    True
    """

    event_types: frozenset[str] | None = None
    agent: str | None = None
    tx: str | None = None
    tick_range: tuple[int | None, int | None] | None = None

    @classmethod
    def parse(cls, event_types: str | Iterable[str] | None = None, agent: str | None = None,
              tx: str | None = None, tick_range: str | tuple | None = None) -> "Filters":
        types = None
        if event_types:
            parts = event_types.split(",") if isinstance(event_types, str) else event_types
            types = frozenset(p.strip() for p in parts if p.strip())
        rng = parse_tick_range(tick_range) if isinstance(tick_range, str) else tick_range
        return cls(types or None, agent or None, tx or None, rng)

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.event_types, self.agent, self.tx,
                                           self.tick_range))

    def shows_tick(self, tick: int) -> bool:
        if self.tick_range is None:
            return True
        lo, hi = self.tick_range
        return (lo is None or tick >= lo) and (hi is None or tick <= hi)

    def matches(self, ev: dict) -> bool:
        if self.event_types is not None and ev["event_type"] not in self.event_types:
            return False
        if self.tx is not None and ev.get("tx_id") != self.tx:
            return False
        if self.agent is not None and not event_names_agent(ev, self.agent):
            return False
        return True

    def shows_agent(self, agent_id: str) -> bool:
        return self.agent is None or agent_id == self.agent


NO_FILTERS = Filters()


def event_names_agent(ev: dict, agent: str) -> bool:
    """Does the event concern ``agent`` (persistence.md 8.2 filter rules)?"""
    for f in AGENT_FIELDS:
        if ev.get(f) == agent:
            return True
    agents = ev.get("agents")
    if agents and agent in agents:
        return True
    rf = RECEIVER_FIELD.get(ev["event_type"])
    return rf is not None and ev.get(rf) == agent


# ---------------------------------------------------------------------------- day totals
@dataclass(slots=True)
class DayTotals:
    """Sums of the current day's tick summaries so far, and each bank's cost at day start."""

    day: int = 0
    arrivals: int = 0
    settlements: int = 0
    lsm_releases: int = 0
    cost: int = 0
    start_costs: dict = field(default_factory=dict)


class DayAccumulator:
    """Feeds tick records in order and keeps the running :class:`DayTotals` of their day.

    Replay of a range starting mid-day feeds the records from the tick before that day's first
    tick, so the end-of-day block adds up the whole day exactly as the live run did.
    """

    __slots__ = ("totals", "_last_costs", "_day")

    def __init__(self):
        self.totals = DayTotals()
        self._last_costs: dict[str, int] = {}
        self._day: int | None = None

    def feed(self, rec: TickRecord) -> DayTotals:
        if rec.day != self._day:
            self._day = rec.day
            self.totals = DayTotals(day=rec.day, start_costs=dict(self._last_costs))
        s = rec.summary
        t = self.totals
        t.arrivals += s["num_arrivals"]
        t.settlements += s["num_settlements"]
        t.lsm_releases += s["num_lsm_releases"]
        t.cost += s["total_cost"]
        self._last_costs = {a["agent_id"]: a["total_cost"] for a in rec.agent_states}
        return t


# ---------------------------------------------------------------------------- rendering
def render_tick(rec: TickRecord, info: RunInfo, filters: Filters | None = None,
                day: DayTotals | None = None) -> str:
    """The verbose text of one tick (persistence.md 8.2), ending with a blank line.

    ``day`` carries the day's running totals for the end-of-day block (a
    :class:`DayAccumulator` fed with every record of the day so far); without it that block
    sums this tick only. Returns ``""`` for a tick outside the filters' tick range.
    """
    f = filters or NO_FILTERS
    if not f.shows_tick(rec.tick):
        return ""
    events = rec.events
    shown = [e for e in events if f.matches(e)] if f.active else events
    states = {a["agent_id"]: a for a in rec.agent_states}
    by_type: dict[str, list[dict]] = {}
    for e in shown:
        by_type.setdefault(e["event_type"], []).append(e)

    groups = [
        [*_arrivals(by_type), *_near_deadline(rec, f), *_decisions(shown),
         *_memory(shown), *_budgets(shown, states), *_misc(shown),
         *_settlements(rec, events, by_type, f)],
        [*_queued(by_type), *_lsm_diagram(shown), *_collateral(shown, states),
         *_scenario_and_overdue(shown), *_overdue_table(rec, info, f)],
        _financial_stats(rec, info, f, states),
        _agent_states(rec, info, f, states),
        [*_cost_accruals(by_type), *_tick_costs(rec, info, f, states, events)],
        _summary(rec, shown, info, f, states, day),
    ]
    lines = [f"═══ Tick {rec.tick} ═══"]
    first = True
    for g in groups:
        if not g:
            continue
        if not first:
            lines.extend(SEPARATOR)
        lines.extend(g)
        first = False
    return "\n".join(map(printable, lines)) + "\n\n"


# Control characters (C0, DEL, C1), bidirectional-text controls and line separators: text
# from a policy (a hold reason, a node id) must never move the cursor, ring the bell, recolour
# the terminal or reorder a log line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                          "\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control or bidi character shown as an escape (``\\x1b``, ``\\u202e``).

    >>> printable("Hold: \\x1b[31mred\\x07")
    'Hold: \\\\x1b[31mred\\\\x07'
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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


# ---------------------------------------------------------------------------- streaming helper
class VerboseLog:
    """Renders a run's ticks in order: what ``paysim run --verbose`` and replay both use.

    >>> log = VerboseLog(RunInfo(("A",), 5))
    >>> # for rec in records: print(log.text(rec), end="")
    """

    __slots__ = ("info", "filters", "days")

    def __init__(self, info: RunInfo, filters: Filters | None = None):
        self.info = info
        self.filters = filters or NO_FILTERS
        self.days = DayAccumulator()

    def text(self, rec: TickRecord) -> str:
        """Feed the record (always) and return its text ('' if filtered out by tick range)."""
        totals = self.days.feed(rec)
        return render_tick(rec, self.info, self.filters, totals)
