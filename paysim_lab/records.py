"""Per-tick records: what one completed tick leaves behind for every view.

The engine's event tuples plus a snapshot of every bank and queue after the tick. The verbose
log, the DuckDB store and the widgets consume :class:`TickRecord` objects, live or read back
from a store, so live output and replay are the same function of the same data.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import add, attrgetter, sub

from .engine.events import FIELDS
from .engine.state import (COST_KINDS, IN_QUEUE1, IN_QUEUE2, OVERDUE, SETTLED, Agent,
                           Transaction, World)

# Columns of one bank's end-of-tick state (persistence.md 3.8 + sim.history()).
AGENT_STATE_COLUMNS = (
    "agent_id", "balance", "balance_change", "unsecured_cap", "posted_collateral",
    "credit_used", "available_liquidity", "allowed_overdraft_limit", "collateral_haircut",
    "queue1_count", "queue1_value", "queue2_count", "queue2_value", "release_budget_max",
    "release_budget_remaining", "liquidity_cost", "delay_cost", "collateral_cost",
    "penalty_cost", "split_friction_cost", "liquidity_cost_delta", "delay_cost_delta",
    "collateral_cost_delta", "penalty_cost_delta", "split_friction_cost_delta", "total_cost",
    "cost_overdraft", "cost_delay", "cost_collateral", "cost_liquidity_opportunity",
    "cost_deadline_penalty", "cost_eod_penalty", "cost_split_friction", "registers_json",
)

QUEUE_COLUMNS = ("queue_type", "agent_id", "position", "tx_id", "receiver_id", "amount",
                 "remaining_amount", "priority", "deadline_tick", "rtgs_priority",
                 "overdue_since_tick")

# Columns of ``sim.history()`` and ``store.history()``.
HISTORY_COLUMNS = ("tick", "day", "agent_id", "balance", "credit_used", "posted_collateral",
                   "available_liquidity", "queue1_count", "queue1_value", "queue2_count",
                   "queue2_value", "release_budget_remaining", "cost_to_date")

# Columns of ``sim.transactions()`` and ``store.transactions()`` (same names, same order).
TRANSACTION_COLUMNS = (
    "tx_id", "parent_id", "sender_id", "receiver_id", "amount", "remaining_amount", "priority",
    "original_priority", "arrival_tick", "deadline_tick", "status", "settlement_tick",
    "settled_by", "overdue", "overdue_since_tick", "dropped", "withdrawn", "location",
    "rtgs_priority", "declared_rtgs_priority", "is_divisible", "split_index")

#: The one status vocabulary of payments in frames and the store (persistence.md 3.5).
STATUSES = ("pending", "settled", "overdue", "dropped")
_LOCATIONS = {IN_QUEUE1: "queue1", IN_QUEUE2: "queue2"}

SUMMARY_COLUMNS = ("num_arrivals", "num_settlements", "num_lsm_releases", "total_cost",
                   "queue1_total", "queue2_total", "is_end_of_day")


def canonical_json(value, sort_keys: bool = True) -> str:
    """Canonical JSON (persistence.md 3.0): sorted keys, no spaces, NaN/inf as strings.

    >>> canonical_json({"b": 1, "a": [float("nan"), 5.0]})
    '{"a":["NaN",5.0],"b":1}'
    """
    return json.dumps(_encode_nonfinite(value), sort_keys=sort_keys, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


def _encode_nonfinite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, dict):
        return {k: _encode_nonfinite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_encode_nonfinite(x) for x in v]
    return v


def decode_float(v):
    """Inverse of the NaN/inf string encoding for float-typed fields."""
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
    return v


@dataclass(slots=True)
class TickRecord:
    """Everything one tick produced. ``events`` are dicts ``{seq, event_type, tick, ...}``.

    ``seq_range`` is the (first, end) seq of the tick's events when the record comes from a live
    run: the store reads those events from the Simulation's columnar log instead of the dicts.
    """

    tick: int
    day: int
    events: Sequence[dict]
    summary: dict
    agent_states: list[dict]
    queues: list[dict] = field(default_factory=list)
    seq_range: tuple[int, int] | None = None


class LazyRows(Sequence):
    """Rows as dicts built on first use from what a tick record holds more cheaply
    (engine tuples, columns); subclasses give ``_all()`` and ``__len__``."""

    __slots__ = ()

    def _all(self) -> list[dict]:
        raise NotImplementedError

    def __getitem__(self, i):
        return self._all()[i]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other) -> bool:
        if isinstance(other, (list, tuple, LazyRows)):
            return self._all() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._all())


class EventDicts(LazyRows):
    """One tick's events as dicts ``{seq, event_type, tick, **fields}``, made on first use.

    Live tick records carry this instead of a list: listeners that never look at the dicts
    (the store writer reads columns) cost nothing per event.

    >>> ev = EventDicts([("QueuedRtgs", 3, "tx_1", "A")], 10)
    >>> len(ev), ev[0]
    (1, {'seq': 10, 'event_type': 'QueuedRtgs', 'tick': 3, 'tx_id': 'tx_1', 'sender_id': 'A'})
    """

    __slots__ = ("_recs", "_seq0", "_dicts")

    def __init__(self, records: list[tuple], seq0: int):
        self._recs = records
        self._seq0 = seq0
        self._dicts: list[dict] | None = None

    def _all(self) -> list[dict]:
        if self._dicts is None:
            self._dicts = event_dicts(self._recs, self._seq0)
            self._recs = None
        return self._dicts

    def __len__(self) -> int:
        return len(self._recs) if self._dicts is None else len(self._dicts)


def event_dicts(records: list[tuple], seq0: int) -> list[dict]:
    out = []
    for i, rec in enumerate(records):
        d = {"seq": seq0 + i, "event_type": rec[0], "tick": rec[1]}
        d.update(zip(FIELDS[rec[0]], rec[2:]))
        out.append(d)
    return out


def transaction_status(tx: Transaction) -> str:
    """``dropped``, ``settled``, ``overdue`` or ``pending`` (in that order of precedence).

    >>> from paysim_lab.engine.state import Transaction
    >>> transaction_status(Transaction("tx_1", 0, "A", "B", 100, 0, 10, 5))
    'pending'
    """
    if tx.dropped:
        return "dropped"
    if tx.status == SETTLED:
        return "settled"
    if tx.status == OVERDUE:
        return "overdue"
    return "pending"


def transaction_location(tx: Transaction) -> str:
    """Where a payment waits: ``queue1``, ``queue2`` or ``none``."""
    return _LOCATIONS.get(tx.location, "none")


_STATE_GET = attrgetter("id", "balance", "unsecured_cap", "posted_collateral", "credit_used",
                        "available_liquidity", "allowed_overdraft_limit", "collateral_haircut",
                        "queue1", "queue1_value", "queue2_count", "queue2_value",
                        "release_budget", "cost_run", "state_registers")


def agent_state_columns(agents: list[Agent], prev_balance: list[int],
                        prev_costs: list[list[int]]) -> dict[str, list]:
    """Every bank's end-of-tick state as columns (AGENT_STATE_COLUMNS, banks in order).

    ``prev_balance`` / ``prev_costs`` are each bank's balance and ``cost_run`` after the
    previous tick (same order). One C-level attribute fetch per bank; the derived columns are
    whole-column maps. Equal, row by row, to :func:`agent_state`.
    """
    if not agents:
        return {c: [] for c in AGENT_STATE_COLUMNS}
    (ids, bal, cap, posted, credit, avail, limit, haircut, q1, q1v, q2c, q2v, budgets, runs,
     regs) = map(list, zip(*map(_STATE_GET, agents)))
    run = list(zip(*runs))
    prev = list(zip(*prev_costs))
    penalty = list(map(add, run[4], run[5]))
    prev_pen = list(map(add, prev[4], prev[5]))
    cols = {
        "agent_id": ids, "balance": bal, "balance_change": list(map(sub, bal, prev_balance)),
        "unsecured_cap": cap, "posted_collateral": posted, "credit_used": credit,
        "available_liquidity": avail, "allowed_overdraft_limit": limit,
        "collateral_haircut": haircut, "queue1_count": list(map(len, q1)),
        "queue1_value": q1v, "queue2_count": q2c, "queue2_value": q2v,
        "release_budget_max": [None if b is None else b.max_value for b in budgets],
        "release_budget_remaining": [None if b is None else b.remaining for b in budgets],
        "liquidity_cost": list(run[0]), "delay_cost": list(run[1]),
        "collateral_cost": list(run[2]), "penalty_cost": penalty,
        "split_friction_cost": list(run[6]),
        "liquidity_cost_delta": list(map(sub, run[0], prev[0])),
        "delay_cost_delta": list(map(sub, run[1], prev[1])),
        "collateral_cost_delta": list(map(sub, run[2], prev[2])),
        "penalty_cost_delta": list(map(sub, penalty, prev_pen)),
        "split_friction_cost_delta": list(map(sub, run[6], prev[6])),
        "total_cost": list(map(sum, runs)),
    }
    for i, k in enumerate(COST_KINDS):
        cols[f"cost_{k}"] = list(run[i])
    cols["registers_json"] = [canonical_json(r) if r else "{}" for r in regs]
    return cols


class AgentStates(LazyRows):
    """A tick's bank states: ``columns`` (AGENT_STATE_COLUMNS), rows as dicts on first use.

    >>> st = AgentStates({"agent_id": ["A"], "balance": [5]})
    >>> st[0], len(st)
    ({'agent_id': 'A', 'balance': 5}, 1)
    """

    __slots__ = ("columns", "_rows")

    def __init__(self, columns: dict[str, list]):
        self.columns = columns
        self._rows: list[dict] | None = None

    def _all(self) -> list[dict]:
        if self._rows is None:
            names = list(self.columns)
            self._rows = [dict(zip(names, vals)) for vals in zip(*self.columns.values())]
        return self._rows

    def __len__(self) -> int:
        return len(self.columns["agent_id"])


def state_columns(states) -> dict[str, list]:
    """The columns of a record's agent states (live records have them; others are rows)."""
    if isinstance(states, AgentStates):
        return states.columns
    return {c: [a.get(c) for a in states] for c in AGENT_STATE_COLUMNS}


