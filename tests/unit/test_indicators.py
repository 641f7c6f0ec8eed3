"""Every indicator against a hand computation on a small scripted scenario (docs/indicators.md).

Three banks, 4 ticks a day, 2 days, payments only from CustomTransactionArrival events (Fifo
releases them at once). What happens, worked out by hand:

day 0  t0  A->B 60 settles (A 40, B 60); B->C 80 queues (B has 60)
       t1  C->B 30 settles (C 20, B 90); the Queue 2 pass settles B->C 80 (B 10, C 100)
       t2  C->A 100 settles (C 0, A 140)
day 1  t5  A->C 200 and C->A 150 both queue; the LSM offsets them (A 90, C 50)
       t6  B->A 40 queues (B has 10) and never settles
"""
import math

import numpy as np
import pandas as pd
import pytest

import paysim_lab as psl
from paysim_lab import indicators as ind


def pay(t, s, r, x, dl):
    return {"type": "CustomTransactionArrival", "from_agent": s, "to_agent": r, "amount": x,
            "deadline": dl, "schedule": {"type": "OneTime", "tick": t}}


SCENARIO = {
    "simulation": {"ticks_per_day": 4, "num_days": 2, "rng_seed": 1},
    "agents": [{"id": "A", "opening_balance": 100}, {"id": "B", "opening_balance": 0},
               {"id": "C", "opening_balance": 50}],
    "scenario_events": [pay(0, "A", "B", 60, 2), pay(0, "B", "C", 80, 1),
                        pay(1, "C", "B", 30, 1), pay(2, "C", "A", 100, 1),
                        pay(5, "A", "C", 200, 1), pay(5, "C", "A", 150, 1),
                        pay(6, "B", "A", 40, 1)],
}


@pytest.fixture(scope="module")
def sim():
    s = psl.Simulation(SCENARIO)
    s.run()
    return s


def row(frame, agent, day):
    return frame.set_index(["agent_id", "day"]).loc[(agent, day)]


def test_the_scripted_run_is_the_one_worked_out(sim):
    tx = sim.transactions().set_index("tx_id")
    assert list(tx["settlement_tick"].fillna(-1)) == [0, 1, 1, 2, 5, 5, -1]
    assert list(tx["settled_by"].fillna("-")) == ["rtgs", "queue2", "rtgs", "rtgs", "lsm_bilateral",
                                      "lsm_bilateral", "-"]


def test_bank_frame_shape(sim):
    f = ind.bank_indicators(sim)
    assert list(f.columns) == list(ind.BANK_COLUMNS)
    assert list(zip(f.agent_id, f.day)) == [("A", 0), ("A", 1), ("B", 0), ("B", 1),
                                            ("C", 0), ("C", 1)]


def test_max_liquidity_usage_and_net_credit_position(sim):
    f = ind.bank_indicators(sim)
    # A day 0: net cumulative position -60, -60, +40, +40
    assert (row(f, "A", 0).max_liquidity_usage, row(f, "A", 0).max_net_credit_position) == (60, 40)
    # B day 0: +60, +10, +10, +10
    assert (row(f, "B", 0).max_liquidity_usage, row(f, "B", 0).max_net_credit_position) == (0, 60)
    # C day 0: 0, +50, -50, -50
    assert (row(f, "C", 0).max_liquidity_usage, row(f, "C", 0).max_net_credit_position) == (50, 50)
    # day 1 (positions restart at 0): A 0, -50, -50, -50; C 0, +50, ...
    assert row(f, "A", 1).max_liquidity_usage == 50
    assert (row(f, "C", 1).max_liquidity_usage, row(f, "C", 1).max_net_credit_position) == (0, 50)


def test_available_liquidity_at_start_of_day(sim):
    f = ind.bank_indicators(sim)
    assert [row(f, a, 0).available_liquidity_sod for a in "ABC"] == [100, 0, 50]
    assert [row(f, a, 1).available_liquidity_sod for a in "ABC"] == [140, 10, 0]


def test_payments_sent_and_received(sim):
    f = ind.bank_indicators(sim)
    got = {(a, d): (row(f, a, d).value_sent, row(f, a, d).value_received,
                    row(f, a, d).count_sent, row(f, a, d).count_received)
           for a in "ABC" for d in (0, 1)}
    assert got == {("A", 0): (60, 100, 1, 1), ("B", 0): (80, 90, 1, 2),
                   ("C", 0): (130, 80, 2, 1), ("A", 1): (200, 150, 1, 1),
                   ("B", 1): (0, 0, 0, 0), ("C", 1): (150, 200, 1, 1)}


