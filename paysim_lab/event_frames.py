"""DataFrames of events, built from the columnar :class:`~paysim_lab.eventlog.EventLog`.

``mixed_frame`` is ``sim.events`` (one row per event, the common columns plus a ``details`` dict
of the event's fields); ``of_type_frame`` is ``sim.events_of(type)`` (one column per field).
Both work per event type on whole columns: numpy scatters rows into seq order, and the only
per-event Python objects made are the ``details`` dicts the mixed frame promises.

>>> from paysim_lab.eventlog import EventLog
>>> log = EventLog(); log.extend([("QueuedRtgs", 3, "tx_1", "A")])
>>> mixed_frame(log, 0, 10)[["tick", "day", "seq", "event_type", "agent_id", "tx_id"]].values.tolist()
[[3, 0, 0, 'QueuedRtgs', 'A', 'tx_1']]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .engine.events import EVENT_TYPES, FIELDS
from .eventlog import EventLog, int_array

# Field feeding the mixed frame's agent_id (agent_id, else sender_id, else sender), tx_id and
# amount columns, per event type (None when the type has no such field).
AGENT_FIELD = {et: next((n for n in ("agent_id", "sender_id", "sender") if n in names), None)
               for et, names in FIELDS.items()}
TX_FIELD = {et: "tx_id" if "tx_id" in names else None for et, names in FIELDS.items()}
AMOUNT_FIELD = {et: "amount" if "amount" in names else None for et, names in FIELDS.items()}
_TYPE_NAMES = np.array(EVENT_TYPES, dtype=object)


def int64(values: np.ndarray) -> pd.arrays.IntegerArray:
    """A nullable Int64 array without missing values (no per-element inference)."""
    return pd.arrays.IntegerArray(values, np.zeros(len(values), dtype=bool))


_INT64 = (-2**63, 2**63 - 1)


def int_column(values: list) -> tuple[np.ndarray, np.ndarray]:
    """(int64 data, missing mask) of a list of ints, with None, any non-int and an int
    beyond 64 bits as missing (such a value is kept exactly only where the whole event is).

    >>> data, mask = int_column([5, None, 2**64])
    >>> data.tolist(), mask.tolist()
    ([5, 0, 0], [False, True, True])
    """
    if set(map(type, values)) <= {int}:
        try:
            return np.array(values, dtype=np.int64), np.zeros(len(values), dtype=bool)
        except OverflowError:
            pass
    lo, hi = _INT64
    given = [type(v) is int and lo <= v <= hi for v in values]
    data = np.fromiter((v if ok else 0 for v, ok in zip(values, given)), dtype=np.int64,
                       count=len(values))
    return data, ~np.array(given, dtype=bool)


def object_array(values: list) -> np.ndarray:
    """A 1-d object array of ``values`` (lists, dicts and tuples kept as elements)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def mixed_frame(log: EventLog, first_seq: int, ticks_per_day: int) -> pd.DataFrame:
    """``sim.events`` from ``first_seq`` on: tick, day, seq, event_type, agent_id, tx_id,
    amount, details."""
    lo = max(first_seq, log.base)
    n = max(log.end - lo, 0)
    tick = np.zeros(n, dtype=np.int64)
    agent = np.full(n, None, dtype=object)
    tx = np.full(n, None, dtype=object)
    amount = np.zeros(n, dtype=np.int64)
    missing = np.ones(n, dtype=bool)
    details = np.empty(n, dtype=object)
    for tc, a, b in log.slices(lo):
        et = tc.event_type
        pos = int_array(tc.seqs[a:b]) - lo
        tick[pos] = int_array(tc.ticks[a:b])
        if AGENT_FIELD[et] is not None:
            agent[pos] = object_array(tc.field(AGENT_FIELD[et])[a:b])
        if TX_FIELD[et] is not None:
            tx[pos] = object_array(tc.field(TX_FIELD[et])[a:b])
        if AMOUNT_FIELD[et] is not None:
            data, mask = int_column(tc.field(AMOUNT_FIELD[et])[a:b])
            amount[pos] = data
            missing[pos] = mask
        details[pos] = object_array(tc.dicts(a, b))
    types = _TYPE_NAMES[log.type_codes(lo)] if n else np.empty(0, dtype=object)
    return pd.DataFrame({
        "tick": int64(tick),
        "day": int64(tick // ticks_per_day),
        "seq": int64(np.arange(lo, lo + n, dtype=np.int64)),
        "event_type": pd.Series(types, dtype="object"),
        "agent_id": pd.Series(agent, dtype="object"),
        "tx_id": pd.Series(tx, dtype="object"),
        "amount": pd.arrays.IntegerArray(amount, missing),
        "details": pd.Series(details, dtype="object"),
    })


def of_type_frame(ticks, seqs, ticks_per_day: int, names, columns) -> pd.DataFrame:
    """The ``events_of`` frame: tick, day, seq, then one column per field (tidy dtypes).

    >>> of_type_frame([3], [7], 10, ("tx_id",), [["tx_1"]]).to_dict("records")
    [{'tick': 3, 'day': 0, 'seq': 7, 'tx_id': 'tx_1'}]
    """
    tick = np.fromiter(ticks, dtype=np.int64, count=len(ticks))
    data = {"tick": int64(tick), "day": int64(tick // ticks_per_day),
            "seq": int64(np.fromiter(seqs, dtype=np.int64, count=len(seqs)))}
    for name, col in zip(names, columns):
        data[name] = tidy_column(pd.Series(list(col), dtype="object"))
    return pd.DataFrame(data)


def tidy_column(s: pd.Series) -> pd.Series:
    """Give uniform int columns a nullable Int64 dtype; leave everything else as objects."""
    vals = [v for v in s if v is not None]
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return s.astype("Int64")
    if vals and all(isinstance(v, bool) for v in vals):
        return s.astype("boolean")
    if vals and all(isinstance(v, float) for v in vals):
        return s.astype("Float64")
    return s
