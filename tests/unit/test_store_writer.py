"""RunWriter: run rows, flush cadence, row derivation from tick records."""
from __future__ import annotations

import json
import math
import re

import pytest

import paysim_lab as psl
from paysim_lab.errors import StoreError
from paysim_lab.records import AGENT_STATE_COLUMNS, TickRecord


def scenario(tpd: int = 5, days: int = 2, seed: int = 11, **top) -> dict:
    def bank(aid, other, balance):
        return {"id": aid, "opening_balance": balance, "unsecured_cap": 20_000,
                "max_collateral_capacity": 500_000, "policy": {"type": "Fifo"},
                "arrival_config": {"rate_per_tick": 0.8,
                                   "amount_distribution": {"type": "Uniform", "min": 1_000,
                                                           "max": 30_000},
                                   "counterparty_weights": {other: 1.0},
                                   "deadline_range": [3, 8]}}
    cfg = {"simulation": {"ticks_per_day": tpd, "num_days": days, "rng_seed": seed},
           "agents": [bank("A", "B", 60_000), bank("B", "A", 40_000)]}
    cfg.update(top)
    return cfg


def _run_row(store, run_id):
    return store.run(run_id)


# ------------------------------------------------------------------------------ run rows
def test_run_row_is_inserted_running_at_start():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        assert re.fullmatch(r"sim-[0-9a-f]{8}", sim.run_id)
        row = store.run(sim.run_id)
        assert (row["status"], row["ticks_run"], row["total_ticks"], row["rng_seed"],
                row["ticks_per_day"], row["num_days"], row["num_agents"], row["config_file"],
                row["scenario_name"], row["profile"], row["error"]) == \
            ("running", 0, 10, 11, 5, 2, 2, "<dict>", "scenario", "extended", None)
        cfg = json.loads(row["config_json"])
        assert cfg["simulation"]["rng_seed"] == 11 and cfg["compat"] == "extended"
        assert len(row["config_hash"]) == 64
        info = json.loads(row["run_info_json"])
        assert info["agent_ids"] == ["A", "B"] and info["ticks_per_day"] == 5
        snaps = store.sql("SELECT agent_id, snapshot_tick, created_by FROM policy_snapshots "
                          "ORDER BY agent_id")
        assert snaps.values.tolist() == [["A", 0, "init"], ["B", 0, "init"]]


def test_seed_override_is_what_the_config_records():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), seed=99, store=store)
        row = store.run(sim.run_id)
        assert row["rng_seed"] == 99
        assert json.loads(row["config_json"])["simulation"]["rng_seed"] == 99


def test_duplicate_run_id_is_refused_before_the_run_starts():
    with psl.Store() as store:
        psl.Simulation(scenario(), store=store, run_id="mine").run()
        with pytest.raises(StoreError, match="run id 'mine' already exists"):
            psl.Simulation(scenario(), store=store, run_id="mine")
        assert store.runs()["run_id"].tolist() == ["mine"]
        assert store.run("mine")["status"] == "completed"


@pytest.mark.parametrize("bad", ["", "has space", "-lead", "x" * 129, "a/b"])
def test_invalid_run_ids_are_refused(bad):
    with psl.Store() as store:
        with pytest.raises(StoreError, match="invalid run id"):
            psl.Simulation(scenario(), store=store, run_id=bad)


# ------------------------------------------------------------------------------ cadence
def _observe_ticks_run(store, sim):
    seen = []
    sim.add_listener(lambda rec: seen.append(store.run(sim.run_id)["ticks_run"]))
    return seen


def test_ticks_are_flushed_after_each_day_and_when_run_returns():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(tpd=5, days=2), store=store)
        seen = _observe_ticks_run(store, sim)
        sim.step(7)
        assert seen == [0, 0, 0, 0, 5, 5, 5]
        assert store.run(sim.run_id)["ticks_run"] == 7        # step() returned: flushed
        sim.run()
        assert seen == [0, 0, 0, 0, 5, 5, 5, 7, 7, 10]
        row = store.run(sim.run_id)
        assert (row["status"], row["ticks_run"]) == ("completed", 10)


