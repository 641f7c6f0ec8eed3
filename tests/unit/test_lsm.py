"""The liquidity-saving mechanism on hand-built Queue 2 states (engine.md 6.3-6.5, 6.7, 6.8)."""
from __future__ import annotations

import pytest

from paysim_lab.engine.events import FIELDS, to_dict
from paysim_lab.engine.lsm import LsmConfig, LsmResult, find_cycles, run_lsm
from paysim_lab.engine.settlement import DeferredCredits, enqueue_queue2
from paysim_lab.engine.state import IN_QUEUE2, NOWHERE, PENDING, SETTLED, Agent, Transaction, World

TICK = 5
A, B, C, D, E = "BANK_A", "BANK_B", "BANK_C", "BANK_D", "BANK_E"
F, G, H = "BANK_F", "BANK_G", "BANK_H"


# ---- helpers ----------------------------------------------------------------------------------
def make_world(balances: dict[str, int], caps: dict[str, int] | None = None) -> World:
    w = World(ticks_per_day=10, num_days=1)
    for i, (aid, bal) in enumerate(balances.items()):
        w.add_agent(Agent(aid, i, bal, unsecured_cap=(caps or {}).get(aid, 0)))
    return w


def new_tx(w: World, sender: str, receiver: str, amount: int, *, deadline: int = 9,
           parent_id: str | None = None) -> Transaction:
    seq = len(w.tx_list)
    tx = Transaction(f"tx_{seq:08d}", seq, sender, receiver, amount, 0, deadline, 5,
                     parent_id=parent_id)
    w.txs[tx.tx_id] = tx
    w.tx_list.append(tx)
    return tx


def q(w: World, sender: str, receiver: str, amount: int, **kw) -> Transaction:
    tx = new_tx(w, sender, receiver, amount, **kw)
    enqueue_queue2(w, tx)
    return tx


def events(w: World) -> list[dict]:
    return [to_dict(e) for e in w.events]


def ids(txs) -> list[str]:
    return [t.tx_id for t in txs]


def balances(w: World) -> dict[str, int]:
    return {a.id: a.balance for a in w.agent_list}


def counters(r: LsmResult) -> dict[str, int]:
    return {k: getattr(r, k) for k in (
        "pairs_examined", "bilateral_value", "cycles_settled", "cycle_value",
        "bilateral_tx_settled", "cycle_tx_settled", "retry_tx_settled")}


ZERO = dict(pairs_examined=0, bilateral_value=0, cycles_settled=0, cycle_value=0,
            bilateral_tx_settled=0, cycle_tx_settled=0, retry_tx_settled=0)


def offset_event(a, b, tx_ids, amount_a, amount_b, settled):
    return {"event_type": "LsmBilateralOffset", "tick": TICK, "agent_a": a, "agent_b": b,
            "tx_ids": tx_ids, "amount_a": amount_a, "amount_b": amount_b,
            "amount": amount_a + amount_b, "settled": settled}


def cycle_event(agents, tx_ids, tx_amounts, total, net, max_out, max_agent):
    return {"event_type": "LsmCycleSettlement", "tick": TICK, "agents": agents,
            "tx_ids": tx_ids, "tx_amounts": tx_amounts, "total_value": total,
            "net_positions": net, "max_net_outflow": max_out,
            "max_net_outflow_agent": max_agent, "cycle_value": total}


def retry_event(tx):
    return {"event_type": "LsmQueueRetrySettlement", "tick": TICK, "tx_id": tx.tx_id,
            "sender": tx.sender_id, "receiver": tx.receiver_id, "amount": tx.amount,
            "queue_wait_ticks": TICK - tx.arrival_tick, "release_reason": "lsm_retry"}


def assert_queue_aggregates(w: World) -> None:
    live = [t for t in w.queue2 if t.location == IN_QUEUE2]
    assert live == w.queue2
    assert w.queue2_value == sum(t.remaining_amount for t in live)
    for a in w.agent_list:
        mine = [t for t in live if t.sender_id == a.id]
        value = sum(t.remaining_amount for t in mine)
        assert (a.queue2_count, a.queue2_value) == (len(mine), value)


