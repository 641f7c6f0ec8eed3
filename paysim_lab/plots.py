"""Plotly charts of a run: liquidity, collateral, budgets, queues, costs, flows, LSM, one payment.

Every function takes a :class:`paysim_lab.Simulation` (or the frames it produces) and returns a
``plotly.graph_objects.Figure``. Conventions shared by all charts:

- x is the tick; day boundaries are dotted vertical lines (shape names ``"day N"``, labels
  thinned to every n-th day on long runs) and every executed scenario event is a dashed line
  (shape names ``"scenario: LABEL"``) labelled above the plot where the label fits; labels that
  would collide become a small triangle whose hover text shows them. All of them are added in
  one layout update. ``markers="hover"`` puts every event label on hover, ``markers=False``
  leaves day and event markers out.
- Money is plotted in dollars (cents / 100). The exact cents travel with the data: a money line
  carries them as ``customdata`` (one int per point); a marker trace carries a row per point whose
  first entry is the y value in cents. Hover text shows both.
- Each trace has ``meta`` (a dict such as ``{"agent_id": "A", "metric": "balance"}``); use
  :func:`find_traces` to pick traces out in tests and notebooks.

Passing frames instead of a simulation: the first argument may be the chart's main frame
(``history`` for liquidity/collateral/budgets/queues, ``events`` for costs/lsm/timeline,
``transactions`` for settlement_flow), a dict of frames, or a :class:`RunData`; extra frames go
in as keywords (``events=``, ``history=``, ``transactions=``, ``ticks_per_day=``). ``events`` is
the mixed frame of ``sim.events`` (with its ``details`` column) or a flat frame with one column per
field, as read back from a store or a JSON-lines export.

>>> import paysim_lab as psl                                  # doctest: +SKIP
>>> sim = psl.Simulation.from_file(psl.data.scenario_path("two_bank_teaching"))  # doctest: +SKIP
>>> sim.run(); psl.plots.liquidity(sim).show()                # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .engine.events import FIELDS
from .report import money as _money

__all__ = ["RunData", "liquidity", "collateral", "budgets", "queues", "costs",
           "settlement_flow", "lsm", "timeline", "find_traces", "COST_KINDS"]

# Bank colours: one per bank in sorted-id order, the same in every chart of a run.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31",
           "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1")

#: Cost kinds in the order of ``sim.costs()``; label and colour per kind.
COST_KINDS = ("overdraft", "delay", "collateral", "liquidity_opportunity", "deadline_penalty",
              "eod_penalty", "split_friction")
_COST_LABELS = {"overdraft": "overdraft", "delay": "delay", "collateral": "collateral",
                "liquidity_opportunity": "liquidity opportunity",
                "deadline_penalty": "deadline penalty", "eod_penalty": "end-of-day penalty",
                "penalty": "penalties", "split_friction": "split friction"}
_COST_COLORS = {"overdraft": "#d62728", "delay": "#ff7f0e", "collateral": "#9467bd",
                "liquidity_opportunity": "#17becf", "deadline_penalty": "#8c564b",
                "eod_penalty": "#e377c2", "penalty": "#8c564b", "split_friction": "#7f7f7f"}
# CostAccrual columns per kind (engine.md 9); penalties are told apart by the event's source
_ACCRUAL_COLUMN = {"overdraft": "liquidity_cost", "delay": "delay_cost",
                   "collateral": "collateral_cost",
                   "liquidity_opportunity": "liquidity_opportunity_cost",
                   "split_friction": "split_friction_cost"}

_DAY_LINE = dict(color="rgba(120,120,120,0.6)", width=1, dash="dot")
_EVENT_LINE = dict(color="rgba(214,39,40,0.75)", width=1.5, dash="dash")


# ------------------------------------------------------------------------------- data access
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


# ------------------------------------------------------------------------------- small helpers
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


def _colors(ids: list[str], all_ids: list[str]) -> dict[str, str]:
    order = {a: i for i, a in enumerate(all_ids)}
    return {a: PALETTE[order.get(a, i) % len(PALETTE)] for i, a in enumerate(ids)}


def _select(ids: list[str], agents) -> list[str]:
    if agents is None:
        return ids
    wanted = [agents] if isinstance(agents, str) else list(agents)
    unknown = [a for a in wanted if a not in ids]
    if unknown:
        raise ValueError(f"unknown agent(s) {', '.join(map(repr, unknown))}; "
                         f"the run has {', '.join(ids) or 'no agents'}")
    return [a for a in ids if a in wanted]


def _money_hover(label: str) -> str:
    return (f"<b>{label}</b><br>tick %{{x}}<br>$%{{y:,.2f}}"
            f"<br>%{{customdata:,}} cents<extra></extra>")


def _money_line(ticks, cents, *, name, meta, color, dash=None, showlegend=True,
                legendgroup=None, label=None, shape="hv") -> go.Scatter:
    cents = _cents(cents)
    x, y, cd = _series(ticks, cents)
    return go.Scatter(x=x, y=y, customdata=cd,
                      name=name, meta=meta, mode="lines", line=dict(color=color, dash=dash,
                                                                    shape=shape),
                      legendgroup=legendgroup or name, showlegend=showlegend,
                      hovertemplate=_money_hover(label or name))


def find_traces(fig: go.Figure, **meta) -> list:
    """Traces whose ``meta`` dict has every given key/value.

    >>> fig = go.Figure(go.Scatter(x=[0], y=[1], meta={"agent_id": "A", "metric": "balance"}))
    >>> [t.meta["metric"] for t in find_traces(fig, agent_id="A")]
    ['balance']
    """
    out = []
    for t in fig.data:
        m = t.meta if isinstance(t.meta, dict) else {}
        if all(m.get(k) == v for k, v in meta.items()):
            out.append(t)
    return out


def _vline_shape(x: float, *, name: str, line: dict) -> dict:
    """A vertical line over the whole plot area (all stacked subplots share x)."""
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line,
                name=name, layer="below")


def _label(x: float, text: str, *, name: str, color: str, hover: str | None = None,
           level: int = 0, at_bottom: bool = False) -> dict:
    """A marker's label: above the plot (``level`` staggers labels that would overlap) or at
    the bottom inside it."""
    if at_bottom:
        place = dict(y=0.0, yanchor="bottom", yshift=2)
    else:
        place = dict(y=1.0, yanchor="bottom", yshift=22 + 13 * level)
    return dict(x=x, xref="x", yref="paper", text=text, showarrow=False, xanchor="left",
                font=dict(size=10, color=color), hovertext=hover, name=name, **place)


def _hover_glyph(x: float, *, name: str, color: str, hover: str) -> dict:
    """A small triangle on top of a marker line whose hover text carries the label."""
    return dict(x=x, xref="x", yref="paper", y=1.0, yanchor="bottom", yshift=2, text="▾",
                showarrow=False, xanchor="center", font=dict(size=12, color=color),
                hovertext=hover, name=name)


def _add_layout_items(fig: go.Figure, shapes: list[dict], notes: list[dict]) -> None:
    """Add shapes and annotations in one layout update (adding them one by one re-validates
    the whole list each time: quadratic, seconds for a long run)."""
    if shapes or notes:
        fig.update_layout(shapes=list(fig.layout.shapes) + shapes,
                          annotations=list(fig.layout.annotations) + notes)


# Short labels for scenario events (engine.md 8); the hover text has the details.
_SCENARIO_LABELS = {
    "direct_transfer": "transfer", "custom_transaction_arrival": "custom payment",
    "collateral_adjustment": "credit line change", "global_arrival_rate_change": "arrival rate",
    "agent_arrival_rate_change": "bank arrival rate",
    "counterparty_weight_change": "counterparty weights",
    "deadline_window_change": "deadline window", "scheduled_settlement": "scheduled settlement",
}
_PLOT_WIDTH_PX = 850   # typical plot-area width, to estimate where labels collide
_CHAR_PX = 6
_LABEL_LEVELS = 3      # rows of event labels above the plot; the rest go to hover
#: Values of the charts' ``markers`` option.
MARKER_MODES = (True, "hover", False)


def _label_levels(xs_labels: list[tuple[float, str]], span: float,
                  levels: int = _LABEL_LEVELS) -> list[int | None]:
    """A stagger level per label so that labels on one level do not overlap; None for a label
    that fits on no level (it is shown on hover instead).

    >>> _label_levels([(0, "transfer"), (1, "transfer"), (2, "transfer")], 850, levels=2)
    [0, 1, None]
    """
    ends = [-math.inf] * levels
    out: list[int | None] = []
    per_px = span / _PLOT_WIDTH_PX if span > 0 else 0.0
    for x, label in xs_labels:
        width = (len(label) * _CHAR_PX + 8) * per_px
        lvl = next((i for i in range(levels) if x >= ends[i]), None)
        if lvl is not None:
            ends[lvl] = x + width
        out.append(lvl)
    return out


def _day_label_step(tpd: int, span: float, days: int) -> int:
    """Label every n-th day boundary so that the "day N" labels do not overlap."""
    if span <= 0:
        return 1
    px_per_day = tpd * _PLOT_WIDTH_PX / span
    width = (len(f"day {days}") * _CHAR_PX + 10)
    return max(1, math.ceil(width / px_per_day)) if px_per_day > 0 else 1


def _check_markers(markers) -> None:
    if not (isinstance(markers, bool) or markers == "hover"):
        raise ValueError(f"markers must be True (lines and labels), 'hover' (lines, labels on "
                         f"hover) or False (none), got {markers!r}")


def _decorate(fig: go.Figure, data: RunData, *, title: str, rows: int = 1,
              x_range: tuple[float, float] | None = None, markers: bool | str = True,
              ytitles: Iterable[str] = ()) -> go.Figure:
    """Title, axis titles, day boundaries and scenario-event markers.

    ``markers``: True draws each executed scenario event as a dashed line with its label
    above the plot where it fits (labels that would collide become a small triangle whose hover
    shows them); "hover" puts every label on hover; False leaves events (and day lines) out.
    """
    _check_markers(markers)
    last = data.ticks_run - 1
    tpd = data.ticks_per_day
    lo, hi = x_range if x_range is not None else (-0.5, max(last, 0) + 0.5)
    shapes: list[dict] = []
    notes: list[dict] = []
    if markers is not False and tpd and last >= 0:
        days = last // tpd
        step = _day_label_step(tpd, hi - lo, days)
        for d in range(1, days + 1):
            x = d * tpd - 0.5
            if lo <= x <= hi:
                shapes.append(_vline_shape(x, name=f"day {d}", line=_DAY_LINE))
                if d % step == 0:
                    notes.append(_label(x, f"day {d}", name=f"day {d}",
                                        color=_DAY_LINE["color"], at_bottom=True))
    if markers is not False:
        marks = [(t, lab, hov) for t, lab, hov in data.scenario_marks() if lo <= t <= hi]
        levels = (_label_levels([(t, lab) for t, lab, _ in marks], hi - lo)
                  if markers is True else [None] * len(marks))
        color = _EVENT_LINE["color"]
        for (tick, label, hover), lvl in zip(marks, levels):
            name = f"scenario: {label}"
            shapes.append(_vline_shape(tick, name=name, line=_EVENT_LINE))
            if lvl is None:
                notes.append(_hover_glyph(tick, name=name, color=color,
                                          hover=f"<b>{label}</b> (tick {tick})<br>{hover}"))
            else:
                notes.append(_label(tick, label, name=name, color=color, hover=hover,
                                    level=lvl))
    _add_layout_items(fig, shapes, notes)
    fig.update_layout(title=dict(text=title + data.title_suffix, x=0.01, xanchor="left"),
                      height=max(420, 230 * rows + 120), template="plotly_white",
                      margin=dict(t=130, l=70, r=20, b=50))
    fig.update_xaxes(title_text="tick", row=rows, col=1) if rows > 1 else \
        fig.update_xaxes(title_text="tick")
    for i, t in enumerate(ytitles, start=1):
        # money axes: dollars with a $ on every tick label
        props = dict(title_text="dollars", tickprefix="$") if t == "$" else dict(title_text=t)
        if rows > 1:
            fig.update_yaxes(row=i, col=1, **props)
        else:
            fig.update_yaxes(**props)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    elif last >= 0:
        fig.update_xaxes(range=[-0.5, last + 0.5])
    return fig


def _empty(fig: go.Figure, text: str) -> None:
    """A message in the middle of the top panel (the middle of the figure would sit on a
    subplot title of a stacked chart)."""
    lo, hi = fig.layout.yaxis.domain or (0.0, 1.0)
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=(lo + hi) / 2,
                       showarrow=False, font=dict(size=14, color="#666"), name="empty")


# ------------------------------------------------------------------------------- the charts
LIQUIDITY_METRICS = (("balance", "Balance"), ("credit_used", "Credit used"),
                     ("available_liquidity", "Available liquidity"))


def liquidity(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Balance, credit used and available liquidity per bank over ticks (three stacked panels).

    Traces: one per bank and metric, ``meta={"agent_id", "metric"}``; y in dollars,
    ``customdata`` the exact cents of ``sim.history()``.

    >>> fig = liquidity(sim)                                       # doctest: +SKIP
    >>> find_traces(fig, agent_id="A", metric="balance")[0].customdata  # doctest: +SKIP
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=[t for _, t in LIQUIDITY_METRICS])
    for row, (col, label) in enumerate(LIQUIDITY_METRICS, start=1):
        for aid in ids:
            part = h[h["agent_id"] == aid]
            fig.add_trace(_money_line(part["tick"], part[col], name=aid,
                                      meta={"agent_id": aid, "metric": col},
                                      color=colors[aid], showlegend=row == 1,
                                      label=f"{aid} {label.lower()}"), row=row, col=1)
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Liquidity", rows=3, ytitles=("$", "$", "$"),
                     markers=markers)


def collateral(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Posted collateral per bank (from history) with markers for posts and withdrawals.

    Marker traces (``meta={"event_type": ...}``) for CollateralPost, CollateralWithdraw,
    CollateralTimerWithdrawn and CollateralTimerBlocked; a marker sits at the event's new total
    (blocked timers: at the posted amount after that tick); its ``customdata`` row is
    ``[y cents, amount cents, agent_id, reason]``.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = go.Figure()
    for aid in ids:
        part = h[h["agent_id"] == aid]
        fig.add_trace(_money_line(part["tick"], part["posted_collateral"], name=aid,
                                  meta={"agent_id": aid, "metric": "posted_collateral"},
                                  color=colors[aid], label=f"{aid} posted collateral"))
    posted_after = {(a, int(t)): int(v) for a, t, v in
                    zip(h["agent_id"], h["tick"], h["posted_collateral"])} if len(h) else {}
    specs = (("CollateralPost", "posted", "triangle-up", "amount", "reason"),
             ("CollateralWithdraw", "withdrawn", "triangle-down", "amount", "reason"),
             ("CollateralTimerWithdrawn", "auto-withdrawn (timer)", "diamond", "amount",
              "original_reason"),
             ("CollateralTimerBlocked", "timer blocked", "x", "requested_amount", "reason"))
    for et, label, symbol, amount_col, reason_col in specs:
        ev = data.events_of(et)
        ev = ev[ev["agent_id"].isin(ids)] if len(ev) else ev
        if not len(ev):
            continue
        xs, ys, cd, marker_colors = [], [], [], []
        for r in ev.itertuples(index=False):
            aid, tick = r.agent_id, int(r.tick)
            y = (int(r.new_total) if et != "CollateralTimerBlocked"
                 else posted_after.get((aid, tick), 0))
            amount = int(getattr(r, amount_col))
            xs.append(tick)
            ys.append(y / 100)
            cd.append([y, amount, aid, str(getattr(r, reason_col))])
            marker_colors.append(colors[aid])
        fig.add_trace(go.Scatter(
            x=xs, y=ys, customdata=cd, mode="markers", name=label,
            meta={"event_type": et},
            marker=dict(symbol=symbol, size=11, color=marker_colors,
                        line=dict(width=1, color="#333")),
            hovertemplate=(f"<b>%{{customdata[2]}} {label}</b><br>tick %{{x}}"
                           f"<br>amount %{{customdata[1]:,}} cents<br>reason %{{customdata[3]}}"
                           f"<br>posted now $%{{y:,.2f}} (%{{customdata[0]:,}} cents)"
                           f"<extra></extra>")))
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Posted collateral", ytitles=("$",), markers=markers)


def budget_frame(source, **frames) -> pd.DataFrame:
    """Per bank and tick: the release budget in force (max), remaining and used, in cents.

    A bank without a budget at a tick (unlimited) gets NA. ``max`` is the value of the bank's
    latest BankBudgetSet at or before that tick; ``used = max - remaining``.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    sets = data.events_of("BankBudgetSet")
    latest: dict[str, list[tuple[int, int, int]]] = {}
    for r in sets.itertuples(index=False):
        latest.setdefault(r.agent_id, []).append((int(r.tick), int(r.seq), int(r.max_value)))
    for v in latest.values():
        v.sort()
    rows = []
    pos: dict[str, int] = {}
    current: dict[str, int | None] = {}
    for r in h.sort_values(["tick"], kind="stable").itertuples(index=False):
        aid, tick = r.agent_id, int(r.tick)
        lst = latest.get(aid, [])
        i = pos.get(aid, 0)
        while i < len(lst) and lst[i][0] <= tick:
            current[aid] = lst[i][2]
            i += 1
        pos[aid] = i
        rem = None if _na(r.release_budget_remaining) else int(r.release_budget_remaining)
        mx = current.get(aid) if rem is not None else None
        used = (mx - rem) if (mx is not None and rem is not None) else None
        rows.append((tick, aid, mx, rem, used))
    out = pd.DataFrame.from_records(rows, columns=["tick", "agent_id", "max_value", "remaining",
                                                   "used"])
    for i, c in ((2, "max_value"), (3, "remaining"), (4, "used")):
        # from the Python ints: through float64 a budget of 2**63 - 1 would not fit
        out[c] = pd.array([r[i] for r in rows], dtype="Int64")
    return out


