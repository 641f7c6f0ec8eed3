"""Cost formulas (engine.md section 7), exact integer arithmetic on scaled rates.

Every float rate becomes a scaled integer once (``scaled``); the per-tick formulas then use
Python ints only and round half up with ``(n + d // 2) // d``.

>>> overdraft_cost(-1_000_000, scaled(0.001, 1000))
0
>>> overdraft_cost(-1_000_000_000, scaled(1.0, 1000))
100000
"""
from __future__ import annotations

import math

from .rng import round_half_away
from .state import OVERDUE, CostRates, Transaction


def scaled(rate: float, scale: int, invalid: int = 0) -> int:
    """``round(rate * scale)`` for a finite non-negative rate, else ``invalid``."""
    if rate is None or not math.isfinite(rate) or rate < 0:
        return invalid
    return round_half_away(rate * scale)


class ScaledRates:
    """The cost rates of a run, pre-scaled once (engine.md 7 'Rate scaling')."""

    __slots__ = ("overdraft", "delay", "collateral", "liquidity", "overdue_mult",
                 "prio_mult", "friction")

    def __init__(self, c: CostRates):
        self.overdraft = scaled(c.overdraft_bps_per_tick, 1000)
        self.delay = scaled(c.delay_cost_per_tick_per_cent, 1_000_000)
        self.collateral = scaled(c.collateral_cost_per_tick_bps, 1_000_000)
        self.liquidity = scaled(c.liquidity_cost_per_tick_bps, 1_000_000)
        self.overdue_mult = scaled(c.overdue_delay_multiplier, 1000, invalid=1000)
        if c.priority_delay_multipliers is None:
            self.prio_mult = None
        else:
            u, n, lo = c.priority_delay_multipliers
            self.prio_mult = (scaled(u, 1000, 1000), scaled(n, 1000, 1000), scaled(lo, 1000, 1000))
        self.friction = int(c.split_friction_cost)


def overdraft_cost(balance: int, r: int) -> int:
    """engine.md 7.1: bps of the overdrawn amount, on the end-of-tick balance."""
    if balance >= 0 or r == 0:
        return 0
    return (-balance * r + 5_000_000) // 10_000_000


def band_index(priority: int) -> int:
    """0 urgent (8-10), 1 normal (4-7), 2 low (anything else)."""
    if 8 <= priority <= 10:
        return 0
    if 4 <= priority <= 7:
        return 1
    return 2


def delay_weight(tx: Transaction, rates: ScaledRates) -> int:
    """One payment's weighted remaining value for the delay formula (engine.md 7.2)."""
    m_over = rates.overdue_mult if tx.status == OVERDUE else 1000
    pm = rates.prio_mult
    m_prio = 1000 if pm is None else pm[band_index(tx.priority)]
    combined = (m_over * m_prio) // 1000
    rem = tx.remaining_amount
    return (rem if rem > 0 else 0) * combined


def delay_cost(weighted_sum: int, rd: int) -> int:
    """engine.md 7.2: rounded once per agent per tick, on the weighted sum."""
    if rd == 0:
        return 0
    return (weighted_sum * rd + 500_000_000) // 1_000_000_000


def bps_cost(base: int, r: int) -> int:
    """Collateral and liquidity-opportunity costs (engine.md 7.4)."""
    if base <= 0 or r == 0:
        return 0
    return (base * r + 5_000_000_000) // 10_000_000_000


def borrowing_cost(unsent: int, rate: float) -> int:
    """End-of-day borrowing cost (Castro's r_b): ``rate`` x cents still unsent, half up.

    >>> borrowing_cost(15_001, 0.4)
    6000
    """
    r = scaled(rate, 1_000_000)
    return (unsent * r + 500_000) // 1_000_000


def estimated_delay_cost(remaining: int, delay_rate: float, overdue_mult: float, ticks: int) -> int:
    """Informational estimate used by OverdueTransactionSettled and the verbose log."""
    return round_half_away(remaining * delay_rate * overdue_mult * ticks)
