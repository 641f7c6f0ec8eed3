"""How much a second busy thread or process slows a run on this machine (no store involved).

Usage::

    python benchmarks/bench_contention.py               # target2_crisis_25day, 5 rounds
    python benchmarks/bench_contention.py --rounds 9 --case synthetic --banks 200

A stored run has two costs besides the store's own work on the run's thread: the store's writer
thread, which needs Python's lock for a moment many times per DuckDB statement (each time the
run's thread hands it over and waits to get it back), and the writer's CPU work beside the run.
This script measures both on the machine it runs on, with no store, so that a persisted run's
ratio (``bench_store.py``) can be read against what the machine allows. Each round runs, in
this order and each in a fresh subprocess, the same unpersisted run:

* ``alone``;
* ``lock``: with a Python thread that wakes every millisecond and so takes Python's lock about
  1,000 times a second, with the switch interval a run uses while its flushes are committed
  (``writer.FLUSH_SWITCH_INTERVAL``); the line also gives how many times it took the lock;
* ``cpu``: with a second process running a DuckDB aggregate (CPU work that shares no lock
  with the run, as the writer's DuckDB work is between its touches of Python objects).

It prints each round's times, and the medians with their ratio to ``alone``. The run's time is
``sim.advance()`` (no DataFrame), wall seconds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

from bench_store import TARGET2, _scenario

#: A DuckDB query that keeps one core busy for longer than any run here.
_BUSY = ("import duckdb; c = duckdb.connect(); c.execute('SET threads=1'); "
         "c.execute('SET enable_progress_bar = false'); "
         "c.execute('SELECT sum(hash(range)) FROM range(100000000000)')")


def one_run(case: str, banks: int, mode: str) -> dict:
    """Run the case once in this process, with ``mode``'s company; the numbers as a dict."""
    import threading
    import paysim_lab as psl
    from paysim_lab.store.writer import FLUSH_SWITCH_INTERVAL
    warnings.simplefilter("ignore")
    sim = psl.Simulation(_scenario(case, banks))
    wakes = [0]
    stop = threading.Event()
    busy = None
    if mode == "lock":
        sys.setswitchinterval(FLUSH_SWITCH_INTERVAL)

        def wake() -> None:
            while not stop.wait(0.001):
                wakes[0] += 1

        threading.Thread(target=wake, daemon=True).start()
    elif mode == "cpu":
        busy = subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.DEVNULL)
        time.sleep(0.5)                 # the query is running before the run starts
    t0 = time.perf_counter()
    sim.advance()
    wall = time.perf_counter() - t0
    stop.set()
    if busy is not None:
        busy.kill()
        busy.wait()
    return {"mode": mode, "wall_s": wall, "lock_takes": wakes[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["target2", "synthetic"], default=None,
                    help="default: target2_crisis_25day if present, else a synthetic day")
    ap.add_argument("--banks", type=int, default=200, help="banks of the synthetic day")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    case = args.case or ("target2" if TARGET2.exists() else "synthetic")
    if args.one:
        print(json.dumps(one_run(case, args.banks, args.one)))
        return
    modes = ("alone", "lock", "cpu")
    times: dict[str, list[float]] = {m: [] for m in modes}
    print(f"{case}: sim.advance() without a store, {args.rounds} rounds")
    for r in range(args.rounds):
        line = []
        for mode in modes:
            cmd = [sys.executable, __file__, "--one", mode, "--case", case,
                   "--banks", str(args.banks)]
            out = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                            check=True).stdout.splitlines()[-1])
            times[mode].append(out["wall_s"])
            extra = f" ({out['lock_takes']:,} lock takes)" if mode == "lock" else ""
            line.append(f"{mode} {out['wall_s']:.2f} s{extra}")
        print(f"  round {r + 1}: " + ", ".join(line))
    base = statistics.median(times["alone"])
    print("medians: " + ", ".join(
        f"{m} {statistics.median(times[m]):.2f} s ({statistics.median(times[m]) / base:.2f}x)"
        for m in modes))


if __name__ == "__main__":
    main()
