"""paysim_lab.plots: every chart is built from a short real run and carries exact numbers.

The run (3 banks, 2 days of 6 ticks) is scripted with scenario events so that each chart has
something to show: a payment that waits in Queue 2, a release budget that blocks a payment,
a collateral post with an auto-withdraw timer, a bilateral offset, a three-bank cycle, an
overdraft, and an impossible payment that goes overdue (deadline and end-of-day penalties).
"""
import os
import warnings

import pandas as pd
import plotly.graph_objects as go
import pytest

import paysim_lab as psl
from paysim_lab import plots
from paysim_lab.plots import find_traces, layout

os.environ.setdefault("PLOTLY_RENDERER", "json")

POSTER = {
    "parameters": {"post_amount": 50000},
    "payment_tree": {"type": "action", "node_id": "P_Release", "action": "Release"},
    "strategic_collateral_tree": {
        "type": "condition", "node_id": "S_First",
        "condition": {"op": "==", "left": {"field": "current_tick"}, "right": {"value": 1}},
        "on_true": {"type": "action", "node_id": "S_Post", "action": "PostCollateral",
                    "parameters": {"amount": {"compute": {"op": "min", "values": [
                        {"param": "post_amount"}, {"field": "remaining_collateral_capacity"}]}},
                        "reason": {"value": "PreemptivePosting"},
                        "auto_withdraw_after_ticks": {"value": 3}}},
        "on_false": {"type": "action", "node_id": "S_Hold", "action": "HoldCollateral"}},
    "bank_tree": {
        "type": "condition", "node_id": "B_Early",
        "condition": {"op": "<", "left": {"field": "current_tick"}, "right": {"value": 6}},
        "on_true": {"type": "action", "node_id": "B_Budget", "action": "SetReleaseBudget",
                    "parameters": {"max_value_to_release": {"value": 30000}}},
        "on_false": {"type": "action", "node_id": "B_None", "action": "NoAction"}},
}


def _pay(frm, to, amount, tick, deadline=None):
    ev = {"type": "CustomTransactionArrival", "from_agent": frm, "to_agent": to,
          "amount": amount, "schedule": {"type": "OneTime", "tick": tick}}
    if deadline is not None:
        ev["deadline"] = deadline
    return ev


def scenario() -> dict:
    return {
        "simulation": {"ticks_per_day": 6, "num_days": 2, "rng_seed": 42},
        "cost_rates": {"delay_cost_per_tick_per_cent": 0.001, "overdraft_bps_per_tick": 5.0,
                       "collateral_cost_per_tick_bps": 2.0},
        "policies": {"poster": POSTER},
        "agents": [
            {"id": "A", "opening_balance": 100000, "unsecured_cap": 20000,
             "policy_id": "poster", "max_collateral_capacity": 200000},
            {"id": "B", "opening_balance": 50000, "unsecured_cap": 100000,
             "policy": {"type": "Fifo"}},
            {"id": "C", "opening_balance": 0, "policy": {"type": "Fifo"}},
        ],
        "scenario_events": [
            _pay("C", "A", 40000, 1, deadline=3),          # waits in Queue 2 until tick 4
            {"type": "DirectTransfer", "from_agent": "B", "to_agent": "C", "amount": 45000,
             "schedule": {"type": "OneTime", "tick": 4}},
            _pay("A", "B", 25000, 2), _pay("A", "C", 10000, 2),   # budget blocks the second
            _pay("B", "C", 60000, 7), _pay("C", "B", 55000, 7),   # bilateral offset
            _pay("A", "B", 300000, 9), _pay("B", "C", 310000, 9),
            _pay("C", "A", 305000, 9),                             # cycle
            _pay("B", "A", 80000, 5),                              # B uses credit
            _pay("A", "C", 10_000_000, 8, deadline=2),             # never settles
        ],
    }


@pytest.fixture(scope="module")
def sim():
    s = psl.Simulation(scenario())
    s.run()
    return s


def one(fig, **meta):
    found = find_traces(fig, **meta)
    assert len(found) == 1, (meta, [t.meta for t in fig.data])
    return found[0]


