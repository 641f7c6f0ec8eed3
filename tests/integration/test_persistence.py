"""Persisting runs: the seed plan's four bugs, and every table checked against the live run."""
from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import paysim_lab as psl
from paysim_lab.records import canonical_json
from paysim_lab.report import RunInfo, VerboseLog
from seed_plan.seedkit import create_budget_test_config

COLLATERAL_TYPES = ("CollateralPost", "CollateralWithdraw", "CollateralTimerWithdrawn",
                    "CollateralTimerBlocked")


def run_with_log(source, store, **kwargs):
    """Run to the end with a live verbose log; returns (sim, {tick: text})."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(source, store=store, **kwargs)
    log = VerboseLog(RunInfo.from_sim(sim))
    texts = {}
    sim.add_listener(lambda rec: texts.__setitem__(rec.tick, log.text(rec)))
    sim.run()
    return sim, texts


def _action(action, **params):
    return {"type": "action", "action": action,
            "parameters": {k: {"value": v} for k, v in params.items()}}


# ------------------------------------------------------------------------------ seed bug 1
SEED_PLAN_CONFIG = {
    "seed": 42,
    "ticks_per_day": 10,
    "agents": [{"id": "TEST_BANK", "opening_balance": 100000,
                "policy_id": "test_multi_state_update"}],
    "policies": {
        "test_multi_state_update": {
            "version": "1.0",
            "bank_tree": {"type": "sequence", "children": [
                _action("SetState", key="test_counter", value=1.0, reason="first_update"),
                _action("SetState", key="test_counter", value=5.0, reason="second_update"),
            ]},
        }
    },
}


def test_multiple_state_updates_same_tick_stores_final_value():
    with psl.Store() as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(SEED_PLAN_CONFIG, store=store)
        sim.step()
        rows = store.sql("SELECT register_value, count(*) AS n FROM agent_state_registers "
                         "WHERE agent_id = 'TEST_BANK' AND register_key = 'test_counter' "
                         "AND tick = 0 GROUP BY register_value")
        assert rows.values.tolist() == [[5.0, 1]]
        evs = store.sql("SELECT seq, json_extract_string(details, '$.reason') AS reason "
                        "FROM simulation_events WHERE event_type = 'StateRegisterSet' "
                        "AND tick = 0 ORDER BY seq")
        assert evs["reason"].tolist() == ["first_update", "second_update"]
        assert store.state_registers(sim.run_id).values.tolist() == \
            [[0, "TEST_BANK", "test_counter", 5.0]]


@pytest.fixture(scope="module")
def crisis():
    store = psl.Store()
    sim, texts = run_with_log(psl.data.scenario_path("advanced_policy_crisis"), store)
    yield store, sim, texts
    store.close()


def test_crisis_scenario_persists_all_300_ticks(crisis):
    store, sim, _ = crisis
    row = store.run(sim.run_id)
    assert (row["status"], row["ticks_run"], row["total_ticks"], row["error"]) == \
        ("completed", 300, 300, None)
    assert store.check() == []


def test_end_of_day_register_row_holds_the_reset_value_and_both_events_stay(crisis):
    store, sim, _ = crisis
    pairs = store.sql("""
        SELECT tick, agent_id, json_extract_string(details, '$.register_key') AS k,
               list(json_extract_string(details, '$.reason') ORDER BY seq) AS reasons,
               list(CAST(json_extract(details, '$.new_value') AS DOUBLE) ORDER BY seq) AS vals
        FROM simulation_events WHERE event_type = 'StateRegisterSet'
        GROUP BY ALL HAVING count(*) > 1 ORDER BY tick, agent_id""")
    assert len(pairs) > 0
    assert set(pairs["tick"]) <= {99, 199, 299}
    for r in pairs.itertuples():
        assert list(r.reasons)[-1] == "eod_reset" and list(r.vals)[-1] == 0.0
        assert len(r.reasons) == 2 and list(r.reasons)[0] != "eod_reset"
        stored = store.sql("SELECT register_value FROM agent_state_registers "
                           "WHERE tick = ? AND agent_id = ? AND register_key = ?",
                           [int(r.tick), r.agent_id, r.k])
        assert stored["register_value"].tolist() == [0.0]


# ------------------------------------------------------------------------------ seed bug 2
def test_collateral_events_persisted_to_database(crisis):
    store, sim, _ = crisis
    live = sim.events["event_type"].value_counts()
    stored = store.sql("SELECT event_type, count(*) AS n FROM simulation_events "
                       "GROUP BY event_type").set_index("event_type")["n"]
    for et in COLLATERAL_TYPES:
        assert stored.get(et, 0) == live.get(et, 0), et
    assert live.get("CollateralPost", 0) > 0 and live.get("CollateralTimerWithdrawn", 0) > 0
    changes = sum(live.get(et, 0) for et in COLLATERAL_TYPES[:3])
    assert store.sql("SELECT count(*) n FROM collateral_events")["n"][0] == changes
    assert stored.sum() == len(sim.events)


def test_stored_events_equal_the_live_events(crisis):
    store, sim, _ = crisis
    live, stored = sim.events, store.events(sim.run_id)
    cols = ["tick", "day", "seq", "event_type", "agent_id", "tx_id", "amount"]
    pd.testing.assert_frame_equal(live[cols], stored[cols])
    assert [canonical_json(d) for d in live["details"]] == \
        [canonical_json(d) for d in stored["details"]]


def test_stored_details_are_the_live_dicts_with_their_keys_in_catalog_order(crisis):
    store, sim, _ = crisis
    live, stored = sim.events, store.events(sim.run_id)
    assert [list(d.items()) for d in stored["details"]] == \
        [list(d.items()) for d in live["details"]]
    for et in ("Arrival", "PolicyHold", "CostAccrual"):
        pd.testing.assert_frame_equal(store.events_of(sim.run_id, et), sim.events_of(et))


def test_collateral_rows_match_their_events(crisis):
    store, sim, _ = crisis
    rows = store.sql("SELECT c.*, e.event_type, e.details FROM collateral_events c "
                     "JOIN simulation_events e ON e.simulation_id = c.simulation_id "
                     "AND e.seq = c.id ORDER BY c.id")
    for r in rows.itertuples():
        d = json.loads(r.details)
        assert r.amount == d["amount"] and r.posted_collateral_after == d["new_total"]
        sign = 1 if r.action == "post" else -1
        assert r.posted_collateral_after - r.posted_collateral_before == sign * r.amount
        assert r.balance_before == d["balance"]
        if r.event_type == "CollateralTimerWithdrawn":
            assert (r.layer, r.reason) == ("timer", d["original_reason"])
        else:
            assert r.layer == d["layer"] and r.reason == d["reason"]


# ------------------------------------------------------------------------------ seed bug 3
def budget_scenario() -> dict:
    """The seed plan's budget bank, with payments arriving every tick."""
    doc = create_budget_test_config()
    doc["agents"][0]["arrival_config"] = {
        "rate_per_tick": 1.0,
        "amount_distribution": {"type": "Uniform", "min": 3_000_000, "max": 4_000_000},
        "counterparty_weights": {"OTHER": 1.0}, "deadline_range": [2, 4]}
    return doc


