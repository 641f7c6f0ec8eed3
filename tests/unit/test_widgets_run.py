"""Stepper and Dashboard, driven from Python the way a user clicks them."""
import json
import os
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.errors import PolicyError, SimulationFinished
from paysim_lab.plots import find_traces
from paysim_lab.report import RunInfo, VerboseLog
from paysim_lab.widgets import Dashboard, Stepper

os.environ.setdefault("PLOTLY_RENDERER", "json")

BUDGETED = {
    "payment_tree": {"type": "action", "node_id": "P_Release", "action": "Release"},
    "bank_tree": {"type": "action", "node_id": "B_Budget", "action": "SetReleaseBudget",
                  "parameters": {"max_value_to_release": {"value": 30000}}},
}


def _pay(frm, to, amount, tick):
    return {"type": "CustomTransactionArrival", "from_agent": frm, "to_agent": to,
            "amount": amount, "schedule": {"type": "OneTime", "tick": tick}}


def scenario():
    """A runs out of budget at tick 2; C's payment waits in Queue 2 until B pays it."""
    return {
        "simulation": {"ticks_per_day": 6, "num_days": 2, "rng_seed": 7},
        "policies": {"budgeted": BUDGETED},
        "agents": [{"id": "A", "opening_balance": 100000, "policy_id": "budgeted"},
                   {"id": "B", "opening_balance": 50000, "policy": {"type": "Fifo"}},
                   {"id": "C", "opening_balance": 0, "policy": {"type": "Fifo"}}],
        "scenario_events": [_pay("C", "A", 40000, 1), _pay("A", "B", 25000, 2),
                            _pay("A", "C", 10000, 2), _pay("B", "C", 45000, 4),
                            _pay("A", "B", 20000, 8)],
    }


def new_sim():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.Simulation(scenario())


def one(fig, **meta):
    found = find_traces(fig, **meta)
    assert len(found) == 1
    return found[0]


# ------------------------------------------------------------------------------- Stepper
def test_stepper_starts_empty():
    st = Stepper(new_sim())
    assert st.ticks_run == 0 and st.selected_tick is None
    assert st.tick_slider.disabled and st.tick_slider.max == 0
    assert "no tick has run yet" in st.status.value
    assert set(st.figures) == {"liquidity", "queues"}
    assert all(len(t.x) == 0 for t in st.figures["liquidity"].data)


def test_step_10_updates_slider_and_live_charts():
    st = Stepper(new_sim())
    st.step10_button.click()
    assert st.message.value == ""
    assert st.ticks_run == 10
    assert st.tick_slider.max == 9 and st.tick_slider.value == 9    # last tick that ran
    assert not st.tick_slider.disabled
    liq = st.figures["liquidity"]
    bal = one(liq, agent_id="A", metric="balance")
    assert list(bal.x) == list(range(10))
    assert tuple(liq.layout.xaxis.range) == (-0.5, 11.5)      # the whole run from the start
    h = st.sim.history()
    assert list(bal.customdata) == h[h.agent_id == "A"].balance.tolist()
    q2 = one(st.figures["queues"], agent_id="C", queue="queue2", metric="value")
    assert list(q2.customdata) == [0, 40000, 40000, 40000, 0, 0, 0, 0, 0, 0]
    st.step1_button.click()
    assert st.tick_slider.max == 10
    assert one(st.figures["liquidity"], agent_id="A", metric="balance").x.tolist() == list(range(11))


def test_selected_tick_shows_events_log_and_marker():
    st = Stepper(new_sim())
    st.step(10)
    st.tick_slider.value = 2                     # user drags the slider
    assert st.selected_tick == 2
    ev = st.tick_events(2)
    assert ev.event_type.tolist() == ["Arrival", "ScenarioEventExecuted", "Arrival",
                                      "ScenarioEventExecuted", "BankBudgetSet",
                                      "RtgsSubmission", "PolicySubmit", "PolicyHold",
                                      "RtgsImmediateSettlement", "CostAccrual", "CostAccrual"]
    hold = ev[ev.event_type == "PolicyHold"].iloc[0]
    assert (hold.agent_id, hold.tx_id, hold.details["reason"]) == ("A", "tx_00000002",
                                                                    "BudgetExhausted")
    assert "BudgetExhausted" in st.event_table.value and "tx_00000002" in st.event_table.value
    assert "$250.00 (25,000¢)" in st.event_table.value
    assert st.log.value.startswith('<pre style="font-size:12px;line-height:1.25">═══ Tick 2 ═══')
    assert "<b>tick 2</b> (day 0)" in st.status.value
    for fw in st.figures.values():
        marks = [s for s in fw.layout.shapes if s.name == "selected tick"]
        assert [m.x0 for m in marks] == [2]
    for out in st.outputs.values():                # what the browser draws
        spec = out.outputs[0]["data"]["application/vnd.plotly.v1+json"]
        assert [s["x0"] for s in spec["layout"]["shapes"] if s.get("name") == "selected tick"] \
            == [2]


