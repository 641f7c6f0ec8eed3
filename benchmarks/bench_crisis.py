"""The bundled 4-bank, 3-day crisis scenario (policy trees, collateral, budgets, LSM).

Run: python benchmarks/bench_crisis.py [--repeat 5]
Prints the best of ``repeat`` runs (the machine's other load only ever slows a run down).
"""
import argparse

import paysim_lab as psl
from _measure import measure, print_table

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--repeat", type=int, default=5)
args = ap.parse_args()
scenario = psl.load_scenario(psl.data.scenario_path("advanced_policy_crisis"))
runs = [measure("crisis (bundled)", scenario) for _ in range(args.repeat)]
print_table([min(runs, key=lambda r: r["loop_s"] + r["frame_s"])])
