"""Schema versions and the numbered migrations between them (persistence.md section 2).

A store records every version applied in ``schema_migrations``. Opening a store whose newest
version is older than :data:`~paysim_lab.store.schema.SCHEMA_VERSION` applies the pending
migrations in order, each in its own transaction. Nothing is ever dropped: a store that cannot be
brought to the current shape is reported with the table and column at fault.

History:

1. initial schema (every table of persistence.md section 3).
2. ``simulations.run_number`` (start order of runs), ``simulations.run_info_json`` (the static
   data of the verbose log), ``simulations.summary_json`` (the run's summary dict) and
   ``daily_agent_metrics.liquidity_opportunity_cost``. Runs stored before version 2 get their
   run number from ``started_at``; their log data is rebuilt from ``config_json`` on replay.
3. Bulk-load speed: the append-only tables (events, per-tick states, queue snapshots,
   summaries, registers, collateral rows, daily metrics, end-of-day queues) are rebuilt without
   their PRIMARY KEY constraint and the four event indexes are dropped (their rows and logical
   keys stay; ``Store.check()`` verifies uniqueness). ``transactions`` gains
   ``original_priority``, ``withdrawn``, ``location`` and ``tx_order`` (so ``store.transactions()``
   has the columns of ``sim.transactions()``; NULL for older runs) and ``simulations`` gains
   ``stored_parts`` (which optional parts a run stored; NULL means all).
4. Queue snapshots as spells: the table ``tick_queue_snapshots`` (one row per queued payment
   per tick) is replaced by ``queue_spells`` (one row per stretch of ticks a payment waits
   unchanged in a queue) and a VIEW ``tick_queue_snapshots`` with the old columns and values.
   Each stored snapshot row becomes a one-tick spell with ``sort_key = position``, which the
   view expands back to exactly that row.
5. ``transactions`` is rebuilt without its PRIMARY KEY constraint: a flush deletes the rows of
   the payments it stores again and appends their current state, which costs less than an
   upsert through the key's index and keeps that index out of memory (``Store.check()`` still
   verifies one row per payment).
6. ``simulation_events.event_id`` becomes a generated column (run id, ':', seq), computed when
   read: the same values, without storing a unique text per event (a third of the events'
   write cost and of their size on disk).
7. ``run_payments``: the payments table of a run whose scenario was given one as a DataFrame
   (``Scenario.from_payments``), which its ``config_json`` cannot name; ``verify`` and a stored
   run's scenario read it back. Runs stored before have no rows there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import StoreError
from .schema import (ADDED_TABLES, LEGACY_INDEXES, QUEUE_SPELLS, REPLACED_TABLES,
                     RUN_PAYMENTS, SCHEMA_VERSION, SIMULATION_EVENTS, TABLES, TABLES_BY_NAME,
                     UNENFORCED_SINCE, UNENFORCED_SINCE_V3, VIEWS)

# The stored columns of the events table (event_id is computed since version 6).
_EVENT_COLUMNS = ", ".join(c for c in SIMULATION_EVENTS.column_names if c != "event_id")

# The views of versions 1 to 3 (dropped and rebuilt around migration 3's table rebuilds).
_VIEWS_V3 = ("simulation_runs", "lsm_cycles", "policy_decisions")


def _without_key(table: str, version: int) -> tuple[str, ...]:
    """Statements rebuilding ``table`` with its rows and columns but no key constraint."""
    copy = f"{table}__v{version}"
    return (f"CREATE TABLE {copy} AS SELECT * FROM {table}", f"DROP TABLE {table}",
            f"ALTER TABLE {copy} RENAME TO {table}")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    add_columns: tuple[tuple[str, str, str], ...] = ()   # (table, column, type)
    statements: tuple[str, ...] = field(default=())      # run after the columns are added


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2, "run order, verbose-log run data and summary on simulations; "
           "liquidity opportunity cost in daily metrics",
        add_columns=(("simulations", "run_number", "BIGINT"),
                     ("simulations", "run_info_json", "VARCHAR"),
                     ("simulations", "summary_json", "VARCHAR"),
                     ("daily_agent_metrics", "liquidity_opportunity_cost", "BIGINT")),
        statements=(
            """UPDATE simulations SET run_number = r.n FROM (
                   SELECT simulation_id,
                          row_number() OVER (ORDER BY started_at, simulation_id) AS n
                   FROM simulations) r
               WHERE simulations.simulation_id = r.simulation_id""",
        )),
    Migration(
        3, "append-only tables without key constraints or event indexes (bulk-load speed); "
           "transaction columns of sim.transactions(); stored parts per run",
        add_columns=(("transactions", "original_priority", "BIGINT"),
                     ("transactions", "withdrawn", "BOOLEAN"),
                     ("transactions", "location", "VARCHAR"),
                     ("transactions", "tx_order", "BIGINT"),
                     ("simulations", "stored_parts", "VARCHAR")),
        statements=tuple(f"DROP VIEW IF EXISTS {v}" for v in _VIEWS_V3) + tuple(
            stmt for name in UNENFORCED_SINCE_V3 for stmt in _without_key(name, 3))),
    Migration(
        4, "queue snapshots stored as spells (queue_spells); tick_queue_snapshots is a view",
        statements=(
            QUEUE_SPELLS.ddl(),
            f"""INSERT INTO queue_spells ({', '.join(QUEUE_SPELLS.column_names)})
                SELECT simulation_id, queue_type, agent_id, tx_id, tick, tick + 1, position,
                       receiver_id, amount, remaining_amount, priority, deadline_tick,
                       rtgs_priority, overdue_since_tick
                FROM tick_queue_snapshots
                ORDER BY simulation_id, tick, queue_type, agent_id, position""",
            "DROP TABLE tick_queue_snapshots")),
    Migration(
        5, "transactions without a key constraint (a flush replaces its payments' rows)",
        statements=_without_key("transactions", 5)),
    Migration(
        6, "event_id computed from the run id and seq instead of stored",
        statements=tuple(f"DROP VIEW IF EXISTS {v}" for v in VIEWS) + (
            SIMULATION_EVENTS.ddl().replace("simulation_events", "simulation_events__v6", 1),
            f"INSERT INTO simulation_events__v6 ({_EVENT_COLUMNS}) "
            f"SELECT {_EVENT_COLUMNS} FROM simulation_events",
            "DROP TABLE simulation_events",
            "ALTER TABLE simulation_events__v6 RENAME TO simulation_events")),
    Migration(
        7, "payments tables given as DataFrames stored with their runs (run_payments)",
        statements=(RUN_PAYMENTS.ddl(),)),
)

assert MIGRATIONS[-1].version == SCHEMA_VERSION


def _added_after(version: int) -> set[tuple[str, str]]:
    return {(t, c) for m in MIGRATIONS if m.version > version for t, c, _ in m.add_columns}


def tables_at(version: int) -> list:
    """The tables of the schema as it was at ``version`` (current declarations)."""
    out = []
    added = {t.name: since for t, since in ADDED_TABLES}
    for table in TABLES:
        if version < added.get(table.name, 1):
            continue
        for old, new, since in REPLACED_TABLES:
            if table is new and version < since:
                table = old
        out.append(table)
    return out


def table_ddl_at(version: int) -> list[str]:
    """CREATE TABLE statements of the schema as it was at ``version`` (for tests and tools)."""
    later = _added_after(version)
    out = []
    for table in tables_at(version):
        cols = [(c, t if version >= 6 else t.split(" GENERATED ")[0])
                for c, t in table.columns if (table.name, c) not in later]
        body = ",\n    ".join(f"{c} {t}" for c, t in cols)
        keyed = table.primary_key and (
            table.enforced or version < UNENFORCED_SINCE.get(table.name, 3))
        pk = f",\n    PRIMARY KEY ({', '.join(table.primary_key)})" if keyed else ""
        out.append(f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {body}{pk}\n)")
    return out


def create_schema(con, version: int = SCHEMA_VERSION) -> None:
    """Create the tables of ``version`` in an empty database and record that version.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> create_schema(con, 1); current_version(con)
    1
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for ddl in table_ddl_at(version):
            con.execute(ddl)
        for idx in (LEGACY_INDEXES if version < 3 else ()):
            con.execute(idx)
        con.execute("INSERT INTO schema_migrations VALUES (?, now(), ?)",
                    [version, "initial schema" if version == 1
                     else f"schema version {version} created directly"])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def existing_tables(con) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()
    return {r[0] for r in rows}