def budgets(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Release budget per bank and tick: the budget in force vs the part used.

    One panel per bank that had a budget. Traces ``meta={"agent_id", "metric": "max"|"used"}``
    (y dollars, customdata cents; NA where the bank had no budget) and, where payments were
    held for lack of budget, ``meta={"agent_id", "event_type": "PolicyHold"}`` markers with
    ``customdata`` rows ``[used cents, payments held, tx ids]``.
    """
    data = RunData.of(source, "history", **frames)
    frame = budget_frame(data)
    budget_sets = data.events_of("BankBudgetSet")
    # a payment is held for lack of budget only after a BankBudgetSet: without one, skip the
    # scan of what can be hundreds of thousands of other holds
    holds = (data.events_of("PolicyHold", reason="BudgetExhausted") if len(budget_sets)
             else pd.DataFrame({c: [] for c in ["tick", "seq", *FIELDS["PolicyHold"]]}))
    all_ids = data.agent_ids
    with_budget = sorted(set(frame.loc[frame["max_value"].notna(), "agent_id"])
                         | set(budget_sets["agent_id"])
                         | (set(holds["agent_id"]) if len(holds) else set()))
    ids = _select(all_ids, agents)
    ids = [a for a in ids if a in with_budget]
    colors = _colors(ids, all_ids)
    rows = max(len(ids), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{a}: release budget" for a in ids] or None)
    for row, aid in enumerate(ids, start=1):
        part = frame[frame["agent_id"] == aid]
        used = _cents(part["used"])
        fig.add_trace(go.Bar(x=[int(t) for t in part["tick"]], y=_dollars(used),
                             customdata=used, name=f"{aid} used",
                             meta={"agent_id": aid, "metric": "used"},
                             marker=dict(color=colors[aid], opacity=0.55),
                             hovertemplate=_money_hover(f"{aid} budget used")), row=row, col=1)
        fig.add_trace(_money_line(part["tick"], part["max_value"], name=f"{aid} budget",
                                  meta={"agent_id": aid, "metric": "max"},
                                  color=colors[aid], dash="dash",
                                  label=f"{aid} budget in force"), row=row, col=1)
        hb = holds[holds["agent_id"] == aid] if len(holds) else holds
        if len(hb):
            used_at = dict(zip((int(t) for t in part["tick"]), used))
            grouped: dict[int, list[str]] = {}
            for r in hb.itertuples(index=False):
                grouped.setdefault(int(r.tick), []).append(str(r.tx_id))
            xs = sorted(grouped)
            ys_c = [used_at.get(t) or 0 for t in xs]
            fig.add_trace(go.Scatter(
                x=xs, y=_dollars(ys_c), mode="markers", name=f"{aid} held: budget exhausted",
                customdata=[[c, len(grouped[t]), ", ".join(grouped[t])] for c, t in
                            zip(ys_c, xs)],
                meta={"agent_id": aid, "event_type": "PolicyHold"},
                marker=dict(symbol="x", size=11, color="#d62728"),
                hovertemplate=("<b>" + aid + ": %{customdata[1]} payment(s) held "
                               "(BudgetExhausted)</b><br>tick %{x}<br>%{customdata[2]}"
                               "<br>used $%{y:,.2f} (%{customdata[0]:,} cents)<extra></extra>")),
                row=row, col=1)
    if not ids:
        _empty(fig, "No release budgets were set in this run")
    fig.update_layout(barmode="overlay")
    return _decorate(fig, data, title="Release budgets", rows=rows,
                     ytitles=["$"] * len(ids), markers=markers)


def queues(source, agents=None, by_agent: bool = True, markers: bool | str = True,
           **frames) -> go.Figure:
    """Queue 1 (held by the bank) and Queue 2 (waiting in RTGS) over ticks: count and value.

    Traces ``meta={"agent_id" (or "all"), "queue": "queue1"|"queue2", "metric":
    "count"|"value"}``; value traces in dollars with cents in ``customdata``. With
    ``by_agent=False`` one trace per queue sums all banks.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Payments queued (count)", "Value queued"))
    h = h[h["agent_id"].isin(ids)] if len(h) else h
    if by_agent:
        groups = [(aid, h[h["agent_id"] == aid], colors[aid]) for aid in ids]
    else:
        summed = (h.groupby("tick", sort=True)[["queue1_count", "queue1_value", "queue2_count",
                                                "queue2_value"]].sum().reset_index()
                  if len(h) else h)
        groups = [("all", summed, "#333")]
    for aid, part, color in groups:
        for q, dash, qlabel in (("queue1", None, "Queue 1"), ("queue2", "dot", "Queue 2")):
            name = f"{aid} {qlabel}" if aid != "all" else qlabel
            ticks = [int(t) for t in part["tick"]]
            counts = _cents(part[f"{q}_count"])
            fig.add_trace(go.Scatter(x=_column(ticks), y=_column(counts), name=name,
                                     mode="lines",
                                     meta={"agent_id": aid, "queue": q, "metric": "count"},
                                     line=dict(color=color, dash=dash, shape="hv"),
                                     legendgroup=name,
                                     hovertemplate=f"<b>{name}</b><br>tick %{{x}}<br>"
                                                   f"%{{y}} payment(s)<extra></extra>"),
                          row=1, col=1)
            fig.add_trace(_money_line(part["tick"], part[f"{q}_value"], name=name,
                                      meta={"agent_id": aid, "queue": q, "metric": "value"},
                                      color=color, dash=dash, showlegend=False,
                                      legendgroup=name, label=f"{name} value"), row=2, col=1)
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Queues", rows=2, ytitles=("payments", "$"),
                     markers=markers)


