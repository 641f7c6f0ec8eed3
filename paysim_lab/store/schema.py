"""The DuckDB schema of a paysim_lab store (persistence.md section 3).

Tables are declared once, as column lists, so the DDL, the Arrow schemas the writer inserts with
and the column check of ``paysim db check`` all come from the same place. The tables below are
the *current* schema; :mod:`paysim_lab.store.migrations` knows how older stores differ.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..records import AGENT_STATE_COLUMNS

#: Version of the schema this package writes. Older stores are migrated on open.
SCHEMA_VERSION = 7


@dataclass(frozen=True)
class Table:
    """A table: columns, its logical key, and whether DuckDB enforces that key.

    Append-only tables (one writer appends each run's rows in key order) declare their key
    without a PRIMARY KEY constraint since schema version 3: maintaining the key's index cost
    more than the whole bulk load, and DuckDB's zone maps serve the run and tick filters the
    readers use. ``Store.check()`` still verifies those keys are unique.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]
    enforced: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def ddl(self) -> str:
        cols = ",\n    ".join(f"{c} {t}" for c, t in self.columns)
        pk = (f",\n    PRIMARY KEY ({', '.join(self.primary_key)})"
              if self.primary_key and self.enforced else "")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {cols}{pk}\n)"


def _t(name: str, cols: str, pk: str, enforced: bool = True) -> Table:
    pairs = []
    for item in cols.split(","):
        item = item.strip()
        if item:
            col, typ = item.split(None, 1)
            pairs.append((col, typ))
    return Table(name, tuple(pairs), tuple(p.strip() for p in pk.split(",") if p.strip()),
                 enforced)


SIMULATIONS = _t("simulations", """
    simulation_id VARCHAR, config_file VARCHAR, config_hash VARCHAR, config_json VARCHAR,
    rng_seed UBIGINT, ticks_per_day BIGINT, num_days BIGINT, num_agents BIGINT,
    status VARCHAR, started_at TIMESTAMP, completed_at TIMESTAMP,
    total_arrivals BIGINT, total_settlements BIGINT, total_cost_cents BIGINT,
    duration_seconds DOUBLE, ticks_per_second DOUBLE,
    ticks_run BIGINT, total_ticks BIGINT, error VARCHAR, scenario_name VARCHAR,
    paysim_version VARCHAR, profile VARCHAR,
    run_number BIGINT, run_info_json VARCHAR, summary_json VARCHAR, stored_parts VARCHAR""",
    "simulation_id")

#: ``event_id`` is the run id and seq ("sim-0123abcd:42"): computed when read, never stored
#: (since version 6; storing a unique text per event was a third of the events' write cost).
EVENT_ID = "VARCHAR GENERATED ALWAYS AS (simulation_id || ':' || CAST(seq AS VARCHAR)) VIRTUAL"

_EVENTS = _t("simulation_events", """
    simulation_id VARCHAR, seq BIGINT, event_id VARCHAR, tick BIGINT, day BIGINT,
    event_type VARCHAR, agent_id VARCHAR, tx_id VARCHAR, amount BIGINT, details VARCHAR""",
    "simulation_id, seq", enforced=False)
SIMULATION_EVENTS = Table(_EVENTS.name, tuple((c, EVENT_ID if c == "event_id" else t)
                                              for c, t in _EVENTS.columns),
                          _EVENTS.primary_key, enforced=False)

AGENT_STATE_REGISTERS = _t("agent_state_registers", """
    simulation_id VARCHAR, tick BIGINT, agent_id VARCHAR, register_key VARCHAR,
    register_value DOUBLE""", "simulation_id, tick, agent_id, register_key", enforced=False)

COLLATERAL_EVENTS = _t("collateral_events", """
    id BIGINT, simulation_id VARCHAR, agent_id VARCHAR, tick BIGINT, day BIGINT,
    action VARCHAR, amount BIGINT, reason VARCHAR, layer VARCHAR, balance_before BIGINT,
    posted_collateral_before BIGINT, posted_collateral_after BIGINT,
    available_capacity_after BIGINT""", "simulation_id, id", enforced=False)

TRANSACTIONS = _t("transactions", """
    simulation_id VARCHAR, tx_id VARCHAR, sender_id VARCHAR, receiver_id VARCHAR,
    amount BIGINT, priority BIGINT, is_divisible BOOLEAN, arrival_tick BIGINT,
    arrival_day BIGINT, deadline_tick BIGINT, settlement_tick BIGINT, settlement_day BIGINT,
    status VARCHAR, overdue_since_tick BIGINT, drop_reason VARCHAR, amount_settled BIGINT,
    queue1_ticks BIGINT, queue2_ticks BIGINT, total_delay_ticks BIGINT, delay_cost BIGINT,
    parent_tx_id VARCHAR, split_index BIGINT, rtgs_priority VARCHAR,
    rtgs_submission_tick BIGINT, declared_rtgs_priority VARCHAR, remaining_amount BIGINT,
    settled_by VARCHAR, original_priority BIGINT, withdrawn BOOLEAN, location VARCHAR,
    tx_order BIGINT""", "simulation_id, tx_id", enforced=False)

