"""Gross settlement: RTGS submission, Queue 2 membership and the FIFO pass (engine.md 6.1-6.2, 6.6).

A payment settles for its full remaining amount or not at all. ``Transaction.location`` is the
truth about where a payment sits; ``world.queue2`` is compacted by the phase that removed
entries (the FIFO pass rebuilds it, LSM phases filter it at their end), so code walking the
list skips entries whose location is no longer Queue 2.
"""
from __future__ import annotations

from .state import IN_QUEUE2, NOWHERE, SETTLED, PENDING, Agent, Transaction, World


class DeferredCredits:
    """Credits held back until step S14 when ``deferred_crediting`` is on (engine.md 6.6)."""

    __slots__ = ("amounts", "sources")

    def __init__(self):
        self.amounts: dict[str, int] = {}
        self.sources: dict[str, list[str]] = {}

    def add(self, receiver_id: str, amount: int, tx_id: str) -> None:
        if receiver_id in self.amounts:
            self.amounts[receiver_id] += amount
            self.sources[receiver_id].append(tx_id)
        else:
            self.amounts[receiver_id] = amount
            self.sources[receiver_id] = [tx_id]

    def __bool__(self) -> bool:
        return bool(self.amounts)


def limits_ok(sender: Agent, receiver_id: str, amount: int) -> bool:
    """Bilateral and multilateral per-day outflow limits (engine.md 6.8)."""
    if sender.bilateral_limits:
        lim = sender.bilateral_limits.get(receiver_id)
        if lim is not None and sender.bilateral_outflows.get(receiver_id, 0) + amount > lim:
            return False
    ml = sender.multilateral_limit
    if ml is not None and sender.total_outflow + amount > ml:
        return False
    return True


def gated(world: World, tx: Transaction) -> bool:
    """An outage or failure (scenario events) stops ``tx`` from settling now: its sender cannot
    send or its receiver cannot receive. Callers test ``world.gated`` first (no gate: no cost).
    """
    agents = world.agents
    return agents[tx.sender_id].send_blocked > 0 or agents[tx.receiver_id].receive_blocked > 0


def settle(world: World, tx: Transaction, tick: int, settled_by: str,
           deferred: DeferredCredits | None) -> int:
    """Move ``tx.remaining_amount`` from sender to receiver and mark ``tx`` settled.

    ``deferred`` collects the credit instead of applying it (deferred crediting); pass None to
    credit at once. Does not touch queue membership or the parent (see :func:`reduce_parent`).
    Returns the settled amount.
    """
    x = tx.remaining_amount
    agents = world.agents
    sender = agents[tx.sender_id]
    sender.balance -= x
    rid = tx.receiver_id
    sender.bilateral_outflows[rid] = sender.bilateral_outflows.get(rid, 0) + x
    sender.total_outflow += x
    if deferred is None:
        agents[rid].balance += x
    else:
        deferred.add(rid, x, tx.tx_id)
    sender.settled_amount_total += x
    tx.remaining_amount = 0
    tx.status = SETTLED
    tx.settled_tick = tick
    tx.settled_by = settled_by
    tx.settled_once = True
    world.changed_payments.append(tx)
    return x


def reduce_parent(world: World, tx: Transaction, tick: int) -> None:
    """A split child settled through RTGS or a FIFO pass: shrink the parent (engine.md 4.3)."""
    pid = tx.parent_id
    if pid is None:
        return
    parent = world.txs[pid]
    parent.remaining_amount -= tx.amount
    world.changed_payments.append(parent)
    world.agents[parent.sender_id].settled_amount_total += tx.amount
    if parent.remaining_amount <= 0:
        parent.remaining_amount = 0
        parent.status = SETTLED
        parent.settled_tick = tick
        parent.settled_once = True
        if parent.settled_by is None:
            parent.settled_by = tx.settled_by


def enqueue_queue2(world: World, tx: Transaction) -> None:
    """Append ``tx`` to the end of Queue 2 and update the aggregates policies read."""
    world.queue2.append(tx)
    tx.location = IN_QUEUE2
    x = tx.remaining_amount
    world.queue2_value += x
    s = world.agents[tx.sender_id]
    s.queue2_count += 1
    s.queue2_value += x


def leave_queue2(world: World, tx: Transaction) -> None:
    """Account for ``tx`` leaving Queue 2 (call before settling it); the list is compacted later."""
    x = tx.remaining_amount
    world.queue2_value -= x
    s = world.agents[tx.sender_id]
    s.queue2_count -= 1
    s.queue2_value -= x
    tx.location = NOWHERE


def compact_queue2(world: World) -> None:
    """Drop entries that left Queue 2 from the list, keeping the others' order."""
    world.queue2 = [t for t in world.queue2 if t.location == IN_QUEUE2]


def fifo_pass(world: World, tick: int, deferred: DeferredCredits | None, event_type: str | None,
              release_reason: str, settled_by: str) -> tuple[int, int]:
    """One pass over Queue 2 in order, settling what the sender can pay now (engine.md 6.2).

    Entries past their deadline are marked overdue first. One pass only: an entry that failed
    is not retried after later entries brought its sender liquidity. Emits ``event_type`` per
    settlement when given. Returns (count, value) settled.
    """
    agents = world.agents
    events = world.events
    kept: list[Transaction] = []
    count = 0
    value = 0
    gate = world.gated
    for tx in world.queue2:
        if tx.location != IN_QUEUE2 or tx.status == SETTLED:
            continue
        if tick > tx.deadline_tick and tx.status == PENDING:
            tx.mark_overdue(tick)
            world.changed_payments.append(tx)
        x = tx.remaining_amount
        sender = agents[tx.sender_id]
        if (x <= sender.available_liquidity and limits_ok(sender, tx.receiver_id, x)
                and not (gate and gated(world, tx))):
            leave_queue2(world, tx)
            settle(world, tx, tick, settled_by, deferred)
            if tx.parent_id is not None:
                reduce_parent(world, tx, tick)
            count += 1
            value += x
            if event_type is not None:
                events.append((event_type, tick, tx.tx_id, tx.sender_id, tx.receiver_id, x,
                               tick - tx.arrival_tick, release_reason))
        else:
            kept.append(tx)
    world.queue2 = kept
    return count, value


def rebuild_queue2_index(world: World) -> None:
    """Refresh the per-sender Queue 2 snapshot policies read (policy.md 10.5: stale by design)."""
    for a in world.agent_list:
        a.q2_index_count = 0
        a.q2_index_nearest_deadline = None
    agents = world.agents
    for tx in world.queue2:
        if tx.location != IN_QUEUE2:
            continue
        a = agents[tx.sender_id]
        a.q2_index_count += 1
        d = a.q2_index_nearest_deadline
        if d is None or tx.deadline_tick < d:
            a.q2_index_nearest_deadline = tx.deadline_tick