# ---- configuration and result objects ---------------------------------------------------------
def test_config_defaults_and_slots():
    cfg = LsmConfig()
    assert (cfg.enable_bilateral, cfg.enable_cycles, cfg.max_cycle_length,
            cfg.max_cycles_per_tick) == (True, True, 4, 10)
    with pytest.raises(AttributeError):
        cfg.other = 1
    with pytest.raises(AttributeError):
        LsmResult().other = 1


def test_empty_queue_does_nothing():
    w = make_world({A: 0, B: 0})
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert counters(r) == ZERO
    assert w.events == []


# ---- bilateral offsetting (6.4.1) -------------------------------------------------------------
def test_two_bank_offset_with_enough_net_liquidity():
    w = make_world({A: 200, B: 0})
    t0 = q(w, A, B, 500)
    t1 = q(w, B, A, 300)
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [offset_event(A, B, [t0.tx_id, t1.tx_id], 500, 300, True)]
    assert balances(w) == {A: 0, B: 200}
    for t in (t0, t1):
        assert (t.status, t.settled_tick, t.settled_by, t.remaining_amount, t.location) == (
            SETTLED, TICK, "lsm_bilateral", 0, NOWHERE)
    assert w.queue2 == []
    assert_queue_aggregates(w)
    assert (w.agents[A].bilateral_outflows, w.agents[A].total_outflow) == ({B: 500}, 500)
    assert (w.agents[B].bilateral_outflows, w.agents[B].total_outflow) == ({A: 300}, 300)
    assert counters(r) == dict(ZERO, pairs_examined=1, bilateral_value=300, bilateral_tx_settled=2)


def test_two_bank_offset_refused_is_reported_once_but_examined_three_times():
    w = make_world({A: 199, B: 0})
    t0 = q(w, A, B, 500)
    t1 = q(w, B, A, 300)
    r = run_lsm(w, TICK, LsmConfig(), None)
    # The refused pair still counts as progress, so all three iterations run; one event only.
    assert events(w) == [offset_event(A, B, [t0.tx_id, t1.tx_id], 500, 300, False)]
    assert counters(r) == dict(ZERO, pairs_examined=3, bilateral_value=300)
    assert balances(w) == {A: 199, B: 0}
    assert w.queue2 == [t0, t1]
    assert (t0.status, t1.status) == (PENDING, PENDING)
    assert w.queue2_value == 800
    assert_queue_aggregates(w)
    assert w.agents[A].total_outflow == 0


def test_overdraft_counts_towards_net_liquidity():
    w = make_world({A: -100, B: 0}, caps={A: 300})
    q(w, A, B, 500)
    q(w, B, A, 300)
    run_lsm(w, TICK, LsmConfig(), None)
    assert balances(w) == {A: -300, B: 200}


def test_pair_refused_then_settled_in_a_later_iteration_keeps_its_first_event():
    # Iteration 1: the A-B pair is refused (A lacks 200), then the A->C->D->A cycle gives A 200.
    # Iteration 2: the pair settles, but it was already reported this pass: no second event.
    w = make_world({A: 0, B: 0, C: 0, D: 200})
    t0 = q(w, A, B, 500)
    t1 = q(w, B, A, 300)
    t2 = q(w, A, C, 100)
    t3 = q(w, C, D, 100)
    t4 = q(w, D, A, 300)
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [
        offset_event(A, B, [t0.tx_id, t1.tx_id], 500, 300, False),
        cycle_event([A, C, D, A], ids([t2, t3, t4]), [100, 100, 300], 500, [200, 0, -200, 200],
                    200, D),
    ]
    assert balances(w) == {A: 0, B: 200, C: 0, D: 0}
    assert [t.settled_by for t in (t0, t1, t2, t3, t4)] == ["lsm_bilateral"] * 2 + ["lsm_cycle"] * 3
    assert w.queue2 == []
    assert counters(r) == dict(ZERO, pairs_examined=2, bilateral_value=300, cycles_settled=1,
                               cycle_value=500, bilateral_tx_settled=2, cycle_tx_settled=3)


