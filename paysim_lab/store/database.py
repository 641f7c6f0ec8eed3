"""``psl.Store``: one DuckDB file holding many runs (persistence.md).

>>> import paysim_lab as psl
>>> store = psl.Store(":memory:")
>>> store.runs().columns.tolist()
['run_id', 'scenario_name', 'seed', 'ticks_run', 'total_ticks', 'status', 'started_at', 'error']
>>> store.close()
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import weakref
from pathlib import Path
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Callable, Iterator

import duckdb
import pandas as pd

from ..errors import StoreError
from ..event_json import jsonl_line
from ..report import Filters
from . import frames, reader
from .migrations import (current_version, existing_columns, existing_tables, prepare,
                         schema_problems)
from .schema import (LEGACY_RUN_TABLES, QUEUE_SPELL_OVERLAPS, RUN_TABLES, SCHEMA_VERSION,
                     TABLES)
from .settings import (CHECKPOINT_THRESHOLD, DEFAULT_MEMORY_LIMIT, EVICT_TO, NOT_A_FILE,
                       duckdb_error as _duckdb_error, memory_limit as _memory_limit,
                       threads as _threads)
from .run_options import check_max_buffered_events, check_run_id, new_run_id, parse_keep
from .writer import RunWriter

__all__ = ["Store", "CHECKPOINT_THRESHOLD", "DEFAULT_MEMORY_LIMIT"]


def _reads(method):
    """DuckDB's own errors while reading (a damaged or truncated file) as the one-line
    StoreError of :func:`_duckdb_error`, for the Python API and the CLI alike."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def gen(self, *args, **kwargs):
            try:
                yield from method(self, *args, **kwargs)
            except duckdb.Error as exc:
                raise _duckdb_error(self.path, exc) from None
        return gen

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except duckdb.Error as exc:
            raise _duckdb_error(self.path, exc) from None
    return call


