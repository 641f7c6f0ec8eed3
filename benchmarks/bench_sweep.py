"""Seed sweep of the bundled crisis scenario: serial vs process pool vs Dask.

Run: python benchmarks/bench_sweep.py [--runs 64] [--workers N] [--no-dask]

Every backend runs the same seeds (1..runs); the script checks that the frames are identical
and prints runs/s and the speed-up over the serial run. "dask (own cluster)" includes starting
and stopping the LocalCluster, as ``psl.sweep(..., backend="dask")`` without a client does;
"dask (warm client)" reuses a cluster started beforehand.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import pandas as pd

import paysim_lab as psl


def scenario_path():
    try:
        return psl.data.scenario_path("advanced_policy_crisis")
    except FileNotFoundError:
        return psl.data.scenario_path(psl.data.list_scenarios()[0])


def timed(label: str, n_workers: int, scenario, seeds, **kwargs) -> dict:
    t0 = time.perf_counter()
    frame = psl.sweep(scenario, seeds=seeds, **kwargs)
    seconds = time.perf_counter() - t0
    return {"backend": label, "workers": n_workers, "seconds": seconds, "frame": frame}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask backends")
    args = ap.parse_args()

    warnings.simplefilter("ignore", psl.ScenarioWarning)
    scenario = psl.load_scenario(scenario_path())
    seeds = list(range(1, args.runs + 1))
    psl.Simulation(scenario).run(ticks=1)   # warm the imports and policy caches once
    n = args.workers

    results = [timed("serial", 1, scenario, seeds, backend="serial"),
               timed("process", n, scenario, seeds, backend="process", workers=n)]
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster
        results.append(timed("dask (own cluster)", n, scenario, seeds, backend="dask",
                             workers=n))
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            results.append(timed("dask (warm client)", n, scenario, seeds, backend="dask",
                                 client=client))

    reference = results[0]["frame"]
    for r in results[1:]:
        pd.testing.assert_frame_equal(r["frame"], reference)   # same rows on every backend

    serial_s = results[0]["seconds"]
    print(f"{scenario.name}: {args.runs} runs x {scenario.total_ticks} ticks, "
          f"{os.cpu_count()} cores; frames identical on every backend")
    head = f"{'backend':20} {'workers':>7} {'seconds':>8} {'runs/s':>7} {'speed-up':>8}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['backend']:20} {r['workers']:7d} {r['seconds']:8.2f} "
              f"{args.runs / r['seconds']:7.2f} {serial_s / r['seconds']:7.2f}x")
    errors = int(reference["error"].notna().sum())
    if errors:
        print(f"note: {errors} run(s) ended with an error (reported in their rows)")


if __name__ == "__main__":   # Dask's nannies and spawn pools re-import this file
    main()
