"""The frames a chart reads (:class:`RunData`) and the small helpers that turn them into
plotted values: one scan of a simulation's events, cents to dollars, hover texts."""
from __future__ import annotations

import json
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..engine.events import FIELDS
from ..report import money as _money


# Short labels for scenario events (engine.md 8); the hover text has the details.
_SCENARIO_LABELS = {
    "direct_transfer": "transfer", "custom_transaction_arrival": "custom payment",
    "collateral_adjustment": "credit line change", "global_arrival_rate_change": "arrival rate",
    "agent_arrival_rate_change": "bank arrival rate",
    "counterparty_weight_change": "counterparty weights",
    "deadline_window_change": "deadline window", "scheduled_settlement": "scheduled settlement",
}


class RunData:
    """The frames a chart reads, taken from a Simulation or given directly.

    >>> h = pd.DataFrame({"tick": [0, 0], "day": [0, 0], "agent_id": ["A", "B"],
    ...                   "balance": [100, -50]})
    >>> RunData(history=h).agent_ids
    ['A', 'B']
    """

    def __init__(self, *, history: pd.DataFrame | None = None,
                 events: pd.DataFrame | None = None,
                 transactions: pd.DataFrame | None = None,
                 ticks_per_day: int | None = None, name: str | None = None,
                 sim: Any = None):
        self._sim = sim
        self._history = history
        self._events = events
        self._transactions = transactions
        self._tpd = ticks_per_day
        self.name = name
        self._of_type: dict[tuple, pd.DataFrame] = {}

    @classmethod
    def of(cls, source: Any, main: str = "history", **frames) -> "RunData":
        """Wrap ``source`` (Simulation, RunData, dict of frames or the ``main`` frame)."""
        if isinstance(source, RunData):
            return source
        if _is_simulation(source):
            return cls(sim=source, **frames)
        if isinstance(source, pd.DataFrame):
            return cls(**{main: source}, **frames)
        if isinstance(source, dict):
            return cls(**{**source, **frames})
        if source is None:
            return cls(**frames)
        raise TypeError(f"expected a Simulation, a DataFrame or a dict of frames, got "
                        f"{type(source).__name__}")

    # -- frames
    @property
    def history(self) -> pd.DataFrame:
        if self._history is None:
            self._history = self._sim.history() if self._sim is not None else _empty_history()
        return self._history

    @property
    def transactions(self) -> pd.DataFrame:
        if self._transactions is None:
            if self._sim is None:
                raise ValueError("this chart needs the transactions frame "
                                 "(pass transactions=sim.transactions())")
            self._transactions = self._sim.transactions()
        return self._transactions

    @property
    def events(self) -> pd.DataFrame:
        """The mixed event frame (``sim.events`` shape); empty when none was given."""
        if self._events is None:
            self._events = self._sim.events if self._sim is not None else pd.DataFrame(
                {"tick": [], "seq": [], "event_type": [], "details": []})
        return self._events

    def events_of(self, event_type: str, **where) -> pd.DataFrame:
        """Events of one type, one column per catalog field (plus tick and seq); ``where``
        keeps the rows whose fields equal the given values (on a simulation the filter runs
        while scanning, so a chart that needs a few of 600,000 PolicyHold events stays fast).
        """
        key = (event_type, tuple(sorted(where.items())))
        if key in self._of_type:
            return self._of_type[key]
        if self._sim is not None and self._events is None:
            if where or event_type not in _CHART_EVENT_TYPES:
                frame = _scan_sim(self._sim, {event_type: where})[event_type]
            else:
                # one pass over the log for every type a chart reads (a long run has
                # hundreds of thousands of events; one scan per type would repeat that)
                for et, f in _scan_sim(self._sim, dict.fromkeys(_CHART_EVENT_TYPES, {})).items():
                    self._of_type[(et, ())] = f
                frame = self._of_type[key]
        else:
            frame = _flatten(self.events, event_type)
            for k, v in where.items():
                frame = frame[frame[k] == v] if len(frame) else frame
        self._of_type[key] = frame
        return frame

    # -- run facts
    @property
    def ticks_per_day(self) -> int | None:
        if self._tpd is None and self._sim is not None:
            self._tpd = int(self._sim.ticks_per_day)
        if self._tpd is None:
            h = self.history
            if len(h) and "day" in h.columns:
                later = h.loc[h["day"] > 0, ["tick", "day"]]
                if len(later):
                    first = later.iloc[0]
                    self._tpd = int(first["tick"]) // int(first["day"])
        return self._tpd

    @property
    def title_suffix(self) -> str:
        name = self.name
        if name is None and self._sim is not None:
            name = getattr(getattr(self._sim, "scenario", None), "name", None)
        return f" — {name}" if name else ""

    @property
    def agent_ids(self) -> list[str]:
        if self._sim is not None and hasattr(self._sim, "world"):
            return sorted(a.id for a in self._sim.world.agent_list)
        if self._sim is not None and hasattr(self._sim, "agent_ids"):     # a StoredRun
            return list(self._sim.agent_ids)
        h = self.history
        if len(h):
            return sorted(set(h["agent_id"]))
        if self._transactions is not None and len(self._transactions):
            t = self._transactions
            return sorted(set(t["sender_id"]) | set(t["receiver_id"]))
        return []

    @property
    def ticks_run(self) -> int:
        """Ticks completed (from the simulation, else history, else events)."""
        if self._sim is not None:
            return int(self._sim.current_tick)
        h = self.history
        if len(h):
            return int(h["tick"].max()) + 1
        ev = self.events
        if len(ev):
            return int(ev["tick"].max()) + 1
        return 0

    def scenario_marks(self) -> list[tuple[int, str, str]]:
        """(tick, label, hover text) per tick with executed scenario events, in tick order."""
        ev = self.events_of("ScenarioEventExecuted")
        by_tick: dict[int, list[tuple[str, str]]] = {}
        for row in ev.itertuples(index=False):
            kind = getattr(row, "scenario_event_type")
            details = getattr(row, "details", None)
            if not isinstance(details, dict):
                raw = getattr(row, "details_json", None)
                details = json.loads(raw) if isinstance(raw, str) and raw else {}
            by_tick.setdefault(int(row.tick), []).append((kind, _details_text(details)))
        out = []
        for tick in sorted(by_tick):
            items = by_tick[tick]
            kinds = list(dict.fromkeys(k for k, _ in items))
            label = ", ".join(_SCENARIO_LABELS.get(k, k.replace("_", " ")) for k in kinds)
            hover = "<br>".join(f"{k}: {d}" for k, d in items)
            out.append((tick, label, hover))
        return out


