"""What persisting a run costs: persisted vs unpersisted, time and peak memory side by side.

Usage::

    python benchmarks/bench_store.py                    # 1,000-bank day + target2_crisis_25day
    python benchmarks/bench_store.py --repeat 3         # medians of 3 alternating runs
    python benchmarks/bench_store.py --banks 200        # a smaller synthetic day
    python benchmarks/bench_store.py --keep events,states --flush-every 10
    python benchmarks/bench_store.py --skip-target2     # or --skip-synthetic
    python benchmarks/bench_store.py --ingest          # DuckDB alone: keys and indexes
    python benchmarks/bench_store.py --cadence         # peak memory vs flush bound, run length

Each case runs in its own subprocess, so peak RSS (``ru_maxrss``) is that case's alone:

* **synthetic day**: a generated core-periphery RTGS day (1,000 banks, 350 payments per bank:
  ~351,000 payments, ~1.4 million events, the size of a TARGET2 business day), run without a
  store and with a DuckDB file store (``Store(path)``, default keep, default flushing). The
  unpersisted case also times ``sim.events`` (the mixed DataFrame of every event).
* **target2_crisis_25day**: the SimCash example (compat="simcash"; 2,500 ticks, ~710,000
  events, ~2 million queue-snapshot rows), without and with a file store; skipped when the
  SimCash examples are absent.

Times are wall seconds, CPU seconds of the whole process and CPU seconds of the run's own
thread ("main cpu": the store commits on a writer thread of its own, so on a machine with a
free core the wall time follows the main thread's CPU) of building the simulation, running it
and (persisted) closing the store; loading the scenario is the same for both and is not
included. ``sim.run()`` builds the DataFrame of the run's events in both cases. "tail s" is
the stored run's time from the end of its last tick until ``sim.run()`` returned: its wait for
the store's last commits and checkpoint, then the DataFrame.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the SimCash examples sit next to the repository (../shared), as for the tests
TARGET2 = (HERE.parents[1] / "shared" / "simcash" / "examples" / "configs"
           / "target2_crisis_25day.yaml")


def _scenario(case: str, banks: int, target2: Path = TARGET2, days: int | None = None):
    import paysim_lab as psl
    from paysim_lab.synthetic import synthetic_scenario
    if case == "synthetic":
        return psl.load_scenario(synthetic_scenario(banks=banks, payments_per_day=banks * 350,
                                                    days=1, lsm=True, seed=1))
    # its policies live in the SimCash checkout (simulator/policies), two folders up
    sc = psl.load_scenario(target2, compat="simcash", allowed_policy_dirs=[target2.parents[2]])
    return sc.with_changes({"simulation.num_days": days}) if days else sc


def one_case(case: str, persist: bool, banks: int, keep: str | None, flush_every: int | None,
             frame: bool, target2: Path = TARGET2, max_buffered: int | None = None,
             keep_events: bool = True, days: int | None = None, advance: bool = False) -> dict:
    """Run one case in this process; the numbers as a dict."""
    import paysim_lab as psl
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    sc = _scenario(case, banks, target2, days)
    load_s = time.perf_counter() - t0
    out: dict = {"case": case, "persist": persist, "load_s": load_s}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        c0 = time.process_time()
        m0 = time.thread_time()
        if persist:
            store = psl.Store(Path(tmp) / "runs.duckdb", keep=keep, flush_every=flush_every,
                              max_buffered_events=max_buffered)
            sim = psl.Simulation(sc, store=store, keep_events=keep_events)
            last_tick = sim.total_ticks - 1

            def last_tick_ended(rec) -> None:
                # what follows is the run's wait for the store, and its DataFrame (a stored
                # run builds its tick records anyway: the listener adds no work)
                if rec.tick == last_tick:
                    out["last_tick_at"] = time.perf_counter()

            sim.add_listener(last_tick_ended)
        else:
            store = None
            sim = psl.Simulation(sc, keep_events=keep_events)
        try:
            sim.advance() if advance else sim.run()   # advance: no DataFrame of the events
            if "last_tick_at" in out:
                out["tail_s"] = time.perf_counter() - out.pop("last_tick_at")
        except (psl.SimulationError, psl.PolicyRuntimeError) as exc:   # a scenario may abort
            out["error"] = f"{type(exc).__name__} at tick {sim.current_tick}"
        if store is not None:
            store.close()
            out["db_mib"] = (Path(tmp) / "runs.duckdb").stat().st_size / 2**20
        out["run_s"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - c0
        out["main_cpu_s"] = time.thread_time() - m0    # the run's own thread (not the store's)
        out["events"] = sim.events_emitted
        out["ticks"] = sim.current_tick
        # peak memory of the run itself (before any DataFrame is built)
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if frame:
            t0 = time.perf_counter()
            n = len(sim.events)
            out["events_frame_s"] = time.perf_counter() - t0
            assert n == sim.events_emitted
    return out


def ingest(rows: int = 1_400_000, batch: int = 140_000) -> None:
    """DuckDB alone: append event-shaped Arrow batches to a table without a key, with the
    (simulation_id, seq) primary key, and with the key plus the four indexes of schema v2."""
    import duckdb
    import numpy as np
    import pyarrow as pa
    seq = np.arange(rows, dtype=np.int64)
    types = np.array(["Arrival", "PolicySubmit", "RtgsSubmission", "RtgsImmediateSettlement"],
                     dtype=object)
    table = pa.table({
        "simulation_id": pa.array(np.full(rows, "sim-0123abcd", dtype=object)),
        "seq": seq, "tick": seq // 14_000, "event_type": pa.array(types[seq % 4]),
        "agent_id": pa.array([f"BANK_{i % 1000:04d}" for i in range(rows)]),
        "tx_id": pa.array([f"tx_{i // 4:08d}" for i in range(rows)]), "amount": seq,
        "details": pa.array(np.full(rows, '{"amount":123456,"deadline":55,"priority":5,'
                                    '"receiver_id":"BANK_0001","sender_id":"BANK_0002",'
                                    '"tx_id":"tx_00001234"}', dtype=object))})
    print(f"DuckDB ingest of {rows:,} event rows in batches of {batch:,} (one transaction each):")
    for label, key, indexes in (("no key", "", False), ("primary key", ", PRIMARY KEY "
                                "(simulation_id, seq)", False),
                                ("key + 4 indexes", ", PRIMARY KEY (simulation_id, seq)", True)):
        con = duckdb.connect()
        con.execute("CREATE TABLE e (simulation_id VARCHAR, seq BIGINT, tick BIGINT, "
                    f"event_type VARCHAR, agent_id VARCHAR, tx_id VARCHAR, amount BIGINT, "
                    f"details VARCHAR{key})")
        if indexes:
            for c in ("tick", "event_type", "agent_id", "tx_id"):
                con.execute(f"CREATE INDEX i_{c} ON e (simulation_id, {c})")
        t0 = time.perf_counter()
        for start in range(0, rows, batch):
            part = table.slice(start, batch)   # noqa: F841  (read by DuckDB by name)
            con.execute("BEGIN")
            con.execute("INSERT INTO e SELECT * FROM part")
            con.execute("COMMIT")
        secs = time.perf_counter() - t0
        print(f"  {label:16} {secs:6.2f} s  {rows / secs:>10,.0f} rows/s")
        con.close()


def run_case(args, case: str, persist: bool, frame: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--one", case, "--banks", str(args.banks),
           "--target2", str(args.target2)]
    if persist:
        cmd.append("--persist")
    if frame:
        cmd.append("--frame")
    if args.keep:
        cmd += ["--keep", args.keep]
    if args.flush_every:
        cmd += ["--flush-every", str(args.flush_every)]
    if args.max_buffered:
        cmd += ["--max-buffered", str(args.max_buffered)]
    if args.no_keep_events:
        cmd.append("--no-keep-events")
    if args.days:
        cmd += ["--days", str(args.days)]
    if args.advance:
        cmd.append("--advance")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{case} (persist={persist}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cadence(args) -> None:
    """Peak memory of persisted runs against the flush bound and the run's length: a flush
    holds at most max_buffered_events events, and what the store adds to a run's memory does
    not grow with the number of days (printed side by side, one process per run; runs use
    ``sim.advance()``, so no DataFrame of the events is built)."""
    print(f"{'run':56} {'events':>10} {'time s':>7} {'peak MiB':>9} {'unpersisted':>12}")

    def row(label, case, plain=False, **changes):
        a = argparse.Namespace(**{**vars(args), "max_buffered": None, "no_keep_events": False,
                                  "days": None, "advance": True, **changes})
        r = run_case(a, case, True)
        base = f"{run_case(a, case, False)['peak_rss_mib']:>12.0f}" if plain else ""
        print(f"{label:56} {r['events']:>10,} {r['run_s']:>7.2f} {r['peak_rss_mib']:>9.0f}"
              f"{base}")

    for n in (50_000, 200_000, 1_000_000):
        row(f"synthetic {args.banks}-bank day, max_buffered_events {n:,}", "synthetic",
            max_buffered=n)
    if args.target2.exists():
        for days in (5, 10, 25):
            row(f"target2_crisis, first {days} days, keep_events=False", "target2",
                plain=True, no_keep_events=True, days=days)


def _median(results: list[dict]) -> dict:
    """Per number, the median over repeated runs (peak memory: the largest)."""
    out = dict(results[0])
    for key, value in results[0].items():
        if isinstance(value, float):
            values = [r[key] for r in results]
            out[key] = max(values) if key == "peak_rss_mib" else statistics.median(values)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", type=int, default=1000)
    ap.add_argument("--keep", help="parts to store (Store(keep=...)), default all")
    ap.add_argument("--flush-every", type=int, help="Store(flush_every=...)")
    ap.add_argument("--skip-target2", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each case N times (plain and stored alternating); medians")
    ap.add_argument("--target2", type=Path, default=TARGET2, metavar="PATH",
                    help="target2_crisis_25day.yaml (default: ../shared/simcash/examples)")
    ap.add_argument("--max-buffered", type=int, help="Store(max_buffered_events=...)")
    ap.add_argument("--no-keep-events", action="store_true",
                    help="Simulation(keep_events=False): drop each day's events once stored")
    ap.add_argument("--days", type=int, help="target2_crisis_25day cut to this many days")
    ap.add_argument("--advance", action="store_true",
                    help="sim.advance() instead of sim.run(): no DataFrame of the events")
    ap.add_argument("--cadence", action="store_true",
                    help="peak memory against flush cadence and run length (persisted runs)")
    ap.add_argument("--ingest", action="store_true",
                    help="only DuckDB's ingest speed without / with keys and indexes")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--persist", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--frame", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ingest:
        ingest()
        return
    if args.one:
        print(json.dumps(one_case(args.one, args.persist, args.banks, args.keep,
                                  args.flush_every, args.frame, args.target2,
                                  args.max_buffered, not args.no_keep_events, args.days,
                                  args.advance)))
        return
    if args.cadence:
        cadence(args)
        return
    cases = [] if args.skip_synthetic else [("synthetic", f"synthetic {args.banks}-bank day")]
    if not args.skip_target2:
        if args.target2.exists():
            cases.append(("target2", "target2_crisis_25day"))
        else:
            print(f"target2_crisis_25day skipped: {args.target2} not found")
    print(f"store: DuckDB file, keep={args.keep or 'all'}, "
          f"flush_every={args.flush_every or 'default'}, median of {args.repeat} run(s)")
    print(f"{'case':28} {'events':>10} {'plain s':>8} {'stored s':>9} {'ratio':>6} "
          f"{'plain cpu':>9} {'stored cpu':>10} {'ratio':>6} {'main cpu':>9} {'ratio':>6} "
          f"{'plain MiB':>10} {'stored MiB':>11} {'ratio':>6} {'db MiB':>7} {'tail s':>6}")
    frames = []
    for case, label in cases:
        # plain and stored alternate, so both see the same moments of a busy machine
        runs = [(run_case(args, case, False, frame=(case == "synthetic")),
                 run_case(args, case, True)) for _ in range(args.repeat)]
        plain, stored = (_median([r[i] for r in runs]) for i in (0, 1))
        if "events_frame_s" in plain:
            frames.append((label, plain["events"], plain["events_frame_s"]))
        note = f"  ({stored['error']})" if "error" in stored else ""
        print(f"{label:28} {plain['events']:>10,} {plain['run_s']:>8.2f} {stored['run_s']:>9.2f} "
              f"{stored['run_s'] / plain['run_s']:>5.2f}x {plain['cpu_s']:>9.2f} "
              f"{stored['cpu_s']:>10.2f} {stored['cpu_s'] / plain['cpu_s']:>5.2f}x "
              f"{stored['main_cpu_s']:>9.2f} {stored['main_cpu_s'] / plain['main_cpu_s']:>5.2f}x "
              f"{plain['peak_rss_mib']:>10.0f} "
              f"{stored['peak_rss_mib']:>11.0f} "
              f"{stored['peak_rss_mib'] / plain['peak_rss_mib']:>5.2f}x "
              f"{stored.get('db_mib', 0):>7.0f} {stored.get('tail_s', 0):>6.2f}{note}")
    for label, n, secs in frames:
        print(f"sim.events of the {label}: {secs:.2f} s for {n:,} events")


if __name__ == "__main__":
    main()
