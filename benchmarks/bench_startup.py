"""Start-up cost of the paysim command and the package, best of several runs.

Short runs are where start-up dominates: a 3-tick scenario is mostly imports. Each line is a
fresh interpreter (wall time, best of --repeat), with the heavy libraries it loaded:

    python benchmarks/bench_startup.py            # best of 7
    python benchmarks/bench_startup.py --repeat 15
    python benchmarks/bench_startup.py --against /path/to/older/checkout   # side by side

With ``--against`` every case is also timed on another checkout of paysim_lab (for example a
``git worktree add`` of an older commit), interleaved run by run, and the ratio is printed.
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


def once(args: list[str], root: Path, cwd: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env,
                         capture_output=True, text=True, check=False)
    return time.perf_counter() - start, out.stderr.rsplit("LOADED ", 1)[-1].strip()


def measure(args: list[str], repeat: int, cwd: str, roots: list[Path]) -> list[tuple]:
    """Best wall time and loaded libraries per checkout, runs interleaved."""
    best = [float("inf")] * len(roots)
    loaded = [""] * len(roots)
    for _ in range(repeat):
        for i, root in enumerate(roots):
            took, loaded[i] = once(args, root, cwd)
            best[i] = min(best[i], took)
    return list(zip(best, loaded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another paysim_lab checkout to compare")
    opts = parser.parse_args()
    roots = [ROOT] + ([opts.against.resolve()] if opts.against else [])
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
        head = f"{'case':32} {'best s':>8} {'vs python':>10}"
        if opts.against:
            head += f" {'other s':>8} {'other/this':>10}"
        print(head + "  heavy libraries loaded (this checkout)")
        for name, args in cases:
            results = measure(args, opts.repeat, tmp, roots)
            best, loaded = results[0]
            base = base or best
            line = f"{name:32} {best:8.3f} {best / base:9.1f}x"
            if opts.against:
                other = results[1][0]
                line += f" {other:8.3f} {other / best:9.2f}x"
            print(f"{line}  {loaded or '-'}")

if __name__ == "__main__":
    main()
