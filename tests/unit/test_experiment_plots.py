"""Charts of games: the numbers on them are the game's."""
from __future__ import annotations

import pytest

import paysim_lab as psl
from paysim_lab.experiments import Game
from paysim_lab.experiments import plots
from paysim_lab.plots import find_traces

GAME = psl.data.scenario_path("liquidity_game_2period")


@pytest.fixture(scope="module")
def liquidity_game():
    grid = [0.0, 0.1, 0.15, 0.2]
    return Game(GAME, {"BANK_A": grid, "BANK_B": grid})


def test_best_response_curves_cross_at_the_equilibrium(liquidity_game):
    fig = plots.best_response_curves(liquidity_game)
    (a,) = find_traces(fig, agent="BANK_A", metric="best_response")
    (b,) = find_traces(fig, agent="BANK_B", metric="best_response")
    # A's best response to B = 0, 0.1, 0.15, 0.2 (y); B always brings 0.2 (its own needs)
    assert list(a.y) == [0.0, 0.1, 0.15, 0.2] and list(a.x) == [0.15, 0.1, 0.0, 0.0]
    assert list(b.y) == [0.2, 0.2, 0.2, 0.2]
    (star,) = find_traces(fig, metric="equilibrium")
    assert (list(star.x), list(star.y)) == ([0.0], [0.2])


def test_cost_surface_is_the_mean_cost_table(liquidity_game):
    fig = plots.cost_surface(liquidity_game, "BANK_B")
    z = fig.data[0].z
    assert z[3][0] == 20.0            # B = 0.2 (row), A = 0 (column): $20
    assert len(z) == 4 and len(z[0]) == 4


def test_cost_curve_band_and_best_response():
    def cost(p):
        return {"A": [p["A"] * 10, p["A"] * 10 + 4] if p["A"] else [30, 10], "B": [0, 0]}
    g = Game.from_costs({"A": [0, 1, 2], "B": [0]}, cost)
    fig = plots.cost_curve(g, "A")
    (line,) = find_traces(fig, agent="A", metric="cost")
    assert list(line.customdata) == [20.0, 12.0, 22.0]       # mean cents per strategy
    (band,) = find_traces(fig, agent="A", metric="cost_band")
    assert len(band.y) == 6
    (best,) = find_traces(fig, agent="A", metric="best")
    assert list(best.x) == [1]


def test_convergence_path_of_a_cycle():
    def pennies(p):
        match = p["A"] == p["B"]
        return {"A": 0 if match else 1, "B": 1 if match else 0}
    g = Game.from_costs({"A": ["H", "T"], "B": ["H", "T"]}, pennies)
    r = g.iterate({"A": "H", "B": "H"})
    fig = plots.convergence_path(r)
    assert "cycling" in fig.layout.title.text
    (a,) = find_traces(fig, agent="A", metric="strategy")
    assert list(a.y) == ["H", "H", "H", "T", "T", "H", "H"]


def test_summary_bars_of_an_evaluation():
    ev = psl.evaluate(GAME, {"eq": {"BANK_A": 0.0, "BANK_B": 0.2},
                             "half": {"BANK_A": 0.5, "BANK_B": 0.5}}, backend="serial")
    fig = plots.summary_bars(ev)
    assert list(fig.data[0].customdata) == [2000.0, 10000.0]