def test_flush_every_adds_flush_points():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(tpd=5, days=2), store=store, flush_every=2)
        seen = _observe_ticks_run(store, sim)
        sim.run()
        assert seen == [0, 2, 2, 4, 5, 5, 7, 7, 9, 10]


def test_flush_every_must_be_positive():
    with psl.Store() as store:
        with pytest.raises(StoreError, match="flush_every"):
            psl.Simulation(scenario(), store=store, flush_every=0)


def test_finish_is_idempotent_and_fills_totals():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        sim.run()
        first = store.run(sim.run_id)
        sim.close()
        sim.run()                      # already done: finishes again, changes nothing
        store.finish_run(sim)
        again = store.run(sim.run_id)
        s = sim.summary()
        for row in (first, again):
            assert (row["status"], row["ticks_run"], row["total_arrivals"],
                    row["total_settlements"], row["total_cost_cents"]) == \
                ("completed", 10, s["arrivals"], s["settlements"], s["total_cost"])
        assert again["completed_at"] == first["completed_at"]
        assert json.loads(again["summary_json"]) == json.loads(json.dumps(s))
        assert len(store.runs()) == 1


# ------------------------------------------------------------------------------ rows from records
def _state(aid, **over):
    row = {c: 0 for c in AGENT_STATE_COLUMNS}
    row.update(agent_id=aid, collateral_haircut=0.02, release_budget_max=None,
               release_budget_remaining=None, registers_json="{}")
    row.update(over)
    return row


def _summary(**over):
    s = {"num_arrivals": 0, "num_settlements": 0, "num_lsm_releases": 0, "total_cost": 0,
         "queue1_total": 0, "queue2_total": 0, "is_end_of_day": False}
    s.update(over)
    return s


def _writer(store, sim):
    return store._writers[sim.run_id]


def test_register_writes_collapse_to_the_last_value_of_the_tick():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        w = _writer(store, sim)
        evs = [
            {"seq": 0, "event_type": "StateRegisterSet", "tick": 0, "agent_id": "A",
             "register_key": "bank_state_mode", "old_value": 0.0, "new_value": 1.0,
             "reason": "policy", "decision_path": "B1"},
            {"seq": 1, "event_type": "StateRegisterSet", "tick": 0, "agent_id": "B",
             "register_key": "bank_state_mode", "old_value": 0.0, "new_value": math.nan,
             "reason": "policy", "decision_path": "B1"},
            {"seq": 2, "event_type": "StateRegisterSet", "tick": 0, "agent_id": "A",
             "register_key": "bank_state_mode", "old_value": 1.0, "new_value": 0.0,
             "reason": "eod_reset", "decision_path": None},
        ]
        w.add_tick(TickRecord(0, 0, evs, _summary(), [_state("A"), _state("B")], []))
        w.flush()
        regs = store.state_registers(sim.run_id)
        assert regs[["tick", "agent_id", "register_key"]].values.tolist() == \
            [[0, "A", "bank_state_mode"], [0, "B", "bank_state_mode"]]
        assert regs["register_value"][0] == 0.0 and math.isnan(regs["register_value"][1])
        stored = store.events(sim.run_id)
        assert stored["seq"].tolist() == [0, 1, 2]
        assert [d["new_value"] for d in stored["details"]][0::2] == [1.0, 0.0]
        assert math.isnan(stored["details"][1]["new_value"])
        raw = store.sql("SELECT details FROM simulation_events WHERE seq = 1")["details"][0]
        assert '"new_value":"NaN"' in raw


