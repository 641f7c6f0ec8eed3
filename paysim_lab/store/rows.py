"""Arrow batches of a flush, built from the columnar event log (no dict per event).

``event_batch`` turns a flush's events, each event type's columns as they are, into one Arrow
table and a SELECT list that makes the ``simulation_events`` rows: the common columns are picked
per type, and ``details``, the canonical JSON of the event's fields (the catalog's keys,
sorted), is concatenated by DuckDB from the typed columns on the store's writer thread, byte for
byte what ``canonical_json`` gives for the event's field dict.

>>> import duckdb
>>> from paysim_lab.eventlog import EventLog
>>> log = EventLog(); log.extend([("QueuedRtgs", 3, "tx_1", "A")])
>>> _t, select = event_batch(log, 0, 1)
>>> duckdb.connect().execute(f"SELECT details FROM (SELECT {select} FROM _t)").fetchone()[0]
'{"sender_id":"A","tx_id":"tx_1"}'
"""
from __future__ import annotations

from itertools import chain, repeat
from json.encoder import encode_basestring
from typing import Iterable

import numpy as np
import pyarrow as pa

from ..event_frames import AGENT_FIELD, AMOUNT_FIELD, TX_FIELD, int_column
from ..event_json import json_column
from ..eventlog import EventLog, int_array

# Event fields naming payments (for the transactions upsert).
TX_ONE_FIELDS = ("tx_id", "incoming_tx_id", "queued_tx_id")
TX_LIST_FIELDS = ("tx_ids", "child_ids", "source_transactions")


# Characters DuckDB's to_json escapes differently from Python's json (upper-case hex digits):
# a text column holding any of them is encoded in Python instead.
_ODD_CHARS = tuple("\x0b\x0e\x0f\x1a\x1b\x1c\x1d\x1e\x1f")
_NONE = type(None)


def _plain_text(values: Iterable[str | None]) -> bool:
    # one substring search (a C memchr) per character over each distinct text once: event
    # fields repeat a few texts (bank ids, reasons, decision paths) many times
    text = "".join(set(filter(None, values)))
    return not any(c in text for c in _ODD_CHARS)


def field_array(values: list) -> tuple[pa.Array, bool]:
    """One field's values as an Arrow array, and whether it holds the values themselves.

    Text, integer (64-bit), boolean and list-of-text columns (each possibly with None) go as
    they are: DuckDB's ``to_json`` writes them exactly as canonical JSON does. Anything else
    (floats, mappings, mixed kinds, huge integers) goes as its canonical JSON text, made here.

    >>> field_array(["a", None])[1], field_array([1.5])[0].to_pylist()
    (True, ['1.5'])
    """
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    try:
        if not kinds:
            return pa.nulls(len(values), pa.string()), True
        if kinds == {str}:
            if _plain_text(values):
                return pa.array(values, type=pa.string()), True
        elif kinds == {int}:
            return pa.array(values, type=pa.int64()), True
        elif kinds == {bool}:
            return pa.array(values, type=pa.bool_()), True
        elif kinds <= {list, tuple}:
            items = list(chain.from_iterable(filter(None, values)))
            inner = set(map(type, items))
            inner.discard(_NONE)
            if inner <= {str} and _plain_text(items):
                return pa.array(values, type=pa.list_(pa.string())), True
    except (OverflowError, pa.ArrowException):
        pass
    return pa.array(json_column(values), type=pa.string()), False


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _details_sql(names: tuple[str, ...], native: dict[str, bool], prefix: str) -> str:
    """The SQL making an event's canonical JSON from its field columns ``{prefix}f0..fn``: one
    ``concat`` of literal keys and values (a chain of ``||`` copies the growing text once per
    part, about a third more of DuckDB's work on a flush of events)."""
    parts, literal = [], "{"
    for i in sorted(range(len(names)), key=names.__getitem__):
        literal += ("," if literal != "{" else "") + encode_basestring(names[i]) + ":"
        parts.append(_sql_text(literal))
        col = f"{prefix}f{i}"
        parts.append(f"coalesce(to_json({col})::VARCHAR, 'null')" if native[names[i]] else col)
        literal = ""
    parts.append(_sql_text(literal + "}"))
    return f"concat({', '.join(parts)})"


#: The ``simulation_events`` columns an event type's SQL expressions make (besides seq, tick).
_ROW_COLUMNS = ("event_type", "agent_id", "tx_id", "amount", "details")


