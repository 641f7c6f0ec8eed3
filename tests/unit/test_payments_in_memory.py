"""A payments table given as a DataFrame lives in the Scenario object, not in its written form.

Everything that rebuilds a scenario from that form (``with_changes``, sweep points, stress
grids, ``store.verify``, a stored run's scenario) must still run with those payments, or say
clearly why it cannot.
"""
import pandas as pd
import pytest

import paysim_lab as psl
from paysim_lab.errors import ScenarioError

BANKS = pd.DataFrame({"id": ["A", "B", "C"], "opening_balance": [40_000, 10_000, 0]})
PAYMENTS = pd.DataFrame({"sender": ["A", "B", "A", "C", "B"],
                         "receiver": ["B", "C", "C", "A", "A"],
                         "amount": [500, 700, 900, 300, 1_200],
                         "arrival_tick": [0, 1, 2, 6, 8],
                         "deadline_tick": [4, None, 9, None, None],
                         "priority": [7, None, None, 2, None],
                         "divisible": [False, True, False, False, False],
                         "payment_id": ["P1", "P2", None, "P4", "P5"]})


def scenario(**options):
    return psl.Scenario.from_payments(PAYMENTS, BANKS, ticks_per_day=5, num_days=2, **options)


def arrivals(sc):
    events = psl.Simulation(sc).run()
    got = events[events.event_type == "Arrival"]
    return [(r.tick, r.tx_id, r.agent_id, r.details["receiver_id"], r.amount,
             r.details["deadline"], r.details["priority"], r.details["is_divisible"])
            for r in got.itertuples()]


def test_with_changes_keeps_the_payments_of_a_dataframe():
    sc = scenario()
    expected = arrivals(sc)
    assert [a[1] for a in expected] == ["P1", "P2", "tx_00000002", "P4", "P5"]
    changed = sc.with_changes({"agents.B.opening_balance": 0, "simulation.rng_seed": 4})
    assert changed.payment_count == 5
    assert arrivals(changed) == expected


def test_with_changes_checks_the_payments_against_a_shorter_run():
    sc = scenario()
    longer = sc.with_changes({"simulation.num_days": 3})
    # (deadlines left to the default are capped at the run's end, which moved)
    assert [a[:5] for a in arrivals(longer)] == [a[:5] for a in arrivals(sc)]
    with pytest.raises(ScenarioError) as err:
        sc.with_changes({"simulation.num_days": 1})
    # the table is named, with the row and column at fault
    assert "<payments DataFrame>" in str(err.value) and "arrival_tick" in str(err.value)


def test_clock_times_cannot_follow_a_new_tick_length():
    frame = pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [5],
                          "arrival_time": ["09:00"]})
    sc = psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10,
                                    clock={"opening": "08:00", "closing": "18:00"})
    assert arrivals(sc.with_changes({"simulation.rng_seed": 2}))[0][0] == 1
    with pytest.raises(ScenarioError, match="clock times"):
        sc.with_changes({"simulation.ticks_per_day": 20})


def test_a_sweep_runs_every_point_with_the_payments():
    sc = scenario()
    frame = psl.sweep(sc, {"agents.A.opening_balance": [0, 40_000]}, backend="serial")
    assert frame["arrivals"].tolist() == [5, 5]
    assert frame["error"].isna().all()


def test_a_stored_run_keeps_its_payments_and_verifies(tmp_path):
    store = psl.Store(tmp_path / "runs.duckdb")
    sim = psl.Simulation(scenario(), store=store)
    sim.run()
    stored = store.connection.execute(
        "SELECT row, sender, receiver, amount, arrival_tick, deadline_tick, priority, "
        "divisible, payment_id FROM run_payments ORDER BY row").fetchall()
    assert stored == [(0, "A", "B", 500, 0, 4, 7, False, "P1"),
                      (1, "B", "C", 700, 1, None, None, True, "P2"),
                      (2, "A", "C", 900, 2, 9, None, False, None),
                      (3, "C", "A", 300, 6, None, 2, False, "P4"),
                      (4, "B", "A", 1_200, 8, None, None, False, "P5")]
    result = store.verify(sim.run_id)
    assert result.ok and result.events == len(sim.events), result.mismatch
    store.close()
    # read again from the file: the stored run's scenario has the payments too
    store = psl.Store(tmp_path / "runs.duckdb")
    run = store.stored_run(sim.run_id)
    assert run.scenario.payment_count == 5
    assert store.verify(sim.run_id).ok


def test_a_run_without_an_in_memory_table_stores_no_payment_rows(tmp_path):
    sc = psl.load_scenario(psl.data.scenario_path("payments_table_day"))
    store = psl.Store()
    sim = psl.Simulation(sc, store=store)
    sim.run(ticks=3)
    # a payments file is read again from its path: nothing copied into the store
    assert store.sql("SELECT count(*) n FROM run_payments")["n"][0] == 0


def test_a_version_6_store_gains_run_payments_for_the_runs_stored_from_then_on(tmp_path):
    """Migration 7 adds run_payments; runs stored before it have no rows there."""
    from paysim_lab.store.migrations import existing_tables
    from storekit import old_store
    path = tmp_path / "v6.duckdb"
    old_store(path, 6).close()
    with psl.Store(path) as store:
        assert store.migrate() == [7]
        assert "run_payments" in existing_tables(store.connection)
        sim = psl.Simulation(scenario(), store=store)
        sim.run()
        assert store.info()["runs"][sim.run_id]["run_payments"] == 5
        assert store.verify(sim.run_id).ok
        assert store.check() == []
