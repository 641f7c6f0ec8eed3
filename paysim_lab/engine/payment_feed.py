"""Payments from a table (real payment data): columnar until their arrival tick comes.

A :class:`PaymentFeed` holds one column per payment field, sorted by arrival tick, and the
offset of each tick's first payment. At the end of step S3 (after the tick's scenario events)
the engine turns that tick's slice into transactions, exactly as a ``CustomTransactionArrival``
scenario event would (same deadline default and caps, same priority cap, same ``Arrival``
event), except that no ``ScenarioEventExecuted`` event is logged and the payment keeps the
table's ``payment_id`` as its ``tx_id`` when one is given. No Python object exists per payment
before its tick; the columns are plain ``array`` / list objects (the engine never sees pandas).

>>> from array import array
>>> feed = PaymentFeed(total_ticks=3, sender=array("l", [0, 1]), receiver=array("l", [1, 0]),
...                    amount=array("q", [500, 70]), arrival=array("l", [0, 2]))
>>> feed.starts.tolist(), feed.count_at(2)
([0, 1, 1, 2], 1)
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Sequence

#: Column value meaning "not given" in the deadline and priority columns.
NOT_GIVEN = -1


class PackedIds:
    """Payment ids kept as one string and offsets; ``ids[k]`` is the k-th id or None.

    >>> ids = PackedIds("P1P22", array("q", [0, 2, 2, 5]), array("b", [1, 0, 1]))
    >>> list(ids)
    ['P1', None, 'P22']
    """

    __slots__ = ("text", "offsets", "given")

    def __init__(self, text: str, offsets: Sequence[int], given: Sequence[int]):
        self.text = text
        self.offsets = offsets
        self.given = given

    def __len__(self) -> int:
        return len(self.given)

    def __getitem__(self, k: int) -> str | None:
        if not self.given[k]:
            return None
        return self.text[self.offsets[k]:self.offsets[k + 1]]

    def __iter__(self):
        return (self[k] for k in range(len(self.given)))


class PaymentFeed:
    """Columns of a payments table (row ``k`` is one payment), sorted by arrival tick.

    - ``sender`` / ``receiver``: positions of the banks in the scenario's ``agents`` list.
    - ``amount``: cents (> 0). ``arrival``: tick of arrival, ascending.
    - ``deadline``: absolute deadline tick, or NOT_GIVEN for the default.
    - ``priority``: 0-10, or NOT_GIVEN for the default 5. ``divisible``: 0 or 1.
    - ``payment_id``: the table's ids (a :class:`PackedIds`, or any sequence of str or None),
      or None for no id column.

    Optional columns may be None when the table has none.
    """

    __slots__ = ("total_ticks", "sender", "receiver", "amount", "arrival", "deadline",
                 "priority", "divisible", "payment_id", "starts")

    def __init__(self, total_ticks: int, sender: Sequence[int], receiver: Sequence[int],
                 amount: Sequence[int], arrival: Sequence[int], *,
                 deadline: Sequence[int] | None = None, priority: Sequence[int] | None = None,
                 divisible: Sequence[int] | None = None,
                 payment_id: Sequence[str | None] | None = None):
        self.total_ticks = total_ticks
        self.sender = sender
        self.receiver = receiver
        self.amount = amount
        self.arrival = arrival
        self.deadline = deadline
        self.priority = priority
        self.divisible = divisible
        self.payment_id = payment_id
        # starts[t]..starts[t+1] is tick t's slice (arrival is sorted)
        self.starts = array("q", (bisect_left(arrival, t) for t in range(total_ticks + 1)))

    def __len__(self) -> int:
        return len(self.amount)

    def count_at(self, t: int) -> int:
        """Payments arriving at tick ``t``."""
        return self.starts[t + 1] - self.starts[t]

    def arrive(self, engine, t: int) -> None:
        """Create tick ``t``'s payments (end of S3), in table order."""
        lo = self.starts[t]
        hi = self.starts[t + 1]
        if lo == hi:
            return
        w = engine.world
        agents = w.agents
        order = w.config_order
        tpd = w.ticks_per_day
        T = w.total_ticks
        default_deadline = t + max(tpd // 10, 5)
        cap = min((t // tpd + 1) * tpd - 1, T) if w.deadline_cap_at_eod else T
        floor = t + 1
        deadlines = self.deadline
        priorities = self.priority
        divisibles = self.divisible
        ids = self.payment_id
        sender_col = self.sender
        receiver_col = self.receiver
        amount_col = self.amount
        new_transaction = engine.new_transaction
        enqueue = engine.enqueue_queue1
        events = w.events
        for k in range(lo, hi):
            sender = agents[order[sender_col[k]]]
            receiver = order[receiver_col[k]]
            amount = amount_col[k]
            deadline = default_deadline
            if deadlines is not None and deadlines[k] != NOT_GIVEN:
                deadline = deadlines[k]
            # the caps of CustomTransactionArrival (engine.md 8)
            if deadline > cap:
                deadline = cap
            if deadline < floor:
                deadline = floor
            priority = 5
            if priorities is not None and priorities[k] != NOT_GIVEN:
                priority = priorities[k]
            divisible = divisibles is not None and divisibles[k] == 1
            tx = new_transaction(sender, receiver, amount, t, deadline, priority,
                                 is_divisible=divisible,
                                 tx_id=ids[k] if ids is not None else None)
            enqueue(sender, tx)
            events.append(("Arrival", t, tx.tx_id, sender.id, receiver, amount, deadline,
                           priority, divisible))
        engine.stats.arrivals += hi - lo
