"""The run's event stream, buffered per event type in columns.

The engine appends plain tuples ``(event_type, tick, v1, v2, ...)`` (fields as in
:data:`paysim_lab.engine.events.FIELDS`) to ``world.events`` during a tick. After the tick the
Simulation moves them into an :class:`EventLog`: one :class:`TypeColumns` per event type (its
seqs, ticks and one list per field) plus one type code per event in emission order. Frames,
Arrow batches for the store, JSON lines and tuples for replay checks are all built from these
columns, so no dict exists per event unless a view asks for dicts; the stream itself, in seq
order, is unchanged (it is the single source of truth).

>>> log = EventLog()
>>> log.extend([("QueuedRtgs", 3, "tx_1", "A"), ("EndOfDay", 3, 0, 1, 0)])
>>> log.end, log.columns("QueuedRtgs").fields
(2, [['tx_1'], ['A']])
>>> list(log.records(0))
[(0, ('QueuedRtgs', 3, 'tx_1', 'A')), (1, ('EndOfDay', 3, 0, 1, 0))]
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import repeat
from operator import itemgetter
from typing import Iterator

import numpy as np

from .engine.events import EVENT_TYPES, FIELDS

#: Event type -> small integer code (catalog order), and back.
CODE: dict[str, int] = {et: i for i, et in enumerate(EVENT_TYPES)}
_first = itemgetter(0)


class TypeColumns:
    """The buffered events of one type: ``seqs``, ``ticks`` and ``fields`` (one list per field
    of the catalog, in catalog order)."""

    __slots__ = ("event_type", "names", "seqs", "ticks", "fields")

    def __init__(self, event_type: str):
        self.event_type = event_type
        self.names = FIELDS[event_type]
        self.seqs = array("q")
        self.ticks = array("q")
        self.fields: list[list] = [[] for _ in self.names]

    def __len__(self) -> int:
        return len(self.seqs)

    def span(self, lo: int, hi: int | None = None) -> tuple[int, int]:
        """Index range of this type's events with lo <= seq < hi."""
        a = bisect_left(self.seqs, lo)
        b = len(self.seqs) if hi is None else bisect_left(self.seqs, hi)
        return a, b

    def field(self, name: str) -> list:
        return self.fields[self.names.index(name)]

    def dicts(self, a: int = 0, b: int | None = None) -> list[dict]:
        """The fields of events a..b as dicts (catalog order), built in C loops."""
        cols = [f[a:b] for f in self.fields]
        if not cols:
            return [{} for _ in range(len(self.seqs[a:b]))]
        return list(map(dict, map(zip, repeat(self.names), zip(*cols))))

    def clear(self) -> None:
        self.seqs = array("q")
        self.ticks = array("q")
        self.fields = [[] for _ in self.names]


class EventLog:
    """Events kept in memory, per type in columns; ``base`` is the seq of the first one."""

    __slots__ = ("base", "codes", "by_type")

    def __init__(self):
        self.base = 0
        self.codes = bytearray()          # type code per kept event, in seq order
        self.by_type: dict[str, TypeColumns] = {}

    @property
    def end(self) -> int:
        """Seq the next event will get (= events emitted so far)."""
        return self.base + len(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def columns(self, event_type: str) -> TypeColumns:
        tc = self.by_type.get(event_type)
        if tc is None:
            tc = self.by_type[event_type] = TypeColumns(event_type)
        return tc

    def types(self) -> list[TypeColumns]:
        """The types with kept events, in catalog order (deterministic)."""
        return [self.by_type[et] for et in EVENT_TYPES
                if et in self.by_type and len(self.by_type[et])]

    def extend(self, recs: list[tuple]) -> None:
        """Append engine tuples (one tick's, in emission order) to the columns.

        Grouping is done without a Python loop per event: a stable argsort of the type codes
        gives each type's rows in emission order, ``itemgetter`` picks them, ``zip`` turns
        them into columns.
        """
        if not recs:
            return
        seq0 = self.end
        codes = bytes(map(CODE.__getitem__, map(_first, recs)))
        self.codes.extend(codes)
        arr = np.frombuffer(codes, dtype=np.uint8)
        order = np.argsort(arr, kind="stable")
        bounds = np.flatnonzero(np.diff(arr[order])) + 1
        for idx in np.split(order, bounds):
            tc = self.columns(EVENT_TYPES[arr[idx[0]]])
            rows = [recs[idx[0]]] if len(idx) == 1 else itemgetter(*idx.tolist())(recs)
            tc.seqs.frombytes((idx + seq0).astype(np.int64).tobytes())
            cols = list(zip(*rows))
            tc.ticks.extend(cols[1])
            for f, col in zip(tc.fields, cols[2:]):
                f.extend(col)

    def clear(self) -> None:
        """Drop every kept event (the seq counter continues)."""
        self.base = self.end
        self.codes = bytearray()
        for tc in self.by_type.values():
            tc.clear()

    # ---------------------------------------------------------------- reading
    def records(self, first_seq: int = 0, end_seq: int | None = None
                ) -> Iterator[tuple[int, tuple]]:
        """(seq, engine tuple) of the kept events in [first_seq, end_seq), in seq order."""
        lo = max(first_seq, self.base)
        hi = self.end if end_seq is None else min(end_seq, self.end)
        if lo >= hi:
            return
        iters = {}
        for tc in self.types():
            a, b = tc.span(lo, hi)
            iters[CODE[tc.event_type]] = zip(repeat(tc.event_type), tc.ticks[a:b],
                                             *[f[a:b] for f in tc.fields])
        seq = lo
        for code in self.codes[lo - self.base:hi - self.base]:
            yield seq, next(iters[code])
            seq += 1

    def type_codes(self, first_seq: int) -> np.ndarray:
        """Type codes of the kept events from ``first_seq`` on, as a uint8 array."""
        start = max(first_seq - self.base, 0)
        return np.frombuffer(bytes(self.codes[start:]), dtype=np.uint8)

    def slices(self, lo: int, hi: int | None = None) -> Iterator[tuple[TypeColumns, int, int]]:
        """(columns, a, b) per type with events whose seq is in [lo, hi)."""
        for tc in self.types():
            a, b = tc.span(lo, hi)
            if b > a:
                yield tc, a, b


def int_array(values: array) -> np.ndarray:
    """A copy of an ``array('q')`` (or a slice of one) as an int64 numpy array."""
    return np.frombuffer(values, dtype=np.int64).copy()