def _is_simulation(x) -> bool:
    return callable(getattr(x, "history", None)) and callable(getattr(x, "events_of", None))


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in ("tick", "day", "agent_id", "balance", "credit_used",
                                         "posted_collateral", "available_liquidity",
                                         "queue1_count", "queue1_value", "queue2_count",
                                         "queue2_value", "release_budget_remaining",
                                         "cost_to_date")})


#: Event types the charts read; a simulation's log is scanned once for all of them.
_CHART_EVENT_TYPES = ("ScenarioEventExecuted", "CollateralPost", "CollateralWithdraw",
                      "CollateralTimerWithdrawn", "CollateralTimerBlocked", "BankBudgetSet",
                      "CostAccrual", "LsmBilateralOffset", "EntryDispositionOffset",
                      "LsmCycleSettlement")


def _scan_sim(sim, wanted: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """One pass over ``sim``'s events: per wanted type, the rows whose fields equal its
    ``where`` dict, as a frame like ``sim.events_of`` (tick, seq, one column per field)."""
    checks: dict[str, list[tuple[int, Any]]] = {}
    for et, where in wanted.items():
        if et not in FIELDS:
            raise ValueError(f"unknown event type {et!r}")
        names = list(FIELDS[et])
        unknown = [k for k in where if k not in names]
        if unknown:
            raise ValueError(f"{et} has no field(s) {', '.join(unknown)}")
        # a record is (type, tick, *fields)
        checks[et] = [(names.index(k) + 2, v) for k, v in where.items()]
    log = getattr(sim, "event_log", None)      # a Simulation's columnar event log
    out = {}
    for et, check in checks.items():
        names = ["tick", "seq", *FIELDS[et]]
        if log is not None:
            # the type's own columns: no pass over the other types' events
            tc = log.by_type.get(et)
            cols = ([list(tc.ticks), list(tc.seqs), *tc.fields] if tc is not None
                    else [[] for _ in names])
        else:                                   # a StoredRun: its events_of frame
            frame = sim.events_of(et)
            cols = [[None if _na(v) else v for v in frame[c].tolist()] for c in names]
        keep = None
        for i, v in check:                      # i: position in the record (type, tick, ...)
            col = cols[i]
            hit = [x == v for x in col]
            keep = hit if keep is None else [a and b for a, b in zip(keep, hit)]
        if keep is not None:
            cols = [[x for x, k in zip(col, keep) if k] for col in cols]
        out[et] = pd.DataFrame({c: pd.Series(list(col), dtype="object")
                                for c, col in zip(names, cols)})
    return out


def _flatten(events: pd.DataFrame, event_type: str) -> pd.DataFrame:
    """One event type's rows from a mixed or flat event frame, one column per field."""
    names = list(FIELDS.get(event_type, ()))
    cols = ["tick", "seq"] + names
    if len(events) == 0 or "event_type" not in events.columns:
        return pd.DataFrame({c: [] for c in cols})
    rows = events[events["event_type"] == event_type]
    out: dict[str, list] = {c: [] for c in cols}
    has_details = "details" in rows.columns
    for i, (_, r) in enumerate(rows.iterrows()):
        det = r["details"] if has_details and isinstance(r["details"], dict) else {}
        out["tick"].append(int(r["tick"]))
        out["seq"].append(int(r["seq"]) if "seq" in rows.columns and not _na(r["seq"]) else i)
        for n in names:
            if n in det:
                out[n].append(det[n])
            elif n in rows.columns and n != "details":
                v = r[n]
                out[n].append(None if _na(v) else v)
            else:
                out[n].append(None)
    return pd.DataFrame({c: pd.Series(v, dtype="object") for c, v in out.items()})


def _na(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _unsettled(flag) -> bool:
    """True for an LSM event that reports ``settled`` false (missing means settled)."""
    return not _na(flag) and not bool(flag)


def _cents(values: Iterable) -> list:
    """Exact integer cents (None where missing)."""
    return [None if _na(v) else int(v) for v in values]


def _dollars(cents: Iterable) -> list:
    return [None if c is None else c / 100 for c in cents]


def _column(values: list):
    """A trace column: a numpy array when nothing is missing (plotly checks arrays at once and
    sends them in binary; a long run's lists take seconds element by element), else the list.
    """
    if any(v is None for v in values):
        return values
    return np.asarray(values, dtype=np.float64 if any(isinstance(v, float) for v in values)
                      else np.int64)


def _series(ticks, cents: list) -> tuple:
    """x ticks, y dollars and customdata cents of a money line, as trace columns."""
    x = np.asarray([int(t) for t in ticks], dtype=np.int64)
    cd = _column(cents)
    y = cd / 100 if isinstance(cd, np.ndarray) else _dollars(cents)
    return x, y, cd


def _details_text(d: dict) -> str:
    parts = []
    for k, v in d.items():
        if k in ("amount", "delta") and isinstance(v, int):
            v = f"{_money(v)} ({v:,} cents)"
        parts.append(f"{k}={v}")
    return ", ".join(parts)
