"""The same sweep gives the same frame on every backend and worker count."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import paysim_lab as psl

TEACHING = psl.data.scenario_path("two_bank_teaching")
GRID = {
    "agents.SOUTH.policy.parameters.urgency_threshold": [2, 6],
    "scenario_events.0.delta": [-20000, -150000],       # the second value fails at tick 3
}
SEEDS = (1, 2, 3)


def scenario() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = psl.load_scenario(TEACHING).model_dump()
    doc["agents"][1]["unsecured_cap"] = 100000        # SOUTH
    doc["scenario_events"] = [{"type": "CollateralAdjustment", "agent": "SOUTH", "delta": 0,
                               "schedule": {"type": "OneTime", "tick": 3}}]
    return doc


def settled_value(sim):
    tx = sim.transactions()
    return {"settled_value": int(tx.loc[tx["status"] == "settled", "amount"].sum())}


@pytest.fixture(scope="module")
def serial():
    return psl.sweep(scenario(), grid=GRID, seeds=SEEDS, metrics=settled_value,
                     backend="serial")


def test_serial_reference_frame(serial):
    assert len(serial) == 12
    failed = serial["scenario_events.0.delta"] == -150000
    assert serial["error"][~failed].tolist() == [None] * 6
    assert set(serial["error"][failed]) == {
        "SimulationError: tick 3, scenario_events[0] CollateralAdjustment: agent SOUTH's "
        "unsecured_cap would become -50000 (< 0)"}
    assert serial["settled_value"][~failed].gt(0).all()


@pytest.mark.parametrize("workers", [1, 2])
def test_process_pool_matches_serial(serial, workers):
    frame = psl.sweep(scenario(), grid=GRID, seeds=SEEDS, metrics=settled_value,
                      backend="process", workers=workers)
    pd.testing.assert_frame_equal(frame, serial)


def test_process_pool_accepts_a_lambda_metric(serial):
    frame = psl.sweep(scenario(), grid=GRID, seeds=SEEDS, backend="process", workers=2,
                      metrics=lambda sim: {"ticks": sim.current_tick})
    ok = frame["error"].isna()
    assert frame["ticks"][ok].tolist() == [psl.load_scenario(TEACHING).total_ticks] * 6
    assert frame["ticks"][~ok].isna().all()
    pd.testing.assert_frame_equal(frame.drop(columns="ticks"),
                                  serial.drop(columns="settled_value"))


def test_dask_client_matches_serial(serial):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        frame = psl.sweep(scenario(), grid=GRID, seeds=SEEDS, metrics=settled_value,
                          backend="dask", client=client)
    pd.testing.assert_frame_equal(frame, serial)


@pytest.mark.slow
def test_dask_without_client_starts_its_own_local_cluster(serial):
    pytest.importorskip("dask.distributed")
    frame = psl.sweep(scenario(), grid=GRID, seeds=SEEDS, metrics=settled_value,
                      backend="dask", workers=2)
    pd.testing.assert_frame_equal(frame, serial)


def test_equilibrium_on_a_process_pool_matches_serial():
    game = psl.data.scenario_path("liquidity_game_2period")
    grid = [round(0.05 * k, 2) for k in range(9)]
    serial = psl.experiments.find_equilibrium(game, agents=["BANK_A", "BANK_B"], grid=grid)
    pooled = psl.experiments.find_equilibrium(game, agents=["BANK_A", "BANK_B"], grid=grid,
                                              backend="process", workers=2)
    assert pooled.equilibrium == serial.equilibrium == {"BANK_A": 0.0, "BANK_B": 0.2}
    assert pooled.path == serial.path
    assert pooled.costs == serial.costs
