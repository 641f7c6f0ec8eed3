"""Interrupted runs leave a consistent store: real signals sent to a real ``paysim run``.

SIGINT (Ctrl-C, and what Jupyter's "interrupt kernel" sends), SIGTERM and SIGHUP stop a run
between ticks: every completed tick is flushed, the run is stored as ``failed`` with the
signal named, ``ticks_run`` equals the ticks stored and ``paysim db check`` is clean, even when
the signal lands in the middle of a flush. A flush that fails names the bank and the field.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError
from paysim_lab.interrupts import Interrupted
from paysim_lab.records import canonical_json

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")

CRISIS = "advanced_policy_crisis"


def _interrupt(tmp_path, signum: int, at_tick: int, flush_every: int, twice: bool = False):
    """Run the crisis scenario persisted, send ``signum`` once tick ``at_tick`` is printed."""
    db = tmp_path / "runs.duckdb"
    cmd = [sys.executable, "-m", "paysim_lab.cli", "run", CRISIS, "--verbose", "--persist",
           str(db), "--run-id", "r", "--flush-every", str(flush_every)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marker = f"═══ Tick {at_tick} ═══".encode()
    err = []
    reader = threading.Thread(target=lambda: err.append(child.stderr.read()))
    reader.start()
    try:
        seen = b""
        while marker not in seen:
            chunk = child.stdout.read1(65536)
            assert chunk, "child ended before the tick"
            seen = seen[-4096:] + chunk
        child.send_signal(signum)
        if twice:
            child.send_signal(signum)
        while child.stdout.read1(65536):     # keep draining: the child must not block
            pass
        code = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        reader.join()
        child.stderr.close()
    return db, code, err[0].decode()


def _assert_consistent(db, signame: str):
    with psl.Store(db, read_only=True) as store:
        row = store.run("r")
        assert row["status"] == "failed"
        assert f"interrupted by {signame} at tick " in row["error"]
        ticks = row["ticks_run"]
        assert 0 < ticks < 300
        assert store.check() == []                       # ticks_run == ticks stored
        n = store.sql("SELECT count(*) n FROM tick_summaries")["n"][0]
        assert n == ticks
        stored = [canonical_json({"seq": int(r.seq), "tick": int(r.tick), **r.details})
                  for r in store.events("r").itertuples()]
        assert store.replay("r").count("═══ Tick ") == ticks
    sim = psl.Simulation.from_file(psl.data.scenario_path(CRISIS))
    sim.run(ticks=ticks)
    fresh = [canonical_json({"seq": int(r.seq), "tick": int(r.tick), **r.details})
             for r in sim.events.itertuples()]
    assert stored == fresh
    return ticks


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_run_between_ticks_and_stores_it_as_failed(tmp_path, name):
    signum = getattr(signal, name)
    db, code, stderr = _interrupt(tmp_path, signum, at_tick=120, flush_every=7)
    assert code == 1
    assert f"error: interrupted by {name} at tick " in stderr
    assert f"; run r stored as failed in {db}" in stderr
    assert "Traceback" not in stderr
    ticks = _assert_consistent(db, name)
    assert ticks >= 121      # every tick finished before the signal was acted on is stored


@pytest.mark.parametrize("at_tick", [40, 170])
def test_ctrl_c_while_flushing_every_tick_keeps_the_bookkeeping_consistent(tmp_path, at_tick):
    # with a flush after every tick the signal usually lands inside a flush
    db, code, stderr = _interrupt(tmp_path, signal.SIGINT, at_tick=at_tick, flush_every=1,
                                  twice=True)
    assert code == 1 and "Traceback" not in stderr
    _assert_consistent(db, "SIGINT")


def test_a_kernel_interrupt_in_process_stops_at_a_tick_boundary(tmp_path):
    # Jupyter's "interrupt kernel" is a SIGINT to the kernel process: KeyboardInterrupt
    sim = None

    def interrupt_at_30(rec):
        if rec.tick == 30:
            os.kill(os.getpid(), signal.SIGINT)

    with psl.Store(tmp_path / "k.duckdb") as store:
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store, flush_every=4)
        sim.add_listener(interrupt_at_30)
        with pytest.raises(KeyboardInterrupt) as info:
            sim.run()
        assert isinstance(info.value, Interrupted)
        assert str(info.value) == "interrupted by SIGINT at tick 31"
        assert sim.current_tick == 31
        row = store.run(sim.run_id)
        assert row["status"] == "failed" and row["ticks_run"] == 31
        assert row["error"] == "Interrupted: interrupted by SIGINT at tick 31"
        assert store.check() == []
    # the handler in force before the run is back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_signal_stops_at_once_and_names_the_ticks_completed(tmp_path):
    def interrupt_twice_at_30(rec):
        if rec.tick == 30:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)   # the second one does not wait for the tick

    with psl.Store(tmp_path / "k2.duckdb") as store:
        sim = psl.Simulation(psl.data.scenario_path(CRISIS), store=store, flush_every=4)
        sim.add_listener(interrupt_twice_at_30)
        with pytest.raises(KeyboardInterrupt) as info:
            sim.run()
        # tick 30 had run when its listener was interrupted: 31 ticks completed and stored
        assert str(info.value) == "interrupted by SIGINT at tick 31"
        row = store.run(sim.run_id)
        assert row["status"] == "failed" and row["ticks_run"] == 31
        assert row["error"] == "Interrupted: interrupted by SIGINT at tick 31"
        assert store.check() == []


def test_a_failing_final_flush_names_the_bank_and_does_not_leave_the_run_running(tmp_path):
    top = 2**63 - 1
    doc = {"simulation": {"ticks_per_day": 3, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": "A", "opening_balance": top}, {"id": "B", "opening_balance": top}],
           "scenario_events": [{"type": "DirectTransfer", "from_agent": "A", "to_agent": "B",
                                "amount": 10, "schedule": {"type": "OneTime", "tick": 1}}]}
    with psl.Store(tmp_path / "big.duckdb") as store:
        sim = psl.Simulation(psl.load_scenario(doc), store=store)
        with pytest.raises(StoreError) as info:
            sim.run()
        assert f"(bank 'B': balance {top + 10} at tick 1 is beyond the 64-bit integers the " \
               "store holds)" in str(info.value)
        row = store.run(sim.run_id)
        assert row["status"] == "failed"
        assert f"bank 'B': balance {top + 10}" in row["error"]
        assert store.check() == []
