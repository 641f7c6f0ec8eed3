"""The tick loop: one day's timeline as a short list of steps, in engine.md section 5's order.

:meth:`Engine.tick` runs steps S0-S17 for ``world.tick`` and appends the tick's events to
``world.events``. Policies are reached only through the compiled-policy interface of
``paysim_lab.policy`` (payment / bank / collateral trees returning :class:`Decision` objects);
this module executes those decisions.
"""
from __future__ import annotations

import logging
import math
import warnings

from ..errors import PolicyRuntimeError, ScenarioWarning, SimulationError
from . import costs as C
from .decisions import Decision, EvalEnv
from .scenario_events import (ScheduledEvent, apply_event, details_json, event_index,
                              index_by_tick)
from .settlement import (DeferredCredits, enqueue_queue2, fifo_pass, gated, leave_queue2,
                         compact_queue2, limits_ok, rebuild_queue2_index, reduce_parent, settle)
from .state import (C_COLLATERAL, C_DEADLINE, C_DELAY, C_EOD, C_FRICTION, C_LIQ_OPP,
                    C_OVERDRAFT, IN_QUEUE1, IN_QUEUE2, NOWHERE, OVERDUE, PENDING,
                    RTGS_RANK, Agent, ReleaseBudget, Transaction, World)
from .rng import Rng, round_half_away

log = logging.getLogger("paysim_lab.policy")

_HUGE = float("inf")


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


#: Extended profile: the most children one Split / StaggerSplit / PaceAndRelease creates.
#: A policy asking for more (e.g. 1-cent children of a 1,000,000-cent payment, a million
#: payments in one tick) gets this many; PolicySplit's num_splits keeps what was asked and
#: child_ids lists the children made. The simcash profile splits as asked (docs/deviations.md).
MAX_SPLIT_CHILDREN = 1000

# Queue 1 decisions for staggered children in the extended profile (no tree is evaluated).
STAGGER_WAIT = Decision("StaggerWait")
STAGGER_RELEASE = Decision("StaggerRelease")

COLLATERAL_REASONS = ("UrgentLiquidityNeed", "PreemptivePosting", "LiquidityRestored",
                      "EndOfDayCleanup", "DeadlineEmergency", "CostOptimization")
PRIORITY_FLAGS = {"HIGH": 10, "MEDIUM": 5, "LOW": 1}


