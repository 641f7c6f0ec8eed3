"""Each SimCash quirk the extended profile fixes, shown on one small scenario in both profiles.

docs/deviations.md lists every quirk with its decision; each ``fixed in extended`` row has a
test here that runs the same scenario under ``simcash`` (the reference's behaviour, exact
numbers) and ``extended`` (the corrected behaviour, exact numbers).
"""
import warnings

import pytest

import enginekit
from enginekit import RELEASE, ScriptedPolicy, engine_for, of_type, pay, run
from paysim_lab.engine.decisions import Decision
from paysim_lab.engine.lsm import LsmConfig, find_cycles, run_lsm
from paysim_lab.engine.settlement import enqueue_queue2
from paysim_lab.engine.state import Agent, Transaction, World
from paysim_lab.errors import ScenarioWarning, SimulationError


def two_banks(profile, **kwargs):
    return {**enginekit.two_banks(**kwargs), "profile": profile}


HOLD_COLLATERAL = Decision("HoldCollateral", path="H")


# ---- collateral --------------------------------------------------------------------------------
def post_at(tick, amount, timer=None):
    post = Decision("PostCollateral", path="P", amount=amount, reason="PreemptivePosting",
                    timer=timer)
    return lambda env: post if env.world.tick == tick else HOLD_COLLATERAL


@pytest.mark.parametrize("profile, after", [("simcash", 103), ("extended", 0)])
def test_timer_withdraws_everything_not_backing_credit(profile, after):
    # A posts 100,000 at tick 0 with a 10-tick timer and never uses credit.
    pol = ScriptedPolicy(payment=lambda env: RELEASE, strategic=post_at(0, 100_000, 10))
    cfg = two_banks(profile, tpd=20)
    cfg["agents"][0]["max_collateral_capacity"] = 1_000_000
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 11)
    fired = of_type(events, "CollateralTimerWithdrawn")
    # simcash keeps ceil(100 / 0.98) = 103 cents against a 100-cent buffer
    assert [(e["tick"], e["amount"], e["new_total"]) for e in fired] == \
        [(10, 100_000 - after, after)]
    assert eng.world.agents["A"].posted_collateral == after


def test_timer_in_extended_keeps_what_backs_credit_in_use():
    # A overdraws by 49,000 at tick 1 (unsecured cap 0): collateral backs it.
    pol = ScriptedPolicy(payment=lambda env: RELEASE, strategic=post_at(0, 100_000, 5))
    cfg = two_banks("extended", a_bal=1_000, scenario_events=[pay("A", "B", 50_000, 1)])
    cfg["agents"][0]["max_collateral_capacity"] = 1_000_000
    eng = engine_for(cfg, {"A": pol})
    run(eng, 6)
    a = eng.world.agents["A"]
    assert a.balance == -49_000
    assert a.posted_collateral == 50_000  # ceil(49,000 / 0.98): exactly what covers the credit
    assert a.allowed_overdraft_limit >= 49_000


@pytest.mark.parametrize("profile", ["simcash", "extended"])
def test_post_above_capacity(profile):
    pol = ScriptedPolicy(payment=lambda env: RELEASE, strategic=post_at(2, 70_000))
    cfg = two_banks(profile)
    cfg["agents"][0]["max_collateral_capacity"] = 50_000
    eng = engine_for(cfg, {"A": pol})
    if profile == "simcash":
        with pytest.raises(SimulationError, match="tried to post 70000 collateral but only "
                                                  "has 50000 capacity remaining"):
            run(eng, 3)
        return
    events = run(eng, 10)
    capped = of_type(events, "CollateralPostCapped")
    assert capped == [{"event_type": "CollateralPostCapped", "tick": 2, "agent_id": "A",
                       "requested_amount": 70_000, "posted_amount": 50_000,
                       "capacity_remaining": 50_000, "reason": "PreemptivePosting",
                       "layer": "strategic", "decision_path": "P"}]
    posts = of_type(events, "CollateralPost")
    assert [(p["tick"], p["amount"], p["new_total"]) for p in posts] == [(2, 50_000, 50_000)]
    assert eng.world.agents["A"].posted_collateral == 50_000


def test_post_with_no_capacity_left_in_extended_only_reports():
    pol = ScriptedPolicy(payment=lambda env: RELEASE,
                         strategic=lambda env: Decision("PostCollateral", path="P",
                                                        amount=30_000, reason="PreemptivePosting"))
    cfg = two_banks("extended")
    cfg["agents"][0]["max_collateral_capacity"] = 50_000
    events = run(engine_for(cfg, {"A": pol}), 3)
    assert [(p["tick"], p["amount"]) for p in of_type(events, "CollateralPost")] == \
        [(0, 30_000), (1, 20_000)]
    assert [(c["tick"], c["requested_amount"], c["posted_amount"])
            for c in of_type(events, "CollateralPostCapped")] == [(1, 30_000, 20_000),
                                                                  (2, 30_000, 0)]


