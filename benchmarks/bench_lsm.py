"""Time one LSM pass (``run_lsm``) on large hand-built Queue 2 states.

Liquidity is tight, so almost nothing settles: every iteration finds refused bilateral pairs
(which count as progress), all three iterations run, and each rebuilds the direction index,
searches triangles and runs the FIFO retry. That is the slowest path a tick can take.

Usage::

    python benchmarks/bench_lsm.py            # all cases, 5 timed runs each, seed 0
    python benchmarks/bench_lsm.py --repeat 9 --case uniform-200 --seed 3

Each timed run gets a freshly built copy of the same world (building is not timed), so the
spread between median and best is timing noise only. Output: milliseconds per ``run_lsm``
call (median and best), plus what the pass did, so runs can be compared.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from paysim_lab.engine.lsm import LsmConfig, run_lsm
from paysim_lab.engine.settlement import enqueue_queue2
from paysim_lab.engine.state import Agent, Transaction, World


def build_world(n_banks: int, n_payments: int, seed: int, core: int | None = None) -> World:
    """A World whose Queue 2 holds ``n_payments`` payments among ``n_banks`` banks.

    Balances are at most 5% of a typical payment and there is no credit, so offsets and cycles
    are mostly refused. With ``core`` set, 80% of payments stay among the first ``core`` banks
    (a dense core, many triangles); otherwise counterparties are uniform.
    """
    rng = random.Random(seed)
    w = World(ticks_per_day=100, num_days=1)
    names = [f"BANK_{i:03d}" for i in range(n_banks)]
    for i, name in enumerate(names):
        w.add_agent(Agent(name, i, rng.randint(0, 5_000)))
    for seq in range(n_payments):
        pool = names[:core] if core and rng.random() < 0.8 else names
        s = rng.choice(pool)
        r = rng.choice(pool)
        while r == s:
            r = rng.choice(pool)
        tx = Transaction(f"tx_{seq:08d}", seq, s, r, rng.randint(10_000, 1_000_000), 0, 50, 5)
        w.txs[tx.tx_id] = tx
        w.tx_list.append(tx)
        enqueue_queue2(w, tx)
    return w


CASES = {
    "uniform-200": dict(n_banks=200, n_payments=5_000, cfg=LsmConfig()),
    "uniform-50": dict(n_banks=50, n_payments=1_000, cfg=LsmConfig()),
    "core-200": dict(n_banks=200, n_payments=5_000, core=40, cfg=LsmConfig()),
    # At most 100 entries: the per-payment long-cycle search runs. The default searches cycles
    # of up to 4 payments; 10 (the largest allowed) on a dense 10-15 bank queue is the worst
    # shape found.
    "long-4": dict(n_banks=4, n_payments=100, cfg=LsmConfig()),
    "long-10": dict(n_banks=10, n_payments=100, cfg=LsmConfig(max_cycle_length=10)),
    "long-15": dict(n_banks=15, n_payments=100, cfg=LsmConfig(max_cycle_length=10)),
}


def bench(name: str, repeat: int, seed: int) -> None:
    case = CASES[name]
    times = []
    res = None
    for _ in range(repeat):
        w = build_world(case["n_banks"], case["n_payments"], seed=seed, core=case.get("core"))
        t0 = time.perf_counter()
        res = run_lsm(w, 10, case["cfg"], None)
        times.append((time.perf_counter() - t0) * 1000)
        left = len(w.queue2)
    print(f"{name:14s} banks={case['n_banks']:4d} payments={case['n_payments']:5d}  "
          f"median={statistics.median(times):8.1f} ms  best={min(times):8.1f} ms  "
          f"(pairs_examined={res.pairs_examined} cycles_settled={res.cycles_settled} "
          f"settled={res.bilateral_tx_settled + res.cycle_tx_settled + res.retry_tx_settled} "
          f"left_in_queue={left})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--case", choices=sorted(CASES), action="append")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name in args.case or list(CASES):
        bench(name, args.repeat, args.seed)


if __name__ == "__main__":
    main()
