"""Queue membership as spells: one row per stretch of ticks a payment sits unchanged in a queue.

A *spell* is a maximal run of ticks ``from_tick <= t < to_tick`` in which a payment waits in
the same queue (a bank's Queue 1, or the RTGS Queue 2) with the same state columns and the same
order relative to the other payments of that queue. The store keeps spells in ``queue_spells``;
the view ``tick_queue_snapshots`` expands them back into one row per queued payment per tick,
its ``position`` being the rank of the spell's ``sort_key`` among the spells of that queue and
tick (persistence.md, "Queue snapshots").

Sort keys: after each tick, a queue whose earlier payments kept their relative order and whose
new payments all come after them keeps the survivors' keys (a survivor whose state changed
closes its spell and opens a new one with the same key) and gives new payments fresh,
increasing keys. Any other change (a re-sort, an insertion in the middle) closes every spell of
that queue and opens new ones with fresh keys in the new order. Keys come from one counter per
run, so they only have to order the spells open at the same tick in one queue.

:class:`QueueSpells` is fed once per tick, by the store writer, either from the engine's queues
(:meth:`QueueSpells.feed_world`; an unchanged queue costs one C-level list comparison, and only
the payments the engine lists as changed in the tick, ``world.changed_payments``, have their
state read again) or from queue rows as QUEUE_COLUMNS columns (:meth:`QueueSpells.feed_columns`).
It also tells each payment's total ticks in Queue 1 and Queue 2 (from spell lengths) and the
current queue contents.
"""
from __future__ import annotations

from itertools import compress, groupby, islice, repeat
from operator import attrgetter, eq, ne

from ..engine.state import IN_QUEUE1, IN_QUEUE2
from ..records import QUEUE_COLUMNS

#: Per-payment columns of a queue snapshot row that a spell keeps constant.
STATE_COLUMNS = QUEUE_COLUMNS[4:]   # receiver_id .. overdue_since_tick
#: Columns of a spell row, in ``queue_spells`` order (simulation_id added by the writer).
SPELL_COLUMNS = ("queue_type", "agent_id", "tx_id", "from_tick", "to_tick", "sort_key") \
    + STATE_COLUMNS

#: Check, after every tick fed from the engine, that the states kept equal every queued
#: payment's state read again (the test suite turns this on: it catches a change the engine
#: made without listing it in ``world.changed_payments``).
CHECK_STATES = False

_STATE = attrgetter(*STATE_COLUMNS)
_TX_ID = attrgetter("tx_id")
_SENDER = attrgetter("sender_id")
_LOCATION = attrgetter("location")
_RTGS = ("rtgs", None)


def _row_groups(kinds: list[str], owners: list[str], positions: list[int] | None) -> dict:
    """Each queue's rows of a snapshot: a slice when they form one block in position order
    (Queue 1 of each bank in turn, then Queue 2, as ``queue_columns`` gives them), else a
    list of row indexes sorted by position."""
    n = len(kinds)
    r = kinds.index("rtgs") if "rtgs" in kinds else n
    groups: dict = {}
    if kinds.count("queue1") == r and kinds.count("rtgs") == n - r:
        start = 0
        for owner, block in groupby(islice(owners, r)):
            m = len(list(block))
            key = ("queue1", owner)
            if key in groups:           # a bank's rows in two blocks
                break
            groups[key] = slice(start, start + m)
            start += m
        else:
            if r < n:
                groups[_RTGS] = slice(r, n)
            if positions is None or all(positions[sl] == list(range(sl.stop - sl.start))
                                        for sl in groups.values()):
                return groups
    groups = {}
    for i, (kind, owner) in enumerate(zip(kinds, owners)):
        groups.setdefault(_RTGS if kind == "rtgs" else (kind, owner), []).append(i)
    if positions is not None:
        for rows in groups.values():
            rows.sort(key=positions.__getitem__)
    return groups