def agent_state(a: Agent, prev_balance: int, prev_costs: list[int]) -> dict:
    """One bank's end-of-tick state as a dict of AGENT_STATE_COLUMNS."""
    run = a.cost_run
    penalty = run[4] + run[5]
    prev_pen = prev_costs[4] + prev_costs[5]
    b = a.release_budget
    return {
        "agent_id": a.id, "balance": a.balance, "balance_change": a.balance - prev_balance,
        "unsecured_cap": a.unsecured_cap, "posted_collateral": a.posted_collateral,
        "credit_used": a.credit_used, "available_liquidity": a.available_liquidity,
        "allowed_overdraft_limit": a.allowed_overdraft_limit,
        "collateral_haircut": a.collateral_haircut,
        "queue1_count": len(a.queue1), "queue1_value": a.queue1_value,
        "queue2_count": a.queue2_count, "queue2_value": a.queue2_value,
        "release_budget_max": b.max_value if b is not None else None,
        "release_budget_remaining": b.remaining if b is not None else None,
        "liquidity_cost": run[0], "delay_cost": run[1], "collateral_cost": run[2],
        "penalty_cost": penalty, "split_friction_cost": run[6],
        "liquidity_cost_delta": run[0] - prev_costs[0], "delay_cost_delta": run[1] - prev_costs[1],
        "collateral_cost_delta": run[2] - prev_costs[2], "penalty_cost_delta": penalty - prev_pen,
        "split_friction_cost_delta": run[6] - prev_costs[6],
        "total_cost": sum(run),
        **{f"cost_{k}": run[i] for i, k in enumerate(COST_KINDS)},
        "registers_json": canonical_json(a.state_registers),
    }


