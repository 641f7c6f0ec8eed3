"""Arrow batches of a flush, built from the columnar event log (no dict per event).

``event_table`` turns each event type's columns into ``simulation_events`` rows: the common
columns are picked per type, ``details`` is the canonical JSON of the event's fields, made per
type from a fixed template (the keys are the catalog's, sorted) and per-column value encodings,
byte for byte what ``canonical_json`` gives for the event's field dict.

>>> from paysim_lab.eventlog import EventLog
>>> log = EventLog(); log.extend([("QueuedRtgs", 3, "tx_1", "A")])
>>> tc, a, b = next(log.slices(0))
>>> details_column(tc, a, b)
['{"sender_id":"A","tx_id":"tx_1"}']
"""
from __future__ import annotations

from itertools import repeat
from json.encoder import encode_basestring
from typing import Iterable

import numpy as np
import pyarrow as pa

from ..event_frames import AGENT_FIELD, AMOUNT_FIELD, TX_FIELD, int_column
from ..event_json import json_column
from ..eventlog import EventLog, TypeColumns, int_array

EVENT_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("tick", pa.int64()), ("event_type", pa.string()),
    ("agent_id", pa.string()), ("tx_id", pa.string()), ("amount", pa.int64()),
    ("details", pa.string())])

# Event fields naming payments (for the transactions upsert).
TX_ONE_FIELDS = ("tx_id", "incoming_tx_id", "queued_tx_id")
TX_LIST_FIELDS = ("tx_ids", "child_ids", "source_transactions")


def details_column(tc: TypeColumns, a: int, b: int) -> list[str]:
    """Canonical JSON of the fields of events a..b of one type (sorted keys, no spaces)."""
    n = b - a
    order = sorted(range(len(tc.names)), key=tc.names.__getitem__)
    if not order:
        return ["{}"] * n
    template = "{" + ",".join(encode_basestring(tc.names[i]).replace("%", "%%") + ":%s"
                              for i in order) + "}"
    encoded = [json_column(tc.fields[i][a:b]) for i in order]
    return list(map(template.__mod__, zip(*encoded)))


def _strings(values: list) -> pa.Array:
    return pa.array(values, type=pa.string())


def event_table(log: EventLog, lo: int, hi: int) -> pa.Table | None:
    """``simulation_events`` rows (without run id, event id and day) of seqs lo..hi-1,
    grouped by event type (readers order by seq; zone maps only need the batch's ticks)."""
    parts = []
    for tc, a, b in log.slices(lo, hi):
        et = tc.event_type
        n = b - a
        none = pa.nulls(n, pa.string())
        af, tf, mf = AGENT_FIELD[et], TX_FIELD[et], AMOUNT_FIELD[et]
        if mf is not None:
            data, mask = int_column(tc.field(mf)[a:b])
            amount = pa.array(data, type=pa.int64(), mask=mask)
        else:
            amount = pa.nulls(n, pa.int64())
        parts.append(pa.Table.from_arrays([
            pa.array(int_array(tc.seqs[a:b])), pa.array(int_array(tc.ticks[a:b])),
            pa.array(np.full(n, et, dtype=object), type=pa.string()),
            _strings(tc.field(af)[a:b]) if af is not None else none,
            _strings(tc.field(tf)[a:b]) if tf is not None else none,
            amount, _strings(details_column(tc, a, b))], schema=EVENT_SCHEMA))
    if not parts:
        return None
    return pa.concat_tables(parts)


def touched_payments(log: EventLog, lo: int, hi: int, into: set) -> None:
    """Add every payment id named by events lo..hi-1 to ``into``."""
    for tc, a, b in log.slices(lo, hi):
        for name in TX_ONE_FIELDS:
            if name in tc.names:
                into.update(tc.field(name)[a:b])
        for name in TX_LIST_FIELDS:
            if name in tc.names:
                for ids in tc.field(name)[a:b]:
                    if ids:
                        into.update(ids)
    into.discard(None)


def register_rows(log: EventLog, lo: int, hi: int) -> Iterable[tuple]:
    """(tick, agent, key, value) per register written in lo..hi-1: the tick's last value."""
    tc = log.by_type.get("StateRegisterSet")
    if tc is None:
        return []
    a, b = tc.span(lo, hi)
    last: dict[tuple, float] = {}
    for t, agent, key, value in zip(tc.ticks[a:b], tc.field("agent_id")[a:b],
                                    tc.field("register_key")[a:b], tc.field("new_value")[a:b]):
        # several writes of one register in one tick (a policy write and the end-of-day
        # reset): the row holds the value at the end of the tick
        last[(t, agent, key)] = value
    return [(t, agent, key, float(v)) for (t, agent, key), v in last.items()]


COLLATERAL_CHANGE = {"CollateralPost": "post", "CollateralWithdraw": "withdraw",
                     "CollateralTimerWithdrawn": "withdraw"}


def collateral_rows(log: EventLog, lo: int, hi: int, capacity: dict) -> list[tuple]:
    """``collateral_events`` rows (id = seq, in seq order) of the collateral changes lo..hi-1.

    ``capacity`` maps a bank to its collateral capacity (for available_capacity_after).
    """
    rows = []
    for et, action in COLLATERAL_CHANGE.items():
        tc = log.by_type.get(et)
        if tc is None:
            continue
        a, b = tc.span(lo, hi)
        timer = et == "CollateralTimerWithdrawn"
        f = tc.field
        n = b - a
        reasons = f("original_reason" if timer else "reason")[a:b]
        layers = repeat("timer", n) if timer else (x or "strategic" for x in f("layer")[a:b])
        for seq, t, agent, amount, after, reason, layer, balance in zip(
                tc.seqs[a:b], tc.ticks[a:b], f("agent_id")[a:b], f("amount")[a:b],
                f("new_total")[a:b], reasons, layers, f("balance")[a:b]):
            cap = capacity.get(agent)
            before = after - amount if action == "post" else after + amount
            rows.append((seq, agent, t, action, amount, reason, layer, balance, before, after,
                         None if cap is None else cap - after))
    rows.sort()
    return rows


def dict_records_log(events: list[dict], log: EventLog) -> None:
    """Append event dicts ``{seq, event_type, tick, **fields}`` to ``log`` (seqs contiguous)."""
    from ..engine.events import from_dict
    if not events:
        return
    if len(log) == 0:
        log.base = events[0]["seq"]
    if events[0]["seq"] != log.end:
        raise ValueError(f"event seq {events[0]['seq']} does not follow seq {log.end - 1}")
    log.extend([from_dict(e) for e in events])