def test_turnover_ratio_and_usage_share(sim):
    f = ind.bank_indicators(sim)
    assert row(f, "A", 0).turnover_ratio == pytest.approx(60 / 100)
    assert row(f, "C", 0).turnover_ratio == pytest.approx(130 / 50)
    assert row(f, "A", 1).turnover_ratio == pytest.approx(200 / 140)
    assert math.isnan(row(f, "B", 0).turnover_ratio)          # no liquidity at the start
    assert row(f, "B", 1).turnover_ratio == 0.0
    assert row(f, "A", 1).liquidity_usage_share == pytest.approx(50 / 140)


def test_delay_indicator_per_bank(sim):
    f = ind.bank_indicators(sim)
    # B->C 80 arrived t0, settled t1, day closes at 4: 80*1 / (80*4)
    assert row(f, "B", 0).delay_indicator == pytest.approx(0.25)
    assert row(f, "A", 0).delay_indicator == 0.0
    # B->A 40 never settles: counted as settled at the close, the maximum delay
    assert row(f, "B", 1).delay_indicator == 1.0


def test_throughput_midday_and_curves(sim):
    f = ind.bank_indicators(sim)
    assert row(f, "C", 0).throughput_midday == pytest.approx(30 / 130)
    assert row(f, "A", 1).throughput_midday == 1.0
    assert math.isnan(row(f, "B", 1).throughput_midday)
    curve = ind.throughput(sim, system=True)
    day0 = curve[curve.day == 0]
    assert list(day0.value_settled_cum) == [60, 170, 270, 270]
    assert list(day0.share) == pytest.approx([60 / 270, 170 / 270, 1.0, 1.0])
    per_bank = ind.throughput(sim)
    c0 = per_bank[(per_bank.agent_id == "C") & (per_bank.day == 0)]
    assert list(c0.value_settled_cum) == [0, 30, 130, 130]
    assert list(c0.tick) == [0, 1, 2, 3]


def test_time_specific_obligations(sim):
    f = ind.bank_indicators(sim)
    assert tuple(row(f, "C", 0)[["tso_count", "tso_value", "tso_missed_value"]]) == (2, 130, 0)
    assert tuple(row(f, "B", 1)[["tso_count", "tso_value", "tso_missed_value"]]) == (1, 40, 40)
    assert tuple(row(f, "A", 1)[["tso_count", "tso_value", "tso_missed_value"]]) == (1, 200, 0)


def test_peak_queue2_value_per_bank(sim):
    f = ind.bank_indicators(sim)
    assert row(f, "B", 0).peak_queue2_value == 80
    assert row(f, "B", 1).peak_queue2_value == 40
    assert row(f, "A", 1).peak_queue2_value == 0      # offset within the tick it queued


def test_system_frame(sim):
    s = ind.system_indicators(sim).set_index("day")
    assert list(s.columns) == list(ind.SYSTEM_COLUMNS)[1:]
    d0, d1 = s.loc[0], s.loc[1]
    assert (d0.arrivals, d0.settled_same_day, d0.settlement_rate) == (4, 4, 1.0)
    assert (d1.arrivals, d1.settled_same_day) == (3, 2)
    assert d1.settlement_rate == pytest.approx(2 / 3)
    assert (d1.value_arrived, d1.value_settled, d1.value_settled_lsm) == (390, 350, 350)
    assert d1.value_settlement_rate == pytest.approx(350 / 390)
    assert (d0.value_settled_lsm, d0.lsm_share, d1.lsm_share) == (0, 0.0, 1.0)
    assert (d0.peak_queue2_value, d1.peak_queue2_value) == (80, 40)
    assert (d0.unsettled_value_eod, d1.unsettled_value_eod) == (0, 40)
    assert (d0.total_max_liquidity_usage, d1.total_max_liquidity_usage) == (110, 50)
    # delay: numerators 80 (day 0) and 80 (day 1); denominators: value x (close - arrival)
    assert d0.delay_indicator == pytest.approx(80 / (60 * 4 + 80 * 4 + 30 * 3 + 100 * 2))
    assert d1.delay_indicator == pytest.approx(80 / (200 * 3 + 150 * 3 + 40 * 2))


def test_gridlock_episodes(sim):
    s = ind.system_indicators(sim).set_index("day")
    # t6 and t7 end with B->A in Queue 2 and settle nothing: one episode of two ticks
    assert (s.loc[1].gridlock_ticks, s.loc[1].gridlock_episodes) == (2, 1)
    assert (s.loc[0].gridlock_ticks, s.loc[0].gridlock_episodes) == (0, 0)
    longer = ind.system_indicators(sim, gridlock_min_ticks=3).set_index("day")
    assert (longer.loc[1].gridlock_ticks, longer.loc[1].gridlock_episodes) == (0, 0)
    with pytest.raises(ValueError, match="gridlock_min_ticks"):
        ind.system_indicators(sim, gridlock_min_ticks=0)