_QUEUE_GET = attrgetter("tx_id", "receiver_id", "amount", "remaining_amount", "priority",
                        "deadline_tick", "rtgs_priority", "overdue_since_tick")


def queue_columns(world: World) -> dict[str, list]:
    """:func:`queue_rows` as columns (QUEUE_COLUMNS): one attribute fetch per queued payment."""
    kinds: list[str] = []
    owners: list[str] = []
    positions: list[int] = []
    fetched: list[tuple] = []
    for a in world.agent_list:
        q = a.queue1
        if q:
            n = len(q)
            kinds.extend(["queue1"] * n)
            owners.extend([a.id] * n)
            positions.extend(range(n))
            fetched.extend(map(_QUEUE_GET, q))
    rtgs = [tx for tx in world.queue2 if tx.location == IN_QUEUE2]
    kinds.extend(["rtgs"] * len(rtgs))
    owners.extend([tx.sender_id for tx in rtgs])
    positions.extend(range(len(rtgs)))
    fetched.extend(map(_QUEUE_GET, rtgs))
    cols = {"queue_type": kinds, "agent_id": owners, "position": positions}
    values = list(zip(*fetched)) if fetched else [()] * 8
    for name, col in zip(QUEUE_COLUMNS[3:], values):
        cols[name] = list(col)
    return cols


class QueueRows(AgentStates):
    """A tick's queue snapshot: ``columns`` (QUEUE_COLUMNS), rows as dicts on first use.

    >>> rows = QueueRows({"queue_type": ["rtgs"], "tx_id": ["tx_1"]})
    >>> rows[0], len(rows)
    ({'queue_type': 'rtgs', 'tx_id': 'tx_1'}, 1)
    """

    __slots__ = ()

    def __len__(self) -> int:
        return len(self.columns["queue_type"])


def queue_rows(world: World) -> list[dict]:
    """Queue 1 of every bank (agent order) and Queue 2 (global order) after a tick."""
    rows = []
    for a in world.agent_list:
        for pos, tx in enumerate(a.queue1):
            rows.append(_queue_row("queue1", a.id, pos, tx))
    pos = 0
    for tx in world.queue2:
        if tx.location == IN_QUEUE2:
            rows.append(_queue_row("rtgs", tx.sender_id, pos, tx))
            pos += 1
    return rows


def _queue_row(kind: str, owner: str, pos: int, tx) -> dict:
    return {"queue_type": kind, "agent_id": owner, "position": pos, "tx_id": tx.tx_id,
            "receiver_id": tx.receiver_id, "amount": tx.amount,
            "remaining_amount": tx.remaining_amount, "priority": tx.priority,
            "deadline_tick": tx.deadline_tick, "rtgs_priority": tx.rtgs_priority,
            "overdue_since_tick": tx.overdue_since_tick}
