"""Replay identity (persistence.md 8.1): the stored run prints what the live run printed."""
from __future__ import annotations

import pytest

import paysim_lab as psl
from paysim_lab.report import Filters, RunInfo, VerboseLog

CRISIS = "advanced_policy_crisis"

FILTER_SETS = {
    "none": Filters(),
    "event_type": Filters.parse(event_types="Arrival,CollateralPost,BankBudgetSet,"
                                            "RtgsImmediateSettlement"),
    "agent": Filters.parse(agent="ATLAS"),
    "tx": Filters.parse(tx="tx_00000040"),
    "tick_range": Filters.parse(tick_range="95-130"),
    "combined": Filters.parse(event_types="PolicyHold,PolicySubmit", agent="CORAL",
                              tick_range="150-"),
}


def live_run(source, store, filter_sets=None, **kwargs):
    """Run with one live verbose log per filter set; returns (sim, {name: [tick texts]})."""
    sim = psl.Simulation(source, store=store, **kwargs)
    info = RunInfo.from_sim(sim)
    outputs = {}
    for name, f in (filter_sets or {"none": Filters()}).items():
        log = VerboseLog(info, f)
        texts = outputs.setdefault(name, {})
        sim.add_listener(lambda rec, log=log, texts=texts: texts.__setitem__(rec.tick,
                                                                            log.text(rec)))
    return sim, outputs


@pytest.fixture(scope="module")
def crisis():
    store = psl.Store(":memory:")
    sim, outputs = live_run(psl.data.scenario_path(CRISIS), store, FILTER_SETS)
    sim.run()
    yield store, sim, outputs
    store.close()


def test_crisis_full_replay_is_byte_identical(crisis):
    store, sim, outputs = crisis
    live = "".join(outputs["none"][t] for t in range(300))
    replayed = store.replay(sim.run_id)
    assert replayed == live
    assert replayed.count("═══ Tick ") == 300
    assert replayed.count("📅 End of Day ") == 3


@pytest.mark.parametrize("name", [n for n in FILTER_SETS if n != "none"])
def test_crisis_filtered_replay_is_byte_identical(crisis, name):
    store, sim, outputs = crisis
    f = FILTER_SETS[name]
    live = "".join(outputs[name][t] for t in range(300))
    assert store.replay(sim.run_id, filters=f) == live
    assert live != "".join(outputs["none"][t] for t in range(300))


def test_filter_keyword_arguments_match_a_filters_object(crisis):
    store, sim, outputs = crisis
    assert store.replay(sim.run_id, filter_agent="ATLAS") == \
        "".join(outputs["agent"][t] for t in range(300))
    assert store.replay(sim.run_id, filter_tick_range="95-130") == \
        "".join(outputs["tick_range"][t] for t in range(95, 131))


@pytest.mark.parametrize("lo,hi", [(137, 212), (99, 100), (0, 0), (250, 299)])
def test_sub_ranges_starting_mid_day_are_identical(crisis, lo, hi):
    store, sim, outputs = crisis
    live = "".join(outputs["none"][t] for t in range(lo, hi + 1))
    assert store.replay(sim.run_id, from_tick=lo, to_tick=hi) == live


def test_sub_range_with_a_filter(crisis):
    store, sim, outputs = crisis
    live = "".join(outputs["agent"][t] for t in range(150, 260))
    assert store.replay(sim.run_id, from_tick=150, to_tick=259,
                        filters=FILTER_SETS["agent"]) == live


def test_out_of_range_ticks_are_refused(crisis):
    store, sim, _ = crisis
    with pytest.raises(ValueError, match="outside the stored ticks 0..299"):
        store.replay(sim.run_id, from_tick=300)
    with pytest.raises(ValueError, match="after to tick"):
        store.replay(sim.run_id, from_tick=20, to_tick=10)


def test_stored_records_equal_the_live_records(crisis):
    store, sim, _ = crisis
    recs = list(store.records(sim.run_id, 95, 105))
    assert [r.tick for r in recs] == list(range(95, 106))
    assert all(len(r.agent_states) == 4 for r in recs)
    assert recs[4].summary["is_end_of_day"] is True       # tick 99


