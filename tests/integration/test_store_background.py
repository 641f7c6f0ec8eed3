"""Flushes are committed by the store's writer thread while the next ticks run."""
from __future__ import annotations

import sys
import threading
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError
from paysim_lab.store import writer as writer_mod

CRISIS = "advanced_policy_crisis"


def _sim(store, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.Simulation(psl.data.scenario_path(CRISIS), store=store, **kwargs)


def _hold_commit(monkeypatch, flushed_to: int, until_tick: int):
    """Hold the commit of the flush that ends at tick ``flushed_to`` until tick ``until_tick``
    has run (20 s at most). Returns the listener to add to the run and a list that gets
    whether that tick had run."""
    reached = threading.Event()
    seen: list[bool] = []
    real = writer_mod._insert_transactions

    def slow(con, run_id, tpd, last_tick, data):
        if last_tick == flushed_to:
            seen.append(reached.wait(timeout=20))
        return real(con, run_id, tpd, last_tick, data)

    monkeypatch.setattr(writer_mod, "_insert_transactions", slow)
    return (lambda rec: rec.tick == until_tick and reached.set()), seen


def test_the_next_ticks_run_while_a_flush_is_committed(monkeypatch):
    """The commit of day 0 (flushed after tick 99) waits until tick 101 has run: with a
    flush committed on the run's own thread, tick 101 could never run first."""
    listener, ticks_seen_by_commit = _hold_commit(monkeypatch, 99, 101)
    with psl.Store() as store:
        sim = _sim(store)
        sim.add_listener(listener)
        sim.run(ticks=150)
        assert ticks_seen_by_commit == [True]
        row = store.run(sim.run_id)            # step()/run() returned: everything committed
        assert (row["ticks_run"], row["status"]) == (150, "running")
        assert store.sql("SELECT count(*) n FROM tick_summaries")["n"][0] == 150


def test_ticks_run_on_while_several_flushes_wait_for_the_writer_thread(monkeypatch):
    """With the first commit held up, the run hands over MAX_IN_FLIGHT flushes (after ticks
    9, 19, 29) and goes on to tick 35 before it waits for the oldest."""
    assert writer_mod.MAX_IN_FLIGHT == 3
    listener, first_commit_saw_tick_35 = _hold_commit(monkeypatch, 9, 35)
    with psl.Store() as store:
        sim = _sim(store, flush_every=10)
        sim.add_listener(listener)
        sim.run(ticks=50)
        assert first_commit_saw_tick_35 == [True]
        assert store.run(sim.run_id)["ticks_run"] == 50
        assert store.sql("SELECT count(*) n FROM tick_summaries")["n"][0] == 50
        assert store.check() == []


def test_the_stored_duration_is_the_time_spent_running_ticks():
    with psl.Store() as store:
        sim = _sim(store)
        sim.run(ticks=120)
        sim.run()
        row = store.run(sim.run_id)
        assert sim.wall_seconds > 0
        assert row["duration_seconds"] == sim.wall_seconds
        assert row["ticks_per_second"] == 300 / sim.wall_seconds


def test_a_reader_on_the_opening_thread_waits_for_the_flush_in_flight(monkeypatch):
    """A listener reading the store sees every tick flushed so far, however slow the commit."""
    release = threading.Event()
    real = writer_mod._insert_events

    def slow(con, *args):
        release.wait(timeout=0.2)           # a commit slower than the ticks after it
        return real(con, *args)

    monkeypatch.setattr(writer_mod, "_insert_events", slow)
    with psl.Store() as store:
        sim = _sim(store, flush_every=10)
        seen = []
        sim.add_listener(lambda rec: rec.tick % 10 == 0 and seen.append(
            store.run(sim.run_id)["ticks_run"]))
        sim.run(ticks=60)
        assert seen == [0, 10, 20, 30, 40, 50]


def test_a_commit_failing_in_the_background_stops_the_run_at_the_next_flush(monkeypatch):
    calls = []
    real = writer_mod._insert_transactions

    def third_fails(*args):
        calls.append(args[3])
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(writer_mod, "_insert_transactions", third_fails)
    with psl.Store() as store:
        sim = _sim(store, flush_every=10)
        with pytest.raises(StoreError, match="disk full"):
            sim.run()
        # flushes after ticks 9, 19 committed; the one after 29 failed, no later one wrote a
        # row, and the run stopped at a flush point once the failure was known: the next one
        # (tick 39) if the writer thread had got there, at most MAX_IN_FLIGHT flushes later
        assert calls == [9, 19, 29]
        assert sim.current_tick in [40 + 10 * k for k in range(writer_mod.MAX_IN_FLIGHT)]
        row = store.run(sim.run_id)
        assert (row["ticks_run"], row["status"]) == (20, "failed")
        assert "disk full" in row["error"]
        assert store.sql("SELECT max(tick) t FROM tick_summaries")["t"][0] == 19
        assert store.check() == []


def test_python_hands_its_lock_to_the_writer_thread_often_while_flushes_are_committed():
    """While a run's flushes are being committed the interpreter's switch interval is short
    (so the writer thread's touches of Python objects do not wait 5 ms each); it is back to
    what it was once run() returns, also after a failed run."""
    before = sys.getswitchinterval()
    seen = []
    with psl.Store() as store:
        sim = _sim(store, flush_every=5)
        sim.add_listener(lambda rec: seen.append((rec.tick, sys.getswitchinterval())))
        sim.run(ticks=12)
        assert sys.getswitchinterval() == before
        assert dict(seen)[2] == before                      # nothing handed over yet
        assert dict(seen)[7] == pytest.approx(writer_mod.FLUSH_SWITCH_INTERVAL)
        assert writer_mod.FLUSH_SWITCH_INTERVAL < before
        sim.run(ticks=3)
        assert sys.getswitchinterval() == before


def _duckdb_memory(store) -> dict:
    rows = store.connection.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory() "
                                    "WHERE memory_usage_bytes > 0").fetchall()
    return dict(rows)


def test_a_finished_run_hands_duckdbs_cache_back(tmp_path):
    """After the last flush of a run the logged rows are checkpointed into the file and the
    blocks DuckDB cached while writing them are let go (the caller often builds DataFrames
    next); the memory cap is what it was."""
    with psl.Store(tmp_path / "r.duckdb", memory_limit="300MB") as store:
        cap = store.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        sim = _sim(store)
        sim.run(ticks=150)
        assert _duckdb_memory(store).get("IN_MEMORY_TABLE", 0) > 0     # logged, not yet in the file
        sim.run()
        after = _duckdb_memory(store)
        assert after.get("IN_MEMORY_TABLE", 0) == 0
        wal = tmp_path / "r.duckdb.wal"
        assert not wal.exists() or wal.stat().st_size == 0                # all in the file
        assert store.connection.execute(
            "SELECT current_setting('memory_limit')").fetchone()[0] == cap
        assert len(store.events(sim.run_id)) == sim.events_emitted      # read back from the file