DAILY_AGENT_METRICS = _t("daily_agent_metrics", """
    simulation_id VARCHAR, agent_id VARCHAR, day BIGINT, opening_balance BIGINT,
    closing_balance BIGINT, min_balance BIGINT, max_balance BIGINT, unsecured_cap BIGINT,
    peak_overdraft BIGINT, opening_posted_collateral BIGINT, closing_posted_collateral BIGINT,
    peak_posted_collateral BIGINT, collateral_capacity BIGINT, num_collateral_posts BIGINT,
    num_collateral_withdrawals BIGINT, num_arrivals BIGINT, num_sent BIGINT,
    num_received BIGINT, num_settled BIGINT, num_dropped BIGINT, queue1_peak_size BIGINT,
    queue1_eod_size BIGINT, liquidity_cost BIGINT, delay_cost BIGINT, collateral_cost BIGINT,
    split_friction_cost BIGINT, deadline_penalty_cost BIGINT, total_cost BIGINT,
    liquidity_opportunity_cost BIGINT""", "simulation_id, agent_id, day", enforced=False)

AGENT_QUEUE_SNAPSHOTS = _t("agent_queue_snapshots", """
    simulation_id VARCHAR, agent_id VARCHAR, day BIGINT, queue_type VARCHAR, position BIGINT,
    transaction_id VARCHAR""", "simulation_id, agent_id, day, queue_type, position",
    enforced=False)

_STATE_TYPES = {"collateral_haircut": "DOUBLE", "registers_json": "VARCHAR"}
TICK_AGENT_STATES = Table(
    "tick_agent_states",
    (("simulation_id", "VARCHAR"), ("agent_id", "VARCHAR"), ("tick", "BIGINT"), ("day", "BIGINT"))
    + tuple((c, _STATE_TYPES.get(c, "BIGINT")) for c in AGENT_STATE_COLUMNS if c != "agent_id"),
    ("simulation_id", "agent_id", "tick"), enforced=False)

# Columns of one queued payment's row in a per-tick queue snapshot.
_QUEUE_STATE = """receiver_id VARCHAR, amount BIGINT, remaining_amount BIGINT,
    priority BIGINT, deadline_tick BIGINT, rtgs_priority VARCHAR, overdue_since_tick BIGINT"""

#: Queue membership as spells (version 4): a payment waiting in one queue (``queue1`` of bank
#: ``agent_id``, or ``rtgs``: Queue 2, ``agent_id`` the sender) over ticks from_tick <=
#: t < to_tick with unchanged state columns and unchanged order; ``sort_key`` orders the
#: spells of one queue open at the same tick (paysim_lab.store.queue_spells).
QUEUE_SPELLS = _t("queue_spells", f"""
    simulation_id VARCHAR, queue_type VARCHAR, agent_id VARCHAR, tx_id VARCHAR,
    from_tick BIGINT, to_tick BIGINT, sort_key BIGINT, {_QUEUE_STATE}""",
    "simulation_id, queue_type, tx_id, from_tick", enforced=False)

#: One row per queued payment per tick: a table up to version 3, since version 4 the VIEW
#: ``tick_queue_snapshots`` over ``queue_spells`` (same columns, same values).
TICK_QUEUE_SNAPSHOTS = _t("tick_queue_snapshots", f"""
    simulation_id VARCHAR, tick BIGINT, queue_type VARCHAR, agent_id VARCHAR, position BIGINT,
    tx_id VARCHAR, {_QUEUE_STATE}""",
    "simulation_id, tick, queue_type, agent_id, position", enforced=False)

TICK_SUMMARIES = _t("tick_summaries", """
    simulation_id VARCHAR, tick BIGINT, day BIGINT, num_arrivals BIGINT,
    num_settlements BIGINT, num_lsm_releases BIGINT, total_cost BIGINT, queue1_total BIGINT,
    queue2_total BIGINT, is_end_of_day BOOLEAN""", "simulation_id, tick", enforced=False)

POLICY_SNAPSHOTS = _t("policy_snapshots", """
    simulation_id VARCHAR, agent_id VARCHAR, snapshot_day BIGINT, snapshot_tick BIGINT,
    policy_hash VARCHAR, policy_json VARCHAR, created_by VARCHAR""",
    "simulation_id, agent_id, snapshot_day, snapshot_tick")

