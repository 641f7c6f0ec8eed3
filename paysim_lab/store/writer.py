"""Writing one run into a store: collect each tick's rows, flush them in one transaction.

:class:`RunWriter` is what ``Simulation`` talks to (``add_tick``, ``flush``, ``finish``, ``fail``,
``policy_changed``). Each tick's snapshot rows are collected as columns when the tick ends; its
events stay in the Simulation's columnar event log until the flush, which turns the buffered
seq range into Arrow batches (never row-by-row INSERTs, never a dict per event), at the flush
points of persistence.md section 4, every ``flush_every`` ticks, and whenever
``max_buffered_events`` events are waiting (so memory stays bounded however long a day is).
The store's writer thread appends them and commits them together with ``ticks_run`` in ONE
transaction while the next ticks run; at most MAX_IN_FLIGHT flushes are in flight (so a run
whose first days are quick does not wait for each commit). Besides the records and
the event log, only the current state of the payments touched since the last flush (their
``transactions`` rows), the queues (tracked as spells, :mod:`.queue_spells`) and collateral
capacities are read from the engine.
"""
from __future__ import annotations

from operator import attrgetter
import json
import sys
import threading
from typing import Any

import pyarrow as pa

from ..config.memory_payments import MemoryPayments, feed_frame
from ..engine.state import IN_QUEUE1, IN_QUEUE2, OVERDUE, SETTLED
from ..eventlog import EventLog
from ..errors import StoreError
from ..records import (AGENT_STATE_COLUMNS, QUEUE_COLUMNS, SUMMARY_COLUMNS, QueueRows,
                       TickRecord, canonical_json, state_columns)
from ..report import RunInfo
from . import rows
from .daily import DayTracker
from .queue_spells import QueueSpells
from .run_options import (check_max_buffered_events, effective_config, parse_keep,
                          policy_document, sha256)
from .schema import (AGENT_QUEUE_SNAPSHOTS, AGENT_STATE_REGISTERS, COLLATERAL_EVENTS,
                     DAILY_AGENT_METRICS, POLICY_SNAPSHOTS, QUEUE_SPELLS, RUN_PAYMENTS,
                     TICK_AGENT_STATES, TICK_SUMMARIES, Table)

_ARROW_TYPES = {"BIGINT": pa.int64(), "UBIGINT": pa.uint64(), "INTEGER": pa.int32(),
                "DOUBLE": pa.float64(), "VARCHAR": pa.string(), "BOOLEAN": pa.bool_()}

#: Events waiting in memory before a flush is forced (bounds a flush's memory on long days).
DEFAULT_MAX_BUFFERED_EVENTS = 200_000

#: Flushes handed to the writer thread and not yet committed, at most: short stretches where
#: the ticks outrun the commits are absorbed; each one in flight holds its Arrow batches.
MAX_IN_FLIGHT = 3

#: Python's switch interval (seconds) while a run's flushes are being committed. The writer
#: thread takes Python's lock back many times per DuckDB statement (finding and reading the
#: Arrow batches, and between the steps of a query) and each time waits up to the interval
#: for the run's thread (5 ms: target2 persisted ~25% slower than with 0.2 ms; 0.05 ms a
#: further ~12% faster, docs/performance.md).
FLUSH_SWITCH_INTERVAL = 0.00005

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


def _share_the_interpreter(on: bool) -> None:
    """Shorten the switch interval for the first run committing in the background; restore it
    when the last one is done (runs in several threads share the process-wide setting)."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if on:
            if _switch_users == 0:
                _switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(min(_switch_saved, FLUSH_SWITCH_INTERVAL))
            _switch_users += 1
        elif _switch_users > 0:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def arrow_table(table: Table, columns: dict[str, list]) -> pa.Table | None:
    """An Arrow table with ``table``'s column types (columns absent from ``columns`` omitted);
    None when there are no rows."""
    if not len(next(iter(columns.values()), ())):
        return None
    fields, arrays = [], []
    for name, typ in table.columns:
        if name in columns:
            t = _ARROW_TYPES[typ]
            fields.append(pa.field(name, t))
            arrays.append(pa.array(columns[name], type=t))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def insert(con, table: Table, columns: dict[str, list], replace: bool = False) -> None:
    """Batch-insert column lists into ``table`` through Arrow (no row-by-row statements)."""
    rows_ = arrow_table(table, columns)
    if rows_ is not None:
        append(con, table, rows_, replace)


def append(con, table: Table, _paysim_rows: pa.Table, replace: bool = False) -> None:
    """Insert an Arrow table's rows into ``table`` in one statement."""
    names = ", ".join(_paysim_rows.column_names)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    # DuckDB reads the local Arrow table by name (a replacement scan): several times cheaper
    # per batch than registering and unregistering a view.
    con.execute(f"{verb} INTO {table.name} ({names}) SELECT {names} FROM _paysim_rows")


