"""Random Queue 2 states through the LSM: invariants, and the fast cycle search against a
spec-literal one (engine.md 6.3-6.4, 11.1 items 4-7 and 12)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from paysim_lab.engine.events import to_dict
from paysim_lab.engine.lsm import Cycle, LsmConfig, find_cycles, run_lsm
from paysim_lab.engine.settlement import (DeferredCredits, compact_queue2, enqueue_queue2,
                                          fifo_pass, leave_queue2, limits_ok, settle)
from paysim_lab.engine.state import IN_QUEUE2, NOWHERE, SETTLED, Agent, Transaction, World

TICK = 5
LSM_PATHS = {"lsm_bilateral", "lsm_cycle", "lsm_queue_retry"}


@st.composite
def queues(draw, max_txs: int = 40):
    n = draw(st.integers(3, 8))
    names = [f"BANK_{chr(ord('A') + i)}" for i in range(n)]
    agents = []
    for name in names:
        bal = draw(st.integers(-300, 1500))
        cap = draw(st.sampled_from([0, 0, 100, 500]))
        bilateral = {}
        if draw(st.integers(0, 3)) == 0:
            bilateral[draw(st.sampled_from(names))] = draw(st.integers(0, 1500))
        multi = draw(st.one_of(st.none(), st.integers(0, 3000))) if draw(st.booleans()) else None
        agents.append((name, bal, cap, bilateral, multi))
    amount = st.one_of(st.sampled_from([100, 200, 300]), st.integers(1, 1000))
    txs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), amount,
                                  st.integers(0, 9)), max_size=max_txs))
    return agents, [(names[s], names[r], x, d) for s, r, x, d in txs]


def build(spec) -> World:
    agents, txs = spec
    w = World(ticks_per_day=10, num_days=1)
    for i, (name, bal, cap, bilateral, multi) in enumerate(agents):
        a = Agent(name, i, bal, unsecured_cap=cap)
        a.bilateral_limits = dict(bilateral)
        a.multilateral_limit = multi
        w.add_agent(a)
    for seq, (s, r, x, d) in enumerate(txs):
        tx = Transaction(f"tx_{seq:08d}", seq, s, r, x, 0, max(d, 1), 5)
        w.txs[tx.tx_id] = tx
        w.tx_list.append(tx)
        enqueue_queue2(w, tx)
    return w


configs = st.builds(LsmConfig, enable_bilateral=st.booleans(), enable_cycles=st.booleans(),
                    max_cycle_length=st.integers(3, 6), max_cycles_per_tick=st.integers(1, 12))


@settings(max_examples=100, deadline=None)
@given(spec=queues(), cfg=configs, deferred_mode=st.booleans(), entry=st.booleans())
def test_lsm_invariants(spec, cfg, deferred_mode, entry):
    w = build(spec)
    start_total = sum(a.balance for a in w.agent_list)
    within_limit = {a.id for a in w.agent_list if a.balance >= -a.allowed_overdraft_limit}
    deferred = DeferredCredits() if deferred_mode else None
    res = run_lsm(w, TICK, cfg, deferred, entry_disposition=entry)

    # Money is conserved (deferred credits are still owed to their receivers).
    owed = sum(deferred.amounts.values()) if deferred else 0
    assert sum(a.balance for a in w.agent_list) + owed == start_total

    # Settled payments are settled in full, by an LSM path, and out of Queue 2.
    queued = {t.tx_id for t in w.queue2}
    by_path = {p: 0 for p in LSM_PATHS}
    for t in w.tx_list:
        if t.status == SETTLED:
            assert (t.remaining_amount, t.settled_tick, t.location) == (0, TICK, NOWHERE)
            assert t.tx_id not in queued
            by_path[t.settled_by] += 1
        else:
            assert t.remaining_amount == t.amount
            assert t.tx_id in queued and t.location == IN_QUEUE2
    assert len(queued) == len(w.queue2)
    assert (res.bilateral_tx_settled, res.cycle_tx_settled, res.retry_tx_settled) == (
        by_path["lsm_bilateral"], by_path["lsm_cycle"], by_path["lsm_queue_retry"])
    if deferred is not None:
        assert sum(deferred.amounts.values()) == sum(
            t.amount for t in w.tx_list if t.settled_by in ("lsm_bilateral", "lsm_cycle"))

    # Queue 2 aggregates equal a recount.
    assert w.queue2_value == sum(t.remaining_amount for t in w.queue2)
    for a in w.agent_list:
        mine = [t for t in w.queue2 if t.sender_id == a.id]
        assert (a.queue2_count, a.queue2_value) == (len(mine), sum(t.amount for t in mine))

    # Immediate crediting never pushes a bank that was within its credit line beyond it.
    if deferred is None:
        for a in w.agent_list:
            if a.id in within_limit:
                assert a.balance >= -a.allowed_overdraft_limit

    # Events agree with the settlements and the counters.
    evs = [to_dict(e) for e in w.events]
    cycles = [e for e in evs if e["event_type"] == "LsmCycleSettlement"]
    offsets = [e for e in evs if e["event_type"] == "LsmBilateralOffset"]
    renamed = [e for e in evs if e["event_type"] == "EntryDispositionOffset"]
    assert not (offsets and renamed)
    assert not cfg.enable_bilateral or not entry or not offsets
    assert (res.cycles_settled, res.cycle_value) == (
        len(cycles), sum(e["total_value"] for e in cycles))
    assert res.bilateral_value == sum(min(e["amount_a"], e["amount_b"]) for e in offsets)
    assert res.pairs_examined >= len(offsets) + len(renamed)
    pairs = [(e["agent_a"], e["agent_b"]) for e in offsets + renamed]
    assert len(pairs) == len(set(pairs)) and all(a < b for a, b in pairs)
    for e in cycles:
        assert all(w.txs[i].settled_by == "lsm_cycle" for i in e["tx_ids"])
        assert len(e["net_positions"]) == len(e["agents"])
        assert e["net_positions"][0] == e["net_positions"][-1]
        assert sum(e["net_positions"][:-1]) == 0
        assert e["tx_amounts"] == [w.txs[i].amount for i in e["tx_ids"]]
        assert e["total_value"] == e["cycle_value"] == sum(e["tx_amounts"])
    for e in offsets:
        if e["settled"]:
            assert all(w.txs[i].settled_by == "lsm_bilateral" for i in e["tx_ids"])
    retried = [e["tx_id"] for e in evs if e["event_type"] == "LsmQueueRetrySettlement"]
    by_retry = [t.tx_id for t in w.tx_list if t.settled_by == "lsm_queue_retry"]
    assert sorted(retried) == sorted(by_retry)


@settings(max_examples=50, deadline=None)
@given(spec=queues(), cfg=configs, deferred_mode=st.booleans())
def test_lsm_is_deterministic(spec, cfg, deferred_mode):
    outcomes = []
    for _ in range(2):
        w = build(spec)
        deferred = DeferredCredits() if deferred_mode else None
        run_lsm(w, TICK, cfg, deferred)
        sources = None if deferred is None else deferred.sources
        outcomes.append((w.events, [a.balance for a in w.agent_list],
                         [t.tx_id for t in w.queue2], sources))
    assert outcomes[0] == outcomes[1]


# ---- the cycle search, written as literally as engine.md 6.4.2 states it -----------------------
def spec_cycles(queue: list[Transaction], max_len: int) -> list[Cycle]:
    edges: dict[tuple[str, str], list] = {}
    for t in queue:
        e = edges.setdefault((t.sender_id, t.receiver_id), [0, []])
        e[0] += t.remaining_amount
        e[1].append(t)
    agents = sorted({s for s, _ in edges} | {r for _, r in edges})
    out = {a: sorted(r for s, r in edges if s == a) for a in agents}

    reach = {a: {a} for a in agents}
    changed = True
    while changed:
        changed = False
        for a in agents:
            new = set().union(*(reach[b] for b in out[a])) | reach[a] if out[a] else reach[a]
            if new != reach[a]:
                reach[a], changed = new, True
    big_scc = any(len({b for b in agents if b in reach[a] and a in reach[b]}) >= 3
                  for a in agents)

    found: list[Cycle] = []
    if big_scc:
        for u in agents:
            for v in out[u]:
                if v <= u:
                    continue
                for w in out[v]:
                    if w > v and (w, u) in edges:
                        txs = edges[(u, v)][1] + edges[(v, w)][1] + edges[(w, u)][1]
                        total = edges[(u, v)][0] + edges[(v, w)][0] + edges[(w, u)][0]
                        found.append(Cycle([u, v, w, u], txs, total))

    if max_len >= 4 and len(queue) <= 100:
        adjacency: dict[str, list[Transaction]] = {}
        for t in queue:
            adjacency.setdefault(t.sender_id, []).append(t)
        longs: list[Cycle] = []

        def dfs(start, cur, path, visited):
            if len(path) >= max_len:
                return
            visited.add(cur)
            for t in adjacency.get(cur, []):
                nxt = t.receiver_id
                if nxt == start and path:
                    ts = path + [t]
                    longs.append(Cycle([start] + [p.receiver_id for p in path] + [start], ts,
                                       sum(p.remaining_amount for p in ts)))
                elif nxt not in visited:
                    dfs(start, nxt, path + [t], visited)
            visited.discard(cur)

        for start in sorted(adjacency):
            dfs(start, start, [], set())
        found += [c for c in longs if len(c.txs) >= 4]

    found = [c for c in found if len(set(c.agents)) >= 3]
    found.sort(key=lambda c: -c.total_value)  # stable
    return found


@settings(max_examples=100, deadline=None)
@given(spec=queues(max_txs=30), max_len=st.integers(3, 6), limit=st.integers(1, 15))
def test_fast_cycle_search_matches_the_spec(spec, max_len, limit):
    w = build(spec)
    expected = spec_cycles(w.queue2, max_len)
    got, detected = find_cycles(w.queue2, max_len, limit)
    assert detected == bool(expected)
    assert got == expected[:limit]


# ---- the whole pass, written as literally as engine.md 6.3-6.5 states it ----------------------
def spec_lsm(w: World, tick: int, cfg: LsmConfig, deferred, entry: bool) -> dict:
    n = dict(pairs_examined=0, bilateral_value=0, cycles_settled=0, cycle_value=0,
             bilateral_tx_settled=0, cycle_tx_settled=0, retry_tx_settled=0)

    def retry():
        count, value = fifo_pass(w, tick, None, "LsmQueueRetrySettlement", "lsm_retry",
                                 "lsm_queue_retry")
        n["retry_tx_settled"] += count
        return value

    reported = set()
    iteration = progress = 0
    while iteration < 3 and w.queue2:
        iteration += 1
        before = progress
        if cfg.enable_bilateral:
            flows: dict[tuple[str, str], list] = {}
            for t in w.queue2:
                e = flows.setdefault((t.sender_id, t.receiver_id), [0, []])
                e[0] += t.remaining_amount
                e[1].append(t)
            pairs = sorted((-min(flows[(a, b)][0], flows[(b, a)][0]), a, b)
                           for a, b in flows if a < b and (b, a) in flows)
            settled = 0
            for neg, a, b in pairs:
                (sab, lab), (sba, lba) = flows[(a, b)], flows[(b, a)]
                n["pairs_examined"] += 1
                progress += -neg
                ns = w.agents[a] if sab > sba else w.agents[b]
                ok = (ns.balance - abs(sab - sba) >= -ns.allowed_overdraft_limit
                      and limits_ok(w.agents[a], b, sab) and limits_ok(w.agents[b], a, sba))
                if ok:
                    for t in lab + lba:
                        leave_queue2(w, t)
                        settle(w, t, tick, "lsm_bilateral", deferred)
                        settled += 1
                if (a, b) not in reported:
                    reported.add((a, b))
                    both = [t.tx_id for t in lab + lba]
                    if entry:
                        w.events.append(("EntryDispositionOffset", tick, both[0], both[1], a, b,
                                         -neg, sab, sba, ok))
                    else:
                        w.events.append(("LsmBilateralOffset", tick, a, b, both, sab, sba,
                                         sab + sba, ok))
                        n["bilateral_value"] += -neg
            compact_queue2(w)
            n["bilateral_tx_settled"] += settled
            if settled:
                progress += retry()
        if cfg.enable_cycles and w.queue2:
            candidates = spec_cycles(w.queue2, cfg.max_cycle_length)
            for c in candidates[:cfg.max_cycles_per_tick]:
                if any(t.status == SETTLED for t in c.txs):
                    continue
                net: dict[str, int] = {}
                for t in c.txs:
                    net[t.sender_id] = net.get(t.sender_id, 0) - t.remaining_amount
                    net[t.receiver_id] = net.get(t.receiver_id, 0) + t.remaining_amount
                if any(v < 0 and (w.agents[a].available_liquidity < -v
                                  or w.agents[a].balance + v < -w.agents[a].allowed_overdraft_limit)
                       for a, v in net.items()):
                    continue
                if not all(limits_ok(w.agents[t.sender_id], t.receiver_id, t.remaining_amount)
                           for t in c.txs):
                    continue
                for t in c.txs:
                    leave_queue2(w, t)
                    settle(w, t, tick, "lsm_cycle", deferred)
                negative = sorted((-v, a) for a, v in net.items() if v < 0)
                mx, mxa = negative[-1] if negative else (0, "")
                w.events.append(("LsmCycleSettlement", tick, c.agents, [t.tx_id for t in c.txs],
                                 [t.amount for t in c.txs], c.total_value,
                                 [net[a] for a in c.agents], mx, mxa, c.total_value))
                n["cycles_settled"] += 1
                n["cycle_value"] += c.total_value
                n["cycle_tx_settled"] += len(c.txs)
                progress += c.total_value
            compact_queue2(w)
            if candidates:
                progress += retry()
        if progress == before:
            break
    return n


def snapshot(w: World, deferred) -> tuple:
    return (w.events, [a.balance for a in w.agent_list],
            [(a.bilateral_outflows, a.total_outflow) for a in w.agent_list],
            [t.tx_id for t in w.queue2],
            [(t.status, t.settled_by, t.overdue_since_tick, t.remaining_amount) for t in w.tx_list],
            None if deferred is None else (deferred.amounts, deferred.sources))


@settings(max_examples=100, deadline=None)
@given(spec=queues(), cfg=configs, deferred_mode=st.booleans(), entry=st.booleans())
def test_run_lsm_matches_the_spec_literal_pass(spec, cfg, deferred_mode, entry):
    w1, w2 = build(spec), build(spec)
    d1 = DeferredCredits() if deferred_mode else None
    d2 = DeferredCredits() if deferred_mode else None
    res = run_lsm(w1, TICK, cfg, d1, entry_disposition=entry)
    expected = spec_lsm(w2, TICK, cfg, d2, entry)
    assert {k: getattr(res, k) for k in expected} == expected
    assert snapshot(w1, d1) == snapshot(w2, d2)
