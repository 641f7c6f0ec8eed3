"""Reading queue snapshots back from a store: replay and ``tick_queue_snapshots`` range reads.

Usage::

    python benchmarks/bench_queue_reads.py                   # target2_crisis_25day, a temp store
    python benchmarks/bench_queue_reads.py --db runs.duckdb  # keep (or reuse) the store file

Stores target2_crisis_25day (the SimCash example, compat="simcash") once, then times, each on
its own, best of ``--repeat``:

* ``replay``: ``store.replay(run_id, from_tick=1000, to_tick=1099)`` (the verbose text of 100
  ticks, which reads their queue snapshots) and, once, ``store.replay(run_id)`` (all of it);
* ``range``: every ``tick_queue_snapshots`` row of ticks 1000..1099 into a DataFrame;
* ``count``: ``count(*)`` of the run's ``tick_queue_snapshots`` rows;
* ``events``: ``store.events(run_id)``, the run's 709,570 events as ``sim.events``' frame
  (each with its ``details`` dict), and ``store.events_of(run_id, "PolicyHold")``.

Prints the numbers as JSON on one line.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

from bench_store import TARGET2, _scenario


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="store file (created when absent)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import paysim_lab as psl
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "runs.duckdb"
        if not path.exists():
            with psl.Store(path) as store:
                psl.Simulation(_scenario("target2", 0, TARGET2), store=store,
                               run_id="t2").run()
        out: dict = {"db_mib": path.stat().st_size / 2**20}
        with psl.Store(path, read_only=True) as store:
            out["replay_100_ticks_s"] = _best(
                lambda: store.replay("t2", from_tick=1000, to_tick=1099), args.repeat)
            t0 = time.perf_counter()
            store.replay("t2")
            out["replay_all_s"] = time.perf_counter() - t0
            out["range_100_ticks_s"] = _best(lambda: store.sql(
                "SELECT * FROM tick_queue_snapshots WHERE simulation_id = 't2' "
                "AND tick BETWEEN 1000 AND 1099 ORDER BY tick, queue_type, agent_id, position"),
                args.repeat)
            out["range_rows"] = len(store.sql(
                "SELECT tick FROM tick_queue_snapshots WHERE simulation_id = 't2' "
                "AND tick BETWEEN 1000 AND 1099"))
            out["count_s"] = _best(lambda: store.sql(
                "SELECT count(*) n FROM tick_queue_snapshots WHERE simulation_id = 't2'"),
                args.repeat)
            out["rows"] = int(store.sql("SELECT count(*) n FROM tick_queue_snapshots "
                                        "WHERE simulation_id = 't2'")["n"][0])
            out["events_s"] = _best(lambda: store.events("t2"), args.repeat)
            out["events_of_hold_s"] = _best(lambda: store.events_of("t2", "PolicyHold"),
                                            args.repeat)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
