"""Store frames: a stored run reads back with the Simulation's frame names, columns and dtypes."""
from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError


@pytest.fixture(scope="module")
def stored():
    store = psl.Store()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"), store=store)
    sim.run()
    yield store, sim
    store.close()


def test_history_is_the_simulations_history(stored):
    store, sim = stored
    pd.testing.assert_frame_equal(store.history(sim.run_id), sim.history())


def test_transactions_are_the_simulations_transactions(stored):
    store, sim = stored
    live = sim.transactions()
    pd.testing.assert_frame_equal(store.transactions(sim.run_id), live)
    assert set(live["status"]) <= {"pending", "settled", "overdue", "dropped"}
    assert (live["status"] == "settled").any()


def test_costs_are_the_simulations_costs(stored):
    store, sim = stored
    pd.testing.assert_frame_equal(store.costs(sim.run_id), sim.costs())


def test_events_of_is_the_simulations_events_of(stored):
    store, sim = stored
    for et in ("Arrival", "CostAccrual", "LsmCycleSettlement", "EndOfDay"):
        pd.testing.assert_frame_equal(store.events_of(sim.run_id, et), sim.events_of(et),
                                      obj=et)


def test_every_chart_draws_a_stored_run(stored):
    store, sim = stored
    run = store.stored_run(sim.run_id)
    assert run.current_tick == sim.current_tick and run.ticks_per_day == sim.ticks_per_day
    tx = sim.transactions()
    tx_id = tx.loc[tx["status"] == "settled", "tx_id"].iloc[0]
    for name, kwargs in (("liquidity", {}), ("collateral", {}), ("budgets", {}), ("queues", {}),
                         ("costs", {}), ("settlement_flow", {}), ("lsm", {}),
                         ("timeline", {"tx_id": tx_id})):
        live = getattr(psl.plots, name)(sim, **kwargs)
        back = getattr(psl.plots, name)(run, **kwargs)
        assert json.loads(back.to_json())["data"] == json.loads(live.to_json())["data"], name
        assert back.layout.title.text == live.layout.title.text, name


def test_frames_of_an_unknown_run_name_the_run(stored):
    store, _ = stored
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.history("nope")