def cost_frame(source, **frames) -> pd.DataFrame:
    """Cumulative cost per bank, tick and kind (cents), from CostAccrual events.

    Columns: ``tick, agent_id`` and one per kind of :data:`COST_KINDS` (deadline and
    end-of-day penalties told apart by the event's ``source``; without it a single
    ``penalty`` column), plus ``total``. One row per bank per tick run.
    """
    data = RunData.of(source, "events", **frames)
    ev = data.events_of("CostAccrual")
    has_source = len(ev) == 0 or ("source" in ev.columns and ev["source"].notna().all())
    kinds = list(COST_KINDS) if has_source else [k for k in COST_KINDS
                                                 if "penalty" not in k] + ["penalty"]
    n = max(data.ticks_run, (int(ev["tick"].max()) + 1) if len(ev) else 0)
    ids = data.agent_ids or sorted(set(ev["agent_id"]))
    per: dict[tuple[str, int], dict[str, int]] = {}
    for r in ev.itertuples(index=False):
        d = per.setdefault((r.agent_id, int(r.tick)), dict.fromkeys(kinds, 0))
        for k in kinds:
            if k in _ACCRUAL_COLUMN:
                d[k] += int(getattr(r, _ACCRUAL_COLUMN[k]) or 0)
        pen = int(r.penalty_cost or 0)
        if has_source:
            d["eod_penalty" if r.source == "eod" else "deadline_penalty"] += pen
        else:
            d["penalty"] += pen
    rows = []
    for aid in ids:
        run = dict.fromkeys(kinds, 0)
        for t in range(n):
            d = per.get((aid, t))
            if d:
                for k in kinds:
                    run[k] += d[k]
            rows.append((t, aid, *(run[k] for k in kinds), sum(run.values())))
    return pd.DataFrame.from_records(rows, columns=["tick", "agent_id", *kinds, "total"])