def _falses(flags: list[bool], count: int) -> list[int]:
    """Indexes of the ``count`` False entries of ``flags`` (C-level scans between them)."""
    out, i = [], -1
    for _ in range(count):
        i = flags.index(False, i + 1)
        out.append(i)
    return out


class _Queue:
    """One queue's contents after the last tick fed, and its open spells (same order)."""

    __slots__ = ("objs", "states", "ids", "owners", "starts", "keys")

    def __init__(self):
        self.objs: list = []          # what equality is tested on (payments, or their ids)
        self.states: list | None = []  # state tuples (None when spells are not kept)
        self.ids: list[str] = []
        self.owners: list[str] = []
        self.starts: list[int] = []   # from_tick of each open spell
        self.keys: list[int] = []     # sort_key of each open spell


class QueueSpells:
    """Tracks every queue of one run tick by tick and turns it into spells.

    ``emit``: keep the spell rows (a run stored with ``queues``); without it only the queue
    contents and tick totals are tracked (cheaper: states are not compared).

    >>> from types import SimpleNamespace as NS
    >>> tx = NS(tx_id="tx_1", sender_id="A", receiver_id="B", amount=5, remaining_amount=5,
    ...         priority=5, deadline_tick=9, rtgs_priority=None, overdue_since_tick=None,
    ...         location=1)
    >>> world = NS(agent_list=[NS(id="A", queue1=[tx])], queue2=[])
    >>> spells = QueueSpells()
    >>> for tick in range(3):
    ...     spells.feed_world(world, tick)
    >>> spells.queue1_ids()
    {'A': ['tx_1']}
    >>> cols = spells.take()                  # one spell: ticks 0, 1 and 2
    >>> cols["tx_id"], cols["from_tick"], cols["to_tick"], cols["sort_key"]
    (['tx_1'], [0], [3], [0])
    >>> spells.queue_ticks(["tx_1"])
    ([3], [0])
    """

    __slots__ = ("emit", "check", "_queues", "_last_tick", "_next_key", "_rows", "_pending",
                 "_done1", "_done2", "_touched", "_rtgs_ids")

    def __init__(self, emit: bool = True, check: bool | None = None):
        self.emit = bool(emit)
        self.check = CHECK_STATES if check is None else bool(check)
        self._queues: dict[tuple[str, str | None], _Queue] = {}
        self._last_tick: int | None = None
        self._next_key = 0
        self._rows: list[tuple] = []      # spells closed since the last take
        self._pending: list[tuple] = []   # spells taken but not yet confirmed stored
        self._done1: dict[str, int] = {}  # ticks of closed (or cut) Queue 1 spells per payment
        self._done2: dict[str, int] = {}
        self._touched: set[str] = set()   # payments whose spells closed since the last take
        self._rtgs_ids: list[str] = []

    # ------------------------------------------------------------------ feeding
    def feed_world(self, world, tick: int) -> None:
        """The queues after ``tick``, read from the engine: each bank's ``queue1`` (in
        ``world.agent_list`` order) and ``world.queue2`` (payments still in Queue 2).

        When the world lists the payments whose state changed during the tick
        (``world.changed_payments``) and ``tick`` follows the last tick fed, only those
        payments' states are read again; otherwise every queued payment's is."""
        changed = getattr(world, "changed_payments", None)
        if changed is None or self._last_tick is None or tick != self._last_tick + 1:
            dirty = None
        else:
            dirty = self._dirty_queues(changed)
        self._start_tick(tick)
        self._feed_queues(world, tick, dirty)
        if self.check and self.emit:
            self._check_states(world)

    def _feed_queues(self, world, tick: int, dirty: dict | None) -> None:
        for a in world.agent_list:
            self._feed_queue("queue1", ("queue1", a.id), a.queue1, tick, dirty, a.id)
        q2 = world.queue2
        waiting = list(compress(q2, map(eq, map(_LOCATION, q2), repeat(IN_QUEUE2))))
        ids = self._feed_queue("rtgs", _RTGS, waiting, tick, dirty)
        if ids is not None:
            self._rtgs_ids = ids

    def _feed_queue(self, kind: str, key, objs: list, tick: int, dirty: dict | None,
                    owner: str | None = None) -> list[str] | None:
        """One queue's payments after ``tick`` (``owner``: the bank of a Queue 1; Queue 2's
        rows belong to each payment's sender). Its new ids when its contents changed."""
        queues = self._queues
        q = queues.get(key)
        if q is None:
            if not objs:
                return None
            q = queues[key] = _Queue()
        if self._same(kind, q, tick, objs, dirty, key):
            return None
        objs = list(objs)
        ids = list(map(_TX_ID, objs))
        owners = [owner] * len(objs) if owner is not None else list(map(_SENDER, objs))
        self._update(kind, q, tick, objs, ids, owners, *self._states_of(objs, dirty, key))
        if not objs:
            del queues[key]
        return ids

    def _check_states(self, world) -> None:
        """AssertionError unless the states kept are every queued payment's current state."""
        for a in world.agent_list:
            self._check_queue(("queue1", a.id), a.queue1)
        self._check_queue(_RTGS, [tx for tx in world.queue2 if tx.location == IN_QUEUE2])

    def _check_queue(self, key, objs: list) -> None:
        q = self._queues.get(key)
        kept = (q.objs, q.states) if q is not None else ([], [])
        if kept != (objs, list(map(_STATE, objs))):
            raise AssertionError(f"queue spells: {key} after tick {self._last_tick} holds "
                                 f"{list(zip(map(_TX_ID, kept[0]), kept[1]))}, the engine "
                                 f"{list(zip(map(_TX_ID, objs), map(_STATE, objs)))}")

    def _dirty_queues(self, changed: list) -> dict:
        """The changed payments of a tick by the queue they sit in now."""
        dirty: dict = {}
        for tx in changed:
            loc = tx.location
            if loc == IN_QUEUE1:
                dirty.setdefault(("queue1", tx.sender_id), []).append(tx)
            elif loc == IN_QUEUE2:
                dirty.setdefault(_RTGS, []).append(tx)
        return dirty

    def _same(self, kind: str, q: _Queue, tick: int, objs: list, dirty: dict | None,
              key) -> bool:
        """Whether queue ``q`` holds the same payments in the same order as before; if so,
        the spells of those whose state changed are renewed here."""
        if objs != q.objs:
            return False
        if not self.emit:
            return True
        if dirty is None:
            states = list(map(_STATE, objs))
            if states == q.states:
                return True
            self._update(kind, q, tick, list(objs), q.ids, q.owners, states)
            return True
        for tx in dirty.get(key, ()):
            try:
                i = q.objs.index(tx)
            except ValueError:      # not where its location says: read the whole queue
                return self._same(kind, q, tick, objs, None, key)
            state = _STATE(tx)
            if state != q.states[i]:
                self._close(kind, q, (i,), tick)
                q.states[i] = state
                q.starts[i] = tick
        return True

    def _states_of(self, objs: list, dirty: dict | None, key) -> tuple[list | None, list]:
        """``(states, changed)`` arguments of :meth:`_update` for a queue's new contents: every
        state read now, or (the tick's changes known) None and the changed payments, so that
        only those and the newly queued are read."""
        if not self.emit:
            return None, []
        if dirty is None:
            return list(map(_STATE, objs)), []
        return None, dirty.get(key, [])

    def feed_columns(self, columns: dict[str, list], tick: int) -> None:
        """The queues after ``tick`` as queue snapshot rows (QUEUE_COLUMNS columns, each
        queue's rows in position order or carrying their ``position``)."""
        self._start_tick(tick)
        owners, ids_col = columns["agent_id"], columns["tx_id"]
        groups = _row_groups(columns["queue_type"], owners, columns.get("position"))
        state_cols = [columns[c] for c in STATE_COLUMNS] if self.emit else None
        queues = self._queues
        for key in list(queues) + [k for k in groups if k not in queues]:
            rows = groups.get(key)
            if rows is None:
                ids, who, states = [], [], ([] if state_cols is not None else None)
            elif isinstance(rows, slice):       # the usual case: one block of rows
                ids, who = ids_col[rows], owners[rows]
                states = (list(zip(*(c[rows] for c in state_cols)))
                          if state_cols is not None else None)
            else:
                ids, who = [ids_col[i] for i in rows], [owners[i] for i in rows]
                states = ([tuple(c[i] for c in state_cols) for i in rows]
                          if state_cols is not None else None)
            q = queues.get(key)
            if q is None:
                q = queues[key] = _Queue()
            if ids == q.objs and states == q.states:
                continue
            self._update(key[0], q, tick, ids, ids, who, states)
            if key == _RTGS:
                self._rtgs_ids = ids
            if not ids:
                del queues[key]

    def _start_tick(self, tick: int) -> None:
        last = self._last_tick
        if last is not None and tick != last + 1:
            # not the next tick (records fed by hand): no spell spans the ticks in between
            self._cut(last + 1, tick)
        self._last_tick = tick

    def _update(self, kind: str, q: _Queue, tick: int, objs: list, ids: list[str],
                owners: list[str], states: list | None, changed: list = ()) -> None:
        """Queue ``q`` changed at ``tick``: close the spells that ended, open the new ones.
        ``objs`` identify the payments (Transaction objects, or tx ids); ``states`` are their
        state tuples, or None: then (spells kept) the payments already queued keep their
        states but for those in ``changed``, and only those and the new ones are read.

        Whole-list operations (C-level maps) only: a long Queue 2 changes at most ticks,
        usually by losing a few payments and gaining a few at its end."""
        n, n_old = len(objs), len(q.objs)
        lazy = states is None and self.emit
        try:    # payments hash by identity, ids by value
            present = set(objs)
            stays = list(map(present.__contains__, q.objs))     # per old entry
        except TypeError:   # objects without a hash (compared by identity then)
            present = set(map(id, objs))
            stays = list(map(present.__contains__, map(id, q.objs)))
        k = stays.count(True)
        if objs[:k] == list(compress(q.objs, stays)):
            # the survivors kept their order and every new payment comes after them (the
            # survivors are the first k entries): survivors keep their keys
            if k < n_old:
                self._close(kind, q, _falses(stays, n_old - k), tick)
            keys = list(compress(q.keys, stays))
            keys.extend(range(self._next_key, self._next_key + n - k))
            starts = list(compress(q.starts, stays))
            starts.extend(repeat(tick, n - k))
            if lazy:
                states = list(compress(q.states, stays))
                states.extend(map(_STATE, islice(objs, k, None)))
                renewed = []
                arrived = objs[k:]
                for tx in changed:
                    if tx in arrived:       # newly queued: read above
                        continue
                    try:
                        j = objs.index(tx, 0, k)
                    except ValueError:      # left the queue
                        continue
                    state = _STATE(tx)
                    if state != states[j]:
                        states[j] = state
                        renewed.append(j)
                self._renew(kind, q, tick, stays, renewed, starts)
            elif states is not None:
                before = list(compress(q.states, stays))
                if before != states[:k]:
                    self._renew(kind, q, tick, stays,
                                list(compress(range(k), map(ne, before, states))), starts)
        else:
            # a re-sort or an insertion in the middle: every spell of the queue starts anew
            if lazy:
                states = list(map(_STATE, objs))
            self._close(kind, q, range(n_old), tick)
            keys = list(range(self._next_key, self._next_key + n))
            starts = [tick] * n
            k = 0
        self._next_key += n - k
        q.objs, q.ids, q.owners, q.states = objs, ids, owners, states
        q.starts, q.keys = starts, keys

    def _renew(self, kind: str, q: _Queue, tick: int, stays: list[bool], renewed: list[int],
               starts: list[int]) -> None:
        """Survivors ``renewed`` (indexes among the survivors) changed state at ``tick``: close
        their spells (at their old index in ``q``) and start new ones."""
        if renewed:
            old_index = list(compress(range(len(stays)), stays))
            self._close(kind, q, [old_index[j] for j in renewed], tick)
            for j in renewed:
                starts[j] = tick

    def _close(self, kind: str, q: _Queue, indexes, end: int) -> None:
        """Close the open spells at ``indexes`` of ``q`` at ``end`` (exclusive)."""
        done = self._done1 if kind == "queue1" else self._done2
        emit = self.emit
        for i in indexes:
            t, start = q.ids[i], q.starts[i]
            self._touched.add(t)
            if start >= end:
                continue
            done[t] = done.get(t, 0) + end - start
            if emit:
                self._rows.append((kind, q.owners[i], t, start, end, q.keys[i]) + q.states[i])

    def _cut(self, end: int, restart: int) -> None:
        """Close every open spell at ``end``; each continues from ``restart`` (same key)."""
        for (kind, _), q in self._queues.items():
            self._close(kind, q, range(len(q.ids)), end)
            q.starts = [restart] * len(q.ids)

    # ------------------------------------------------------------------ reading
    @property
    def last_tick(self) -> int | None:
        """The last tick fed (None before the first)."""
        return self._last_tick

    def rtgs_ids(self) -> list[str]:
        """Ids of the payments in Queue 2 after the last tick, in queue order (a list that is
        replaced, never changed, when Queue 2 changes)."""
        return self._rtgs_ids

    def queue1_ids(self) -> dict[str, list[str]]:
        """Each bank's Queue 1 ids after the last tick (banks with an empty queue left out)."""
        return {owner: q.ids for (kind, owner), q in self._queues.items()
                if kind == "queue1" and q.ids}

    def queue_ticks(self, tx_ids) -> tuple[list[int], list[int]]:
        """Each payment's ticks in Queue 1 and in Queue 2 so far (ticks it was in the queue
        at a tick's end), as two lists in ``tx_ids`` order."""
        end = (self._last_tick + 1) if self._last_tick is not None else 0
        open1: dict[str, int] = {}
        open2: dict[str, int] = {}
        for (kind, _), q in self._queues.items():
            into = open1 if kind == "queue1" else open2
            for t, start in zip(q.ids, q.starts):
                into[t] = end - start
        d1, d2 = self._done1, self._done2
        return ([d1.get(t, 0) + open1.get(t, 0) for t in tx_ids],
                [d2.get(t, 0) + open2.get(t, 0) for t in tx_ids])

    def touched(self) -> set[str]:
        """Payments queued at some tick since the last :meth:`take` (ids whose spells closed,
        and every payment queued now)."""
        out = set(self._touched)
        for q in self._queues.values():
            out.update(q.ids)
        return out

    # ------------------------------------------------------------------ flushing
    def take(self) -> dict[str, list]:
        """The spells to store up to the last tick fed, as SPELL_COLUMNS columns.

        Open spells are cut at the last tick + 1 and continue (same key) from there, so each
        flush writes only rows about its own ticks. Taken rows are handed out again by the next
        take until :meth:`stored` confirms them (a flush that failed is retried whole).
        """
        if self._last_tick is not None:
            end = self._last_tick + 1
            self._cut(end, end)
        self._pending.extend(self._rows)
        self._rows = []
        self._touched = set()
        rows = self._pending
        if not rows:
            return {c: [] for c in SPELL_COLUMNS}
        return dict(zip(SPELL_COLUMNS, map(list, zip(*rows))))

    def stored(self) -> None:
        """The rows of the last :meth:`take` are stored (or given up): forget them."""
        self._pending = []
