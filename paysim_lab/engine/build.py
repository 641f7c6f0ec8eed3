"""Build an :class:`Engine` from a validated scenario (engine.md sections 3-4).

Reads the effective configuration (after the compatibility profile) and the effective policy
document of every bank; compiles each policy once. Accepts the ``paysim_lab.config`` models or
plain dicts with the same keys, so engine tests can build small worlds directly.
"""
from __future__ import annotations

import gc
import math
from typing import Any

from .arrivals import ArrivalGenerator, Band, amount_sampler, priority_sampler
from .scenario_events import ScheduledEvent
from .state import Agent, Penalty, World
from .rng import Rng
from .tick import Engine, EngineConfig


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        v = obj.get(name, default)
    else:
        v = getattr(obj, name, default)
    return default if v is None else v


def _as_dict(obj: Any) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(by_alias=True, exclude_none=True)
    return dict(vars(obj))


def _penalty(spec: Any, default_amount: int) -> Penalty:
    if spec is None:
        return Penalty("fixed", default_amount)
    if isinstance(spec, int) and not isinstance(spec, bool):
        return Penalty("fixed", int(spec))
    mode = _get(spec, "mode", "fixed")
    if mode == "rate":
        return Penalty("rate", 0, float(_get(spec, "bps_per_event", 0.0)))
    return Penalty("fixed", int(_get(spec, "amount", default_amount)))


def _describe_dist(d: dict) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in d.items() if k != "type")
    return f"{d.get('type')}({fields})"


def _others(ids: list[str], i: int) -> list[str]:
    """Every bank id but the ``i``-th, in config order (an arrival generator's receivers)."""
    return ids[:i] + ids[i + 1:]