def costs(source, agents=None, cumulative: bool = True, markers: bool | str = True,
          **frames) -> go.Figure:
    """Costs by kind per bank: cumulative stacked areas over ticks (one panel per bank), or with
    ``cumulative=False`` stacked bars of the run totals per bank.

    Traces ``meta={"agent_id", "kind"}`` (areas) or ``meta={"kind"}`` (bars); y dollars,
    ``customdata`` cents. The last cumulative value of a kind equals ``sim.costs()``.
    """
    data = RunData.of(source, "events", **frames)
    frame = cost_frame(data)
    kinds = [c for c in frame.columns if c not in ("tick", "agent_id", "total")]
    all_ids = data.agent_ids or sorted(set(frame["agent_id"]))
    ids = _select(all_ids, agents)
    if not cumulative:
        fig = go.Figure()
        last = frame.sort_values("tick").groupby("agent_id").tail(1).set_index("agent_id")
        for k in kinds:
            cents = [int(last.loc[a, k]) if a in last.index else 0 for a in ids]
            fig.add_trace(go.Bar(x=ids, y=_dollars(cents), customdata=cents,
                                 name=_COST_LABELS[k], meta={"kind": k},
                                 marker=dict(color=_COST_COLORS[k]),
                                 hovertemplate=(f"<b>%{{x}} {_COST_LABELS[k]}</b><br>"
                                                f"$%{{y:,.2f}}<br>%{{customdata:,}} cents"
                                                f"<extra></extra>")))
        fig.update_layout(barmode="stack")
        fig.update_layout(title=dict(text="Costs by kind" + data.title_suffix, x=0.01),
                          template="plotly_white", height=420,
                          margin=dict(t=90, l=70, r=20, b=50))
        fig.update_xaxes(title_text="bank")
        fig.update_yaxes(title_text="dollars", tickprefix="$")
        return fig
    rows = max(len(ids), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{a}: cumulative cost" for a in ids] or None)
    for row, aid in enumerate(ids, start=1):
        part = frame[frame["agent_id"] == aid]
        for k in kinds:
            x, y, cd = _series(part["tick"], _cents(part[k]))
            fig.add_trace(go.Scatter(
                x=x, y=y, customdata=cd,
                name=_COST_LABELS[k], legendgroup=k, showlegend=row == 1,
                meta={"agent_id": aid, "kind": k}, mode="lines", stackgroup=f"costs_{aid}",
                line=dict(color=_COST_COLORS[k], width=0.5),
                hovertemplate=_money_hover(f"{aid} {_COST_LABELS[k]} to date")),
                row=row, col=1)
    if not len(frame):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Cumulative costs", rows=rows, ytitles=["$"] * len(ids),
                     markers=markers)


