"""Generators of scenario and policy documents for property tests and the loader fuzzer.

Every generator is written once against a tiny :class:`Chooser` interface and runs two ways:
under hypothesis (``HypothesisChooser`` wraps ``draw``, so failures shrink) and from a seeded
``random.Random`` (``RandomChooser``, used by ``benchmarks/fuzz_loaders.py``, where thousands of
documents are needed fast and shrinking is not).

What the scenario generator covers: 2-6 banks with unicode and mixed-case ids in random config
order; random balances, credit caps, collateral, haircuts, capacities, limits and liquidity
pools; ``arrival_config`` with every amount and priority distribution and ``arrival_bands``;
scenario events of all eight types with OneTime and Repeating schedules; cost rates with fixed
and rate penalties; LSM switches; deferred crediting; queue/priority options; the ``simcash``
profile; the built-in policy types and small inline trees (budgets, registers, splits,
Queue 2 withdrawals and resubmissions, collateral posts with auto-withdraw timers), attached
through ``policy:`` blocks and through the top-level ``policies`` map; and a "gridlock" flavour
(rings of payments between banks short of liquidity) that makes the LSM settle cycles.

Generated scenarios are valid and designed never to hit a documented run abort
(zero-amount split child, collateral post above capacity, unsecured cap driven below 0,
deadline window with min > max), so a property run that raises is a finding.

>>> import random
>>> doc = scenario_document(RandomChooser(random.Random(3)))
>>> 2 <= len(doc["agents"]) <= 6
True
"""
from __future__ import annotations

import copy
import json
import os
import random
from typing import Any, Sequence

from hypothesis import Phase
from hypothesis import strategies as st

# PAYSIM_NO_SHRINK=1 reports the first failing example at once (shrinking a whole scenario can
# take minutes while investigating); by default failures shrink as usual.
PHASES = ((Phase.explicit, Phase.reuse, Phase.generate) if os.environ.get("PAYSIM_NO_SHRINK")
          == "1" else tuple(Phase))

# Bank ids: plain, lower case, spaced, dashed and non-ASCII, so "agent order" (sorted str) and
# "config order" (file order) differ and string ordering of unicode ids is exercised.
AGENT_ID_POOL = ("BANK_A", "BANK_B", "bank_c", "Zeta", "ALPHA-1", "b2", "Ωmega", "Bank E",
                 "銀行", "ÄRM")

RTGS_PRIORITIES = ("HighlyUrgent", "Urgent", "Normal")
HOLD_REASONS = ("InsufficientLiquidity", "AwaitingInflows", "LowPriority", "NearDeadline",
                "waiting \"for\" funds\n")
COLLATERAL_REASONS = ("UrgentLiquidityNeed", "PreemptivePosting", "GapClosed",
                      "EndOfDayCleanup")
# Splitting policies need payments of at least this many cents (a child of 0 cents aborts).
MIN_SPLITTABLE = 10


# ---- the chooser interface ----------------------------------------------------------------

class Chooser:
    """Where generators get their random choices from."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def real(self, lo: float, hi: float) -> float:
        raise NotImplementedError

    def chance(self, percent: int) -> bool:
        """True with about ``percent`` % probability."""
        return self.integer(0, 99) < percent

    def pick(self, options: Sequence):
        return options[self.integer(0, len(options) - 1)]

    def permutation(self, items: Sequence) -> list:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.integer(0, i)
            out[i], out[j] = out[j], out[i]
        return out

    def some(self, items: Sequence, min_size: int = 0, max_size: int | None = None) -> list:
        """A sub-list of ``items`` (original order kept)."""
        top = len(items) if max_size is None else min(max_size, len(items))
        k = self.integer(min(min_size, top), top)
        chosen = sorted(self.permutation(range(len(items)))[:k])
        return [items[i] for i in chosen]


class HypothesisChooser(Chooser):
    """Choices drawn through hypothesis (shrinkable)."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def real(self, lo, hi):
        return self.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def permutation(self, items):
        return list(self.draw(st.permutations(list(items))))


