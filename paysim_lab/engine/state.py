"""Hot engine state: banks, payments and the queues that hold them (engine.md section 4).

Plain slotted classes so attribute access stays cheap in the tick loop. Aggregates that policy
context fields read (queue values, throughput totals, system Queue 2 size and value) are kept
up to date incrementally by the few functions that move payments, so no decision ever has to
scan a queue or the list of banks.
"""
from __future__ import annotations

import math

# Transaction.status values (engine.md 4.2). Strings keep frames and logs readable.
PENDING = "Pending"
SETTLED = "Settled"
OVERDUE = "Overdue"

# Where a payment currently sits.
NOWHERE = 0
IN_QUEUE1 = 1
IN_QUEUE2 = 2

RTGS_RANK = {"HighlyUrgent": 0, "Urgent": 1, "Normal": 2}

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1


class Transaction:
    """One payment order. Money fields are int cents; see engine.md 4.2 for every field."""

    __slots__ = (
        "tx_id", "seq", "sender_id", "receiver_id", "amount", "remaining_amount",
        "arrival_tick", "deadline_tick", "priority", "original_priority", "status",
        "settled_tick", "overdue_tick", "overdue_since_tick", "parent_id", "child_ids",
        "rtgs_priority", "rtgs_submission_tick", "declared_rtgs_priority", "settled_by",
        "location", "is_divisible", "dropped", "withdrawn", "split_index", "queue1_ticks",
        "queue2_ticks", "delay_cost", "settled_once", "release_at",
    )

    def __init__(self, tx_id: str, seq: int, sender_id: str, receiver_id: str, amount: int,
                 arrival_tick: int, deadline_tick: int, priority: int, *,
                 is_divisible: bool = False, parent_id: str | None = None,
                 split_index: int | None = None):
        self.tx_id = tx_id
        self.seq = seq                      # creation index (run-wide counter, engine.md 2.6)
        self.sender_id = sender_id
        self.receiver_id = receiver_id
        self.amount = amount
        self.remaining_amount = amount
        self.arrival_tick = arrival_tick
        self.deadline_tick = deadline_tick
        self.priority = priority
        self.original_priority = priority
        self.status = PENDING
        self.settled_tick: int | None = None
        self.overdue_tick: int | None = None        # since-tick of the Overdue status (behavioural)
        self.overdue_since_tick: int | None = None  # first tick marked overdue; kept after settling
        self.parent_id = parent_id
        self.child_ids: list[str] | None = None
        self.rtgs_priority: str | None = None
        self.rtgs_submission_tick: int | None = None
        self.declared_rtgs_priority: str | None = None
        self.settled_by: str | None = None
        self.location = NOWHERE
        self.is_divisible = is_divisible
        self.dropped = False
        self.withdrawn = False
        self.split_index = split_index
        self.queue1_ticks = 0
        self.queue2_ticks = 0
        self.delay_cost = 0
        self.settled_once = False
        self.release_at: int | None = None  # extended: a staggered child's release tick

    @property
    def is_overdue(self) -> bool:
        return self.status == OVERDUE

    def mark_overdue(self, tick: int) -> bool:
        """Pending -> Overdue{tick}. Returns True if the status changed (engine.md 4.2)."""
        if self.status == PENDING:
            self.status = OVERDUE
            self.overdue_tick = tick
            if self.overdue_since_tick is None:
                self.overdue_since_tick = tick
            return True
        return False

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return (f"Transaction({self.tx_id} {self.sender_id}->{self.receiver_id} "
                f"{self.remaining_amount}/{self.amount} d={self.deadline_tick} {self.status})")


class ReleaseBudget:
    """A bank's release budget for the current tick (policy.md 11.3)."""

    __slots__ = ("max_value", "remaining", "focus", "per_counterparty", "usage")

    def __init__(self, max_value: int, focus: list[str] | None, per_counterparty: int | None):
        self.max_value = max_value
        self.remaining = max_value
        self.focus = focus
        self.per_counterparty = per_counterparty
        self.usage: dict[str, int] = {}

    def allows(self, receiver: str, amount: int) -> bool:
        if amount > self.remaining:
            return False
        if self.focus is not None and receiver not in self.focus:
            return False
        if self.per_counterparty is not None and self.usage.get(receiver, 0) + amount > self.per_counterparty:
            return False
        return True

    def consume(self, receiver: str, amount: int) -> None:
        self.remaining = max(self.remaining - amount, -(2**63))
        self.usage[receiver] = self.usage.get(receiver, 0) + amount


