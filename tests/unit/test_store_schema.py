"""Store schema: creation, versions, migrations, refusal of what cannot be migrated."""
from __future__ import annotations

import warnings

import duckdb
import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError
from paysim_lab.store.migrations import create_schema, current_version
from paysim_lab.store.schema import SCHEMA_VERSION, TABLES, VIEWS
from storekit import old_store


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_type = 'BASE TABLE'").fetchall()}


def _views(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_type = 'VIEW'").fetchall()}


def test_new_store_has_every_table_view_and_the_current_version(tmp_path):
    with psl.Store(tmp_path / "new.duckdb") as store:
        con = store.connection
        assert _tables(con) == {t.name for t in TABLES}
        assert _views(con) == set(VIEWS) == {"simulation_runs", "lsm_cycles", "policy_decisions",
                                             "tick_queue_snapshots"}
        assert con.execute("SELECT version FROM schema_migrations").fetchall() == \
            [(SCHEMA_VERSION,)]
        assert store.created and store.migrate() == []
        assert store.check() == []


def test_reopening_keeps_runs_and_applies_nothing(tmp_path):
    path = tmp_path / "s.duckdb"
    psl.Store(path).close()
    with psl.Store(path) as store:
        assert not store.created
        assert store.migrate() == []
        assert current_version(store.connection) == SCHEMA_VERSION


def _v1_store(path) -> None:
    con = duckdb.connect(str(path))
    create_schema(con, 1)
    for rid, started in (("old-b", "2024-01-02 10:00:00"), ("old-a", "2024-01-03 09:00:00")):
        con.execute("INSERT INTO simulations (simulation_id, config_file, config_hash, "
                    "config_json, rng_seed, ticks_per_day, num_days, num_agents, status, "
                    "started_at, ticks_run, total_ticks, scenario_name) VALUES "
                    "(?, '<dict>', 'h', '{}', 7, 10, 1, 2, 'completed', ?, 0, 10, 'old')",
                    [rid, started])
    con.close()


def test_version_1_store_is_migrated_in_order_on_open(tmp_path):
    path = tmp_path / "v1.duckdb"
    _v1_store(path)
    con = duckdb.connect(str(path))
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'simulations'").fetchall()}
    assert "run_number" not in cols and "run_info_json" not in cols
    con.close()

    with psl.Store(path) as store:
        assert store.version_found == 1
        assert store.migrate() == [2, 3, 4, 5, 6, 7]
        rows = store.sql("SELECT version, description FROM schema_migrations ORDER BY version")
        assert rows["version"].tolist() == [1, 2, 3, 4, 5, 6, 7]
        assert rows["description"][0] == "initial schema"
        assert rows["description"][1].startswith("run order")
        order = store.sql("SELECT simulation_id, run_number FROM simulations "
                          "ORDER BY run_number")
        assert order.values.tolist() == [["old-b", 1], ["old-a", 2]]
        assert store.runs()["run_id"].tolist() == ["old-b", "old-a"]
        assert store.latest_run_id() == "old-a"
        assert store.check() == []
    with psl.Store(path) as again:
        assert again.migrate() == []


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    psl.Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_migrations VALUES (?, now(), 'from the future')",
                [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        psl.Store(path)


def test_missing_column_is_reported_with_table_and_column(tmp_path):
    path = tmp_path / "broken.duckdb"
    psl.Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE tick_summaries DROP COLUMN queue2_total")
    con.close()
    with pytest.raises(StoreError, match="table tick_summaries has no column queue2_total"):
        psl.Store(path)


def test_a_foreign_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE simulations (simulation_id VARCHAR, something BIGINT)")
    con.execute("INSERT INTO simulations VALUES ('x', 1)")
    con.close()
    with pytest.raises(StoreError, match="not a paysim_lab store"):
        psl.Store(path)
    con = duckdb.connect(str(path))
    assert con.execute("SELECT * FROM simulations").fetchall() == [("x", 1)]
    assert "schema_migrations" not in _tables(con)
    con.close()


def test_missing_folder_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        psl.Store(tmp_path / "nope" / "x.duckdb")


def test_not_a_duckdb_file_is_a_store_error(tmp_path):
    path = tmp_path / "text.duckdb"
    path.write_text("hello, I am not a database\n" * 100)
    with pytest.raises(StoreError, match="not a readable paysim_lab store"):
        psl.Store(path)


def test_closed_store_refuses_work():
    store = psl.Store(":memory:")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.runs()


def test_sql_errors_are_store_errors():
    with psl.Store() as store:
        with pytest.raises(StoreError, match="SQL error"):
            store.sql("SELECT nope FROM simulations")
        assert store.sql("SELECT count(*) AS n FROM simulations")["n"].tolist() == [0]


def _constraints(con, table: str) -> int:
    return con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
                       "AND constraint_type = 'PRIMARY KEY'", [table]).fetchone()[0]


def test_version_2_store_keeps_its_runs_and_loses_only_key_constraints(tmp_path):
    path = tmp_path / "v2.duckdb"
    con = old_store(path, 2, "r2")
    con.execute("INSERT INTO simulation_events VALUES ('r2', 0, 'r2:0', 0, 0, 'QueuedRtgs', "
                "'A', 'tx_1', NULL, '{\"sender_id\":\"A\",\"tx_id\":\"tx_1\"}')")
    con.execute("INSERT INTO tick_summaries VALUES ('r2', 0, 0, 1, 0, 0, 0, 1, 0, false)")
    assert _constraints(con, "simulation_events") == 1
    assert con.execute("SELECT count(*) FROM duckdb_indexes() "
                       "WHERE table_name = 'simulation_events'").fetchone()[0] == 4
    con.close()
    with psl.Store(path) as store:
        assert store.migrate() == [3, 4, 5, 6, 7]
        con = store.connection
        assert _constraints(con, "simulation_events") == 0
        assert _constraints(con, "transactions") == 0          # since version 5
        assert _constraints(con, "simulations") == 1
        assert con.execute("SELECT count(*) FROM duckdb_indexes()").fetchone()[0] == 0
        ev = store.events("r2")
        assert ev["details"].tolist() == [{"sender_id": "A", "tx_id": "tx_1"}]
        assert store.sql("SELECT count(*) n FROM policy_decisions")["n"].tolist() == [0]
        assert store.check() == []


def test_check_reports_duplicate_keys_of_append_only_tables():
    with psl.Store() as store:
        store.sql("INSERT INTO tick_summaries (simulation_id, tick, day) VALUES ('x', 0, 0), "
                  "('x', 0, 0)")
        assert any("tick_summaries" in p and "duplicate" in p for p in store.check())


def test_version_4_transactions_keep_their_rows_and_lose_the_key_constraint(tmp_path):
    """Migration 5: a flush replaces its payments' rows; the key is checked, not enforced."""
    path = tmp_path / "v4.duckdb"
    con = old_store(path, 4)
    con.execute("INSERT INTO transactions (simulation_id, tx_id, amount, status) VALUES "
                "('r', 'tx_1', 5, 'settled'), ('r', 'tx_2', 7, 'pending')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO transactions (simulation_id, tx_id) VALUES ('r', 'tx_1')")
    con.close()
    with psl.Store(path) as store:
        assert store.migrate() == [5, 6, 7]
        assert store.sql("SELECT tx_id, amount, status FROM transactions ORDER BY tx_id"
                         ).values.tolist() == [["tx_1", 5, "settled"], ["tx_2", 7, "pending"]]
        assert store.check() == []
        store.connection.execute(
            "INSERT INTO transactions (simulation_id, tx_id) VALUES ('r', 'tx_1')")
        assert store.check() == ["table transactions: 1 duplicate keys (simulation_id, tx_id)"]


def test_version_5_events_keep_their_event_ids_which_are_computed_from_then_on(tmp_path):
    """Migration 6: event_id (run id ':' seq) is a generated column, no longer stored."""
    path = tmp_path / "v5.duckdb"
    con = old_store(path, 5)
    con.execute("INSERT INTO simulation_events VALUES ('r5', 0, 'r5:0', 0, 0, 'QueuedRtgs', "
                "'A', 'tx_1', NULL, '{\"sender_id\":\"A\",\"tx_id\":\"tx_1\"}'), "
                "('r5', 1, 'r5:1', 0, 0, 'EndOfDay', NULL, NULL, NULL, '{}')")
    con.close()
    with psl.Store(path) as store:
        assert store.migrate() == [6, 7]
        assert store.sql("SELECT simulation_id, seq, event_id, event_type FROM "
                         "simulation_events ORDER BY seq").values.tolist() == [
            ["r5", 0, "r5:0", "QueuedRtgs"], ["r5", 1, "r5:1", "EndOfDay"]]
        generated = store.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = "
                              "'simulation_events' AND column_default IS NOT NULL")
        assert generated["column_name"].tolist() == ["event_id"]
        assert store.check() == []


def test_stored_event_ids_are_the_run_id_and_seq():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with psl.Store() as store:
            sim = psl.Simulation(psl.data.scenario_path("two_bank_teaching"), store=store,
                                 run_id="run-7")
            sim.run(ticks=3)
            ids = store.sql("SELECT event_id, seq FROM simulation_events ORDER BY seq")
    assert len(ids) == sim.events_emitted > 0
    assert ids["event_id"].tolist() == [f"run-7:{s}" for s in ids["seq"]]