@pytest.mark.parametrize("profile, left, balance_ok", [("simcash", 0, False),
                                                       ("extended", 50_000, True)])
def test_withdraw_keeps_collateral_backing_credit(profile, left, balance_ok):
    # A posts 100,000 at tick 0, overdraws 49,000 at tick 1, withdraws everything at tick 2.
    withdraw = Decision("WithdrawCollateral", path="W", amount=100_000,
                        reason="LiquidityRestored")

    def strategic(env):
        t = env.world.tick
        return post_at(0, 100_000)(env) if t == 0 else (withdraw if t == 2 else HOLD_COLLATERAL)
    pol = ScriptedPolicy(payment=lambda env: RELEASE, strategic=strategic)
    cfg = two_banks(profile, a_bal=1_000, scenario_events=[pay("A", "B", 50_000, 1)])
    cfg["agents"][0]["max_collateral_capacity"] = 1_000_000
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 3)
    a = eng.world.agents["A"]
    assert a.posted_collateral == left
    assert [w["amount"] for w in of_type(events, "CollateralWithdraw")] == [100_000 - left]
    assert (a.balance >= -a.allowed_overdraft_limit) is balance_ok


# ---- bank tree: release budget -------------------------------------------------------------------
@pytest.mark.parametrize("profile, held, b_balance", [
    ("simcash", [(1, "BudgetExhausted"), (2, "BudgetExhausted"), (2, "BudgetExhausted")], 60),
    ("extended", [], 180)])
def test_setstate_tick_does_not_keep_last_ticks_budget(profile, held, b_balance):
    budget = Decision("SetReleaseBudget", path="B", max_value=100, focus=None,
                      per_counterparty=None)
    setstate = Decision("SetState", path="S", key="bank_state_x", value=1.0, reason="r")
    ticks = {0: budget, 1: setstate, 2: setstate}
    pol = ScriptedPolicy(payment=lambda env: RELEASE, bank=lambda env: ticks[env.world.tick])
    cfg = two_banks(profile, tpd=3, scenario_events=[pay("A", "B", 60, 0), pay("A", "B", 60, 1),
                                                     pay("A", "B", 60, 2)])
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 3)
    assert [(h["tick"], h["reason"]) for h in of_type(events, "PolicyHold")] == held
    assert eng.world.agents["B"].balance == b_balance


# ---- StaggerSplit --------------------------------------------------------------------------------
def stagger_events(profile):
    stagger = Decision("StaggerSplit", path="SS", num_splits=4, first_now=1, gap=3, boost=0)
    pol = ScriptedPolicy(payment=lambda env: stagger if env.tx.parent_id is None else RELEASE)
    cfg = two_banks(profile, tpd=12, scenario_events=[pay("A", "B", 400, 0, deadline=11)])
    return run(engine_for(cfg, {"A": pol}), 12)


def test_stagger_split_gap_is_honoured_in_extended():
    events = stagger_events("extended")
    settled = [(e["tick"], e["tx_id"]) for e in of_type(events, "RtgsImmediateSettlement")]
    # child 1 now, then one child every 3 ticks
    assert settled == [(0, "tx_00000001"), (3, "tx_00000002"), (6, "tx_00000003"),
                       (9, "tx_00000004")]
    assert [(e["tick"], e["tx_id"]) for e in of_type(events, "RtgsSubmission")] == settled
    assert of_type(events, "PolicySubmit") == []  # the schedule releases them, not the tree


def test_stagger_split_gap_is_ignored_in_simcash():
    events = stagger_events("simcash")
    settled = [(e["tick"], e["tx_id"]) for e in of_type(events, "RtgsImmediateSettlement")]
    # the tree releases the three waiting children at the next tick
    assert settled == [(0, "tx_00000001"), (1, "tx_00000002"), (1, "tx_00000003"),
                       (1, "tx_00000004")]
    # the first child goes to RTGS without an RtgsSubmission event
    assert [e["tx_id"] for e in of_type(events, "RtgsSubmission")] == \
        ["tx_00000002", "tx_00000003", "tx_00000004"]