def test_charts_are_full_width_plotly_outputs_replaced_whole():
    st = Stepper(new_sim())
    assert st.widget.layout.width == "100%"
    for name, out in st.outputs.items():
        assert out.layout.width == "100%" and len(out.outputs) == 1
        data = out.outputs[0]["data"]
        spec = data["application/vnd.plotly.v1+json"]
        # no fixed width (the renderer fits the cell) and no "responsive" (zero height there)
        assert "width" not in spec["layout"] and spec["layout"]["height"] >= 420
        assert "responsive" not in spec.get("config", {})
        assert data["text/plain"].startswith("<")
    st.step(3)
    spec = st.outputs["queues"].outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert spec["layout"]["xaxis"]["range"] == [-0.5, 11.5]     # the whole run, fixed
    assert {t["mode"] for t in spec["data"]} == {"lines+markers"}   # one tick is visible too
    assert json.loads(json.dumps(spec)) == spec          # plain JSON for the front end


def _points(trace: dict) -> int:
    """Points of a trace in a figure's plain JSON (a list, or a typed-array spec)."""
    x = trace.get("x", [])
    if isinstance(x, dict):
        import base64
        return len(base64.b64decode(x["bdata"])) // int(x["dtype"][1:])
    return len(x)


def test_reset_redraws_axes_markers_and_the_selected_tick():
    sim = new_sim()
    st = Stepper(sim)
    st.step(12)
    assert st.sim is sim                                 # the buttons move the user's run
    st.reset_button.click()
    assert st.sim is not sim and st.sim.current_tick == 0
    assert sim.current_tick == 12                         # the passed-in run is kept
    assert "no tick has run yet" in st.status.value
    for name, out in st.outputs.items():
        spec = out.outputs[0]["data"]["application/vnd.plotly.v1+json"]
        assert [s for s in spec["layout"].get("shapes", [])] == []     # no old tick or events
        assert spec["layout"]["xaxis"]["range"] == [-0.5, 11.5]
        assert all(_points(t) == 0 for t in spec["data"])               # no old data
    st.step(2)
    spec = st.outputs["queues"].outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert {_points(t) for t in spec["data"]} == {2}


def test_log_is_the_live_verbose_log():
    st = Stepper(new_sim())
    st.run_to_end()
    other = new_sim()
    records = []
    other.add_listener(records.append)
    other.run()
    log = VerboseLog(RunInfo.from_sim(other))
    expected = [log.text(r) for r in records]
    assert [st.log_text(t) for t in range(12)] == expected


def test_run_to_end_then_step_reports_finished():
    st = Stepper(new_sim())
    st.run_button.click()
    assert st.ticks_run == 12 and st.sim.done
    assert st.step1_button.disabled and st.run_button.disabled
    with pytest.raises(SimulationFinished):
        st.step(1)
    st.step1_button.click()
    assert "all 12 ticks have run" in st.message.value


def test_reset_rebuilds_from_scenario_and_seed():
    st = Stepper(new_sim())
    st.step(10)
    first = st.tick_events(8)
    old = st.sim
    st.reset_button.click()
    assert st.sim is not old and st.ticks_run == 0 and st.records == {}
    assert st.tick_slider.disabled
    st.step(10)
    again = st.tick_events(8)
    assert again[["seq", "event_type", "tx_id"]].values.tolist() == \
        first[["seq", "event_type", "tx_id"]].values.tolist()


def test_stepper_attached_mid_run():
    sim = new_sim()
    sim.step(3)
    st = Stepper(sim)
    assert st.tick_slider.max == 2
    assert st.tick_events(2).event_type.tolist()[:2] == ["Arrival", "ScenarioEventExecuted"]
    assert "ran before this Stepper was attached" in st.log_text(2)
    st.step(1)
    assert st.log_text(3).startswith("═══ Tick 3 ═══")


