"""psl.stress on a four-bank ring where the answers are known by hand.

A holds the ring's only liquidity (100); at tick 1 each bank must pay the next 100:
A->B, B->C, C->D, D->A. Without shocks all four settle at tick 1, one after the other.
"""
import math

import pytest

import paysim_lab as psl
from paysim_lab import stress
from paysim_lab.errors import ScenarioError

RING = ("A", "B", "C", "D")


def ring(extra_agents=None, events=()):
    pays = [{"type": "CustomTransactionArrival", "from_agent": s, "to_agent": r, "amount": 100,
             "deadline": 20, "schedule": {"type": "OneTime", "tick": 1}}
            for s, r in zip(RING, RING[1:] + RING[:1])]
    agents = [{"id": a, "opening_balance": 100 if a == "A" else 0} for a in RING]
    for a, kw in (extra_agents or {}).items():
        agents[RING.index(a)].update(kw)
    return {"simulation": {"ticks_per_day": 10, "num_days": 1, "rng_seed": 5},
            "agents": agents, "scenario_events": pays + list(events)}


def test_who_matters_ranks_the_liquidity_source_first():
    # A out: nothing moves (B, C, D unsettled: 300 of knock-on); B out: C->D, D->A stuck (200);
    # C out: D->A stuck (100); D out: only its own payment is stuck (0)
    table = stress.outage_ranking(ring(), seeds=[1, 2])
    assert list(table.agent_id) == ["A", "B", "C", "D"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert list(table.knock_on_unsettled_value) == [300, 200, 100, 0]
    # the others' payments that never settle count as waiting to the close (delay 1)
    assert list(table.knock_on_delay_indicator) == pytest.approx([1, 2 / 3, 1 / 3, 0])
    assert list(table.unsettled_value) == [400, 300, 200, 100]
    assert list(table.unsettled_value_change) == [400, 300, 200, 100]
    assert list(table.value_settlement_rate) == [0.0, 0.25, 0.5, 0.75]
    assert table.attrs["baseline"]["unsettled_value"] == 0
    assert table.attrs["window"] == (0, 10)


def test_who_matters_with_a_short_window_and_another_ranking():
    # an outage to tick 3 holds the ring from the bank that is out: with A out all four
    # payments wait 2 of the 9 ticks to the close, with B out three of them, and so on
    table = stress.outage_ranking(ring(), end_tick=3, rank_by="delay_indicator")
    assert list(table.agent_id) == ["A", "B", "C", "D"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert list(table.delay_indicator) == pytest.approx([8 / 36, 6 / 36, 4 / 36, 2 / 36])
    assert list(table.knock_on_unsettled_value) == [0, 0, 0, 0]
    # with A out its three successors wait 2 ticks of 9; with D out nobody else waits
    assert list(table.knock_on_delay_indicator) == pytest.approx([2 / 9, 4 / 27, 2 / 27, 0])
    assert list(table.peak_queue2_value) == [400, 300, 200, 100]
    with pytest.raises(ValueError, match="rank_by must be one of"):
        stress.outage_ranking(ring(), rank_by="nothing")
    with pytest.raises(ValueError, match="unknown agents"):
        stress.outage_ranking(ring(), agents=["Z"])


def test_reverse_stress_outage_length_for_a_delay_threshold():
    # an outage of A for L ticks from tick 0 settles the whole ring at tick L: the run's delay
    # indicator is (L - 1) / 9, above 0.5 from L = 6 on
    res = stress.reverse_stress(ring(), kind="outage_length", agent="A",
                                indicator="delay_indicator", threshold=0.5, seeds=[1, 2, 3])
    assert (res.estimate, res.ci_low, res.ci_high, res.censored) == (6, 6, 6, 0)
    assert list(res.per_seed.critical_size) == [6, 6, 6]
    assert list(res.per_seed.safe_size) == [5, 5, 5]
    # ends 1 and 10, then 5 (safe), 7 (breach), 6 (breach)
    assert list(res.per_seed.runs) == [5, 5, 5]
    seed1 = res.trials[res.trials.seed == 1].sort_values("size")
    assert list(seed1["size"]) == [1, 5, 6, 7, 10]
    assert list(seed1["breached"]) == [False, False, True, True, True]
    assert "smallest outage_length pushing delay_indicator above 0.5: 6" in str(res)


def test_reverse_stress_knock_on_needs_a_whole_day_outage():
    # the ring only stays broken if A is out to the end of the day (end_tick 10)
    res = stress.reverse_stress(ring(), kind="outage_length", agent="A",
                                indicator="knock_on_unsettled_value", threshold=0)
    assert (res.estimate, res.censored) == (10, 0)


def test_reverse_stress_haircut():
    # A's only liquidity is 1000 of collateral; it must pay 600 at tick 1 (B needs nothing)
    sc = ring({"A": {"opening_balance": 0, "posted_collateral": 1000, "collateral_haircut": 0.0,
                     "max_collateral_capacity": 1000}})
    sc["scenario_events"] = [{"type": "CustomTransactionArrival", "from_agent": "A",
                              "to_agent": "B", "amount": 600, "deadline": 5,
                              "schedule": {"type": "OneTime", "tick": 1}}]
    res = stress.reverse_stress(sc, kind="haircut", agent="A", indicator="unsettled_value",
                                threshold=0)
    # 600 fits in floor(1000 * (1 - h)) up to h = 0.4
    crit = res.per_seed.critical_size.iloc[0]
    assert 0.4 < crit <= 0.41
    assert res.per_seed.safe_size.iloc[0] <= 0.4 < crit
    assert crit - res.per_seed.safe_size.iloc[0] <= 0.01


def test_reverse_stress_censored_and_immediate():
    res = stress.reverse_stress(ring(), kind="outage_length", agent="D",
                                indicator="knock_on_unsettled_value", threshold=0)
    assert (res.censored, res.estimate, res.ci_high) == (1, math.inf, math.inf)
    now = stress.reverse_stress(ring(), kind="outage_length", agent="A",
                                indicator="settlement_rate", threshold=1.01)
    assert (now.estimate, list(now.per_seed.runs)) == (1, [2])


def test_arrival_surge_event_and_run():
    assert stress._shock_event("arrival_surge", 2.5, agent=None, start_tick=3) == {
        "type": "GlobalArrivalRateChange", "multiplier": 2.5,
        "schedule": {"type": "OneTime", "tick": 3}}
    sc = psl.data.scenario_path("two_bank_teaching")
    res = stress.reverse_stress(sc, kind="arrival_surge", indicator="value_settlement_rate",
                                threshold=1.01, seeds=[1, 2])
    assert list(res.per_seed.critical_size) == [1.0, 1.0]     # already below at size 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        stress.reverse_stress(ring(), kind="meteor", indicator="unsettled_value", threshold=0)
    with pytest.raises(ValueError, match="needs agent="):
        stress.reverse_stress(ring(), kind="outage_length", indicator="unsettled_value",
                              threshold=0)
    with pytest.raises(ValueError, match="indicator must be one of"):
        stress.reverse_stress(ring(), kind="haircut", indicator="mood", threshold=0)
    with pytest.raises(ValueError, match="outages only"):
        stress.reverse_stress(ring(), kind="haircut", indicator="knock_on_unsettled_value",
                              threshold=0)
    with pytest.raises(ValueError, match="need lo < hi"):
        stress.reverse_stress(ring(), kind="haircut", indicator="unsettled_value",
                              threshold=0, lo=0.5, hi=0.5)
    with pytest.raises(ScenarioError, match="compat='extended'"):
        stress.outage_ranking(psl.load_scenario(ring(), compat="simcash"))


def test_knock_on_changes_compare_the_same_banks():
    # D cannot pay its 100 at all (no money, nobody pays it): in the plain run only D's payment
    # is unsettled; with D out the other banks lose nothing, so D's knock-on change is 0
    sc = ring()
    sc["scenario_events"].append({"type": "CustomTransactionArrival", "from_agent": "D",
                                  "to_agent": "B", "amount": 1000, "deadline": 5,
                                  "schedule": {"type": "OneTime", "tick": 0}})
    table = stress.outage_ranking(sc).set_index("agent_id")
    assert table.attrs["baseline"]["knock_on_unsettled_value"] == 1000
    assert table.loc["D", "knock_on_unsettled_value"] == 0
    assert table.loc["D", "knock_on_unsettled_value_change"] == 0
    assert table.loc["C", "knock_on_unsettled_value"] == 1100     # D->A, D->B
    assert table.loc["C", "knock_on_unsettled_value_change"] == 100


def test_process_backend_gives_the_same_table():
    serial = stress.outage_ranking(ring(), seeds=[1, 2])
    pooled = stress.outage_ranking(ring(), seeds=[1, 2], backend="process", workers=2)
    assert pooled.equals(serial)
