"""The seed plan's test vocabulary on top of paysim_lab's public API.

The users' seed plan (``shared/seed/fix-plan.md``) writes its four tests against SimCash's
Python bindings: ``Orchestrator.new(config)``, ``orch.tick()``, ``get_tick_events``,
``write_events_batch`` into a test store, ``display_tick_verbose_output``. This module gives
those names paysim_lab meanings so the test bodies in ``test_seed_plan.py`` stay as written:

- ``Orchestrator`` drives a :class:`paysim_lab.Simulation` (default, i.e. extended, profile);
  events are dicts with ``event_type``, ``tick`` and the event's fields.
- ``create_test_persistence()`` opens an in-memory :class:`paysim_lab.Store`;
  ``write_events_batch(conn, simulation_id, events)`` records the ticks those events belong to
  by running the same configuration again into the store under ``simulation_id`` (runs are
  deterministic, so the stored events are the ones given; the test checks that too).
- ``display_tick_verbose_output`` prints the verbose log text of the tick.
"""
from __future__ import annotations

import warnings

import paysim_lab as psl
from paysim_lab.report import RunInfo, VerboseLog


def _simulation(config, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.Simulation(config, **kwargs)


class TickEvents(list):
    """Events of some ticks, remembering where they came from."""

    def __init__(self, events, orchestrator, last_tick):
        super().__init__(events)
        self.orchestrator = orchestrator
        self.last_tick = last_tick


class Orchestrator:
    def __init__(self, config):
        self.config = config
        self.sim = _simulation(config)
        self.log = VerboseLog(RunInfo.from_sim(self.sim))
        self.texts: dict[int, str] = {}
        self.sim.add_listener(lambda rec: self.texts.__setitem__(rec.tick, self.log.text(rec)))

    @classmethod
    def new(cls, config) -> "Orchestrator":
        return cls(config)

    def tick(self) -> None:
        self.sim.step()

    def _run_through(self, tick: int) -> None:
        # SimCash's bindings run a tick before its events can be read; so does this adapter.
        while self.sim.current_tick <= tick:
            self.sim.step()

    def get_agent_posted_collateral(self, agent_id: str) -> int:
        agents = self.sim.agents().set_index("agent_id")
        return int(agents.loc[agent_id, "posted_collateral"])

    def _events(self, lo: int, hi: int) -> TickEvents:
        from paysim_lab.engine.events import to_dict
        out = [to_dict(rec) for _, rec in self.sim.event_records() if lo <= rec[1] <= hi]
        return TickEvents(out, self, hi)

    def get_tick_events(self, tick: int) -> TickEvents:
        self._run_through(tick)
        return self._events(tick, tick)

    def get_all_events(self) -> TickEvents:
        return self._events(0, self.sim.current_tick - 1)


_STORES: dict[int, psl.Store] = {}


class Persistence:
    def __init__(self):
        self.store = psl.Store()
        self.conn = self.store.connection
        _STORES[id(self.conn)] = self.store


def create_test_persistence() -> Persistence:
    return Persistence()


def write_events_batch(conn, simulation_id: str, events: TickEvents) -> None:
    store = _STORES[id(conn)]
    orch = events.orchestrator
    sim = _simulation(orch.config, store=store, run_id=simulation_id)
    sim.step(events.last_tick + 1)
    from paysim_lab.engine.events import to_dict
    replayed = [to_dict(rec) for _, rec in sim.event_records()
                if events and events[0]["tick"] <= rec[1] <= events.last_tick]
    assert replayed == list(events), "the stored run differs from the live one"
    sim.close()


class OrchestratorStateProvider:
    def __init__(self, orchestrator: Orchestrator):
        self.orchestrator = orchestrator


def display_tick_verbose_output(provider, events, tick_num, agent_ids, prev_balances,
                                num_arrivals, num_settlements, num_lsm_releases) -> None:
    orch = provider.orchestrator
    orch._run_through(tick_num)
    print(orch.texts[tick_num], end="")


def create_collateral_test_config() -> dict:
    """One bank whose strategic collateral tree posts 1,000.00 at tick 2 and withdraws 400.00
    at tick 6."""
    def at(tick, then, otherwise, node):
        return {"type": "condition", "node_id": node,
                "condition": {"op": "==", "left": {"field": "current_tick"},
                              "right": {"value": float(tick)}},
                "on_true": then, "on_false": otherwise}

    post = {"type": "action", "node_id": "P", "action": "PostCollateral",
            "parameters": {"amount": {"value": 100000.0},
                           "reason": {"value": "PreemptivePosting"}}}
    withdraw = {"type": "action", "node_id": "W", "action": "WithdrawCollateral",
                "parameters": {"amount": {"value": 40000.0},
                               "reason": {"value": "LiquidityRestored"}}}
    hold = {"type": "action", "node_id": "H", "action": "HoldCollateral"}
    pol = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "collateral_test",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "strategic_collateral_tree": at(2, post, at(6, withdraw, hold, "C6"), "C2")}}
    return {"simulation": {"ticks_per_day": 20, "num_days": 1, "rng_seed": 42},
            "agents": [{"id": "TEST_BANK", "opening_balance": 1000000, "unsecured_cap": 50000,
                        "policy": pol},
                       {"id": "OTHER", "opening_balance": 0}]}


def create_budget_test_config() -> dict:
    """One bank whose bank tree sets a release budget every tick."""
    bank = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "budgeted",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "bank_tree": {"type": "action", "node_id": "B1", "action": "SetReleaseBudget",
                      "parameters": {"max_value_to_release": {"value": 8750000},
                                     "focus_counterparties": {"value": ["OTHER"]},
                                     "max_per_counterparty": {"value": 5000000}}}}}
    return {"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 3},
            "agents": [{"id": "TEST_BANK", "opening_balance": 10_000_000, "policy": bank},
                       {"id": "OTHER", "opening_balance": 0}]}