def _is_settled(status: pd.Series) -> pd.Series:
    """``settled`` rows; also accepts the capitalised spelling older frames used."""
    return status.astype("object").str.lower() == "settled"


def flow_matrix(source, **frames) -> pd.DataFrame:
    """Settled value (cents) sender x receiver, from payments with status ``settled``.

    Split parents are left out (their children carry the value), so nothing counts twice.
    """
    data = RunData.of(source, "transactions", **frames)
    tx = data.transactions
    ids = sorted(set(data.agent_ids) | set(tx["sender_id"]) | set(tx["receiver_id"])) \
        if len(tx) else data.agent_ids
    parents = set(p for p in tx["parent_id"] if not _na(p)) if len(tx) else set()
    settled = tx[_is_settled(tx["status"]) & ~tx["tx_id"].isin(parents)] if len(tx) else tx
    m = pd.DataFrame(0, index=pd.Index(ids, name="sender"),
                     columns=pd.Index(ids, name="receiver"), dtype="int64")
    for s, r, a in zip(settled["sender_id"], settled["receiver_id"], settled["amount"]):
        m.loc[s, r] += int(a)
    return m


def settlement_flow(source, kind: str = "heatmap", **frames) -> go.Figure:
    """Who paid whom: settled value sender x receiver as a heatmap (``kind="sankey"`` for a
    Sankey diagram). Heatmap ``z`` in dollars, ``customdata`` the cents matrix, ``text`` the
    number of payments; Sankey link ``value`` dollars and ``customdata`` cents.
    """
    data = RunData.of(source, "transactions", **frames)
    m = flow_matrix(data)
    tx = data.transactions
    parents = set(p for p in tx["parent_id"] if not _na(p)) if len(tx) else set()
    settled = tx[_is_settled(tx["status"]) & ~tx["tx_id"].isin(parents)] if len(tx) else tx
    counts = pd.DataFrame(0, index=m.index, columns=m.columns, dtype="int64")
    for s, r in zip(settled["sender_id"], settled["receiver_id"]):
        counts.loc[s, r] += 1
    ids = list(m.index)
    title = "Settled value: who paid whom" + data.title_suffix
    if kind == "heatmap":
        cents = [[int(v) for v in row] for row in m.values]
        fig = go.Figure(go.Heatmap(
            z=[[c / 100 for c in row] for row in cents], x=ids, y=ids, customdata=cents,
            text=[[int(v) for v in row] for row in counts.values], colorscale="Blues",
            meta={"metric": "settled_value"}, colorbar=dict(title="dollars", tickprefix="$"),
            texttemplate="%{z:$,.2f}",
            hovertemplate=("<b>%{y} → %{x}</b><br>$%{z:,.2f}<br>%{customdata:,} cents"
                           "<br>%{text} payment(s)<extra></extra>")))
        fig.update_layout(title=dict(text=title, x=0.01), template="plotly_white",
                          height=max(360, 60 * len(ids) + 160),
                          margin=dict(t=80, l=90, r=20, b=60))
        fig.update_xaxes(title_text="receiver", type="category")
        fig.update_yaxes(title_text="sender", type="category", autorange="reversed")
        return fig
    if kind != "sankey":
        raise ValueError(f"kind must be 'heatmap' or 'sankey', got {kind!r}")
    n = len(ids)
    src, dst, val, cd, cnt = [], [], [], [], []
    for i, s in enumerate(ids):
        for j, r in enumerate(ids):
            c = int(m.loc[s, r])
            if c > 0:
                src.append(i)
                dst.append(n + j)
                val.append(c / 100)
                cd.append(c)
                cnt.append(int(counts.loc[s, r]))
    colors = _colors(ids, ids)
    fig = go.Figure(go.Sankey(
        node=dict(label=[f"{a} pays" for a in ids] + [f"{a} receives" for a in ids],
                  color=[colors[a] for a in ids] * 2, pad=18),
        link=dict(source=src, target=dst, value=val, customdata=cd,
                  label=[f"{c} payment(s)" for c in cnt],
                  hovertemplate=("<b>%{source.label} → %{target.label}</b><br>$%{value:,.2f}"
                                 "<br>%{customdata:,} cents<br>%{label}<extra></extra>")),
        meta={"metric": "settled_value"}))
    fig.update_layout(title=dict(text=title, x=0.01), height=max(360, 50 * n + 200),
                      margin=dict(t=80, l=20, r=20, b=30))
    return fig


