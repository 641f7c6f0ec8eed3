"""The public Simulation API of api.md: stepping, frames, summary, determinism."""
import pytest

import paysim_lab as psl


@pytest.fixture
def sim():
    return psl.Simulation(psl.data.scenario_path("two_bank_teaching"))


def test_step_and_run_and_finished(sim):
    assert (sim.current_tick, sim.total_ticks, sim.done) == (0, 20, False)
    first = sim.step()
    assert set(first.tick) <= {0}
    ten = sim.step(10)
    assert sim.current_tick == 11 and set(ten.tick) <= set(range(1, 11))
    rest = sim.run()
    assert sim.done and rest.tick.min() >= 11
    with pytest.raises(psl.SimulationFinished):
        sim.step()
    assert len(sim.events) == len(first) + len(ten) + len(rest)
    assert list(sim.events.seq) == list(range(len(sim.events)))


def test_events_frame_columns(sim):
    sim.run()
    ev = sim.events
    assert list(ev.columns) == ["tick", "day", "seq", "event_type", "agent_id", "tx_id",
                                "amount", "details"]
    arr = ev[ev.event_type == "Arrival"].iloc[0]
    assert arr.agent_id == arr.details["sender_id"] and arr.amount == arr.details["amount"]
    sub = ev[ev.event_type == "RtgsImmediateSettlement"].iloc[0]
    assert sub.agent_id == sub.details["sender"]


def test_events_of_has_catalog_columns(sim):
    sim.run()
    frame = sim.events_of("RtgsImmediateSettlement")
    assert list(frame.columns) == ["tick", "day", "seq", "tx_id", "sender", "receiver", "amount",
                                   "sender_balance_before", "sender_balance_after"]
    assert (frame.sender_balance_before - frame.amount == frame.sender_balance_after).all()
    with pytest.raises(ValueError, match="unknown event type"):
        sim.events_of("NoSuchEvent")


def test_history_matches_agents_at_end(sim):
    sim.run()
    hist = sim.history()
    assert len(hist) == 20 * 2
    last = hist[hist.tick == 19].set_index("agent_id")
    now = sim.agents().set_index("agent_id")
    for aid in now.index:
        assert last.loc[aid, "balance"] == now.loc[aid, "balance"]
        assert last.loc[aid, "cost_to_date"] == now.loc[aid, "total_cost"]
    assert set(hist.columns) >= {"tick", "day", "agent_id", "balance", "credit_used",
                                 "posted_collateral", "available_liquidity", "queue1_count",
                                 "queue1_value", "queue2_count", "queue2_value",
                                 "release_budget_remaining", "cost_to_date"}


def test_transactions_and_summary_agree(sim):
    sim.run()
    tx = sim.transactions()
    s = sim.summary()
    assert s["arrivals"] == int(tx.parent_id.isna().sum())
    assert s["settlements"] == int(((tx.status == "settled") & tx.parent_id.isna()).sum())
    assert s["total_cost"] == int(sim.costs().total.sum())
    assert set(s) >= {"ticks_run", "arrivals", "settlements", "settlement_rate", "lsm_bilateral",
                      "lsm_cycles", "unsettled", "overdue", "total_cost", "agents"}
    assert set(s["agents"]["NORTH"]) == {"balance", "posted_collateral", "costs", "total_cost"}


def test_money_conserved(sim):
    opening = sum(a.balance for a in sim.world.agent_list)
    sim.run()
    assert sim.agents().balance.sum() == opening


def test_same_seed_same_events_other_seed_differs():
    a = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    b = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    a.run(), b.run()
    assert list(a.event_records()) == list(b.event_records())
    c = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"), seed=99)
    c.run(ticks=20)
    assert [r for _, r in c.event_records()][:5] != [r for _, r in a.event_records()][:5]


def test_state_registers_and_budget_columns():
    sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    sim.run(ticks=50)
    regs = sim.state_registers()
    assert list(regs.columns) == ["agent_id", "key", "value"]
    assert set(regs.key) == {"bank_state_stress_ticks"}
    assert str(sim.agents().release_budget_remaining.dtype) == "Int64"


def test_run_with_progress_bar(capsys):
    sim = psl.Simulation(psl.data.scenario_path("two_bank_teaching"))
    sim.run(progress=True)
    assert sim.done


def test_advance_runs_like_run_without_building_a_frame():
    a = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    b = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    assert a.advance(40) == 40 and a.current_tick == 40
    assert a.advance() == 260 and a.done
    assert a.advance() == 0
    b.run()
    assert list(a.event_records()) == list(b.event_records())
    assert a.summary() == b.summary()
