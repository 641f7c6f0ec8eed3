"""The Simulation facade: step the engine, keep its records, hand out pandas DataFrames.

>>> import paysim_lab as psl
>>> sim = psl.Simulation.from_file(psl.data.scenario_path("two_bank_teaching"))  # doctest: +SKIP
>>> sim.step(5).event_type.value_counts()                                          # doctest: +SKIP
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:   # pandas loads on the first frame asked for: `paysim run` never needs it
    import pandas as pd

from .engine.build import build_engine, set_liquidity_fraction
from .engine.events import FIELDS
from .engine.state import COST_KINDS
from .eventlog import EventLog
from .errors import PolicyWarning, SimulationError, SimulationFinished
from .records import (HISTORY_COLUMNS, TRANSACTION_COLUMNS, AgentStates, EventDicts, TickRecord,
                      agent_state_columns,
                      QueueRows, queue_columns, transaction_location, transaction_status)

TickListener = Callable[[TickRecord], None]


def _load(scenario: Any, compat: str | None):
    from .config import Scenario, load_scenario
    if isinstance(scenario, Scenario):
        if compat is not None and compat != scenario.profile:
            raise ValueError(f"scenario was loaded with compat={scenario.profile!r}; "
                             f"reload it with compat={compat!r}")
        return scenario
    return load_scenario(scenario, compat=compat)


class Simulation:
    """One run of a scenario, tick by tick.

    ``scenario`` is a :class:`paysim_lab.Scenario`, a path or a dict; ``seed`` overrides
    ``simulation.rng_seed``; ``store`` (a :class:`paysim_lab.Store`) persists the run as it goes;
    ``keep_events=False`` keeps only the current day's events in memory (long runs with a
    store).

    >>> sim = Simulation({"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 1},
    ...                   "agents": [{"id": "A", "opening_balance": 100},
    ...                              {"id": "B", "opening_balance": 0}]})
    >>> sim.run().empty, sim.done
    (False, True)
    """

    def __init__(self, scenario: Any, seed: int | None = None, *, store=None,
                 run_id: str | None = None, compat: str | None = None,
                 keep_events: bool = True, flush_every: int | None = None):
        from .policy import compile_policy
        self.scenario = _load(scenario, compat)
        sc = self.scenario
        self.seed = seed if seed is not None else sc.simulation.rng_seed
        cfg = sc.engine_config()
        profile = sc.profile
        # this run's effective policy per bank; set_policy changes this copy, never the
        # Scenario, which other simulations may share
        self.agent_policies: dict[str, dict] = dict(sc.agent_policies)
        with warnings.catch_warnings():
            # the loader already validated these documents and reported their lints once
            warnings.simplefilter("ignore", PolicyWarning)
            self._policies = {aid: compile_policy(doc, profile=profile, source=f"agent {aid}")
                              for aid, doc in self.agent_policies.items()}
        self.engine = build_engine(cfg, self._policies, seed=self.seed,
                                   builtin_agents=_builtin_policy_agents(sc))
        self.world = self.engine.world
        self.keep_events = keep_events
        # the engine appends tuples to world.events during a tick; after the tick they move
        # into this columnar log (the run's event stream, in seq order)
        self._events = EventLog()
        self._tick_ranges: list[tuple[int, int]] = []  # per tick: (first seq, end seq)
        self._history: list[tuple] = []
        self._tick_stats: list = []
        # each bank's balance and costs after the previous tick: kept only while a listener
        # needs TickRecords (their balance_change and *_delta columns)
        self._prev_balance: list[int] = []           # in agent_list order
        self._prev_costs: list[list[int]] = []
        self._listeners: list[TickListener] = []
        self._needs_records = False
        self._needs_queues = False    # some listener reads every queue (not just Queue 2)
        self._failed: BaseException | None = None
        self.run_id = run_id
        self.store = store
        self._writer = None
        self._wall = 0.0
        if store is not None:
            self._writer = store.begin_run(self, run_id=run_id, flush_every=flush_every)
            self.run_id = self._writer.run_id
            # any writer with add_tick works; a RunWriter (it has ``keeps``) reads the queues
            # from the engine itself, so records need no queue rows for it
            keeps = getattr(self._writer, "keeps", None)
            self._add_listener(self._writer.add_tick, queues=keeps is None)

    # ---------------------------------------------------------------- construction helpers
    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "Simulation":
        """Load a scenario file and build a simulation (kwargs as for the constructor)."""
        compat = kwargs.pop("compat", None)
        from .config import load_scenario
        return cls(load_scenario(path, compat=compat), **kwargs)

    def add_listener(self, fn: TickListener) -> None:
        """Call ``fn(record)`` after every tick with its :class:`TickRecord`."""
        self._add_listener(fn, queues=True)

    def _add_listener(self, fn: TickListener, queues: bool) -> None:
        self._needs_queues = self._needs_queues or queues
        if not self._needs_records:
            # no tick has run since the current state: it is the previous tick's end state
            self._prev_balance = [a.balance for a in self.world.agent_list]
            self._prev_costs = [list(a.cost_run) for a in self.world.agent_list]
        self._listeners.append(fn)
        self._needs_records = True

    # ---------------------------------------------------------------- time
    @property
    def current_tick(self) -> int:
        return self.world.tick

    @property
    def total_ticks(self) -> int:
        return self.world.total_ticks

    @property
    def ticks_per_day(self) -> int:
        return self.world.ticks_per_day

    @property
    def events_emitted(self) -> int:
        """Events emitted so far, including those no longer kept in memory (keep_events=False)."""
        return self._events.end

    @property
    def event_log(self) -> EventLog:
        """The kept events, per type in columns (what frames and the store are built from)."""
        return self._events

    @property
    def wall_seconds(self) -> float:
        """Wall-clock seconds spent running ticks so far (metadata only, never a result)."""
        return self._wall

    @property
    def done(self) -> bool:
        return self.world.tick >= self.world.total_ticks

    def step(self, n: int = 1) -> pd.DataFrame:
        """Run ``n`` ticks; DataFrame of their events. Raises SimulationFinished past the end."""
        if self.done:
            raise SimulationFinished(f"all {self.total_ticks} ticks have run")
        first = self._events.end
        self._run_ticks(min(n, self.total_ticks - self.current_tick), progress=False)
        return self._events_frame(first)

    def run(self, ticks: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Run to the end (or ``ticks`` more ticks); DataFrame of the events of those ticks."""
        first = self._events.end
        self.advance(ticks, progress=progress)
        return self._events_frame(first)

    def advance(self, ticks: int | None = None, progress: bool = False) -> int:
        """Like :meth:`run`, without building a DataFrame of the events; the ticks run.

        For batch work (sweeps, the command line, long runs read later from a store or
        through ``events_of``), where a frame of every event would only cost time and memory.

        >>> import paysim_lab as psl
        >>> sim = psl.Simulation(psl.data.scenario_path("two_bank_teaching"))
        >>> sim.advance(5), sim.current_tick
        (5, 5)
        """
        remaining = self.total_ticks - self.current_tick
        n = remaining if ticks is None else min(ticks, remaining)
        if n > 0:
            self._run_ticks(n, progress=progress)
        elif ticks is None and self._writer is not None:
            self._writer.finish(self)
        return max(n, 0)

    def _run_ticks(self, n: int, progress: bool) -> None:
        if self._failed is not None:
            raise SimulationError(f"this run failed earlier: {self._failed}")
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=n, unit="tick", desc=self.scenario.name)
        started = time.perf_counter()
        timed = False
        # Ctrl-C (and SIGTERM/SIGHUP under `paysim run`) stop the run between ticks, never
        # halfway through a flush: the run is then stored as failed with every tick so far.
        from . import interrupts
        with interrupts.deferred():
            try:
                for _ in range(n):
                    self._one_tick()
                    if bar is not None:
                        bar.update(1)
                    interrupts.check(self.current_tick)
                # the ticks' time, before the run's row (which records it) is closed
                self._wall += time.perf_counter() - started
                timed = True
                if self._writer is not None:
                    if self.done:
                        self._writer.finish(self)
                    else:
                        self._writer.flush()
            except BaseException as exc:
                # (also a failing final flush: the run must not stay `running`)
                cause = _flush_cause(exc, self)
                self._failed = cause
                if self._writer is not None:
                    self._writer.fail(self, cause)
                if cause is not exc:
                    raise cause from exc
                raise
            finally:
                if not timed:
                    self._wall += time.perf_counter() - started
                if bar is not None:
                    bar.close()

    def _one_tick(self) -> None:
        eng = self.engine
        w = self.world
        log = self._events
        del w.events[:]
        try:
            stats = eng.tick()
        except BaseException:
            del w.events[:]  # ticks are atomic: a failed tick contributes no events
            raise
        t = stats.tick
        recs = w.events[:]
        del w.events[:]
        start = log.end
        log.extend(recs)
        end = log.end
        self._tick_ranges.append((start, end))
        self._tick_stats.append(stats)
        day = t // w.ticks_per_day
        hist = self._history
        for a in w.agent_list:
            b = a.release_budget
            hist.append((t, day, a.id, a.balance, a.credit_used, a.posted_collateral,
                         a.available_liquidity, len(a.queue1), a.queue1_value, a.queue2_count,
                         a.queue2_value, b.remaining if b is not None else None,
                         sum(a.cost_run)))
        if self._needs_records:
            rec = self._record(t, day, recs, start, stats)
            for fn in self._listeners:
                fn(rec)
        if not self.keep_events and stats.is_end_of_day:
            log.clear()

    def _record(self, t: int, day: int, recs: list[tuple], start: int, stats) -> TickRecord:
        w = self.world
        cols = agent_state_columns(w.agent_list, self._prev_balance, self._prev_costs)
        self._prev_balance = cols["balance"]
        self._prev_costs = [list(a.cost_run) for a in w.agent_list]
        states = AgentStates(cols)
        q1_total = sum(len(a.queue1) for a in w.agent_list)
        summary = {"num_arrivals": stats.arrivals, "num_settlements": stats.settlements,
                   "num_lsm_releases": stats.lsm_releases, "total_cost": stats.tick_cost,
                   "queue1_total": q1_total, "queue2_total": len(w.queue2),
                   "is_end_of_day": stats.is_end_of_day}
        # queue rows are built only for listeners that read them (a store without queue
        # snapshots reads the queues it counts from the engine)
        queues = QueueRows(queue_columns(w)) if self._needs_queues else []
        return TickRecord(t, day, EventDicts(recs, start), summary, states, queues,
                          (start, start + len(recs)))

    # ---------------------------------------------------------------- events
    @property
    def events(self) -> pd.DataFrame:
        """Every event kept in memory, in emission order (api.md 'Reading results')."""
        return self._events_frame(self._events.base)

    def event_records(self, first_seq: int = 0) -> Iterable[tuple[int, tuple]]:
        """(seq, engine tuple) pairs of the in-memory events from ``first_seq`` on."""
        return self._events.records(first_seq)

    def _events_frame(self, first_seq: int) -> pd.DataFrame:
        from .event_frames import mixed_frame
        return mixed_frame(self._events, first_seq, self.world.ticks_per_day)

    def events_of(self, event_type: str) -> pd.DataFrame:
        """Events of one type with every catalog field as its own column."""
        if event_type not in FIELDS:
            raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(sorted(FIELDS))}")
        tc = self._events.columns(event_type)
        from .event_frames import of_type_frame
        return of_type_frame(tc.ticks, tc.seqs, self.world.ticks_per_day, tc.names, tc.fields)

    # ---------------------------------------------------------------- state
    def agents(self) -> pd.DataFrame:
        """One row per bank with its current state."""
        import pandas as pd
        rows = []
        for a in self.world.agent_list:
            b = a.release_budget
            rows.append({"agent_id": a.id, "balance": a.balance, "unsecured_cap": a.unsecured_cap,
                         "posted_collateral": a.posted_collateral,
                         "available_liquidity": a.available_liquidity,
                         "credit_used": a.credit_used,
                         "allowed_overdraft_limit": a.allowed_overdraft_limit,
                         "queue1_count": len(a.queue1), "queue1_value": a.queue1_value,
                         "queue2_count": a.queue2_count, "queue2_value": a.queue2_value,
                         "release_budget_remaining": b.remaining if b is not None else None,
                         "total_cost": sum(a.cost_run)})
        frame = pd.DataFrame(rows)
        frame["release_budget_remaining"] = _int64_column(
            [r["release_budget_remaining"] for r in rows])
        return frame

    def history(self) -> pd.DataFrame:
        """One row per bank per completed tick (tidy, long)."""
        import pandas as pd
        frame = pd.DataFrame.from_records(self._history, columns=list(HISTORY_COLUMNS))
        at = HISTORY_COLUMNS.index("release_budget_remaining")
        frame["release_budget_remaining"] = _int64_column([r[at] for r in self._history])
        return frame

    def transactions(self) -> pd.DataFrame:
        """One row per payment (split children included), in creation order.

        ``status`` is ``pending``, ``settled``, ``overdue`` or ``dropped`` (the store's
        vocabulary; ``store.transactions(run_id)`` has the same columns).
        """
        import pandas as pd
        status, where = transaction_status, transaction_location
        rows = [(tx.tx_id, tx.parent_id, tx.sender_id, tx.receiver_id, tx.amount,
                 tx.remaining_amount, tx.priority, tx.original_priority, tx.arrival_tick,
                 tx.deadline_tick, status(tx), tx.settled_tick, tx.settled_by,
                 tx.overdue_since_tick is not None, tx.overdue_since_tick, tx.dropped,
                 tx.withdrawn, where(tx), tx.rtgs_priority, tx.declared_rtgs_priority,
                 tx.is_divisible, tx.split_index)
                for tx in self.world.tx_list]
        frame = pd.DataFrame.from_records(rows, columns=list(TRANSACTION_COLUMNS))
        for c in ("settlement_tick", "overdue_since_tick", "split_index"):
            frame[c] = frame[c].astype("Int64")
        return frame

    def costs(self) -> pd.DataFrame:
        """Run-total costs per bank: one column per cost kind, plus ``penalty`` and ``total``."""
        import pandas as pd
        rows = []
        for a in self.world.agent_list:
            row = {"agent_id": a.id}
            row.update({k: a.cost_run[i] for i, k in enumerate(COST_KINDS)})
            row["penalty"] = a.cost_run[4] + a.cost_run[5]
            row["total"] = sum(a.cost_run)
            rows.append(row)
        return pd.DataFrame(rows)

    def indicators(self, level: str = "bank", **kwargs) -> pd.DataFrame:
        """Standard RTGS indicators (docs/indicators.md): ``level`` "bank" (one row per bank
        per day), "system" (one row per day) or "throughput" (intraday curves).

        >>> sim.indicators("system")[["day", "settlement_rate"]]   # doctest: +SKIP
        """
        from .indicators import indicators
        return indicators(self, None, level, **kwargs)

    def state_registers(self) -> pd.DataFrame:
        """Current state registers: one row per bank and register."""
        import pandas as pd
        rows = [(a.id, k, v) for a in self.world.agent_list
                for k, v in sorted(a.state_registers.items())]
        return pd.DataFrame.from_records(rows, columns=["agent_id", "key", "value"])

    def summary(self) -> dict:
        """Run totals as a plain dict (JSON-serialisable)."""
        w = self.world
        txs = w.tx_list
        settled_cache: dict[str, bool] = {}

        def effectively_settled(tx) -> bool:
            got = settled_cache.get(tx.tx_id)
            if got is not None:
                return got
            if tx.child_ids:
                ok = all(effectively_settled(w.txs[c]) for c in tx.child_ids)
            else:
                ok = tx.remaining_amount == 0 and tx.settled_once
            settled_cache[tx.tx_id] = ok
            return ok

        roots = [tx for tx in txs if tx.parent_id is None]
        settled = sum(1 for tx in roots if effectively_settled(tx))
        arrivals = len(roots)
        agents = {}
        for a in w.agent_list:
            costs = {k: a.cost_run[i] for i, k in enumerate(COST_KINDS)}
            agents[a.id] = {"balance": a.balance, "posted_collateral": a.posted_collateral,
                            "costs": costs, "total_cost": sum(a.cost_run)}
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "ticks_run": w.tick,
            "total_ticks": w.total_ticks,
            "arrivals": arrivals,
            "settlements": settled,
            "settlement_rate": (settled / arrivals) if arrivals else 1.0,
            "lsm_bilateral": sum(1 for tx in txs if tx.settled_by == "lsm_bilateral"),
            "lsm_cycles": sum(1 for tx in txs if tx.settled_by == "lsm_cycle"),
            "lsm_queue_retry": sum(1 for tx in txs if tx.settled_by == "lsm_queue_retry"),
            "unsettled": arrivals - settled,
            "overdue": sum(1 for tx in txs if tx.overdue_since_tick is not None),
            "dropped": sum(1 for tx in txs if tx.dropped),
            "queue1_size": sum(len(a.queue1) for a in w.agent_list),
            "queue2_size": len(w.queue2),
            "total_cost": sum(sum(a.cost_run) for a in w.agent_list),
            "agents": agents,
        }

    # ---------------------------------------------------------------- persistence helpers
    def export(self, folder: str | Path, format: str = "parquet") -> Path:
        """Write every frame (events, transactions, history, costs, registers) and a manifest.

        >>> sim.export("out/run1", format="csv")  # doctest: +SKIP
        """
        from .export import export_simulation
        return export_simulation(self, folder, format=format)

    def set_policy(self, agent_id: str, policy: Any) -> None:
        """Replace a bank's policy from the next evaluation on (registers, budget, timers kept).

        ``policy`` takes every form a scenario file accepts for a bank, and more:

        - a :class:`paysim_lab.Policy`, a policy document (dict) or a path to a policy file;
        - a scenario ``policy:`` block: ``{"type": "Fifo"}``, ``{"type": "Deadline",
          "urgency_threshold": 3}``, ``{"type": "FromJson", "json_path": ...}``, ``Inline``,
          ``InlineJson``;
        - ``{"policy_id": KEY, "policy_params": {...}}`` or just ``KEY``: an entry of the
          scenario's ``policies:`` map;
        - the name of a bundled policy (``psl.data.list_policies()``: ``"fifo"``, ...).

        >>> sim.set_policy("BANK_A", "deadline")                          # doctest: +SKIP
        >>> sim.set_policy("BANK_A", {"type": "Deadline", "urgency_threshold": 3})  # doctest: +SKIP
        """
        from .policy import compile_policy
        if agent_id not in self.world.agents:
            raise ValueError(f"unknown agent {agent_id!r}")
        from .config.policy_forms import resolve_policy
        doc = resolve_policy(self.scenario, agent_id, policy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolicyWarning)  # load_policy reported them
            compiled = compile_policy(doc, profile=self.scenario.profile,
                                      source=f"agent {agent_id}")
        self._policies[agent_id] = compiled
        agent = self.world.agents[agent_id]
        agent.policy = compiled
        set_liquidity_fraction(agent, compiled.initial_liquidity_fraction,
                               self.engine.config.fixes)
        self.agent_policies[agent_id] = doc
        if self._writer is not None:
            self._writer.policy_changed(self, agent_id, doc)

    def tick_stats(self) -> list:
        """The per-tick counters of every completed tick."""
        return list(self._tick_stats)

    def close(self) -> None:
        """Flush and release the store writer, if any."""
        if self._writer is not None:
            if self.done:
                self._writer.finish(self)
            else:
                self._writer.flush()

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Simulation {self.scenario.name!r} tick {self.current_tick}/{self.total_ticks}"
                f" seed={self.seed}>")