def test_several_transactions_one_way_settle_in_queue_order():
    w = make_world({A: 100, B: 0})
    t0 = q(w, A, B, 100)
    t1 = q(w, B, A, 250)
    t2 = q(w, A, B, 200)
    t3 = q(w, A, B, 50)
    deferred = DeferredCredits()
    r = run_lsm(w, TICK, LsmConfig(), deferred)
    assert events(w) == [offset_event(A, B, ids([t0, t2, t3, t1]), 350, 250, True)]
    # Credits are deferred; their source order shows the settlement order.
    assert deferred.amounts == {B: 350, A: 250}
    assert deferred.sources == {B: ids([t0, t2, t3]), A: [t1.tx_id]}
    assert balances(w) == {A: 100 - 350, B: -250}
    assert counters(r) == dict(ZERO, pairs_examined=1, bilateral_value=250, bilateral_tx_settled=4)


def test_pairs_processed_largest_offset_first_against_current_balances():
    # Queue order puts the small A-C pair first; the larger A-B pair must be processed first
    # and its net inflow to A is what lets the A-C pair pass.
    w = make_world({A: 100, B: 200, C: 0})
    t0 = q(w, A, C, 400)
    t1 = q(w, C, A, 100)
    t2 = q(w, A, B, 500)
    t3 = q(w, B, A, 700)
    run_lsm(w, TICK, LsmConfig(enable_cycles=False), None)
    assert events(w) == [
        offset_event(A, B, ids([t2, t3]), 500, 700, True),
        offset_event(A, C, ids([t0, t1]), 400, 100, True),
    ]
    assert balances(w) == {A: 0, B: 0, C: 300}


def test_equal_offsets_are_ordered_by_agent_ids():
    w = make_world({A: 0, B: 0, C: 0, D: 0})
    t0 = q(w, B, C, 100)
    t1 = q(w, C, B, 100)
    t2 = q(w, D, A, 100)
    t3 = q(w, A, D, 100)
    run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [
        offset_event(A, D, ids([t3, t2]), 100, 100, True),
        offset_event(B, C, ids([t0, t1]), 100, 100, True),
    ]


def test_tie_makes_b_the_net_sender_and_checks_its_balance():
    # net = 0, but B already sits beyond its credit line: the pair is refused.
    w = make_world({A: 0, B: -1})
    q(w, A, B, 100)
    q(w, B, A, 100)
    r = run_lsm(w, TICK, LsmConfig(enable_cycles=False), None)
    assert [e["settled"] for e in events(w)] == [False]
    assert r.bilateral_tx_settled == 0
    w = make_world({A: 0, B: -1}, caps={B: 1})
    q(w, A, B, 100)
    q(w, B, A, 100)
    r = run_lsm(w, TICK, LsmConfig(enable_cycles=False), None)
    assert [e["settled"] for e in events(w)] == [True]
    assert balances(w) == {A: 0, B: -1}


def test_bilateral_checks_gross_limits():
    # Net 200 would fit A's multilateral limit, the gross 500 does not.
    w = make_world({A: 1000, B: 0})
    w.agents[A].multilateral_limit = 499
    q(w, A, B, 500)
    q(w, B, A, 300)
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert [e["settled"] for e in events(w)] == [False]
    assert (r.pairs_examined, r.bilateral_tx_settled) == (3, 0)
    # B's bilateral limit towards A blocks its gross 300.
    w = make_world({A: 1000, B: 0})
    w.agents[B].bilateral_limits = {A: 299}
    q(w, A, B, 500)
    q(w, B, A, 300)
    run_lsm(w, TICK, LsmConfig(), None)
    assert [e["settled"] for e in events(w)] == [False]
    # At exactly the limit it passes.
    w = make_world({A: 1000, B: 0})
    w.agents[B].bilateral_limits = {A: 300}
    w.agents[A].multilateral_limit = 500
    q(w, A, B, 500)
    q(w, B, A, 300)
    run_lsm(w, TICK, LsmConfig(), None)
    assert [e["settled"] for e in events(w)] == [True]


