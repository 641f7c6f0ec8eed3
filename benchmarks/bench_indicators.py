"""How long the RTGS indicators take next to the run they read (docs/indicators.md).

Usage::

    python benchmarks/bench_indicators.py                      # 50 banks, 10,000 payments a day
    python benchmarks/bench_indicators.py --banks 200 --payments 50000 --days 2

For a generated scenario: the run's time, then the time of each indicator frame computed
from the live run and from the same run in an in-memory store, side by side. Each time is the
best of ``--repeat`` calls.
"""
from __future__ import annotations

import argparse
import time
import warnings

import paysim_lab as psl
from paysim_lab import indicators as ind
from paysim_lab.synthetic import synthetic_scenario


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", type=int, default=50)
    ap.add_argument("--payments", type=int, default=10_000, help="payments per day")
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = synthetic_scenario(banks=args.banks, payments_per_day=args.payments, days=args.days,
                            seed=1)
    store = psl.Store()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        sim = psl.Simulation(sc, store=store)
        sim.run()
        run_s = time.perf_counter() - t0
    n_tx = len(sim.transactions())
    print(f"{args.banks} banks, {args.days} day(s), {sim.total_ticks} ticks, {n_tx} payments: "
          f"run with store {run_s:.2f} s")
    print(f"{'frame':<22}{'live (s)':>10}{'stored (s)':>12}{'rows':>8}")
    for name, fn in (("bank_indicators", ind.bank_indicators),
                     ("system_indicators", ind.system_indicators),
                     ("throughput", ind.throughput), ("run_summary", ind.run_summary)):
        live = best(lambda: fn(sim), args.repeat)
        stored = best(lambda: fn(store, sim.run_id), args.repeat)
        out = fn(sim)
        rows = len(out) if hasattr(out, "__len__") and not isinstance(out, dict) else 1
        print(f"{name:<22}{live:>10.3f}{stored:>12.3f}{rows:>8}")


if __name__ == "__main__":
    main()