class RandomChooser(Chooser):
    """Choices from a seeded ``random.Random`` (fast, reproducible, no shrinking)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo, hi):
        return self.rng.randint(lo, hi)

    def real(self, lo, hi):
        return self.rng.uniform(lo, hi)

    def pick(self, options):
        return self.rng.choice(list(options))

    def permutation(self, items):
        out = list(items)
        self.rng.shuffle(out)
        return out


# ---- distributions -------------------------------------------------------------------------

def amount_distribution(c: Chooser, splittable: bool) -> dict:
    """One of the four amount distributions; ``splittable`` keeps every draw >= MIN_SPLITTABLE."""
    kind = "Uniform" if splittable else c.pick(("Uniform", "Normal", "LogNormal", "Exponential"))
    if kind == "Uniform":
        lo = c.integer(MIN_SPLITTABLE if splittable else 1, 60_000)
        return {"type": "Uniform", "min": lo, "max": lo + c.integer(1, 80_000)}
    if kind == "Normal":
        return {"type": "Normal", "mean": c.integer(-5_000, 80_000),
                "std_dev": c.integer(1, 40_000)}
    if kind == "LogNormal":
        return {"type": "LogNormal", "mean": c.pick((10.5, 500.0, c.real(1.0, 90_000.0))),
                "std_dev": c.pick((0.9, c.real(0.01, 50_000.0)))}
    return {"type": "Exponential", "lambda": c.pick((1e-4, c.real(1e-5, 0.5)))}


def priority_settings(c: Chooser) -> dict:
    """``priority`` or one of the three priority distributions (or nothing)."""
    kind = c.integer(0, 4)
    if kind == 0:
        return {}
    if kind == 1:
        return {"priority": c.integer(0, 10)}
    if kind == 2:
        return {"priority_distribution": {"type": "Fixed", "value": c.integer(0, 10)}}
    if kind == 3:
        n = c.integer(1, 4)
        values = [c.integer(0, 10) for _ in range(n)]
        weights = [c.pick((0.0, 0.2, 1.0, c.real(0.0, 5.0))) for _ in range(n)]
        weights[c.integer(0, n - 1)] = c.real(0.1, 3.0)   # the sum must be > 0
        return {"priority_distribution": {"type": "Categorical", "values": values,
                                          "weights": weights}}
    lo = c.integer(0, 10)
    return {"priority_distribution": {"type": "Uniform", "min": lo, "max": c.integer(lo, 10)}}


def counterparty_weights(c: Chooser, me: str, ids: list[str], allow_empty: bool) -> dict:
    others = [i for i in ids if i != me]
    chosen = c.some(others, 0 if allow_empty else 1)
    weights = {i: c.pick((0.0, 1.0, 0.5, c.real(0.0, 3.0))) for i in chosen}
    if chosen and sum(weights.values()) <= 0:
        weights[chosen[0]] = 1.0
    if not allow_empty and c.chance(10):
        weights[me] = c.real(0.0, 2.0)   # a weight for the sender itself is ignored
    return weights


def arrival_config(c: Chooser, me: str, ids: list[str], splittable: bool) -> dict:
    lo = c.integer(1, 12)
    cfg = {"rate_per_tick": c.pick((0.0, 0.3, 1.0, c.real(0.0, 1.6))),
           "amount_distribution": amount_distribution(c, splittable),
           "counterparty_weights": counterparty_weights(c, me, ids, allow_empty=False),
           "deadline_range": [lo, lo + c.integer(0, 25)]}
    cfg.update(priority_settings(c))
    if c.chance(20):
        cfg["divisible"] = c.chance(50)
    return cfg


def arrival_bands(c: Chooser, me: str, ids: list[str], splittable: bool) -> dict:
    names = c.some(("urgent", "normal", "low"), 1)
    bands = {}
    for name in names:
        lo = c.integer(1, 10)
        band = {"rate_per_tick": c.pick((0.2, c.real(0.0, 0.8))),
                "amount_distribution": amount_distribution(c, splittable),
                "deadline_offset_min": lo, "deadline_offset_max": lo + c.integer(0, 20)}
        if c.chance(60):
            band["counterparty_weights"] = counterparty_weights(c, me, ids, allow_empty=True)
        bands[name] = band
    return bands


# ---- policy trees --------------------------------------------------------------------------

def f(name: str) -> dict:
    return {"field": name}


def v(x) -> dict:
    return {"value": x}


def cmp(op: str, left: dict, right: dict) -> dict:
    return {"op": op, "left": left, "right": right}


def comp(op: str, **operands) -> dict:
    return {"compute": {"op": op, **operands}}


def cond(node_id: str, expr: dict, on_true: dict, on_false: dict) -> dict:
    return {"type": "condition", "node_id": node_id, "condition": expr,
            "on_true": on_true, "on_false": on_false}


def act(node_id: str, action: str, **params) -> dict:
    node = {"type": "action", "node_id": node_id, "action": action}
    if params:
        node["parameters"] = params
    return node


def payment_tree(c: Chooser, ids: list[str]) -> dict:
    """One of six small payment trees; none can split a payment below MIN_SPLITTABLE cents."""
    kind = c.integer(0, 5)
    if kind == 0:   # release what is affordable
        return cond("P_afford", cmp(">=", f("available_liquidity"), f("remaining_amount")),
                    act("P_go", c.pick(("Release", "ReleaseWithCredit"))),
                    act("P_wait", "Hold", reason=v(c.pick(HOLD_REASONS))))
    if kind == 1:   # deadlines: drop expired, rush urgent, hold the rest
        return cond("P_expired", cmp("<=", f("deadline_tick"), f("current_tick")),
                    act("P_drop", "Drop"),
                    cond("P_urgent", cmp("<=", f("ticks_to_deadline"), v(c.integer(0, 4))),
                         act("P_rush", "Release", priority_flag=v(c.pick(("HIGH", "LOW", "X")))),
                         act("P_hold", "Hold", reason=v("NearDeadline"))))
    if kind == 2:   # Queue 2 management: resubmit near the deadline, withdraw large ones
        return cond("P_inq2", cmp("==", f("is_in_queue2"), v(1)),
                    cond("P_near", cmp("<=", f("ticks_to_deadline"), v(c.integer(1, 6))),
                         act("P_resub", "ResubmitToRtgs", rtgs_priority=v(c.pick(RTGS_PRIORITIES))),
                         cond("P_big", cmp(">", f("amount"), v(c.integer(20_000, 120_000))),
                              act("P_withdraw", "WithdrawFromRtgs"),
                              act("P_keep", "Hold"))),
                    act("P_release", "Release"))
    if kind == 3:   # split large first-generation payments
        split = c.pick(("Split", "PaceAndRelease", "StaggerSplit"))
        n = c.integer(2, 4)
        params = {"num_splits": v(n)}
        if split == "StaggerSplit":
            params.update(stagger_first_now=v(c.integer(0, n)), stagger_gap_ticks=v(2),
                          priority_boost_children=v(c.integer(0, 12)))
        big = {"op": "and", "conditions": [cmp("==", f("is_split"), v(0)),
                                           cmp(">=", f("amount"), v(1000))]}
        return cond("P_big", big, act("P_split", split, **params), act("P_small", "Release"))
    if kind == 4:   # raise low priorities once, then release
        return cond("P_low", cmp("<", f("priority"), v(5)),
                    act("P_reprio", "Reprioritize", new_priority=v(c.pick((7, 255)))),
                    act("P_rel", "Release"))
    # wait two ticks after arrival, using timed releases
    return act("P_timed", "Release",
               timed_for_tick=comp("+", left=f("arrival_tick"), right=v(c.integer(0, 3))))


def bank_tree(c: Chooser, ids: list[str]) -> dict:
    kind = c.integer(0, 2)
    if kind == 0:
        params = {"max_value_to_release": comp("max", values=[
            f("balance"), v(c.integer(0, 200_000))])}
        if c.chance(40):
            params["focus_counterparties"] = v(c.some(ids, 0))
        if c.chance(40):
            params["max_per_counterparty"] = v(c.integer(0, 150_000))
        return cond("B_rich", cmp(">", f("balance"), v(0)),
                    act("B_budget", "SetReleaseBudget", **params), act("B_none", "NoAction"))
    if kind == 1:
        return cond("B_busy", cmp(">", f("outgoing_queue_size"), v(c.integer(0, 5))),
                    act("B_add", "AddState", key=v("bank_state_pressure"), value=v(1),
                        reason=v("busy")),
                    act("B_set", "SetState", key=v(c.pick(("bank_state_pressure", "no_prefix"))),
                        value=v(0)))
    return act("B_noop", "NoAction")


def collateral_tree(c: Chooser, prefix: str, may_withdraw: bool) -> dict:
    """Posts ``min(gap, capacity left)`` (never above capacity), optionally with a timer;
    optionally withdraws half when no credit is used."""
    post = {"amount": comp("min", values=[f("queue1_liquidity_gap"),
                                          f("remaining_collateral_capacity"),
                                          v(c.integer(1, 300_000))]),
            "reason": v(c.pick(COLLATERAL_REASONS))}
    if c.chance(70):
        post["auto_withdraw_after_ticks"] = v(c.pick((1, 2, 5, 0.5, c.integer(1, 12))))
    posting = cond(f"{prefix}_gap", cmp(">", f("queue1_liquidity_gap"), v(0)),
                   act(f"{prefix}_post", "PostCollateral", **post),
                   act(f"{prefix}_hold", "HoldCollateral"))
    if not may_withdraw:
        return posting
    withdraw = act(f"{prefix}_withdraw", "WithdrawCollateral",
                   amount=comp("/", left=f("posted_collateral"), right=v(2)))
    return cond(f"{prefix}_idle", {"op": "and", "conditions": [
        cmp("==", f("credit_used"), v(0)), cmp(">", f("posted_collateral"), v(1))]},
        withdraw, posting)


def policy_document(c: Chooser, ids: list[str], policy_id: str, *, may_withdraw: bool) -> dict:
    """A small inline policy: a payment tree plus, sometimes, bank and collateral trees."""
    doc: dict[str, Any] = {"version": "1.0", "policy_id": policy_id}
    doc["payment_tree"] = payment_tree(c, ids)
    if c.chance(40):
        doc["bank_tree"] = bank_tree(c, ids)
    if c.chance(45):
        doc["strategic_collateral_tree"] = collateral_tree(c, "S", may_withdraw)
    if c.chance(35):
        doc["end_of_tick_collateral_tree"] = collateral_tree(c, "E", may_withdraw)
    if c.chance(30):
        doc["parameters"] = {"initial_liquidity_fraction": c.pick((0.0, 0.5, 1.0))}
    return doc


def builtin_policy(c: Chooser, kind: str) -> dict:
    if kind == "Deadline":
        return {"type": kind, "urgency_threshold": c.integer(1, 10)}
    if kind == "LiquidityAware":
        return {"type": kind, "target_buffer": c.pick((0, c.integer(0, 100_000))),
                "urgency_threshold": c.integer(1, 10)}
    if kind == "LiquiditySplitting":
        return {"type": kind, "max_splits": c.integer(2, 10),
                "min_split_amount": c.integer(1, 5000)}
    if kind == "MockSplitting":
        return {"type": kind, "num_splits": c.integer(2, 10)}
    return {"type": "Fifo"}


# ---- scenario events -----------------------------------------------------------------------

def schedule(c: Chooser, total: int, one_time_only: bool = False) -> dict:
    if one_time_only or c.chance(65):
        return {"type": "OneTime", "tick": c.integer(0, total + 1)}
    return {"type": "Repeating", "start_tick": c.integer(0, total), "interval": c.integer(1, total)}


def scenario_events(c: Chooser, ids: list[str], total: int, caps: dict[str, int],
                    splitting: set[str], clean_credit: bool) -> list[dict]:
    kinds = ["CustomTransactionArrival", "CollateralAdjustment", "GlobalArrivalRateChange",
             "AgentArrivalRateChange", "CounterpartyWeightChange", "DeadlineWindowChange",
             "ScheduledSettlement"]
    if not clean_credit:
        kinds.append("DirectTransfer")
    budget_down = dict(caps)     # how far each cap may still be lowered in total
    events = []
    for _ in range(c.integer(0, 7)):
        kind = c.pick(kinds)
        a, b = c.pick(ids), c.pick(ids)
        if kind in ("DirectTransfer", "ScheduledSettlement"):
            other = c.pick([i for i in ids if i != a])
            ev = {"type": kind, "from_agent": a, "to_agent": other,
                  "amount": c.integer(1, 200_000), "schedule": schedule(c, total)}
        elif kind == "CustomTransactionArrival":
            low = MIN_SPLITTABLE if a in splitting else 1
            ev = {"type": kind, "from_agent": a, "to_agent": b, "amount": c.integer(low, 150_000),
                  "schedule": schedule(c, total)}
            if c.chance(50):
                ev["priority"] = c.pick((None, c.integer(0, 10)))
            if c.chance(50):
                ev["deadline"] = c.pick((None, c.integer(1, 30)))
            if c.chance(30):
                ev["is_divisible"] = c.pick((None, True, False))
        elif kind == "CollateralAdjustment":
            lower = (not clean_credit) and budget_down[a] > 0 and c.chance(40)
            if lower:   # a cap driven below 0 aborts the run: lower at most what is left, once
                delta = -c.integer(1, budget_down[a])
                budget_down[a] += delta
                ev = {"type": kind, "agent": a, "delta": delta,
                      "schedule": schedule(c, total, one_time_only=True)}
            else:
                ev = {"type": kind, "agent": a, "delta": c.integer(0, 100_000),
                      "schedule": schedule(c, total)}
        elif kind == "GlobalArrivalRateChange":
            ev = {"type": kind, "multiplier": c.pick((0.5, 2.0, c.real(0.05, 2.5))),
                  "schedule": schedule(c, total)}
        elif kind == "AgentArrivalRateChange":
            # repeating changes compound; keep them from growing the rate without bound
            sched = schedule(c, total)
            top = 1.0 if sched["type"] == "Repeating" else 1.5
            ev = {"type": kind, "agent": a, "multiplier": c.real(0.2, top), "schedule": sched}
        elif kind == "CounterpartyWeightChange":
            ev = {"type": kind, "agent": a, "counterparty": b,
                  "new_weight": c.pick((0.0, 1.0, c.real(0.0, 1.0))),
                  "schedule": schedule(c, total)}
            if c.chance(30):
                ev["auto_balance_others"] = c.chance(50)
        else:  # DeadlineWindowChange: keep min <= max (one multiplier, or the same for both)
            m = c.pick((0.5, 1.5, c.real(0.1, 2.0)))
            which = c.integer(0, 2)
            ev = {"type": kind, "schedule": schedule(c, total)}
            if which == 0:
                ev["min_ticks_multiplier"] = ev["max_ticks_multiplier"] = m
            elif which == 1:
                ev["max_ticks_multiplier"] = max(m, 1.0)
            else:
                ev["min_ticks_multiplier"] = min(m, 1.0)
        events.append(ev)
    return events


def payment_ring(c: Chooser, ids: list[str], total: int) -> list[dict]:
    """Custom payments around a ring of 3+ banks at one tick: gridlock for the LSM cycles."""
    ring = c.permutation(ids)[:c.integer(3, len(ids))]
    tick = c.pick((0, 0, c.integer(0, max(total - 1, 0))))   # early, before queues build up
    base = c.integer(25_000, 90_000)   # above the tight balances: the ring cannot settle gross
    return [{"type": "CustomTransactionArrival", "from_agent": a,
             "to_agent": ring[(i + 1) % len(ring)],
             "amount": base + c.pick((0, 0, 0, c.integer(0, 20_000))),
             "schedule": {"type": "OneTime", "tick": tick}}
            for i, a in enumerate(ring)]


# ---- whole scenarios -------------------------------------------------------------------------

def cost_rates(c: Chooser) -> dict:
    def penalty():
        if c.chance(50):
            return c.pick((0, 10_000, c.integer(0, 500_000)))
        if c.chance(50):
            return {"mode": "fixed", "amount": c.integer(0, 300_000)}
        return {"mode": "rate", "bps_per_event": c.pick((0.0, 25.0, c.real(0.0, 5000.0)))}

    rates: dict[str, Any] = {}
    for key, values in (("overdraft_bps_per_tick", (0.0, 0.001, 0.5, 20.0)),
                        ("delay_cost_per_tick_per_cent", (0.0, 0.0001, 0.01)),
                        ("collateral_cost_per_tick_bps", (0.0, 0.0002, 3.0)),
                        ("overdue_delay_multiplier", (0.0, 1.0, 5.0)),
                        ("liquidity_cost_per_tick_bps", (0.0, 150.0))):
        if c.chance(50):
            rates[key] = c.pick(values)
    if c.chance(50):
        rates[c.pick(("eod_penalty", "eod_penalty_per_transaction"))] = penalty()
    if c.chance(50):
        rates["deadline_penalty"] = penalty()
    if c.chance(40):
        rates["split_friction_cost"] = c.pick((0, 1000, c.integer(0, 5000)))
    if c.chance(30):
        rates["priority_delay_multipliers"] = {
            k: c.pick((0.5, 1.0, 2.0)) for k in c.some(
                ("urgent_multiplier", "normal_multiplier", "low_multiplier"), 1)}
    return rates


def scenario_document(c: Chooser, *, clean_credit: bool = False, deferred: bool | None = None,
                      min_banks: int = 2, max_banks: int = 6, max_days: int = 3,
                      min_tpd: int = 5, max_tpd: int = 30, policies: str = "any",
                      gridlock: bool | None = None) -> dict:
    """A valid scenario dict.

    ``clean_credit`` leaves out everything that may legitimately push a balance below its
    credit limit (engine.md 11.1 item 5): DirectTransfer, negative CollateralAdjustment,
    policy collateral withdrawals, liquidity pools and negative opening balances.
    ``deferred`` forces deferred crediting on or off (None: random). ``policies`` is "any"
    or "builtin" (built-in types only). ``gridlock`` forces (True) or forbids (False) rings of
    payments between Fifo banks with little liquidity (None: sometimes); it needs 3+ banks.
    """
    n = c.integer(min_banks, max_banks)
    ids = c.permutation(c.some(AGENT_ID_POOL, n, n))
    tpd = c.integer(min_tpd, max_tpd)
    days = c.integer(1, max_days)
    total = tpd * days
    doc: dict[str, Any] = {"simulation": {"ticks_per_day": tpd, "num_days": days,
                                          "rng_seed": c.pick((0, 42, c.integer(0, 2**64 - 1)))}}
    inline_map: dict[str, dict] = {}
    splitting: set[str] = set()
    agents = []
    caps = {}
    # Tight liquidity (small balances, little credit) queues payments for the LSM; the
    # gridlock flavour adds rings of payments between Fifo banks so cycles form.
    gridlock = n >= 3 and (c.chance(20) if gridlock is None else gridlock)
    tight = gridlock or c.chance(30)
    top_balance, top_cap = (20_000, 10_000) if tight else (400_000, 200_000)
    for me in ids:
        agent: dict[str, Any] = {"id": me,
                                 "opening_balance": c.integer(
                                     0 if clean_credit or tight else -50_000, top_balance)}
        cap = c.pick((0, c.integer(0, top_cap)))
        if cap or c.chance(50):
            agent["unsecured_cap"] = cap
        caps[me] = cap
        # policy
        choice = c.integer(0, 9) if policies == "any" else c.integer(0, 5)
        if gridlock or (tight and c.chance(40)):
            choice = 0          # plain Fifo banks queue what they cannot pay
        if choice == 0:
            pass                                           # default Fifo
        elif choice <= 5:
            kind = c.pick(("Fifo", "Deadline", "LiquidityAware", "LiquiditySplitting",
                           "MockSplitting"))
            agent["policy"] = builtin_policy(c, kind)
            if kind in ("LiquiditySplitting", "MockSplitting"):
                splitting.add(me)
        elif choice <= 7:
            agent["policy"] = {"type": "Inline", "decision_trees": policy_document(
                c, ids, f"inline_{len(agents)}", may_withdraw=not clean_credit)}
        elif choice == 8:
            key = f"shared_{c.integer(0, 1)}"
            if key not in inline_map:
                entry = policy_document(c, ids, key, may_withdraw=not clean_credit)
                del entry["policy_id"], entry["version"]   # the map fills both in
                inline_map[key] = entry
            agent["policy_id"] = key
            if c.chance(40):
                agent["policy_params"] = {"urgency": c.real(0.0, 10.0)}
        else:
            doc_ = policy_document(c, ids, f"json_{len(agents)}", may_withdraw=not clean_credit)
            agent["policy"] = {"type": "InlineJson", "json_string": json.dumps(doc_)}
        # arrivals
        mode = c.integer(0, 9 if gridlock else 5)
        if mode <= 3:
            agent["arrival_config"] = arrival_config(c, me, ids, me in splitting)
        elif mode == 4:
            agent["arrival_bands"] = arrival_bands(c, me, ids, me in splitting)
        # collateral, pools, limits
        if c.chance(35):
            agent["posted_collateral"] = c.integer(0, 20_000 if tight else 300_000)
        if c.chance(30):
            agent["collateral_haircut"] = c.pick((0.0, 0.02, 0.5, 1.0, c.real(0.0, 1.0)))
        if c.chance(30):
            agent["max_collateral_capacity"] = c.integer(agent.get("posted_collateral", 0),
                                                         1_000_000)
        if not clean_credit and c.chance(25):
            agent["liquidity_pool"] = c.integer(0, 20_000 if tight else 300_000)
            if c.chance(60):
                agent["liquidity_allocation_fraction"] = c.pick((0.0, 0.5, 1.0,
                                                                 c.real(0.0, 1.0)))
        if c.chance(20):
            limits: dict[str, Any] = {}
            if c.chance(70):
                limits["bilateral_limits"] = {o: c.integer(0, 300_000)
                                              for o in c.some([i for i in ids if i != me], 1)}
            if c.chance(50):
                limits["multilateral_limit"] = c.integer(0, 500_000)
            agent["limits"] = limits
        agents.append(agent)
    doc["agents"] = agents
    if inline_map:
        doc["policies"] = inline_map
    events = scenario_events(c, ids, total, caps, splitting, clean_credit)
    if gridlock:
        for _ in range(c.integer(1, 3)):
            events.extend(payment_ring(c, ids, total))
    if events:
        doc["scenario_events"] = events
    if c.chance(70):
        doc["cost_rates"] = cost_rates(c)
    if c.chance(60):
        lsm = {}
        for key in ("enable_bilateral", "enable_cycles"):
            if c.chance(60):
                lsm[key] = c.chance(60)
        if c.chance(50):
            lsm["max_cycle_length"] = c.integer(3, 6)
        if c.chance(50):
            lsm["max_cycles_per_tick"] = c.integer(1, 20)
        doc["lsm_config"] = lsm
    doc["deferred_crediting"] = c.chance(35) if deferred is None else deferred
    for key, pct in (("deadline_cap_at_eod", 30), ("priority_mode", 30),
                     ("algorithm_sequencing", 30), ("entry_disposition_offsetting", 20)):
        if c.chance(pct):
            doc[key] = c.chance(60)
    if c.chance(25):
        doc["queue1_ordering"] = c.pick(("fifo", "priority_deadline", "PriorityDeadline"))
    if c.chance(25):
        doc["priority_escalation"] = {"enabled": c.chance(70), "curve": "linear",
                                      "start_escalating_at_ticks": c.integer(0, 25),
                                      "max_boost": c.integer(0, 8)}
    if c.chance(20):
        doc["eod_rush_threshold"] = c.real(0.0, 1.0)
    if c.chance(20):
        doc["daily_liquidity_reallocation"] = c.chance(50)
    if c.chance(15):
        doc["compat"] = "simcash"
    return doc


def with_fifo_everywhere(doc: dict) -> dict:
    """The same scenario with every bank on the built-in Fifo policy (arrival independence)."""
    out = copy.deepcopy(doc)
    out.pop("policies", None)
    for agent in out["agents"]:
        agent.pop("policy_id", None)
        agent.pop("policy_params", None)
        agent["policy"] = {"type": "Fifo"}
    return out


# ---- random policy trees for the fuzzer ----------------------------------------------------

def random_value(c: Chooser, fields: Sequence[str], params: Sequence[str], depth: int) -> dict:
    """Any value form, with computations nested up to ``depth``."""
    kind = c.integer(0, 4 if depth > 0 else 2)
    if kind == 0:
        return {"field": c.pick(fields)}
    if kind == 1 and params:
        return {"param": c.pick(params)}
    if kind <= 2:
        return {"value": c.pick((0, 1, -1, 0.5, 1e-12, 2.5, 10, 1e6, True))}
    op = c.pick(("+", "-", "*", "/", "max", "min", "ceil", "floor", "round", "abs", "clamp",
                 "div0"))
    sub = lambda: random_value(c, fields, params, depth - 1)   # noqa: E731
    if op in ("+", "-", "*", "/"):
        return comp(op, left=sub(), right=sub())
    if op in ("max", "min"):
        return comp(op, values=[sub() for _ in range(c.integer(1, 3))])
    if op in ("ceil", "floor", "round", "abs"):
        return comp(op, value=sub())
    if op == "clamp":
        return comp(op, value=sub(), min=sub(), max=sub())
    return comp(op, numerator=sub(), denominator=sub(), default=sub())


def random_expr(c: Chooser, fields, params, depth: int) -> dict:
    kind = c.integer(0, 3 if depth > 0 else 0)
    if kind == 0 or depth <= 0:
        return cmp(c.pick(("==", "!=", "<", "<=", ">", ">=")),
                   random_value(c, fields, params, 2), random_value(c, fields, params, 2))
    if kind == 3:
        return {"op": "not", "condition": random_expr(c, fields, params, depth - 1)}
    return {"op": c.pick(("and", "or")),
            "conditions": [random_expr(c, fields, params, depth - 1)
                           for _ in range(c.integer(0, 3))]}


TREE_ACTIONS = {
    "payment_tree": ("Release", "ReleaseWithCredit", "Hold", "Drop", "Split", "StaggerSplit",
                     "Reprioritize", "WithdrawFromRtgs", "ResubmitToRtgs", "PaceAndRelease"),
    "bank_tree": ("SetReleaseBudget", "SetState", "AddState", "NoAction"),
    "strategic_collateral_tree": ("PostCollateral", "WithdrawCollateral", "HoldCollateral"),
    "end_of_tick_collateral_tree": ("PostCollateral", "WithdrawCollateral", "HoldCollateral"),
}


def random_action_params(c: Chooser, action: str, fields, params) -> dict:
    num = lambda: random_value(c, fields, params, 1)   # noqa: E731
    table = {
        "Release": {"priority_flag": v(c.pick(("HIGH", "MEDIUM", "LOW", 3)))},
        "ReleaseWithCredit": {},
        "Hold": {"reason": v(c.pick(HOLD_REASONS))},
        "Split": {"num_splits": num()}, "PaceAndRelease": {"num_splits": num()},
        "StaggerSplit": {"num_splits": num(), "stagger_first_now": num(),
                         "stagger_gap_ticks": num(), "priority_boost_children": num()},
        "Reprioritize": {"new_priority": num()},
        "ResubmitToRtgs": {"rtgs_priority": v(c.pick(RTGS_PRIORITIES + ("Fast",)))},
        "SetReleaseBudget": {"max_value_to_release": num(),
                             "focus_counterparties": v(["BANK_A", 3])},
        "SetState": {"key": v("bank_state_x"), "value": num()},
        "AddState": {"key": v("bank_state_y"), "value": num(), "reason": v("r")},
        "PostCollateral": {"amount": num(), "auto_withdraw_after_ticks": num()},
        "WithdrawCollateral": {"amount": num()},
    }
    got = table.get(action, {})
    return {k: val for k, val in got.items() if c.chance(85)}


def random_tree(c: Chooser, tree: str, depth: int, counter: list[int], params) -> dict:
    fields = ("balance", "available_liquidity", "current_tick", "posted_collateral",
              "queue1_total_value", "bank_state_x")
    if tree == "payment_tree":
        fields += ("amount", "remaining_amount", "ticks_to_deadline", "is_in_queue2", "priority")
    counter[0] += 1
    nid = f"{tree[0].upper()}{counter[0]}"
    if depth <= 0 or c.chance(35):
        action = c.pick(TREE_ACTIONS[tree])
        node = act(nid, action)
        p = random_action_params(c, action, fields, params)
        if p:
            node["parameters"] = p
        return node
    return cond(nid, random_expr(c, fields, params, 2),
                random_tree(c, tree, depth - 1, counter, params),
                random_tree(c, tree, depth - 1, counter, params))


def random_policy(c: Chooser) -> dict:
    """A structurally valid policy document with random expressions and actions."""
    params = {f"p{i}": c.pick((0, 1, 2.5, -3, 1e9)) for i in range(c.integer(0, 3))}
    doc: dict[str, Any] = {"version": c.pick(("1.0", "2.0")),
                           "policy_id": c.pick(("fuzz", "銀行 policy", ""))}
    if params:
        doc["parameters"] = params
    counter = [0]
    for tree in TREE_ACTIONS:
        if tree == "payment_tree" or c.chance(50):
            doc[tree] = random_tree(c, tree, c.integer(0, 4), counter, list(params))
    return doc


# ---- hypothesis strategies -----------------------------------------------------------------

@st.composite
def scenarios(draw, **options) -> dict:
    """Hypothesis strategy of valid scenario dicts (options as for :func:`scenario_document`)."""
    return scenario_document(HypothesisChooser(draw), **options)


@st.composite
def random_policies(draw) -> dict:
    """Hypothesis strategy of structurally valid, semantically random policy documents."""
    return random_policy(HypothesisChooser(draw))


def json_values(max_leaves: int = 30):
    """Arbitrary JSON-like values, including NaN/inf, huge ints and odd strings."""
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-2**70, 2**70),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
        st.sampled_from(["", " ", "Release", "condition", "action", "payment_tree",
                         "bank_state_", "Fifo", "Inline", "FromJson", "\x00", "銀行"]))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(
                ["type", "node_id", "action", "condition", "on_true", "on_false", "op",
                 "left", "right", "field", "value", "param", "compute", "parameters",
                 "version", "policy_id", "payment_tree", "bank_tree", "conditions",
                 "values", "id", "agents", "simulation", "x"]), children, max_size=5)),
        max_leaves=max_leaves)