def test_lsm_settlement_neither_marks_overdue_nor_reduces_parents():
    w = make_world({A: 0, B: 0, C: 300, D: 0})
    parent = new_tx(w, A, B, 1000)
    c1 = q(w, A, B, 500, deadline=3, parent_id=parent.tx_id)
    c2 = q(w, A, B, 500, deadline=3, parent_id=parent.tx_id)
    parent.child_ids = [c1.tx_id, c2.tx_id]
    back = q(w, B, A, 1000)
    # A second split whose other child already settled; its queued child settles in the retry.
    parent2 = new_tx(w, C, D, 600)
    c4 = new_tx(w, C, D, 300, parent_id=parent2.tx_id)
    c4.status, c4.remaining_amount, parent2.remaining_amount = SETTLED, 0, 300
    c3 = q(w, C, D, 300, deadline=3, parent_id=parent2.tx_id)
    parent2.child_ids = [c3.tx_id, c4.tx_id]
    run_lsm(w, TICK, LsmConfig(), None)
    assert [t.settled_by for t in (c1, c2, back)] == ["lsm_bilateral"] * 3
    assert (c1.status, c1.overdue_since_tick) == (SETTLED, None)
    assert (parent.status, parent.remaining_amount) == (PENDING, 1000)
    # The retry is a FIFO pass: overdue marking first, then the parent is reduced.
    assert (c3.status, c3.settled_by, c3.overdue_since_tick) == (SETTLED, "lsm_queue_retry", TICK)
    assert (parent2.status, parent2.remaining_amount) == (SETTLED, 0)
    assert events(w)[1] == retry_event(c3)


# ---- multilateral cycles (6.4.2) --------------------------------------------------------------
def test_three_bank_ring_event_and_balances():
    w = make_world({A: 0, B: 0, C: 0}, caps={A: 200})
    t0 = q(w, A, B, 300)
    t1 = q(w, B, C, 200)
    t2 = q(w, C, A, 100)
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [cycle_event([A, B, C, A], ids([t0, t1, t2]), [300, 200, 100], 600,
                                     [-200, 100, 100, -200], 200, A)]
    assert balances(w) == {A: -200, B: 100, C: 100}
    assert [t.settled_by for t in (t0, t1, t2)] == ["lsm_cycle"] * 3
    assert w.queue2 == []
    assert_queue_aggregates(w)
    assert counters(r) == dict(ZERO, cycles_settled=1, cycle_value=600, cycle_tx_settled=3)


def test_three_bank_ring_refused_for_liquidity():
    w = make_world({A: 0, B: 0, C: 0}, caps={A: 199})
    q(w, A, B, 300)
    q(w, B, C, 200)
    q(w, C, A, 100)
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert w.events == []
    assert counters(r) == ZERO
    assert w.queue2_value == 600


def test_balanced_ring_needs_no_liquidity_and_has_no_max_outflow_agent():
    w = make_world({A: 0, B: 0, C: 0})
    t = [q(w, A, B, 100), q(w, B, C, 100), q(w, C, A, 100)]
    run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [cycle_event([A, B, C, A], ids(t), [100, 100, 100], 300, [0, 0, 0, 0],
                                     0, "")]
    assert balances(w) == {A: 0, B: 0, C: 0}


def test_triangle_lists_every_parallel_transaction_per_edge():
    w = make_world({A: 0, B: 0, C: 0})
    t0 = q(w, A, B, 60)
    t1 = q(w, C, A, 120)
    t2 = q(w, B, C, 120)
    t3 = q(w, A, B, 60)
    run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [cycle_event([A, B, C, A], ids([t0, t3, t2, t1]), [60, 60, 120, 120],
                                     360, [0, 0, 0, 0], 0, "")]


def test_four_bank_ring_found_by_the_long_cycle_search_ties_go_to_greatest_id():
    w = make_world({A: 0, B: 200, C: 0, D: 200})
    t = [q(w, A, B, 100), q(w, B, C, 300), q(w, C, D, 100), q(w, D, A, 300)]
    r = run_lsm(w, TICK, LsmConfig(), None)
    # Four rotations are candidates; the first settles, the other three fail (already settled).
    assert events(w) == [cycle_event([A, B, C, D, A], ids(t), [100, 300, 100, 300], 800,
                                     [200, -200, 200, -200, 200], 200, D)]
    assert balances(w) == {A: 200, B: 0, C: 200, D: 0}
    assert counters(r) == dict(ZERO, cycles_settled=1, cycle_value=800, cycle_tx_settled=4)