class Store:
    """A DuckDB store of simulation runs: ``Store(path)``; ``":memory:"`` for a throwaway one.

    ``flush_every`` (ticks) adds flush points to every run recorded; ``keep`` chooses what is
    stored: any of ``"events"``, ``"states"`` (per-tick bank states: history, costs, the
    verbose log) and ``"queues"`` (per-tick queue snapshots), default all. A run stored
    without a part says so when a reader needs it. ``max_buffered_events`` (default 200,000)
    forces a flush once that many events wait, which bounds the memory of one flush.

    Opening creates missing tables, migrates older schemas and takes DuckDB's file lock: a second
    process opening the same file gets a :class:`~paysim_lab.StoreError`. With
    ``read_only=True`` (what ``paysim runs``, ``replay`` and ``db info/check`` use) the file is
    never written, created or migrated, and a read-only file can be read. A DuckDB file that is
    not a paysim_lab store is refused untouched; a damaged one raises StoreError.
    ``memory_limit`` caps DuckDB's memory (default :data:`DEFAULT_MEMORY_LIMIT`); ``threads``
    is how many threads DuckDB uses (default every core but one, or
    ``PAYSIM_DUCKDB_THREADS``). Threads may share a Store: each thread queries through its
    own cursor.

    >>> with Store(":memory:") as store:                       # doctest: +SKIP
    ...     sim = psl.Simulation(scenario, store=store)
    ...     sim.run()
    ...     print(store.replay(sim.run_id))
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 memory_limit: str | None = None, flush_every: int | None = None,
                 keep=None, threads: int | None = None,
                 max_buffered_events: int | None = None):
        self.path = str(path)
        self.read_only = bool(read_only)
        limit = _memory_limit(memory_limit)
        nthreads = _threads(threads)        # a bad value is refused before anything opens
        # defaults for the runs this store records (Simulation(flush_every=...) overrides)
        self.flush_every = flush_every
        self.keep = parse_keep(keep)
        if max_buffered_events is not None:
            check_max_buffered_events(max_buffered_events)
        self.max_buffered_events = max_buffered_events
        if self.path != ":memory:":
            if NOT_A_FILE.match(self.path):
                raise StoreError(f"{self.path}: not a file path (DuckDB would treat "
                                 f"{self.path.split(':', 1)[0]}: as a remote service or "
                                 f"extension); a store is a local file, e.g. ./runs.duckdb")
            file = Path(self.path).expanduser()
            parent = file.resolve().parent
            if not parent.is_dir():
                raise StoreError(f"{self.path}: folder {parent} does not exist")
            if file.exists() and not file.is_file():
                raise StoreError(f"{self.path}: is not a regular file")
            if self.read_only and not file.exists():
                raise StoreError(f"{self.path}: no such store")
        elif self.read_only:
            raise StoreError(":memory: cannot be opened read-only (it would be empty)")
        self._memory_limit = limit
        config = {"memory_limit": limit, "threads": nthreads,
                  "checkpoint_threshold": CHECKPOINT_THRESHOLD,
                  "autoload_known_extensions": False, "autoinstall_known_extensions": False}
        try:
            self._con = duckdb.connect(self.path, read_only=self.read_only, config=config)
            # progress bars would print on stdout, which belongs to the run's output
            self._con.execute("SET enable_progress_bar = false")
        except duckdb.Error as exc:
            raise _duckdb_error(self.path, exc) from None
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._cursors: list = []
        self._lock = threading.Lock()
        # Writers of runs in progress; weak, so a finished Simulation (and its payments) can be
        # garbage-collected while the store stays open for further runs.
        self._writers: weakref.WeakValueDictionary[str, RunWriter] = \
            weakref.WeakValueDictionary()
        # One thread commits the runs' flushes while their next ticks run (DuckDB releases the
        # GIL while it appends and commits); created on the first flush.
        self._background: ThreadPoolExecutor | None = None
        self._last_job: Future | None = None
        try:
            self.version_found = current_version(self._con)
            if self.version_found is None and existing_tables(self._con):
                names = sorted(existing_tables(self._con))
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                raise StoreError(f"{self.path}: not a paysim_lab store (it holds other tables: "
                                 f"{shown}; no schema_migrations table); refusing to change it")
            if self.read_only:
                self.migrations_applied: list[int] = []
                self._check_readable()
            else:
                self.migrations_applied = prepare(self._con, self.path)
        except StoreError:
            self._con.close()
            raise
        except duckdb.Error as exc:
            self._con.close()
            raise _duckdb_error(self.path, exc) from None

    def _check_readable(self) -> None:
        """A read-only store must be a paysim_lab store this version can read as it is."""
        v = self.version_found
        if v is None:
            raise StoreError(f"{self.path}: not a paysim_lab store (an empty DuckDB file)")
        if v > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema version {v} is newer than this "
                             f"paysim_lab supports ({SCHEMA_VERSION}); upgrade paysim_lab")

    # ------------------------------------------------------------------ plumbing
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection of the calling thread (its own cursor in other threads:
        one DuckDB connection must not be used by two threads at once).

        On the thread that opened the store, flushes still being committed in the background
        are waited for first, so whatever that thread reads or writes comes after them."""
        if self._con is None:
            raise StoreError(f"{self.path}: store is closed")
        if threading.get_ident() == self._owner:
            self._settle()
            return self._con
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                try:
                    cur = self._con.cursor()
                    cur.execute("SET enable_progress_bar = false")
                except duckdb.Error as exc:
                    raise _duckdb_error(self.path, exc) from None
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def _in_background(self, fn: Callable[[duckdb.DuckDBPyConnection], None]) -> Future:
        """Run ``fn(connection)`` in one transaction on the store's writer thread; jobs run
        one at a time in the order given. The Future raises the job's StoreError."""
        with self._lock:
            if self._background is None:
                self._background = ThreadPoolExecutor(max_workers=1,
                                                      thread_name_prefix="paysim-store")
            job = self._background.submit(
                lambda: self._transaction(lambda: fn(self.connection)))
            self._last_job = job
        return job

    def _release_memory(self) -> None:
        """Hand back the memory DuckDB holds for what a finished run wrote: a checkpoint moves
        the logged rows into the file, and briefly lowering the memory cap evicts the cached
        blocks (they are read from the file again when needed). Skipped for ``:memory:``
        stores, whose data lives in that memory, and whenever DuckDB declines (another
        thread's transaction is open, say)."""
        if self.path == ":memory:":
            return
        con = self.connection
        try:
            con.execute("CHECKPOINT")
            con.execute(f"SET memory_limit = '{EVICT_TO}'")
        except duckdb.Error:
            pass
        finally:
            try:
                con.execute(f"SET memory_limit = '{self._memory_limit}'")
            except duckdb.Error:
                pass

    def _settle(self) -> None:
        """Wait until the jobs handed to the writer thread so far are done (their errors
        belong to the runs that handed them over, which raise them)."""
        job = self._last_job
        if job is not None and not job.done():
            wait_for([job])

    def _transaction(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in one transaction: all of it is committed, or none of it.

        Signals (Ctrl-C, SIGTERM) wait until the transaction has committed or rolled back
        (paysim_lab.interrupts.critical), so an interrupted flush never leaves rows without
        their bookkeeping. (On the writer thread no signal arrives: the run's own thread
        waits for that commit before it records the interruption.)
        """
        from ..interrupts import critical
        con = self.connection
        guard = critical() if threading.current_thread() is threading.main_thread() \
            else contextlib.nullcontext()
        with guard:
            con.execute("BEGIN TRANSACTION")
            try:
                fn()
                con.execute("COMMIT")
            except BaseException as exc:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                    raise
                raise StoreError(f"{self.path}: write failed: {exc}") from exc

    def close(self) -> None:
        """Flush active runs' buffered ticks and close the connection."""
        if self._con is None:
            return
        for w in list(self._writers.values()):
            try:
                w.flush()
            except StoreError:
                pass
        self._settle()
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None
        with self._lock:
            for cur in self._cursors:
                try:
                    cur.close()
                except duckdb.Error:
                    pass
            self._cursors.clear()
        self._con.close()
        self._con = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.path!r}>"

    # ------------------------------------------------------------------ writing
    def begin_run(self, sim, run_id: str | None = None, flush_every: int | None = None,
                  keep=None, **options) -> RunWriter:
        """Start recording ``sim`` (called by ``Simulation(..., store=store)``).

        ``flush_every``, ``keep`` and ``max_buffered_events`` default to the store's;
        ``options`` go to :class:`RunWriter`.
        """
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; open Store(path) to record runs")
        if run_id is None:
            run_id = new_run_id()
            while self._exists(run_id):
                run_id = new_run_id()
        else:
            check_run_id(run_id)
            if self._exists(run_id):
                raise StoreError(f"{self.path}: run id {run_id!r} already exists; choose another "
                                 f"id or omit it for a generated one")
        if self.max_buffered_events is not None:
            options.setdefault("max_buffered_events", self.max_buffered_events)
        writer = RunWriter(self, sim, run_id,
                           flush_every=flush_every if flush_every is not None else self.flush_every,
                           keep=keep if keep is not None else self.keep, **options)
        writer.start()
        self._writers[run_id] = writer
        return writer

    def finish_run(self, sim) -> None:
        """Mark ``sim``'s run completed now, even if it stopped before its last tick.

        Used by ``paysim run --ticks N``; idempotent like the writer's ``finish``.
        """
        writer = self._writers.get(sim.run_id)
        if writer is None:
            raise StoreError(f"run {sim.run_id!r} is not being recorded by this store")
        writer.finish(sim)

    def _exists(self, run_id: str) -> bool:
        return self.connection.execute("SELECT 1 FROM simulations WHERE simulation_id = ?",
                                       [run_id]).fetchone() is not None

    # ------------------------------------------------------------------ reading
    @_reads
    def runs(self) -> pd.DataFrame:
        """One row per stored run, in start order."""
        return reader.runs_frame(self.connection)

    @_reads
    def run(self, run_id: str) -> dict:
        """The ``simulations`` row of one run as a dict."""
        return reader.run_row(self.connection, run_id)

    @_reads
    def latest_run_id(self) -> str:
        """Id of the most recently started run."""
        return reader.latest_run_id(self.connection)

    @_reads
    def events(self, run_id: str) -> pd.DataFrame:
        """A run's events, same columns as ``Simulation.events``."""
        return reader.events_frame(self.connection, run_id)

    @_reads
    def indicators(self, run_id: str | None = None, level: str = "bank",
                   **kwargs) -> pd.DataFrame:
        """A stored run's RTGS indicators, as ``Simulation.indicators`` (docs/indicators.md).

        >>> store.indicators(run_id, "system")   # doctest: +SKIP
        """
        from ..indicators import indicators
        return indicators(self, run_id, level, **kwargs)

    @_reads
    def events_of(self, run_id: str, event_type: str) -> pd.DataFrame:
        """A run's events of one type, same columns as ``Simulation.events_of``."""
        return frames.events_of_frame(self.connection, run_id, event_type)

    @_reads
    def history(self, run_id: str) -> pd.DataFrame:
        """One row per bank per stored tick, same columns and dtypes as ``sim.history()``.

        >>> store.history(sim.run_id).equals(sim.history())      # doctest: +SKIP
        True
        """
        return frames.history_frame(self.connection, run_id)

    @_reads
    def transactions(self, run_id: str) -> pd.DataFrame:
        """One row per payment, same columns as ``sim.transactions()`` (status ``pending`` /
        ``settled`` / ``overdue`` / ``dropped``), as of the last stored tick."""
        return frames.transactions_frame(self.connection, run_id)

    @_reads
    def costs(self, run_id: str) -> pd.DataFrame:
        """Run-total costs per bank at the last stored tick, same columns as ``sim.costs()``."""
        return frames.costs_frame(self.connection, run_id)

    @_reads
    def stored_run(self, run_id: str | None = None) -> "frames.StoredRun":
        """A stored run with the Simulation's read API; every chart in ``psl.plots`` takes it.

        >>> psl.plots.liquidity(store.stored_run(run_id))        # doctest: +SKIP
        """
        return frames.StoredRun(self, run_id or reader.latest_run_id(self.connection))

    @_reads
    def state_registers(self, run_id: str) -> pd.DataFrame:
        """tick, agent_id, register_key, register_value: each register's value at tick end."""
        return reader.registers_frame(self.connection, run_id)

    @_reads
    def records(self, run_id: str, from_tick: int | None = None, to_tick: int | None = None):
        """The stored :class:`~paysim_lab.records.TickRecord` of each tick in the range."""
        lo, hi = reader.check_tick_range(self.connection, run_id, from_tick, to_tick)
        return reader.tick_records(self.connection, run_id, lo, hi)

    def replay(self, run_id: str | None = None, verbose: bool = True,
               from_tick: int | None = None, to_tick: int | None = None, *,
               filter_event_type: str | None = None, filter_agent: str | None = None,
               filter_tx: str | None = None, filter_tick_range: str | None = None,
               filters: Filters | None = None) -> str:
        """The verbose log of a stored run (or its JSON summary with ``verbose=False``).

        Identical, byte for byte, to what the live run printed for the same ticks and filters.

        >>> text = store.replay(run_id, from_tick=95, to_tick=105)   # doctest: +SKIP
        """
        return "".join(self.iter_replay(run_id, verbose, from_tick, to_tick,
                                        filter_event_type=filter_event_type,
                                        filter_agent=filter_agent, filter_tx=filter_tx,
                                        filter_tick_range=filter_tick_range, filters=filters))

    @_reads
    def iter_replay(self, run_id: str | None = None, verbose: bool = True,
                    from_tick: int | None = None, to_tick: int | None = None, *,
                    filter_event_type=None, filter_agent=None, filter_tx=None,
                    filter_tick_range=None, filters: Filters | None = None) -> Iterator[str]:
        """Like :meth:`replay`, one tick's text at a time (for printing long runs)."""
        con = self.connection
        run_id = run_id or reader.latest_run_id(con)
        if not verbose:
            yield reader.summary_text(con, run_id)
            return
        if filters is None:
            filters = Filters.parse(filter_event_type, filter_agent, filter_tx,
                                    filter_tick_range)
        yield from reader.iter_verbose(con, run_id, from_tick, to_tick, filters)

    @_reads
    def events_jsonl(self, run_id: str, from_tick: int | None = None,
                     to_tick: int | None = None) -> Iterator[str]:
        """Each stored event (of the tick range, default all) as the JSON line
        ``paysim run --events-out`` wrote.

        >>> "".join(store.events_jsonl(run_id, 0, 9))    # doctest: +SKIP
        """
        con = self.connection
        ticks_run = reader.run_row(con, run_id)["ticks_run"] or 0
        reader.require_part(con, run_id, "events", "events_jsonl()")
        if from_tick is None and to_tick is None:
            lo, hi = 0, max(ticks_run - 1, 0)
        else:
            lo, hi = reader.check_tick_range(con, run_id, from_tick, to_tick)
        for ev in reader.event_dicts_for(con, run_id, lo, hi):
            yield jsonl_line(ev) + "\n"

    @_reads
    def tick_range(self, run_id: str, from_tick: int | None = None,
                   to_tick: int | None = None) -> tuple[int, int]:
        """The stored ticks ``(first, last)`` a range names; ValueError when outside them.

        >>> store.tick_range(run_id, 5)      # doctest: +SKIP
        (5, 99)
        """
        return reader.check_tick_range(self.connection, run_id, from_tick, to_tick)

    @_reads
    def verify(self, run_id: str | None = None) -> reader.VerifyResult:
        """Re-run the stored config and seed; compare the event streams (determinism check)."""
        con = self.connection
        return reader.verify(con, run_id or reader.latest_run_id(con))

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run any SQL against the store and get a DataFrame.

        >>> store.sql("SELECT event_type, count(*) n FROM simulation_events GROUP BY 1")  # doctest: +SKIP
        """
        try:
            return self.connection.execute(query, params or []).df()
        except duckdb.Error as exc:
            raise StoreError(f"SQL error: {exc}") from None

    @_reads
    def export(self, run_id: str, folder: str | Path, format: str = "parquet") -> Path:
        """Write a stored run's frames and a manifest to ``folder`` (see ``paysim_lab.export``)."""
        from ..export import export_run
        return export_run(self, run_id, folder, format=format)

    # ------------------------------------------------------------------ maintenance
    @_reads
    def info(self) -> dict:
        """Schema version, tables, and row counts per run."""
        con = self.connection
        version = current_version(con)
        # (a store not yet migrated has no run_number: read-only commands never migrate)
        order = "run_number" if "run_number" in existing_columns(con, "simulations") \
            else "started_at, simulation_id"
        runs = [r[0] for r in con.execute(
            f"SELECT simulation_id FROM simulations ORDER BY {order}").fetchall()]
        counts: dict[str, dict[str, int]] = {r: {} for r in runs}
        totals: dict[str, int] = {}
        # an older store, read as it is, lacks newer tables and may hold replaced ones
        have = existing_tables(con)
        for table in (t for t in RUN_TABLES + LEGACY_RUN_TABLES if t in have):
            totals[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for rid, n in con.execute(f"SELECT simulation_id, count(*) FROM {table} "
                                      "GROUP BY simulation_id").fetchall():
                if rid in counts:
                    counts[rid][table] = n
        return {"path": self.path, "schema_version": version, "tables": totals,
                "runs": counts}

    @_reads
    def check(self) -> list[str]:
        """Problems found (empty list when the store is sound)."""
        con = self.connection
        problems = list(schema_problems(con))
        v = current_version(con)
        if v != SCHEMA_VERSION:
            problems.append(f"schema version {v}, expected {SCHEMA_VERSION} (paysim db migrate "
                            f"brings it up to date)")
        order = "s.run_number" if "run_number" in existing_columns(con, "simulations") \
            else "s.started_at, s.simulation_id"
        for rid, ticks_run, n in con.execute(f"""
                SELECT s.simulation_id, s.ticks_run,
                       (SELECT count(*) FROM tick_summaries t
                        WHERE t.simulation_id = s.simulation_id)
                FROM simulations s ORDER BY {order}""").fetchall():
            if (ticks_run or 0) != n:
                problems.append(f"run {rid}: ticks_run is {ticks_run} but {n} ticks are stored")
        have = existing_tables(con)
        for table in TABLES:
            if table.enforced or not table.primary_key or table.name not in have:
                continue
            key = ", ".join(table.primary_key)
            dup = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {table.name} "
                              f"GROUP BY {key} HAVING count(*) > 1)").fetchone()[0]
            if dup:
                problems.append(f"table {table.name}: {dup} duplicate keys ({key})")
        if "queue_spells" in have:
            # a payment's spells in one queue never overlap (else the view repeats a tick)
            bad = con.execute(QUEUE_SPELL_OVERLAPS).fetchone()[0]
            if bad:
                problems.append(f"table queue_spells: {bad} spells are empty or overlap an "
                                f"earlier spell of the same payment and queue")
        return problems

    @property
    def created(self) -> bool:
        """True when opening created a new, empty store."""
        return self.version_found is None

    def migrate(self) -> list[int]:
        """Migration versions applied to this store when it was opened (opening migrates)."""
        return list(self.migrations_applied)