def shape_xs(fig, prefix):
    return [s.x0 for s in fig.layout.shapes if (s.name or "").startswith(prefix)]


# ------------------------------------------------------------------------------- liquidity
def test_liquidity_traces_are_history_in_dollars_with_exact_cents(sim):
    fig = plots.liquidity(sim)
    h = sim.history()
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 9
    for aid in ("A", "B", "C"):
        part = h[h.agent_id == aid]
        for metric in ("balance", "credit_used", "available_liquidity"):
            tr = one(fig, agent_id=aid, metric=metric)
            assert list(tr.x) == list(range(12))
            assert list(tr.customdata) == [int(v) for v in part[metric]]
            assert list(tr.y) == [v / 100 for v in part[metric]]
    b = one(fig, agent_id="B", metric="credit_used")
    assert b.customdata[5] == 50000 and b.y[5] == 500.0   # balance 30,000 - 80,000 paid
    assert "cents" in b.hovertemplate and "$%{y:,.2f}" in b.hovertemplate


def test_liquidity_title_axes_day_line_and_scenario_markers(sim):
    fig = plots.liquidity(sim)
    assert fig.layout.title.text == f"Liquidity — {sim.scenario.name}"
    assert fig.layout.xaxis3.title.text == "tick"
    assert [fig.layout[f"yaxis{i}"].title.text for i in ("", "2", "3")] == ["dollars"] * 3
    assert [fig.layout[f"yaxis{i}"].tickprefix for i in ("", "2", "3")] == ["$"] * 3
    assert shape_xs(fig, "day ") == [5.5]
    assert shape_xs(fig, "scenario: ") == [1, 2, 4, 5, 7, 8, 9]
    names = [s.name for s in fig.layout.shapes if s.name.startswith("scenario: ")]
    assert names[2] == "scenario: transfer"
    ann = [a for a in fig.layout.annotations if a.name == "scenario: transfer"][0]
    assert "from_agent=B" in ann.hovertext and "45,000 cents" in ann.hovertext


def test_liquidity_agent_subset_and_unknown_agent(sim):
    fig = plots.liquidity(sim, agents=["B"])
    assert {t.meta["agent_id"] for t in fig.data} == {"B"}
    with pytest.raises(ValueError, match="unknown agent\\(s\\) 'Z'; the run has A, B, C"):
        plots.liquidity(sim, agents="Z")


def test_liquidity_from_frames_equals_from_sim(sim):
    a = plots.liquidity(sim)
    b = plots.liquidity(sim.history(), events=sim.events)
    assert [list(t.customdata) for t in a.data] == [list(t.customdata) for t in b.data]
    assert shape_xs(b, "day ") == [5.5]          # ticks per day inferred from the day column
    assert shape_xs(b, "scenario: ") == shape_xs(a, "scenario: ")


def test_liquidity_from_hand_built_history():
    h = pd.DataFrame({"tick": [0, 0, 1, 1, 2, 2], "day": [0, 0, 0, 0, 1, 1],
                      "agent_id": ["X", "Y"] * 3, "balance": [100, 5, -250, 355, 1, 2],
                      "credit_used": [0, 0, 250, 0, 0, 0],
                      "available_liquidity": [100, 5, 0, 355, 1, 2]})
    fig = plots.liquidity(h)
    tr = one(fig, agent_id="X", metric="balance")
    assert list(tr.customdata) == [100, -250, 1] and list(tr.y) == [1.0, -2.5, 0.01]
    assert shape_xs(fig, "day ") == [1.5]
    assert shape_xs(fig, "scenario: ") == []


def test_liquidity_before_any_tick():
    s = psl.Simulation(scenario())
    fig = plots.liquidity(s)
    assert [len(t.x) for t in fig.data] == [0] * 9
    assert [a.text for a in fig.layout.annotations if a.name == "empty"] == [
        "No ticks have run yet"]