def test_reverse_oriented_triangle_is_never_found():
    # A->C->B->A with A < B < C: neither the triangle search nor the long-cycle search sees it.
    for max_len in (3, 4, 6):
        w = make_world({A: 0, B: 0, C: 0})
        q(w, A, C, 100)
        q(w, C, B, 100)
        q(w, B, A, 100)
        r = run_lsm(w, TICK, LsmConfig(max_cycle_length=max_len), None)
        assert w.events == []
        assert counters(r) == ZERO
        assert w.queue2_value == 300
        assert find_cycles(w.queue2, max_len, 10) == ([], False)


def test_ring_blocked_by_limits():
    def ring():
        w = make_world({A: 0, B: 0, C: 0})
        for s, rcv in ((A, B), (B, C), (C, A)):
            q(w, s, rcv, 100)
        return w

    w = ring()
    w.agents[A].bilateral_limits = {B: 99}
    assert counters(run_lsm(w, TICK, LsmConfig(), None)) == ZERO
    assert w.events == [] and w.queue2_value == 300
    w = ring()
    w.agents[B].multilateral_limit = 99
    assert counters(run_lsm(w, TICK, LsmConfig(), None)) == ZERO
    w = ring()
    w.agents[A].bilateral_limits = {B: 100}
    w.agents[A].bilateral_outflows = {B: 1}
    assert counters(run_lsm(w, TICK, LsmConfig(), None)) == ZERO
    w = ring()
    w.agents[A].bilateral_limits = {B: 100}
    w.agents[B].multilateral_limit = 100
    assert run_lsm(w, TICK, LsmConfig(), None).cycles_settled == 1


def test_cycle_limits_are_checked_per_transaction_against_pre_cycle_outflows():
    # Two A->B payments of 60 each pass a bilateral limit of 100 one by one (reproduced quirk).
    w = make_world({A: 0, B: 0, C: 0})
    w.agents[A].bilateral_limits = {B: 100}
    q(w, A, B, 60)
    q(w, A, B, 60)
    q(w, B, C, 120)
    q(w, C, A, 120)
    assert run_lsm(w, TICK, LsmConfig(), None).cycles_settled == 1
    assert w.agents[A].bilateral_outflows == {B: 120}


def test_later_cycle_checked_against_balances_after_earlier_ones():
    w = make_world({A: 200, B: 0, C: 0, D: 0, E: 0})
    t = [q(w, A, B, 300), q(w, B, C, 100), q(w, C, A, 100),
         q(w, A, D, 200), q(w, D, E, 100), q(w, E, A, 100)]
    r = run_lsm(w, TICK, LsmConfig(), None)
    assert events(w) == [cycle_event([A, B, C, A], ids(t[:3]), [300, 100, 100], 500,
                                     [-200, 200, 0, -200], 200, A)]
    assert w.queue2 == t[3:]
    assert counters(r) == dict(ZERO, cycles_settled=1, cycle_value=500, cycle_tx_settled=3)


def test_cycles_longer_than_max_cycle_length_are_left_alone():
    def ring5():
        w = make_world({A: 0, B: 0, C: 0, D: 0, E: 0})
        return w, [q(w, s, rcv, 100) for s, rcv in ((A, B), (B, C), (C, D), (D, E), (E, A))]

    w, t = ring5()
    assert counters(run_lsm(w, TICK, LsmConfig(max_cycle_length=4), None)) == ZERO
    assert w.queue2 == t
    w, t = ring5()
    r = run_lsm(w, TICK, LsmConfig(max_cycle_length=5), None)
    assert events(w) == [cycle_event([A, B, C, D, E, A], ids(t), [100] * 5, 500, [0] * 6, 0, "")]
    assert r.cycles_settled == 1
    # max_cycle_length 3 turns the long-cycle search off: a 4-ring stays queued.
    w = make_world({A: 0, B: 0, C: 0, D: 0})
    for s, rcv in ((A, B), (B, C), (C, D), (D, A)):
        q(w, s, rcv, 100)
    assert counters(run_lsm(w, TICK, LsmConfig(max_cycle_length=3), None)) == ZERO


def _ring_and_triangle():
    w = make_world({A: 100, B: 0, C: 0, D: 0, E: 0, F: 0, G: 0, H: 0})
    ring = [q(w, A, B, 200), q(w, B, C, 100), q(w, C, D, 100), q(w, D, A, 100)]
    tri = [q(w, F, G, 100), q(w, G, H, 100), q(w, H, F, 100)]
    out = q(w, B, E, 100)  # payable once the ring has paid B
    return w, ring, tri, out