def test_budget_operations_displayed_in_verbose_output_live_and_in_replay():
    with psl.Store() as store:
        sim, texts = run_with_log(budget_scenario(), store)
        assert ("💰 Release Budget Updates (1):\n   TEST_BANK:\n"
                "   • Max Release: $87,500.00\n     Focus: OTHER\n"
                "     Max per Counterparty: $50,000.00\n") in texts[0]
        replayed = store.replay(sim.run_id, from_tick=0, to_tick=0)
        assert replayed == texts[0]
        stored = store.sql("SELECT details FROM simulation_events "
                           "WHERE event_type = 'BankBudgetSet' AND tick = 0")["details"][0]
        assert json.loads(stored)["max_value"] == 8750000
        budgets = store.sql("SELECT tick, release_budget_max, release_budget_remaining "
                            "FROM tick_agent_states WHERE agent_id = 'TEST_BANK' ORDER BY tick")
        assert set(budgets["release_budget_max"]) == {8750000}
        assert (budgets["release_budget_remaining"] <= 8750000).all()


# ------------------------------------------------------------------------------ seed bug 4
def timer_scenario() -> dict:
    pol = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "timer_test",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "strategic_collateral_tree": {
            "type": "condition", "node_id": "T0",
            "condition": {"op": "==", "left": {"field": "current_tick"},
                          "right": {"value": 2.0}},
            "on_true": {"type": "action", "node_id": "T1", "action": "PostCollateral",
                        "parameters": {"amount": {"value": 100000.0},
                                       "reason": {"value": "PreemptivePosting"},
                                       "auto_withdraw_after_ticks": {"value": 3.0}}},
            "on_false": {"type": "action", "node_id": "T2", "action": "HoldCollateral"}}}}
    return {"simulation": {"ticks_per_day": 50, "num_days": 1, "rng_seed": 42},
            "agents": [{"id": "TEST_BANK", "opening_balance": 1000000, "unsecured_cap": 0,
                        "max_collateral_capacity": 1000000, "policy": pol},
                       {"id": "OTHER", "opening_balance": 0}]}