# ------------------------------------------------------------------------------- collateral
def test_collateral_line_and_event_markers(sim):
    fig = plots.collateral(sim)
    h = sim.history()
    line = one(fig, agent_id="A", metric="posted_collateral")
    assert list(line.customdata) == [int(v) for v in h[h.agent_id == "A"].posted_collateral]
    assert list(line.customdata[:6]) == [0, 50000, 50000, 50000, 0, 0]
    post = one(fig, event_type="CollateralPost")
    assert list(post.x) == [1] and list(post.y) == [500.0]
    assert [list(r) for r in post.customdata] == [[50000, 50000, "A", "PreemptivePosting"]]
    timer = one(fig, event_type="CollateralTimerWithdrawn")
    assert list(timer.x) == [4] and list(timer.y) == [0.0]
    assert [list(r) for r in timer.customdata] == [[0, 50000, "A", "PreemptivePosting"]]
    assert find_traces(fig, event_type="CollateralWithdraw") == []
    assert fig.layout.yaxis.title.text == "dollars" and fig.layout.yaxis.tickprefix == "$"


# ------------------------------------------------------------------------------- budgets
def test_budgets_max_used_and_budget_exhausted_holds(sim):
    fig = plots.budgets(sim)
    assert {t.meta["agent_id"] for t in fig.data} == {"A"}       # only A had a budget
    mx = one(fig, agent_id="A", metric="max")
    used = one(fig, agent_id="A", metric="used")
    assert list(mx.customdata) == [30000] * 6 + [None] * 6       # NoAction from tick 6 on
    assert list(used.customdata) == [0, 0, 25000, 10000, 0, 0] + [None] * 6
    assert list(used.y[:4]) == [0.0, 0.0, 250.0, 100.0]
    held = one(fig, agent_id="A", event_type="PolicyHold")
    assert list(held.x) == [2]
    assert [list(r) for r in held.customdata] == [[25000, 1, "tx_00000002"]]


def test_budget_frame_matches_history_remaining(sim):
    f = plots.budget_frame(sim)
    h = sim.history()
    assert f["remaining"].tolist() == h["release_budget_remaining"].tolist()
    a = f[f.agent_id == "A"]
    assert (a["max_value"] - a["remaining"]).dropna().tolist() == a["used"].dropna().tolist()


def test_budgets_without_any_budget_says_so():
    sc = scenario()
    del sc["policies"], sc["agents"][0]["policy_id"]
    s = psl.Simulation(sc)
    s.step(3)
    fig = plots.budgets(s)
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations if a.name == "empty"] == [
        "No release budgets were set in this run"]


# ------------------------------------------------------------------------------- queues
def test_queues_count_and_value_per_bank(sim):
    fig = plots.queues(sim)
    h = sim.history()
    c = h[h.agent_id == "C"]
    q2v = one(fig, agent_id="C", queue="queue2", metric="value")
    assert list(q2v.customdata) == [int(v) for v in c.queue2_value]
    assert list(q2v.customdata[:5]) == [0, 40000, 40000, 40000, 0]
    q2n = one(fig, agent_id="C", queue="queue2", metric="count")
    assert list(q2n.y) == [int(v) for v in c.queue2_count]
    a = h[h.agent_id == "A"]
    q1v = one(fig, agent_id="A", queue="queue1", metric="value")
    assert list(q1v.customdata[:4]) == [0, 0, 10000, 0]
    assert list(q1v.y) == [v / 100 for v in a.queue1_value]


def test_queues_totals(sim):
    fig = plots.queues(sim, by_agent=False)
    h = sim.history()
    tot = h.groupby("tick").queue2_value.sum()
    tr = one(fig, agent_id="all", queue="queue2", metric="value")
    assert list(tr.customdata) == [int(v) for v in tot]
    assert tr.customdata[11] == 10_000_000


# ------------------------------------------------------------------------------- costs
def test_costs_cumulative_ends_at_sim_costs_and_tracks_cost_to_date(sim):
    fig = plots.costs(sim)
    final = sim.costs().set_index("agent_id")
    h = sim.history()
    for aid in ("A", "B", "C"):
        traces = find_traces(fig, agent_id=aid)
        assert [t.meta["kind"] for t in traces] == list(plots.COST_KINDS)
        for t in traces:
            assert t.customdata[-1] == final.loc[aid, t.meta["kind"]]
            assert list(t.customdata) == sorted(t.customdata)        # cumulative
        per_tick_total = [sum(vals) for vals in zip(*(t.customdata for t in traces))]
        assert per_tick_total == h[h.agent_id == aid].cost_to_date.tolist()
    a = {t.meta["kind"]: t for t in find_traces(fig, agent_id="A")}
    assert a["deadline_penalty"].customdata[-1] == 50000
    assert a["eod_penalty"].customdata[-1] == 10000
    assert a["deadline_penalty"].y[-1] == 500.0
    assert one(fig, agent_id="B", kind="overdraft").customdata[-1] == 205


