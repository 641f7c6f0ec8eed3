"""Per-bank daily figures (``daily_agent_metrics``) and end-of-day Queue 1 contents.

A :class:`DayTracker` is fed every tick (its record and its events, as columns) and emits the
day's rows after the day's last tick. Counts come from whole event columns (Counter over the
sender / receiver columns), not from one dict per event.
"""
from __future__ import annotations

from collections import Counter

from ..eventlog import EventLog
from ..records import TickRecord
from .schema import AGENT_QUEUE_SNAPSHOTS, DAILY_AGENT_METRICS

SETTLE_ONE = ("RtgsImmediateSettlement", "Queue2LiquidityRelease", "LsmQueueRetrySettlement")


class _DayState:
    """One bank's running figures for the day being recorded."""

    __slots__ = ("opening_balance", "min_balance", "max_balance", "peak_overdraft",
                 "opening_posted", "peak_posted", "q1_peak", "start_costs", "posts",
                 "withdrawals", "arrivals", "sent", "received", "settled", "dropped")

    def __init__(self, balance: int, posted: int, costs: dict[str, int]):
        self.opening_balance = balance
        self.min_balance = balance
        self.max_balance = balance
        self.peak_overdraft = max(-balance, 0)
        self.opening_posted = posted
        self.peak_posted = posted
        self.q1_peak = 0
        self.start_costs = costs
        self.posts = self.withdrawals = self.arrivals = self.sent = 0
        self.received = self.settled = self.dropped = 0


def cost_snapshot(state: dict) -> dict[str, int]:
    """A bank's run-to-date costs in the daily table's terms, from an agent-state row."""
    return {
        "liquidity_cost": state["cost_overdraft"], "delay_cost": state["cost_delay"],
        "collateral_cost": state["cost_collateral"],
        "split_friction_cost": state["cost_split_friction"],
        "deadline_penalty_cost": state["cost_deadline_penalty"] + state["cost_eod_penalty"],
        "liquidity_opportunity_cost": state["cost_liquidity_opportunity"],
        "total_cost": state["total_cost"],
    }


def _costs_of(agent) -> dict[str, int]:
    run = agent.cost_run
    return {"liquidity_cost": run[0], "delay_cost": run[1], "collateral_cost": run[2],
            "split_friction_cost": run[6], "deadline_penalty_cost": run[4] + run[5],
            "liquidity_opportunity_cost": run[3], "total_cost": sum(run)}


_COUNT_KINDS = ("arrivals", "sent", "dropped", "settled", "received", "posts", "withdrawals")


def _new_counts() -> dict[str, Counter]:
    return {k: Counter() for k in _COUNT_KINDS}