def test_stepper_chart_choice():
    st = Stepper(new_sim(), charts=("costs", "budgets"))
    st.step(3)
    assert set(st.figures) == {"costs", "budgets"}
    used = one(st.figures["budgets"], agent_id="A", metric="used")
    assert list(used.customdata) == [0, 0, 25000]
    with pytest.raises(ValueError, match="unknown chart\\(s\\) 'pie'; available: liquidity"):
        Stepper(new_sim(), charts=("pie",))
    with pytest.raises(ValueError, match="tick 5 has not run"):
        st.select_tick(5)


# ------------------------------------------------------------------------------- Dashboard
def test_dashboard_edit_apply_and_rerun():
    sim = new_sim()
    dash = Dashboard(sim, policy_agent="A")
    assert dash.editor.document == sim.scenario.agent_policies["A"]
    assert dash.tabs.get_title(0) == "Policy of A"
    dash.stepper.step(12)
    holds = sim.events_of("PolicyHold")
    assert holds.reason.tolist() == ["BudgetExhausted"]
    # the user raises the budget and re-runs
    dash.editor.select("B_Budget")
    dash.editor.param_rows["max_value_to_release"].input.number.value = 100000
    dash.apply_button.click()
    new = dash.sim
    assert new is not sim and new.current_tick == 12
    assert len(new.events_of("PolicyHold")) == 0
    assert new.events_of("BankBudgetSet").max_value.unique().tolist() == [100000]
    assert dash.tabs.selected_index == 1
    h = new.history()
    bal = one(dash.stepper.figures["liquidity"], agent_id="A", metric="balance")
    assert list(bal.customdata) == h[h.agent_id == "A"].balance.tolist()
    # the caller's simulation and scenario are untouched
    assert sim.scenario.agent_policies["A"]["bank_tree"]["parameters"] == {
        "max_value_to_release": {"value": 30000}}
    assert [r["label"] for r in dash.runs] == [
        "as loaded", "A: B_Budget max_value_to_release 30000 → 100000"]
    assert "B_Budget max_value_to_release 30000 → 100000" in dash.comparison.value
    assert "cost of edited bank" in dash.comparison.value


def test_dashboard_reset_keeps_the_applied_policy():
    dash = Dashboard(new_sim(), policy_agent="A")
    dash.editor.select("B_Budget")
    dash.editor.set_action("NoAction")
    dash.apply()
    dash.stepper.reset_button.click()
    dash.stepper.step(12)
    assert len(dash.sim.events_of("BankBudgetSet")) == 0


def test_dashboard_refuses_an_invalid_policy():
    dash = Dashboard(new_sim(), policy_agent="A")
    dash.editor.select("B_Budget")
    dash.editor.set_parameter("max_value_to_release", {"field": "no_such_field"})
    assert dash.apply_button.disabled
    assert "fix 1 policy error(s)" in dash.status.value
    with pytest.raises(PolicyError, match="no_such_field"):
        dash.apply()
    dash.editor.undo()
    assert not dash.apply_button.disabled and dash.status.value == ""


def test_dashboard_run_labels_say_what_changed():
    dash = Dashboard(new_sim(), policy_agent="A")
    dash.editor.select("B_Budget")
    dash.editor.set_action("NoAction")
    dash.apply()
    assert dash.runs[-1]["label"].startswith("A: B_Budget action SetReleaseBudget → NoAction")
    dash.apply()                                  # nothing edited since: says so
    assert dash.runs[-1]["label"] == "A: no change"


def test_switching_bank_clears_the_previous_banks_error_messages():
    dash = Dashboard(new_sim(), policy_agent="A")
    dash.editor.parameters_json.value = "{not json"
    assert "not valid JSON" in dash.editor.status.value
    dash.status.value = "<span>an error about A</span>"
    dash.agent_select.value = "B"
    assert dash.editor.status.value == "" and dash.status.value == ""
    assert "policy is valid" in dash.editor.messages.value


def test_dashboard_switches_bank():
    sim = new_sim()
    dash = Dashboard(sim)
    assert dash.policy_agent == "A"
    dash.agent_select.value = "B"
    assert dash.editor.document == sim.scenario.agent_policies["B"]
    assert not dash.editor.can_undo
    assert dash.tabs.get_title(0) == "Policy of B"
    with pytest.raises(ValueError, match="unknown bank 'Z'"):
        Dashboard(sim, policy_agent="Z")


def test_widgets_display_as_their_containers():
    dash = Dashboard(new_sim())
    for w in (dash, dash.stepper, dash.editor):
        view = w._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
        assert view["model_id"] == w.widget.model_id
