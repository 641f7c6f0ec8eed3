"""Chart build time on a long run: every chart of ``paysim_lab.plots`` on target2_crisis_25day
(simcash profile; 25 days, 2,500 ticks, ~700,000 events, ~70 scenario events), markers on
and off, and the old way of drawing markers (one ``add_shape``/``add_annotation`` per line)
side by side.

Run: python benchmarks/bench_plots.py [--scenario PATH] [--repeat 3]
Prints the best of ``repeat`` builds per chart (the machine's other load only slows a build down),
the number of marker shapes and the chart's JSON size.
"""
import argparse
import time
import warnings
from pathlib import Path

import paysim_lab as psl
from paysim_lab import plots

DEFAULT = (Path(__file__).resolve().parents[2] / "shared" / "simcash" / "examples" / "configs"
           / "target2_crisis_25day.yaml")
if not DEFAULT.exists():        # a git worktree one folder deeper than the checkout
    DEFAULT = Path(__file__).resolve().parents[3] / DEFAULT.relative_to(
        Path(__file__).resolve().parents[2])

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--scenario", default=str(DEFAULT))
ap.add_argument("--repeat", type=int, default=3)
args = ap.parse_args()

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    path = Path(args.scenario)
    # its policy files sit two folders up (simulator/policies), outside the scenario's folder
    sim = psl.Simulation(psl.load_scenario(path, compat="simcash",
                                           allowed_policy_dirs=[path.resolve().parents[2]]))
    t0 = time.perf_counter()
    sim.run()
    run_s = time.perf_counter() - t0
print(f"{Path(args.scenario).name}: {sim.current_tick} ticks, {sim.events_emitted:,} events, "
      f"run {run_s:.2f} s")


def best(fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def one_by_one(fig):
    """The old way: every marker line and label added on its own (quadratic in plotly)."""
    shapes, notes = list(fig.layout.shapes), list(fig.layout.annotations)
    fig.layout.shapes, fig.layout.annotations = (), ()
    for s in shapes:
        fig.add_shape(s)
    for a in notes:
        fig.add_annotation(a)
    return fig


print(f"{'chart':<12}{'markers on s':>14}{'markers off s':>15}{'one by one s':>14}"
      f"{'shapes':>8}{'JSON kB':>9}")
for name in ("liquidity", "queues", "collateral", "budgets", "costs", "lsm"):
    chart = getattr(plots, name)
    on_s, fig = best(lambda: chart(sim))
    off_s, _ = best(lambda: chart(sim, markers=False))
    old_s, _ = best(lambda: one_by_one(chart(sim)))
    print(f"{name:<12}{on_s:>14.3f}{off_s:>15.3f}{old_s:>14.3f}{len(fig.layout.shapes):>8}"
          f"{len(fig.to_json()) / 1000:>9.0f}")
