"""``Dashboard``: edit one bank's policy and see what it changes, in one place.

A :class:`~paysim_lab.widgets.PolicyEditor` for the chosen bank's policy next to a
:class:`~paysim_lab.widgets.Stepper`; "Apply & re-run from tick 0" rebuilds the simulation from
the scenario and seed with the edited policy for that bank and runs it as far as the previous
run had got, so the charts compare like with like.

>>> dash = Dashboard(sim, policy_agent="BANK_A")      # doctest: +SKIP
>>> dash.editor.set_action("Release", path="payment_tree.on_false")  # doctest: +SKIP
>>> new_sim = dash.apply()                           # doctest: +SKIP
"""
from __future__ import annotations

import copy
import json
from typing import Any

import ipywidgets as W

from ..errors import PolicyError, SimulationError
from ..report import money as _money
from ._base import WidgetView, esc
from .policy_editor import PolicyEditor
from .stepper import Stepper

__all__ = ["Dashboard", "describe_changes"]


def describe_changes(old: Any, new: Any, limit: int = 3) -> str:
    """What an edit changed in a policy document, short enough for a run label.

    Places are named from the nearest node id (``B_Budget max_value_to_release``).

    >>> describe_changes({"parameters": {"min_buffer": 2000}, "payment_tree": {"node_id": "P1",
    ...     "action": "Hold"}}, {"parameters": {"min_buffer": 20000},
    ...     "payment_tree": {"node_id": "P1", "action": "Release"}})
    'min_buffer 2000 → 20000; P1 action Hold → Release'
    """
    found: list[str] = []
    _diff(old, new, [], found)
    if not found:
        return "no change"
    more = len(found) - limit
    return "; ".join(found[:limit]) + (f"; and {more} more change(s)" if more > 0 else "")


