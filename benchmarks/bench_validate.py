"""Validation and the first tick scale linearly with document size.

For growing scenario files (more banks, or more scenario events) this prints, side by side:
the file size, the time of ``paysim validate`` (read + validate, in this process), of
``load_scenario`` alone, of building the Simulation and running its first tick, the seconds
per MiB of file for validation and for the first tick, and the peak memory of a fresh
process doing all of it. Seconds per MiB should stay flat (or fall) as the size doubles. (A
synthetic bank lists every core bank as a counterparty, so its file grows faster than the
number of banks.)

    python benchmarks/bench_validate.py              # banks 500..4000, events 5000..40000
    python benchmarks/bench_validate.py --quick      # the two smallest sizes of each

Each size runs in its own subprocess so peak memory is that size's alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, warnings
from click.testing import CliRunner
import paysim_lab as psl
from paysim_lab.cli import main
warnings.simplefilter("ignore")
path = sys.argv[1]
# warm up (imports, first-call setup) so neither measurement pays for them
small = {"simulation": {"ticks_per_day": 2, "num_days": 1, "rng_seed": 1},
         "agents": [{"id": "A", "opening_balance": 1}, {"id": "B", "opening_balance": 1}]}
psl.Simulation(psl.load_scenario(small)).run(ticks=1)
CliRunner().invoke(main, ["validate", "--help"])
t0 = time.perf_counter()
result = CliRunner().invoke(main, ["validate", path])
validate = time.perf_counter() - t0
assert result.exit_code == 0, result.output[-500:]
t0 = time.perf_counter()
sc = psl.load_scenario(path)
load = time.perf_counter() - t0
t0 = time.perf_counter()
sim = psl.Simulation(sc)
sim.run(ticks=1)
first = time.perf_counter() - t0
print(json.dumps({"validate_s": validate, "load_s": load, "first_tick_s": first,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def banks_doc(n: int) -> dict:
    from paysim_lab.synthetic import synthetic_scenario
    return synthetic_scenario(banks=n, payments_per_day=20 * n, days=1, seed=1,
                              ticks_per_day=50)


def events_doc(n: int) -> dict:
    agents = [{"id": f"B{i}", "opening_balance": 10_000_000} for i in range(20)]
    events = [{"type": "CustomTransactionArrival", "from_agent": f"B{i % 20}",
               "to_agent": f"B{(i + 1) % 20}", "amount": 100 + i % 900,
               "schedule": {"type": "OneTime", "tick": i % 100}} for i in range(n)]
    return {"simulation": {"ticks_per_day": 100, "num_days": 1, "rng_seed": 1},
            "agents": agents, "scenario_events": events}


def measure(doc: dict, folder: Path, name: str) -> dict:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["file_mib"] = path.stat().st_size / 2**20
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the two smallest sizes of each")
    args = ap.parse_args(argv)
    cases = [("banks", banks_doc, (500, 1000, 2000, 4000)),
             ("scenario events", events_doc, (5000, 10000, 20000, 40000))]
    print(f"{'what':>16} {'n':>6} {'file MiB':>9} {'validate s':>11} {'load s':>8} "
          f"{'1st tick s':>11} {'val s/MiB':>10} {'1st s/MiB':>10} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for what, make, sizes in cases:
            for n in sizes[:2] if args.quick else sizes:
                r = measure(make(n), Path(tmp), f"{what[0]}{n}")
                print(f"{what:>16} {n:>6} {r['file_mib']:>9.2f} {r['validate_s']:>11.2f} "
                      f"{r['load_s']:>8.2f} {r['first_tick_s']:>11.2f} "
                      f"{r['validate_s'] / r['file_mib']:>10.2f} "
                      f"{r['first_tick_s'] / r['file_mib']:>10.2f} "
                      f"{r['peak_mib']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
