"""The data the verbose log renders with: a run's static :class:`RunInfo`, display
:class:`Filters` and the running :class:`DayTotals` of the current day."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from .engine.state import Penalty
from .records import TickRecord, canonical_json
from .report_text import AGENT_FIELDS, RECEIVER_FIELD


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
