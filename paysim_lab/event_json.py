"""Events as JSON text, built per event type from the columnar log.

``json_column`` encodes one field's values the way ``canonical_json`` encodes them inside an
event (C loops for the common column kinds); ``jsonl_lines`` gives the ``--events-out`` line of
every event of a seq range without a dict per event. Neither needs DuckDB or Arrow.

>>> from paysim_lab.eventlog import EventLog
>>> log = EventLog(); log.extend([("QueuedRtgs", 3, "tx_1", "A")])
>>> jsonl_lines(log, 0, 1)
['{"event_type":"QueuedRtgs","tick":3,"tx_id":"tx_1","sender_id":"A"}']
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring

import numpy as np

from .engine.events import FIELDS
from .eventlog import EventLog, int_array
from .records import canonical_json

_FAST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False)
_FAST_JSON_AS_IS = json.JSONEncoder(sort_keys=False, separators=(",", ":"),
                                    ensure_ascii=False, allow_nan=False)
_NONE = type(None)
_CONSTANTS = {None: "null", True: "true", False: "false"}


def json_value(v, sort_keys: bool = True) -> str:
    """Canonical JSON of one field value (as inside ``canonical_json`` of the whole event)."""
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if t is int:
        return int.__repr__(v)
    if v is None:
        return "null"
    try:
        return (_FAST_JSON if sort_keys else _FAST_JSON_AS_IS).encode(v)
    except ValueError:                  # NaN / infinity: written as strings (persistence.md 3.0)
        return canonical_json(v, sort_keys=sort_keys)


def json_column(values: list, sort_keys: bool = True) -> list[str]:
    """:func:`json_value` of each value; whole-column C loops for the common column kinds
    (str, int, bool, each possibly with None)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_basestring, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds <= {bool, _NONE}:
        return list(map(_CONSTANTS.__getitem__, values))
    if kinds == {str, _NONE}:
        return ["null" if v is None else encode_basestring(v) for v in values]
    if kinds == {int, _NONE}:
        return ["null" if v is None else int.__repr__(v) for v in values]
    return [json_value(v, sort_keys) for v in values]


def _line_value(v):
    # nested mappings (scenario-event details) in canonical key order: the live run holds them
    # in emission order, a stored run in the sorted order of its JSON column
    return dict(sorted(v.items())) if isinstance(v, dict) else v


def jsonl_line(ev: dict) -> str:
    """One event as a JSON line: event_type, tick, then its fields in catalog order."""
    et = ev["event_type"]
    obj = {"event_type": et, "tick": ev["tick"]}
    for name in FIELDS[et]:
        obj[name] = _line_value(ev.get(name))
    return canonical_json(obj, sort_keys=False)


def jsonl_lines(log: EventLog, lo: int, hi: int) -> list[str]:
    """:func:`jsonl_line` of each event lo..hi-1 of ``log``, in seq order, from columns."""
    out = np.empty(max(min(hi, log.end) - lo, 0), dtype=object)
    for tc, a, b in log.slices(lo, hi):
        template = ("{" + encode_basestring("event_type") + ":" + encode_basestring(tc.event_type)
                    + "," + encode_basestring("tick") + ":%s"
                    + "".join("," + encode_basestring(n).replace("%", "%%") + ":%s"
                              for n in tc.names) + "}")
        cols = [list(map(int.__repr__, tc.ticks[a:b]))]
        for f in tc.fields:
            values = f[a:b]
            if any(isinstance(v, dict) for v in values):
                values = [_line_value(v) for v in values]
            cols.append(json_column(values, sort_keys=False))
        out[int_array(tc.seqs[a:b]) - lo] = list(map(template.__mod__, zip(*cols)))
    return out.tolist()