SIMULATION_CHECKPOINTS = _t("simulation_checkpoints", """
    checkpoint_id VARCHAR, simulation_id VARCHAR, checkpoint_tick BIGINT,
    checkpoint_day BIGINT, checkpoint_timestamp TIMESTAMP, state_json VARCHAR,
    state_hash VARCHAR, config_json VARCHAR, config_hash VARCHAR, checkpoint_type VARCHAR,
    description VARCHAR, created_by VARCHAR, num_agents BIGINT, num_transactions BIGINT,
    total_size_bytes BIGINT""", "checkpoint_id")

#: The payments table of a run whose scenario was given one as a DataFrame (version 7): such a
#: table is not named by the run's ``config_json``, so re-running the run (``verify``, a stored
#: run's ``scenario``) reads it here. One row per payment in arrival order (``row``); NULL
#: deadline, priority or id where the table gave none. Runs reading a file store no rows.
RUN_PAYMENTS = _t("run_payments", """
    simulation_id VARCHAR, row BIGINT, sender VARCHAR, receiver VARCHAR, amount BIGINT,
    arrival_tick BIGINT, deadline_tick BIGINT, priority BIGINT, divisible BOOLEAN,
    payment_id VARCHAR""", "simulation_id, row", enforced=False)

SCHEMA_MIGRATIONS = _t("schema_migrations", """
    version INTEGER, applied_at TIMESTAMP, description VARCHAR""", "version")

TABLES: tuple[Table, ...] = (
    SIMULATIONS, SIMULATION_EVENTS, AGENT_STATE_REGISTERS, COLLATERAL_EVENTS, TRANSACTIONS,
    DAILY_AGENT_METRICS, AGENT_QUEUE_SNAPSHOTS, TICK_AGENT_STATES, QUEUE_SPELLS,
    TICK_SUMMARIES, POLICY_SNAPSHOTS, SIMULATION_CHECKPOINTS, RUN_PAYMENTS, SCHEMA_MIGRATIONS,
)
TABLES_BY_NAME = {t.name: t for t in TABLES}

#: Tables holding rows of one run, keyed by ``simulation_id`` (row counts per run, deletes).
RUN_TABLES = tuple(t.name for t in TABLES
                   if t.name not in ("schema_migrations",) and
                   "simulation_id" in t.column_names)

#: Tables whose key lost its PRIMARY KEY constraint in version 3 (append-only, see Table): what
#: migration 3 did, so spelled out rather than derived from the tables of today.
UNENFORCED_SINCE_V3 = ("simulation_events", "agent_state_registers", "collateral_events",
                       "daily_agent_metrics", "agent_queue_snapshots", "tick_agent_states",
                       "tick_queue_snapshots", "tick_summaries")

#: Schema version from which a table's key is no longer a PRIMARY KEY constraint: version 3
#: for the append-only tables; version 5 for ``transactions`` (a flush deletes the rows of the
#: payments it stores again, then appends their current state).
UNENFORCED_SINCE = {**{name: 3 for name in UNENFORCED_SINCE_V3}, TRANSACTIONS.name: 5}

#: Tables added after version 1, with the version that added them.
ADDED_TABLES = ((RUN_PAYMENTS, 7),)

#: Tables of older schema versions, with the version that replaced them.
REPLACED_TABLES = ((TICK_QUEUE_SNAPSHOTS, QUEUE_SPELLS, 4),)
#: Per-run tables an older store (read as it is) may still hold.
LEGACY_RUN_TABLES = tuple(old.name for old, _, _ in REPLACED_TABLES)

#: Parts of a run a writer may leave out (``Store(..., keep=...)``); events always go in.
OPTIONAL_PARTS = ("states", "queues")
STORED_PARTS = ("events",) + OPTIONAL_PARTS

# Secondary indexes on the event table up to version 2 (persistence.md 3.2). Version 3 has none:
# readers filter by run and tick (zone maps: rows arrive in seq and tick order) or scan a column.
LEGACY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_events_tick ON simulation_events (simulation_id, tick)",
    "CREATE INDEX IF NOT EXISTS idx_events_type ON simulation_events (simulation_id, event_type)",
    "CREATE INDEX IF NOT EXISTS idx_events_agent ON simulation_events (simulation_id, agent_id)",
    "CREATE INDEX IF NOT EXISTS idx_events_tx ON simulation_events (simulation_id, tx_id)",
)


def queue_snapshot_sql(spells: str = "queue_spells") -> str:
    """SELECT of the per-tick queue snapshot rows (TICK_QUEUE_SNAPSHOTS columns) that the
    spells of ``spells`` (a table name or a parenthesised subquery) expand to: one row per
    tick of each spell; ``position`` ranks the spells of one queue and tick by ``sort_key``
    (Queue 1: per bank; Queue 2: global)."""
    return f"""
        SELECT s.simulation_id, r.tick, s.queue_type, s.agent_id,
               row_number() OVER (
                   PARTITION BY s.simulation_id, r.tick, s.queue_type,
                                CASE WHEN s.queue_type = 'queue1' THEN s.agent_id END
                   ORDER BY s.sort_key) - 1 AS position,
               s.tx_id, s.receiver_id, s.amount, s.remaining_amount, s.priority,
               s.deadline_tick, s.rtgs_priority, s.overdue_since_tick
        FROM {spells} s, range(s.from_tick, s.to_tick) r(tick)"""


