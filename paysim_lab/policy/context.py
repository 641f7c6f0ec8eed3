"""Context fields as getters ``f(env) -> float`` (policy.md 10.2).

A compiled tree calls the getter of a field only when its walk reads that field, so nothing is
computed ahead. Every getter is O(1): it reads attributes of the engine's World, Agent and
Transaction (paysim_lab.engine.state), whose queue totals and throughput sums the engine keeps
up to date, and never scans a queue or the list of banks.

``env`` is an :class:`paysim_lab.engine.decisions.EvalEnv`: ``env.tx`` is the payment in the
payment tree, a 1-cent placeholder in the collateral trees and None in the bank tree.

>>> getter("balance", "bank").__name__
'balance'
"""
from __future__ import annotations

import math

from .catalog import (AGENT_FIELD_SET, FIELD_ALIASES, PHANTOM_FIELDS, REGISTER_PREFIX,
                      TRANSACTION_FIELD_SET)
from .numeric import INF, NO_DEADLINE


class EvalFailure(Exception):
    """Internal: a runtime error raised inside an expression, located by the node that runs it."""

    __slots__ = ("kind", "detail")

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def field_not_found(name: str) -> EvalFailure:
    return EvalFailure("FieldNotFound", f"Field not found: {name}")


# ---- shared derived quantities ---------------------------------------------------------------

def _coll_cap(a) -> int:
    h = 1.0 - a.collateral_haircut
    if h < 0:
        h = 0.0
    return math.floor(float(a.posted_collateral) * h)


def _available(a) -> int:
    bal = a.balance
    used = -bal if bal < 0 else 0
    head = _coll_cap(a) + a.unsecured_cap - used
    return (bal if bal > 0 else 0) + (head if head > 0 else 0)


def _required_collateral(a) -> float:
    h = a.collateral_haircut
    if h < 1.0:
        bal = a.balance
        used = -bal if bal < 0 else 0
        short = used - a.unsecured_cap
        return float(math.ceil(float(short if short > 0 else 0) / (1.0 - h)))
    return 0.0


# ---- group T: transaction fields --------------------------------------------------------------

def amount(env):
    return float(env.tx.amount)


def remaining_amount(env):
    return float(env.tx.remaining_amount)


def settled_amount(env):
    tx = env.tx
    return float(tx.amount - tx.remaining_amount)


def arrival_tick(env):
    return float(env.tx.arrival_tick)


def deadline_tick(env):
    return float(env.tx.deadline_tick)


def priority(env):
    return float(env.tx.priority)


def is_split(env):
    return 1.0 if env.tx.parent_id is not None else 0.0


def is_past_deadline(env):
    return 1.0 if env.world.tick > env.tx.deadline_tick else 0.0


def is_overdue(env):
    return 1.0 if env.tx.status == "Overdue" else 0.0


def is_in_queue2(env):
    return 1.0 if env.tx.rtgs_priority is not None else 0.0


def overdue_duration(env):
    tx = env.tx
    if tx.status != "Overdue" or tx.overdue_tick is None:
        return 0.0
    d = env.world.tick - tx.overdue_tick
    return float(d) if d > 0 else 0.0


def ticks_to_deadline(env):
    return float(env.tx.deadline_tick - env.world.tick)


def queue_age(env):
    d = env.world.tick - env.tx.arrival_tick
    return float(d) if d > 0 else 0.0


def cost_delay_this_tx_one_tick(env):
    return float(env.tx.remaining_amount) * env.world.costs.delay_cost_per_tick_per_cent


def cost_overdraft_this_amount_one_tick(env):
    # The reference's operation order: (bps / 10000) * amount (another order differs by an ulp)
    return (env.world.costs.overdraft_bps_per_tick / 10000.0) * float(env.tx.remaining_amount)


# ---- group A: agent, queue, system, cost and time fields -------------------------------------

def balance(env):
    return float(env.agent.balance)