def existing_columns(con, table: str) -> list[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                       [table]).fetchall()
    return [r[0] for r in rows]


def current_version(con) -> int | None:
    """Newest applied version, or None for a database without ``schema_migrations``."""
    if "schema_migrations" not in existing_tables(con):
        return None
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return row[0] if row and row[0] is not None else None


def pending(version: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m.version > version]


def apply_migration(con, m: Migration) -> None:
    """Apply one migration in its own transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table, col, typ in m.add_columns:
            if col not in existing_columns(con, table):
                con.execute(f"ALTER TABLE {table} ADD COLUMN {col} {typ}")
        for stmt in m.statements:
            con.execute(stmt)
        con.execute("INSERT INTO schema_migrations VALUES (?, now(), ?)",
                    [m.version, m.description])
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        raise StoreError(f"migration {m.version} ({m.description}) failed: {exc}") from exc


def schema_problems(con) -> list[str]:
    """Tables or columns of the current schema missing from the database (empty when fine)."""
    have = existing_tables(con)
    problems = []
    for table in TABLES:
        if table.name not in have:
            problems.append(f"table {table.name} is missing")
            continue
        cols = set(existing_columns(con, table.name))
        for c in table.column_names:
            if c not in cols:
                problems.append(f"table {table.name} has no column {c}")
    return problems


def prepare(con, path: str) -> list[int]:
    """Bring a freshly opened database to the current schema; returns the migrations applied.

    An empty database gets the current schema directly (no migrations to apply).
    """
    version = current_version(con)
    applied: list[int] = []
    if version is None:
        foreign = existing_tables(con) & set(TABLES_BY_NAME)
        if foreign:
            problems = schema_problems(con)
            raise StoreError(f"{path}: not a paysim_lab store (no schema_migrations table"
                             + (f"; {problems[0]}" if problems else "") + ")")
        create_schema(con, SCHEMA_VERSION)
    elif version > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema version {version} is newer than this "
                         f"paysim_lab supports ({SCHEMA_VERSION}); upgrade paysim_lab")
    else:
        for m in pending(version):
            apply_migration(con, m)
            applied.append(m.version)
    problems = schema_problems(con)
    if problems:
        raise StoreError(f"{path}: schema does not match version {SCHEMA_VERSION}: "
                         + "; ".join(problems))
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    return applied