def test_stored_details_read_back_as_the_same_values_of_the_same_types():
    """store.events gives every field back as it was emitted: ints stay ints (beyond 64 bits
    too), floats floats (1.0 is not 1), texts with control characters, lists, mappings and
    None; keys in catalog order."""
    evs = [
        {"seq": 0, "event_type": "Arrival", "tick": 0, "tx_id": "t\x1b1", "sender_id": "A",
         "receiver_id": "B\u00e9\U0001F600", "amount": 2**70, "deadline": None, "priority": 5,
         "is_divisible": True},
        {"seq": 1, "event_type": "Arrival", "tick": 0, "tx_id": "t2", "sender_id": "A",
         "receiver_id": "B", "amount": 7, "deadline": 4, "priority": 0, "is_divisible": False},
        {"seq": 2, "event_type": "StateRegisterSet", "tick": 0, "agent_id": "A",
         "register_key": "k", "old_value": 1.0, "new_value": -math.inf, "reason": "policy",
         "decision_path": None},
        {"seq": 3, "event_type": "StateRegisterSet", "tick": 0, "agent_id": "B",
         "register_key": "k", "old_value": 2.5, "new_value": 1e300, "reason": "p",
         "decision_path": "N1 → A2"},
        {"seq": 4, "event_type": "LsmBilateralOffset", "tick": 0, "agent_a": "A",
         "agent_b": "B", "tx_ids": ["t1", "t2"], "amount_a": 5, "amount_b": 3, "amount": 8,
         "settled": True},
        {"seq": 5, "event_type": "ScenarioEventExecuted", "tick": 0,
         "scenario_event_type": "direct_transfer", "details_json": '{"amount":5}',
         "details": {"amount": 5, "nested": {"x": [1, 2.0, None]}}},
        {"seq": 6, "event_type": "CostAccrual", "tick": 0, "agent_id": "A",
         "liquidity_cost": 3, "delay_cost": 0, "collateral_cost": 0, "penalty_cost": 0,
         "split_friction_cost": 0, "total": 3, "liquidity_opportunity_cost": 0,
         "source": None},
    ]
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        w = _writer(store, sim)
        w.add_tick(TickRecord(0, 0, evs, _summary(), [_state("A"), _state("B")], []))
        w.flush()
        stored = store.events(sim.run_id)["details"].tolist()

    def typed(d):
        return [(k, type(v).__name__, repr(v)) for k, v in d.items()]
    expected = [{k: v for k, v in e.items() if k not in ("seq", "event_type", "tick")}
                for e in evs]
    assert [typed(d) for d in stored] == [typed(d) for d in expected]


def test_collateral_rows_are_derived_from_events():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        w = _writer(store, sim)
        evs = [
            {"seq": 0, "event_type": "CollateralPost", "tick": 2, "agent_id": "A",
             "amount": 30_000, "reason": "PreemptivePosting", "new_total": 50_000,
             "layer": "end_of_tick", "auto_withdraw_after_ticks": 3, "withdrawal_tick": 5,
             "balance": -1_000, "decision_path": "E1"},
            {"seq": 1, "event_type": "CollateralWithdraw", "tick": 2, "agent_id": "B",
             "amount": 4_000, "reason": "LiquidityRestored", "new_total": 6_000,
             "layer": "strategic", "balance": 900, "decision_path": "S1"},
            {"seq": 2, "event_type": "CollateralTimerWithdrawn", "tick": 2, "agent_id": "A",
             "amount": 20_000, "original_reason": "UrgentLiquidityNeed", "posted_at_tick": 0,
             "new_total": 30_000, "balance": -1_000},
            {"seq": 3, "event_type": "CollateralTimerBlocked", "tick": 2, "agent_id": "B",
             "requested_amount": 1, "reason": "No headroom", "original_reason": "x",
             "posted_at_tick": 0},
        ]
        w.add_tick(TickRecord(2, 0, evs, _summary(), [_state("A"), _state("B")], []))
        w.flush()
        rows = store.sql("SELECT * EXCLUDE (simulation_id) FROM collateral_events ORDER BY id")
        assert rows.values.tolist() == [
            [0, "A", 2, 0, "post", 30_000, "PreemptivePosting", "end_of_tick", -1_000,
             20_000, 50_000, 450_000],
            [1, "B", 2, 0, "withdraw", 4_000, "LiquidityRestored", "strategic", 900,
             10_000, 6_000, 494_000],
            [2, "A", 2, 0, "withdraw", 20_000, "UrgentLiquidityNeed", "timer", -1_000,
             50_000, 30_000, 470_000],
        ]
        assert store.sql("SELECT count(*) n FROM simulation_events")["n"][0] == 4


