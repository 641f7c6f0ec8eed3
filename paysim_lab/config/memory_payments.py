"""A payments table given as a DataFrame: kept with the scenario through every rebuild.

``Scenario.from_payments(frame, ...)`` turns the frame into a PaymentFeed, which lives in the
Scenario object only: its written form (``model_dump``) names no file. ``with_changes``, sweep
points and stress grids rebuild a scenario from that form, and a stored run is re-run from it;
each gives the rebuilt scenario the same payments through :class:`MemoryPayments`, checked again
against the new scenario's banks and run length. A store keeps the table of such a run in
``run_payments``, so that ``store.verify`` re-runs it too.

>>> import pandas as pd
>>> from paysim_lab.config.payments import payment_feed
>>> feed = payment_feed(pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [500],
...                                   "arrival_tick": [3], "priority": [7]}),
...                     ["A", "B"], ticks_per_day=10, num_days=1, source="<DataFrame>")
>>> feed_frame(feed, ["A", "B"]).to_dict("records")
[{'sender': 'A', 'receiver': 'B', 'amount': 500, 'arrival_tick': 3, 'priority': 7.0}]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.payment_feed import NOT_GIVEN, PaymentFeed
from .payments import _fail, payment_feed

#: How error messages name a table given as a DataFrame.
LABEL = "<payments DataFrame>"


def _given_or_nan(column) -> np.ndarray:
    values = np.asarray(column, dtype=np.float64)
    values[values == NOT_GIVEN] = np.nan
    return values


def feed_frame(feed: PaymentFeed, banks: list[str]) -> pd.DataFrame:
    """A feed back as a payments table (bank ids, arrival ticks), in the feed's order; the
    optional columns the feed has, with empty cells where a value was not given."""
    ids = np.asarray(banks, dtype=object)
    frame = pd.DataFrame({"sender": ids[np.asarray(feed.sender, dtype=np.int64)],
                          "receiver": ids[np.asarray(feed.receiver, dtype=np.int64)],
                          "amount": np.asarray(feed.amount, dtype=np.int64),
                          "arrival_tick": np.asarray(feed.arrival, dtype=np.int64)})
    if feed.deadline is not None:
        frame["deadline_tick"] = _given_or_nan(feed.deadline)
    if feed.priority is not None:
        frame["priority"] = _given_or_nan(feed.priority)
    if feed.divisible is not None:
        frame["divisible"] = np.asarray(feed.divisible, dtype=bool)
    if feed.payment_id is not None:
        frame["payment_id"] = list(feed.payment_id)
    return frame


def stored_feed(frame: pd.DataFrame, banks: list[str], ticks_per_day: int, num_days: int,
                source: str) -> PaymentFeed:
    """A feed from ``run_payments`` rows (read in ``row`` order); columns left all empty are
    dropped, as the table they came from had none."""
    frame = frame.drop(columns=[c for c in ("deadline_tick", "priority", "divisible",
                                            "payment_id")
                                if c in frame and frame[c].isna().all()])
    return payment_feed(frame, banks, ticks_per_day=ticks_per_day, num_days=num_days,
                        source=source)


class MemoryPayments:
    """An in-memory payments table as a scenario holds it: its feed and what the feed was
    checked against (the banks in config order, the run length, the clock of its times)."""

    __slots__ = ("feed", "banks", "ticks_per_day", "num_days", "clock")

    def __init__(self, feed: PaymentFeed, banks: list[str], ticks_per_day: int,
                 num_days: int, clock=None):
        self.feed = feed
        self.banks = list(banks)
        self.ticks_per_day = ticks_per_day
        self.num_days = num_days
        self.clock = clock

    def attach(self, scenario) -> None:
        """Give ``scenario`` (rebuilt from the written form of the scenario holding this
        table, perhaps with changes) the same payments. A scenario naming a payments file
        of its own keeps that file. Raises ScenarioError when the payments do not fit the
        new banks or run length, naming the row and column."""
        if scenario.payments is not None:
            return
        sim = scenario.simulation
        banks = [a.id for a in scenario.agents]
        tpd, days = sim.ticks_per_day, sim.num_days
        if (banks, tpd, days) == (self.banks, self.ticks_per_day, self.num_days):
            feed = self.feed       # read-only during a run: shared by every scenario
        else:
            if self.clock is not None and tpd != self.ticks_per_day:
                raise _fail(LABEL, f"its arrivals were clock times, turned into ticks of a "
                                   f"{self.ticks_per_day}-tick day; for a {tpd}-tick day "
                                   f"build the scenario again with Scenario.from_payments")
            feed = payment_feed(feed_frame(self.feed, self.banks), banks, ticks_per_day=tpd,
                                num_days=days, source=LABEL)
        MemoryPayments(feed, banks, tpd, days, self.clock).give(scenario)

    def give(self, scenario) -> None:
        """Make this table ``scenario``'s payments (checked against it already): the feed
        its runs read, and what rebuilds of it carry over."""
        scenario._payment_feed = self.feed
        scenario._memory_payments = self