def lsm_frame(source, **frames) -> pd.DataFrame:
    """One row per LSM settlement: tick, kind (bilateral / cycle), agents, value settled and
    liquidity saved (cents).

    Bilateral offsets (LsmBilateralOffset with ``settled`` true, or EntryDispositionOffset):
    value = amount_a + amount_b, saved = min(amount_a, amount_b) (the offset amount). Cycles
    (LsmCycleSettlement): value = total_value, saved = total_value - max_net_outflow.
    """
    data = RunData.of(source, "events", **frames)
    rows = []
    bil = data.events_of("LsmBilateralOffset")
    for r in bil.itertuples(index=False):
        if _unsettled(getattr(r, "settled", None)):
            continue
        a, b = int(r.amount_a), int(r.amount_b)
        rows.append((int(r.tick), int(r.seq), "bilateral", f"{r.agent_a} ⇄ {r.agent_b}",
                     len(r.tx_ids or []), a + b, min(a, b)))
    edo = data.events_of("EntryDispositionOffset")
    for r in edo.itertuples(index=False):
        if _unsettled(getattr(r, "settled", None)):
            continue
        a, b = int(r.incoming_amount), int(r.queued_amount)
        rows.append((int(r.tick), int(r.seq), "bilateral", f"{r.agent_a} ⇄ {r.agent_b}",
                     None, a + b, min(a, b)))
    cyc = data.events_of("LsmCycleSettlement")
    for r in cyc.itertuples(index=False):
        total = int(r.total_value)
        rows.append((int(r.tick), int(r.seq), "cycle", " → ".join(r.agents or []),
                     len(r.tx_ids or []), total, total - int(r.max_net_outflow)))
    rows.sort(key=lambda x: (x[0], x[1]))
    out = pd.DataFrame.from_records(rows, columns=["tick", "seq", "kind", "agents", "payments",
                                                   "value", "liquidity_saved"])
    out["payments"] = out["payments"].astype("Int64")
    return out