def test_verify_reruns_and_matches(crisis):
    store, sim, _ = crisis
    res = store.verify(sim.run_id)
    assert res.ok and res.mismatch is None
    assert (res.ticks, res.events) == (300, len(sim.events))


def test_verify_reports_a_tampered_event(crisis):
    store, sim, _ = crisis
    store.sql("UPDATE simulation_events SET details = replace(details, '\"amount\":', "
              "'\"amount\":1') WHERE seq = 7 AND simulation_id = ?", [sim.run_id])
    try:
        res = store.verify(sim.run_id)
        assert not res.ok
        assert res.events == 7
        assert res.mismatch.startswith("event seq 7 differs: stored ")
    finally:
        store.sql("UPDATE simulation_events SET details = replace(details, '\"amount\":1', "
                  "'\"amount\":') WHERE seq = 7 AND simulation_id = ?", [sim.run_id])
    assert store.verify(sim.run_id).ok


@pytest.mark.parametrize("name", psl.data.list_scenarios())
def test_every_bundled_scenario_replays_identically(name):
    with psl.Store() as store:
        sim, outputs = live_run(psl.data.scenario_path(name), store)
        sim.run()
        live = "".join(outputs["none"][t] for t in range(sim.total_ticks))
        assert store.replay(sim.run_id) == live
        mid = sim.total_ticks // 2
        part = "".join(outputs["none"][t] for t in range(mid, sim.total_ticks))
        assert store.replay(sim.run_id, from_tick=mid) == part


def failing_scenario(fail_tick: int = 13) -> dict:
    """Two banks; A's strategic tree posts more collateral than it may at ``fail_tick``."""
    def bank(aid, other):
        return {"id": aid, "opening_balance": 50_000, "unsecured_cap": 10_000,
                "arrival_config": {"rate_per_tick": 0.7,
                                   "amount_distribution": {"type": "Uniform", "min": 2_000,
                                                           "max": 25_000},
                                   "counterparty_weights": {other: 1.0},
                                   "deadline_range": [2, 6]}}
    a = bank("A", "B")
    a["max_collateral_capacity"] = 100_000
    a["policy"] = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "overposter",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "strategic_collateral_tree": {
            "type": "condition", "node_id": "S0",
            "condition": {"op": "==", "left": {"field": "current_tick"},
                          "right": {"value": fail_tick}},
            "on_true": {"type": "action", "node_id": "S1", "action": "PostCollateral",
                        "parameters": {"amount": {"value": 500_000}}},
            "on_false": {"type": "action", "node_id": "S2", "action": "PostCollateral",
                         "parameters": {"amount": {"value": 1_000},
                                        "auto_withdraw_after_ticks": {"value": 2}}}}}}
    # simcash: the post above capacity stops the run (the extended profile posts what fits)
    return {"simulation": {"ticks_per_day": 8, "num_days": 3, "rng_seed": 5},
            "compat": "simcash", "agents": [a, bank("B", "A")]}


def test_failed_run_replays_identically_up_to_the_failing_tick():
    import warnings
    with psl.Store() as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim, outputs = live_run(failing_scenario(13), store)
        with pytest.raises(psl.SimulationError):
            sim.run()
        assert sorted(outputs["none"]) == list(range(13))
        live = "".join(outputs["none"][t] for t in range(13))
        row = store.run(sim.run_id)
        assert (row["status"], row["ticks_run"]) == ("failed", 13)
        assert store.replay(sim.run_id) == live
        assert store.replay(sim.run_id, from_tick=9) == \
            "".join(outputs["none"][t] for t in range(9, 13))


def test_runs_stored_before_schema_2_rebuild_their_log_data(crisis):
    store, sim, outputs = crisis
    live = "".join(outputs["none"][t] for t in range(180, 205))
    saved = store.run(sim.run_id)["run_info_json"]
    store.sql("UPDATE simulations SET run_info_json = NULL WHERE simulation_id = ?",
              [sim.run_id])
    try:
        assert store.replay(sim.run_id, from_tick=180, to_tick=204) == live
    finally:
        store.sql("UPDATE simulations SET run_info_json = ? WHERE simulation_id = ?",
                  [saved, sim.run_id])