def build_world(cfg: Any, *, seed: int | None = None) -> tuple[World, Rng]:
    """The World (agents with arrival generators, cost rates, flags) and the run's generator."""
    sim = _get(cfg, "simulation")
    tpd = int(_get(sim, "ticks_per_day"))
    days = int(_get(sim, "num_days", 1))
    profile = _get(cfg, "profile", "extended")
    world = World(tpd, days, profile)
    world.deferred_crediting = bool(_get(cfg, "deferred_crediting", False))
    world.deadline_cap_at_eod = bool(_get(cfg, "deadline_cap_at_eod", False))
    world.eod_rush_threshold = float(_get(cfg, "eod_rush_threshold", 0.8))

    agents_cfg = list(_get(cfg, "agents", []))
    ids = [str(_get(a, "id")) for a in agents_cfg]
    built = []
    for i, a_cfg in enumerate(agents_cfg):
        ag = Agent(ids[i], i, int(_get(a_cfg, "opening_balance", 0)),
                   int(_get(a_cfg, "unsecured_cap", 0)))
        ag.posted_collateral = int(_get(a_cfg, "posted_collateral", 0))
        ag.collateral_haircut = float(_get(a_cfg, "collateral_haircut", 0.02))
        cap = _get(a_cfg, "max_collateral_capacity")
        ag.max_collateral_capacity_cfg = int(cap) if cap is not None else None
        ag.unlimited_collateral_default = profile == "extended"
        limits = _get(a_cfg, "limits")
        if limits is not None:
            ag.bilateral_limits = {str(k): int(v) for k, v in
                                   _as_dict(_get(limits, "bilateral_limits", {})).items()}
            ml = _get(limits, "multilateral_limit")
            ag.multilateral_limit = int(ml) if ml is not None else None
        pool = _get(a_cfg, "liquidity_pool")
        if pool is not None:
            ag.liquidity_pool = int(pool)
            frac = float(_get(a_cfg, "liquidity_allocation_fraction", 1.0))
            ag.liquidity_allocation_fraction = frac
            alloc = math.floor(float(pool) * frac)
            ag.balance += alloc
            ag.allocated_liquidity = alloc
        # arrival generators only: a bank without one never needs the n-1 other ids
        arr = _get(a_cfg, "arrival_config")
        bands = _get(a_cfg, "arrival_bands")
        if bands is not None:
            band_list = []
            for name in ("urgent", "normal", "low"):
                b = _get(bands, name)
                if b is None:
                    continue
                dist = _as_dict(_get(b, "amount_distribution"))
                band_list.append(Band(name, float(_get(b, "rate_per_tick", 0.0)),
                                      amount_sampler(dist["type"], dist),
                                      int(_get(b, "deadline_offset_min")),
                                      int(_get(b, "deadline_offset_max")),
                                      {str(k): float(v) for k, v in
                                       _as_dict(_get(b, "counterparty_weights", {})).items()},
                                      _describe_dist(dist)))
            ag.arrival = ArrivalGenerator(ag.id, _others(ids, i), bands=band_list)
        elif arr is not None:
            dist = _as_dict(_get(arr, "amount_distribution"))
            pd = _get(arr, "priority_distribution")
            if pd is not None:
                pdd = _as_dict(pd)
                prio = priority_sampler(pdd["type"], pdd)
            else:
                prio = priority_sampler(None, {}, int(_get(arr, "priority", 5)))
            dr = list(_get(arr, "deadline_range"))
            ag.arrival = ArrivalGenerator(
                ag.id, _others(ids, i), rate=float(_get(arr, "rate_per_tick", 0.0)),
                amount=amount_sampler(dist["type"], dist),
                weights={str(k): float(v) for k, v in
                         _as_dict(_get(arr, "counterparty_weights", {})).items()},
                deadline_range=(int(dr[0]), int(dr[1])), priority=prio,
                dist_desc=_describe_dist(dist))
        built.append(ag)
    world.add_agents(built)

    rates = _get(cfg, "cost_rates")
    c = world.costs
    if rates is not None:
        for key in ("overdraft_bps_per_tick", "delay_cost_per_tick_per_cent",
                    "collateral_cost_per_tick_bps", "overdue_delay_multiplier",
                    "liquidity_cost_per_tick_bps"):
            v = _get(rates, key)
            if v is not None:
                setattr(c, key, float(v))
        v = _get(rates, "split_friction_cost")
        if v is not None:
            c.split_friction_cost = int(v)
        eod = _get(rates, "eod_penalty")
        if eod is None:
            eod = _get(rates, "eod_penalty_per_transaction")
        c.eod_penalty = _penalty(eod, 10000)
        c.deadline_penalty = _penalty(_get(rates, "deadline_penalty"), 50000)
        v = _get(rates, "eod_borrowing_rate")
        if v is not None and _get(cfg, "profile", "extended") == "extended":
            c.eod_borrowing_rate = float(v)
        pm = _get(rates, "priority_delay_multipliers")
        if pm is not None:
            c.priority_delay_multipliers = (float(_get(pm, "urgent_multiplier", 1.0)),
                                            float(_get(pm, "normal_multiplier", 1.0)),
                                            float(_get(pm, "low_multiplier", 1.0)))
    rng_seed = seed if seed is not None else int(_get(sim, "rng_seed", 0))
    return world, Rng(rng_seed)


def build_engine_config(cfg: Any) -> EngineConfig:
    from .lsm import LsmConfig
    ec = EngineConfig()
    ec.queue1_priority_deadline = _get(cfg, "queue1_ordering", "fifo") == "priority_deadline"
    ec.priority_mode = bool(_get(cfg, "priority_mode", False))
    esc = _get(cfg, "priority_escalation")
    if esc is not None and bool(_get(esc, "enabled", False)):
        ec.escalation_enabled = True
        ec.escalation_start = int(_get(esc, "start_escalating_at_ticks", 20))
        ec.escalation_max_boost = int(_get(esc, "max_boost", 3))
    ec.algorithm_sequencing = bool(_get(cfg, "algorithm_sequencing", False))
    ec.entry_disposition = bool(_get(cfg, "entry_disposition_offsetting", False))
    ec.daily_liquidity_reallocation = bool(_get(cfg, "daily_liquidity_reallocation", True))
    lsm_cfg = _get(cfg, "lsm_config")
    lc = LsmConfig()
    if lsm_cfg is not None:
        lc.enable_bilateral = bool(_get(lsm_cfg, "enable_bilateral", True))
        lc.enable_cycles = bool(_get(lsm_cfg, "enable_cycles", True))
        lc.max_cycle_length = int(_get(lsm_cfg, "max_cycle_length", 4))
        lc.max_cycles_per_tick = int(_get(lsm_cfg, "max_cycles_per_tick", 10))
    ec.lsm = lc
    extended = _get(cfg, "profile", "extended") == "extended"
    ec.prefix_free_registers = extended
    ec.collateral_in_bank_tree = extended
    ec.fixes = extended
    return ec


