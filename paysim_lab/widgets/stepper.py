"""``Stepper``: run a simulation tick by tick in a notebook and look at any tick that has run.

Buttons step 1 / step 10 / run to the end / reset; a slider picks one of the ticks that have
run; Plotly charts (liquidity and queues by default) are redrawn after every step, reset and
slider move, at the full width of the cell, with the selected tick marked; below them the
selected tick's events as a table and its verbose log (the same text ``paysim run --verbose``
prints).

``stepper.sim`` is the simulation on screen. Until the first Reset it *is* the simulation you
passed in, so stepping with the buttons and with ``sim.step()`` moves the same run. Reset builds
a fresh simulation of the same scenario and seed (or calls ``factory``): afterwards read
``stepper.sim``; the one you passed in is left at the tick it had reached, to compare with.

>>> st = Stepper(psl.Simulation.from_file("data/scenarios/two_bank_teaching.yaml"))  # doctest: +SKIP
>>> st.step(10); st.select_tick(3); st.tick_events(3)                               # doctest: +SKIP
"""
from __future__ import annotations

import json
from typing import Any, Callable

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from .. import plots
from ..engine.events import FIELDS, record_agent_id
from ..errors import PolicyError, SimulationError, SimulationFinished
from ..records import TickRecord
from ..report import money as _money
from ._base import WidgetView, esc

__all__ = ["Stepper", "CHARTS"]

#: Charts a Stepper can show, by name.
CHARTS: dict[str, Callable[..., go.Figure]] = {
    "liquidity": plots.liquidity, "queues": plots.queues, "collateral": plots.collateral,
    "budgets": plots.budgets, "costs": plots.costs, "lsm": plots.lsm,
}
_UI_ERRORS = (SimulationError, PolicyError, SimulationFinished, ValueError)
_SELECTED_LINE = dict(color="rgba(20,20,20,0.35)", width=3)
_MARKERS_UP_TO = 60      # ticks run up to which line charts also draw their points


def rebuild(sim) -> Any:
    """A fresh simulation of ``sim``'s scenario and seed, back at tick 0."""
    from ..simulation import Simulation
    return Simulation(sim.scenario, seed=sim.seed)


def figure_output(fig: go.Figure) -> dict:
    """A display-data output that shows ``fig`` with Plotly's own notebook renderer (the
    ``application/vnd.plotly.v1+json`` mime type): it fills the cell's width and follows it."""
    # plain JSON: numpy columns travel as typed arrays. No "responsive" config: it sizes the
    # plot to its container's height, which in an output area is zero (a blank chart); the
    # renderer fits the width to the cell by itself.
    spec = json.loads(fig.to_json())
    title = fig.layout.title.text or "chart"
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.plotly.v1+json": spec, "text/plain": f"<{title}>"}}


