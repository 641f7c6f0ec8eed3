"""Stochastic payment arrivals (engine.md 2.3-2.4): per bank, per tick, in a fixed draw order.

Each bank with an ``arrival_config`` or ``arrival_bands`` gets an :class:`ArrivalGenerator`
holding its current (mutable) parameters; rate, weight and deadline-window scenario events
change them in place without drawing.
"""
from __future__ import annotations

from typing import Callable

from ..errors import SimulationError
from . import rng as R
from .state import I64_MAX

AmountSampler = Callable[[R.Rng], int]
PrioritySampler = Callable[[R.Rng], int]


def amount_sampler(kind: str, p: dict) -> AmountSampler:
    """Build a sampler for an amount distribution given as its type and fields.

    >>> s = amount_sampler("Uniform", {"min": 10000, "max": 50000})
    >>> s(R.Rng(7))
    34646
    """
    if kind == "Uniform":
        lo, hi = int(p["min"]), int(p["max"])
        return lambda g: g.range(lo, hi + 1)
    if kind == "Normal":
        mean, sd = int(p["mean"]), int(p["std_dev"])
        return lambda g: R.normal_amount(g, mean, sd)
    if kind == "LogNormal":
        mean, sd = float(p["mean"]), float(p["std_dev"])
        return lambda g: R.lognormal_amount(g, mean, sd)
    if kind == "Exponential":
        lam = float(p["lambda"])
        return lambda g: R.exponential_amount(g, lam)
    raise ValueError(f"unknown amount distribution {kind!r}")


def priority_sampler(kind: str | None, p: dict, default: int = 5) -> PrioritySampler | int:
    """A sampler, or a plain int for fixed priorities (which draw nothing)."""
    if kind is None:
        return int(default)
    if kind == "Fixed":
        return int(p["value"])
    if kind == "Categorical":
        values = [int(v) for v in p["values"]]
        weights = [float(w) for w in p["weights"]]
        return lambda g: R.categorical(g, values, weights)
    if kind == "Uniform":
        lo, hi = int(p["min"]), int(p["max"])
        return lambda g: R.uniform_priority(g, lo, hi)
    raise ValueError(f"unknown priority distribution {kind!r}")


class Band:
    """One arrival band (urgent / normal / low) of a bank (engine.md 3.5)."""

    __slots__ = ("name", "rate", "amount", "dmin", "dmax", "weights", "prio_lo", "prio_hi",
                 "dist_desc")

    PRIORITY_RANGES = {"urgent": (8, 11), "normal": (4, 8), "low": (0, 4)}

    def __init__(self, name: str, rate: float, amount: AmountSampler, dmin: int, dmax: int,
                 weights: dict[str, float], dist_desc: str = ""):
        self.name = name
        self.rate = rate
        self.amount = amount
        self.dmin = dmin
        self.dmax = dmax
        self.weights = weights
        self.prio_lo, self.prio_hi = self.PRIORITY_RANGES[name]
        self.dist_desc = dist_desc


class ArrivalGenerator:
    """The arrival parameters of one bank (mutable by scenario events)."""

    __slots__ = ("agent_id", "candidates", "rate", "base_rate", "amount", "weights", "dmin",
                 "dmax", "priority", "bands", "dist_desc", "_table")

    def __init__(self, agent_id: str, candidates: list[str], *, rate: float = 0.0,
                 amount: AmountSampler | None = None, weights: dict[str, float] | None = None,
                 deadline_range: tuple[int, int] = (1, 1), priority: PrioritySampler | int = 5,
                 bands: list[Band] | None = None, dist_desc: str = ""):
        self.agent_id = agent_id
        self.candidates = candidates          # config order, sender removed
        self.rate = rate
        self.base_rate = rate
        self.amount = amount
        self.weights = dict(weights or {})
        self.dmin, self.dmax = deadline_range
        self.priority = priority
        self.bands = bands                    # None for arrival_config banks
        self.dist_desc = dist_desc
        self._table: R.ReceiverTable | None = None

    def set_weight(self, counterparty: str, weight: float) -> None:
        """CounterpartyWeightChange: change one weight (others unchanged)."""
        self.weights[counterparty] = weight
        self._table = None

    def receiver_table(self) -> R.ReceiverTable:
        if self._table is None:
            self._table = R.ReceiverTable(self.candidates, self.weights)
        return self._table

    @property
    def has_config(self) -> bool:
        return self.bands is None

    def draw(self, g: R.Rng, tick: int) -> list[tuple[str, int, int, int, bool]]:
        """Draw this tick's arrivals: (receiver, amount, deadline offset, priority, is_band).

        Draw order per payment: amount, receiver, deadline offset, priority.
        """
        out = []
        if self.bands is not None:
            for band in self.bands:
                n = R.poisson(g, band.rate)
                for _ in range(n):
                    amount = band.amount(g)
                    receiver = R.weighted_choice(g, self.candidates, band.weights)
                    offset = g.range(band.dmin, band.dmax + 1)
                    prio = g.range(band.prio_lo, band.prio_hi)
                    out.append((receiver, amount, offset, prio, True))
            return out
        n = R.poisson(g, self.rate)
        if n == 0:
            return out
        if self.dmin > self.dmax:
            raise SimulationError(
                f"agent {self.agent_id}, tick {tick}: deadline window [{self.dmin}, {self.dmax}] "
                "is empty after a DeadlineWindowChange event")
        if self.dmax >= I64_MAX:
            # The reference draws in signed 64 bits (max + 1 overflows): it aborts here.
            raise SimulationError(
                f"agent {self.agent_id}, tick {tick}: deadline window [{self.dmin}, {self.dmax}] "
                "overflows 64 bits after repeated DeadlineWindowChange events")
        prio_s = self.priority
        fixed = isinstance(prio_s, int)
        choose = self.receiver_table().choose
        for _ in range(n):
            amount = self.amount(g)
            receiver = choose(g)
            offset = g.range(self.dmin, self.dmax + 1)
            prio = prio_s if fixed else prio_s(g)
            out.append((receiver, amount, offset, prio, False))
        return out