class Engine:
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

    # ------------------------------------------------------------------ policy calls
    def _located(self, exc: PolicyRuntimeError, agent: Agent, t: int, tree: str,
                 tx: Transaction | None = None) -> PolicyRuntimeError:
        return exc.located(agent_id=agent.id, tick=t, tree=tree,
                           tx_id=tx.tx_id if tx is not None else None)

    def _collateral_env(self, agent: Agent, t: int) -> EvalEnv:
        ph = self.placeholder
        ph.sender_id = agent.id
        ph.arrival_tick = t
        ph.deadline_tick = t + 1
        env = self.env
        env.agent = agent
        env.tx = ph
        env.kind = "collateral"
        return env

    # ------------------------------------------------------------------ S5 / S13
    def collateral_trees(self, t: int, layer: str) -> None:
        for a in self.world.agent_list:
            pol = a.policy
            if pol is None:
                continue
            has = pol.has_strategic_tree if layer == "strategic" else pol.has_end_of_tick_tree
            if not has:
                continue
            env = self._collateral_env(a, t)
            try:
                d = (pol.strategic_collateral(env) if layer == "strategic"
                     else pol.end_of_tick_collateral(env))
            except PolicyRuntimeError as exc:
                tree = ("strategic_collateral_tree" if layer == "strategic"
                        else "end_of_tick_collateral_tree")
                raise self._located(exc, a, t, tree) from None
            self.execute_collateral(a, d, t, layer)

    def execute_collateral(self, a: Agent, d: Decision, t: int, layer: str) -> None:
        act = d.action
        w = self.world
        if act == "PostCollateral":
            amount = d.amount
            remaining = a.remaining_collateral_capacity
            if amount > remaining:
                if not self.config.fixes:
                    raise SimulationError(
                        f"agent {a.id}, tick {t}: tried to post {amount} collateral but only "
                        f"has {remaining} capacity remaining")
                # extended: post what the capacity allows and say what was asked for
                posted = remaining if remaining > 0 else 0
                w.events.append(("CollateralPostCapped", t, a.id, amount, posted, remaining,
                                 d.reason, layer, d.path))
                if posted == 0:
                    return
                amount = posted
            a.posted_collateral += amount
            timer = d.timer
            due = None
            if timer is not None:
                due = t + timer
                a.collateral_timers.setdefault(due, []).append((amount, d.reason, t))
            w.events.append(("CollateralPost", t, a.id, amount, d.reason, a.posted_collateral,
                             layer, timer, due, a.balance, d.path))
        elif act == "WithdrawCollateral":
            actual = min(d.amount, a.posted_collateral)
            if self.config.fixes:
                # extended: never withdraw collateral that backs credit in use
                actual = min(actual, a.max_withdrawable_collateral(0))
            if actual <= 0:
                return
            a.posted_collateral -= actual
            w.events.append(("CollateralWithdraw", t, a.id, actual, d.reason, a.posted_collateral,
                             layer, a.balance, d.path))
        elif act == "HoldCollateral":
            return
        else:
            raise PolicyRuntimeError("InvalidActionType", f"{act} is not a collateral action",
                                     agent_id=a.id, tick=t, path=d.path)

    # ------------------------------------------------------------------ S6
    def bank_trees(self, t: int) -> None:
        w = self.world
        env = self.env
        for a in w.agent_list:
            pol = a.policy
            if pol is None or not pol.has_bank_tree:
                a.release_budget = None
                continue
            if self.config.fixes:
                # extended: a budget lasts one tick; SetState/AddState do not keep last tick's
                a.release_budget = None
            env.agent = a
            env.tx = None
            env.kind = "bank"
            try:
                decisions = pol.bank(env)
            except PolicyRuntimeError as exc:
                raise self._located(exc, a, t, "bank_tree") from None
            for d in decisions:
                self.execute_bank(a, d, t)

    def execute_bank(self, a: Agent, d: Decision, t: int) -> None:
        act = d.action
        w = self.world
        if act == "SetReleaseBudget":
            a.release_budget = ReleaseBudget(d.max_value, d.focus, d.per_counterparty)
            w.events.append(("BankBudgetSet", t, a.id, d.max_value,
                             list(d.focus) if d.focus is not None else None,
                             d.per_counterparty, d.path))
        elif act == "SetState" or act == "AddState":
            key = d.key
            regs = a.state_registers
            if not key.startswith("bank_state_") and not self.config.prefix_free_registers:
                log.warning("agent %s tick %d: register key %r lacks the bank_state_ prefix; "
                            "write ignored (reason %s)", a.id, t, key, d.reason)
                return
            if key not in regs and len(regs) >= 10:
                log.warning("agent %s tick %d: register %r rejected: 10 registers already set "
                            "(reason %s)", a.id, t, key, d.reason)
                return
            old = regs.get(key, 0.0)
            new = float(d.value) if act == "SetState" else old + float(d.value)
            regs[key] = new
            w.events.append(("StateRegisterSet", t, a.id, key, old, new, d.reason, d.path))
        elif act in ("PostCollateral", "WithdrawCollateral", "HoldCollateral"):
            if self.config.collateral_in_bank_tree:
                self.execute_collateral(a, d, t, "bank")
            else:
                a.release_budget = None
        else:  # NoAction and any non-bank action (policy.md 11.1: behaves as NoAction)
            a.release_budget = None

    # ------------------------------------------------------------------ S7
    def fire_collateral_timers(self, t: int) -> None:
        w = self.world
        for a in w.agent_list:
            if not a.collateral_timers:
                continue
            due = a.collateral_timers.pop(t, None)
            if not due:
                continue
            for requested, reason, posted_at in due:
                if requested <= 0:
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     "Withdrawal amount must be positive", reason, posted_at))
                    continue
                pa = a.collateral_posted_at_tick
                if pa is not None and t - pa < 5:
                    left = 5 - (t - pa)
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     f"Minimum holding period not met: {left} tick(s) remaining "
                                     f"(posted at tick {pa})", reason, posted_at))
                    continue
                # The reference keeps a 100-cent safety buffer even when no credit is in use
                # (so ceil(100 / (1 - haircut)) cents stay posted); extended keeps only what
                # backs the credit actually used.
                max_safe = a.max_withdrawable_collateral(0 if self.config.fixes else 100)
                if max_safe <= 0:
                    used = a.credit_used
                    limit = a.allowed_overdraft_limit
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     f"No headroom available for withdrawal: credit_used={used}, "
                                     f"allowed_limit={limit}, headroom={limit - used}",
                                     reason, posted_at))
                    continue
                actual = min(requested, max_safe, a.posted_collateral)
                a.posted_collateral -= actual
                if a.posted_collateral == 0:
                    a.collateral_posted_at_tick = None
                w.events.append(("CollateralTimerWithdrawn", t, a.id, actual, reason, posted_at,
                                 a.posted_collateral, a.balance))

    # ------------------------------------------------------------------ S8
    def payment_decisions_queue1(self, t: int) -> None:
        w = self.world
        cfg = self.config
        q1_agents = [a for a in w.agent_list if a.queue1]              # S8a
        if cfg.escalation_enabled:
            self.escalate_priorities(t)                                # S8b
        if not q1_agents:
            return
        if cfg.queue1_priority_deadline:                               # S8c
            for a in q1_agents:
                a.queue1.sort(key=lambda tx: (-tx.priority, tx.deadline_tick))
        env = self.env
        for a in q1_agents:                                            # S8d
            pol = a.policy
            env.agent = a
            env.kind = "payment"
            queue = a.queue1
            decisions = []
            if pol is None or not pol.has_payment_tree:
                raise PolicyRuntimeError("InvalidTree", "payment_tree is not defined",
                                         agent_id=a.id, tick=t, tree="payment_tree",
                                         tx_id=queue[0].tx_id)
            payment = pol.payment
            for tx in queue:
                if tx.release_at is not None:  # extended: a staggered child waits for its tick
                    decisions.append(STAGGER_WAIT if tx.release_at > t else STAGGER_RELEASE)
                    continue
                env.tx = tx
                try:
                    decisions.append(payment(env))
                except PolicyRuntimeError as exc:
                    raise self._located(exc, a, t, "payment_tree", tx) from None
            self.apply_queue1_decisions(a, queue, decisions, t)

    def escalate_priorities(self, t: int) -> None:
        cfg = self.config
        S = cfg.escalation_start
        max_boost = cfg.escalation_max_boost
        events = self.world.events
        changed = self.world.changed_payments
        keep = []
        for tx in self.escalation_live:
            if tx.remaining_amount <= 0:
                continue
            r = tx.deadline_tick - t
            if r < 0:
                r = 0
            if r <= S:
                progress = 1.0 if S == 0 else 1.0 - r / S
                boost = round_half_away(max_boost * progress)
                esc = min(10, tx.original_priority + boost)
                if esc > tx.priority:
                    tx.priority = esc
                    changed.append(tx)
                    events.append(("PriorityEscalated", t, tx.tx_id, tx.sender_id,
                                   tx.original_priority, esc, r, boost))
            if r > 0 or tx.priority < min(10, tx.original_priority + max_boost):
                keep.append(tx)  # once past the deadline at full boost nothing can change
        self.escalation_live = keep

    def apply_queue1_decisions(self, a: Agent, queue: list[Transaction],
                               decisions: list[Decision], t: int) -> None:
        w = self.world
        events = w.events
        kept: list[Transaction] = []
        tail: list[Transaction] = []
        for tx, d in zip(queue, decisions):
            act = d.action
            if act == "Release":
                if d.priority_flag is not None:
                    tx.priority = min(d.priority_flag, 10)
                    w.changed_payments.append(tx)
                if d.timed_for_tick is not None and d.timed_for_tick > t:
                    kept.append(tx)
                    continue
                x = tx.remaining_amount
                budget = a.release_budget
                if budget is not None and not budget.allows(tx.receiver_id, x):
                    kept.append(tx)
                    events.append(("PolicyHold", t, a.id, tx.tx_id, "BudgetExhausted", d.path))
                    continue
                if budget is not None:
                    budget.consume(tx.receiver_id, x)
                a.queue1_value -= x
                tx.location = NOWHERE
                self.submit(tx, t)
                events.append(("PolicySubmit", t, a.id, tx.tx_id, d.path))
            elif act == "Hold":
                kept.append(tx)
                events.append(("PolicyHold", t, a.id, tx.tx_id, d.reason, d.path))
            elif act == "StaggerWait":
                kept.append(tx)
            elif act == "StaggerRelease":
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                tx.release_at = None
                self.submit(tx, t)
            elif act == "Split" or act == "StaggerSplit":
                n = d.num_splits
                if n is None or n < 2:
                    raise PolicyRuntimeError(
                        "InvalidActionParameter", "num_splits must be >= 2", agent_id=a.id,
                        tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
                if act == "StaggerSplit" and d.first_now > n:
                    raise PolicyRuntimeError(
                        "InvalidActionParameter", "stagger_first_now cannot exceed num_splits",
                        agent_id=a.id, tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                self.split(a, tx, d, t, tail)
            elif act == "Drop":
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                tx.dropped = True
                tx.mark_overdue(t)
                w.changed_payments.append(tx)
                events.append(("PolicyDrop", t, a.id, tx.tx_id, "Expired deadline", d.path))
            elif act == "Reprioritize":
                old = tx.priority
                tx.priority = min(d.new_priority, 10)
                w.changed_payments.append(tx)
                kept.append(tx)
                events.append(("TransactionReprioritized", t, a.id, tx.tx_id, old,
                               tx.priority if self.config.fixes else d.new_priority, d.path))
            elif act == "WithdrawFromRtgs":
                kept.append(tx)
                events.append(("PolicyHold", t, a.id, tx.tx_id,
                               f"WithdrawFromRtgs failed: Settlement error: Transaction "
                               f"{tx.tx_id} not found in RTGS Queue 2", None))
            elif act == "ResubmitToRtgs":
                old = tx.declared_rtgs_priority
                tx.declared_rtgs_priority = d.rtgs_priority
                kept.append(tx)  # [DEVIATION] the reference also appends a duplicate entry
                events.append(("RtgsResubmission", t, tx.tx_id, a.id,
                               old if old is not None else "None", d.rtgs_priority))
            else:
                raise PolicyRuntimeError("InvalidActionType",
                                         f"{act} is not valid in payment_tree", agent_id=a.id,
                                         tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
        for tx in tail:
            kept.append(tx)
            a.queue1_value += tx.remaining_amount
            tx.location = IN_QUEUE1
        a.queue1 = kept

    def submit(self, tx: Transaction, t: int, *, with_event: bool = True) -> None:
        """Hand a released payment to RTGS for this tick's settlement attempt (S10)."""
        if with_event:
            tx.rtgs_priority = tx.declared_rtgs_priority or "Normal"
            tx.rtgs_submission_tick = t
            self.world.changed_payments.append(tx)
            self.world.events.append(("RtgsSubmission", t, tx.tx_id, tx.sender_id,
                                      tx.receiver_id, tx.remaining_amount, tx.priority,
                                      tx.rtgs_priority))
        self.pending.append(tx)

    def split(self, a: Agent, parent: Transaction, d: Decision, t: int,
              tail: list[Transaction]) -> None:
        asked = d.num_splits
        fixes = self.config.fixes
        # extended: bounded, so one decision cannot flood a tick with payments (defect 19)
        n = min(asked, MAX_SPLIT_CHILDREN) if fixes else asked
        stagger = d.action == "StaggerSplit"
        base = parent.amount // n
        if base == 0:
            raise SimulationError(
                f"agent {a.id}, tick {t}: splitting {parent.tx_id} ({parent.amount} cents) into "
                f"{n} parts would create a zero-amount payment")
        prio = min(parent.priority + (d.boost or 0), 10) if stagger else parent.priority
        events = self.world.events
        child_ids = []
        first_now = min(d.first_now, n) if stagger else n
        gap = (d.gap or 0) if stagger else 0
        for i in range(n):
            amount = base if i < n - 1 else base + parent.amount % n
            child = self.new_transaction(a, parent.receiver_id, amount, parent.arrival_tick,
                                         parent.deadline_tick, prio, parent_id=parent.tx_id,
                                         split_index=i + 1)
            child_ids.append(child.tx_id)
            events.append(("Arrival", t, child.tx_id, a.id, child.receiver_id, amount,
                           child.deadline_tick, prio, False))
            if not stagger:
                child.declared_rtgs_priority = parent.declared_rtgs_priority
                self.submit(child, t)
            elif fixes:
                # extended: every child is submitted with its RtgsSubmission event, child i
                # (0-based) >= first_now at tick t + (i - first_now + 1) * gap
                due = t + (i - first_now + 1) * gap if i >= first_now else t
                child.declared_rtgs_priority = parent.declared_rtgs_priority
                if due <= t:
                    self.submit(child, t)
                else:
                    child.release_at = due
                    tail.append(child)
            elif i < first_now:
                self.submit(child, t, with_event=False)  # [QUIRK] no RtgsSubmission, no priority
            else:
                tail.append(child)
        parent.child_ids = child_ids
        friction = self.rates.friction * (n - 1)
        if friction > 0:
            a.cost_run[C_FRICTION] += friction
            a.cost_day[C_FRICTION] += friction
            self.stats.friction_cost += friction
            events.append(("CostAccrual", t, a.id, 0, 0, 0, 0, friction, friction, 0, "split"))
        events.append(("PolicySplit", t, a.id, parent.tx_id, asked, child_ids, d.path))

    # ------------------------------------------------------------------ S9
    def payment_decisions_queue2(self, t: int) -> None:
        w = self.world
        if not w.queue2:
            return
        users = {a.id for a in w.agent_list
                 if a.policy is not None and a.policy.has_payment_tree
                 and a.policy.uses_queue2_actions}
        if not users:
            return
        by_sender: dict[str, list[Transaction]] = {}
        for tx in w.queue2:
            if tx.location == IN_QUEUE2 and tx.sender_id in users:
                by_sender.setdefault(tx.sender_id, []).append(tx)
        collected: list[tuple[Agent, Transaction, Decision]] = []
        env = self.env
        for a in w.agent_list:
            txs = by_sender.get(a.id)
            if not txs:
                continue
            env.agent = a
            env.kind = "payment"
            for tx in txs:
                env.tx = tx
                try:
                    d = a.policy.payment(env)
                except PolicyRuntimeError as exc:
                    log.debug("Queue 2 pass: %s treated as hold", exc)
                    continue
                if d.action in ("WithdrawFromRtgs", "ResubmitToRtgs"):
                    collected.append((a, tx, d))
        if not collected:
            return
        events = w.events
        for a, tx, d in collected:
            if tx.location != IN_QUEUE2:
                reason = (f"Settlement error: Transaction {tx.tx_id} not found in RTGS Queue 2")
                text = ("WithdrawFromRtgs failed: " if d.action == "WithdrawFromRtgs"
                        else "ResubmitToRtgs withdraw step failed: ") + reason
                events.append(("PolicyHold", t, a.id, tx.tx_id, text, None))
                continue
            leave_queue2(w, tx)
            original = tx.rtgs_priority
            tx.rtgs_priority = None
            w.changed_payments.append(tx)
            tx.rtgs_submission_tick = None
            events.append(("RtgsWithdrawal", t, tx.tx_id, a.id,
                           original if original is not None else "None"))
            if d.action == "WithdrawFromRtgs":
                tx.withdrawn = True
                continue
            old = tx.declared_rtgs_priority
            tx.declared_rtgs_priority = d.rtgs_priority
            self.enqueue_queue1(a, tx)
            events.append(("RtgsResubmission", t, tx.tx_id, a.id,
                           old if old is not None else "None", d.rtgs_priority))
        compact_queue2(w)

    # ------------------------------------------------------------------ S10
    def submit_pending(self, t: int) -> None:
        w = self.world
        agents = w.agents
        events = w.events
        deferred = self.deferred
        costs = w.costs
        gate = w.gated
        for tx in self.pending:
            x = tx.remaining_amount
            sender = agents[tx.sender_id]
            rid = tx.receiver_id
            ok_liq = x <= sender.available_liquidity
            ok_limits = limits_ok(sender, rid, x)
            if not ok_limits:
                self.limit_events(sender, tx, x, t)
            if ok_liq and ok_limits and not (gate and gated(w, tx)):
                was_overdue = tx.status == OVERDUE
                before = sender.balance
                settle(w, tx, t, "rtgs", deferred)
                if tx.parent_id is not None:
                    reduce_parent(w, tx, t)
                self.stats.settled_rtgs += 1
                if was_overdue:
                    since = tx.overdue_tick
                    ticks = t - since
                    events.append(("OverdueTransactionSettled", t, tx.tx_id, tx.sender_id, rid,
                                   tx.amount, x, tx.deadline_tick, since, ticks,
                                   costs.deadline_penalty.resolve(tx.amount),
                                   C.estimated_delay_cost(x, costs.delay_cost_per_tick_per_cent,
                                                          costs.overdue_delay_multiplier, ticks)))
                events.append(("RtgsImmediateSettlement", t, tx.tx_id, tx.sender_id, rid, x,
                               before, sender.balance))
            else:
                enqueue_queue2(w, tx)
                events.append(("QueuedRtgs", t, tx.tx_id, tx.sender_id))
        self.pending = []

    def limit_events(self, sender: Agent, tx: Transaction, x: int, t: int) -> None:
        """Which limit refused ``tx`` at submission (emitted whatever the liquidity outcome)."""
        events = self.world.events
        rid = tx.receiver_id
        lim = sender.bilateral_limits.get(rid)
        if lim is not None:
            cur = sender.bilateral_outflows.get(rid, 0)
            if cur + x > lim:
                events.append(("BilateralLimitExceeded", t, sender.id, rid, tx.tx_id, x, cur, lim))
        ml = sender.multilateral_limit
        if ml is not None and sender.total_outflow + x > ml:
            events.append(("MultilateralLimitExceeded", t, sender.id, tx.tx_id, x,
                           sender.total_outflow, ml))

    # ------------------------------------------------------------------ S11
    def queue2_pass(self, t: int) -> None:
        w = self.world
        if self.config.priority_mode and w.queue2:
            w.queue2.sort(key=lambda tx: (RTGS_RANK.get(tx.rtgs_priority, 2),
                                          tx.rtgs_submission_tick
                                          if tx.rtgs_submission_tick is not None else _HUGE))
        count, value = (fifo_pass(w, t, self.deferred, "Queue2LiquidityRelease",
                                  "liquidity_available", "queue2") if w.queue2 else (0, 0))
        self.stats.settled_queue2 += count
        if self.config.algorithm_sequencing:
            w.events.append(("AlgorithmExecution", t, 1, "Success" if count > 0 else "NoProgress",
                             count, value))

    # ------------------------------------------------------------------ S12
    def lsm_pass(self, t: int) -> None:
        w = self.world
        cfg = self.config
        full = None
        if w.gated and w.queue2:
            # payments an outage or failure holds are invisible to the LSM; it only removes
            # entries, so the queue afterwards is the full one minus what settled, in order
            full = w.queue2
            w.queue2 = [tx for tx in full if not gated(w, tx)]
        if w.queue2:
            from .lsm import run_lsm
            res = run_lsm(w, t, cfg.lsm, self.deferred, cfg.entry_disposition, fixes=cfg.fixes)
            st = self.stats
            st.settled_lsm_bilateral += res.bilateral_tx_settled
            st.settled_lsm_cycle += res.cycle_tx_settled
            st.settled_lsm_retry += res.retry_tx_settled
            st.reference_settlements += res.pairs_examined + res.cycles_settled
            pairs, bil_value, cycles, cyc_value = (res.pairs_examined, res.bilateral_value,
                                                   res.cycles_settled, res.cycle_value)
        else:
            pairs = bil_value = cycles = cyc_value = 0
        if full is not None:
            w.queue2 = [tx for tx in full if tx.location == IN_QUEUE2]
        if cfg.algorithm_sequencing:
            w.events.append(("AlgorithmExecution", t, 2, "Success" if pairs > 0 else "NoProgress",
                             pairs, bil_value))
            w.events.append(("AlgorithmExecution", t, 3,
                             "Success" if cycles > 0 else "NoProgress", cycles, cyc_value))
        rebuild_queue2_index(w)

    # ------------------------------------------------------------------ S14
    def apply_deferred_credits(self, t: int) -> None:
        d = self.deferred
        if not d:
            return
        w = self.world
        for a in w.agent_list:
            amt = d.amounts.get(a.id)
            if amt is None:
                continue
            a.balance += amt
            w.events.append(("DeferredCreditApplied", t, a.id, amt, list(d.sources[a.id])))
        self.deferred = None

    # ------------------------------------------------------------------ S15
    def queue2_by_sender(self) -> dict[str, list[Transaction]]:
        out: dict[str, list[Transaction]] = {}
        for tx in self.world.queue2:
            if tx.location == IN_QUEUE2:
                lst = out.get(tx.sender_id)
                if lst is None:
                    out[tx.sender_id] = [tx]
                else:
                    lst.append(tx)
        return out

    def went_overdue(self, tx: Transaction, t: int) -> int:
        """TransactionWentOverdue and its one-time deadline penalty (engine.md 7.3)."""
        p = self.world.costs.deadline_penalty.resolve(tx.amount)
        self.world.events.append(("TransactionWentOverdue", t, tx.tx_id, tx.sender_id,
                                  tx.receiver_id, tx.amount, tx.remaining_amount,
                                  tx.deadline_tick, t - tx.deadline_tick, p))
        return p

    def accrue_costs(self, t: int) -> None:
        w = self.world
        rates = self.rates
        events = w.events
        q2 = self.queue2_by_sender() if w.queue2 else {}
        self.q2_at_accrual = q2          # Queue 2 does not change again before end of day
        tick_total = 0
        for a in w.agent_list:
            penalty = 0
            weighted = 0
            for tx in a.queue1:
                if t > tx.deadline_tick and tx.status == PENDING:
                    tx.mark_overdue(t)
                    w.changed_payments.append(tx)
                    penalty += self.went_overdue(tx, t)
            own_q2 = q2.get(a.id, ())
            for tx in own_q2:
                if tx.status == OVERDUE and tx.overdue_tick == t:   # marked by this tick's passes
                    penalty += self.went_overdue(tx, t)
            if rates.delay:
                for tx in a.queue1:
                    weighted += C.delay_weight(tx, rates)
                for tx in own_q2:
                    weighted += C.delay_weight(tx, rates)
            overdraft = C.overdraft_cost(a.balance, rates.overdraft)
            delay = C.delay_cost(weighted, rates.delay)
            collateral = C.bps_cost(a.posted_collateral, rates.collateral)
            liq = C.bps_cost(a.allocated_liquidity, rates.liquidity)
            total = overdraft + delay + collateral + liq + penalty
            if total > 0:
                for acc in (a.cost_run, a.cost_day):
                    acc[C_OVERDRAFT] += overdraft
                    acc[C_DELAY] += delay
                    acc[C_COLLATERAL] += collateral
                    acc[C_LIQ_OPP] += liq
                    acc[C_DEADLINE] += penalty
                events.append(("CostAccrual", t, a.id, overdraft, delay, collateral, penalty, 0,
                               total, liq, "tick"))
                tick_total += total
            if a.balance < 0 and -a.balance > a.peak_net_debit:
                a.peak_net_debit = -a.balance
        self.stats.tick_cost += tick_total + self.stats.friction_cost

    # ------------------------------------------------------------------ S16
    def end_of_day(self, t: int) -> None:
        w = self.world
        events = w.events
        self.stats.is_end_of_day = True
        eod_pen = w.costs.eod_penalty
        borrow_rate = w.costs.eod_borrowing_rate
        q2 = self.q2_at_accrual
        total_penalties = 0
        for a in w.agent_list:                                          # E1
            late = [tx for tx in a.queue1 if tx.deadline_tick < t]
            late.extend(tx for tx in q2.get(a.id, ()) if tx.deadline_tick < t)
            p = 0
            if borrow_rate:
                # extended: everything still unsent is borrowed at r_b, due or not
                unsent = sum(tx.remaining_amount for tx in a.queue1)
                unsent += sum(tx.remaining_amount for tx in q2.get(a.id, ()))
                p += C.borrowing_cost(unsent, borrow_rate)
            if not late and not p:
                continue
            for tx in late:
                p += eod_pen.resolve(tx.remaining_amount)
            a.cost_run[C_EOD] += p
            a.cost_day[C_EOD] += p
            total_penalties += p
            events.append(("CostAccrual", t, a.id, 0, 0, 0, p, 0, p, 0, "eod"))
        self.stats.tick_cost += total_penalties
        for a in w.agent_list:                                          # E2
            if a.state_registers:
                regs = a.state_registers
                for key in sorted(regs):
                    events.append(("StateRegisterSet", t, a.id, key, regs[key], 0.0, "eod_reset",
                                   None))
                a.state_registers = {}
        for a in w.agent_list:                                          # E3
            a.bilateral_outflows = {}
            a.total_outflow = 0
        unsettled = len(w.queue2) + sum(len(a.queue1) for a in w.agent_list)
        events.append(("EndOfDay", t, t // w.ticks_per_day, unsettled, total_penalties))  # E4
        if self.config.daily_liquidity_reallocation:                   # E5
            for a in w.agent_list:
                if a.liquidity_pool is not None and a.allocated_liquidity != 0:
                    amt = a.allocated_liquidity
                    a.balance -= amt
                    a.allocated_liquidity = 0
                    events.append(("LiquidityReturn", t, a.id, amt, a.balance))
