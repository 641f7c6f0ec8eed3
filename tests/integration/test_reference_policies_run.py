"""Every SimCash policy file runs 300 ticks of a 4-bank scenario (issue: policies run unchanged).

Each bank gets the policy under test; the scenario has arrivals in every direction, credit
lines, room for collateral and a liquidity shock, so every tree kind is exercised. Skipped
when the reference material is absent.
"""
import json
import warnings

import pytest

import paysim_lab as psl

BANKS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]


def four_bank_day(policy_path: str, capacity: int | None = 10**12) -> dict:
    """``capacity`` None leaves SimCash's default (10 x unsecured_cap = 2,000,000)."""
    agents = []
    for i, bank in enumerate(BANKS):
        others = {b: 1.0 for b in BANKS if b != bank}
        agents.append({
            "id": bank, "opening_balance": 400_000 + 150_000 * i, "unsecured_cap": 200_000,
            "max_collateral_capacity": capacity,   # 10**12: un-capped posts do not abort simcash
            "policy": {"type": "FromJson", "json_path": policy_path},
            "arrival_config": {"rate_per_tick": 0.6,
                               "amount_distribution": {"type": "LogNormal", "mean": 60_000,
                                                       "std_dev": 50_000},
                               "counterparty_weights": others, "deadline_range": [5, 40]}})
    return {"simulation": {"ticks_per_day": 100, "num_days": 3, "rng_seed": 5}, "agents": agents,
            "scenario_events": [
                {"type": "GlobalArrivalRateChange", "multiplier": 2.0,
                 "schedule": {"type": "OneTime", "tick": 120}},
                {"type": "CustomTransactionArrival", "from_agent": "ALPHA", "to_agent": "BRAVO",
                 "amount": 900_000, "deadline": 15, "schedule": {"type": "OneTime", "tick": 130}}]}


def reference_policies():
    from conftest import SHARED
    folder = SHARED / "simcash" / "simulator" / "policies"
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


@pytest.mark.golden
@pytest.mark.parametrize("profile", ["simcash", "extended"])
@pytest.mark.parametrize("path", reference_policies(), ids=lambda p: p.stem)
def test_reference_policy_runs_300_ticks(path, profile):
    # extended: SimCash's default collateral capacity; posts above it are capped, not fatal
    capacity = 10**12 if profile == "simcash" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(four_bank_day(str(path), capacity), compat=profile)
    sim.run()
    s = sim.summary()
    assert s["ticks_run"] == 300
    assert s["arrivals"] > 600
    assert sum(a["balance"] for a in s["agents"].values()) == sum(
        400_000 + 150_000 * i for i in range(4))
    # every payment decided by the tree is accounted for: settled, queued, dropped or held
    tx = sim.transactions()
    roots = tx[tx.parent_id.isna()]
    assert len(roots) == s["arrivals"]


@pytest.mark.golden
def test_a_post_above_capacity_stops_simcash_where_simcash_stops(shared_dir):
    path = shared_dir / "simcash" / "simulator" / "policies" / "efficient_memory_adaptive.json"
    doc = four_bank_day(str(path), capacity=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(doc, compat="simcash")
        ext = psl.Simulation(doc)
    with pytest.raises(psl.SimulationError, match="collateral but only has"):
        sim.run()
    assert sim.current_tick == 58
    ext.run()
    capped = ext.events_of("CollateralPostCapped")
    assert len(capped) > 0 and capped["tick"].min() == 58
    assert (capped["posted_amount"] < capped["requested_amount"]).all()


def test_reference_policy_list_is_not_silently_empty(shared_dir):
    assert len(reference_policies()) >= 40