class Stepper(WidgetView):
    """Step through ``sim`` with buttons and inspect any tick that has run.

    ``charts`` names the live charts (see :data:`CHARTS`); ``factory()`` builds the simulation
    that Reset starts over with (default: the same scenario and seed). Python methods mirror
    the buttons: :meth:`step`, :meth:`run_to_end`, :meth:`reset`, :meth:`select_tick`.
    """

    def __init__(self, sim, charts=("liquidity", "queues"), factory: Callable[[], Any] | None
                 = None):
        unknown = [c for c in charts if c not in CHARTS]
        if unknown:
            raise ValueError(f"unknown chart(s) {', '.join(map(repr, unknown))}; available: "
                             f"{', '.join(CHARTS)}")
        self.chart_names = tuple(charts)
        self._factory = factory
        self._syncing = False
        self._base_shapes: dict[str, tuple] = {}
        self._listeners: list[Callable[["Stepper"], None]] = []
        self._build()
        self.set_simulation(sim)

    # ------------------------------------------------------------------ simulation
    def set_simulation(self, sim) -> None:
        """Show ``sim`` from now on (its ticks from here on get full records and logs)."""
        self.sim = sim
        self.records: dict[int, TickRecord] = {}
        self._first_recorded = sim.current_tick
        sim.add_listener(self._keep)
        from ..report import RunInfo
        self._info = RunInfo.from_sim(sim)
        self.refresh(select_last=True)

    def _keep(self, rec: TickRecord) -> None:
        self.records[rec.tick] = rec

    def on_update(self, callback: Callable[["Stepper"], None]) -> None:
        """Call ``callback(stepper)`` after every step, run and reset."""
        self._listeners.append(callback)

    @property
    def ticks_run(self) -> int:
        return int(self.sim.current_tick)

    def step(self, n: int = 1) -> pd.DataFrame:
        """Run ``n`` ticks (fewer at the end of the run); the events of those ticks."""
        frame = self.sim.step(n)
        self.refresh(select_last=True)
        return frame

    def run_to_end(self) -> pd.DataFrame:
        frame = self.sim.run()
        self.refresh(select_last=True)
        return frame

    def reset(self):
        """Start over: a new simulation from the scenario and seed (or the factory)."""
        new = self._factory() if self._factory is not None else rebuild(self.sim)
        self.set_simulation(new)
        return new

    # ------------------------------------------------------------------ one tick
    @property
    def selected_tick(self) -> int | None:
        return self.tick_slider.value if self.ticks_run else None

    def select_tick(self, tick: int) -> None:
        if not 0 <= tick < self.ticks_run:
            raise ValueError(f"tick {tick} has not run (ticks 0..{self.ticks_run - 1} have)"
                             if self.ticks_run else "no tick has run yet")
        if self.tick_slider.value != tick:
            self.tick_slider.value = tick      # the slider's observer redraws
        else:
            self._show_tick()

    def tick_events(self, tick: int) -> pd.DataFrame:
        """The events of one tick that has run: seq, event_type, agent_id, tx_id, amount and
        a dict of all the event's fields."""
        rec = self.records.get(tick)
        if rec is not None:
            rows = []
            for e in rec.events:
                fields = {k: e[k] for k in FIELDS[e["event_type"]]}
                tup = (e["event_type"], tick, *fields.values())
                rows.append((e["seq"], e["event_type"], record_agent_id(tup), e.get("tx_id"),
                             e.get("amount"), fields))
            frame = pd.DataFrame.from_records(rows, columns=["seq", "event_type", "agent_id",
                                                             "tx_id", "amount", "details"])
            frame["amount"] = frame["amount"].astype("Int64")
            return frame
        ev = self.sim.events
        part = ev[ev["tick"] == tick]
        return part[["seq", "event_type", "agent_id", "tx_id", "amount", "details"]].reset_index(
            drop=True)

    def log_text(self, tick: int) -> str:
        """The verbose log of one tick (persistence.md 8.2), as the live run prints it."""
        from ..report import DayAccumulator, render_tick
        rec = self.records.get(tick)
        if rec is None:
            return (f"(tick {tick} ran before this Stepper was attached, so its verbose log "
                    f"is not available; Reset to record every tick)")
        tpd = self.sim.ticks_per_day
        first = max((tick // tpd) * tpd - 1, self._first_recorded)
        acc = DayAccumulator()
        totals = None
        for t in range(first, tick + 1):
            r = self.records.get(t)
            if r is not None:
                totals = acc.feed(r)
        return render_tick(rec, self._info, None, totals)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        lay = W.Layout
        self.step1_button = W.Button(description="Step 1", icon="step-forward",
                                     layout=lay(width="100px"))
        self.step10_button = W.Button(description="Step 10", icon="fast-forward",
                                      layout=lay(width="100px"))
        self.run_button = W.Button(description="Run to end", icon="play",
                                   layout=lay(width="120px"))
        self.reset_button = W.Button(description="Reset", icon="refresh",
                                     layout=lay(width="100px"))
        self.tick_slider = W.IntSlider(min=0, max=0, value=0, description="tick",
                                       continuous_update=False, disabled=True,
                                       layout=lay(width="60%"))
        self.status = W.HTML()
        #: the charts as last drawn (plain Figures; ``outputs`` shows them)
        self.figures: dict[str, go.Figure] = {n: go.Figure() for n in self.chart_names}
        self.outputs: dict[str, W.Output] = {n: W.Output(layout=lay(width="100%"))
                                             for n in self.chart_names}
        self.event_table = W.HTML()
        self.log = W.HTML()
        self.message = W.HTML()
        tabs = W.Tab(children=[W.Box([self.event_table], layout=lay(max_height="420px",
                                                                   overflow="auto")),
                               W.Box([self.log], layout=lay(max_height="420px",
                                                            overflow="auto"))])
        tabs.set_title(0, "Events of the tick")
        tabs.set_title(1, "Verbose log")
        self.tick_tabs = tabs
        self.step1_button.on_click(lambda _b: self._ui(lambda: self.step(1)))
        self.step10_button.on_click(lambda _b: self._ui(lambda: self.step(10)))
        self.run_button.on_click(lambda _b: self._ui(self.run_to_end))
        self.reset_button.on_click(lambda _b: self._ui(self.reset))
        self.tick_slider.observe(self._slider_moved, names="value")
        self.widget = W.VBox([
            W.HBox([self.step1_button, self.step10_button, self.run_button, self.reset_button,
                    self.message]),
            W.HBox([self.tick_slider, self.status]),
            *self.outputs.values(),
            tabs,
        ], layout=lay(width="100%"))
        self.widget.add_class("psl-stepper")

    def _ui(self, action: Callable[[], Any]) -> None:
        self.message.value = ""
        try:
            action()
        except _UI_ERRORS as e:
            self.message.value = f'<span style="color:#c62828">{esc(e)}</span>'

    def _slider_moved(self, _change) -> None:
        if not self._syncing:
            self._show_tick()

    def refresh(self, select_last: bool = False) -> None:
        """Redraw charts, slider and the selected tick after the simulation moved."""
        n = self.ticks_run
        self._syncing = True
        try:
            self.tick_slider.max = max(n - 1, 0)
            if select_last or self.tick_slider.value > n - 1:
                self.tick_slider.value = max(n - 1, 0)
            self.tick_slider.disabled = n == 0
        finally:
            self._syncing = False
        done = self.sim.done
        for b in (self.step1_button, self.step10_button, self.run_button):
            b.disabled = done
        data = plots.RunData.of(self.sim)   # history and event frames built once per refresh
        last = max(self.sim.total_ticks - 1, 0)
        for name in self.chart_names:
            fig = CHARTS[name](data)
            # the whole run's time axis from the start, so it does not jump at every step; and
            # points on the lines while there are few ticks (one tick is no line at all)
            fig.update_xaxes(range=[-0.5, last + 0.5])
            if n <= _MARKERS_UP_TO:
                fig.update_traces(mode="lines+markers", marker=dict(size=6),
                                  selector=dict(type="scatter", mode="lines"))
            self._base_shapes[name] = tuple(fig.layout.shapes)
            self.figures[name] = fig
        self._show_tick()
        for cb in list(self._listeners):
            cb(self)

    def _draw(self) -> None:
        """Show every chart with the selected tick marked. Each draw replaces the whole figure
        (axes, markers and all), so nothing of an earlier run or tick survives a Reset."""
        tick = self.selected_tick
        for name, fig in self.figures.items():
            shapes = list(self._base_shapes.get(name, ()))
            if tick is not None:
                shapes.append(dict(type="line", xref="x", yref="paper", x0=tick, x1=tick,
                                   y0=0, y1=1, line=_SELECTED_LINE, name="selected tick"))
            fig.layout.shapes = shapes
            self.outputs[name].outputs = (figure_output(fig),)

    def _show_tick(self) -> None:
        tick = self.selected_tick
        s = self.sim
        if tick is None:
            self.status.value = (f"<b>no tick has run yet</b> · {s.total_ticks} ticks "
                                 f"({s.ticks_per_day} per day)")
            self.event_table.value = "<i>step the simulation to see its events</i>"
            self.log.value = ""
        else:
            summ = s.summary()
            self.status.value = (
                f"<b>tick {tick}</b> (day {tick // s.ticks_per_day}) · {self.ticks_run} of "
                f"{s.total_ticks} ticks run · settled {summ['settlements']}/"
                f"{summ['arrivals']} · total cost {_money(summ['total_cost'])}")
            self.event_table.value = self._table_html(tick)
            self.log.value = (f'<pre style="font-size:12px;line-height:1.25">'
                              f'{esc(self.log_text(tick))}</pre>')
        self._draw()

    def _table_html(self, tick: int) -> str:
        frame = self.tick_events(tick)
        if not len(frame):
            return f"<i>no events at tick {tick}</i>"
        head = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>"
                       for h in ("seq", "event", "agent", "payment", "amount", "details"))
        body = []
        for r in frame.itertuples(index=False):
            amount = "" if pd.isna(r.amount) else f"{_money(int(r.amount))} ({int(r.amount):,}¢)"
            details = "; ".join(f"{k}={v}" for k, v in (r.details or {}).items()
                                if k not in ("tx_id", "agent_id", "amount", "details_json")
                                and v is not None)
            cells = (r.seq, r.event_type, "" if _na(r.agent_id) else r.agent_id,
                     "" if _na(r.tx_id) else r.tx_id, amount, details)
            body.append("<tr>" + "".join(f"<td style='padding:2px 8px;vertical-align:top'>"
                                         f"{esc(c)}</td>" for c in cells) + "</tr>")
        return (f"<table class='psl-events' style='border-collapse:collapse;font-size:12px'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _na(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA
