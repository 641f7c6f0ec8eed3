"""Stores under hostile conditions: foreign, damaged, read-only and shared files.

Read commands (``paysim runs``, ``replay``, ``db info``, ``db check``) open stores read-only:
they never create, write or migrate a file. A DuckDB file that is not a paysim_lab store is
refused untouched, a damaged one is a one-line error, DuckDB never prints a progress bar, its
memory is capped, and threads may share a Store.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab.cli import main
from paysim_lab.errors import StoreError
from paysim_lab.store import database
from paysim_lab.store.migrations import create_schema
from paysim_lab.store.schema import SCHEMA_VERSION

SCENARIO = {"simulation": {"ticks_per_day": 5, "num_days": 2, "rng_seed": 3},
            "agents": [{"id": "A", "opening_balance": 1000,
                        "arrival_config": {"rate_per_tick": 1,
                                           "amount_distribution": {"type": "Uniform", "min": 1,
                                                                   "max": 300},
                                           "counterparty_weights": {"B": 1},
                                           "deadline_range": [2, 4]}},
                       {"id": "B", "opening_balance": 1000}]}
READ_COMMANDS = (["runs"], ["replay"], ["replay", "--verbose"], ["db", "info"], ["db", "check"])


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def stored(tmp_path) -> Path:
    path = tmp_path / "runs.duckdb"
    with psl.Store(path) as store:
        psl.Simulation(psl.load_scenario(SCENARIO), store=store).run()
    return path


# ---- read commands never write ----------------------------------------------------------------

@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_leave_the_file_byte_for_byte_unchanged(stored, command):
    before = digest(stored)
    result = cli(*command, stored)
    assert result.exit_code == 0, result.output
    assert digest(stored) == before
    assert not stored.with_name(stored.name + ".wal").exists()


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_foreign_duckdb_file_is_refused_untouched(tmp_path, command):
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE accounts (id INTEGER, owner VARCHAR)")
    con.close()
    before = digest(path)
    result = cli(*command, path)
    assert result.exit_code == 1
    assert result.output == (f"error: {path}: not a paysim_lab store (it holds other tables: "
                             f"accounts; no schema_migrations table); refusing to change it\n")
    assert digest(path) == before


def test_recording_into_a_foreign_duckdb_file_is_refused_too(tmp_path):
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE accounts (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a paysim_lab store"):
        psl.Store(path)
    con = duckdb.connect(str(path), read_only=True)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()]
    con.close()
    assert tables == ["accounts"]


def test_read_commands_do_not_migrate_an_older_store(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    create_schema(con, 1)
    con.close()
    before = digest(path)
    info = cli("db", "info", path)
    assert info.exit_code == 0 and "schema version: 1\n" in info.output
    check = cli("db", "check", path)
    assert check.exit_code == 1
    assert f"problem: schema version 1, expected {SCHEMA_VERSION}" in check.output
    assert digest(path) == before
    assert cli("db", "migrate", path).exit_code == 0     # the one command that writes
    assert cli("db", "check", path).output == f"OK {path}\n"


def test_a_read_only_store_file_can_be_read(stored):
    stored.chmod(0o444)
    try:
        with psl.Store(stored, read_only=True) as store:
            assert len(store.runs()) == 1
            with pytest.raises(StoreError, match="opened read-only"):
                psl.Simulation(psl.load_scenario(SCENARIO), store=store)
        assert cli("runs", stored).exit_code == 0
    finally:
        stored.chmod(0o644)


def test_read_only_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        psl.Store(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


# ---- damaged files ------------------------------------------------------------------------

def _damage(stored: Path, how: str) -> Path:
    data = stored.read_bytes()
    out = stored.with_name(f"{how}.duckdb")
    if how == "truncated":
        out.write_bytes(data[: len(data) // 2])
    elif how == "scrambled":
        b = bytearray(data)
        # several places: a file has unused blocks, and which ones depends on the layout
        for start in (len(b) // 10, len(b) // 3, 2 * len(b) // 3):
            for i in range(start, start + 20_000):
                b[i] = (b[i] * 7 + 13) % 256
        out.write_bytes(bytes(b))
    else:
        out.write_bytes(b"this is not a database\n" * 1000)
    return out


@pytest.mark.parametrize("how", ["truncated", "scrambled", "text"])
def test_damaged_stores_give_a_one_line_store_error(stored, how):
    path = _damage(stored, how)
    failed = 0
    for command in READ_COMMANDS + (["replay", "--events-out", stored.with_name("ev.jsonl")],):
        result = cli(*command, path)
        if result.exit_code != 0:
            failed += 1
            assert result.exit_code == 1
            last = result.output.splitlines()[-1]
            assert last.startswith(f"error: {path}: not a readable paysim_lab store (the file "
                                   "is damaged, truncated or not a DuckDB database): ")
            assert "Traceback" not in result.output
    assert failed >= 1      # (a damaged block may be one that a command never reads)


READ_METHODS = (("runs", ()), ("info", ()), ("check", ()), ("latest_run_id", ()),
                ("run", ("RUN",)), ("events", ("RUN",)), ("history", ("RUN",)),
                ("transactions", ("RUN",)), ("costs", ("RUN",)),
                ("state_registers", ("RUN",)), ("replay", ("RUN",)),
                ("events_jsonl", ("RUN",)), ("records", ("RUN",)), ("verify", ("RUN",)))


@pytest.mark.parametrize("how", ["truncated", "scrambled"])
def test_damaged_stores_give_a_one_line_store_error_from_the_python_api(stored, how):
    # the API shares the CLI's conversion: a raw DuckDB error never reaches the caller
    with psl.Store(stored, read_only=True) as good:
        run_id = good.latest_run_id()
    path = _damage(stored, how)
    failed = 0
    for name, args in READ_METHODS:
        try:
            store = psl.Store(path, read_only=True)
        except StoreError:
            failed += 1
            continue
        with store:
            try:
                out = getattr(store, name)(*(run_id if a == "RUN" else a for a in args))
                if name == "events_jsonl":
                    list(out)
            except StoreError as exc:
                failed += 1
                text = str(exc)
                assert "\n" not in text
                assert text.startswith(f"{path}: not a readable paysim_lab store (the file is "
                                       "damaged, truncated or not a DuckDB database): "), text
            except duckdb.Error as exc:
                pytest.fail(f"Store.{name} let a raw DuckDB error through: {exc!r}")
    assert failed >= 1


# ---- targets that are not files -------------------------------------------------------------

@pytest.mark.parametrize("target", ["md:NAME", "motherduck:x", "s3://bucket/runs.duckdb",
                                    "http://example.com/x.duckdb"])
def test_a_store_must_be_a_local_file(tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="not a file path"):
        psl.Store(target)
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(SCENARIO))
    result = CliRunner().invoke(main, ["run", str(scenario), "--persist", target, "--quiet"])
    assert result.exit_code == 1 and "not a file path" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


# ---- DuckDB settings ----------------------------------------------------------------------

def _setting(con, name: str):
    return con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_no_progress_bar_and_a_memory_cap_by_default(monkeypatch):
    monkeypatch.delenv("PAYSIM_DUCKDB_MEMORY_LIMIT", raising=False)
    reference = duckdb.connect(config={"memory_limit": database.DEFAULT_MEMORY_LIMIT})
    with psl.Store(":memory:") as store:
        assert _setting(store.connection, "enable_progress_bar") is False
        assert _setting(store.connection, "memory_limit") == _setting(reference, "memory_limit")


def test_the_memory_limit_is_configurable(monkeypatch):
    small = duckdb.connect(config={"memory_limit": "300MB"})
    with psl.Store(":memory:", memory_limit="300MB") as store:
        assert _setting(store.connection, "memory_limit") == _setting(small, "memory_limit")
    monkeypatch.setenv("PAYSIM_DUCKDB_MEMORY_LIMIT", "300MB")
    with psl.Store(":memory:") as store:
        assert _setting(store.connection, "memory_limit") == _setting(small, "memory_limit")
    with pytest.raises(StoreError, match="memory limit 'lots' is not a size"):
        psl.Store(":memory:", memory_limit="lots")


# ---- threads ------------------------------------------------------------------------------

def test_three_threads_can_share_a_store(stored):
    errors: list = []
    results: list = []

    def read(store):
        try:
            for _ in range(20):
                rid = store.latest_run_id()
                results.append((len(store.runs()), len(store.events(rid))))
        except Exception as exc:     # collected: the assertion below names it
            errors.append(repr(exc))

    with psl.Store(stored) as store:
        expected = (1, len(store.events(store.latest_run_id())))
        threads = [threading.Thread(target=read, args=(store,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert results == [expected] * 60
        # each thread's cursor has the store's settings
        seen = []
        t = threading.Thread(target=lambda: seen.append(
            _setting(store.connection, "enable_progress_bar")))
        t.start()
        t.join()
        assert seen == [False]


def test_paysim_runs_escapes_control_characters_of_stored_errors(tmp_path):
    path = tmp_path / "runs.duckdb"

    def explode(rec):
        raise ValueError("boom \x1b[2J\x07")

    with psl.Store(path) as store:
        sim = psl.Simulation(psl.load_scenario(SCENARIO), store=store, run_id="bad")
        sim.add_listener(explode)
        with pytest.raises(ValueError):
            sim.run()
    result = cli("runs", path)
    assert result.exit_code == 0
    assert "ValueError: boom \\x1b[2J\\x07" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_duckdb_leaves_a_core_to_the_simulation_by_default(monkeypatch):
    monkeypatch.delenv("PAYSIM_DUCKDB_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with psl.Store(":memory:") as store:
        assert _setting(store.connection, "threads") == max(1, cores - 1)
        # flushes are checkpointed into the file in larger steps than DuckDB's default 16 MB
        big = duckdb.connect(config={"checkpoint_threshold": database.CHECKPOINT_THRESHOLD})
        assert _setting(store.connection, "checkpoint_threshold") == \
            _setting(big, "checkpoint_threshold")


def test_duckdb_threads_are_configurable(monkeypatch):
    with psl.Store(":memory:", threads=3) as store:
        assert _setting(store.connection, "threads") == 3
    monkeypatch.setenv("PAYSIM_DUCKDB_THREADS", "2")
    with psl.Store(":memory:") as store:
        assert _setting(store.connection, "threads") == 2
    for bad in (0, "many"):
        with pytest.raises(StoreError, match="threads .* is not a positive number"):
            psl.Store(":memory:", threads=bad)
