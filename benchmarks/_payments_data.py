"""Synthetic payment lists for the payments-table benchmarks (no real data is needed).

``payment_list(n, banks)``: a core-periphery system like ``paysim_lab.synthetic`` (10% of the
banks are "core" and send/receive ~20x more), heavy-tailed amounts in cents, arrivals spread
over a business day. Deterministic from ``seed``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def bank_ids(banks: int) -> list[str]:
    n_core = max(2, round(banks * 0.1))
    return [f"{'CORE' if i < n_core else 'BANK'}_{i:04d}" for i in range(banks)]


def payment_list(n: int, banks: int, *, ticks: int = 100, seed: int = 1,
                 mean_payment: int = 400_000) -> pd.DataFrame:
    """sender, receiver, amount (cents), arrival_tick, payment_id; rows in arrival order."""
    rng = np.random.default_rng(seed)
    ids = np.array(bank_ids(banks))
    n_core = max(2, round(banks * 0.1))
    weight = np.where(np.arange(banks) < n_core, 20.0, 1.0)
    p = weight / weight.sum()
    sender = rng.choice(banks, n, p=p)
    receiver = rng.choice(banks, n, p=p)
    same = sender == receiver
    receiver[same] = (receiver[same] + 1) % banks
    sigma = np.sqrt(np.log(1 + 9.0))            # standard deviation 3x the mean
    mu = np.log(mean_payment) - sigma**2 / 2
    amount = np.maximum(1, rng.lognormal(mu, sigma, n).round()).astype(np.int64)
    arrival = np.sort(rng.integers(0, ticks, n))
    return pd.DataFrame({"sender": ids[sender], "receiver": ids[receiver], "amount": amount,
                         "arrival_tick": arrival,
                         "payment_id": [f"P{i:07d}" for i in range(n)]})


def bank_table(payments: pd.DataFrame, banks: int, *, liquidity: float = 0.15,
               credit: int | None = None) -> pd.DataFrame:
    """id, opening_balance (``liquidity`` x the bank's outflow in the list), unsecured_cap
    (the same, or ``credit`` for every bank)."""
    ids = bank_ids(banks)
    out = payments.groupby("sender")["amount"].sum().reindex(ids, fill_value=0)
    opening = (out.to_numpy() * liquidity).astype(np.int64)
    cap = opening if credit is None else np.full(banks, credit, np.int64)
    return pd.DataFrame({"id": ids, "opening_balance": opening, "unsecured_cap": cap})