def test_split_payments_count_once_and_flow_by_parts():
    tx = pd.DataFrame({
        "tx_id": ["P", "P1", "P2", "P11", "P12", "Q"],
        "parent_id": [None, "P", "P", "P1", "P1", None],
        "sender_id": ["A"] * 5 + ["B"], "receiver_id": ["B"] * 5 + ["A"],
        "amount": [100, 50, 50, 25, 25, 10], "arrival_tick": [0] * 6,
        "deadline_tick": [3] * 6,
        "settlement_tick": pd.array([None, None, 1, 0, 2, None], dtype="Int64"),
        "settled_by": [None, None, "rtgs", "rtgs", "rtgs", None]})
    hist = pd.DataFrame({"tick": np.repeat(np.arange(4), 2), "agent_id": ["A", "B"] * 4,
                         "balance": 0, "available_liquidity": 1000, "queue2_value": 0})
    rf = ind.RunFrames(tx, hist, 4, 1, ("A", "B"))
    leaves = ind.leaf_payments(rf)
    assert list(leaves.tx_id) == ["P2", "P11", "P12", "Q"]
    assert list(leaves.root_id) == ["P", "P", "P", "Q"]
    s = ind.system_indicators(rf).iloc[0]
    assert (s.arrivals, s.settled_same_day, s.value_arrived, s.value_settled) == (2, 1, 110, 100)
    assert list(ind.bank_indicators(rf).value_sent) == [100, 0]


def test_same_numbers_from_a_stored_run():
    store = psl.Store()
    live = psl.Simulation(SCENARIO, store=store)
    live.run()
    for level in ("bank", "system", "throughput"):
        pd.testing.assert_frame_equal(live.indicators(level), store.indicators(live.run_id, level))


def test_bad_source_and_level(sim):
    with pytest.raises(TypeError, match="Simulation, a Store or RunFrames"):
        ind.bank_indicators(42)
    with pytest.raises(ValueError, match="level must be one of"):
        ind.indicators(sim, level="hourly")


def test_throughput_plot_carries_the_curves(sim):
    from paysim_lab import indicator_plots
    from paysim_lab.plots import find_traces
    fig = indicator_plots.throughput_curve(sim, day=0)
    (system,) = find_traces(fig, agent_id="(system)", metric="throughput")
    assert list(system.y) == pytest.approx([60 / 270, 170 / 270, 1.0, 1.0])
    assert list(system.customdata) == [60, 170, 270, 270]
    assert sorted(t.meta["agent_id"] for t in find_traces(fig, metric="throughput")) == [
        "(system)", "A", "B", "C"]
    with pytest.raises(ValueError, match="unknown agents"):
        indicator_plots.throughput_curve(sim, agents=["Z"])
    with pytest.raises(ValueError, match="day must be in 0..1"):
        indicator_plots.throughput_curve(sim, day=2)


def test_liquidity_usage_plot_carries_daily_maxima(sim):
    from paysim_lab import indicator_plots
    from paysim_lab.plots import find_traces
    fig = indicator_plots.liquidity_usage_distribution(sim)
    (a,) = find_traces(fig, agent_id="A")
    assert list(a.customdata) == [60, 50]
    assert list(a.y) == [0.6, 0.5]
    rel = indicator_plots.liquidity_usage_distribution(sim, relative=True)
    assert list(find_traces(rel, agent_id="A")[0].y) == pytest.approx([0.6, 50 / 140])


def test_run_summary(sim):
    got = ind.run_summary(sim)
    assert got == {
        "value_arrived": 660, "value_settled": 620, "value_settlement_rate": 620 / 660,
        "unsettled_value": 40,
        "delay_indicator": pytest.approx(160 / (850 + 1130)),
        "peak_queue2_value": 80, "max_liquidity_usage": 110, "gridlock_ticks": 2,
        "unsettled_value.A": 0, "unsettled_value.B": 40, "unsettled_value.C": 0}


def test_a_run_in_progress():
    fresh = psl.Simulation(SCENARIO)
    assert ind.bank_indicators(fresh).empty and ind.system_indicators(fresh).empty
    assert ind.throughput(fresh).empty
    fresh.step(6)                 # day 1 has run ticks 4 and 5: A->C and C->A offset at 5
    s = ind.system_indicators(fresh).set_index("day")
    assert (s.loc[1].value_settled, s.loc[1].arrivals, s.loc[1].peak_queue2_value) == (350, 2, 0)
    b = ind.bank_indicators(fresh)
    assert row(b, "A", 1).available_liquidity_sod == 140
    assert row(b, "A", 1).max_liquidity_usage == 50