BUILTIN_TYPES = frozenset({"Fifo", "Deadline", "LiquidityAware", "LiquiditySplitting",
                           "MockSplitting"})


def _builtin_policy_agents(sc) -> frozenset[str]:
    """Banks on a named built-in policy type (they re-allocate 100% of a pool each morning)."""
    out = set()
    for a in sc.agents:
        pol = getattr(a, "policy", None)
        pid = getattr(a, "policy_id", None)
        if pid is None and (pol is None or getattr(pol, "type", None) in BUILTIN_TYPES):
            out.add(a.id)
    return frozenset(out)


def _int64_column(values: list) -> pd.arrays.IntegerArray:
    """Nullable Int64 straight from Python ints (a budget of 2**63 - 1 must not pass through
    float64, where it rounds to 2**63 and no longer fits)."""
    import pandas as pd
    return pd.array(values, dtype="Int64")


_I64 = (-(2**63), 2**63 - 1)


def _flush_cause(exc: BaseException, sim) -> BaseException:
    """``exc``, with the bank and field named when a value is beyond the store's 64-bit
    integers (the usual reason a flush of valid ticks fails); an interrupt says how many
    ticks completed (a second signal stops the run at once, wherever it is)."""
    from .interrupts import Interrupted
    if isinstance(exc, Interrupted):
        return exc if exc.tick == sim.current_tick else Interrupted(exc.signum,
                                                                    sim.current_tick)
    if not isinstance(exc, Exception) or not sim._history:
        return exc
    lo, hi = _I64
    # the unflushed ticks are at the end; name the first value out of range among them
    for row in sim._history[-max(1, sim.world.n_agents) * 200:]:
        for name, value in zip(HISTORY_COLUMNS, row):
            if isinstance(value, int) and not isinstance(value, bool) and not lo <= value <= hi:
                try:
                    return type(exc)(f"{exc} (bank {row[2]!r}: {name} {value} at tick "
                                     f"{row[0]} is beyond the 64-bit integers the store holds)")
                except Exception:       # an exception type with other arguments
                    return exc
    return exc
