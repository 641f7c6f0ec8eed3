"""Scheduled scenario events: shocks and injections at given ticks (engine.md section 8).

Each event is a :class:`ScheduledEvent` (its schedule, type and fields as a plain dict, which
the loader has validated); :func:`apply_event` executes one at step S3 and emits its events.
"""
from __future__ import annotations

import json

from ..errors import SimulationError

SNAKE = {
    "DirectTransfer": "direct_transfer",
    "CustomTransactionArrival": "custom_transaction_arrival",
    "CollateralAdjustment": "collateral_adjustment",
    "GlobalArrivalRateChange": "global_arrival_rate_change",
    "AgentArrivalRateChange": "agent_arrival_rate_change",
    "CounterpartyWeightChange": "counterparty_weight_change",
    "DeadlineWindowChange": "deadline_window_change",
    "ScheduledSettlement": "scheduled_settlement",
    "ParticipantOutage": "participant_outage",
    "ParticipantFailure": "participant_failure",
    "CollateralHaircutChange": "collateral_haircut_change",
}

ARRIVAL_MODIFIERS = frozenset({"GlobalArrivalRateChange", "AgentArrivalRateChange",
                               "CounterpartyWeightChange", "DeadlineWindowChange"})


class ScheduledEvent:
    """One entry of ``scenario_events``: fires once (OneTime) or every ``interval`` ticks."""

    __slots__ = ("index", "type", "params", "tick", "start_tick", "interval")

    def __init__(self, index: int, type_: str, params: dict, *, tick: int | None = None,
                 start_tick: int | None = None, interval: int | None = None):
        self.index = index
        self.type = type_
        self.params = params
        self.tick = tick
        self.start_tick = start_tick
        self.interval = interval

    def fires_at(self, t: int) -> bool:
        if self.tick is not None:
            return t == self.tick
        return t >= self.start_tick and (t - self.start_tick) % self.interval == 0


def event_index(ev: ScheduledEvent) -> int:
    """File position of an event: events due at the same tick run in this order."""
    return ev.index


def index_by_tick(events: list[ScheduledEvent]) -> tuple[dict[int, list[ScheduledEvent]],
                                                        list[ScheduledEvent]]:
    """One-time events grouped by their tick (file order kept), and the repeating events.

    The engine looks a tick's events up instead of scanning every event each tick.

    >>> one = ScheduledEvent(0, "DirectTransfer", {}, tick=3)
    >>> rep = ScheduledEvent(1, "DirectTransfer", {}, start_tick=0, interval=2)
    >>> by_tick, repeating = index_by_tick([one, rep])
    >>> list(by_tick), [e.index for e in repeating]
    ([3], [1])
    """
    by_tick: dict[int, list[ScheduledEvent]] = {}
    repeating = []
    for ev in events:
        if ev.tick is not None:
            by_tick.setdefault(ev.tick, []).append(ev)
        else:
            repeating.append(ev)
    return by_tick, repeating


