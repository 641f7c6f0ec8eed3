"""ParticipantOutage, ParticipantFailure and CollateralHaircutChange: exact effects on queues
and balances, and the profile and validation rules (docs/scenario_format.md)."""
import pytest

import paysim_lab as psl
from paysim_lab.errors import ScenarioError


def pay(t, s, r, x):
    return {"type": "CustomTransactionArrival", "from_agent": s, "to_agent": r, "amount": x,
            "deadline": 20, "schedule": {"type": "OneTime", "tick": t}}


def scenario(events, balances=(("A", 100), ("B", 100), ("C", 0)), **extra):
    return {"simulation": {"ticks_per_day": 10, "num_days": 1, "rng_seed": 1},
            "agents": [{"id": a, "opening_balance": b} for a, b in balances],
            "scenario_events": events, **extra}


def balances_by_tick(sim):
    h = sim.history()
    return {t: dict(zip(g.agent_id, g.balance)) for t, g in h.groupby("tick")}


def settled(sim):
    tx = sim.transactions()
    return [(r.sender_id, r.receiver_id, r.amount,
             None if r.settlement_tick is None or r.settlement_tick != r.settlement_tick
             else int(r.settlement_tick), r.settled_by)
            for r in tx.astype(object).where(tx.notna(), None).itertuples()]


def test_outage_holds_the_banks_payments_and_lets_payments_to_it_settle():
    sim = psl.Simulation(scenario([
        {"type": "ParticipantOutage", "agent": "A", "start_tick": 2, "end_tick": 5},
        pay(1, "A", "B", 10), pay(2, "A", "C", 20), pay(3, "B", "A", 30), pay(4, "A", "B", 5)]))
    sim.run()
    bal = balances_by_tick(sim)
    assert bal[1] == {"A": 90, "B": 110, "C": 0}
    assert bal[4] == {"A": 120, "B": 80, "C": 0}      # A received 30, sent nothing
    assert bal[5] == {"A": 95, "B": 85, "C": 20}      # the window closed: both waiting settle
    q2 = sim.history().set_index(["tick", "agent_id"])["queue2_value"]
    assert [q2[(t, "A")] for t in range(1, 6)] == [0, 20, 20, 25, 0]
    assert settled(sim) == [("A", "B", 10, 1, "rtgs"), ("A", "C", 20, 5, "queue2"),
                            ("B", "A", 30, 3, "rtgs"), ("A", "B", 5, 5, "queue2")]
    ex = sim.events_of("ScenarioEventExecuted")
    outage = ex[ex.scenario_event_type == "participant_outage"]
    assert list(outage.tick) == [2, 5]
    assert [d["phase"] for d in outage.details] == ["start", "end"]
    queued = sim.events_of("QueuedRtgs")
    assert list(zip(queued.tick, queued.sender_id)) == [(2, "A"), (4, "A")]


def test_outage_hides_the_banks_payments_from_the_lsm_until_it_ends():
    sim = psl.Simulation(scenario([
        {"type": "ParticipantOutage", "agent": "A", "start_tick": 1, "end_tick": 4},
        pay(1, "A", "B", 50), pay(2, "B", "A", 50), pay(2, "C", "B", 7)],
        balances=(("A", 0), ("B", 0), ("C", 0))))
    sim.run()
    # without the outage the two would offset at tick 2; C->B (no money) waits throughout
    assert settled(sim) == [("A", "B", 50, 4, "lsm_bilateral"), ("B", "A", 50, 4, "lsm_bilateral"),
                            ("C", "B", 7, None, None)]
    q = sim.history().query("tick == 3").set_index("agent_id")["queue2_value"]
    assert dict(q) == {"A": 50, "B": 50, "C": 7}
    baseline = psl.Simulation(scenario([pay(1, "A", "B", 50), pay(2, "B", "A", 50)],
                                       balances=(("A", 0), ("B", 0), ("C", 0))))
    baseline.run()
    assert [s[3] for s in settled(baseline)] == [2, 2]


def test_failure_stops_sending_and_receiving_for_good():
    sim = psl.Simulation(scenario([
        {"type": "ParticipantFailure", "agent": "A", "tick": 3},
        pay(1, "B", "A", 10), pay(3, "B", "A", 20), pay(4, "A", "B", 5), pay(5, "B", "C", 1),
        {"type": "ScheduledSettlement", "from_agent": "B", "to_agent": "A", "amount": 3,
         "schedule": {"type": "OneTime", "tick": 6}}]))
    sim.run()
    bal = balances_by_tick(sim)
    assert bal[1] == {"A": 110, "B": 90, "C": 0}
    assert bal[9] == {"A": 110, "B": 89, "C": 1}
    assert settled(sim) == [("B", "A", 10, 1, "rtgs"), ("B", "A", 20, None, None),
                            ("A", "B", 5, None, None), ("B", "C", 1, 5, "rtgs")]
    end = sim.history().query("tick == 9").set_index("agent_id")
    assert (end.loc["B", "queue2_value"], end.loc["A", "queue2_value"]) == (20, 5)
    ex = sim.events_of("ScenarioEventExecuted")
    sched = ex[ex.scenario_event_type == "scheduled_settlement"].details.iloc[0]
    assert (sched["settled"], sched["reason"]) == (False, "participant_unavailable")


