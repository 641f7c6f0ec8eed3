"""Engine throughput: ticks/s, payments/s, events/s and where the tick loop spends its time.

Run: python benchmarks/bench_engine.py [--banks 200] [--payments 120000] [--quick]
Cases: the bundled crisis scenario (policy trees, collateral, LSM) and a generated
core-periphery RTGS scenario with Fifo policies and LSM on.
"""
from __future__ import annotations

import argparse
import resource
import time

import paysim_lab as psl
from paysim_lab.engine.tick import StepClock
from paysim_lab.synthetic import synthetic_scenario


def measure(label: str, scenario) -> dict:
    sim = psl.Simulation(scenario)
    clock = StepClock()
    sim.engine.clock = clock
    t0 = time.perf_counter()
    for _ in range(sim.total_ticks):
        clock.restart()
        sim.engine.tick()
    loop = time.perf_counter() - t0
    t1 = time.perf_counter()
    frame = sim.events            # delivering the events as a DataFrame is part of the job
    frames = time.perf_counter() - t1
    w = sim.world
    return {"case": label, "banks": w.n_agents, "ticks": w.total_ticks,
            "payments": len(w.tx_list), "events": len(frame), "loop_s": loop,
            "frame_s": frames, "ticks_per_s": w.total_ticks / loop,
            "payments_per_s": len(w.tx_list) / loop, "events_per_s": len(frame) / loop,
            "steps": clock.totals}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--banks", type=int, default=200)
    ap.add_argument("--payments", type=int, default=120_000)
    ap.add_argument("--ticks", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="smaller synthetic case")
    args = ap.parse_args()
    cases = [("crisis (bundled, 4 banks x 300 ticks)",
              psl.load_scenario(psl.data.scenario_path("advanced_policy_crisis")))]
    banks, pays = (50, 20_000) if args.quick else (args.banks, args.payments)
    cases.append((f"synthetic ({banks} banks, Fifo, LSM on)",
                  psl.load_scenario(synthetic_scenario(banks=banks, payments_per_day=pays,
                                                       ticks_per_day=args.ticks, seed=1))))
    rows = [measure(label, sc) for label, sc in cases]
    print(f"{'case':44} {'ticks/s':>9} {'payments/s':>11} {'events/s':>10} {'loop s':>7} "
          f"{'frame s':>7}")
    for r in rows:
        print(f"{r['case']:44} {r['ticks_per_s']:9.0f} {r['payments_per_s']:11.0f} "
              f"{r['events_per_s']:10.0f} {r['loop_s']:7.2f} {r['frame_s']:7.2f}")
    print()
    for r in rows:
        total = sum(r["steps"].values()) or 1.0
        print(f"time split, {r['case']}:")
        for name, sec in r["steps"].items():
            print(f"  {name:48} {sec:7.3f} s {100 * sec / total:5.1f}%")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
