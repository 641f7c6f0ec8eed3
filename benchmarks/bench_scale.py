"""Synthetic core-periphery RTGS days at 50 / 200 / 1,000 banks, LSM on, Fifo policies.

Run: python benchmarks/bench_scale.py [--banks 50 200 1000] [--payments-per-bank 350] [--no-gc-freeze]
The 1,000-bank case is a TARGET2-sized business day (~350,000 payments). Events are kept
in memory only for the current day (keep_events=False), as a long batch run would.
"""
import argparse
import time

import paysim_lab as psl
from _measure import measure, print_table
from paysim_lab.synthetic import synthetic_scenario

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--banks", type=int, nargs="+", default=[50, 200, 1000])
ap.add_argument("--payments-per-bank", type=int, default=350)
ap.add_argument("--no-gc-freeze", action="store_true",
                help="keep the cyclic garbage collector scanning the world (what gc.freeze saves)")
args = ap.parse_args()
if args.no_gc_freeze:
    import paysim_lab.engine.build as engine_build
    engine_build.freeze_heap = lambda: None
rows = []
for banks in args.banks:
    doc = synthetic_scenario(banks=banks, payments_per_day=banks * args.payments_per_bank,
                             days=1, lsm=True, seed=1)
    t0 = time.process_time()
    sc = psl.load_scenario(doc)
    load_cpu = time.process_time() - t0
    r = measure(f"synthetic {banks} banks", sc, frame=False, keep_events=False)
    r["load_cpu_s"] = load_cpu
    r["us_per_payment"] = 1e6 * r["loop_s"] / max(r["payments"], 1)
    rows.append(r)
print_table(rows)
print()
for r in rows:
    print(f"{r['case']:24} {r['us_per_payment']:6.1f} us per payment (tick loop), "
          f"load {r['load_cpu_s']:.1f} s CPU, build {r['build_s']:.1f} s")
