"""Every SimCash example scenario runs to its end in the extended profile; under simcash the
one that aborts in SimCash (a collateral post above capacity) stops at the same tick."""
import warnings

import pytest

import paysim_lab as psl

EXAMPLES = ("advanced_policy_crisis", "bis_liquidity_delay_tradeoff", "crisis_resolution_10day",
            "suboptimal_policies_10day", "suboptimal_policies_25day", "target2_crisis_25day",
            "target2_crisis_25day_bad_policy", "target2_lsm_features_test", "test_minimal_eod",
            "test_near_deadline", "test_priority_escalation")


def simulation(shared_dir, name, compat):
    path = shared_dir / "simcash" / "examples" / "configs" / f"{name}.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.Simulation.from_file(path, compat=compat)


@pytest.mark.golden
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_to_the_end_in_extended(shared_dir, name):
    sim = simulation(shared_dir, name, None)
    sim.run()
    assert sim.done and sim.summary()["ticks_run"] == sim.total_ticks


@pytest.mark.golden
def test_simcash_stops_where_simcash_stops(shared_dir):
    sim = simulation(shared_dir, "suboptimal_policies_25day", "simcash")
    with pytest.raises(psl.SimulationError, match="agent SMALL_BANK_B, tick 446: tried to post "
                                                  "3392258 collateral but only has 2465526 "
                                                  "capacity remaining"):
        sim.run()
    ext = simulation(shared_dir, "suboptimal_policies_25day", None)
    ext.run(ticks=447)
    capped = ext.events_of("CollateralPostCapped")
    first = capped.iloc[0]
    assert (first["tick"], first["agent_id"], first["requested_amount"],
            first["posted_amount"]) == (446, "SMALL_BANK_B", 3392258, 2465526)