RING_EVENT = ([A, B, C, D, A], [200, 100, 100, 100], 500, [-100, 100, 0, 0, -100], 100, A)
TRI_EVENT = ([F, G, H, F], [100, 100, 100], 300, [0, 0, 0, 0], 0, "")


def test_failed_cycle_attempts_use_up_the_per_iteration_cap():
    # Candidates: four rotations of the ring (500 each), then the triangle (300). With a cap of
    # 2 the second attempt is a rotation of the settled ring, so the triangle waits for iteration 2.
    w, ring, tri, out = _ring_and_triangle()
    r = run_lsm(w, TICK, LsmConfig(max_cycles_per_tick=2), None)
    ag, amts, total, net, mx, mxa = RING_EVENT
    ring_ev = cycle_event(ag, ids(ring), amts, total, net, mx, mxa)
    ag, amts, total, net, mx, mxa = TRI_EVENT
    tri_ev = cycle_event(ag, ids(tri), amts, total, net, mx, mxa)
    assert events(w) == [ring_ev, retry_event(out), tri_ev]
    assert counters(r) == dict(ZERO, cycles_settled=2, cycle_value=800, cycle_tx_settled=7,
                               retry_tx_settled=1)
    w, ring, tri, out = _ring_and_triangle()
    run_lsm(w, TICK, LsmConfig(max_cycles_per_tick=5), None)
    assert events(w) == [ring_ev, tri_ev, retry_event(out)]


def test_cap_of_one_attempts_only_the_largest_cycle():
    w, ring, tri, out = _ring_and_triangle()
    w.agents[A].balance = 99  # the ring fails; with one slot the triangle is never attempted
    r = run_lsm(w, TICK, LsmConfig(max_cycles_per_tick=1), None)
    assert w.events == []
    assert counters(r) == ZERO


def test_long_cycle_search_only_up_to_100_queued_entries():
    for fillers, settles in ((96, True), (97, False)):
        w = make_world({A: 0, B: 0, C: 0, D: 0, "BANK_Y": 0, "BANK_Z": 0})
        ring = [q(w, s, rcv, 100) for s, rcv in ((A, B), (B, C), (C, D), (D, A))]
        for _ in range(fillers):
            q(w, "BANK_Z", "BANK_Y", 1000)
        assert len(w.queue2) == 4 + fillers
        r = run_lsm(w, TICK, LsmConfig(), None)
        assert r.cycles_settled == (1 if settles else 0)
        assert all(t.status == (SETTLED if settles else PENDING) for t in ring)


# ---- deferred crediting (6.6) -----------------------------------------------------------------
def test_deferred_offsets_accumulate_credits_and_the_retry_credits_at_once():
    w = make_world({A: 200, B: 0, C: 100})
    t0 = q(w, A, B, 500)
    t1 = q(w, B, A, 300)
    t2 = q(w, C, A, 100)
    deferred = DeferredCredits()
    r = run_lsm(w, TICK, LsmConfig(), deferred)
    assert events(w) == [offset_event(A, B, ids([t0, t1]), 500, 300, True), retry_event(t2)]
    assert deferred.amounts == {B: 500, A: 300}
    assert deferred.sources == {B: [t0.tx_id], A: [t1.tx_id]}
    assert balances(w) == {A: 200 - 500 + 100, B: -300, C: 0}
    assert t2.settled_by == "lsm_queue_retry"
    assert counters(r) == dict(ZERO, pairs_examined=1, bilateral_value=300,
                               bilateral_tx_settled=2, retry_tx_settled=1)


def test_deferred_cycle_checks_balances_without_incoming_credits():
    w = make_world({A: 0, B: 0, C: 0}, caps={A: 100, B: 100, C: 100})
    t = [q(w, A, B, 100), q(w, B, C, 100), q(w, C, A, 100)]
    deferred = DeferredCredits()
    run_lsm(w, TICK, LsmConfig(), deferred)
    assert balances(w) == {A: -100, B: -100, C: -100}
    assert deferred.amounts == {B: 100, C: 100, A: 100}
    assert deferred.sources == {B: [t[0].tx_id], C: [t[1].tx_id], A: [t[2].tx_id]}


