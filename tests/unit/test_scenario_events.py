"""Every scenario event type (engine.md 8): effect, emitted details, and the silent cases."""
import pytest

from enginekit import engine_for, of_type, run
from paysim_lab.errors import ScenarioWarning, SimulationError


def base(events, arrivals=True, tpd=10, days=1):
    a = {"id": "A", "opening_balance": 100_000, "unsecured_cap": 5_000}
    if arrivals:
        a["arrival_config"] = {"rate_per_tick": 0.5,
                               "amount_distribution": {"type": "Uniform", "min": 10, "max": 20},
                               "counterparty_weights": {"B": 1.0}, "deadline_range": [3, 5]}
    return {"simulation": {"ticks_per_day": tpd, "num_days": days, "rng_seed": 3},
            "agents": [a, {"id": "B", "opening_balance": 0}], "scenario_events": events}


def once(t, **kw):
    return {**kw, "schedule": {"type": "OneTime", "tick": t}}


def executed(events):
    return [(e["tick"], e["scenario_event_type"], e["details"])
            for e in of_type(events, "ScenarioEventExecuted")]


def test_direct_transfer_moves_money_without_checks():
    eng = engine_for(base([once(0, type="DirectTransfer", from_agent="B", to_agent="A",
                                amount=7_000)], arrivals=False))
    events = run(eng, 1)
    assert executed(events) == [(0, "direct_transfer",
                                 {"from_agent": "B", "to_agent": "A", "amount": 7_000})]
    assert eng.world.agents["B"].balance == -7_000  # below its (zero) credit limit: allowed
    assert eng.world.agents["B"].total_outflow == 0


def test_custom_arrival_deadline_default_and_cap():
    eng = engine_for(base([once(2, type="CustomTransactionArrival", from_agent="A",
                                to_agent="B", amount=123, priority=0),
                           once(3, type="CustomTransactionArrival", from_agent="A",
                                to_agent="B", amount=5, deadline=50)], arrivals=False,
                          tpd=40))
    events = run(eng, 4)
    arr = of_type(events, "Arrival")
    # default deadline t + max(40 // 10, 5) = 7; priority 0 stays 0
    assert [(a["tick"], a["deadline"], a["priority"]) for a in arr] == [(2, 7, 0), (3, 40, 5)]
    det = executed(events)[1][2]
    assert det["deadline"] == 53 and det["tx_id"] == "tx_00000001"  # uncapped in details


def test_custom_arrival_cap_at_eod_uses_last_tick_of_day():
    cfg = base([once(2, type="CustomTransactionArrival", from_agent="A", to_agent="B",
                     amount=5, deadline=30)], arrivals=False, tpd=10, days=3)
    cfg["deadline_cap_at_eod"] = True
    events = run(engine_for(cfg), 3)
    assert of_type(events, "Arrival")[0]["deadline"] == 9


def test_collateral_adjustment_changes_unsecured_cap():
    eng = engine_for(base([once(0, type="CollateralAdjustment", agent="A", delta=-2_000)],
                          arrivals=False))
    run(eng, 1)
    assert eng.world.agents["A"].unsecured_cap == 3_000
    assert eng.world.agents["A"].posted_collateral == 0


def test_collateral_adjustment_below_zero_aborts():
    eng = engine_for(base([once(1, type="CollateralAdjustment", agent="A", delta=-6_000)],
                          arrivals=False))
    eng.tick()
    with pytest.raises(SimulationError, match="tick 1, scenario_events\\[0\\]"):
        eng.tick()


def test_rate_changes_global_not_compounding_and_agent_rebase():
    eng = engine_for(base([once(0, type="GlobalArrivalRateChange", multiplier=2.0),
                           once(1, type="GlobalArrivalRateChange", multiplier=1.5),
                           once(2, type="AgentArrivalRateChange", agent="A", multiplier=2.0),
                           once(3, type="GlobalArrivalRateChange", multiplier=3.0)]))
    gen = eng.world.agents["A"].arrival
    rates = []
    for _ in range(4):
        eng.tick()
        rates.append(gen.rate)
    assert rates == [1.0, 0.75, 1.5, 4.5]
    det = executed(eng.world.events)[2][2]
    assert det == {"agent": "A", "multiplier": 2.0, "old_rate": 0.75, "new_rate": 1.5}