# ---- Reprioritize ----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile, shown", [("simcash", 12), ("extended", 10)])
def test_reprioritized_event_shows_the_priority_set(profile, shown):
    rep = Decision("Reprioritize", path="RP", new_priority=12)
    pol = ScriptedPolicy(payment=lambda env: rep)
    cfg = two_banks(profile, scenario_events=[pay("A", "B", 10, 0)])
    eng = engine_for(cfg, {"A": pol})
    events = run(eng, 1)
    assert [e["new_priority"] for e in of_type(events, "TransactionReprioritized")] == [shown]
    assert eng.world.txs["tx_00000000"].priority == 10


# ---- arrivals: a sampled priority of 0 -------------------------------------------------------------
@pytest.mark.parametrize("profile, prio", [("simcash", 5), ("extended", 0)])
def test_sampled_priority_zero(profile, prio):
    cfg = two_banks(profile, tpd=3)
    cfg["agents"][0]["arrival_config"] = {
        "rate_per_tick": 2.0, "amount_distribution": {"type": "Uniform", "min": 10, "max": 20},
        "counterparty_weights": {"B": 1.0}, "deadline_range": [2, 4],
        "priority_distribution": {"type": "Fixed", "value": 0}}
    events = run(engine_for(cfg), 3)
    arrivals = of_type(events, "Arrival")
    assert arrivals and {a["priority"] for a in arrivals} == {prio}


# ---- LSM -----------------------------------------------------------------------------------------
def world_with(balances, payments):
    w = World(ticks_per_day=10, num_days=1)
    for i, (aid, bal) in enumerate(balances):
        w.add_agent(Agent(aid, i, bal))
    txs = []
    for seq, (s, r, x) in enumerate(payments):
        tx = Transaction(f"tx{seq}", seq, s, r, x, 0, 9, 5)
        w.txs[tx.tx_id] = tx
        w.tx_list.append(tx)
        txs.append(tx)
    return w, txs


@pytest.mark.parametrize("fixes, parent_left, parent_status", [(False, 500, "Pending"),
                                                               (True, 0, "Settled")])
def test_split_children_settled_by_offset_reduce_their_parent(fixes, parent_left,
                                                              parent_status):
    w, (parent, c1, c2, back) = world_with(
        [("A", 0), ("B", 0)], [("A", "B", 500), ("A", "B", 250), ("A", "B", 250),
                               ("B", "A", 500)])
    for c in (c1, c2):
        c.parent_id = parent.tx_id
    parent.child_ids = [c1.tx_id, c2.tx_id]
    for tx in (c1, c2, back):
        enqueue_queue2(w, tx)
    run_lsm(w, 3, LsmConfig(), None, fixes=fixes)
    assert (c1.status, c2.status, back.status) == ("Settled",) * 3
    assert (parent.remaining_amount, parent.status) == (parent_left, parent_status)


@pytest.mark.parametrize("fixes, settled", [(False, False), (True, True)])
def test_triangle_in_the_other_orientation(fixes, settled):
    # A -> C -> B -> A (A < B < C); nobody can pay alone
    payments = [("A", "C", 300), ("C", "B", 300), ("B", "A", 300)]
    w, txs = world_with([("A", 0), ("B", 0), ("C", 0)], payments)
    for tx in txs:
        enqueue_queue2(w, tx)
    cycles, _ = find_cycles(w.queue2, 4, 10, both_orientations=fixes)
    assert [c.agents for c in cycles] == ([["A", "C", "B", "A"]] if settled else [])
    res = run_lsm(w, 3, LsmConfig(), None, fixes=fixes)
    assert res.cycles_settled == (1 if settled else 0)
    assert [t.status for t in txs] == ["Settled" if settled else "Pending"] * 3


@pytest.mark.parametrize("fixes, expected", [
    (False, [{"event_type": "LsmBilateralOffset", "tick": 3, "agent_a": "A", "agent_b": "B",
              "tx_ids": ["tx0", "tx1"], "amount_a": 500, "amount_b": 100, "amount": 600,
              "settled": False}]),
    (True, [])])
def test_refused_bilateral_pair(fixes, expected):
    # A owes B 400 net and has nothing: the pair is refused
    w, txs = world_with([("A", 0), ("B", 0)], [("A", "B", 500), ("B", "A", 100)])
    for tx in txs:
        enqueue_queue2(w, tx)
    res = run_lsm(w, 3, LsmConfig(enable_cycles=False), None, fixes=fixes)
    from paysim_lab.engine.events import to_dict
    assert [to_dict(e) for e in w.events if e[0] == "LsmBilateralOffset"] == expected
    assert res.bilateral_tx_settled == 0
    assert res.bilateral_value == (100 if not fixes else 0)


