"""Synthetic RTGS scenarios at any scale: a core-periphery network with heavy-tailed payments.

Real large-value payment systems have a few large "core" participants that exchange most of
the value and many small ones that mostly pay the core; payment sizes are heavy-tailed. The
generator writes an ordinary scenario dict (so it loads, validates and persists like a file).

>>> sc = synthetic_scenario(banks=20, payments_per_day=2000, days=1, seed=3)
>>> len(sc["agents"]), sc["simulation"]["ticks_per_day"]
(20, 100)
"""
from __future__ import annotations

import math
import random


def synthetic_scenario(banks: int = 50, payments_per_day: int = 10_000, days: int = 1,
                       lsm: bool = True, seed: int = 1, ticks_per_day: int = 100,
                       core_fraction: float = 0.1, liquidity_days: float = 0.15,
                       policy: dict | None = None, mean_payment: int = 400_000) -> dict:
    """A scenario dict with ``banks`` participants and about ``payments_per_day`` payments a day.

    - ``core_fraction`` of the banks (at least 2) form the core: each core bank sends and
      receives ~20 times what a periphery bank does.
    - Payment sizes are LogNormal with mean ``mean_payment`` cents and a standard deviation of
      three times the mean (heavy tail).
    - Each bank starts with ``liquidity_days`` x its expected daily outflow as balance and the
      same again as unsecured intraday credit, so some payments queue and the LSM has work.
    - Counterparty weights are integers (core 20, periphery 1; unlisted banks weigh 1), which
      also lets the engine pick receivers by bisection.
    - ``policy``: the policy block of every bank (default ``{"type": "Fifo"}``).

    Layout is drawn from ``seed`` with Python's own generator, independent of the run's seed.
    """
    if banks < 2:
        raise ValueError("a payment system needs at least 2 banks")
    rnd = random.Random(seed)
    n_core = max(2, int(round(banks * core_fraction)))
    ids = [f"{'CORE' if i < n_core else 'BANK'}_{i:04d}" for i in range(banks)]
    size = [20.0 if i < n_core else 1.0 for i in range(banks)]
    total_size = sum(size)
    core_weights = {ids[i]: 20.0 for i in range(n_core)}
    agents = []
    for i, aid in enumerate(ids):
        share = size[i] / total_size
        rate = payments_per_day * share / ticks_per_day
        daily_out = payments_per_day * share * mean_payment
        jitter = 0.75 + 0.5 * rnd.random()
        opening = int(daily_out * liquidity_days * jitter)
        weights = {k: v for k, v in core_weights.items() if k != aid}
        if not weights:  # a core of one bank only happens for tiny systems
            weights = {ids[(i + 1) % banks]: 1.0}
        agents.append({
            "id": aid,
            "opening_balance": opening,
            "unsecured_cap": int(daily_out * liquidity_days),
            "policy": dict(policy or {"type": "Fifo"}),
            "arrival_config": {
                "rate_per_tick": rate,
                "amount_distribution": {"type": "LogNormal", "mean": float(mean_payment),
                                        "std_dev": float(3 * mean_payment)},
                "counterparty_weights": weights,
                "deadline_range": [max(2, ticks_per_day // 10), max(3, ticks_per_day // 2)],
                "priority_distribution": {"type": "Categorical", "values": [3, 5, 8],
                                          "weights": [0.3, 0.6, 0.1]},
            },
        })
    return {
        "simulation": {"ticks_per_day": ticks_per_day, "num_days": days, "rng_seed": seed},
        "agents": agents,
        "lsm_config": {"enable_bilateral": lsm, "enable_cycles": lsm, "max_cycle_length": 4,
                       "max_cycles_per_tick": 10},
        "cost_rates": {"overdraft_bps_per_tick": 0.2, "delay_cost_per_tick_per_cent": 0.0001,
                       "deadline_penalty": 25000, "eod_penalty": 50000},
    }


def synthetic_payments(banks: int = 1_000, payments: int = 350_000, *, ticks_per_day: int = 100,
                       days: int = 1, seed: int = 1, core_fraction: float = 0.1,
                       mean_payment: int = 400_000, liquidity_days: float = 0.15):
    """A payments table and a banks table for ``psl.Scenario.from_payments``, at any scale.

    The same core-periphery shape as :func:`synthetic_scenario` (core banks send and receive
    ~20x more; LogNormal amounts with a standard deviation of 3x ``mean_payment`` cents), but
    as the list of payments itself: columns ``payment_id``, ``sender``, ``receiver``,
    ``amount``, ``arrival_tick`` (uniform over the run, sorted). Each bank opens with
    ``liquidity_days`` x its own daily outflow in the list and as much unsecured credit.
    Deterministic from ``seed`` (numpy's default generator).

    >>> pay, bank_table = synthetic_payments(banks=20, payments=500, ticks_per_day=10)
    >>> len(pay), list(bank_table.columns), int(pay.arrival_tick.max()) < 10
    (500, ['id', 'opening_balance', 'unsecured_cap'], True)
    """
    import numpy as np
    import pandas as pd
    if banks < 2:
        raise ValueError("a payment system needs at least 2 banks")
    rng = np.random.default_rng(seed)
    n_core = max(2, int(round(banks * core_fraction)))
    ids = np.array([f"{'CORE' if i < n_core else 'BANK'}_{i:04d}" for i in range(banks)])
    weight = np.where(np.arange(banks) < n_core, 20.0, 1.0)
    p = weight / weight.sum()
    sender = rng.choice(banks, payments, p=p)
    receiver = rng.choice(banks, payments, p=p)
    same = sender == receiver
    receiver[same] = (receiver[same] + 1) % banks       # nobody pays itself
    sigma = math.sqrt(math.log(1 + 9.0))                 # standard deviation 3x the mean
    mu = math.log(mean_payment) - sigma**2 / 2
    amount = np.maximum(1, rng.lognormal(mu, sigma, payments).round()).astype(np.int64)
    arrival = np.sort(rng.integers(0, ticks_per_day * days, payments))
    table = pd.DataFrame({"payment_id": [f"P{i:08d}" for i in range(payments)],
                          "sender": ids[sender], "receiver": ids[receiver], "amount": amount,
                          "arrival_tick": arrival})
    outflow = np.bincount(sender, weights=amount, minlength=banks) / days
    opening = (outflow * liquidity_days).astype(np.int64)
    bank_table = pd.DataFrame({"id": ids, "opening_balance": opening, "unsecured_cap": opening})
    return table, bank_table