def test_arrival_modifiers_silent_without_any_arrivals():
    events = run(engine_for(base([once(0, type="GlobalArrivalRateChange", multiplier=2.0),
                                  once(0, type="DeadlineWindowChange", min_ticks_multiplier=2.0),
                                  once(0, type="DirectTransfer", from_agent="A", to_agent="B",
                                       amount=1)], arrivals=False)), 1)
    assert [e[1] for e in executed(events)] == ["direct_transfer"]


def test_agent_rate_change_silent_for_agent_without_config():
    events = run(engine_for(base([once(0, type="AgentArrivalRateChange", agent="B",
                                       multiplier=2.0)])), 1)
    assert executed(events) == []


def test_counterparty_weight_and_deadline_window_change():
    eng = engine_for(base([once(0, type="CounterpartyWeightChange", agent="B",
                                counterparty="A", new_weight=0.5),
                           once(0, type="DeadlineWindowChange", min_ticks_multiplier=1.5,
                                max_ticks_multiplier=None)]))
    events = run(eng, 1)
    assert executed(events) == [
        (0, "counterparty_weight_change", {"agent": "B", "counterparty": "A", "new_weight": 0.5,
                                           "auto_balance_others": False}),
        (0, "deadline_window_change", {"min_ticks_multiplier": 1.5,
                                       "max_ticks_multiplier": None})]
    gen = eng.world.agents["A"].arrival
    assert (gen.dmin, gen.dmax) == (5, 5)    # round(3 * 1.5) = 5 (half away from zero)


def test_inverted_deadline_window_raises_at_next_arrival():
    cfg = base([once(0, type="DeadlineWindowChange", min_ticks_multiplier=4.0)])
    eng = engine_for(dict(cfg, profile="simcash"))
    with pytest.raises(SimulationError, match="deadline window"):
        run(eng, 10)
    # extended: the window becomes [max, max] with a warning
    eng = engine_for(cfg)
    with pytest.warns(ScenarioWarning, match=r"from \[3, 5\] to \[12, 5\]; capped to \[5, 5\]"):
        run(eng, 10)
    assert (eng.world.agents["A"].arrival.dmin, eng.world.agents["A"].arrival.dmax) == (5, 5)


def test_scheduled_settlement_settled_and_refused():
    eng = engine_for(base([once(0, type="ScheduledSettlement", from_agent="A", to_agent="B",
                                amount=60_000),
                           once(1, type="ScheduledSettlement", from_agent="B", to_agent="A",
                                amount=70_000)], arrivals=False))
    events = run(eng, 2)
    imm = of_type(events, "RtgsImmediateSettlement")
    assert imm == [{"event_type": "RtgsImmediateSettlement", "tick": 0,
                    "tx_id": "scheduled_settlement_A_B_60000_0", "sender": "A", "receiver": "B",
                    "amount": 60_000, "sender_balance_before": 100_000,
                    "sender_balance_after": 40_000}]
    assert executed(events)[1] == (1, "scheduled_settlement",
                                   {"from_agent": "B", "to_agent": "A", "amount": 70_000,
                                    "settled": False, "reason": "insufficient_liquidity"})
    assert eng.next_tx_number == 0   # no transaction ids consumed


def test_repeating_schedule():
    ev = {"type": "DirectTransfer", "from_agent": "A", "to_agent": "B", "amount": 1,
          "schedule": {"type": "Repeating", "start_tick": 2, "interval": 3}}
    events = run(engine_for(base([ev], arrivals=False)), 10)
    assert [e[0] for e in executed(events)] == [2, 5, 8]
