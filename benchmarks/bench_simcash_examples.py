"""Every SimCash example scenario with compat="simcash" (skipped when ../shared is absent).

Run: python benchmarks/bench_simcash_examples.py [NAME ...]
"""
import sys
import warnings
from pathlib import Path

import paysim_lab as psl
from _measure import measure, print_table

CONFIGS = Path(__file__).resolve().parents[1].parent / "shared" / "simcash" / "examples" / "configs"
if not CONFIGS.is_dir():
    print(f"skipped: {CONFIGS} not found (reference material lives next to the repo)")
    sys.exit(0)
rows = []
for path in sorted(CONFIGS.glob("*.yaml")):
    if len(sys.argv) > 1 and path.stem not in sys.argv[1:]:
        continue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = psl.load_scenario(path, compat="simcash",
                                     allowed_policy_dirs=[CONFIGS.parents[1]])
    rows.append(measure(path.stem, scenario))
    print(f"  done {path.stem}", file=sys.stderr, flush=True)
print_table(rows)
