"""How fast runs reach DuckDB: events/s written, and run time with and without a store.

Usage::

    python benchmarks/bench_store.py                       # largest bundled scenario
    python benchmarks/bench_store.py --scenario advanced_policy_crisis --repeat 3
    python benchmarks/bench_store.py --file runs.duckdb    # a file store instead of memory

Two measurements:

* **write**: the tick records of a finished run are fed again through a fresh ``RunWriter``
  (buffering, row building, Arrow inserts, one transaction per day); events/s = events stored
  / time spent in the writer. This isolates the store from the engine.
* **end to end**: the same scenario run with and without ``store=``; the difference is what
  persistence costs a user.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import paysim_lab as psl


def largest_bundled() -> str:
    sizes = {}
    for name in psl.data.list_scenarios():
        sim = psl.Simulation.from_file(psl.data.scenario_path(name))
        sim.run()
        sizes[name] = len(sim.events)
    return max(sizes, key=sizes.get)


def record_run(path):
    sim = psl.Simulation.from_file(path)
    records = []
    sim.add_listener(records.append)
    sim.run()
    return sim, records


def bench_write(path, file: str | None) -> tuple[float, int, int]:
    done, records = record_run(path)
    n_events = sum(len(r.events) for r in records)
    with tempfile.TemporaryDirectory() as tmp:
        target = file or ":memory:"
        if target != ":memory:":
            target = str(Path(tmp) / Path(file).name)
        with psl.Store(target) as store:
            fresh = psl.Simulation.from_file(path)
            writer = store.begin_run(fresh)
            writer.sim = done        # payments' final state, as after a live run
            started = time.perf_counter()
            for rec in records:
                writer.add_tick(rec)
            writer.finish(done)
            elapsed = time.perf_counter() - started
            stored = store.sql("SELECT count(*) n FROM simulation_events")["n"][0]
    assert stored == n_events
    return elapsed, n_events, len(records)


def bench_end_to_end(path) -> tuple[float, float]:
    t0 = time.perf_counter()
    psl.Simulation.from_file(path).run()
    plain = time.perf_counter() - t0
    with psl.Store(":memory:") as store:
        t0 = time.perf_counter()
        psl.Simulation.from_file(path, store=store).run()
        stored = time.perf_counter() - t0
    return plain, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", help="bundled scenario name or path (default: largest)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", help="write to a DuckDB file (in a temp folder) instead of memory")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    name = args.scenario or largest_bundled()
    path = Path(name) if Path(name).exists() else psl.data.scenario_path(name)
    writes = [bench_write(path, args.file) for _ in range(args.repeat)]
    best = min(w[0] for w in writes)
    _, n_events, n_ticks = writes[0]
    e2e = [bench_end_to_end(path) for _ in range(args.repeat)]
    plain = statistics.median(e[0] for e in e2e)
    stored = statistics.median(e[1] for e in e2e)
    print(f"scenario: {name} ({n_ticks} ticks, {n_events} events)")
    print(f"store: {args.file or ':memory:'}")
    print(f"write: best {best:.3f}s of {args.repeat} -> {n_events / best:,.0f} events/s, "
          f"{n_ticks / best:,.0f} ticks/s")
    print(f"end to end (median): without store {plain:.3f}s, with store {stored:.3f}s "
          f"(+{stored - plain:.3f}s)")


if __name__ == "__main__":
    main()