# Payment attributes read per touched payment (one C call each); derived columns in SQL.
_TX_ATTRS = ("tx_id", "sender_id", "receiver_id", "amount", "priority", "is_divisible",
             "arrival_tick", "deadline_tick", "settled_tick", "status", "dropped",
             "overdue_since_tick", "remaining_amount", "delay_cost", "parent_id", "split_index",
             "rtgs_priority", "rtgs_submission_tick", "declared_rtgs_priority", "settled_by",
             "original_priority", "withdrawn", "location", "seq")
_TX_TYPES = {"tx_id": pa.string(), "sender_id": pa.string(), "receiver_id": pa.string(),
             "status": pa.string(), "parent_id": pa.string(), "rtgs_priority": pa.string(),
             "declared_rtgs_priority": pa.string(), "settled_by": pa.string(),
             "is_divisible": pa.bool_(), "dropped": pa.bool_(), "withdrawn": pa.bool_()}
_TX_SQL = f"""
    INSERT INTO transactions (
        simulation_id, tx_id, sender_id, receiver_id, amount, priority, is_divisible,
        arrival_tick, arrival_day, deadline_tick, settlement_tick, settlement_day, status,
        overdue_since_tick, drop_reason, amount_settled, queue1_ticks, queue2_ticks,
        total_delay_ticks, delay_cost, parent_tx_id, split_index, rtgs_priority,
        rtgs_submission_tick, declared_rtgs_priority, remaining_amount, settled_by,
        original_priority, withdrawn, location, tx_order)
    SELECT $rid, tx_id, sender_id, receiver_id, amount, priority, is_divisible,
           arrival_tick, arrival_tick // $tpd, deadline_tick, settled_tick, settled_tick // $tpd,
           s.paysim_status, overdue_since_tick,
           CASE WHEN dropped THEN 'Expired deadline' END, amount - remaining_amount,
           q1, q2,
           greatest(CASE WHEN settled_tick IS NOT NULL AND s.paysim_status = 'settled'
                         THEN settled_tick ELSE $last END - arrival_tick, 0),
           delay_cost, parent_id, split_index, rtgs_priority, rtgs_submission_tick,
           declared_rtgs_priority, remaining_amount, settled_by, original_priority, withdrawn,
           CASE location WHEN {IN_QUEUE1} THEN 'queue1' WHEN {IN_QUEUE2} THEN 'queue2'
                         ELSE 'none' END,
           seq
    FROM (SELECT *, CASE WHEN dropped THEN 'dropped' WHEN status = '{SETTLED}' THEN 'settled'
                         WHEN status = '{OVERDUE}' THEN 'overdue' ELSE 'pending' END AS paysim_status
          FROM _paysim_tx) s"""


