"""The two-period initial-liquidity game: published costs, best responses, equilibrium."""
from __future__ import annotations

from fractions import Fraction

import pytest

import paysim_lab as psl
from paysim_lab.experiments import best_response, find_equilibrium

GAME = psl.data.scenario_path("liquidity_game_2period")
FRACTION = "liquidity_allocation_fraction"
GRID = [round(0.05 * k, 2) for k in range(21)]     # 0.00, 0.05, ..., 1.00
POOL = 100_000                                     # cents ($1,000.00)

# The paper's game: payment demands as fractions of the pool, and the three rates.
P_A = (Fraction(0), Fraction(15, 100))
P_B = (Fraction(15, 100), Fraction(5, 100))
R_C, R_D, R_B = Fraction(1, 10), Fraction(2, 10), Fraction(4, 10)


def paper_costs(a: float, b: float) -> tuple[int, int]:
    """Cost of each bank in cents, from the paper's cost function (divisible payments).

    In each period a bank sends as much of what it owes as its balance allows; what it
    receives in a period can be spent from the next one. Cost = r_c * liquidity brought in +
    r_d * period-1 demand not sent in period 1 + r_b * demand still unsent after period 2.
    """
    liq = {"A": Fraction(str(a)), "B": Fraction(str(b))}
    demand = {"A": P_A, "B": P_B}
    other = {"A": "B", "B": "A"}
    balance = dict(liq)
    owed = {k: Fraction(0) for k in liq}
    delayed = {}
    for period in (0, 1):
        sent = {}
        for k in liq:
            owed[k] += demand[k][period]
            sent[k] = min(owed[k], balance[k])
        for k in liq:
            owed[k] -= sent[k]
            balance[k] -= sent[k]
        for k in liq:                                  # credited after the period
            balance[k] += sent[other[k]]
        if period == 0:
            delayed = dict(owed)
    cost = {k: R_C * liq[k] + R_D * delayed[k] + R_B * owed[k] for k in liq}
    return tuple(int(cost[k] * POOL) for k in ("A", "B"))


def simulated_costs(a: float, b: float) -> tuple[int, int]:
    doc = psl.load_scenario(GAME).model_dump()
    doc["agents"][0][FRACTION] = a
    doc["agents"][1][FRACTION] = b
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    totals = sim.costs().set_index("agent_id")["total"]
    return int(totals["BANK_A"]), int(totals["BANK_B"])


@pytest.mark.parametrize("a, b, dollars", [
    (0.5, 0.5, (50, 50)),
    (0.2, 0.3, (20, 30)),
    (0.0, 0.2, (0, 20)),
])
def test_published_cost_points(a, b, dollars):
    cents = simulated_costs(a, b)
    assert cents == (dollars[0] * 100, dollars[1] * 100)


def test_costs_break_down_into_the_papers_three_terms():
    # BANK_B brings 0.10: it sends 0.10 in period 1, delays 0.05 (r_d), and ends the day with
    # 0.05 + 0.05 unsent (r_b). BANK_A receives only 0.10 in period 1 and cannot send 0.05.
    doc = psl.load_scenario(GAME).model_dump()
    doc["agents"][0][FRACTION] = 0.0
    doc["agents"][1][FRACTION] = 0.1
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    costs = sim.costs().set_index("agent_id")
    assert costs.loc["BANK_B", "liquidity_opportunity"] == 1000   # 0.1 * $100
    assert costs.loc["BANK_B", "delay"] == 1000 + 4000            # 0.2 * $50 + 0.4 * $100
    assert costs.loc["BANK_A", "liquidity_opportunity"] == 0
    assert costs.loc["BANK_A", "delay"] == 2000                   # 0.4 * $50
    assert costs.loc["BANK_B", "total"] == 6000
    assert costs.loc["BANK_A", "total"] == 2000


def test_whole_cost_surface_matches_the_papers_cost_function():
    grid = GRID[:11]
    frame = psl.sweep(GAME, grid={f"agents.BANK_A.{FRACTION}": grid,
                                  f"agents.BANK_B.{FRACTION}": grid}, backend="serial")
    assert frame["error"].isna().all()
    got = {(a, b): (ca, cb) for a, b, ca, cb in zip(
        frame[f"agents.BANK_A.{FRACTION}"], frame[f"agents.BANK_B.{FRACTION}"],
        frame["cost_BANK_A"], frame["cost_BANK_B"])}
    expected = {(a, b): paper_costs(a, b) for a in grid for b in grid}
    assert got == expected


# ---- analytic best responses --------------------------------------------------------------------
# A bank brings its first-period demand plus whatever of its second-period demand the other
# bank's first-period payment does not cover (the marginal cost of liquidity, r_c, is below
# both r_d and r_b, so it never pays to hold back).

def analytic_best_response_a(b: float) -> float:
    b_pays_in_period_1 = min(Fraction(str(b)), P_B[0])
    return float(P_A[0] + max(Fraction(0), P_A[1] - b_pays_in_period_1))


def analytic_best_response_b(a: float) -> float:
    a_pays_in_period_1 = min(Fraction(str(a)), P_A[0])
    return float(P_B[0] + max(Fraction(0), P_B[1] - a_pays_in_period_1))