def test_collateral_auto_withdrawal_after_timer_is_stored_and_shown():
    with psl.Store() as store:
        sim, texts = run_with_log(timer_scenario(), store, compat="simcash")
        hist = sim.history().query("agent_id == 'TEST_BANK'").set_index("tick")
        # simcash: the timer withdraws what the safety check allows, all but ceil(100 / 0.98)
        # = 103 (the extended profile withdraws everything: tests/unit/test_profile_fixes.py)
        assert hist["posted_collateral"].loc[[1, 2, 3, 4, 5, 6]].tolist() == \
            [0, 100000, 100000, 100000, 103, 103]
        timers = store.sql("SELECT tick, details FROM simulation_events "
                           "WHERE event_type = 'CollateralTimerWithdrawn'")
        assert timers["tick"].tolist() == [5]
        d = json.loads(timers["details"][0])
        assert (d["amount"], d["posted_at_tick"], d["new_total"], d["original_reason"]) == \
            (99897, 2, 103, "PreemptivePosting")
        rows = store.sql("SELECT tick, action, amount, layer, posted_collateral_before, "
                         "posted_collateral_after, available_capacity_after "
                         "FROM collateral_events ORDER BY id")
        assert rows.values.tolist() == [[2, "post", 100000, "strategic", 0, 100000, 900000],
                                        [5, "withdraw", 99897, "timer", 100000, 103, 999897]]
        assert ("   • AUTO-WITHDRAWN (timer): $998.97 | Posted at tick 2 (PreemptivePosting)"
                " | New Total: $1.03\n") in texts[5]
        assert "Auto-withdraw at tick 5" in texts[2]
        assert store.replay(sim.run_id, from_tick=5, to_tick=5) == texts[5]


# ------------------------------------------------------------------------------ other tables
def test_tick_agent_states_project_to_history(crisis):
    store, sim, _ = crisis
    stored = store.sql("SELECT tick, day, agent_id, balance, credit_used, posted_collateral, "
                       "available_liquidity, queue1_count, queue1_value, queue2_count, "
                       "queue2_value, release_budget_remaining, total_cost AS cost_to_date "
                       "FROM tick_agent_states ORDER BY tick, agent_id")
    live = sim.history()
    assert len(stored) == len(live) == 1200
    for c in live.columns:
        assert stored[c].astype("Int64").tolist() == live[c].astype("Int64").tolist() \
            if c != "agent_id" else stored[c].tolist() == live[c].tolist(), c


def test_tick_summaries_match_the_tick_counters(crisis):
    store, sim, _ = crisis
    stats = sim.tick_stats()
    s = store.sql("SELECT * FROM tick_summaries ORDER BY tick")
    assert s["num_arrivals"].tolist() == [x.arrivals for x in stats]
    assert s["num_settlements"].tolist() == [x.settlements for x in stats]
    assert s["total_cost"].tolist() == [x.tick_cost for x in stats]
    assert s.index[s["is_end_of_day"]].tolist() == [99, 199, 299]


def test_transactions_table_shows_current_state(crisis):
    store, sim, _ = crisis
    live = sim.transactions().set_index("tx_id")
    stored = store.sql("SELECT * FROM transactions").set_index("tx_id")
    assert sorted(stored.index) == sorted(live.index)
    assert stored["status"].to_dict() == live["status"].to_dict()
    assert set(live["status"]) <= {"pending", "settled", "overdue", "dropped"}
    for col, lcol in (("remaining_amount", "remaining_amount"), ("amount", "amount"),
                      ("settlement_tick", "settlement_tick"), ("settled_by", "settled_by"),
                      ("deadline_tick", "deadline_tick"), ("parent_tx_id", "parent_id")):
        a = stored[col].astype(object).where(stored[col].notna(), None).to_dict()
        b = live[lcol].astype(object).where(live[lcol].notna(), None).to_dict()
        assert a == b, col
    q = store.sql("SELECT tx_id, count(*) AS n FROM tick_queue_snapshots "
                  "WHERE queue_type = 'queue1' GROUP BY tx_id").set_index("tx_id")["n"]
    for tx_id, n in q.items():
        assert stored.loc[tx_id, "queue1_ticks"] == n


