"""Small building blocks for engine tests: scripted policies and tiny scenario dicts.

A :class:`ScriptedPolicy` answers every tree with decisions produced by plain Python functions,
so engine mechanics (settlement, costs, collateral, budgets) can be tested without the policy
language.
"""
from __future__ import annotations

from paysim_lab.engine.build import build_engine
from paysim_lab.engine.decisions import Decision


class ScriptedPolicy:
    """Implements the compiled-policy interface with Python callables ``f(env) -> Decision``."""

    def __init__(self, payment=None, bank=None, strategic=None, end_of_tick=None,
                 initial_liquidity_fraction=None, queue2=False):
        self._payment = payment
        self._bank = bank
        self._strategic = strategic
        self._eot = end_of_tick
        self.has_payment_tree = payment is not None
        self.has_bank_tree = bank is not None
        self.has_strategic_tree = strategic is not None
        self.has_end_of_tick_tree = end_of_tick is not None
        self.uses_queue2_actions = queue2
        self.initial_liquidity_fraction = initial_liquidity_fraction
        self.parameters = {}
        self.document = {}

    def payment(self, env):
        return self._payment(env)

    def bank(self, env):
        d = self._bank(env)
        return d if isinstance(d, list) else [d]

    def strategic_collateral(self, env):
        return self._strategic(env)

    def end_of_tick_collateral(self, env):
        return self._eot(env)


RELEASE = Decision("Release", path="R")


def fifo() -> ScriptedPolicy:
    return ScriptedPolicy(payment=lambda env: RELEASE)


def engine_for(cfg: dict, policies: dict | None = None, default=fifo, seed=None):
    """Build an engine from a scenario dict; agents without a given policy get ``default()``."""
    pols = {}
    for a in cfg["agents"]:
        pols[a["id"]] = (policies or {}).get(a["id"]) or default()
    return build_engine(cfg, pols, seed=seed)


def run(engine, ticks=None):
    n = engine.world.total_ticks if ticks is None else ticks
    for _ in range(n):
        engine.tick()
    return [e for e in engine.world.events]


def of_type(events, et):
    from paysim_lab.engine.events import to_dict
    return [to_dict(e) for e in events if e[0] == et]


def two_banks(a_bal=100_000, b_bal=0, tpd=10, days=1, **extra) -> dict:
    """Engine config of banks A and B with the per-tick cost rates at zero (hand numbers)."""
    cfg = {"simulation": {"ticks_per_day": tpd, "num_days": days, "rng_seed": 1},
           "agents": [{"id": "A", "opening_balance": a_bal},
                      {"id": "B", "opening_balance": b_bal}],
           "cost_rates": {"overdraft_bps_per_tick": 0.0, "delay_cost_per_tick_per_cent": 0.0,
                          "collateral_cost_per_tick_bps": 0.0}}
    cfg.update(extra)
    return cfg


def pay(frm, to, amount, tick, deadline=None, priority=None) -> dict:
    """A one-time CustomTransactionArrival scenario event."""
    ev = {"type": "CustomTransactionArrival", "from_agent": frm, "to_agent": to,
          "amount": amount, "schedule": {"type": "OneTime", "tick": tick}}
    if deadline is not None:
        ev["deadline"] = deadline
    if priority is not None:
        ev["priority"] = priority
    return ev