class RunWriter:
    """Persists one run. Created by :meth:`paysim_lab.Store.begin_run`.

    ``flush_every``: also flush after that many ticks; ``keep``: the parts stored (``events``,
    ``states`` = per-tick bank states, ``queues`` = per-tick queue snapshots; default all);
    ``max_buffered_events``: flush once that many events wait (bounded memory).
    """

    def __init__(self, store, sim, run_id: str, flush_every: int | None = None, keep=None,
                 max_buffered_events: int = DEFAULT_MAX_BUFFERED_EVENTS):
        if flush_every is not None and int(flush_every) < 1:
            raise StoreError(f"flush_every must be a positive number of ticks, got {flush_every}")
        self.store = store
        self.sim = sim
        self.run_id = run_id
        self.flush_every = int(flush_every) if flush_every else None
        self.max_buffered_events = check_max_buffered_events(max_buffered_events)
        self.parts = parse_keep(keep)
        self.ticks_per_day = sim.world.ticks_per_day
        self._status = "running"
        self._closed_at_ticks: int | None = None   # ticks stored when finish/fail last ran
        self._ticks_stored = 0                  # committed
        self._ticks_handed = 0                  # committed or being committed
        self._pending: list = []                # (Future, ticks) of the flushes in flight
        self._failed = False                    # a flush failed: later ones must not commit
        self._sharing = False                   # switch interval shortened for our commits
        # queue contents, each payment's queued ticks and (kept queues) the spells to store
        self._spells = QueueSpells(emit=self.keeps("queues"))
        self._days = DayTracker(run_id, sim.world)
        # events of records that carry dicts instead of a seq range (records built by hand)
        self._own_log = EventLog()
        self._reset()

    def _reset(self) -> None:
        self._ticks = 0                         # ticks buffered
        self._events_lo: int | None = None      # seq range of the buffered ticks' events
        self._events_hi: int | None = None
        self._log: EventLog | None = None
        self._touched: set[str] = set()
        self._summaries = {c: [] for c in TICK_SUMMARIES.column_names}
        self._states = {c: [] for c in TICK_AGENT_STATES.column_names}
        self._spells.stored()
        self._days.reset_rows()

    def keeps(self, part: str) -> bool:
        """Whether this run stores ``part`` (``events``, ``states`` or ``queues``)."""
        return part in self.parts

    # ------------------------------------------------------------------ run start
    def start(self) -> None:
        """Insert the ``simulations`` row (status running) and the ``init`` policy snapshots."""
        from .. import __version__
        sim = self.sim
        sc = sim.scenario
        cfg = effective_config(sc, sim.seed)
        cfg_json = canonical_json(cfg)
        w = sim.world
        source = getattr(sc, "source", "<dict>") or "<dict>"
        config_file = source if source == "<dict>" else source.replace("\\", "/").rsplit("/", 1)[-1]
        con = self.store.connection
        row = {
            "simulation_id": self.run_id, "config_file": config_file,
            "config_hash": sha256(cfg_json), "config_json": cfg_json,
            "ticks_per_day": w.ticks_per_day, "num_days": w.num_days,
            "num_agents": len(w.agent_list), "status": "running", "ticks_run": 0,
            "total_ticks": w.total_ticks, "scenario_name": sc.name,
            "paysim_version": __version__, "profile": sc.profile,
            "run_info_json": RunInfo.from_sim(sim).to_json(),
            "stored_parts": ",".join(self.parts),
        }
        snaps = []
        for aid in sorted((sc.agent_policies or {})):
            doc = canonical_json(policy_document(sc.agent_policies[aid]))
            snaps.append((self.run_id, aid, 0, 0, sha256(doc), doc, "init"))
        # a DataFrame's table: config_json cannot name it, so the run keeps a copy
        memory = sc._memory_payments
        payments = _run_payments(self.run_id, memory) if memory is not None else None
        self.store._transaction(lambda: self._insert_start(con, row, int(sim.seed), snaps,
                                                           payments))

    def _insert_start(self, con, row: dict, seed: int, snaps: list,
                      payments: dict | None) -> None:
        cols = list(row)
        con.execute(
            f"INSERT INTO simulations ({', '.join(cols)}, rng_seed, started_at, run_number) "
            f"SELECT {', '.join('?' for _ in cols)}, ?, now(), "
            f"coalesce((SELECT max(run_number) FROM simulations), 0) + 1",
            [row[c] for c in cols] + [seed])
        if snaps:
            insert(con, POLICY_SNAPSHOTS, {
                "simulation_id": [s[0] for s in snaps], "agent_id": [s[1] for s in snaps],
                "snapshot_day": [s[2] for s in snaps], "snapshot_tick": [s[3] for s in snaps],
                "policy_hash": [s[4] for s in snaps], "policy_json": [s[5] for s in snaps],
                "created_by": [s[6] for s in snaps]})
        if payments:
            insert(con, RUN_PAYMENTS, payments)

    # ------------------------------------------------------------------ per tick
    def add_tick(self, record: TickRecord) -> None:
        """Collect one completed tick; flushes after a day's last tick, every flush_every
        ticks and when max_buffered_events events wait."""
        log, lo, hi = self._events_of(record)
        if self._events_lo is None:
            self._events_lo = lo
        self._events_hi = hi
        self._log = log
        rid, t, d = self.run_id, record.tick, record.day
        s = self._summaries
        s["simulation_id"].append(rid)
        s["tick"].append(t)
        s["day"].append(d)
        for n in SUMMARY_COLUMNS:
            s[n].append(record.summary[n])
        states = state_columns(record.agent_states)
        if self.keeps("states"):
            st = self._states
            n_banks = len(states["agent_id"])
            st["simulation_id"].extend([rid] * n_banks)
            st["tick"].extend([t] * n_banks)
            st["day"].extend([d] * n_banks)
            for n in AGENT_STATE_COLUMNS:
                st[n].extend(states[n])
        self._feed_queues(record)
        eod = record.summary["is_end_of_day"]
        # each bank's Queue 1 is only needed for the day's closing rows
        self._days.feed(record, states, log, lo, hi, self._spells.rtgs_ids(),
                        self._spells.queue1_ids() if eod else None)
        self._ticks += 1
        if eod or (self.flush_every is not None and self._ticks >= self.flush_every) or \
                hi - self._events_lo >= self.max_buffered_events:
            self._hand_over()

    def _events_of(self, rec: TickRecord) -> tuple[EventLog, int, int]:
        """Where this tick's events are: the Simulation's log (live records) or our own."""
        log = getattr(self.sim, "event_log", None)
        if rec.seq_range is not None and log is not None and rec.seq_range[0] >= log.base:
            return log, rec.seq_range[0], rec.seq_range[1]
        lo = self._own_log.end if len(self._own_log) else (
            rec.events[0]["seq"] if len(rec.events) else self._own_log.end)
        rows.dict_records_log(list(rec.events), self._own_log)
        return self._own_log, lo, self._own_log.end

    def _feed_queues(self, rec: TickRecord) -> None:
        """Feed the queues after the tick to the spell tracker (queue contents, queued ticks
        per payment; spells when queues are kept). From the record's queue rows when it
        carries them (rows built by the verbose log, records built by hand), else from the
        engine (whose state is this tick's end state while the run is live)."""
        spells = self._spells
        q = rec.queues
        if isinstance(q, QueueRows):
            spells.feed_columns(q.columns, rec.tick)
        elif q or (rec.seq_range is None and self.keeps("queues")):
            spells.feed_columns({c: [r[c] for r in q] for c in QUEUE_COLUMNS}, rec.tick)
        else:
            spells.feed_world(self.sim.world, rec.tick)

    # ------------------------------------------------------------------ flush
    @property
    def ticks_stored(self) -> int:
        """Ticks committed to the store so far."""
        return self._ticks_stored

    @property
    def buffered_ticks(self) -> int:
        return self._ticks

    def flush(self) -> None:
        """Write every buffered tick and ``ticks_run`` in ONE transaction and wait until it is
        committed, with the flushes still in flight (no-op when nothing is buffered or in
        flight)."""
        try:
            self._hand_over()
            self._wait()
        finally:
            self._share(False)

    def _hand_over(self) -> None:
        """Build the buffered ticks' Arrow batches here, then let the store's writer thread
        commit them while the next ticks run. At most MAX_IN_FLIGHT flushes are in flight
        (the oldest is waited for beyond that); the error of one that failed is raised at
        the first flush point after it is known, and no later flush commits. Nothing stays
        in flight when this raises (the flushes before may still commit)."""
        if not self._ticks:
            return
        try:
            self._submit()
        except BaseException:
            try:
                self._wait()
            except BaseException:
                pass                # superseded by the error being raised
            raise

    def _submit(self) -> None:
        ticks = self._ticks_handed + self._ticks
        try:
            batch = self._build()
        except StoreError:
            raise
        except Exception as exc:
            # e.g. a value beyond the store's 64-bit columns
            raise StoreError(f"{self.store.path}: write failed: {exc}") from exc
        last_tick = max(self.sim.world.tick - 1, 0)
        if self._log is self._own_log:
            self._own_log.clear()
        self._reset()
        self._ticks_handed = ticks
        # flushes already committed (or failed: the run stops here) are collected at once;
        # beyond MAX_IN_FLIGHT the run waits for the oldest
        while self._pending and (self._pending[0][0].done() or
                                 len(self._pending) >= MAX_IN_FLIGHT):
            self._wait_one()
        rid, tpd = self.run_id, self.ticks_per_day
        before = self._pending[-1][0] if self._pending else None

        def write(con) -> None:
            # jobs run one after another: the one before has finished (a flush must not
            # commit after one that failed, or the stored ticks would have a gap)
            if self._failed or (before is not None and before.exception() is not None):
                raise StoreError(f"{self.store.path}: an earlier flush of run {rid} failed")
            for table, data in batch:
                if table == "events":
                    _insert_events(con, rid, tpd, data)
                elif table == "transactions":
                    _insert_transactions(con, rid, tpd, last_tick, data)
                else:
                    append(con, table, data)
            con.execute("UPDATE simulations SET ticks_run = ?, status = 'running', "
                        "completed_at = NULL WHERE simulation_id = ?", [ticks, rid])

        self._pending.append((self.store._in_background(write), ticks))
        self._share(True)

    def _share(self, on: bool) -> None:
        if on != self._sharing:
            self._sharing = on
            _share_the_interpreter(on)

    def _wait(self) -> None:
        """Wait for every flush in flight; raise the first error (the ticks of that flush
        and of the later ones are then not stored)."""
        first = None
        while self._pending:
            try:
                self._wait_one()
            except BaseException as exc:
                first = exc if first is None else first
        if first is not None:
            raise first

    def _wait_one(self) -> None:
        """Wait for the oldest flush in flight; raise its error."""
        job, ticks = self._pending.pop(0)
        try:
            job.result()
        except BaseException:
            self._failed = True
            raise
        self._ticks_stored = ticks
        # the batch's Arrow buffers were freed on the writer thread: give their pages back
        # (a long run otherwise keeps a growing heap of them)
        pa.default_memory_pool().release_unused()

    def _build(self) -> list[tuple]:
        """(table, Arrow table) pairs of the buffered ticks, in insertion order."""
        log, lo, hi = self._log, self._events_lo, self._events_hi
        rid = self.run_id
        batch: list[tuple] = []
        touched = self._touched
        if log is not None and hi > lo:
            rows.touched_payments(log, lo, hi, touched)
            if self.keeps("events"):
                events = rows.event_batch(log, lo, hi)
                if events is not None:
                    batch.append(("events", events))
                regs = rows.register_rows(log, lo, hi)
                if regs:
                    batch.append((AGENT_STATE_REGISTERS, arrow_table(AGENT_STATE_REGISTERS, {
                        "simulation_id": [rid] * len(regs), "tick": [r[0] for r in regs],
                        "agent_id": [r[1] for r in regs], "register_key": [r[2] for r in regs],
                        "register_value": [r[3] for r in regs]})))
                capacity = {a.id: a.max_collateral_capacity for a in self.sim.world.agent_list}
                coll = rows.collateral_rows(log, lo, hi, capacity)
                if coll:
                    tpd = self.ticks_per_day
                    cols = list(zip(*coll))
                    batch.append((COLLATERAL_EVENTS, arrow_table(COLLATERAL_EVENTS, {
                        "id": cols[0], "simulation_id": [rid] * len(coll), "agent_id": cols[1],
                        "tick": cols[2], "day": [t // tpd for t in cols[2]],
                        "action": cols[3], "amount": cols[4], "reason": cols[5],
                        "layer": cols[6], "balance_before": cols[7],
                        "posted_collateral_before": cols[8], "posted_collateral_after": cols[9],
                        "available_capacity_after": cols[10]})))
        columns = [(TICK_SUMMARIES, self._summaries), (DAILY_AGENT_METRICS, self._days.rows),
                   (AGENT_QUEUE_SNAPSHOTS, self._days.queues)]
        if self.keeps("states"):
            columns.append((TICK_AGENT_STATES, self._states))
        touched.update(self._spells.touched())   # queued payments: their queued ticks grew
        spells = self._spells.take()
        if self.keeps("queues"):
            spells["simulation_id"] = [rid] * len(spells["tx_id"])
            columns.append((QUEUE_SPELLS, spells))
        batch.extend((table, arrow_table(table, cols)) for table, cols in columns)
        batch.append(("transactions", self._transaction_table(touched)))
        return [(table, data) for table, data in batch if data is not None]

    def _transaction_table(self, touched: set[str]) -> pa.Table | None:
        w = self.sim.world
        txs = [w.txs[t] for t in touched if t in w.txs]
        if not txs:
            return None
        txs.sort(key=attrgetter("seq"))
        # one C-level pass per attribute: transposing per-payment tuples costs twice as much
        columns = {name: list(map(attrgetter(name), txs)) for name in _TX_ATTRS}
        arrays = {name: pa.array(col, type=_TX_TYPES.get(name, pa.int64()))
                  for name, col in columns.items()}
        q1, q2 = self._spells.queue_ticks(columns["tx_id"])
        arrays["q1"] = pa.array(q1, type=pa.int64())
        arrays["q2"] = pa.array(q2, type=pa.int64())
        return pa.table(arrays)

    # ------------------------------------------------------------------ run end
    def _close(self, sim, status: str, error: str | None) -> None:
        summary = sim.summary()
        wall = sim.wall_seconds
        ticks = self._ticks_stored
        tps = ticks / wall if wall and wall > 0 else None
        con = self.store.connection

        def write():
            con.execute(
                "UPDATE simulations SET status = ?, completed_at = now(), error = ?, "
                "total_arrivals = ?, total_settlements = ?, total_cost_cents = ?, "
                "duration_seconds = ?, ticks_per_second = ?, ticks_run = ?, summary_json = ? "
                "WHERE simulation_id = ?",
                [status, error, summary["arrivals"], summary["settlements"],
                 summary["total_cost"], float(wall), tps, ticks,
                 json.dumps(summary, sort_keys=True, ensure_ascii=False), self.run_id])

        self.store._transaction(write)
        self._status = status
        self._closed_at_ticks = ticks

    def finish(self, sim) -> None:
        """Final flush; status ``completed`` with totals. Safe to call more than once."""
        if self._status == "completed" and not self._ticks and \
                self._closed_at_ticks == self._ticks_stored:
            return
        self.flush()
        self._close(sim, "completed", None)
        self.store._release_memory()

    def fail(self, sim, exc: BaseException) -> None:
        """Flush the completed ticks and mark the run ``failed`` (never raises)."""
        error = f"{type(exc).__name__}: {exc}"
        try:
            self.flush()
        except Exception as flush_exc:  # keep the original error; note the lost ticks
            lost = self._ticks_handed + self._ticks - self._ticks_stored
            error += f" (and {lost} buffered ticks could not be stored: {flush_exc})"
            self._ticks_handed = self._ticks_stored
            self._reset()
        try:
            self._close(sim, "failed", error)
        except Exception:
            pass

    def policy_changed(self, sim, agent_id: str, document: Any) -> None:
        """Record a policy replaced during the run (``manual`` snapshot at the current tick)."""
        doc = canonical_json(policy_document(document))
        tick = sim.current_tick
        con = self.store.connection
        self.store._transaction(lambda: insert(con, POLICY_SNAPSHOTS, {
            "simulation_id": [self.run_id], "agent_id": [agent_id],
            "snapshot_day": [tick // self.ticks_per_day], "snapshot_tick": [tick],
            "policy_hash": [sha256(doc)], "policy_json": [doc], "created_by": ["manual"]},
            replace=True))


def _run_payments(run_id: str, memory: MemoryPayments) -> dict:
    """``run_payments`` columns of an in-memory payments table: its rows in feed order, NULL
    where a deadline, priority or id was not given (or the table has no such column)."""
    frame = feed_frame(memory.feed, memory.banks)
    n = len(frame)
    cols: dict = {"simulation_id": [run_id] * n, "row": range(n)}
    for name in RUN_PAYMENTS.column_names[2:]:
        if name not in frame:
            cols[name] = [None] * n
        elif name in ("deadline_tick", "priority"):
            cols[name] = frame[name].astype("Int64")        # empty cells were NaN
        else:
            cols[name] = frame[name]
    return cols


def _insert_events(con, run_id: str, tpd: int, batch: tuple[pa.Table, str]) -> None:
    # every event of the flush in one statement over one Arrow table (rows.event_batch); the
    # run id, day and details JSON are made by DuckDB (event_id is a generated column)
    _paysim_events, select = batch
    con.execute(
        "INSERT INTO simulation_events (simulation_id, seq, tick, day, event_type, agent_id, "
        "tx_id, amount, details) SELECT $rid, seq, tick, tick // $tpd, event_type, agent_id, "
        f"tx_id, amount, details FROM (SELECT {select} FROM _paysim_events)",
        {"rid": run_id, "tpd": tpd})


def _insert_transactions(con, run_id: str, tpd: int, last_tick: int,
                         _paysim_tx: pa.Table | None) -> None:
    if _paysim_tx is None:
        return
    # the table keeps one row per payment: the rows of payments stored by an earlier flush go
    # first (cheaper than an upsert through a key index, which DuckDB would also hold in memory)
    con.execute("DELETE FROM transactions WHERE simulation_id = $rid "
                "AND tx_id IN (SELECT tx_id FROM _paysim_tx)", {"rid": run_id})
    con.execute(_TX_SQL, {"rid": run_id, "tpd": tpd, "last": last_tick})