def _diff(a: Any, b: Any, where: list[str], out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.get("node_id") is not None and a.get("node_id") == b.get("node_id"):
            where = [str(a["node_id"])]
        for key in list(a) + [k for k in b if k not in a]:
            if key in ("description",):
                continue
            # "parameters" and a value object's "value" say nothing a reader needs
            sub = where if key in ("parameters", "value") else where + [str(key)]
            if key not in b:
                out.append(f"{_place(sub)} removed")
            elif key not in a:
                out.append(f"{_place(sub)} added: {_short(b[key])}")
            else:
                _diff(a[key], b[key], sub, out)
        return
    if a != b:
        out.append(f"{_place(where)} {_short(a)} → {_short(b)}")


def _place(where: list[str]) -> str:
    return " ".join(where) or "policy"


def _short(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, dict) and len(v) == 1:
        (k, inner), = v.items()
        return f"{k} {_short(inner)}" if k != "value" else _short(inner)
    text = v if isinstance(v, str) else json.dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


class Dashboard(WidgetView):
    """Policy editor for one bank (``policy_agent``, default the first bank id) plus a
    stepper over the run. ``.sim`` is the simulation currently shown; ``.runs`` lists a
    summary of every run shown so far (the first is the one passed in)."""

    def __init__(self, sim, policy_agent: str | None = None,
                 charts=("liquidity", "queues", "costs")):
        self._scenario = sim.scenario
        self.seed = sim.seed
        ids = sorted(a.id for a in sim.world.agent_list)
        agent = policy_agent if policy_agent is not None else ids[0]
        if agent not in ids:
            raise ValueError(f"unknown bank {agent!r}; the scenario has {', '.join(ids)}")
        self.agent_ids = ids
        self.policy_agent = agent
        self.applied: dict[str, Any] = {}       # bank -> edited psl.Policy in force
        self.runs: list[dict] = []
        self.editor = PolicyEditor(self._policy_document(agent),
                                   profile=sim.scenario.profile)
        self.stepper = Stepper(sim, charts=charts, factory=self._build_sim)
        self._build()

    @property
    def sim(self):
        return self.stepper.sim

    def _policy_document(self, agent: str) -> dict:
        if agent in self.applied:
            return self.applied[agent].document
        return copy.deepcopy(self._scenario.agent_policies[agent])

    def _build_sim(self):
        """The scenario (copied, so the caller's stays untouched) with every applied policy."""
        from ..simulation import Simulation
        sim = Simulation(copy.deepcopy(self._scenario), seed=self.seed)
        for aid, policy in self.applied.items():
            sim.set_policy(aid, policy)
        return sim

    def select_agent(self, agent: str) -> None:
        """Edit ``agent``'s policy (the one in force in the current run)."""
        if agent not in self.agent_ids:
            raise ValueError(f"unknown bank {agent!r}; the scenario has "
                             f"{', '.join(self.agent_ids)}")
        self.policy_agent = agent
        self.status.value = ""           # a message about the previous bank's policy
        self.editor.load(self._policy_document(agent), keep_history=False)
        if self.agent_select.value != agent:
            self.agent_select.value = agent
        self.tabs.set_title(0, f"Policy of {agent}")

    def apply(self):
        """Use the edited policy for the chosen bank and re-run from tick 0, as far as the
        current run had got. Returns the new simulation; PolicyError if the policy is invalid."""
        policy = self.editor.policy
        before = self._run_summary("as loaded")
        ticks = self.sim.current_tick
        change = describe_changes(self._policy_document(self.policy_agent), policy.document)
        self.applied[self.policy_agent] = policy
        new = self._build_sim()
        self.stepper.set_simulation(new)
        if ticks:
            self.stepper.step(ticks)
        if not self.runs:
            self.runs.append(before)
        self.runs.append(self._run_summary(f"{self.policy_agent}: {change}"))
        self._show_comparison()
        return new

    def _run_summary(self, label: str) -> dict:
        s = self.sim.summary()
        return {"label": label, "ticks_run": s["ticks_run"], "settlements": s["settlements"],
                "arrivals": s["arrivals"], "total_cost": s["total_cost"],
                "agent_cost": s["agents"][self.policy_agent]["total_cost"]}

    def _show_comparison(self) -> None:
        rows = "".join(
            f"<tr><td>{i}</td><td>{esc(r['label'])}</td><td>{r['ticks_run']}</td>"
            f"<td>{r['settlements']}/{r['arrivals']}</td><td>{_money(r['total_cost'])}</td>"
            f"<td>{_money(r['agent_cost'])}</td></tr>" for i, r in enumerate(self.runs))
        self.comparison.value = (
            "<table style='font-size:12px'><tr><th>run</th><th>policy change</th><th>ticks"
            "</th><th>settled</th><th>total cost</th><th>cost of edited bank</th></tr>"
            f"{rows}</table>")

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.agent_select = W.Dropdown(options=self.agent_ids, value=self.policy_agent,
                                       description="Bank", layout=W.Layout(width="220px"))
        self.apply_button = W.Button(description="Apply & re-run from tick 0", icon="play",
                                     button_style="primary", layout=W.Layout(width="240px"))
        self.status = W.HTML()
        self.comparison = W.HTML()
        self.tabs = W.Tab(children=[self.editor.widget, self.stepper.widget])
        self.tabs.set_title(0, f"Policy of {self.policy_agent}")
        self.tabs.set_title(1, "Run")
        self.agent_select.observe(self._ui_agent, names="value")
        self.apply_button.on_click(self._ui_apply)
        self.editor.on_change(self._editor_changed)
        self.widget = W.VBox([W.HBox([self.agent_select, self.apply_button, self.status]),
                              self.comparison, self.tabs], layout=W.Layout(width="100%"))
        self.widget.add_class("psl-dashboard")
        self._editor_changed(self.editor)

    def _editor_changed(self, editor) -> None:
        self.apply_button.disabled = not editor.is_valid
        self.status.value = ("" if editor.is_valid else
                             f"<span style='color:#c62828'>fix {len(editor.errors)} policy "
                             f"error(s) before applying</span>")

    def _ui_agent(self, change) -> None:
        if change["new"] != self.policy_agent:
            self.select_agent(change["new"])

    def _ui_apply(self, _button) -> None:
        try:
            self.apply()
        except (PolicyError, SimulationError) as e:
            self.status.value = f"<span style='color:#c62828'>{esc(e)}</span>"
            return
        self.status.value = (f"<span style='color:#2ca02c'>re-ran {self.sim.current_tick} "
                             f"tick(s) with the edited policy of {esc(self.policy_agent)}</span>")
        self.tabs.selected_index = 1