class Agent:
    """One bank (engine.md 4.1). Balance may be negative (intraday overdraft)."""

    __slots__ = (
        "id", "index", "balance", "opening_balance", "unsecured_cap", "posted_collateral",
        "collateral_haircut", "max_collateral_capacity_cfg", "allocated_liquidity",
        "liquidity_pool", "liquidity_allocation_fraction", "sod_liquidity_fraction",
        "queue1", "queue1_value", "queue2_count", "queue2_value",
        "q2_index_count", "q2_index_nearest_deadline",
        "release_budget", "collateral_timers", "state_registers",
        "bilateral_limits", "multilateral_limit", "bilateral_outflows", "total_outflow",
        "collateral_posted_at_tick", "sent_amount_total", "settled_amount_total",
        "policy", "arrival", "bands", "unlimited_collateral_default",
        "cost_run", "cost_day", "peak_net_debit", "send_blocked", "receive_blocked",
    )

    def __init__(self, agent_id: str, index: int, opening_balance: int, unsecured_cap: int = 0):
        self.id = agent_id
        self.index = index                       # position in config order
        self.balance = opening_balance
        self.opening_balance = opening_balance
        self.unsecured_cap = unsecured_cap
        self.posted_collateral = 0
        self.collateral_haircut = 0.02
        self.max_collateral_capacity_cfg: int | None = None
        self.allocated_liquidity = 0
        self.liquidity_pool: int | None = None
        self.liquidity_allocation_fraction = 1.0
        # fraction re-allocated at each start of day: the policy document's
        # parameters.initial_liquidity_fraction for tree policies, 1.0 for built-in types
        self.sod_liquidity_fraction = 1.0
        self.queue1: list[Transaction] = []
        self.queue1_value = 0                    # sum of remaining_amount over queue1
        self.queue2_count = 0                    # live: own payments in Queue 2
        self.queue2_value = 0
        self.q2_index_count = 0                  # stale index, rebuilt after LSM (policy.md 10.5)
        self.q2_index_nearest_deadline: int | None = None
        self.release_budget: ReleaseBudget | None = None
        self.collateral_timers: dict[int, list[tuple[int, str, int]]] = {}
        self.state_registers: dict[str, float] = {}
        self.bilateral_limits: dict[str, int] = {}
        self.multilateral_limit: int | None = None
        self.bilateral_outflows: dict[str, int] = {}
        self.total_outflow = 0
        self.collateral_posted_at_tick: int | None = None
        self.sent_amount_total = 0               # sum of amount over every payment ever sent
        self.settled_amount_total = 0            # sum of settled amounts over them
        # extended profile [DEVIATION]: with no configured capacity and no unsecured credit line
        # the 10 x unsecured_cap heuristic would be 0 and every post would abort the run; the
        # extended profile lets such a bank post without a cap instead (docs/deviations.md)
        self.unlimited_collateral_default = False
        self.policy = None                       # compiled policy (paysim_lab.policy)
        self.arrival = None                      # ArrivalGenerator state or None
        self.bands = None
        self.cost_run = [0] * 7                  # per COST_KINDS, never reset
        self.cost_day = [0] * 7                  # reset at start of day
        self.peak_net_debit = 0
        # scenario events (extended profile): how many outages/failures stop this bank from
        # sending / receiving now; settlement checks them in O(1) (settlement.gated)
        self.send_blocked = 0
        self.receive_blocked = 0

    # ---- derived quantities (engine.md 4.1) -------------------------------------------------
    @property
    def credit_used(self) -> int:
        return -self.balance if self.balance < 0 else 0

    @property
    def collateral_credit(self) -> int:
        h = 1.0 - self.collateral_haircut
        if h < 0:
            h = 0.0
        return math.floor(float(self.posted_collateral) * h)

    @property
    def allowed_overdraft_limit(self) -> int:
        return self.collateral_credit + self.unsecured_cap

    @property
    def available_liquidity(self) -> int:
        bal = self.balance
        used = -bal if bal < 0 else 0
        head = self.collateral_credit + self.unsecured_cap - used
        return (bal if bal > 0 else 0) + (head if head > 0 else 0)

    def can_pay(self, amount: int) -> bool:
        return amount <= self.available_liquidity

    @property
    def max_collateral_capacity(self) -> int:
        cfg = self.max_collateral_capacity_cfg
        if cfg is not None:
            return cfg
        if self.unsecured_cap == 0 and self.unlimited_collateral_default:
            return I64_MAX
        return 10 * self.unsecured_cap

    @property
    def remaining_collateral_capacity(self) -> int:
        return self.max_collateral_capacity - self.posted_collateral

    def max_withdrawable_collateral(self, buffer: int) -> int:
        h = self.collateral_haircut
        if 1.0 - h <= 0:
            return self.posted_collateral
        target = self.credit_used + buffer
        from_unsecured = min(self.unsecured_cap, target)
        needed = math.ceil((target - from_unsecured) / (1.0 - h))
        return max(self.posted_collateral - needed, 0)

    @property
    def total_cost(self) -> int:
        return sum(self.cost_run)

    def __repr__(self) -> str:  # pragma: no cover
        return f"Agent({self.id} bal={self.balance} q1={len(self.queue1)})"


# Cost kinds, in the order of Agent.cost_run / cost_day (engine.md section 7).
COST_KINDS = ("overdraft", "delay", "collateral", "liquidity_opportunity",
              "deadline_penalty", "eod_penalty", "split_friction")
