"""Sweeps and evaluations on every backend: serial vs process pool vs Dask.

Run: python benchmarks/bench_sweep.py [--eval-runs 1000] [--long-runs 16] [--workers N]
                                      [--no-dask]      (--eval-runs 0 skips part 1)

Part 1, throughput: ``psl.evaluate`` of one scenario (two_bank_teaching, short runs) over
``--eval-runs`` seeds, serially, on a process pool, on a Dask LocalCluster started for the call
("dask (own cluster)", as ``backend="dask"`` without a client does) and on a cluster started
beforehand ("dask (warm client)"). Prints runs/s.

Part 2, speed-up on long runs: ``psl.sweep`` of the crisis scenario, run for twice its days
(each run >= 0.2 s), over
``--long-runs`` seeds on the same backends; prints the speed-up over the serial run (the target
on two cores is >= 1.6x).

Every backend runs the same seeds; the script checks that the results are identical.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import pandas as pd

import paysim_lab as psl


def timed(label, n_workers, fn, runs):
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    return {"backend": label, "workers": n_workers, "seconds": seconds, "result": out,
            "runs": runs}


def table(title, results):
    serial_s = results[0]["seconds"]
    print(title)
    head = f"{'backend':20} {'workers':>7} {'runs':>5} {'seconds':>8} {'runs/s':>8} {'speed-up':>8}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['backend']:20} {r['workers']:7d} {r['runs']:5d} {r['seconds']:8.2f} "
              f"{r['runs'] / r['seconds']:8.1f} {serial_s / r['seconds']:7.2f}x")
    print()


def backends(n, with_dask, client):
    out = [("serial", 1, {"backend": "serial"}), ("process", n, {"backend": "process",
                                                                  "workers": n})]
    if with_dask:
        out.append(("dask (own cluster)", n, {"backend": "dask", "workers": n}))
        out.append(("dask (warm client)", n, {"backend": "dask", "client": client}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--eval-runs", type=int, default=1000)
    ap.add_argument("--long-runs", type=int, default=16)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask backends")
    args = ap.parse_args()

    warnings.simplefilter("ignore", psl.ScenarioWarning)
    n = args.workers
    short = psl.load_scenario(psl.data.scenario_path("two_bank_teaching"))
    crisis_doc = psl.load_scenario(psl.data.scenario_path("advanced_policy_crisis")).model_dump()
    crisis_doc["simulation"]["num_days"] *= 2      # about 0.3-0.5 s per run on our cores
    crisis_doc["name"] = "advanced_policy_crisis x2 days"
    crisis = psl.load_scenario(crisis_doc)
    psl.Simulation(short).run(ticks=1)       # warm the imports and policy caches once
    t0 = time.perf_counter()
    psl.Simulation(crisis, seed=1).run()
    one_long = time.perf_counter() - t0

    client = cluster = None
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    try:
        eval_seeds = list(range(1, args.eval_runs + 1))
        part1 = [timed(label, w, lambda kw=kw: psl.evaluate(short, seeds=eval_seeds, **kw),
                       args.eval_runs)
                 for label, w, kw in backends(n, not args.no_dask, client)] if eval_seeds else []
        for r in part1[1:]:
            pd.testing.assert_frame_equal(r["result"].runs, part1[0]["result"].runs)
        long_seeds = list(range(1, args.long_runs + 1))
        part2 = [timed(label, w, lambda kw=kw: psl.sweep(crisis, seeds=long_seeds, **kw),
                       args.long_runs)
                 for label, w, kw in backends(n, not args.no_dask, client)]
        for r in part2[1:]:
            pd.testing.assert_frame_equal(r["result"], part2[0]["result"])
    finally:
        if client is not None:
            client.close()
            cluster.close()

    print(f"{os.cpu_count()} cores; results identical on every backend\n")
    if part1:
        table(f"1. psl.evaluate of {short.name} over {args.eval_runs} seeds "
              f"({short.total_ticks} ticks per run)", part1)
    table(f"2. psl.sweep of {crisis.name} over {args.long_runs} seeds "
          f"({crisis.total_ticks} ticks, one run alone: {one_long:.2f} s)", part2)


if __name__ == "__main__":   # Dask's nannies and spawn pools re-import this file
    main()