def lsm(source, markers: bool | str = True, **frames) -> go.Figure:
    """Liquidity-saving mechanism per tick: value settled by bilateral offsets and by cycles,
    and the liquidity that saved (see :func:`lsm_frame` for the definitions).

    Traces ``meta={"kind": "bilateral"|"cycle", "metric": "value"|"liquidity_saved"}``: bars per
    tick, y dollars, ``customdata`` rows ``[cents, number of settlements]``.
    """
    data = RunData.of(source, "events", **frames)
    frame = lsm_frame(data)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Value settled by the LSM", "Liquidity saved"))
    styles = {"bilateral": ("Bilateral offsets", "#1f77b4"), "cycle": ("Cycles", "#2ca02c")}
    for kind, (label, color) in styles.items():
        part = frame[frame["kind"] == kind]
        per_tick = part.groupby("tick", sort=True).agg(
            value=("value", "sum"), saved=("liquidity_saved", "sum"),
            n=("kind", "size")).reset_index() if len(part) else None
        ticks = [int(t) for t in per_tick["tick"]] if per_tick is not None else []
        for row, metric, col in ((1, "value", "value"), (2, "liquidity_saved", "saved")):
            cents = [int(v) for v in per_tick[col]] if per_tick is not None else []
            ns = [int(v) for v in per_tick["n"]] if per_tick is not None else []
            fig.add_trace(go.Bar(
                x=ticks, y=_dollars(cents), customdata=[[c, k] for c, k in zip(cents, ns)],
                name=label, legendgroup=kind, showlegend=row == 1,
                meta={"kind": kind, "metric": metric}, marker=dict(color=color),
                hovertemplate=(f"<b>{label}</b><br>tick %{{x}}<br>$%{{y:,.2f}}"
                               f"<br>%{{customdata[0]:,}} cents<br>%{{customdata[1]}} "
                               f"settlement(s)<extra></extra>")), row=row, col=1)
    fig.update_layout(barmode="stack")
    if not len(frame):
        _empty(fig, "No LSM settlements in this run")
    return _decorate(fig, data, title="LSM: offsets and cycles", rows=2, ytitles=("$", "$"),
                     markers=markers)


# ------------------------------------------------------------------------------- one payment
_SETTLING = {"RtgsImmediateSettlement", "Queue2LiquidityRelease", "LsmQueueRetrySettlement",
             "LsmBilateralOffset", "LsmCycleSettlement", "EntryDispositionOffset"}
_LIST_FIELDS = ("tx_ids", "child_ids", "source_transactions")
_ID_FIELDS = ("tx_id", "incoming_tx_id", "queued_tx_id")


def payment_events(source, tx_id: str, include_children: bool = True, **frames) -> pd.DataFrame:
    """The events that concern one payment (and its split children), in emission order.

    Matches events whose ``tx_id`` (or ``incoming_tx_id`` / ``queued_tx_id``) is the payment, or
    whose ``tx_ids`` / ``child_ids`` / ``source_transactions`` list contains it. Columns:
    ``tick, seq, event_type, tx_id`` (the matched id) and ``details`` (all fields).
    """
    data = RunData.of(source, "events", **frames)
    ev = data.events
    if len(ev) and "details" not in ev.columns:
        ev = ev.assign(details=[{k: v for k, v in r.items() if k in FIELDS.get(
            r["event_type"], ()) and not _na(v)} for r in ev.to_dict("records")])
    wanted = {tx_id}
    rows = []
    for r in ev.itertuples(index=False):
        det = r.details if isinstance(r.details, dict) else {}
        hit = None
        for f in _ID_FIELDS:
            if det.get(f) in wanted:
                hit = det[f]
                break
        if hit is None:
            for f in _LIST_FIELDS:
                lst = det.get(f) or []
                found = next((x for x in lst if x in wanted), None)
                if found is not None:
                    hit = found
                    break
        if hit is None:
            continue
        if include_children and r.event_type == "PolicySplit" and det.get("tx_id") in wanted:
            wanted.update(det.get("child_ids") or [])
        rows.append((int(r.tick), int(r.seq), r.event_type, hit, det))
    return pd.DataFrame.from_records(rows, columns=["tick", "seq", "event_type", "tx_id",
                                                    "details"])


