"""cost_rates.eod_borrowing_rate: Castro et al.'s end-of-day borrowing cost r_b (extended)."""
from __future__ import annotations

import copy
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.engine.costs import borrowing_cost

GAME = psl.data.scenario_path("liquidity_game_2period")


def castro_doc(rate):
    """The bundled game without the escalation/multiplier imitation of r_b, using the key."""
    doc = psl.load_scenario(GAME).model_dump()
    doc["priority_escalation"] = {"enabled": False}
    doc["cost_rates"].pop("priority_delay_multipliers")
    doc["cost_rates"]["eod_borrowing_rate"] = rate
    return doc


def costs(doc, a, b):
    doc = copy.deepcopy(doc)
    doc["agents"][0]["liquidity_allocation_fraction"] = a
    doc["agents"][1]["liquidity_allocation_fraction"] = b
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    return sim.costs().set_index("agent_id")[["total", "eod_penalty"]].to_dict("index")


def test_rounding_half_up_on_the_unsent_cents():
    assert borrowing_cost(15_001, 0.4) == 6000          # 6000.4
    assert borrowing_cost(5, 0.1) == 1                  # 0.5 rounds up
    assert borrowing_cost(0, 0.4) == 0


@pytest.mark.parametrize("a, b, expected", [
    # B brings 0.10: it delays 0.05 of its period-1 payment (r_d = 0.2 -> $10) and ends the
    # day with 0.10 unsent; A receives 0.10 and ends with 0.05 unsent. The day's last tick
    # also charges the delay cost r_d on what is unsent, so the borrowing rate adds
    # r_b - r_d = 0.2 on top: 0.10 * (0.2 + 0.2) = $40 for B, 0.05 * 0.4 = $20 for A.
    (0.0, 0.1, {"BANK_A": (2000, 1000), "BANK_B": (6000, 2000)}),
    (0.0, 0.2, {"BANK_A": (0, 0), "BANK_B": (2000, 0)}),
    (0.0, 0.0, {"BANK_A": (6000, 3000), "BANK_B": (11000, 4000)}),
])
def test_castro_costs_with_the_borrowing_rate(a, b, expected):
    got = costs(castro_doc(0.2), a, b)
    assert {k: (v["total"], v["eod_penalty"]) for k, v in got.items()} == expected


def test_zero_rate_charges_nothing_and_simcash_ignores_the_key():
    assert costs(castro_doc(0.0), 0.0, 0.0)["BANK_B"]["eod_penalty"] == 0
    doc = castro_doc(0.2)
    doc["compat"] = "simcash"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sc = psl.load_scenario(doc)
    assert any("cost_rates.eod_borrowing_rate" in str(w.message) for w in caught)
    sim = psl.Simulation(sc)
    sim.run()
    assert set(sim.costs()["eod_penalty"]) == {0}
