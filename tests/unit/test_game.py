"""Finite games: every pure equilibrium, cycles, planner, resampled intervals, several
dimensions per strategy."""
from __future__ import annotations

import pytest

import paysim_lab as psl
from paysim_lab.experiments import Game, find_equilibrium

GAME = psl.data.scenario_path("liquidity_game_2period")


def coordination(p):
    same = p["A"] == p["B"]
    return {"A": 0 if same else 1, "B": 0 if same else 1}


def pennies(p):
    match = p["A"] == p["B"]
    return {"A": 0 if match else 1, "B": 1 if match else 0}


def prisoners(p):
    years = {("C", "C"): (1, 1), ("C", "D"): (3, 0), ("D", "C"): (0, 3), ("D", "D"): (2, 2)}
    a, b = years[(p["A"], p["B"])]
    return {"A": a, "B": b}


def test_a_game_with_two_pure_equilibria():
    g = Game.from_costs({"A": ["x", "y"], "B": ["x", "y"]}, coordination)
    assert g.equilibria() == [{"A": "x", "B": "x"}, {"A": "y", "B": "y"}]
    r = g.iterate({"A": "y", "B": "x"})
    # A best-responds first to B = x, then B keeps x: one round moves, the next confirms
    assert r.equilibrium == {"A": "x", "B": "x"} and r.converged and r.rounds == 2


def test_a_game_without_pure_equilibrium_cycles():
    g = Game.from_costs({"A": ["H", "T"], "B": ["H", "T"]}, pennies)
    assert g.equilibria() == []
    r = g.iterate({"A": "H", "B": "H"}, max_rounds=10)
    assert not r.converged
    assert r.cycle == [{"A": "H", "B": "T"}, {"A": "T", "B": "H"}]
    assert r.rounds == 3          # (H,T) after round 1, (T,H) after 2, (H,T) again after 3
    assert "cycling" in repr(r)


def test_planner_differs_from_the_equilibrium_in_the_prisoners_dilemma():
    g = Game.from_costs({"A": ["C", "D"], "B": ["C", "D"]}, prisoners)
    assert g.equilibria() == [{"A": "D", "B": "D"}]
    profile, costs = g.planner()
    assert profile == {"A": "C", "B": "C"} and costs == {"A": 1, "B": 1, "total": 2}


def test_equilibrium_intervals_by_resampling_seeds():
    # Per-seed costs of A (3 seeds): playing 1 costs 0, 0, 10 (mean 3.33); playing 0 costs 3.
    def cost(p):
        return {"A": [0, 0, 10] if p["A"] == 1 else [3, 3, 3], "B": [0, 0, 0]}
    g = Game.from_costs({"A": [0, 1], "B": [0]}, cost)
    r = g.iterate({"A": 0, "B": 0})
    assert r.equilibrium == {"A": 0, "B": 0}
    g.equilibrium_intervals(r, n_resamples=400)
    row = r.intervals.set_index("strategy").loc["A"]
    # A resample without the third seed (probability (2/3)^3 = 0.30) makes 1 the best reply
    assert (row["ci_low"], row["ci_high"]) == (0, 1)
    assert 0.6 < row["share_same"] < 0.8
    shares = r.resamples["A"].value_counts(normalize=True)
    assert shares[0] == row["share_same"]
    again = g.equilibrium_intervals(g.iterate({"A": 0, "B": 0}), n_resamples=400)
    assert again.resamples.equals(r.resamples)


def test_liquidity_game_equilibrium_on_a_grid_is_unique_and_found():
    grid = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    g = Game(GAME, {"BANK_A": grid, "BANK_B": grid})
    assert g.equilibria() == [{"BANK_A": 0.0, "BANK_B": 0.2}]
    assert g.planner()[0] == {"BANK_A": 0.0, "BANK_B": 0.2}


def test_two_dimensional_strategies():
    strategies = {"BANK_A": [0.0, 0.1, 0.15],
                  "BANK_B": {"liquidity_allocation_fraction": [0.0, 0.1, 0.2],
                             "unsecured_cap": [0, 20000]}}
    r = find_equilibrium(GAME, strategies=strategies)
    # Overdraft is free in this game (0 bps): with a 200-dollar credit line BANK_B pays
    # everything on time without bringing liquidity, and BANK_A needs none.
    eq = {"BANK_A": 0.0, "BANK_B": {"liquidity_allocation_fraction": 0.0, "unsecured_cap": 20000}}
    assert r.converged and r.equilibrium == eq and r.costs == {"BANK_A": 0, "BANK_B": 0}
    assert r.game.equilibria() == [eq]
    assert len(r.game.profiles()) == 3 * 6
    # the table agrees with a direct evaluation of one of its profiles
    other = {"BANK_A": 0.1, "BANK_B": {"liquidity_allocation_fraction": 0.1, "unsecured_cap": 0}}
    ev = psl.evaluate(GAME, other, backend="serial")
    assert r.game.costs([other])[0] == {"BANK_A": ev.costs(0, "BANK_A")[0],
                                        "BANK_B": ev.costs(0, "BANK_B")[0]}
    frame = r.path_frame()
    assert {"value_BANK_B.liquidity_allocation_fraction",
            "value_BANK_B.unsecured_cap"} <= set(frame.columns)


def test_bad_strategies_are_named():
    with pytest.raises(ValueError, match="strategies of A"):
        Game.from_costs({"A": 3}, coordination)
    with pytest.raises(ValueError, match="either strategies= or agents="):
        find_equilibrium(GAME, agents=["BANK_A"], grid=[0.1], strategies={"BANK_A": [0.1]})
