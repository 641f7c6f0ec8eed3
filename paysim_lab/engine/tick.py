"""The tick loop: one day's timeline as a short list of steps, in engine.md section 5's order.

:meth:`Engine.tick` runs steps S0-S17 for ``world.tick`` and appends the tick's events to
``world.events``. Policies are reached only through the compiled-policy interface of
``paysim_lab.policy`` (payment / bank / collateral trees returning :class:`Decision` objects);
this module executes those decisions.
"""
from __future__ import annotations

import math
import warnings

from ..errors import ScenarioWarning, SimulationError
from . import costs as C
from .decisions import EvalEnv
from .payment_steps import MAX_SPLIT_CHILDREN, PaymentSteps
from .policy_steps import PolicySteps
from .rng import Rng, round_half_away
from .scenario_events import ScheduledEvent, apply_event, details_json, event_index, index_by_tick
from .settlement import DeferredCredits
from .settlement_steps import SettlementSteps
from .state import IN_QUEUE1, Agent, Transaction, World

# the steps after S4 live in the three parts Engine is made of (policy_steps, payment_steps,
# settlement_steps); MAX_SPLIT_CHILDREN is importable from here as before
__all__ = ["Engine", "EngineConfig", "TickStats", "StepClock", "MAX_SPLIT_CHILDREN"]


class EngineConfig:
    """Engine-level switches after the compatibility profile was applied (engine.md 0.3, 3.1)."""

    __slots__ = ("queue1_priority_deadline", "priority_mode", "escalation_enabled",
                 "escalation_start", "escalation_max_boost", "algorithm_sequencing",
                 "entry_disposition", "daily_liquidity_reallocation", "lsm",
                 "prefix_free_registers", "collateral_in_bank_tree", "fixes")

    def __init__(self):
        self.queue1_priority_deadline = False
        self.priority_mode = False
        self.escalation_enabled = False
        self.escalation_start = 20
        self.escalation_max_boost = 3
        self.algorithm_sequencing = False
        self.entry_disposition = False
        self.daily_liquidity_reallocation = True
        self.lsm = None                        # paysim_lab.engine.lsm.LsmConfig
        self.prefix_free_registers = False     # extended: SetState keys without bank_state_
        self.collateral_in_bank_tree = False   # extended: collateral actions in the bank tree
        # extended: fix the reference's bugs listed as "fixed in extended" in docs/deviations.md
        self.fixes = False


class TickStats:
    """Counters of the tick just run (tick_summaries, the verbose log and summary())."""

    __slots__ = ("tick", "arrivals", "settled_rtgs", "settled_queue2", "settled_lsm_bilateral",
                 "settled_lsm_cycle", "settled_lsm_retry", "reference_settlements", "tick_cost",
                 "friction_cost", "is_end_of_day")

    def __init__(self, tick: int):
        self.tick = tick
        self.arrivals = 0
        self.settled_rtgs = 0
        self.settled_queue2 = 0
        self.settled_lsm_bilateral = 0
        self.settled_lsm_cycle = 0
        self.settled_lsm_retry = 0
        self.reference_settlements = 0
        self.tick_cost = 0
        self.friction_cost = 0
        self.is_end_of_day = False

    @property
    def settlements(self) -> int:
        return (self.settled_rtgs + self.settled_queue2 + self.settled_lsm_bilateral
                + self.settled_lsm_cycle + self.settled_lsm_retry)

    @property
    def lsm_releases(self) -> int:
        return self.settled_lsm_bilateral + self.settled_lsm_cycle + self.settled_lsm_retry


def _scaled_bound(bound: int, multiplier: float) -> int:
    """round(bound x multiplier) half away from zero, saturating to [0, 2**64 - 1] as the
    reference's float-to-usize conversion does."""
    x = float(bound) * multiplier
    if x != x or x <= 0:
        return 0
    if x >= 18446744073709551615.0:
        return 18446744073709551615
    return round_half_away(x)


def _no_lap(name: str) -> None:
    return None


class StepClock:
    """Accumulates wall time per tick-loop step; attach as ``engine.clock`` to profile."""

    def __init__(self):
        import time
        self._now = time.perf_counter
        self.totals: dict[str, float] = {}
        self._last = self._now()

    def lap(self, name: str) -> None:
        now = self._now()
        self.totals[name] = self.totals.get(name, 0.0) + (now - self._last)
        self._last = now

    def restart(self) -> None:
        self._last = self._now()