# ---- entry disposition renaming (6.5) ---------------------------------------------------------
def test_entry_disposition_renames_the_offset_event():
    w = make_world({A: 200, B: 0})
    t0 = q(w, A, B, 500)
    t1 = q(w, B, A, 300)
    r = run_lsm(w, TICK, LsmConfig(), None, entry_disposition=True)
    assert events(w) == [{
        "event_type": "EntryDispositionOffset", "tick": TICK, "incoming_tx_id": t0.tx_id,
        "queued_tx_id": t1.tx_id, "agent_a": A, "agent_b": B, "offset_amount": 300,
        "incoming_amount": 500, "queued_amount": 300, "settled": True}]
    assert balances(w) == {A: 0, B: 200}
    assert counters(r) == dict(ZERO, pairs_examined=1, bilateral_value=0, bilateral_tx_settled=2)


def test_entry_disposition_second_id_is_another_a_to_b_payment():
    w = make_world({A: 0, B: 0})
    t0 = q(w, A, B, 100)
    q(w, B, A, 250)
    t2 = q(w, A, B, 200)
    r = run_lsm(w, TICK, LsmConfig(), None, entry_disposition=True)
    ev = events(w)
    assert len(ev) == 1
    assert (ev[0]["incoming_tx_id"], ev[0]["queued_tx_id"], ev[0]["offset_amount"],
            ev[0]["incoming_amount"], ev[0]["queued_amount"], ev[0]["settled"]) == (
        t0.tx_id, t2.tx_id, 250, 300, 250, False)
    assert (r.pairs_examined, r.bilateral_value) == (3, 0)


# ---- pass structure (6.3) ---------------------------------------------------------------------
def test_no_phase_enabled_means_no_retry_either():
    w = make_world({A: 0, C: 100})
    t = q(w, C, A, 100)
    r = run_lsm(w, TICK, LsmConfig(enable_bilateral=False, enable_cycles=False), None)
    assert counters(r) == ZERO and w.events == [] and w.queue2 == [t]


def test_bilateral_only_retry_runs_after_a_settled_offset():
    w = make_world({A: 200, B: 0, C: 0})
    q(w, A, B, 500)
    q(w, B, A, 300)
    t2 = q(w, B, C, 150)  # B can pay it out of its net inflow
    r = run_lsm(w, TICK, LsmConfig(enable_cycles=False), None)
    assert [e["event_type"] for e in events(w)] == ["LsmBilateralOffset", "LsmQueueRetrySettlement"]
    assert balances(w) == {A: 0, B: 50, C: 150}
    assert t2.settled_by == "lsm_queue_retry"
    assert r.retry_tx_settled == 1


def test_cycle_detection_alone_triggers_the_retry():
    # The ring fails for liquidity, but a detected cycle still runs the FIFO retry.
    w = make_world({A: 0, B: 0, C: 0, D: 50}, caps={A: 99})
    q(w, A, B, 300)
    q(w, B, C, 200)
    q(w, C, A, 100)
    t3 = q(w, D, A, 50)
    r = run_lsm(w, TICK, LsmConfig(enable_bilateral=False), None)
    assert events(w) == [retry_event(t3)]
    assert r.retry_tx_settled == 1
    assert r.cycles_settled == 0


def test_records_have_exactly_the_catalog_fields():
    # to_dict zips silently, so a record with a missing or extra value would go unnoticed.
    seen = set()
    for entry in (False, True):
        w = make_world({A: 0, B: 0, C: 0, D: 0, E: 50})
        q(w, A, B, 100)
        q(w, B, A, 100)
        q(w, B, C, 100)
        q(w, C, D, 100)
        q(w, D, B, 100)
        q(w, E, A, 50)
        run_lsm(w, TICK, LsmConfig(), None, entry_disposition=entry)
        for rec in w.events:
            assert len(rec) == 2 + len(FIELDS[rec[0]])
            seen.add(rec[0])
    assert seen == {"LsmBilateralOffset", "EntryDispositionOffset", "LsmCycleSettlement",
                    "LsmQueueRetrySettlement"}
