"""Payments tables at TARGET2 size: load + validate time, and end to end vs the bare tick loop.

Usage::

    python benchmarks/bench_payments.py                         # 350,000 payments, 1,000 banks
    python benchmarks/bench_payments.py --payments 100000 --banks 200 --events 20000

A synthetic payment list (``paysim_lab.synthetic.synthetic_payments``) is written as a Parquet file next to a
scenario YAML that names it (in a temporary folder). Measured in CPU seconds of
the benchmark process (``time.process_time``: the machine is shared, so wall time would also
count other people's work):

* load: ``psl.load_scenario(yaml)`` (YAML, 1,000 agents, the Parquet table read and
  validated), and the table alone (read + validate);
* build: ``psl.Simulation(scenario)`` (engine, policies compiled);
* loop: the tick loop only (events kept for the current day only, as bench_scale.py);
* end to end = load + build + loop, and its ratio to the loop (target: within 1.3x).

``--events N`` also runs the first N payments written as one CustomTransactionArrival
scenario event each (the only way before payments tables), for the per-payment load cost.
Targets (issue 13): load + validate < 1.5 s; end to end within 1.3x of the loop.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import yaml

import paysim_lab as psl
from _measure import peak_rss_mib, warm_up
from paysim_lab.config.payments import payment_feed, read_payments_file
from paysim_lab.synthetic import synthetic_payments


def scenario_doc(banks: pd.DataFrame, ticks: int, payments: str | None) -> dict:
    doc = {"simulation": {"ticks_per_day": ticks, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": r.id, "opening_balance": int(r.opening_balance),
                       "unsecured_cap": int(r.unsecured_cap)} for r in banks.itertuples()],
           "lsm_config": {"enable_bilateral": True, "enable_cycles": True,
                          "max_cycle_length": 4, "max_cycles_per_tick": 10},
           "cost_rates": {"overdraft_bps_per_tick": 0.2, "deadline_penalty": 25000,
                          "eod_penalty": 50000}}
    if payments is not None:
        doc["payments"] = payments
    return doc


def clock() -> float:
    # CPU seconds of this process: the machine is shared, so wall time measures the others too
    return time.process_time()


def run_loop(sim) -> float:
    t0 = clock()
    while not sim.done:
        sim._one_tick()
    return clock() - t0


def table_route(path: Path) -> dict:
    t0 = clock()
    sc = psl.load_scenario(path)
    load = clock() - t0
    t0 = clock()
    sim = psl.Simulation(sc, keep_events=False)
    build = clock() - t0
    loop = run_loop(sim)
    settled = sum(1 for tx in sim.world.tx_list if tx.status == "Settled")
    return {"load": load, "build": build, "loop": loop, "payments": sc.payment_count,
            "settled": settled, "events": sim.events_emitted}


def events_route(doc: dict, frame: pd.DataFrame) -> dict:
    events = [{"type": "CustomTransactionArrival", "from_agent": r.sender, "to_agent": r.receiver,
               "amount": int(r.amount), "schedule": {"type": "OneTime", "tick": int(r.arrival_tick)}}
              for r in frame.itertuples()]
    t0 = clock()
    sc = psl.load_scenario({**doc, "scenario_events": events})
    load = clock() - t0
    t0 = clock()
    sim = psl.Simulation(sc, keep_events=False)
    build = clock() - t0
    loop = run_loop(sim)
    return {"load": load, "build": build, "loop": loop, "payments": len(frame)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, default=350_000)
    ap.add_argument("--banks", type=int, default=1_000)
    ap.add_argument("--ticks", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the table alone")
    ap.add_argument("--events", type=int, default=20_000,
                    help="also run this many payments as scenario events (0: skip)")
    args = ap.parse_args()
    warm_up()
    warnings.simplefilter("ignore")
    frame, banks = synthetic_payments(args.banks, args.payments, ticks_per_day=args.ticks)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame.to_parquet(folder / "day.parquet", index=False)
        path = folder / "day.yaml"
        path.write_text(yaml.safe_dump(scenario_doc(banks, args.ticks, "day.parquet"),
                                       sort_keys=False))

        read = validate = float("inf")
        for _ in range(args.repeat):     # best of: the first read also imports and warms up
            t0 = clock()
            table = read_payments_file(folder / "day.parquet", "day.parquet")
            read = min(read, clock() - t0)
            t0 = clock()
            payment_feed(table, list(banks.id), ticks_per_day=args.ticks, num_days=1,
                         source="day.parquet")
            validate = min(validate, clock() - t0)

        r = table_route(path)
    e2e = r["load"] + r["build"] + r["loop"]
    print(f"payments table: {r['payments']:,} payments among {args.banks:,} banks, "
          f"{args.ticks} ticks, LSM on, Fifo policies (CPU seconds)")
    print(f"  table read (Parquet)          {read:7.3f} s   (best of {args.repeat})")
    print(f"  table validate + columns      {validate:7.3f} s   (best of {args.repeat})")
    print(f"  load_scenario (YAML + table)  {r['load']:7.3f} s   target < 1.5 s")
    print(f"  Simulation build              {r['build']:7.3f} s")
    print(f"  tick loop                     {r['loop']:7.3f} s   "
          f"({1e6 * r['loop'] / r['payments']:.1f} us per payment)")
    print(f"  end to end                    {e2e:7.3f} s   = {e2e / r['loop']:.2f}x the loop "
          f"(target <= 1.3x)")
    print(f"  settled {r['settled']:,} of {r['payments']:,}; {r['events']:,} events; "
          f"peak RSS {peak_rss_mib():.0f} MiB")
    if args.events:
        sub = frame.iloc[:args.events]
        ticks_doc = scenario_doc(banks, args.ticks, None)
        e = events_route(ticks_doc, sub)
        with tempfile.TemporaryDirectory() as tmp:
            sub.to_parquet(Path(tmp) / "sub.parquet", index=False)
            p = Path(tmp) / "sub.yaml"
            p.write_text(yaml.safe_dump({**ticks_doc, "payments": "sub.parquet"}))
            t = table_route(p)
        print()
        print(f"same {args.events:,} payments, two ways in:   {'load s':>8} {'build s':>8} "
              f"{'loop s':>8} {'us/payment to load':>19}")
        for name, x in (("CustomTransactionArrival events", e), ("payments table", t)):
            print(f"  {name:38} {x['load']:8.3f} {x['build']:8.3f} {x['loop']:8.3f} "
                  f"{1e6 * (x['load'] + x['build']) / x['payments']:19.1f}")


if __name__ == "__main__":
    main()