class Engine(PolicySteps, PaymentSteps, SettlementSteps):
    """Runs ticks over a :class:`World`. Built by :func:`paysim_lab.engine.build.build_engine`."""

    def __init__(self, world: World, rng: Rng, config: EngineConfig,
                 scenario_events: list[ScheduledEvent], payment_feed=None):
        self.world = world
        self.rng = rng
        self.config = config
        self.scenario_events = scenario_events
        # looked up by tick: one-time events per tick (file order), repeating ones checked
        self._events_at, self._repeating = index_by_tick(scenario_events)
        self.payment_feed = payment_feed      # a PaymentFeed (payments table) or None
        self.rates = C.ScaledRates(world.costs)
        self.next_tx_number = 0
        self.any_arrivals = any(a.arrival is not None for a in world.agent_list)
        self.env = EvalEnv(world)
        self.placeholder = Transaction("", -1, "", "DUMMY", 1, 0, 1, 5)
        self.escalation_live: list[Transaction] = []
        self.stats = TickStats(0)
        self.pending: list[Transaction] = []
        self.deferred: DeferredCredits | None = None
        self.clock: StepClock | None = None   # set to time the steps (benchmarks)
        self.q2_at_accrual: dict[str, list[Transaction]] = {}
        self.window_warned: set[str] = set()

    # ------------------------------------------------------------------ the timeline
    def tick(self) -> TickStats:
        """Run one tick (S0-S17) and return its counters."""
        w = self.world
        t = w.tick
        if t >= w.total_ticks:
            raise SimulationError(f"tick {t} is past the end of the run ({w.total_ticks} ticks)")
        self.stats = TickStats(t)
        lap = self.clock.lap if self.clock is not None else _no_lap
        tpd = w.ticks_per_day
        start_of_day = t % tpd == 0 and t > 0
        self.setup_tick()                                   # S0
        if start_of_day:
            self.reset_day_costs()                          # S1
            self.allocate_liquidity(t)                      # S2
        self.run_scenario_events(t)                         # S3
        lap("S0-S3 day start, scenario events")
        self.generate_arrivals(t)                           # S4
        lap("S4 arrivals")
        self.collateral_trees(t, "strategic")               # S5
        self.bank_trees(t)                                  # S6
        self.fire_collateral_timers(t)                      # S7
        lap("S5-S7 collateral, bank trees, timers")
        self.payment_decisions_queue1(t)                    # S8
        self.payment_decisions_queue2(t)                    # S9
        lap("S8-S9 payment decisions")
        self.submit_pending(t)                              # S10
        self.queue2_pass(t)                                 # S11
        lap("S10-S11 RTGS settlement, Queue 2")
        self.lsm_pass(t)                                    # S12
        lap("S12 LSM")
        self.collateral_trees(t, "end_of_tick")             # S13
        self.apply_deferred_credits(t)                      # S14
        self.accrue_costs(t)                                # S15
        lap("S13-S15 end-of-tick collateral, credits, costs")
        if t % tpd == tpd - 1:
            self.end_of_day(t)                              # S16
        lap("S16 end of day")
        w.tick = t + 1                                      # S17
        return self.stats

    # ------------------------------------------------------------------ S0-S3
    def setup_tick(self) -> None:
        self.pending = []
        self.world.changed_payments.clear()
        self.deferred = DeferredCredits() if self.world.deferred_crediting else None

    def reset_day_costs(self) -> None:
        for a in self.world.agent_list:
            a.cost_day = [0] * 7

    def allocate_liquidity(self, t: int) -> None:
        if not self.config.daily_liquidity_reallocation:
            return
        w = self.world
        day = t // w.ticks_per_day
        for a in w.agent_list:
            if a.liquidity_pool is None:
                continue
            fraction = a.sod_liquidity_fraction
            alloc = math.floor(float(a.liquidity_pool) * fraction)
            a.balance += alloc
            a.allocated_liquidity = alloc
            w.events.append(("LiquidityAllocation", t, day, a.id, float(fraction), alloc, a.balance))

    def run_scenario_events(self, t: int) -> None:
        due = self._events_at.get(t, ())
        if self._repeating:
            due = sorted([*due, *(ev for ev in self._repeating if ev.fires_at(t))],
                         key=event_index)
        for ev in due:
            apply_event(self, ev, t)
        if self.payment_feed is not None:
            self.payment_feed.arrive(self, t)   # payments table: after the tick's events

    def scale_deadline_window(self, gen, min_mult, max_mult, t: int) -> bool:
        """DeadlineWindowChange on one arrival generator (engine.md 8); True if capped.

        simcash: ``round(bound x multiplier)`` saturating at 2**64 - 1 like the reference's
        conversion; the next draw with a bound past 2**63 - 2 fails as the reference does.
        extended: each bound is capped at the run length (an offset that long already gives
        every payment the episode end as deadline), and an empty window [min > max] becomes
        [max, max]; a ScenarioWarning says so.
        """
        old = (gen.dmin, gen.dmax)
        if min_mult is not None:
            gen.dmin = _scaled_bound(gen.dmin, float(min_mult))
        if max_mult is not None:
            gen.dmax = _scaled_bound(gen.dmax, float(max_mult))
        if not self.config.fixes:
            return False
        cap = self.world.total_ticks
        wanted = (gen.dmin, gen.dmax)
        gen.dmin = min(gen.dmin, cap)
        gen.dmax = min(gen.dmax, cap)
        if gen.dmin > gen.dmax:
            gen.dmin = gen.dmax
        if (gen.dmin, gen.dmax) == wanted:
            return False
        if gen.agent_id in self.window_warned:
            return True
        self.window_warned.add(gen.agent_id)   # once per bank: a repeating event repeats it
        warnings.warn(ScenarioWarning(
            f"tick {t}: DeadlineWindowChange would set agent {gen.agent_id}'s deadline window "
            f"from [{old[0]}, {old[1]}] to [{wanted[0]}, {wanted[1]}]; capped to "
            f"[{gen.dmin}, {gen.dmax}] (the run has {cap} ticks)"), stacklevel=2)
        return True

    # ------------------------------------------------------------------ transactions
    def new_transaction(self, sender: Agent, receiver_id: str, amount: int, t: int, deadline: int,
                        priority: int, *, is_divisible: bool = False, parent_id: str | None = None,
                        split_index: int | None = None, tx_id: str | None = None) -> Transaction:
        n = self.next_tx_number
        self.next_tx_number = n + 1
        # tx_id: a payments table's own id (validated unique and never of the tx_N form)
        tx = Transaction(tx_id or f"tx_{n:08d}", n, sender.id, receiver_id, amount, t, deadline, priority,
                         is_divisible=is_divisible, parent_id=parent_id, split_index=split_index)
        w = self.world
        w.txs[tx.tx_id] = tx
        w.tx_list.append(tx)
        sender.sent_amount_total += amount
        if self.config.escalation_enabled:
            self.escalation_live.append(tx)
        return tx

    def enqueue_queue1(self, agent: Agent, tx: Transaction) -> None:
        agent.queue1.append(tx)
        agent.queue1_value += tx.remaining_amount
        tx.location = IN_QUEUE1

    def custom_arrival(self, ev: ScheduledEvent, t: int) -> None:
        """CustomTransactionArrival (engine.md 8): a payment through the normal path."""
        w = self.world
        p = ev.params
        sender = w.agents[p["from_agent"]]
        receiver = p["to_agent"]
        amount = int(p["amount"])
        tpd = w.ticks_per_day
        rel = p.get("deadline")
        uncapped = t + int(rel) if rel is not None else t + max(tpd // 10, 5)
        deadline = min(uncapped, w.total_ticks)
        if w.deadline_cap_at_eod:
            deadline = min(deadline, (t // tpd + 1) * tpd - 1)
        deadline = max(deadline, t + 1)
        prio = p.get("priority")
        priority = 5 if prio is None else min(int(prio), 10)
        divisible = bool(p.get("is_divisible") or False)
        tx = self.new_transaction(sender, receiver, amount, t, deadline, priority,
                                  is_divisible=divisible)
        self.enqueue_queue1(sender, tx)
        self.stats.arrivals += 1
        w.events.append(("Arrival", t, tx.tx_id, sender.id, receiver, amount, deadline, priority,
                         divisible))
        details = {"from_agent": sender.id, "to_agent": receiver, "amount": amount,
                   "priority": priority, "deadline": uncapped, "is_divisible": divisible,
                   "tx_id": tx.tx_id}
        w.events.append(("ScenarioEventExecuted", t, "custom_transaction_arrival",
                         details_json(details), details))

    # ------------------------------------------------------------------ S4
    def generate_arrivals(self, t: int) -> None:
        if not self.any_arrivals:
            return
        w = self.world
        g = self.rng
        tpd = w.ticks_per_day
        T = w.total_ticks
        # simcash caps generated arrivals at the first tick of the next day [QUIRK]; extended
        # at the last tick of the day, as for custom arrivals
        cap_eod = ((t // tpd + 1) * tpd - (1 if self.config.fixes else 0)
                   if w.deadline_cap_at_eod else None)
        events = w.events
        fix_prio = self.config.fixes
        for a in w.agent_list:
            gen = a.arrival
            if gen is None:
                continue
            for receiver, amount, offset, prio, is_band in gen.draw(g, t):
                if amount <= 0:
                    raise SimulationError(
                        f"agent {a.id}, tick {t}: the amount distribution {gen.dist_desc or ''} "
                        "produced a payment of 0 cents (Uniform min must be > 0)")
                deadline = t + offset
                if deadline > T:
                    deadline = T
                if cap_eod is not None and deadline > cap_eod:
                    deadline = cap_eod
                if deadline < t + 1:
                    deadline = t + 1
                if not is_band and prio == 0 and not fix_prio:
                    prio = 5  # [QUIRK] a sampled 0 keeps the transaction default (simcash)
                tx = self.new_transaction(a, receiver, amount, t, deadline, prio)
                self.enqueue_queue1(a, tx)
                self.stats.arrivals += 1
                events.append(("Arrival", t, tx.tx_id, a.id, receiver, amount, deadline, prio,
                               False))