def _type_columns(tc, a: int, b: int, prefix: str) -> tuple[dict[str, pa.Array], dict[str, str]]:
    """One event type's events a..b-1: its Arrow columns (named ``{prefix}...``) and the SQL
    expression of each of _ROW_COLUMNS over them."""
    et = tc.event_type
    cols: dict[str, pa.Array] = {}
    native = {}
    for i, name in enumerate(tc.names):
        cols[f"{prefix}f{i}"], native[name] = field_array(tc.fields[i][a:b])
    exprs = {"event_type": _sql_text(et)}
    for col, field in (("agent_id", AGENT_FIELD[et]), ("tx_id", TX_FIELD[et])):
        if field is None:
            exprs[col] = "NULL::VARCHAR"
            continue
        source = f"{prefix}f{tc.names.index(field)}"
        if native[field] and pa.types.is_string(cols[source].type):
            exprs[col] = source
        else:
            cols[prefix + col] = pa.array([v if type(v) is str else None
                                           for v in tc.field(field)[a:b]], type=pa.string())
            exprs[col] = prefix + col
    mf = AMOUNT_FIELD[et]
    if mf is None:
        exprs["amount"] = "NULL::BIGINT"
    elif native[mf] and pa.types.is_integer(cols[f"{prefix}f{tc.names.index(mf)}"].type):
        exprs["amount"] = f"{prefix}f{tc.names.index(mf)}"
    else:
        # (an amount beyond 64 bits is kept exactly in details only)
        data, missing = int_column(tc.field(mf)[a:b])
        cols[prefix + "amount"] = pa.array(data, type=pa.int64(), mask=missing)
        exprs["amount"] = prefix + "amount"
    exprs["details"] = _details_sql(tc.names, native, prefix)
    return cols, exprs


def event_batch(log: EventLog, lo: int, hi: int) -> tuple[pa.Table, str] | None:
    """``simulation_events`` rows of seqs lo..hi-1 as ONE Arrow table and the SELECT list that
    makes the rows from it (None when there are no events).

    The table holds seq, tick, the number ``k`` of each row's event type in this batch and, per
    type, its fields ``t{k}_f0..`` (null in the other types' rows: each column is one chunk per
    type, the others' chunks all-null arrays, nothing copied). The SELECT list picks each row's
    event_type, agent_id, tx_id and amount and concatenates ``details``, the canonical JSON of
    its fields (sorted keys, no spaces), with a ``CASE k`` per column: DuckDB reads one table in
    one statement (each Arrow table read costs the store's writer thread several turns at
    Python's lock, taken from the run's thread), and the run's thread only converts columns
    (see :func:`field_array`)."""
    slices = [(tc, a, b) for tc, a, b in log.slices(lo, hi) if b > a]
    if not slices:
        return None
    sizes, per_type, exprs = [], [], []
    for k, (tc, a, b) in enumerate(slices):
        cols, ex = _type_columns(tc, a, b, f"t{k}_")
        cols["seq"] = pa.array(int_array(tc.seqs[a:b]))
        cols["tick"] = pa.array(int_array(tc.ticks[a:b]))
        cols["k"] = pa.array(np.full(b - a, k, dtype=np.int16))
        sizes.append(b - a)
        per_type.append(cols)
        exprs.append(ex)
    names = ["seq", "tick", "k"] + [n for cols in per_type for n in cols
                                     if n not in ("seq", "tick", "k")]
    arrays = []
    # one all-null chunk per (size, type), shared by every column that is null in those rows:
    # a flush has dozens of columns per event type
    nulls: dict[tuple[int, pa.DataType], pa.Array] = {}
    for name in names:
        typ = next(cols[name].type for cols in per_type if name in cols)
        chunks = []
        for n, cols in zip(sizes, per_type):
            chunk = cols.get(name)
            if chunk is None:
                chunk = nulls.get((n, typ))
                if chunk is None:
                    chunk = nulls[n, typ] = pa.nulls(n, typ)
            chunks.append(chunk)
        arrays.append(pa.chunked_array(chunks, typ))
    table = pa.Table.from_arrays(arrays, names=names)
    if len(exprs) == 1:
        select = [f"{exprs[0][c]} AS {c}" for c in _ROW_COLUMNS]
    else:
        select = ["CASE k " + " ".join(f"WHEN {k} THEN {ex[c]}" for k, ex in enumerate(exprs))
                  + f" END AS {c}" for c in _ROW_COLUMNS]
    return table, ", ".join(["seq", "tick"] + select)


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
