"""Choosing what to store (keep=), bounded flushes, and one transaction per flush."""
from __future__ import annotations

import warnings

import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError

CRISIS = "advanced_policy_crisis"


@pytest.fixture(scope="module")
def stored():
    store = psl.Store()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store)
    sim.run()
    yield store, sim
    store.close()


def _run(store, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store, **kwargs)
    sim.run()
    return sim


def _count(store, table, run_id):
    return store.sql(f"SELECT count(*) n FROM {table} WHERE simulation_id = ?", [run_id])["n"][0]


def test_a_run_without_queue_snapshots_stores_everything_else_identically(stored):
    full_store, full = stored
    with psl.Store(keep="events,states") as store:
        lean = _run(store)
        rid = lean.run_id
        assert store.run(rid)["stored_parts"] == "events,states"
        assert _count(store, "tick_queue_snapshots", rid) == 0
        assert _count(full_store, "tick_queue_snapshots", full.run_id) > 0
        # what was stored is what the full run stored
        for table in ("simulation_events", "tick_agent_states", "tick_summaries",
                      "transactions", "daily_agent_metrics", "agent_queue_snapshots",
                      "agent_state_registers", "collateral_events"):
            cols = "* EXCLUDE (simulation_id" + (", event_id)" if table == "simulation_events"
                                                  else ")")
            a = store.sql(f"SELECT {cols} FROM {table} ORDER BY ALL")
            b = full_store.sql(f"SELECT {cols} FROM {table} WHERE simulation_id = ? "
                               "ORDER BY ALL", [full.run_id])
            assert a.equals(b), table
        assert store.verify(rid).ok
        assert "".join(store.events_jsonl(rid)) == "".join(full_store.events_jsonl(full.run_id))
        assert store.history(rid).equals(full.history())
        with pytest.raises(StoreError, match=f"run '{rid}' was stored without queues"):
            store.replay(rid)


def test_a_run_without_events_or_states_names_what_is_missing():
    with psl.Store(keep=["queues"]) as store:
        sim = _run(store)
        rid = sim.run_id
        assert _count(store, "simulation_events", rid) == 0
        assert _count(store, "tick_agent_states", rid) == 0
        assert _count(store, "tick_summaries", rid) == 300
        assert store.transactions(rid).equals(sim.transactions())
        with pytest.raises(StoreError, match="stored without events .*events\\(\\) needs"):
            store.events(rid)
        with pytest.raises(StoreError, match="stored without states .*history\\(\\) needs"):
            store.history(rid)
        with pytest.raises(StoreError, match="stored without events"):
            store.verify(rid)
        assert store.check() == []


def test_unknown_parts_are_refused():
    with pytest.raises(StoreError, match="unknown part 'queue'"):
        psl.Store(keep="events,queue")


def test_buffered_events_bound_each_flush():
    """Flush cadence bounds memory: no flush holds more than max_buffered_events events
    plus one tick's worth (a tick is never split)."""
    with psl.Store() as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path(CRISIS))
        writer = store.begin_run(sim, max_buffered_events=200)
        sim._add_listener(writer.add_tick, queues=True)
        per_flush = []
        seen = [0]

        def after(rec):
            n = store.sql("SELECT count(*) n FROM simulation_events")["n"][0]
            if n != seen[0]:
                per_flush.append(n - seen[0])
                seen[0] = n
        sim.add_listener(after)
        sim.run()
        writer.finish(sim)
        most = max(r[1] - r[0] for r in sim._tick_ranges)
        assert len(per_flush) > 15
        assert max(per_flush) < 200 + most
        assert sum(per_flush) == sim.events_emitted == \
            store.sql("SELECT count(*) n FROM simulation_events")["n"][0]


def test_a_flush_and_its_ticks_run_commit_together(monkeypatch):
    """A flush that fails half-way leaves neither its rows nor its ticks_run behind."""
    from paysim_lab.store import writer as writer_mod
    with psl.Store() as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store)
        sim.step(100)                                     # day 0 flushed
        assert store.run(sim.run_id)["ticks_run"] == 100
        before = store.sql("SELECT count(*) n FROM simulation_events")["n"][0]
        real = writer_mod._insert_transactions

        def broken(*args):
            raise RuntimeError("disk full")
        monkeypatch.setattr(writer_mod, "_insert_transactions", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            sim.step(100)
        monkeypatch.setattr(writer_mod, "_insert_transactions", real)
        row = store.run(sim.run_id)
        assert (row["ticks_run"], row["status"]) == (100, "failed")
        assert store.sql("SELECT count(*) n FROM simulation_events")["n"][0] == before
        assert store.sql("SELECT max(tick) t FROM tick_summaries")["t"][0] == 99
        assert store.check() == []


def test_paysim_run_store_option_chooses_the_parts(tmp_path):
    from click.testing import CliRunner

    from paysim_lab.cli import main
    db = tmp_path / "runs.duckdb"
    out = CliRunner().invoke(main, ["run", "two_bank_teaching", "--persist", str(db),
                                    "--run-id", "lean", "--store", "events,states"])
    assert out.exit_code == 0, out.output
    with psl.Store(db, read_only=True) as store:
        assert store.run("lean")["stored_parts"] == "events,states"
        assert _count(store, "tick_queue_snapshots", "lean") == 0
        assert store.verify("lean").ok
    bad = CliRunner().invoke(main, ["run", "two_bank_teaching", "--persist", str(db),
                                    "--store", "events,nope"])
    assert bad.exit_code == 2 and "unknown part 'nope'" in bad.output


def test_the_store_sets_max_buffered_events_for_the_runs_it_records():
    with psl.Store(max_buffered_events=300) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store)
        seen = []
        sim.add_listener(lambda rec: seen.append(store.run(sim.run_id)["ticks_run"]))
        sim.run(ticks=99)
        flushes = sorted(set(seen) - {0})
        most = max(r[1] - r[0] for r in sim._tick_ranges)
        # every flush point before the day's end came from the event bound
        for lo, hi in zip([0] + flushes, flushes):
            n = sum(r[1] - r[0] for r in sim._tick_ranges[lo:hi])
            assert 300 <= n < 300 + most
        assert len(flushes) >= 3
    with pytest.raises(StoreError, match="max_buffered_events must be positive"):
        psl.Store(max_buffered_events=0)