def test_costs_totals_as_stacked_bars(sim):
    fig = plots.costs(sim, cumulative=False)
    final = sim.costs()
    assert fig.layout.barmode == "stack"
    for t in fig.data:
        assert list(t.x) == ["A", "B", "C"]
        assert list(t.customdata) == final[t.meta["kind"]].tolist()


def test_costs_from_the_mixed_event_frame(sim):
    a = plots.cost_frame(sim)
    b = plots.cost_frame(sim.events)
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------- flows
def test_settlement_flow_heatmap(sim):
    fig = plots.settlement_flow(sim)
    hm = fig.data[0]
    assert list(hm.x) == ["A", "B", "C"] and list(hm.y) == ["A", "B", "C"]
    assert [list(r) for r in hm.customdata] == [[0, 325000, 10000],
                                                 [80000, 0, 370000],
                                                 [345000, 55000, 0]]
    assert [list(r) for r in hm.z] == [[0, 3250.0, 100.0], [800.0, 0, 3700.0],
                                        [3450.0, 550.0, 0]]
    assert [list(r) for r in hm.text] == [[0, 2, 1], [1, 0, 2], [2, 1, 0]]
    assert fig.layout.xaxis.title.text == "receiver" and fig.layout.yaxis.title.text == "sender"


def test_settlement_flow_counts_split_children_not_parents():
    tx = pd.DataFrame({
        "tx_id": ["p", "c1", "c2", "q"], "parent_id": [None, "p", "p", None],
        "sender_id": ["A", "A", "A", "B"], "receiver_id": ["B", "B", "B", "A"],
        "amount": [1001, 500, 501, 7], "status": ["Settled", "Settled", "Settled", "Pending"]})
    m = plots.flow_matrix(tx)
    assert m.loc["A", "B"] == 1001 and m.loc["B", "A"] == 0


def test_settlement_flow_sankey(sim):
    fig = plots.settlement_flow(sim, kind="sankey")
    sk = fig.data[0]
    assert list(sk.node.label) == ["A pays", "B pays", "C pays", "A receives", "B receives",
                                   "C receives"]
    links = sorted(zip(sk.link.source, sk.link.target, sk.link.customdata, sk.link.value))
    assert links == [(0, 4, 325000, 3250.0), (0, 5, 10000, 100.0), (1, 3, 80000, 800.0),
                     (1, 5, 370000, 3700.0), (2, 3, 345000, 3450.0), (2, 4, 55000, 550.0)]
    with pytest.raises(ValueError, match="kind must be 'heatmap' or 'sankey'"):
        plots.settlement_flow(sim, kind="pie")


# ------------------------------------------------------------------------------- lsm
def test_lsm_value_settled_and_liquidity_saved(sim):
    fig = plots.lsm(sim)
    bv = one(fig, kind="bilateral", metric="value")
    bs = one(fig, kind="bilateral", metric="liquidity_saved")
    cv = one(fig, kind="cycle", metric="value")
    cs = one(fig, kind="cycle", metric="liquidity_saved")
    # the A<->C offset attempt at tick 9 did not settle and is left out
    assert list(bv.x) == [7] and [list(r) for r in bv.customdata] == [[115000, 1]]
    assert list(bs.x) == [7] and [list(r) for r in bs.customdata] == [[55000, 1]]
    assert list(bv.y) == [1150.0] and list(bs.y) == [550.0]
    assert list(cv.x) == [9] and [list(r) for r in cv.customdata] == [[915000, 1]]
    assert [list(r) for r in cs.customdata] == [[905000, 1]]       # 915,000 - 10,000


