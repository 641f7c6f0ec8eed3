"""paysim_lab against PSSimPy on the same RTGS-only payment list, end to end.

Usage::

    pip install -e .[bench]                       # PSSimPy is in the bench extra
    python benchmarks/bench_pssimpy.py            # 50,000 payments among 100 banks
    python benchmarks/bench_pssimpy.py --payments 10000 50000 --banks 100

PSSimPy (PyPI ``pssimpy``) takes a transactions DataFrame with clock times and runs each
processing window through its System: with its defaults (pass-through constraints, a direct
queue and a priced credit facility that lends whatever a sender lacks) every payment settles
in the window it arrives. paysim_lab runs the same list as a payments table with the same
business day (08:00-17:00, 15-minute windows = 36 ticks), gross settlement only (LSM off) and
credit lines large enough that nothing queues, so both settle every payment; the settled
counts are checked to be equal.

End to end = building the simulation from the DataFrames + running it; for paysim_lab also
the tick loop alone. Times are CPU seconds of this process (``time.process_time``), as the
machine is shared. PSSimPy writes its CSV logs into the current folder, so it runs in a
temporary folder. Target (issue 13): paysim_lab >= 25x faster end to end at 50,000 payments.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

import paysim_lab as psl
from _measure import warm_up
from paysim_lab.synthetic import synthetic_payments

OPEN, CLOSE, WINDOW = "08:00", "17:00", 15
TICKS = (9 * 60) // WINDOW


def clock_times(ticks: np.ndarray, seed: int = 3) -> list[str]:
    """HH:MM inside each tick's 15-minute window (both simulators see the same minute)."""
    rng = np.random.default_rng(seed)
    minutes = 8 * 60 + ticks * WINDOW + rng.integers(0, WINDOW, len(ticks))
    return [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]


def run_paysim(frame: pd.DataFrame, ids: list[str]) -> dict:
    credit = int(frame.amount.sum())            # enough that no payment ever waits
    t0 = time.process_time()
    bank_frame = pd.DataFrame({"id": ids, "opening_balance": 0, "unsecured_cap": credit})
    sc = psl.Scenario.from_payments(
        frame[["sender", "receiver", "amount", "arrival_time"]], bank_frame,
        ticks_per_day=TICKS, num_days=1, clock={"opening": OPEN, "closing": CLOSE},
        lsm_config={"enable_bilateral": False, "enable_cycles": False})
    sim = psl.Simulation(sc, keep_events=False)
    t1 = time.process_time()
    while not sim.done:
        sim._one_tick()
    t2 = time.process_time()
    settled = sum(1 for tx in sim.world.tx_list if tx.status == "Settled")
    return {"e2e": t2 - t0, "loop": t2 - t1, "settled": settled}


def run_pssimpy(frame: pd.DataFrame, ids: list[str]) -> dict:
    from PSSimPy import Transaction
    from PSSimPy.simulator import BasicSim
    from PSSimPy.utils.constants import TRANSACTION_STATUS_CODES
    Transaction.clear_instances()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)                               # its CSV logs land here
        try:
            t0 = time.process_time()
            sim = BasicSim(
                name="bench", banks={"name": ids},
                accounts={"id": [f"ACC_{b}" for b in ids], "owner": ids,
                          "balance": [0.0] * len(ids)},
                transactions=pd.DataFrame({
                    "sender_account": "ACC_" + frame.sender, "recipient_account":
                    "ACC_" + frame.receiver, "amount": frame.amount.astype(float),
                    "time": frame.arrival_time, "day": 1}),
                open_time=OPEN, close_time=CLOSE, processing_window=WINDOW, num_days=1)
            t1 = time.process_time()
            sim.run()
            t2 = time.process_time()
        finally:
            os.chdir(cwd)
    ok = TRANSACTION_STATUS_CODES["Success"]
    settled = sum(1 for tx, _, _ in sim.transactions if tx.status_code == ok)
    return {"e2e": t2 - t0, "loop": t2 - t1, "settled": settled}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, nargs="+", default=[50_000])
    ap.add_argument("--banks", type=int, default=100)
    args = ap.parse_args()
    try:
        import PSSimPy  # noqa: F401
    except ImportError:
        raise SystemExit("PSSimPy is not installed: pip install pssimpy (or .[bench])")
    warm_up()
    warnings.simplefilter("ignore")
    print(f"{'payments':>9} {'banks':>5} {'paysim e2e s':>12} {'paysim loop s':>13} "
          f"{'PSSimPy e2e s':>13} {'PSSimPy run s':>13} {'e2e ratio':>9} {'settled':>15}")
    for n in args.payments:
        frame, banks = synthetic_payments(args.banks, n, ticks_per_day=TICKS)
        frame["arrival_time"] = clock_times(frame.arrival_tick.to_numpy())
        ids = list(banks.id)
        p = run_paysim(frame, ids)
        q = run_pssimpy(frame, ids)
        if p["settled"] != q["settled"]:
            raise SystemExit(f"settled counts differ: paysim_lab {p['settled']}, "
                             f"PSSimPy {q['settled']}")
        print(f"{n:9,d} {args.banks:5d} {p['e2e']:12.2f} {p['loop']:13.2f} {q['e2e']:13.2f} "
              f"{q['loop']:13.2f} {q['e2e'] / p['e2e']:8.1f}x {p['settled']:>7,d} = "
              f"{q['settled']:<,d}")


if __name__ == "__main__":
    main()