def _queue_spans(events: pd.DataFrame, tx_id: str, last_tick: int) -> list[tuple[str, int, int]]:
    """(queue, enter tick, leave tick) intervals for one payment, from its events."""
    spans = []
    where: str | None = None
    since = 0
    for r in events.itertuples(index=False):
        if r.tx_id != tx_id:
            continue
        et, t = r.event_type, r.tick
        if et == "Arrival" or (et == "RtgsResubmission" and where == "Queue 2"):
            if where:
                spans.append((where, since, t))
            where, since = "Queue 1", t
        elif et in ("RtgsSubmission", "PolicySplit", "PolicyDrop") and where == "Queue 1":
            spans.append((where, since, t))
            where = None
        elif et == "QueuedRtgs":
            if where:
                spans.append((where, since, t))
            where, since = "Queue 2", t
        elif (et in _SETTLING and not _unsettled(r.details.get("settled"))) or \
                et == "RtgsWithdrawal":
            if where:
                spans.append((where, since, t))
            where = None
    if where:
        spans.append((where, since, last_tick))
    return spans


def timeline(source, tx_id: str, include_children: bool = True,
             markers: bool | str = True, **frames) -> go.Figure:
    """One payment's life: arrival, policy decisions, queueing, settlement (and its children's
    after a split). One row per event type, markers at the ticks; bars show time in Queue 1 and
    Queue 2; the deadline is a vertical line. Marker ``customdata`` rows are
    ``[seq, tx_id, amount cents or None]``.
    """
    data = RunData.of(source, "events", **frames)
    ev = payment_events(data, tx_id, include_children=include_children)
    if not len(ev):
        raise ValueError(f"no events mention payment {tx_id!r} in this run")
    arrival = ev[(ev["event_type"] == "Arrival") & (ev["tx_id"] == tx_id)]
    info = arrival.iloc[0]["details"] if len(arrival) else {}
    last_tick = max(data.ticks_run - 1, int(ev["tick"].max()))
    fig = go.Figure()
    ids = list(dict.fromkeys(ev["tx_id"]))
    for i, tid in enumerate(ids):
        for q, start, end in _queue_spans(ev, tid, last_tick):
            if end <= start:
                continue
            label = f"in {q}" if tid == tx_id else f"in {q} ({tid})"
            fig.add_trace(go.Bar(y=[label], x=[end - start], base=[start], orientation="h",
                                 name=label, meta={"tx_id": tid, "queue": q},
                                 marker=dict(color="#aec7e8" if q == "Queue 1" else "#ffbb78"),
                                 showlegend=False,
                                 hovertemplate=(f"<b>{tid} {q}</b><br>ticks {start}–{end}"
                                                f"<extra></extra>")))
    types = list(dict.fromkeys(ev["event_type"]))
    for et in types:
        part = ev[ev["event_type"] == et]
        amounts = [d.get("amount") if isinstance(d.get("amount"), int) else None
                   for d in part["details"]]
        texts = [_event_text(et, d) for d in part["details"]]
        fig.add_trace(go.Scatter(
            x=[int(t) for t in part["tick"]], y=[et] * len(part), mode="markers",
            name=et, meta={"event_type": et},
            customdata=[[int(s), tid, a] for s, tid, a in zip(part["seq"], part["tx_id"],
                                                              amounts)],
            text=texts, marker=dict(size=12, symbol="circle"), showlegend=False,
            hovertemplate="<b>%{y}</b> (seq %{customdata[0]})<br>tick %{x}<br>%{text}"
                          "<extra></extra>"))
    deadline = info.get("deadline")
    if deadline is not None:
        _add_layout_items(
            fig, [_vline_shape(int(deadline), name="deadline",
                               line=dict(color="#d62728", width=2))],
            [_label(int(deadline), f"deadline {deadline}", name="deadline", color="#d62728",
                    at_bottom=True)])
    lo = int(ev["tick"].min())
    hi = max(int(ev["tick"].max()), int(deadline) if deadline is not None else 0)
    amount = info.get("amount")
    head = f"Payment {tx_id}"
    if info:
        head += f": {info.get('sender_id')} → {info.get('receiver_id')}, {_money(amount)}"
    _decorate(fig, data, title=head, x_range=(lo - 1, hi + 1), markers=markers)
    fig.update_layout(height=max(320, 40 * (len(types) + 2) + 160))
    fig.update_yaxes(type="category", autorange="reversed", title_text="")
    if hi - lo < 30:
        fig.update_xaxes(dtick=1)
    return fig


def _event_text(et: str, d: dict) -> str:
    keep = []
    for k, v in d.items():
        if k in ("tx_id", "details_json") or v is None:
            continue
        if isinstance(v, int) and not isinstance(v, bool) and (
                "amount" in k or "balance" in k or k in ("total_value", "max_net_outflow")):
            v = f"{_money(v)} ({v:,} cents)"
        keep.append(f"{k}: {v}")
    return "<br>".join(keep)