def test_events_columns_follow_the_mixed_frame_rules():
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        w = _writer(store, sim)
        evs = [
            {"seq": 0, "event_type": "QueuedRtgs", "tick": 1, "tx_id": "tx_00000009",
             "sender_id": "B"},
            {"seq": 1, "event_type": "RtgsSubmission", "tick": 1, "tx_id": "tx_00000009",
             "sender": "B", "receiver": "A", "amount": 5, "internal_priority": 5,
             "rtgs_priority": "Normal"},
            {"seq": 2, "event_type": "EndOfDay", "tick": 1, "day": 0, "unsettled_count": 1,
             "total_penalties": 0},
        ]
        w.add_tick(TickRecord(1, 0, evs, _summary(), [_state("A"), _state("B")], []))
        w.flush()
        rows = store.sql("SELECT seq, event_id, tick, day, event_type, agent_id, tx_id, amount, "
                         "details FROM simulation_events ORDER BY seq")
        rid = sim.run_id
        assert rows.astype(object).where(rows.notna(), None).values.tolist() == [
            [0, f"{rid}:0", 1, 0, "QueuedRtgs", "B", "tx_00000009", None,
             '{"sender_id":"B","tx_id":"tx_00000009"}'],
            [1, f"{rid}:1", 1, 0, "RtgsSubmission", "B", "tx_00000009", 5,
             '{"amount":5,"internal_priority":5,"receiver":"A","rtgs_priority":"Normal",'
             '"sender":"B","tx_id":"tx_00000009"}'],
            [2, f"{rid}:2", 1, 0, "EndOfDay", None, None, None,
             '{"day":0,"total_penalties":0,"unsettled_count":1}'],
        ]


def test_manual_policy_change_is_snapshotted_at_the_current_tick():
    fifo = {"version": "1.0", "policy_id": "hold_all",
            "payment_tree": {"type": "action", "node_id": "H", "action": "Hold"}}
    with psl.Store() as store:
        sim = psl.Simulation(scenario(), store=store)
        sim.step(3)
        sim.set_policy("A", fifo)
        sim.run()
        snaps = store.sql("SELECT agent_id, snapshot_day, snapshot_tick, created_by, policy_json "
                          "FROM policy_snapshots ORDER BY agent_id, snapshot_tick")
        assert snaps[["agent_id", "snapshot_day", "snapshot_tick", "created_by"]].values.tolist() \
            == [["A", 0, 0, "init"], ["A", 0, 3, "manual"], ["B", 0, 0, "init"]]
        assert json.loads(snaps["policy_json"][1])["policy_id"] == "hold_all"


def test_a_failed_run_is_stored_as_failed_with_its_error():
    cfg = scenario(tpd=5, days=2)
    cfg["agents"][0]["max_collateral_capacity"] = 1_000
    cfg["agents"][0]["policy"] = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "greedy",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "strategic_collateral_tree": {
            "type": "condition", "node_id": "C",
            "condition": {"op": "==", "left": {"field": "current_tick"},
                          "right": {"value": 6}},
            "on_true": {"type": "action", "node_id": "P", "action": "PostCollateral",
                        "parameters": {"amount": {"value": 5_000}}},
            "on_false": {"type": "action", "node_id": "N", "action": "HoldCollateral"}}}}
    with psl.Store() as store:
        sim = psl.Simulation(cfg, store=store, compat="simcash")  # extended posts what fits
        with pytest.raises(psl.SimulationError):
            sim.run()
        row = store.run(sim.run_id)
        assert row["status"] == "failed"
        assert row["ticks_run"] == 6
        assert row["error"].startswith("SimulationError: ")
        assert "capacity" in row["error"]
        assert store.sql("SELECT max(tick) m FROM simulation_events")["m"][0] == 5
