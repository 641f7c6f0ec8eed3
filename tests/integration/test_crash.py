"""A run killed between flushes (SIGKILL) leaves a readable store (persistence.md 4)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import paysim_lab as psl
from paysim_lab.records import canonical_json
from paysim_lab.store.writer import MAX_IN_FLIGHT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

CRISIS = "advanced_policy_crisis"
KILL_AT = "═══ Tick 150 ═══"


def test_sigkill_halfway_keeps_every_flushed_tick(tmp_path):
    db = tmp_path / "crash.duckdb"
    cmd = [sys.executable, "-m", "paysim_lab.cli", "run", CRISIS, "--verbose", "--persist",
           str(db), "--run-id", "killed", "--flush-every", "7"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # Read the live log until the child has printed tick 150, then kill it. Once we stop
        # reading, the pipe fills and the child blocks long before tick 300.
        seen = b""
        while KILL_AT.encode() not in seen:
            chunk = child.stdout.read1(65536)
            assert chunk, "child ended before reaching tick 150"
            seen = seen[-4096:] + chunk
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()

    with psl.Store(db) as store:
        runs = store.runs()
        assert runs["run_id"].tolist() == ["killed"]
        row = store.run("killed")
        assert row["status"] == "running" and row["completed_at"] is None
        ticks = row["ticks_run"]
        # flush points: every 7 buffered ticks, and after tick 99 (end of day 0); flushes are
        # committed by the store's writer thread while the next ticks run, so the kill may
        # find MAX_IN_FLIGHT of them in flight and one being built: their ticks are missing
        assert 150 - (MAX_IN_FLIGHT + 1) * 7 <= ticks < 300
        assert (ticks - 100) % 7 == 0
        counts = store.sql("SELECT (SELECT count(*) FROM tick_summaries) s, "
                           "(SELECT count(DISTINCT tick) FROM tick_agent_states) a, "
                           "(SELECT max(tick) FROM simulation_events) e")
        assert counts.values.tolist() == [[ticks, ticks, ticks - 1]]
        assert store.check() == []

        # every event of the stored ticks is there, identical to a fresh run's
        sim = psl.Simulation.from_file(psl.data.scenario_path(CRISIS))
        sim.run(ticks=ticks)
        fresh = [canonical_json({"seq": int(r.seq), "t": r.event_type, "tick": int(r.tick),
                                 **r.details}) for r in sim.events.itertuples()]
        stored = [canonical_json({"seq": int(r.seq), "t": r.event_type, "tick": int(r.tick),
                                  **r.details}) for r in store.events("killed").itertuples()]
        assert stored == fresh
        assert store.sql("SELECT count(*) n FROM daily_agent_metrics")["n"][0] == 4

        # replay works up to the last stored tick, and matches what the child printed
        text = store.replay("killed")
        assert text.count("═══ Tick ") == ticks
        assert store.verify("killed").ok
