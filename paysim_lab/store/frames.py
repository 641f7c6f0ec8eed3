"""A stored run's frames, with the names, columns and dtypes of the Simulation's.

``store.history(run_id)``, ``store.transactions(run_id)``, ``store.costs(run_id)`` and
``store.events_of(run_id, type)`` read the tables a run wrote; :class:`StoredRun` bundles them
behind the Simulation's read API so every chart in :mod:`paysim_lab.plots` draws a stored run.

>>> import paysim_lab as psl
>>> with psl.Store() as store:                                   # doctest: +SKIP
...     sim = psl.Simulation(scenario, store=store); sim.run()
...     store.history(sim.run_id).equals(sim.history())
True
"""
from __future__ import annotations

import json

import pandas as pd

from ..engine.events import FIELDS
from ..engine.state import COST_KINDS
from ..records import HISTORY_COLUMNS, TRANSACTION_COLUMNS
from . import reader



def _records(con, sql: str, params: list, columns) -> pd.DataFrame:
    """Rows as Python values through ``from_records``: the same dtype inference as the
    Simulation's frames, which are built the same way."""
    rows = con.execute(sql, params).fetchall()
    return pd.DataFrame.from_records(rows, columns=list(columns))


def history_frame(con, run_id: str) -> pd.DataFrame:
    """One row per bank per stored tick: the columns and order of ``sim.history()``."""
    reader.run_row(con, run_id)
    reader.require_part(con, run_id, "states", "history()")
    cols = ", ".join("total_cost AS cost_to_date" if c == "cost_to_date" else c
                     for c in HISTORY_COLUMNS)
    frame = _records(con, f"SELECT {cols} FROM tick_agent_states WHERE simulation_id = ? "
                          "ORDER BY tick, agent_id", [run_id], HISTORY_COLUMNS)
    frame["release_budget_remaining"] = frame["release_budget_remaining"].astype("Int64")
    return frame


def transactions_frame(con, run_id: str) -> pd.DataFrame:
    """One row per payment: the columns of ``sim.transactions()``, in creation order.

    Runs stored before schema version 3 have no ``original_priority``, ``withdrawn``,
    ``location`` or creation order: those columns are missing values there and rows are
    ordered by arrival tick and id.
    """
    reader.run_row(con, run_id)
    frame = _records(con, """
        SELECT tx_id, parent_tx_id, sender_id, receiver_id, amount, remaining_amount, priority,
               original_priority, arrival_tick, deadline_tick, status, settlement_tick,
               settled_by, overdue_since_tick IS NOT NULL, overdue_since_tick,
               status = 'dropped', withdrawn, location, rtgs_priority, declared_rtgs_priority,
               is_divisible, split_index
        FROM transactions WHERE simulation_id = ?
        ORDER BY tx_order NULLS LAST, arrival_tick, tx_id""", [run_id], TRANSACTION_COLUMNS)
    for c in ("settlement_tick", "overdue_since_tick", "split_index"):
        frame[c] = frame[c].astype("Int64")
    return frame


def costs_frame(con, run_id: str) -> pd.DataFrame:
    """Run-total costs per bank at the last stored tick: the columns of ``sim.costs()``."""
    reader.run_row(con, run_id)
    reader.require_part(con, run_id, "states", "costs()")
    kinds = ", ".join(f"cost_{k}" for k in COST_KINDS)
    return _records(
        con, f"SELECT agent_id, {kinds}, cost_deadline_penalty + cost_eod_penalty, total_cost "
             "FROM tick_agent_states WHERE simulation_id = ? AND tick = "
             "(SELECT max(tick) FROM tick_agent_states WHERE simulation_id = ?) "
             "ORDER BY agent_id", [run_id, run_id],
        ("agent_id", *COST_KINDS, "penalty", "total"))


def events_of_frame(con, run_id: str, event_type: str) -> pd.DataFrame:
    """Stored events of one type, one column per catalog field: ``sim.events_of``'s shape."""
    from ..event_frames import of_type_frame
    if event_type not in FIELDS:
        raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(sorted(FIELDS))}")
    row = reader.run_row(con, run_id)
    reader.require_part(con, run_id, "events", "events_of()")
    got = con.execute("SELECT tick, seq, details FROM simulation_events "
                      "WHERE simulation_id = ? AND event_type = ? ORDER BY seq",
                      [run_id, event_type]).fetchnumpy()
    names = FIELDS[event_type]
    decoded = reader.parse_details(event_type, got["details"])
    columns = [[d.get(n) for d in decoded] for n in names]
    return of_type_frame(got["tick"], got["seq"], row["ticks_per_day"],
                         names, columns)


class StoredRun:
    """A stored run with the Simulation's read API (frames, ``ticks_per_day``, ...).

    Charts take it wherever they take a Simulation:

    >>> run = store.stored_run(run_id)                          # doctest: +SKIP
    >>> psl.plots.liquidity(run)                                # doctest: +SKIP
    """

    def __init__(self, store, run_id: str):
        self.store = store
        self.run_id = run_id
        row = reader.run_row(store.connection, run_id)
        self.seed = row["rng_seed"]
        self.scenario_name = row["scenario_name"]
        self.ticks_per_day = int(row["ticks_per_day"])
        self.total_ticks = int(row["total_ticks"])
        self.current_tick = int(row["ticks_run"] or 0)
        self.status = row["status"]
        self._config_json = row["config_json"]
        self._scenario = None
        self._events: pd.DataFrame | None = None

    @property
    def done(self) -> bool:
        return self.current_tick >= self.total_ticks

    @property
    def scenario(self):
        """The stored configuration loaded as a :class:`paysim_lab.Scenario` (on first use)."""
        if self._scenario is None:
            doc = json.loads(self._config_json)
            if self.scenario_name and isinstance(doc, dict):
                doc.setdefault("name", self.scenario_name)     # keep the run's name
            self._scenario = reader.stored_scenario(self.store.connection, self.run_id, doc)
        return self._scenario

    @property
    def agent_ids(self) -> list[str]:
        return [r[0] for r in self.store.connection.execute(
            "SELECT DISTINCT agent_id FROM tick_agent_states WHERE simulation_id = ? "
            "ORDER BY agent_id", [self.run_id]).fetchall()]

    @property
    def events(self) -> pd.DataFrame:
        if self._events is None:
            self._events = self.store.events(self.run_id)
        return self._events

    def events_of(self, event_type: str) -> pd.DataFrame:
        return self.store.events_of(self.run_id, event_type)

    def history(self) -> pd.DataFrame:
        return self.store.history(self.run_id)

    def transactions(self) -> pd.DataFrame:
        return self.store.transactions(self.run_id)

    def costs(self) -> pd.DataFrame:
        return self.store.costs(self.run_id)

    def state_registers(self) -> pd.DataFrame:
        return self.store.state_registers(self.run_id)

    def summary(self) -> dict:
        text = reader.run_row(self.store.connection, self.run_id).get("summary_json")
        return json.loads(text) if text else {}

    def __repr__(self) -> str:
        return (f"<StoredRun {self.run_id!r} {self.scenario_name!r} "
                f"tick {self.current_tick}/{self.total_ticks}>")
