"""Scale limits (issue 13): scenario events looked up by tick, linear world building, large
in-Python scenarios load, the heap is frozen after building."""
import gc

import paysim_lab as psl
from enginekit import engine_for, of_type, run
from paysim_lab.engine.state import Agent, World
from paysim_lab.synthetic import synthetic_scenario


def _transfer(schedule, amount):
    return {"type": "DirectTransfer", "from_agent": "A", "to_agent": "B", "amount": amount,
            "schedule": schedule}


def test_events_due_at_one_tick_run_in_file_order_whatever_their_schedule():
    events = [_transfer({"type": "OneTime", "tick": 4}, 1),
              _transfer({"type": "Repeating", "start_tick": 0, "interval": 2}, 2),
              _transfer({"type": "OneTime", "tick": 4}, 3),
              _transfer({"type": "OneTime", "tick": 1}, 4)]
    cfg = {"simulation": {"ticks_per_day": 6, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": "A", "opening_balance": 0}, {"id": "B", "opening_balance": 0}],
           "scenario_events": events}
    executed = [(e["tick"], e["details"]["amount"])
                for e in of_type(run(engine_for(cfg)), "ScenarioEventExecuted")]
    assert executed == [(0, 2), (1, 4), (2, 2), (4, 1), (4, 2), (4, 3)]


def test_add_agents_keeps_id_order_and_config_order():
    w = World(5, 1)
    w.add_agents([Agent("C", 0, 0), Agent("A", 1, 0)])
    w.add_agent(Agent("B", 2, 0))
    assert [a.id for a in w.agent_list] == ["A", "B", "C"]
    assert w.config_order == ["C", "A", "B"] and w.n_agents == 3


def test_a_scenario_dict_beyond_the_file_value_limit_loads():
    # 2,500 banks with 250 core weights each: over 2,000,000 values, refused in a file
    d = synthetic_scenario(banks=2_500, payments_per_day=500)
    sc = psl.load_scenario(d)
    assert len(sc.agents) == 2_500


def test_building_a_simulation_freezes_the_heap():
    sim = psl.Simulation(synthetic_scenario(banks=5, payments_per_day=50))
    # gc.get_objects() lists only what the cyclic collector still scans: frozen objects are
    # absent, so the long-lived world is no longer re-scanned by every full collection
    assert id(sim.world) not in {id(o) for o in gc.get_objects()}


def test_synthetic_payments_load_as_a_table_and_run():
    from paysim_lab.synthetic import synthetic_payments
    payments, banks = synthetic_payments(banks=30, payments=600, ticks_per_day=20, days=2)
    again, _ = synthetic_payments(banks=30, payments=600, ticks_per_day=20, days=2)
    assert payments.equals(again)                      # deterministic from the seed
    assert (payments.sender != payments.receiver).all()
    assert payments.arrival_tick.is_monotonic_increasing and payments.arrival_tick.max() < 40
    sc = psl.Scenario.from_payments(payments, banks, ticks_per_day=20, num_days=2)
    sim = psl.Simulation(sc)
    events = sim.run()
    assert (events.event_type == "Arrival").sum() == 600
    assert set(events.query("event_type == 'Arrival'").tx_id) == set(payments.payment_id)
