"""Engine throughput on the bundled crisis scenario and a generated 200-bank RTGS day.

Run: python benchmarks/bench_engine.py [--banks 200] [--payments 120000] [--quick]
Prints ticks/s, payments/s, events/s and where the tick loop spends its time.
"""
import argparse

import paysim_lab as psl
from _measure import measure, print_table
from paysim_lab.synthetic import synthetic_scenario

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--banks", type=int, default=200)
ap.add_argument("--payments", type=int, default=120_000)
ap.add_argument("--ticks", type=int, default=300)
ap.add_argument("--quick", action="store_true", help="50 banks, 20,000 payments")
args = ap.parse_args()
banks, pays = (50, 20_000) if args.quick else (args.banks, args.payments)
rows = [measure("crisis (bundled, 4 banks x 300 ticks)",
                psl.load_scenario(psl.data.scenario_path("advanced_policy_crisis"))),
        measure(f"synthetic ({banks} banks, Fifo, LSM on)",
                psl.load_scenario(synthetic_scenario(banks=banks, payments_per_day=pays,
                                                     ticks_per_day=args.ticks, seed=1)))]
print_table(rows)