class DayTracker:
    """Feeds on ticks in order; ``rows`` / ``queues`` collect the finished days' rows."""

    def __init__(self, run_id: str, world):
        self.run_id = run_id
        self.world = world
        self.rows = {c: [] for c in DAILY_AGENT_METRICS.column_names}
        self.queues = {c: [] for c in AGENT_QUEUE_SNAPSHOTS.column_names}
        self._day: int | None = None
        self._days: dict[str, _DayState] = {}
        self._prev_rtgs: list[str] = []      # Queue 2 payment ids after the previous tick
        self._last_states: dict[str, list] | None = None
        self._splits_seen = False
        self._counts = _new_counts()      # the day's event counts per bank, per kind
        self._last = {a.id: (a.balance, a.posted_collateral, _costs_of(a))
                      for a in world.agent_list}

    def reset_rows(self) -> None:
        self.rows = {c: [] for c in DAILY_AGENT_METRICS.column_names}
        self.queues = {c: [] for c in AGENT_QUEUE_SNAPSHOTS.column_names}

    def feed(self, rec: TickRecord, states: dict[str, list], log: EventLog, lo: int, hi: int,
             rtgs_ids: list[str], queue1: dict[str, list[str]] | None) -> None:
        """One tick: its record, its bank states as columns, its events (seqs lo..hi-1 of
        ``log``), the Queue 2 ids after it, and (at the end of a day) each bank's Queue 1 ids."""
        if rec.day != self._day:
            self._day = rec.day
            if self._last_states is not None:      # the previous tick's end is the day's start
                self._remember(self._last_states)
            self._days = {aid: _DayState(bal, posted, costs)
                          for aid, (bal, posted, costs) in self._last.items()}
            self._counts = _new_counts()
        days = self._days
        for aid, bal, credit, posted, q1 in zip(states["agent_id"], states["balance"],
                                                states["credit_used"],
                                                states["posted_collateral"],
                                                states["queue1_count"]):
            ds = days.get(aid)
            if ds is None:
                continue
            if bal < ds.min_balance:
                ds.min_balance = bal
            if bal > ds.max_balance:
                ds.max_balance = bal
            if credit > ds.peak_overdraft:
                ds.peak_overdraft = credit
            if posted > ds.peak_posted:
                ds.peak_posted = posted
            if q1 > ds.q1_peak:
                ds.q1_peak = q1
        self._last_states = states
        self._count_events(rec.tick, log, lo, hi)
        self._prev_rtgs = rtgs_ids
        if rec.summary["is_end_of_day"]:
            self._close_day(rec, states, queue1 or {})

    def _remember(self, states: dict[str, list]) -> None:
        """Each bank's balance, posted collateral and costs from a tick's state columns."""
        names = list(states)
        for vals in zip(*states.values()):
            a = dict(zip(names, vals))
            self._last[a["agent_id"]] = (a["balance"], a["posted_collateral"], cost_snapshot(a))

    def _count_events(self, tick: int, log: EventLog, lo: int, hi: int) -> None:
        txs = self.world.txs
        counts = self._counts

        def settled(tid):
            tx = txs.get(tid)
            if tx is not None:
                counts["settled"][tx.sender_id] += 1
                counts["received"][tx.receiver_id] += 1

        slices = list(log.slices(lo, hi))
        # split children exist only after a PolicySplit event; until then no arrival has a
        # parent and arrivals are counted per sender without looking payments up
        self._splits_seen = self._splits_seen or any(
            tc.event_type == "PolicySplit" for tc, _, _ in slices)
        for tc, a, b in slices:
            et, f = tc.event_type, tc.field
            if et == "Arrival":
                if not self._splits_seen:      # no payment has a parent yet: count them all
                    counts["arrivals"].update(f("sender_id")[a:b])
                    continue
                for sender, tid in zip(f("sender_id")[a:b], f("tx_id")[a:b]):
                    tx = txs.get(tid)
                    if tx is None or tx.parent_id is None:
                        counts["arrivals"][sender] += 1
            elif et == "PolicySubmit":
                counts["sent"].update(f("agent_id")[a:b])
            elif et == "PolicySplit":
                for agent, children in zip(f("agent_id")[a:b], f("child_ids")[a:b]):
                    counts["sent"][agent] += len(children or ())
            elif et == "PolicyDrop":
                counts["dropped"].update(f("agent_id")[a:b])
            elif et in SETTLE_ONE:
                counts["settled"].update(f("sender")[a:b])
                counts["received"].update(f("receiver")[a:b])
            elif et == "LsmBilateralOffset":
                for ok, ids in zip(f("settled")[a:b], f("tx_ids")[a:b]):
                    if ok:
                        for tid in ids:
                            settled(tid)
            elif et == "LsmCycleSettlement":
                for ids in f("tx_ids")[a:b]:
                    for tid in ids:
                        settled(tid)
            elif et == "EntryDispositionOffset":
                for ok, x, y in zip(f("settled")[a:b], f("agent_a")[a:b], f("agent_b")[a:b]):
                    if not ok:
                        continue
                    pair = {x, y}
                    for tid in self._prev_rtgs:
                        tx = txs.get(tid)
                        if (tx is not None and {tx.sender_id, tx.receiver_id} == pair
                                and tx.settled_tick == tick and tx.settled_by == "lsm_bilateral"):
                            settled(tid)
            elif et == "CollateralPost":
                counts["posts"].update(f("agent_id")[a:b])
            elif et in ("CollateralWithdraw", "CollateralTimerWithdrawn"):
                counts["withdrawals"].update(f("agent_id")[a:b])

    def _close_day(self, rec: TickRecord, states: dict[str, list],
                   queue1: dict[str, list[str]]) -> None:
        days = self._days
        for attr, counter in self._counts.items():     # the day's counts, once per day
            for agent, n in counter.items():
                ds = days.get(agent)
                if ds is not None:
                    setattr(ds, attr, getattr(ds, attr) + n)
        rid = self.run_id
        agents = self.world.agents
        rows = self.rows
        names = list(states)
        for vals in zip(*states.values()):
            a = dict(zip(names, vals))
            aid = a["agent_id"]
            ds = self._days.get(aid)
            if ds is None:
                continue
            now = cost_snapshot(a)
            agent = agents.get(aid)
            row = {
                "simulation_id": rid, "agent_id": aid, "day": rec.day,
                "opening_balance": ds.opening_balance, "closing_balance": a["balance"],
                "min_balance": ds.min_balance, "max_balance": ds.max_balance,
                "unsecured_cap": a["unsecured_cap"], "peak_overdraft": ds.peak_overdraft,
                "opening_posted_collateral": ds.opening_posted,
                "closing_posted_collateral": a["posted_collateral"],
                "peak_posted_collateral": ds.peak_posted,
                "collateral_capacity": agent.max_collateral_capacity if agent else None,
                "num_collateral_posts": ds.posts, "num_collateral_withdrawals": ds.withdrawals,
                "num_arrivals": ds.arrivals, "num_sent": ds.sent, "num_received": ds.received,
                "num_settled": ds.settled, "num_dropped": ds.dropped,
                "queue1_peak_size": ds.q1_peak, "queue1_eod_size": a["queue1_count"],
            }
            for k, v in now.items():
                row[k] = v - ds.start_costs.get(k, 0)
            for k, v in row.items():
                rows[k].append(v)
        q = self.queues
        for aid in sorted(queue1):
            for pos, tid in enumerate(queue1[aid]):
                q["simulation_id"].append(rid)
                q["agent_id"].append(aid)
                q["day"].append(rec.day)
                q["queue_type"].append("queue1")
                q["position"].append(pos)
                q["transaction_id"].append(tid)