def test_daily_metrics_chain_and_add_up(crisis):
    store, sim, _ = crisis
    m = store.sql("SELECT * FROM daily_agent_metrics ORDER BY agent_id, day")
    assert len(m) == 12
    for aid, g in m.groupby("agent_id"):
        assert g["opening_balance"].tolist()[1:] == g["closing_balance"].tolist()[:-1]
        assert g["total_cost"].sum() == sim.costs().set_index("agent_id").loc[aid, "total"]
    arrivals = sum(1 for tx in sim.world.tx_list if tx.parent_id is None)
    assert m["num_arrivals"].sum() == arrivals
    assert m["num_settled"].sum() == m["num_received"].sum()
    coll = store.sql("SELECT count(*) FILTER (action = 'post') p, "
                     "count(*) FILTER (action = 'withdraw') w FROM collateral_events")
    assert (m["num_collateral_posts"].sum(), m["num_collateral_withdrawals"].sum()) == \
        (coll["p"][0], coll["w"][0])
    eod = store.sql("SELECT day, count(*) n FROM agent_queue_snapshots GROUP BY day")
    last = store.sql("SELECT count(*) n FROM tick_queue_snapshots "
                     "WHERE queue_type = 'queue1' AND tick = 299")["n"][0]
    assert dict(zip(eod["day"], eod["n"])).get(2, 0) == last


def test_compatibility_views(crisis):
    store, sim, _ = crisis
    live = sim.events["event_type"].value_counts()
    decisions = store.sql("SELECT decision_type, count(*) n FROM policy_decisions GROUP BY 1")
    got = dict(zip(decisions["decision_type"], decisions["n"]))
    for et, kind in (("PolicySubmit", "submit"), ("PolicyHold", "hold")):
        assert got.get(kind, 0) == live.get(et, 0)
    cycles = store.sql("SELECT * FROM lsm_cycles WHERE cycle_type = 'multilateral'")
    assert len(cycles) == live.get("LsmCycleSettlement", 0)
    for r in cycles.itertuples():
        agents = json.loads(r.agents)
        assert r.cycle_length == len(agents) - 1 and r.total_value == r.settled_value
    runs = store.sql("SELECT config_name, total_transactions FROM simulation_runs")
    assert runs.values.tolist() == [["advanced_policy_crisis", sim.summary()["arrivals"]]]


def test_keep_events_false_still_stores_every_event():
    with psl.Store() as store:
        sim = psl.Simulation(psl.data.scenario_path("two_bank_teaching"), store=store)
        sim.run()
        full = len(sim.events)
        lean = psl.Simulation(psl.data.scenario_path("two_bank_teaching"), store=store,
                              keep_events=False)
        lean.run()
        assert len(store.events(lean.run_id)) == full
        assert store.runs()["run_id"].tolist() == [sim.run_id, lean.run_id]


def test_exports_from_a_live_run_and_from_the_store(crisis, tmp_path):
    store, sim, _ = crisis
    live_dir = sim.export(tmp_path / "live", format="csv")
    stored_dir = store.export(sim.run_id, tmp_path / "stored", format="parquet")
    live_m = json.loads((live_dir / "manifest.json").read_text())
    stored_m = json.loads((stored_dir / "manifest.json").read_text())
    assert live_m["format"] == "csv" and stored_m["format"] == "parquet"
    assert (live_m["scenario"], live_m["seed"], live_m["ticks_run"]) == \
        ("advanced_policy_crisis", sim.seed, 300)
    for name in ("events", "transactions", "history", "costs"):
        assert live_m["files"][name]["rows"] == stored_m["files"][name]["rows"], name
    ev = pd.read_parquet(stored_dir / "events.parquet")
    assert len(ev) == len(sim.events)
    assert json.loads(ev["details"][0]) == sim.events["details"][0]
    assert pd.read_csv(live_dir / "costs.csv")["total"].tolist() == \
        pd.read_parquet(stored_dir / "costs.parquet")["total"].tolist()
    with pytest.raises(ValueError, match="export format"):
        sim.export(tmp_path / "x", format="xlsx")


# ------------------------------------------------------------------------------ verify
def test_verify_covers_inline_policies_copies_and_manual_policy_changes():
    hold = {"version": "1.0", "policy_id": "hold_all",
            "payment_tree": {"type": "action", "node_id": "H", "action": "Hold"}}
    with psl.Store() as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed_plan = psl.Simulation(SEED_PLAN_CONFIG, store=store)
        seed_plan.run()
        cfg = json.loads(store.run(seed_plan.run_id)["config_json"])
        assert "policies" not in cfg
        assert cfg["agents"][0]["policy"]["type"] == "Inline"
        assert cfg["agents"][0]["policy"]["decision_trees"]["policy_id"] == \
            "test_multi_state_update"
        assert store.verify(seed_plan.run_id).ok

        base = psl.load_scenario(psl.data.scenario_path("two_bank_teaching"))
        copy = psl.Simulation(base.model_copy(update={"deferred_crediting": True}), seed=8,
                              store=store)
        copy.run()
        assert store.verify(copy.run_id).ok

        changed = psl.Simulation(psl.data.scenario_path("two_bank_teaching"), store=store)
        changed.step(6)
        changed.set_policy("NORTH", hold)
        changed.run()
        res = store.verify(changed.run_id)
        assert res.ok and res.events == len(changed.events)