def test_lsm_from_a_flat_event_frame(sim):
    flat = pd.concat([sim.events_of(t).assign(event_type=t)
                      for t in ("LsmBilateralOffset", "LsmCycleSettlement")], ignore_index=True)
    f = plots.lsm_frame(flat)
    assert f[["tick", "kind", "value", "liquidity_saved"]].values.tolist() == [
        [7, "bilateral", 115000, 55000], [9, "cycle", 915000, 905000]]


# ------------------------------------------------------------------------------- timeline
def test_timeline_of_a_payment_that_waited_in_queue2(sim):
    fig = plots.timeline(sim, "tx_00000000")
    markers = {t.meta["event_type"]: t for t in fig.data if "event_type" in t.meta}
    assert list(markers) == ["Arrival", "RtgsSubmission", "PolicySubmit", "QueuedRtgs",
                             "Queue2LiquidityRelease"]
    assert list(markers["Queue2LiquidityRelease"].x) == [4]
    assert [list(r) for r in markers["Arrival"].customdata] == [[1, "tx_00000000", 40000]]
    bars = [t for t in fig.data if "queue" in t.meta]
    assert [(t.meta["queue"], t.base[0], t.x[0]) for t in bars] == [("Queue 2", 1, 3)]
    assert shape_xs(fig, "deadline") == [4]
    assert fig.layout.title.text.startswith("Payment tx_00000000: C → A, $400.00")


def test_timeline_of_a_cycle_payment_and_of_an_unknown_one(sim):
    fig = plots.timeline(sim, "tx_00000008")
    markers = [t.meta["event_type"] for t in fig.data if "event_type" in t.meta]
    assert markers[-1] == "LsmCycleSettlement"
    with pytest.raises(ValueError, match="no events mention payment 'nope'"):
        plots.timeline(sim, "nope")