C_OVERDRAFT, C_DELAY, C_COLLATERAL, C_LIQ_OPP, C_DEADLINE, C_EOD, C_FRICTION = range(7)


class Penalty:
    """A deadline or end-of-day penalty: fixed cents, or a rate in bps of an amount (engine.md 7.5)."""

    __slots__ = ("mode", "amount", "bps_per_event")

    def __init__(self, mode: str = "fixed", amount: int = 0, bps_per_event: float = 0.0):
        self.mode = mode
        self.amount = amount
        self.bps_per_event = bps_per_event

    def resolve(self, x: int) -> int:
        """Penalty in cents for a payment of ``x`` cents.

        >>> Penalty("rate", bps_per_event=25.0).resolve(1_000_000)
        2500
        >>> Penalty("fixed", amount=10000).resolve(5)
        10000
        """
        if self.mode == "fixed":
            return self.amount
        r = self.bps_per_event
        if r != r or r in (math.inf, -math.inf) or r < 0:
            return 0
        scaled = int(r * 1_000_000)  # truncation toward zero
        return (abs(x) * scaled) // 10_000_000_000


class CostRates:
    """The scenario's cost_rates block, with defaults (engine.md 3.7)."""

    __slots__ = ("overdraft_bps_per_tick", "delay_cost_per_tick_per_cent",
                 "collateral_cost_per_tick_bps", "eod_penalty", "deadline_penalty",
                 "split_friction_cost", "overdue_delay_multiplier", "priority_delay_multipliers",
                 "liquidity_cost_per_tick_bps", "eod_borrowing_rate")

    def __init__(self):
        self.overdraft_bps_per_tick = 0.001
        self.delay_cost_per_tick_per_cent = 0.0001
        self.collateral_cost_per_tick_bps = 0.0002
        self.eod_penalty = Penalty("fixed", 10000)
        self.deadline_penalty = Penalty("fixed", 50000)
        self.split_friction_cost = 1000
        self.overdue_delay_multiplier = 5.0
        # (urgent, normal, low) multipliers, or None when not configured
        self.priority_delay_multipliers: tuple[float, float, float] | None = None
        self.liquidity_cost_per_tick_bps = 0.0
        self.eod_borrowing_rate = 0.0       # extended profile only (engine.md 7)


class World:
    """Everything the engine and the policy context read: time, banks, payments, Queue 2.

    Policy context fields (paysim_lab.policy.context) read from here; they must never scan
    ``agents`` or a queue: every aggregate they need is a maintained attribute.
    """

    __slots__ = (
        "tick", "ticks_per_day", "num_days", "total_ticks", "profile",
        "agents", "agent_list", "config_order", "n_agents",
        "txs", "tx_list", "queue2", "queue2_value",
        "costs", "eod_rush_threshold", "deferred_crediting", "deadline_cap_at_eod",
        "events", "gated", "changed_payments",
    )

    def __init__(self, ticks_per_day: int, num_days: int, profile: str = "extended"):
        self.tick = 0
        self.ticks_per_day = ticks_per_day
        self.num_days = num_days
        self.total_ticks = ticks_per_day * num_days
        self.profile = profile
        self.agents: dict[str, Agent] = {}
        self.agent_list: list[Agent] = []        # agent order: ascending id
        self.config_order: list[str] = []        # order of the agents: list in the file
        self.n_agents = 0
        self.txs: dict[str, Transaction] = {}
        self.tx_list: list[Transaction] = []     # creation order
        self.queue2: list[Transaction] = []
        self.queue2_value = 0
        self.costs = CostRates()
        self.eod_rush_threshold = 0.8
        self.deferred_crediting = False
        self.deadline_cap_at_eod = False
        self.events: list[tuple] = []
        self.gated = False   # some bank is in an outage or has failed (settlement.gated)
        # payments whose priority, remaining amount, RTGS priority or overdue tick changed
        # during the current tick (cleared as each tick starts): lets an observer of the
        # queues (the store's spell tracker) re-read only those instead of every queued
        # payment every tick
        self.changed_payments: list[Transaction] = []

    def add_agent(self, agent: Agent) -> None:
        """Add one bank (keeps ``agent_list`` in id order; use add_agents for many)."""
        self.add_agents([agent])

    def add_agents(self, agents) -> None:
        """Add banks in config order; ``agent_list`` is re-sorted once per call, not per bank.

        >>> w = World(10, 1)
        >>> w.add_agents([Agent("B", 0, 0), Agent("A", 1, 0)])
        >>> [a.id for a in w.agent_list], w.config_order
        (['A', 'B'], ['B', 'A'])
        """
        for agent in agents:
            self.agents[agent.id] = agent
            self.config_order.append(agent.id)
        # one sort per call: building a world of n banks stays O(n log n), not O(n^2 log n)
        self.agent_list = sorted(self.agents.values(), key=_agent_id)
        self.n_agents = len(self.agent_list)


def _agent_id(agent: Agent) -> str:
    return agent.id