def test_haircut_shock_cuts_the_collateral_credit():
    agents = [{"id": "A", "opening_balance": 0, "posted_collateral": 1000,
               "collateral_haircut": 0.1, "max_collateral_capacity": 1000},
              {"id": "B", "opening_balance": 0, "posted_collateral": 1000}]

    def run(events):
        sc = {"simulation": {"ticks_per_day": 10, "num_days": 1, "rng_seed": 1},
              "agents": agents, "scenario_events": events + [pay(3, "A", "B", 700)]}
        s = psl.Simulation(sc)
        s.run()
        return s

    calm = run([])
    assert settled(calm)[0][3] == 3                    # 700 <= 900 of credit
    shocked = run([{"type": "CollateralHaircutChange", "agent": "A", "haircut": 0.5,
                    "schedule": {"type": "OneTime", "tick": 2}}])
    assert settled(shocked)[0][3] is None              # 700 > 500 of credit
    st = shocked.agents().set_index("agent_id")
    assert (st.loc["A", "allowed_overdraft_limit"], st.loc["B", "allowed_overdraft_limit"]) == (
        500, 980)
    ex = shocked.events_of("ScenarioEventExecuted").query(
        "scenario_event_type == 'collateral_haircut_change'").details.iloc[0]
    assert ex == {"agent": "A", "haircut": 0.5, "old_haircuts": {"A": 0.1}}
    everyone = run([{"type": "CollateralHaircutChange", "haircut": 0.25,
                     "schedule": {"type": "OneTime", "tick": 0}}])
    assert list(everyone.agents().allowed_overdraft_limit) == [750, 750]


@pytest.mark.parametrize("event", [
    {"type": "ParticipantOutage", "agent": "A", "start_tick": 1, "end_tick": 2},
    {"type": "ParticipantFailure", "agent": "A", "tick": 1},
    {"type": "CollateralHaircutChange", "haircut": 0.5,
     "schedule": {"type": "OneTime", "tick": 1}},
])
def test_simcash_profile_refuses_the_extended_events(event):
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(scenario([event]), compat="simcash")
    msg = str(err.value)
    assert "scenario_events[0].type" in msg
    assert f"{event['type']} is an extended-profile event" in msg
    psl.load_scenario(scenario([event]))        # the extended profile accepts it


def test_outage_window_must_be_ordered_and_name_an_agent():
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(scenario([{"type": "ParticipantOutage", "agent": "A",
                                     "start_tick": 4, "end_tick": 4}]))
    assert "scenario_events[0].end_tick" in str(err.value)
    assert "must be after start_tick (4)" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(scenario([{"type": "ParticipantFailure", "agent": "Z", "tick": 1}]))
    assert "scenario_events[0].agent" in str(err.value) and "'Z'" in str(err.value)


def test_an_outage_after_the_run_warns_that_it_never_fires():
    with pytest.warns(psl.ScenarioWarning, match=r"scenario_events\[0\]\.start_tick.*never fires"):
        psl.load_scenario(scenario([{"type": "ParticipantOutage", "agent": "A",
                                     "start_tick": 10, "end_tick": 12}]))
    with pytest.warns(psl.ScenarioWarning, match=r"scenario_events\[0\]\.tick.*never fires"):
        psl.load_scenario(scenario([{"type": "ParticipantFailure", "agent": "A", "tick": 10}]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_settlement_path_crosses_an_outage_or_failure(seed):
    """A generated 12-bank system with the LSM on (offsets, cycles, retries), an outage of a
    core bank and a failure of another: nothing the out bank sent settles inside its window,
    nothing touches the failed bank after its failure, and no money is created or lost."""
    from paysim_lab.synthetic import synthetic_scenario
    sc = synthetic_scenario(banks=12, payments_per_day=600, seed=seed, ticks_per_day=40,
                            core_fraction=0.25)
    ids = [a["id"] for a in sc["agents"]]
    out, failed = ids[0], ids[1]
    sc["scenario_events"] = [
        {"type": "ParticipantOutage", "agent": out, "start_tick": 8, "end_tick": 20},
        {"type": "ParticipantFailure", "agent": failed, "tick": 25}]
    sim = psl.Simulation(sc)
    sim.run()
    tx = sim.transactions()
    done = tx[tx.settlement_tick.notna() & tx.parent_id.isna()]
    in_window = done[(done.sender_id == out) & done.settlement_tick.between(8, 19)]
    assert in_window.empty
    touching_failed = done[((done.sender_id == failed) | (done.receiver_id == failed))
                           & (done.settlement_tick >= 25)]
    assert touching_failed.empty
    # the outage did hold payments back, and the system kept settling around it
    assert (tx.sender_id == out).sum() > 0
    assert (done.sender_id == out).sum() > 0 and len(done) > 100
    h = sim.history()
    totals = h.groupby("tick").balance.sum()
    assert totals.nunique() == 1 and totals.iloc[0] == sum(a["opening_balance"]
                                                          for a in sc["agents"])
    ever_queued_during = h[(h.agent_id == out) & h.tick.between(8, 19)].queue2_value
    assert ever_queued_during.max() > 0


def test_the_scenario_json_schema_accepts_the_new_events():
    jsonschema = pytest.importorskip("jsonschema")
    from paysim_lab.config.schema import scenario_json_schema
    doc = scenario([
        {"type": "ParticipantOutage", "agent": "A", "start_tick": 1, "end_tick": 3},
        {"type": "ParticipantFailure", "agent": "B", "tick": 2},
        {"type": "CollateralHaircutChange", "haircut": 0.3,
         "schedule": {"type": "OneTime", "tick": 1}}])
    jsonschema.validate(doc, scenario_json_schema())
    bad = scenario([{"type": "CollateralHaircutChange", "haircut": 1.5,
                     "schedule": {"type": "OneTime", "tick": 1}}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, scenario_json_schema())
