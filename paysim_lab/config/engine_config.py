"""What the engine runs with: the scenario's values after the compatibility profile is applied.

``Scenario.engine_config()`` returns an ``EngineConfig``: a frozen object whose attribute names
are those of the Scenario, with every default filled in. In the ``simcash`` profile the keys
of engine.md 0.3 that SimCash's loader never passes to its engine are replaced by the engine
defaults, so a run reproduces SimCash's. Nested blocks are deep copies of the scenario's frozen
models: the engine may keep references to them without being able to alter the scenario.

>>> # cfg = scenario.engine_config(); cfg.agents[0].collateral_haircut  -> 0.02 when not written
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from . import models as m

DEFAULT_HAIRCUT = 0.02
DEFAULT_ALLOCATION_FRACTION = 1.0


@dataclass(frozen=True, slots=True)
class EngineAgent:
    """One bank as the engine must set it up (config order is kept in ``EngineConfig.agents``)."""

    id: str
    opening_balance: int
    unsecured_cap: int
    arrival_config: m.ArrivalConfig | None
    arrival_bands: m.ArrivalBands | None
    posted_collateral: int                 # 0 when not written, or in the simcash profile
    collateral_haircut: float              # 0.02 when not written, or in the simcash profile
    max_collateral_capacity: int | None    # None: 10 x unsecured_cap, evaluated live
    limits: m.Limits | None                # None in the simcash profile
    liquidity_pool: int | None
    liquidity_allocation_fraction: float   # 1.0 when not written


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The effective configuration of a run (see module docstring)."""

    profile: str
    simulation: m.SimulationConfig
    agents: tuple[EngineAgent, ...]
    cost_rates: m.CostRates
    lsm_config: m.LsmConfig
    scenario_events: tuple            # of the event models, file order
    deferred_crediting: bool
    deadline_cap_at_eod: bool
    queue1_ordering: str              # "fifo" | "priority_deadline"
    priority_mode: bool
    priority_escalation: m.PriorityEscalation
    algorithm_sequencing: bool
    entry_disposition_offsetting: bool
    eod_rush_threshold: float
    daily_liquidity_reallocation: bool
    policy_feature_toggles: m.PolicyFeatureToggles | None
    cost_feature_toggles: m.CostFeatureToggles | None
    payments: Any = None              # a PaymentFeed (payments table), shared read-only

    @property
    def total_ticks(self) -> int:
        return self.simulation.ticks_per_day * self.simulation.num_days


def _copy(model):
    """A copy whose dicts and lists are fresh (the scalars and nested frozen models are shared).

    Only containers can be changed through a frozen model, so copying them is enough to keep
    the scenario safe from an engine that mutates its configuration (e.g. weight changes).
    """
    if model is None:
        return None
    update = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, dict):
            update[name] = {k: _copy(v) if isinstance(v, BaseModel) else v
                            for k, v in value.items()}
        elif isinstance(value, list):
            update[name] = [_copy(v) if isinstance(v, BaseModel) else v for v in value]
        elif isinstance(value, BaseModel):
            update[name] = _copy(value)
    return model.model_copy(update=update) if update else model


def build_engine_config(scenario: m.Scenario) -> EngineConfig:
    """Apply the scenario's profile and fill every default (engine.md 0.3 and 3)."""
    simcash = scenario.profile == "simcash"
    agents = []
    for a in scenario.agents:
        posted = 0 if simcash or a.posted_collateral is None else a.posted_collateral
        haircut = (DEFAULT_HAIRCUT if simcash or a.collateral_haircut is None
                   else a.collateral_haircut)
        fraction = (DEFAULT_ALLOCATION_FRACTION if a.liquidity_allocation_fraction is None
                    else a.liquidity_allocation_fraction)
        agents.append(EngineAgent(
            id=a.id, opening_balance=a.opening_balance, unsecured_cap=a.unsecured_cap,
            arrival_config=_copy(a.arrival_config), arrival_bands=_copy(a.arrival_bands),
            posted_collateral=posted, collateral_haircut=haircut,
            max_collateral_capacity=a.max_collateral_capacity,
            limits=None if simcash else _copy(a.limits),
            liquidity_pool=a.liquidity_pool, liquidity_allocation_fraction=fraction))
    s = scenario
    return EngineConfig(
        profile=scenario.profile,
        simulation=_copy(s.simulation),
        agents=tuple(agents),
        cost_rates=_copy(s.cost_rates),
        lsm_config=_copy(s.lsm_config),
        scenario_events=tuple(_copy(e) for e in (s.scenario_events or ())),
        deferred_crediting=s.deferred_crediting,
        deadline_cap_at_eod=s.deadline_cap_at_eod,
        queue1_ordering="fifo" if simcash else s.queue1_ordering,
        priority_mode=False if simcash else s.priority_mode,
        priority_escalation=m.PriorityEscalation() if simcash else _copy(s.priority_escalation),
        algorithm_sequencing=False if simcash else s.algorithm_sequencing,
        entry_disposition_offsetting=False if simcash else s.entry_disposition_offsetting,
        eod_rush_threshold=0.8 if simcash else s.eod_rush_threshold,
        daily_liquidity_reallocation=True if simcash else s.daily_liquidity_reallocation,
        policy_feature_toggles=_copy(s.policy_feature_toggles),
        cost_feature_toggles=_copy(s.cost_feature_toggles),
        payments=s._payment_feed,
    )