def unsecured_cap(env):
    return float(env.agent.unsecured_cap)


def available_liquidity(env):
    return float(_available(env.agent))


def credit_used(env):
    bal = env.agent.balance
    return float(-bal) if bal < 0 else 0.0


def effective_liquidity(env):
    a = env.agent
    bal = a.balance
    used = -bal if bal < 0 else 0
    return float(bal + a.unsecured_cap - used)


def credit_headroom(env):
    a = env.agent
    bal = a.balance
    used = -bal if bal < 0 else 0
    return float(a.unsecured_cap - used)


def is_using_credit(env):
    return 1.0 if env.agent.balance < 0 else 0.0


def zero(env):
    return 0.0


def one(env):
    return 1.0


def liquidity_pressure(env):
    a = env.agent
    # Summed in integers, converted once (the reference's order)
    total = float(a.balance + a.unsecured_cap + a.posted_collateral)
    if total == 0.0:
        return 1.0
    bal = a.balance
    return 1.0 - float(bal if bal > 0 else 0) / total


def outgoing_queue_size(env):
    return float(len(env.agent.queue1))


def queue1_total_value(env):
    return float(env.agent.queue1_value)


def queue1_liquidity_gap(env):
    a = env.agent
    gap = a.queue1_value - _available(a)
    return float(gap) if gap > 0 else 0.0


def headroom(env):
    a = env.agent
    return float(_available(a) - a.queue1_value)


def current_tick(env):
    return float(env.world.tick)


def rtgs_queue_size(env):
    return float(len(env.world.queue2))


def rtgs_queue_value(env):
    return float(env.world.queue2_value)


def total_agents(env):
    return float(env.world.n_agents)


def queue2_count_for_agent(env):
    return float(env.agent.q2_index_count)


def queue2_nearest_deadline(env):
    d = env.agent.q2_index_nearest_deadline
    return NO_DEADLINE if d is None else float(d)


def ticks_to_nearest_queue2_deadline(env):
    d = env.agent.q2_index_nearest_deadline
    if d is None:
        return INF
    d -= env.world.tick
    return float(d) if d > 0 else 0.0


def posted_collateral(env):
    return float(env.agent.posted_collateral)


def max_collateral_capacity(env):
    return float(env.agent.max_collateral_capacity)


def remaining_collateral_capacity(env):
    a = env.agent
    return float(a.max_collateral_capacity - a.posted_collateral)


def collateral_utilization(env):
    a = env.agent
    cap = a.max_collateral_capacity
    return float(a.posted_collateral) / float(cap) if cap > 0 else 0.0


def collateral_haircut(env):
    return float(env.agent.collateral_haircut)


def allowed_overdraft_limit(env):
    a = env.agent
    return float(_coll_cap(a) + a.unsecured_cap)


def overdraft_headroom(env):
    a = env.agent
    bal = a.balance
    used = -bal if bal < 0 else 0
    return float(_coll_cap(a) + a.unsecured_cap - used)


def overdraft_utilization(env):
    a = env.agent
    limit = _coll_cap(a) + a.unsecured_cap
    if limit <= 0:
        return 0.0
    bal = a.balance
    return float(-bal if bal < 0 else 0) / float(limit)


def required_collateral_for_usage(env):
    return _required_collateral(env.agent)


def excess_collateral(env):
    a = env.agent
    excess = float(a.posted_collateral) - _required_collateral(a)
    return excess if excess > 0 else 0.0


def cost_overdraft_bps_per_tick(env):
    return float(env.world.costs.overdraft_bps_per_tick)


def cost_delay_per_tick_per_cent(env):
    return float(env.world.costs.delay_cost_per_tick_per_cent)


def cost_collateral_bps_per_tick(env):
    return float(env.world.costs.collateral_cost_per_tick_bps)


def cost_split_friction(env):
    return float(env.world.costs.split_friction_cost)


