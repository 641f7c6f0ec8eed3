"""psl.sweep on the serial backend: rows, values, errors, metrics, stores."""
from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest

import paysim_lab as psl
from paysim_lab.experiments import SUMMARY_COLUMNS

TEACHING = psl.data.scenario_path("two_bank_teaching")
DELAY = "cost_rates.delay_cost_per_tick_per_cent"
URGENCY = "agents.SOUTH.policy.parameters.urgency_threshold"


def load(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.load_scenario(source)


def direct_run(doc: dict, seed: int) -> psl.Simulation:
    sim = psl.Simulation(load(doc), seed=seed)
    sim.run()
    return sim


@pytest.fixture(scope="module")
def small_sweep():
    return psl.sweep(TEACHING, grid={DELAY: [0.0002, 0.0005], URGENCY: [2, 6]}, seeds=[1, 2],
                     backend="serial")


def test_rows_come_in_grid_by_seed_order(small_sweep):
    got = list(zip(small_sweep[DELAY], small_sweep[URGENCY], small_sweep["seed"]))
    assert got == [(0.0002, 2, 1), (0.0002, 2, 2), (0.0002, 6, 1), (0.0002, 6, 2),
                   (0.0005, 2, 1), (0.0005, 2, 2), (0.0005, 6, 1), (0.0005, 6, 2)]


def test_columns(small_sweep):
    assert list(small_sweep.columns) == [DELAY, URGENCY, "seed", *SUMMARY_COLUMNS,
                                         "cost_NORTH", "cost_SOUTH", "error"]
    assert small_sweep["error"].tolist() == [None] * 8
    assert str(small_sweep["total_cost"].dtype) == "Int64"


def test_every_row_equals_a_direct_run_of_the_edited_scenario(small_sweep):
    base = load(TEACHING).model_dump()
    for _, row in small_sweep.iterrows():
        doc = base | {"cost_rates": base["cost_rates"] | {
            "delay_cost_per_tick_per_cent": row[DELAY]}}
        doc["agents"] = [dict(a) for a in base["agents"]]
        doc["agents"][1]["policy"] = {"type": "Deadline", "urgency_threshold": int(row[URGENCY])}
        sim = direct_run(doc, int(row["seed"]))
        summary = sim.summary()
        for key in SUMMARY_COLUMNS:
            assert row[key] == summary[key], key
        costs = sim.costs().set_index("agent_id")["total"]
        assert (row["cost_NORTH"], row["cost_SOUTH"]) == (costs["NORTH"], costs["SOUTH"])
        assert row["cost_NORTH"] + row["cost_SOUTH"] == row["total_cost"]


def test_the_grid_changes_the_outcome(small_sweep):
    # The same seed with another urgency threshold must give another cost: the value reached
    # the policy.
    a = small_sweep[(small_sweep[URGENCY] == 2) & (small_sweep["seed"] == 1)]["cost_SOUTH"]
    b = small_sweep[(small_sweep[URGENCY] == 6) & (small_sweep["seed"] == 1)]["cost_SOUTH"]
    assert a.tolist() != b.tolist()


def test_default_seed_is_the_scenarios_and_no_grid_means_one_run():
    frame = psl.sweep(TEACHING, backend="serial")
    seed = load(TEACHING).simulation.rng_seed
    assert frame["seed"].tolist() == [seed]
    assert frame["total_cost"].tolist() == [direct_run(load(TEACHING).model_dump(), seed)
                                            .summary()["total_cost"]]


def test_a_failing_run_is_reported_in_its_row_and_the_others_complete():
    doc = load(TEACHING).model_dump()
    doc["agents"][1]["unsecured_cap"] = 100000
    doc["scenario_events"] = [{"type": "CollateralAdjustment", "agent": "SOUTH", "delta": 0,
                               "schedule": {"type": "OneTime", "tick": 3}}]
    frame = psl.sweep(doc, grid={"scenario_events.0.delta": [-50000, -150000, -20000]},
                      seeds=[1], backend="serial")
    assert frame["error"].tolist() == [
        None,
        "SimulationError: tick 3, scenario_events[0] CollateralAdjustment: agent SOUTH's "
        "unsecured_cap would become -50000 (< 0)",
        None,
    ]
    assert frame["total_cost"].isna().tolist() == [False, True, False]
    ok = dict(doc, scenario_events=[dict(doc["scenario_events"][0], delta=-20000)])
    assert frame["total_cost"].iloc[2] == direct_run(ok, 1).summary()["total_cost"]


def test_a_value_the_scenario_rejects_fails_only_its_rows():
    game = psl.data.scenario_path("liquidity_game_2period")
    frame = psl.sweep(game, grid={"agents.BANK_A.liquidity_allocation_fraction": [0.5, 1.5]},
                      seeds=[1, 2], backend="serial")
    assert frame["cost_BANK_A"].tolist()[:2] == [5000, 5000]
    assert frame["error"].iloc[0] is None
    assert frame["error"].iloc[2] == frame["error"].iloc[3]
    assert frame["error"].iloc[2] == (
        "ScenarioError: <dict>: agents[0].liquidity_allocation_fraction: must be <= 1 "
        "(got 1.5)")


def test_unknown_key_is_an_error_naming_the_path_before_anything_runs():
    with pytest.raises(psl.ScenarioError) as exc:
        psl.sweep(TEACHING, grid={"cost_rates.delay_cost_per_tick_per_cnt": [1.0]},
                  backend="serial")
    assert str(exc.value) == ("grid path 'cost_rates.delay_cost_per_tick_per_cnt': unknown "
                              "key, ignored (did you mean delay_cost_per_tick_per_cent?)")


def test_unknown_agent_key_is_an_error_naming_the_path():
    with pytest.raises(psl.ScenarioError) as exc:
        psl.sweep(TEACHING, grid={"agents.SOUTH.unsecured_limit": [1]}, backend="serial")
    assert str(exc.value).startswith("grid path 'agents.SOUTH.unsecured_limit': unknown key")


def test_grid_values_must_be_a_list():
    with pytest.raises(psl.ScenarioError) as exc:
        psl.sweep(TEACHING, grid={DELAY: 0.5}, backend="serial")
    assert str(exc.value) == f"grid path '{DELAY}': grid values must be a list, got 0.5"


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend must be one of 'process', 'dask', 'serial', "
                                         "got 'threads'"):
        psl.sweep(TEACHING, backend="threads")
    with pytest.raises(ValueError, match="seeds must be non-negative integers, got -1"):
        psl.sweep(TEACHING, seeds=[1, -1], backend="serial")
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        psl.sweep(TEACHING, workers=0)


