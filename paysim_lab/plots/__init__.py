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

from .bank_charts import (COST_KINDS, LIQUIDITY_METRICS, budget_frame, budgets, collateral,
                          cost_frame, costs, liquidity, queues)
from .flows import flow_matrix, lsm, lsm_frame, settlement_flow
from .layout import MARKER_MODES, PALETTE, find_traces
from .payment_charts import payment_events, timeline
from .run_data import RunData

__all__ = ["RunData", "liquidity", "collateral", "budgets", "queues", "costs",
           "settlement_flow", "lsm", "timeline", "find_traces", "COST_KINDS",
           "budget_frame", "cost_frame", "flow_matrix", "lsm_frame", "payment_events",
           "LIQUIDITY_METRICS", "MARKER_MODES", "PALETTE"]
