"""Shared measurement for the benchmark scripts: one run, timed per tick-loop step."""
from __future__ import annotations

import resource
import time
import warnings

import paysim_lab as psl
from paysim_lab.engine.tick import StepClock


def warm_up() -> None:
    """Run a tiny scenario once so one-time costs (imports, pandas' first-call setup) are not
    charged to the first measured run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation({"simulation": {"ticks_per_day": 2, "num_days": 1, "rng_seed": 1},
                              "agents": [{"id": "A", "opening_balance": 1},
                                         {"id": "B", "opening_balance": 1}]})
        sim.run()
        sim.events_of("EndOfDay")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, scenario, *, frame: bool = True, keep_events: bool = True) -> dict:
    """Run ``scenario`` to the end; ticks/s, payments/s, events/s and the per-step split."""
    warm_up()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        sim = psl.Simulation(scenario, keep_events=keep_events)
        build = time.perf_counter() - t0
    clock = StepClock()
    sim.engine.clock = clock
    error = ""
    t0 = time.perf_counter()
    try:
        while not sim.done:
            clock.restart()
            sim._one_tick()
    except (psl.SimulationError, psl.PolicyRuntimeError) as exc:   # a scenario may abort
        error = f"{type(exc).__name__} at tick {sim.current_tick}"
    loop = time.perf_counter() - t0
    t1 = time.perf_counter()
    n_events = len(sim.events) if frame else sim.events_emitted
    frame_s = time.perf_counter() - t1 if frame else 0.0
    w = sim.world
    ticks = sim.current_tick
    return {"case": label, "banks": w.n_agents, "ticks": ticks, "payments": len(w.tx_list),
            "events": n_events, "build_s": build, "loop_s": loop, "frame_s": frame_s,
            "ticks_per_s": ticks / loop if loop else 0.0,
            "end_to_end_ticks_per_s": ticks / (loop + frame_s) if loop else 0.0,
            "payments_per_s": len(w.tx_list) / loop if loop else 0.0,
            "events_per_s": n_events / loop if loop else 0.0,
            "steps": dict(clock.totals), "error": error, "peak_rss_mib": peak_rss_mib()}


def print_table(rows: list[dict], *, steps: bool = True) -> None:
    head = (f"{'case':42} {'banks':>5} {'ticks':>6} {'payments':>9} {'events':>9} {'ticks/s':>8} "
            f"{'e2e t/s':>8} {'pay/s':>8} {'events/s':>9} {'loop s':>7} {'frame s':>7} {'RSS MiB':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['case'][:42]:42} {r['banks']:5d} {r['ticks']:6d} {r['payments']:9d} "
              f"{r['events']:9d} {r['ticks_per_s']:8.0f} {r['end_to_end_ticks_per_s']:8.0f} "
              f"{r['payments_per_s']:8.0f} {r['events_per_s']:9.0f} {r['loop_s']:7.2f} "
              f"{r['frame_s']:7.2f} {r['peak_rss_mib']:7.0f}" + (f"  ({r['error']})" if r["error"] else ""))
    if steps:
        print()
        names = list(rows[0]["steps"]) if rows else []
        print(f"{'share of tick-loop time by step':42} " + " ".join(f"{n.split()[0]:>8}" for n in names))
        for r in rows:
            total = sum(r["steps"].values()) or 1.0
            print(f"{r['case'][:42]:42} " + " ".join(
                f"{100 * r['steps'].get(n, 0.0) / total:7.1f}%" for n in names))
        print("steps: " + "; ".join(names))