# ---- liquidity pool fraction -------------------------------------------------------------------------
@pytest.mark.parametrize("profile, builtin, day1, day2", [
    ("simcash", False, 50_000, 20_000), ("extended", False, 20_000, 20_000),
    ("simcash", True, 50_000, 100_000), ("extended", True, 50_000, 50_000)])
def test_liquidity_pool_fraction(profile, builtin, day1, day2):
    cfg = two_banks(profile, a_bal=0, tpd=2, days=2)
    cfg["agents"][0].update({"liquidity_pool": 100_000, "liquidity_allocation_fraction": 0.5})
    pol = ScriptedPolicy(payment=lambda env: RELEASE, initial_liquidity_fraction=0.2)
    from paysim_lab.engine.build import build_engine
    eng = build_engine(cfg, {"A": pol, "B": pol},
                       builtin_agents=frozenset({"A"}) if builtin else frozenset())
    a = eng.world.agents["A"]
    assert a.balance == day1
    run(eng, 3)
    assert a.balance == day2


# ---- DeadlineWindowChange --------------------------------------------------------------------------
def window_growth(profile, ticks):
    cfg = two_banks(profile, tpd=100)
    cfg["agents"][0]["arrival_config"] = {
        "rate_per_tick": 20.0, "amount_distribution": {"type": "Uniform", "min": 10, "max": 20},
        "counterparty_weights": {"B": 1.0}, "deadline_range": [2, 4]}
    cfg["scenario_events"] = [{"type": "DeadlineWindowChange", "max_ticks_multiplier": 4.0,
                               "min_ticks_multiplier": 4.0,
                               "schedule": {"type": "Repeating", "start_tick": 1,
                                            "interval": 1}}]
    eng = engine_for(cfg)
    return eng, lambda: run(eng, ticks)


def test_growing_deadline_window_fails_in_simcash_where_the_reference_overflows():
    eng, go = window_growth("simcash", 40)
    with pytest.raises(SimulationError, match="overflows 64 bits"):
        go()
    gen = eng.world.agents["A"].arrival
    # after 31 firings (ticks 1..31) the bound 4 * 4**31 = 2**64 saturates to 2**64 - 1, as the
    # reference's float-to-usize conversion does; that tick's draw fails
    assert (gen.dmin, gen.dmax) == (2 ** 63, 2 ** 64 - 1) and eng.world.tick == 31


def test_growing_deadline_window_is_capped_in_extended():
    eng, go = window_growth("extended", 40)
    with pytest.warns(ScenarioWarning, match=r"deadline window from \[32, 64\] to \[128, 256\]; "
                                             r"capped to \[100, 100\] \(the run has 100 ticks\)"):
        events = go()
    gen = eng.world.agents["A"].arrival
    assert (gen.dmin, gen.dmax) == (100, 100)
    executed = [e for e in of_type(events, "ScenarioEventExecuted")]
    assert "window_cap" not in executed[1]["details"]
    assert executed[3]["details"]["window_capped_for"] == ["A"]
    assert executed[3]["details"]["window_cap"] == 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eng.tick()  # warned once per bank


# ---- deadline_cap_at_eod for generated arrivals ------------------------------------------------
@pytest.mark.parametrize("profile, deadline", [("simcash", 10), ("extended", 9)])
def test_generated_arrivals_capped_at_the_days_last_tick(profile, deadline):
    cfg = two_banks(profile, tpd=10, days=2, deadline_cap_at_eod=True)
    cfg["agents"][0]["arrival_config"] = {
        "rate_per_tick": 3.0, "amount_distribution": {"type": "Uniform", "min": 10, "max": 20},
        "counterparty_weights": {"B": 1.0}, "deadline_range": [30, 40]}
    events = run(engine_for(cfg), 1)
    arrivals = of_type(events, "Arrival")
    assert arrivals and {a["deadline"] for a in arrivals} == {deadline}


# ---- LSM FIFO retry and deferred crediting -----------------------------------------------------------
@pytest.mark.parametrize("fixes, b_balance, deferred_to_b", [(False, -50, 300),
                                                             (True, -100, 350)])
def test_lsm_retry_respects_deferred_crediting(fixes, b_balance, deferred_to_b):
    from paysim_lab.engine.settlement import DeferredCredits
    # A <-> B offset (credits deferred in both profiles); then the retry settles C -> B 50 from
    # C's own funds: simcash credits B at once, extended defers it like every other credit
    w, txs = world_with([("A", 500), ("B", 0), ("C", 50)],
                        [("A", "B", 300), ("B", "A", 100), ("C", "B", 50)])
    deferred = DeferredCredits()
    for tx in txs:
        enqueue_queue2(w, tx)
    res = run_lsm(w, 4, LsmConfig(enable_cycles=False), deferred, fixes=fixes)
    assert (res.bilateral_tx_settled, res.retry_tx_settled) == (2, 1)
    assert w.agents["B"].balance == b_balance
    assert deferred.amounts["B"] == deferred_to_b