def cost_deadline_penalty(env):
    # x = amount (payment tree), 1 (collateral placeholder), 0 (bank tree: no tx)
    tx = env.tx
    return float(env.world.costs.deadline_penalty.resolve(tx.amount if tx is not None else 0))


def cost_eod_penalty(env):
    tx = env.tx
    return float(env.world.costs.eod_penalty.resolve(
        tx.remaining_amount if tx is not None else 0))


def system_ticks_per_day(env):
    return float(env.world.ticks_per_day)


def system_current_day(env):
    w = env.world
    return float(w.tick // w.ticks_per_day)


def system_tick_in_day(env):
    w = env.world
    return float(w.tick % w.ticks_per_day)


def ticks_remaining_in_day(env):
    w = env.world
    left = w.ticks_per_day - w.tick % w.ticks_per_day - 1
    return float(left) if left > 0 else 0.0


def day_progress_fraction(env):
    w = env.world
    return float(w.tick % w.ticks_per_day) / float(w.ticks_per_day)


def is_eod_rush(env):
    w = env.world
    frac = float(w.tick % w.ticks_per_day) / float(w.ticks_per_day)
    return 1.0 if frac >= w.eod_rush_threshold else 0.0


def system_queue2_pressure_index(env):
    w = env.world
    size = len(w.queue2)
    if size == 0 or w.n_agents == 0:
        return 0.0
    x = float(size) / (10.0 * float(w.n_agents))
    return 1.0 / (1.0 + math.exp(-2.0 * x))


def my_throughput_fraction_today(env):
    a = env.agent
    sent = a.sent_amount_total
    return float(a.settled_amount_total) / float(sent) if sent > 0 else 0.0


def throughput_gap(env):
    w = env.world
    return (my_throughput_fraction_today(env)
            - float(w.tick % w.ticks_per_day) / float(w.ticks_per_day))


GETTERS = {
    "amount": amount, "remaining_amount": remaining_amount, "settled_amount": settled_amount,
    "arrival_tick": arrival_tick, "deadline_tick": deadline_tick, "priority": priority,
    "is_split": is_split, "is_past_deadline": is_past_deadline, "is_overdue": is_overdue,
    "is_in_queue2": is_in_queue2, "overdue_duration": overdue_duration,
    "ticks_to_deadline": ticks_to_deadline, "queue_age": queue_age,
    "cost_delay_this_tx_one_tick": cost_delay_this_tx_one_tick,
    "cost_overdraft_this_amount_one_tick": cost_overdraft_this_amount_one_tick,
    "balance": balance, "credit_limit": unsecured_cap, "available_liquidity": available_liquidity,
    "credit_used": credit_used, "effective_liquidity": effective_liquidity,
    "credit_headroom": credit_headroom, "is_using_credit": is_using_credit,
    "liquidity_buffer": zero, "liquidity_pressure": liquidity_pressure,
    "is_overdraft_capped": one, "outgoing_queue_size": outgoing_queue_size,
    "queue1_total_value": queue1_total_value, "queue1_liquidity_gap": queue1_liquidity_gap,
    "headroom": headroom, "incoming_expected_count": zero, "current_tick": current_tick,
    "rtgs_queue_size": rtgs_queue_size, "rtgs_queue_value": rtgs_queue_value,
    "queue2_size": rtgs_queue_size, "total_agents": total_agents,
    "queue2_count_for_agent": queue2_count_for_agent,
    "queue2_nearest_deadline": queue2_nearest_deadline,
    "ticks_to_nearest_queue2_deadline": ticks_to_nearest_queue2_deadline,
    "posted_collateral": posted_collateral, "max_collateral_capacity": max_collateral_capacity,
    "remaining_collateral_capacity": remaining_collateral_capacity,
    "collateral_utilization": collateral_utilization, "collateral_haircut": collateral_haircut,
    "unsecured_cap": unsecured_cap, "allowed_overdraft_limit": allowed_overdraft_limit,
    "overdraft_headroom": overdraft_headroom, "overdraft_utilization": overdraft_utilization,
    "required_collateral_for_usage": required_collateral_for_usage,
    "excess_collateral": excess_collateral,
    "cost_overdraft_bps_per_tick": cost_overdraft_bps_per_tick,
    "cost_delay_per_tick_per_cent": cost_delay_per_tick_per_cent,
    "cost_collateral_bps_per_tick": cost_collateral_bps_per_tick,
    "cost_split_friction": cost_split_friction, "cost_deadline_penalty": cost_deadline_penalty,
    "cost_eod_penalty": cost_eod_penalty, "system_ticks_per_day": system_ticks_per_day,
    "system_current_day": system_current_day, "system_tick_in_day": system_tick_in_day,
    "ticks_remaining_in_day": ticks_remaining_in_day,
    "day_progress_fraction": day_progress_fraction, "is_eod_rush": is_eod_rush,
    "system_queue2_pressure_index": system_queue2_pressure_index,
    "my_throughput_fraction_today": my_throughput_fraction_today,
    "expected_throughput_fraction_by_now": day_progress_fraction,
    "throughput_gap": throughput_gap,
}


def _register_getter(name: str):
    def register(env):
        return env.agent.state_registers.get(name, 0.0)
    register.__name__ = name
    return register


def _missing_getter(name: str):
    def missing(env):
        raise field_not_found(name)
    missing.__name__ = name
    return missing


def getter(name: str, kind: str, *, registers: frozenset = frozenset(), aliases: bool = False):
    """The getter of field ``name`` for a tree of context ``kind`` (payment/bank/collateral).

    ``registers`` are extra state-register names (extended profile: keys written without the
    ``bank_state_`` prefix); ``aliases`` enables the extended-profile spellings (``tick``).
    Names no context holds get a getter that raises FieldNotFound when reached.
    """
    if aliases and name in FIELD_ALIASES:
        name_ = FIELD_ALIASES[name]
        return GETTERS[name_]
    if name.startswith(REGISTER_PREFIX) or name in registers:
        return _register_getter(name)
    if name in TRANSACTION_FIELD_SET:
        if kind != "payment" or name in PHANTOM_FIELDS:
            return _missing_getter(name)
        return GETTERS[name]
    if name in AGENT_FIELD_SET:
        return GETTERS[name]
    return _missing_getter(name)


def dict_getter(name: str, kind: str, *, registers: frozenset = frozenset(),
                aliases: bool = False):
    """Getter reading a plain ``{field: value}`` mapping (notebooks, Policy.trace).

    Registers missing from the mapping read 0.0 like on an agent; other missing names raise
    FieldNotFound. Values are converted with float().
    """
    alias = FIELD_ALIASES.get(name) if aliases else None
    is_register = name.startswith(REGISTER_PREFIX) or name in registers

    def from_mapping(ctx):
        try:
            return float(ctx[name])
        except KeyError:
            pass
        except (TypeError, ValueError):
            raise EvalFailure("InvalidLiteralType",
                              f"Invalid literal type: expected number (field {name})") from None
        if alias is not None and alias in ctx:
            return float(ctx[alias])
        if is_register:
            return 0.0
        raise field_not_found(name)

    from_mapping.__name__ = name
    return from_mapping


def context_values(env, kind: str = None) -> dict:
    """Every field of the context ``env`` as a dict (for display; the engine never calls it).

    >>> # context_values(env)["balance"]  -> 100000.0
    """
    kind = kind or getattr(env, "kind", "payment")
    out = {}
    for name, g in GETTERS.items():
        if name in TRANSACTION_FIELD_SET and (kind != "payment" or env.tx is None):
            continue
        out[name] = g(env)
    for key in sorted(env.agent.state_registers):
        out[key] = env.agent.state_registers[key]
    return out