def test_payment_events_follow_split_children():
    split = {"version": "1.0", "policy_id": "split",
             "payment_tree": {"type": "action", "node_id": "S", "action": "Split",
                              "parameters": {"num_splits": {"value": 2}}}}
    sc = {"simulation": {"ticks_per_day": 4, "num_days": 1, "rng_seed": 1},
          "agents": [{"id": "A", "opening_balance": 1000,
                      "policy": {"type": "Inline", "decision_trees": split}},
                     {"id": "B", "opening_balance": 0}],
          "scenario_events": [_pay("A", "B", 1001, 0)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = psl.Simulation(sc)
    s.step(1)
    ev = plots.payment_events(s, "tx_00000000")
    kids = ev[ev.tx_id != "tx_00000000"]
    assert sorted(set(kids.tx_id)) == ["tx_00000001", "tx_00000002"]
    assert "RtgsImmediateSettlement" in set(kids.event_type)
    only = plots.payment_events(s, "tx_00000000", include_children=False)
    assert set(only.tx_id) == {"tx_00000000"}


# ------------------------------------------------------------------------------- markers
def test_markers_are_added_in_one_layout_update_not_one_call_per_line(sim, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a marker was added on its own")
    monkeypatch.setattr(go.Figure, "add_shape", refuse)
    monkeypatch.setattr(go.Figure, "add_vline", refuse)
    for chart in (plots.liquidity, plots.queues, plots.collateral, plots.budgets, plots.costs,
                  plots.lsm):
        fig = chart(sim)
        assert shape_xs(fig, "scenario: ") == [1, 2, 4, 5, 7, 8, 9]


def test_markers_off_and_on_hover(sim):
    off = plots.queues(sim, markers=False)
    assert [s.name for s in off.layout.shapes] == []
    assert not [a for a in off.layout.annotations if (a.name or "").startswith(("day", "scen"))]
    hover = plots.queues(sim, markers="hover")
    assert shape_xs(hover, "scenario: ") == [1, 2, 4, 5, 7, 8, 9]
    notes = [a for a in hover.layout.annotations if (a.name or "").startswith("scenario: ")]
    assert [a.text for a in notes] == ["▾"] * 7
    transfer = [a for a in notes if a.name == "scenario: transfer"][0]
    assert transfer.hovertext.startswith("<b>transfer</b> (tick 4)")
    assert "from_agent=B" in transfer.hovertext
    with pytest.raises(ValueError, match="markers must be True .* 'hover' .* or False"):
        plots.queues(sim, markers="yes")


def test_colliding_labels_go_to_hover_and_never_stack_past_three_rows():
    # 12 payments injected at consecutive ticks: far more labels than fit side by side
    sc = {"simulation": {"ticks_per_day": 200, "num_days": 1, "rng_seed": 1},
          "agents": [{"id": "A", "opening_balance": 10**9}, {"id": "B", "opening_balance": 0}],
          "scenario_events": [_pay("A", "B", 100 + t, t) for t in range(100, 112)]}
    s = psl.Simulation(sc)
    s.run()
    fig = plots.liquidity(s)
    notes = [a for a in fig.layout.annotations if (a.name or "").startswith("scenario: ")]
    assert len(notes) == 12 == len(shape_xs(fig, "scenario: "))
    labelled = [a for a in notes if a.text != "▾"]
    assert 1 <= len(labelled) <= 3 < len(notes)
    assert sorted({a.yshift for a in labelled}) == [22, 35, 48][:len(labelled)]
    glyphs = [a for a in notes if a.text == "▾"]
    assert all(a.hovertext.startswith("<b>custom payment</b> (tick ") for a in glyphs)


def test_label_levels_and_day_label_thinning():
    assert layout._label_levels([(0, "abc"), (100, "abc"), (0.5, "abc")], 850) == [0, 0, 1]
    assert layout._label_levels([(0, "x" * 10)] * 4, 850, levels=3) == [0, 1, 2, None]
    assert layout._day_label_step(tpd=6, span=12, days=1) == 1
    # 25 days of 100 ticks on ~850 px: 34 px per day, "day 25" needs ~46 px -> every 2nd day
    assert layout._day_label_step(tpd=100, span=2500, days=24) == 2


def test_long_run_day_labels_thinned():
    sc = {"simulation": {"ticks_per_day": 4, "num_days": 60, "rng_seed": 1},
          "agents": [{"id": "A", "opening_balance": 1}, {"id": "B", "opening_balance": 0}]}
    s = psl.Simulation(sc)
    s.run()
    fig = plots.queues(s)
    assert len(shape_xs(fig, "day ")) == 59
    labels = [a.text for a in fig.layout.annotations if (a.name or "").startswith("day ")]
    step = layout._day_label_step(4, 240, 59)
    assert step > 1 and labels == [f"day {d}" for d in range(step, 60, step)]


def test_empty_message_sits_in_the_top_panel_not_on_a_subplot_title():
    s = psl.Simulation(scenario())
    for chart in (plots.liquidity, plots.queues):
        fig = chart(s)
        msg = [a for a in fig.layout.annotations if a.name == "empty"][0]
        lo, hi = fig.layout.yaxis.domain
        assert lo < msg.y < hi
        titles = [a for a in fig.layout.annotations if a.name is None]
        assert all(abs(t.y - msg.y) > 0.05 for t in titles)


class _WithoutTupleLog:
    """The simulation seen through its public frames only (as a column-wise event store or a
    stored run offers them): no in-memory list of engine tuples."""

    def __init__(self, sim):
        self._s = sim

    def __getattr__(self, name):
        if name in ("_log", "_seq_base"):
            raise AttributeError(name)
        return getattr(self._s, name)


def test_charts_read_events_of_when_there_is_no_tuple_log(sim):
    other = _WithoutTupleLog(sim)
    for chart in (plots.budgets, plots.collateral, plots.costs, plots.lsm, plots.liquidity):
        a, b = chart(sim), chart(other)
        assert [t.meta for t in a.data] == [t.meta for t in b.data]
        assert [list(t.customdata) if t.customdata is not None else None for t in a.data] == \
            [list(t.customdata) if t.customdata is not None else None for t in b.data]
        assert shape_xs(a, "scenario: ") == shape_xs(b, "scenario: ") == [1, 2, 4, 5, 7, 8, 9]
    held = one(plots.budgets(other), agent_id="A", event_type="PolicyHold")
    assert held.customdata[0][1] == 1