def test_metrics_callable_adds_columns_and_its_failures_are_reported():
    def queue_stats(sim):
        if sim.seed == 2:
            raise ZeroDivisionError("no luck")
        tx = sim.transactions()
        return {"payments": len(tx), "biggest": int(tx["amount"].max())}

    frame = psl.sweep(TEACHING, seeds=[1, 2], metrics=queue_stats, backend="serial")
    assert list(frame.columns[-3:]) == ["payments", "biggest", "error"]
    sim = direct_run(load(TEACHING).model_dump(), 1)
    tx = sim.transactions()
    assert frame["payments"].iloc[0] == len(tx)
    assert frame["biggest"].iloc[0] == int(tx["amount"].max())
    assert frame["error"].tolist() == [None, "metrics: ZeroDivisionError: no luck"]
    # the run itself succeeded: its summary is kept
    assert frame["total_cost"].iloc[1] == direct_run(load(TEACHING).model_dump(), 2) \
        .summary()["total_cost"]


def test_metrics_may_not_overwrite_standard_columns():
    frame = psl.sweep(TEACHING, metrics=lambda sim: {"total_cost": 0}, backend="serial")
    assert frame["error"].tolist() == [
        "metrics: ValueError: returned 'total_cost', already a column of the sweep"]


def test_progress_bar_does_not_change_results(small_sweep, capsys):
    frame = psl.sweep(TEACHING, grid={DELAY: [0.0002, 0.0005], URGENCY: [2, 6]}, seeds=[1, 2],
                      backend="serial", progress=True)
    pd.testing.assert_frame_equal(frame, small_sweep)
    assert "8/8" in capsys.readouterr().err


class FakeWriter:
    def __init__(self, store, run_id):
        self.store, self.run_id = store, run_id
        self.ticks = 0

    def add_tick(self, record):
        self.ticks += 1

    def finish(self, sim):
        self.store.finished.append((self.run_id, self.ticks, os.getpid()))

    def fail(self, sim, exc):
        self.store.failed.append(self.run_id)

    def flush(self):
        pass


class FakeStore:
    """Just enough of psl.Store's protocol with Simulation to see what a sweep writes."""

    def __init__(self):
        self.finished, self.failed = [], []

    def begin_run(self, sim, run_id=None, flush_every=None):
        return FakeWriter(self, run_id or f"run-{len(self.finished) + len(self.failed) + 1}")


def test_with_a_store_runs_are_persisted_in_this_process_and_get_run_ids():
    store = FakeStore()
    frame = psl.sweep(TEACHING, grid={DELAY: [0.0002, 0.0005]}, seeds=[1, 2], store=store)
    assert frame["run_id"].tolist() == ["run-1", "run-2", "run-3", "run-4"]
    ticks = load(TEACHING).total_ticks
    assert store.finished == [(f"run-{i}", ticks, os.getpid()) for i in range(1, 5)]
    plain = psl.sweep(TEACHING, grid={DELAY: [0.0002, 0.0005]}, seeds=[1, 2], backend="serial")
    pd.testing.assert_frame_equal(frame.drop(columns="run_id"), plain)


def test_with_a_real_store(tmp_path):
    try:
        store = psl.Store(tmp_path / "runs.duckdb")
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"psl.Store is not available yet ({exc})")
    frame = psl.sweep(TEACHING, seeds=[1, 2], store=store)
    runs = store.runs()
    assert sorted(runs["run_id"]) == sorted(frame["run_id"])
    assert sorted(runs["seed"]) == [1, 2]


def test_warnings_caused_by_grid_values_are_shown_once():
    doc = load(TEACHING).model_dump()
    doc["simulation"]["ticks_per_day"] = 20
    doc["simulation"]["num_days"] = 1
    doc["scenario_events"] = [{"type": "CollateralAdjustment", "agent": "SOUTH", "delta": 10,
                               "schedule": {"type": "OneTime", "tick": 3}}]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = psl.sweep(doc, grid={"scenario_events.0.schedule.tick": [3, 50]},
                          seeds=[1, 2], backend="serial")
    texts = [str(w.message) for w in caught if issubclass(w.category, psl.ScenarioWarning)]
    assert texts == ["<dict>, with grid values: scenario_events[0].schedule: never fires: the "
                     "run has 20 ticks (0..19)"]
    assert frame["error"].tolist() == [None] * 4


def test_client_goes_with_the_dask_backend():
    with pytest.raises(ValueError) as exc:
        psl.sweep(TEACHING, backend="serial", client=object())
    assert str(exc.value) == ("client= is a Dask client, used only with backend='dask' "
                              "(got backend='serial')")