def details_json(details: dict) -> str:
    """The reference's compact, key-sorted serialisation of ``details``."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _executed(engine, t: int, ev: ScheduledEvent, details: dict) -> None:
    engine.world.events.append(("ScenarioEventExecuted", t, SNAKE[ev.type], details_json(details),
                                details))


def _refresh_gate(w) -> None:
    # the settlement paths test this one flag before looking at any bank's
    w.gated = any(a.send_blocked or a.receive_blocked for a in w.agent_list)


def apply_event(engine, ev: ScheduledEvent, t: int) -> None:
    """Execute one scenario event at tick ``t`` (step S3)."""
    w = engine.world
    p = ev.params
    kind = ev.type
    agents = w.agents
    if kind in ARRIVAL_MODIFIERS and not engine.any_arrivals:
        return  # [QUIRK] no arrival configuration anywhere: silent no-op
    try:
        if kind == "DirectTransfer":
            a, b, x = p["from_agent"], p["to_agent"], int(p["amount"])
            agents[a].balance -= x
            agents[b].balance += x
            _executed(engine, t, ev, {"from_agent": a, "to_agent": b, "amount": x})
        elif kind == "CustomTransactionArrival":
            engine.custom_arrival(ev, t)
        elif kind == "CollateralAdjustment":
            ag = agents[p["agent"]]
            delta = int(p["delta"])
            new_cap = ag.unsecured_cap + delta
            if new_cap < 0:
                raise SimulationError(
                    f"tick {t}, scenario_events[{ev.index}] CollateralAdjustment: agent "
                    f"{ag.id}'s unsecured_cap would become {new_cap} (< 0)")
            ag.unsecured_cap = new_cap
            _executed(engine, t, ev, {"agent": ag.id, "delta": delta})
        elif kind == "GlobalArrivalRateChange":
            m = float(p["multiplier"])
            for ag in w.agent_list:
                gen = ag.arrival
                if gen is not None and gen.has_config:
                    gen.rate = gen.base_rate * m
            _executed(engine, t, ev, {"multiplier": m})
        elif kind == "AgentArrivalRateChange":
            ag = agents[p["agent"]]
            gen = ag.arrival
            if gen is None or not gen.has_config:
                return
            m = float(p["multiplier"])
            old = gen.rate
            gen.rate = old * m
            gen.base_rate = gen.rate
            _executed(engine, t, ev, {"agent": ag.id, "multiplier": m, "old_rate": old,
                                      "new_rate": gen.rate})
        elif kind == "CounterpartyWeightChange":
            ag = agents[p["agent"]]
            gen = ag.arrival
            w_new = float(p["new_weight"])
            if gen is not None and gen.has_config:
                gen.set_weight(p["counterparty"], w_new)
            _executed(engine, t, ev, {"agent": ag.id, "counterparty": p["counterparty"],
                                      "new_weight": w_new,
                                      "auto_balance_others": bool(p.get("auto_balance_others") or False)})
        elif kind == "DeadlineWindowChange":
            mn = p.get("min_ticks_multiplier")
            mx = p.get("max_ticks_multiplier")
            capped = []
            for ag in w.agent_list:
                gen = ag.arrival
                if gen is None or not gen.has_config:
                    continue
                if engine.scale_deadline_window(gen, mn, mx, t):
                    capped.append(ag.id)
            details = {"min_ticks_multiplier": None if mn is None else float(mn),
                       "max_ticks_multiplier": None if mx is None else float(mx)}
            if capped:  # extended only (Engine.scale_deadline_window)
                details["window_capped_for"] = capped
                details["window_cap"] = w.total_ticks
            _executed(engine, t, ev, details)
        elif kind == "ScheduledSettlement":
            a, b, x = p["from_agent"], p["to_agent"], int(p["amount"])
            sa = agents[a]
            details = {"from_agent": a, "to_agent": b, "amount": x}
            if w.gated and (sa.send_blocked or agents[b].receive_blocked):
                details["settled"] = False
                details["reason"] = "participant_unavailable"
            elif sa.can_pay(x):
                before = sa.balance
                sa.balance -= x
                agents[b].balance += x
                w.events.append(("RtgsImmediateSettlement", t,
                                 f"scheduled_settlement_{a}_{b}_{x}_{t}", a, b, x, before,
                                 sa.balance))
                details["settled"] = True
            else:
                details["settled"] = False
                details["reason"] = "insufficient_liquidity"
            _executed(engine, t, ev, details)
        elif kind == "ParticipantOutage":
            ag = agents[p["agent"]]
            start = p["phase"] == "start"
            ag.send_blocked += 1 if start else -1
            _refresh_gate(w)
            _executed(engine, t, ev, {"agent": ag.id, "phase": p["phase"],
                                      "start_tick": int(p["start_tick"]),
                                      "end_tick": int(p["end_tick"])})
        elif kind == "ParticipantFailure":
            ag = agents[p["agent"]]
            ag.send_blocked += 1
            ag.receive_blocked += 1
            _refresh_gate(w)
            _executed(engine, t, ev, {"agent": ag.id})
        elif kind == "CollateralHaircutChange":
            h = float(p["haircut"])
            who = p.get("agent")
            targets = [agents[who]] if who is not None else w.agent_list
            old = {}
            for ag in targets:
                old[ag.id] = ag.collateral_haircut
                ag.collateral_haircut = h
            _executed(engine, t, ev, {"agent": who, "haircut": h, "old_haircuts": old})
        else:  # pragma: no cover - the loader rejects unknown types
            raise SimulationError(f"unknown scenario event type {kind!r}")
    except KeyError as exc:
        raise SimulationError(
            f"tick {t}, scenario_events[{ev.index}] {kind}: unknown agent {exc.args[0]!r}") from None
