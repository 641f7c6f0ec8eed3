"""psl.evaluate: per-seed cost frames, summaries and paired comparisons."""
from __future__ import annotations

import pytest

import paysim_lab as psl
from paysim_lab.experiments import stats

GAME = psl.data.scenario_path("liquidity_game_2period")
TEACHING = psl.data.scenario_path("two_bank_teaching")


def test_per_seed_frame_shape_and_values_on_the_liquidity_game():
    ev = psl.evaluate(GAME, {"eq": {"BANK_A": 0.0, "BANK_B": 0.2},
                             "half": {"BANK_A": 0.5, "BANK_B": 0.5}},
                      seeds=[1, 2, 3], backend="serial")
    assert list(ev.runs.columns) == ["profile", "label", "seed", "agent", "cost"]
    assert len(ev.runs) == 2 * 3 * 2
    eq = ev.runs[ev.runs["label"] == "eq"]
    assert eq["seed"].tolist() == [1, 1, 2, 2, 3, 3]
    assert eq["cost"].tolist() == [0, 2000, 0, 2000, 0, 2000]        # the paper's $0 / $20
    half = ev.runs[ev.runs["label"] == "half"]
    assert set(half["cost"]) == {5000}                                # $50 each
    total = ev.summary.set_index(["label", "agent"]).loc[("half", "total")]
    assert (total["n"], total["mean"], total["sd"]) == (3, 10000.0, 0.0)
    assert (total["ci_low"], total["ci_high"]) == (10000.0, 10000.0)


def test_stochastic_summary_matches_the_sweep_and_a_hand_mean():
    seeds = [1, 2, 3, 4, 5]
    ev = psl.evaluate(TEACHING, {"cap0": {"SOUTH": {"unsecured_cap": 0}}}, seeds=seeds,
                      backend="serial")
    frame = psl.sweep(TEACHING, grid={"agents.SOUTH.unsecured_cap": [0]}, seeds=seeds,
                      backend="serial")
    south = frame["cost_SOUTH"].astype(int).tolist()
    assert ev.costs("cap0", "SOUTH") == south
    row = ev.summary.set_index("agent").loc["SOUTH"]
    assert row["mean"] == sum(south) / 5
    assert (row["ci_low"], row["ci_high"]) == stats.mean_interval(south)
    totals = ev.wide["total_cost"].tolist()
    assert totals == [int(n) + int(s) for n, s in zip(frame["cost_NORTH"], south)]


def test_paired_comparison_uses_the_same_seeds():
    seeds = [1, 2, 3, 4, 5, 6]
    ev = psl.evaluate(TEACHING, [{"SOUTH": {"unsecured_cap": 0}},
                                 {"SOUTH": {"unsecured_cap": 500000}}],
                      seeds=seeds, backend="serial")
    a, b = ev.costs(0, "SOUTH"), ev.costs(1, "SOUTH")
    diffs = [x - y for x, y in zip(a, b)]
    cmp = ev.compare(0, 1, agent="SOUTH")
    assert cmp["mean_diff"] == sum(diffs) / 6
    assert cmp["a_wins"] == sum(d < 0 for d in diffs) / 6
    assert cmp["b_wins"] == sum(d > 0 for d in diffs) / 6
    assert list(ev.comparison(0, 1)["agent"]) == ["NORTH", "SOUTH", "total"]


def test_profiles_by_path_and_multi_parameter_strategies():
    ev = psl.evaluate(GAME, [{"agents.BANK_A.liquidity_allocation_fraction": 0.0,
                              "agents.BANK_B.liquidity_allocation_fraction": 0.2},
                             {"BANK_A": {"liquidity_allocation_fraction": 0.0},
                              "BANK_B": {"liquidity_allocation_fraction": 0.2,
                                         "unsecured_cap": 0}}], backend="serial")
    assert ev.costs(0) == ev.costs(1) == [2000]


def test_deterministic_mode_refuses_seeds_and_failures_name_the_profile():
    with pytest.raises(ValueError, match="deterministic"):
        psl.evaluate(GAME, mode="deterministic", seeds=[1, 2])
    with pytest.raises(ValueError, match="'NOPE' is neither a bank"):
        psl.evaluate(GAME, {"NOPE": 0.1, "BANK_A": 0.1})
    with pytest.raises(psl.SimulationError, match="profile 'bad', seed 1"):
        psl.evaluate(GAME, {"bad": {"BANK_A": 1.5}}, backend="serial")


def test_run_points_takes_a_scenario_and_the_module_is_not_shadowed():
    import importlib

    from paysim_lab.experiments import run_points
    sc = psl.load_scenario(GAME)
    frame = run_points(sc, ["agents.BANK_A.liquidity_allocation_fraction",
                            "agents.BANK_B.liquidity_allocation_fraction"],
                       [(0.0, 0.2), (0.5, 0.5)], backend="serial")
    assert frame["cost_BANK_B"].tolist() == [2000, 5000]
    module = importlib.import_module("paysim_lab.experiments.sweeps")
    assert callable(psl.experiments.sweep) and module.sweep is psl.experiments.sweep
    assert not hasattr(psl.experiments, "sweeps") or isinstance(
        psl.experiments.sweeps, type(importlib))


def test_the_evaluation_does_not_depend_on_the_backend():
    profiles = [{"SOUTH": {"unsecured_cap": 0}}, {"SOUTH": {"unsecured_cap": 500000}}]
    seeds = [1, 2, 3, 4]
    serial = psl.evaluate(TEACHING, profiles, seeds=seeds, backend="serial")
    pooled = psl.evaluate(TEACHING, profiles, seeds=seeds, backend="process", workers=2)
    assert pooled.runs.equals(serial.runs)
    assert pooled.summary.equals(serial.summary)