def build_scenario_events(cfg: Any) -> list[ScheduledEvent]:
    out = []
    for i, ev in enumerate(_get(cfg, "scenario_events", []) or []):
        d = _as_dict(ev)
        kind = d.pop("type")
        if kind == "ParticipantOutage":      # its window, not a schedule, says when
            out.append(ScheduledEvent(i, kind, {**d, "phase": "start"},
                                      tick=int(d["start_tick"])))
            out.append(ScheduledEvent(i, kind, {**d, "phase": "end"}, tick=int(d["end_tick"])))
            continue
        if kind == "ParticipantFailure":
            out.append(ScheduledEvent(i, kind, d, tick=int(d["tick"])))
            continue
        sched = _as_dict(d.pop("schedule"))
        if sched.get("type") == "Repeating":
            out.append(ScheduledEvent(i, kind, d, start_tick=int(sched["start_tick"]),
                                      interval=int(sched["interval"])))
        else:
            out.append(ScheduledEvent(i, kind, d, tick=int(sched["tick"])))
    return out


def build_engine(cfg: Any, policies: dict[str, Any], *, seed: int | None = None,
                 builtin_agents: frozenset[str] = frozenset()) -> Engine:
    """Wire a runnable engine: ``policies`` maps agent id -> compiled policy.

    ``builtin_agents`` names the banks whose policy is a built-in type: in the simcash profile
    they re-allocate 100% of their liquidity pool at each start of day (engine.md 5 S2
    [QUIRK]); in extended, their ``liquidity_allocation_fraction`` (:func:`set_liquidity_fraction`).
    """
    world, rng = build_world(cfg, seed=seed)
    ec = build_engine_config(cfg)
    for a in world.agent_list:
        pol = policies.get(a.id)
        a.policy = pol
        frac = getattr(pol, "initial_liquidity_fraction", None)
        if a.id in builtin_agents:
            frac = None
        set_liquidity_fraction(a, frac, ec.fixes, initial=True)
    engine = Engine(world, rng, ec, build_scenario_events(cfg),
                    payment_feed=_get(cfg, "payments"))
    freeze_heap()
    return engine


def freeze_heap() -> None:
    """Collect garbage once, then exempt every object alive now from later cyclic collections.

    The world, the scenario and the compiled policies live for the whole run; without this,
    each full collection re-scans them (16-33% of the CPU time of a 200-5,000-bank run). The
    collection first keeps garbage that exists now from being frozen. Objects frozen here are
    still freed as usual when their last reference goes; only cycles among them would stay.
    Later builds in the same process scan only what is new since the previous freeze.
    """
    gc.collect()
    gc.freeze()


def set_liquidity_fraction(a: Agent, policy_fraction: float | None, fixes: bool, *,
                           initial: bool = False) -> None:
    """The fraction of the liquidity pool a bank receives at each start of day.

    simcash: the policy's ``parameters.initial_liquidity_fraction`` (tree policies), else 1.0;
    the first day's allocation keeps the scenario's ``liquidity_allocation_fraction``.
    extended (``fixes``): the policy's fraction when it has one, else the scenario's
    ``liquidity_allocation_fraction``, on every day including the first (as SimCash's
    experiment runner sets the allocation from the policy).

    >>> ag = Agent("A", 0, 0); ag.liquidity_pool = 1000; ag.liquidity_allocation_fraction = 0.5
    >>> set_liquidity_fraction(ag, 0.2, True, initial=True); (ag.balance, ag.sod_liquidity_fraction)
    (200, 0.2)
    """
    if not fixes:
        a.sod_liquidity_fraction = 1.0 if policy_fraction is None else float(policy_fraction)
        return
    frac = a.liquidity_allocation_fraction if policy_fraction is None else float(policy_fraction)
    a.sod_liquidity_fraction = frac
    if initial and a.liquidity_pool is not None:
        alloc = math.floor(float(a.liquidity_pool) * frac)
        a.balance += alloc - a.allocated_liquidity
        a.allocated_liquidity = alloc

