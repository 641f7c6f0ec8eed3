"""Each cost formula of engine.md 7 with hand-computed numbers."""
from enginekit import RELEASE, ScriptedPolicy, engine_for, of_type, run
from paysim_lab.engine import costs as C
from paysim_lab.engine.decisions import Decision
from paysim_lab.engine.state import CostRates, Penalty


def test_scaled_rates_round_half_away_and_invalid():
    assert C.scaled(0.0004, 1000) == 0          # finer than the scale: rounded away
    assert C.scaled(0.0015, 1000) == 2          # 1.5 -> 2
    assert C.scaled(float("nan"), 1000) == 0
    assert C.scaled(-1.0, 1000, invalid=1000) == 1000


def test_overdraft_formula():
    # 2 bps/tick on $10,000.00 overdraft: 1_000_000 * 2000 / 1e7 = 200 cents
    assert C.overdraft_cost(-1_000_000, C.scaled(2.0, 1000)) == 200
    # half-up rounding: 25 * 2000 = 50000 -> (50000 + 5e6) // 1e7 = 0 ; 2500 -> 0.5 -> 1
    assert C.overdraft_cost(-2500, C.scaled(2.0, 1000)) == 1
    assert C.overdraft_cost(-2499, C.scaled(2.0, 1000)) == 0
    assert C.overdraft_cost(5, C.scaled(2.0, 1000)) == 0


def test_delay_formula_with_overdue_and_priority_multipliers():
    rates = CostRates()
    rates.delay_cost_per_tick_per_cent = 0.001          # Rd = 1000
    rates.overdue_delay_multiplier = 5.0                # 5000
    rates.priority_delay_multipliers = (1.5, 1.0, 0.5)
    sr = C.ScaledRates(rates)
    from paysim_lab.engine.state import Transaction
    urgent = Transaction("t1", 0, "A", "B", 100_000, 0, 5, 9)
    low_overdue = Transaction("t2", 1, "A", "B", 40_000, 0, 5, 2)
    low_overdue.mark_overdue(6)
    w = C.delay_weight(urgent, sr) + C.delay_weight(low_overdue, sr)
    # urgent: 100000 * (1000*1500//1000 = 1500) ; overdue low: 40000 * (5000*500//1000 = 2500)
    assert w == 100_000 * 1500 + 40_000 * 2500
    # (w * 1000 + 5e8) // 1e9 = (250_000_000_000 + 500_000_000) // 1e9 = 250
    assert C.delay_cost(w, sr.delay) == 250


def test_collateral_and_liquidity_formulas():
    assert C.bps_cost(10_000_000, C.scaled(0.05, 1_000_000)) == 50   # 1e7*5e4/1e10
    assert C.bps_cost(0, C.scaled(0.05, 1_000_000)) == 0


def test_rate_penalty_truncates():
    assert Penalty("rate", bps_per_event=25.5).resolve(1_000_000) == 2550
    assert Penalty("rate", bps_per_event=0.0000009).resolve(10**12) == 0   # trunc(0.9) = 0
    assert Penalty("rate", bps_per_event=float("inf")).resolve(5) == 0


def cost_cfg(**rates):
    return {"simulation": {"ticks_per_day": 4, "num_days": 2, "rng_seed": 1},
            "agents": [{"id": "A", "opening_balance": 0, "unsecured_cap": 1_000_000},
                       {"id": "B", "opening_balance": 0}],
            "cost_rates": {"overdraft_bps_per_tick": 0.0, "delay_cost_per_tick_per_cent": 0.0,
                           "collateral_cost_per_tick_bps": 0.0, **rates}}


def test_overdraft_cost_accrues_every_tick_on_end_of_tick_balance():
    cfg = cost_cfg(overdraft_bps_per_tick=2.0, eod_penalty=0, deadline_penalty=0)
    cfg["scenario_events"] = [{"type": "CustomTransactionArrival", "from_agent": "A",
                               "to_agent": "B", "amount": 1_000_000,
                               "schedule": {"type": "OneTime", "tick": 1}}]
    eng = engine_for(cfg)
    events = run(eng, 4)
    acc = of_type(events, "CostAccrual")
    assert [(a["tick"], a["liquidity_cost"], a["total"]) for a in acc] == [
        (1, 200, 200), (2, 200, 200), (3, 200, 200)]
    assert eng.world.agents["A"].cost_run[0] == 600


def test_deadline_penalty_once_and_eod_penalty_each_day():
    hold = ScriptedPolicy(payment=lambda env: Decision("Hold", path="H", reason="LowPriority"))
    cfg = cost_cfg(deadline_penalty=70_000, eod_penalty=3_000)
    cfg["scenario_events"] = [{"type": "CustomTransactionArrival", "from_agent": "A",
                               "to_agent": "B", "amount": 500, "deadline": 1,
                               "schedule": {"type": "OneTime", "tick": 0}}]
    eng = engine_for(cfg, {"A": hold})
    events = run(eng, 8)
    over = of_type(events, "TransactionWentOverdue")
    assert [(o["tick"], o["ticks_overdue"], o["deadline_penalty_cost"]) for o in over] == [
        (2, 1, 70_000)]
    eods = [c for c in of_type(events, "CostAccrual") if c["source"] == "eod"]
    assert [(c["tick"], c["penalty_cost"]) for c in eods] == [(3, 3_000), (7, 3_000)]
    days = of_type(events, "EndOfDay")
    assert [(d["day"], d["unsettled_count"], d["total_penalties"]) for d in days] == [
        (0, 1, 3_000), (1, 1, 3_000)]
    a = eng.world.agents["A"]
    assert (a.cost_run[4], a.cost_run[5]) == (70_000, 6_000)
    assert a.cost_day[5] == 3_000        # day accumulators reset at start of day


def test_eod_penalty_skips_payments_not_yet_late():
    hold = ScriptedPolicy(payment=lambda env: Decision("Hold", path="H", reason="LowPriority"))
    cfg = cost_cfg(eod_penalty=3_000)
    cfg["scenario_events"] = [{"type": "CustomTransactionArrival", "from_agent": "A",
                               "to_agent": "B", "amount": 500, "deadline": 10,
                               "schedule": {"type": "OneTime", "tick": 0}}]
    events = run(engine_for(cfg, {"A": hold}), 4)
    assert [c for c in of_type(events, "CostAccrual") if c["source"] == "eod"] == []
    assert of_type(events, "EndOfDay")[0]["unsettled_count"] == 1


def test_sum_rule_costs_equal_cost_accrual_events():
    import paysim_lab as psl
    sim = psl.Simulation(psl.data.scenario_path("two_bank_teaching"))
    sim.run()
    acc = sim.events_of("CostAccrual")
    costs = sim.costs().set_index("agent_id")
    for aid, grp in acc.groupby("agent_id"):
        assert costs.loc[aid, "overdraft"] == grp.liquidity_cost.sum()
        assert costs.loc[aid, "delay"] == grp.delay_cost.sum()
        assert costs.loc[aid, "penalty"] == grp.penalty_cost.sum()
        assert costs.loc[aid, "total"] == grp.total.sum()