# ---- loader: policy params and the pool fraction -----------------------------------------------------
def policy_file(tmp_path):
    doc = {"version": "1.0", "policy_id": "threshold",
           "parameters": {"threshold": 500.0, "initial_liquidity_fraction": 0.2},
           "payment_tree": {"type": "condition", "node_id": "C",
                            "condition": {"op": "<=", "left": {"field": "amount"},
                                          "right": {"param": "threshold"}},
                            "on_true": {"type": "action", "node_id": "R", "action": "Release"},
                            "on_false": {"type": "action", "node_id": "H", "action": "Hold"}}}
    path = tmp_path / "threshold.json"
    import json
    path.write_text(json.dumps(doc))
    return path


def pool_scenario(tmp_path, profile, **policy_extra):
    import paysim_lab as psl
    doc = {"simulation": {"ticks_per_day": 2, "num_days": 1, "rng_seed": 1}, "compat": profile,
           "agents": [{"id": "A", "opening_balance": 0, "liquidity_pool": 100_000,
                       "liquidity_allocation_fraction": 0.5,
                       "policy": {"type": "FromJson", "json_path": str(policy_file(tmp_path)),
                                  **policy_extra}},
                      {"id": "B", "opening_balance": 0}],
           "scenario_events": [pay("A", "B", 800, 0)]}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sim = psl.Simulation(psl.load_scenario(doc, allowed_policy_dirs=[tmp_path]))
    return sim, [str(w.message) for w in rec if issubclass(w.category, ScenarioWarning)]


@pytest.mark.parametrize("profile, settled", [("simcash", []), ("extended", ["tx_00000000"])])
def test_fromjson_params_override_the_policy_parameters(tmp_path, profile, settled):
    sim, texts = pool_scenario(tmp_path, profile, params={"threshold": 1000})
    sim.run()
    assert sim.events_of("RtgsImmediateSettlement")["tx_id"].tolist() == settled
    ignored = [t for t in texts if "policy.params: ignored" in t]
    assert len(ignored) == (1 if profile == "simcash" else 0)
    assert sim.scenario.agent_policies["A"]["parameters"]["threshold"] == (
        500.0 if profile == "simcash" else 1000.0)


@pytest.mark.parametrize("profile, balance, message", [
    ("simcash", 50_000, "agents[0]: the policy's initial_liquidity_fraction 0.2 applies from the "
                        "second day's start only; the first day gets liquidity_allocation_fraction"
                        " 0.5 of the pool"),
    ("extended", 20_000, "agents[0].liquidity_allocation_fraction: overridden by the policy's "
                         "initial_liquidity_fraction 0.2 (on every day")])
def test_policy_liquidity_fraction_on_the_first_day(tmp_path, profile, balance, message):
    sim, texts = pool_scenario(tmp_path, profile)
    assert sim.world.agents["A"].balance == balance
    assert [t for t in texts if message in t], texts


def test_capped_post_is_shown_in_the_verbose_log():
    import paysim_lab as psl
    from paysim_lab.report import RunInfo, VerboseLog
    pol = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "greedy",
        "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
        "strategic_collateral_tree": {"type": "action", "node_id": "P",
                                      "action": "PostCollateral",
                                      "parameters": {"amount": {"value": 70_000},
                                                     "reason": {"value": "PreemptivePosting"}}}}}
    doc = {"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": "A", "opening_balance": 0, "max_collateral_capacity": 100_000,
                       "policy": pol}, {"id": "B", "opening_balance": 0}]}
    sim = psl.Simulation(doc)
    log = VerboseLog(RunInfo.from_sim(sim))
    texts = {}
    sim.add_listener(lambda rec: texts.__setitem__(rec.tick, log.text(rec)))
    sim.run()
    assert "   • POSTED: $700.00 - PreemptivePosting | New Total: $700.00\n" in texts[0]
    assert ("   • CAPPED: asked $700.00 - PreemptivePosting | capacity left $300.00 | posting "
            "$300.00\n") in texts[1]
    assert "   • CAPPED: asked $700.00 - PreemptivePosting | capacity left $0.00 | posting $0.00\n" \
        in texts[2]
