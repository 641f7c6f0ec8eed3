"""Shared pieces of store tests: every tick's queue rows, live and as stored; old-schema files."""
from __future__ import annotations

import duckdb

from paysim_lab.records import QUEUE_COLUMNS, queue_columns
from paysim_lab.store.migrations import create_schema

#: The stored queue snapshot rows of one run, in the order queue_columns gives them.
VIEW_SQL = (f"SELECT tick, {', '.join(QUEUE_COLUMNS)} FROM tick_queue_snapshots "
            "WHERE simulation_id = ? ORDER BY tick, CASE queue_type WHEN 'queue1' THEN 0 "
            "ELSE 1 END, CASE queue_type WHEN 'queue1' THEN agent_id END, position")


def collect(sim, queues: bool = False) -> tuple[list, dict]:
    """Collect, after every tick ``sim`` runs from now on, the rows queue_columns(world)
    gives, as (tick, *QUEUE_COLUMNS) tuples, and each payment's ticks in Queue 1 and Queue 2
    counted tick by tick. ``queues``: the records then carry queue rows (the store's writer is
    fed columns instead of reading the engine)."""
    expected: list[tuple] = []
    counts: dict[str, dict[str, int]] = {"queue1": {}, "rtgs": {}}

    def after(rec):
        cols = queue_columns(sim.world)
        for row in zip(*(cols[c] for c in QUEUE_COLUMNS)):
            expected.append((rec.tick, *row))
            into = counts[row[0]]
            into[row[3]] = into.get(row[3], 0) + 1
    sim._add_listener(after, queues=queues)
    return expected, counts


def stored_rows(store, run_id) -> list[tuple]:
    """The run's rows of the ``tick_queue_snapshots`` view, ordered as :func:`collect`'s."""
    return [tuple(r) for r in store.connection.execute(VIEW_SQL, [run_id]).fetchall()]


def old_store(path, version: int, run_id: str | None = None, ticks_run: int = 1):
    """A DuckDB file at ``path`` with the store's schema as it was at ``version`` and, given
    ``run_id``, one completed run's ``simulations`` row; the open connection."""
    con = duckdb.connect(str(path))
    create_schema(con, version)
    if run_id is not None:
        con.execute("INSERT INTO simulations (simulation_id, config_file, config_hash, "
                    "config_json, rng_seed, ticks_per_day, num_days, num_agents, status, "
                    "started_at, ticks_run, total_ticks, scenario_name, run_number) VALUES "
                    "(?, '<dict>', 'h', '{}', 7, 10, 1, 2, 'completed', now(), ?, 10, 'old', 1)",
                    [run_id, ticks_run])
    return con
