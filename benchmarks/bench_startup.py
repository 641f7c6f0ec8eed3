"""Start-up cost of the paysim command and the package, best of several runs.

Short runs are where start-up dominates: a 3-tick scenario is mostly imports. Each line is a
fresh interpreter (wall time, best of --repeat), with the heavy libraries it loaded:

    python benchmarks/bench_startup.py            # best of 7
    python benchmarks/bench_startup.py --repeat 15
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "pyarrow", "duckdb", "plotly", "ipywidgets", "dask", "scipy")
TINY = """simulation: {ticks_per_day: 3, num_days: 1, rng_seed: 1}
agents:
  - {id: A, opening_balance: 1000}
  - {id: B, opening_balance: 1000}
"""

# Run a command in-process and report which heavy libraries it imported.
PROBE = """import sys, runpy
args = sys.argv[1:]
if args[0] == '-c':
    exec(args[1])
else:
    sys.argv = ['paysim'] + args
    try:
        runpy.run_module('paysim_lab', run_name='__main__')
    except SystemExit:
        pass
print('LOADED', ','.join(m for m in %r if m in sys.modules), file=sys.stderr)
""" % (HEAVY,)


def measure(args: list[str], repeat: int, cwd: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    best = float("inf")
    loaded = ""
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env,
                             capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        loaded = out.stderr.rsplit("LOADED ", 1)[-1].strip()
    return best, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "tiny.yaml"
        tiny.write_text(TINY, encoding="utf-8")
        cases = [
            ("python (empty)", ["-c", "pass"]),
            ("import paysim_lab", ["-c", "import paysim_lab"]),
            ("psl.load_scenario", ["-c", "import paysim_lab as p; p.load_scenario(%r)"
                                   % str(tiny)]),
            ("paysim --help", ["--help"]),
            ("paysim validate tiny", ["validate", str(tiny)]),
            ("paysim run tiny (3 ticks)", ["run", str(tiny), "--quiet"]),
            ("paysim run tiny --persist", ["run", str(tiny), "--quiet", "--persist",
                                           str(Path(tmp) / "r.duckdb")]),
            ("paysim run crisis (300 ticks)", ["run", "advanced_policy_crisis", "--quiet"]),
        ]
        base = None
        print(f"{'case':32} {'best s':>8} {'vs python':>10}  heavy libraries loaded")
        for name, args in cases:
            best, loaded = measure(args, opts.repeat, tmp)
            base = base or best
            print(f"{name:32} {best:8.3f} {best / base:9.1f}x  {loaded or '-'}")


if __name__ == "__main__":
    main()