#: Spells that are empty or overlap the previous spell of the same payment in the same queue.
QUEUE_SPELL_OVERLAPS = """
    SELECT count(*) FROM (
        SELECT from_tick, to_tick,
               lag(to_tick) OVER (PARTITION BY simulation_id, queue_type, tx_id
                                  ORDER BY from_tick) AS prev_end
        FROM queue_spells)
    WHERE from_tick >= to_tick OR from_tick < prev_end"""

# Compatibility views (persistence.md 3.1 and 3.13) and, since version 4, the per-tick queue
# snapshots over queue_spells. Rebuilt on every open.
VIEWS = {
    "tick_queue_snapshots": queue_snapshot_sql(),
    "simulation_runs": """
        SELECT simulation_id, scenario_name AS config_name, config_file, config_hash,
               NULL::VARCHAR AS description, started_at AS start_time,
               completed_at AS end_time, total_ticks, ticks_run, num_agents, rng_seed,
               status, total_arrivals AS total_transactions, total_settlements,
               total_cost_cents, duration_seconds, ticks_per_second, error
        FROM simulations""",
    "lsm_cycles": """
        SELECT seq AS id, simulation_id, tick, day,
               'bilateral' AS cycle_type, 2 AS cycle_length,
               to_json([json_extract_string(details, '$.agent_a'),
                        json_extract_string(details, '$.agent_b')])::VARCHAR AS agents,
               json_extract(details, '$.tx_ids')::VARCHAR AS transactions,
               NULL::VARCHAR AS tx_amounts,
               to_json([CAST(json_extract(details, '$.amount_b') AS BIGINT)
                            - CAST(json_extract(details, '$.amount_a') AS BIGINT),
                        CAST(json_extract(details, '$.amount_a') AS BIGINT)
                            - CAST(json_extract(details, '$.amount_b') AS BIGINT)])::VARCHAR
                   AS net_positions,
               CAST(json_extract(details, '$.amount_a') AS BIGINT)
                   + CAST(json_extract(details, '$.amount_b') AS BIGINT) AS total_value,
               CAST(json_extract(details, '$.amount_a') AS BIGINT)
                   + CAST(json_extract(details, '$.amount_b') AS BIGINT) AS settled_value,
               abs(CAST(json_extract(details, '$.amount_a') AS BIGINT)
                   - CAST(json_extract(details, '$.amount_b') AS BIGINT)) AS max_net_outflow,
               CASE WHEN CAST(json_extract(details, '$.amount_a') AS BIGINT)
                         > CAST(json_extract(details, '$.amount_b') AS BIGINT)
                    THEN json_extract_string(details, '$.agent_a')
                    ELSE json_extract_string(details, '$.agent_b') END AS max_net_outflow_agent
        FROM simulation_events
        WHERE event_type = 'LsmBilateralOffset'
          AND coalesce(CAST(json_extract(details, '$.settled') AS BOOLEAN), true)
        UNION ALL
        SELECT seq, simulation_id, tick, day, 'multilateral',
               json_array_length(json_extract(details, '$.agents')) - 1,
               json_extract(details, '$.agents')::VARCHAR,
               json_extract(details, '$.tx_ids')::VARCHAR,
               json_extract(details, '$.tx_amounts')::VARCHAR,
               json_extract(details, '$.net_positions')::VARCHAR,
               CAST(json_extract(details, '$.total_value') AS BIGINT),
               CAST(json_extract(details, '$.total_value') AS BIGINT),
               CAST(json_extract(details, '$.max_net_outflow') AS BIGINT),
               json_extract_string(details, '$.max_net_outflow_agent')
        FROM simulation_events
        WHERE event_type = 'LsmCycleSettlement'""",
    "policy_decisions": """
        SELECT seq AS id, simulation_id, agent_id, tick, day,
               CASE event_type WHEN 'PolicySubmit' THEN 'submit' WHEN 'PolicyHold' THEN 'hold'
                               WHEN 'PolicyDrop' THEN 'drop' ELSE 'split' END AS decision_type,
               tx_id,
               json_extract_string(details, '$.reason') AS reason,
               CAST(json_extract(details, '$.num_splits') AS BIGINT) AS num_splits,
               json_extract(details, '$.child_ids')::VARCHAR AS child_tx_ids
        FROM simulation_events
        WHERE event_type IN ('PolicySubmit', 'PolicyHold', 'PolicyDrop', 'PolicySplit')""",
}