@pytest.mark.parametrize("b", [0.0, 0.05, 0.1, 0.15, 0.2, 0.5, 1.0])
def test_best_response_of_a_matches_the_analytic_one(b):
    best, costs = best_response(GAME, "BANK_A", FRACTION, GRID, others={"BANK_B": b})
    assert best == analytic_best_response_a(b)
    assert costs == {a: paper_costs(a, b)[0] for a in GRID}


@pytest.mark.parametrize("a", [0.0, 0.15, 0.6])
def test_best_response_of_b_matches_the_analytic_one(a):
    result = best_response(GAME, "BANK_B", FRACTION, GRID, others={"BANK_A": a})
    assert result.value == analytic_best_response_b(a) == 0.2
    assert result.cost == 2000


def test_equilibrium_by_simulation_equals_the_analytic_one():
    result = find_equilibrium(GAME, agents=["BANK_A", "BANK_B"], parameter=FRACTION, grid=GRID)
    b_star = analytic_best_response_b(0.0)
    a_star = analytic_best_response_a(b_star)
    assert (a_star, b_star) == (0.0, 0.2)
    assert result.equilibrium == {"BANK_A": a_star, "BANK_B": b_star}
    assert result.converged is True
    assert result.costs == {"BANK_A": 0, "BANK_B": 2000}
    # mutual best responses: neither bank gains by moving anywhere on the grid
    for agent, other in (("BANK_A", "BANK_B"), ("BANK_B", "BANK_A")):
        br = best_response(GAME, agent, FRACTION, GRID,
                           others={other: result.equilibrium[other]})
        assert br.value == result.equilibrium[agent]


def test_equilibrium_search_path():
    result = find_equilibrium(GAME, agents=["BANK_A", "BANK_B"], grid=GRID)
    steps = [(s["round"], s["agent"], s["previous"], s["value"], s["cost"])
             for s in result.path]
    assert steps == [
        (0, None, None, None, None),
        (1, "BANK_A", 0.5, 0.0, 0),         # starts from the file's 0.5 / 0.5
        (1, "BANK_B", 0.5, 0.2, 2000),
        (2, "BANK_A", 0.0, 0.0, 0),
        (2, "BANK_B", 0.2, 0.2, 2000),
    ]
    assert result.rounds == 2
    assert result.path[0]["profile"] == {"BANK_A": 0.5, "BANK_B": 0.5}
    frame = result.path_frame()
    assert frame["value_BANK_B"].tolist() == [0.5, 0.5, 0.2, 0.2, 0.2]


def test_start_and_max_rounds():
    result = find_equilibrium(GAME, agents=["BANK_B", "BANK_A"], grid=GRID,
                              start={"BANK_A": 1.0, "BANK_B": 0.0}, max_rounds=1)
    # B moves first (to 0.2), then A (to 0): the round changed values, so one round is not
    # enough to know it is an equilibrium.
    assert result.equilibrium == {"BANK_B": 0.2, "BANK_A": 0.0}
    assert result.converged is False
    assert result.rounds == 1


def test_ties_go_to_the_smaller_value():
    # Both banks bring half the pool (the file's values): BANK_A never needs its credit line,
    # so every credit line costs the same $50.00 of liquidity.
    best, costs = best_response(GAME, "BANK_A", "unsecured_cap", [30000, 10000, 20000])
    assert costs == {30000: 5000, 10000: 5000, 20000: 5000}
    assert best == 10000


def test_policy_parameter_best_response():
    teaching = psl.data.scenario_path("two_bank_teaching")
    grid = [1, 3, 5, 8]
    best, costs = best_response(teaching, "SOUTH", "policy.urgency_threshold", grid)
    frame = psl.sweep(teaching, grid={"agents.SOUTH.policy.parameters.urgency_threshold": grid},
                      backend="serial")
    assert costs == dict(zip(grid, frame["cost_SOUTH"].tolist()))
    assert best == min(grid, key=lambda v: (costs[v], v))


def test_failed_run_stops_the_search_with_its_error():
    with pytest.raises(psl.SimulationError) as exc:
        best_response(GAME, "BANK_A", FRACTION, [0.5, 1.5])
    assert str(exc.value) == (
        "liquidity_allocation_fraction game: the run with BANK_A=1.5, seed 1 failed: "
        "ScenarioError: <dict>: agents[0].liquidity_allocation_fraction: must be <= 1 (got 1.5)")


def test_unknown_agent_names_the_path():
    with pytest.raises(psl.ScenarioError) as exc:
        find_equilibrium(GAME, agents=["BANK_A", "BANK_C"], grid=GRID)
    assert str(exc.value) == ("grid path 'agents.BANK_C.liquidity_allocation_fraction': no "
                              "agent with id 'BANK_C'; agents are: BANK_A, BANK_B")


def test_bad_arguments():
    with pytest.raises(ValueError, match="grid must hold at least one value"):
        find_equilibrium(GAME, agents=["BANK_A"], grid=[])
    with pytest.raises(ValueError, match="max_rounds must be a positive integer, got 0"):
        find_equilibrium(GAME, agents=["BANK_A"], grid=GRID, max_rounds=0)
    with pytest.raises(ValueError, match="agents must be a non-empty list of agent ids"):
        find_equilibrium(GAME, agents="BANK_A", grid=GRID)
