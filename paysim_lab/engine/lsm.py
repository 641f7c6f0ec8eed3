"""The liquidity-saving mechanism run at step S12 (engine.md 6.3-6.5, 6.7, 6.8).

One call to :func:`run_lsm` is one LSM pass over Queue 2: up to three iterations of bilateral
offsetting, multilateral cycle settlement and FIFO retries, with the reference engine's exact
ordering and quirks (refused pairs are reported and count as progress, parents of split
children are not reduced, only one triangle orientation is searched, failed cycle attempts use
up slots).

The spec fixes *which* offsets and cycles settle and in what order; this module picks fast ways
to find them: one pass over Queue 2 per phase for the direction index, triangles on the
aggregated agent graph (set intersections, restricted to strongly connected components of three
or more banks), and a long-cycle search that keeps only the best ``max_cycles_per_tick``
candidates and prunes paths that can no longer close or make it into that set.

>>> from paysim_lab.engine.state import Agent, Transaction, World
>>> from paysim_lab.engine.settlement import enqueue_queue2
>>> w = World(ticks_per_day=10, num_days=1)
>>> for i, (aid, bal) in enumerate((("A", 200), ("B", 0))):
...     w.add_agent(Agent(aid, i, bal))
>>> for seq, (s, r, x) in enumerate((("A", "B", 500), ("B", "A", 300))):
...     tx = Transaction(f"tx{seq}", seq, s, r, x, 0, 9, 5)
...     w.txs[tx.tx_id] = tx
...     enqueue_queue2(w, tx)
>>> res = run_lsm(w, 3, LsmConfig(), None)
>>> (res.pairs_examined, res.bilateral_value, res.bilateral_tx_settled)
(1, 300, 2)
>>> [a.balance for a in w.agent_list]
[0, 200]
"""
from __future__ import annotations

import heapq
from bisect import insort

from .settlement import (DeferredCredits, compact_queue2, fifo_pass, leave_queue2, limits_ok,
                         reduce_parent, settle)
from .state import IN_QUEUE2, SETTLED, Transaction, World

MAX_ITERATIONS = 3
# The long-cycle search runs only while Queue 2 holds at most this many entries (engine.md 6.4.2).
LONG_CYCLE_QUEUE_LIMIT = 100
MIN_LONG_CYCLE_EDGES = 4

SETTLED_BY_BILATERAL = "lsm_bilateral"
SETTLED_BY_CYCLE = "lsm_cycle"
SETTLED_BY_RETRY = "lsm_queue_retry"


class LsmConfig:
    """The scenario's ``lsm_config`` block (engine.md 3.8).

    >>> LsmConfig(max_cycles_per_tick=20).max_cycles_per_tick
    20
    """

    __slots__ = ("enable_bilateral", "enable_cycles", "max_cycle_length", "max_cycles_per_tick")

    def __init__(self, enable_bilateral: bool = True, enable_cycles: bool = True,
                 max_cycle_length: int = 4, max_cycles_per_tick: int = 10):
        self.enable_bilateral = enable_bilateral
        self.enable_cycles = enable_cycles
        self.max_cycle_length = max_cycle_length
        self.max_cycles_per_tick = max_cycles_per_tick

    def __repr__(self) -> str:
        return (f"LsmConfig(enable_bilateral={self.enable_bilateral}, "
                f"enable_cycles={self.enable_cycles}, max_cycle_length={self.max_cycle_length}, "
                f"max_cycles_per_tick={self.max_cycles_per_tick})")


class LsmResult:
    """What one LSM pass did, for the tick summary and the AlgorithmExecution events (6.7, 6.8).

    ``pairs_examined`` counts every bilateral pair looked at, once per iteration, refused ones
    included; ``bilateral_value`` is the sum of ``min(amount_a, amount_b)`` over the
    ``LsmBilateralOffset`` events emitted (0 when entry disposition renamed them).

    >>> LsmResult().cycles_settled
    0
    """

    __slots__ = ("pairs_examined", "bilateral_value", "cycles_settled", "cycle_value",
                 "bilateral_tx_settled", "cycle_tx_settled", "retry_tx_settled")

    def __init__(self):
        self.pairs_examined = 0
        self.bilateral_value = 0
        self.cycles_settled = 0
        self.cycle_value = 0
        self.bilateral_tx_settled = 0
        self.cycle_tx_settled = 0
        self.retry_tx_settled = 0

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__)
        return f"LsmResult({inner})"


class Cycle:
    """A cycle candidate: agents in cycle order (first repeated at the end), its transactions
    in settlement order and their total remaining amount at detection."""

    __slots__ = ("agents", "txs", "total_value")

    def __init__(self, agents: list[str], txs: list[Transaction], total_value: int):
        self.agents = agents
        self.txs = txs
        self.total_value = total_value

    def __eq__(self, other) -> bool:
        return (isinstance(other, Cycle) and self.agents == other.agents
                and self.txs == other.txs and self.total_value == other.total_value)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Cycle({self.agents}, {[t.tx_id for t in self.txs]}, {self.total_value})"


# ---- the pass (6.3) ---------------------------------------------------------------------------
def run_lsm(world: World, tick: int, cfg: LsmConfig, deferred: DeferredCredits | None,
            entry_disposition: bool = False, *, fixes: bool = False) -> LsmResult:
    """Run one LSM pass over Queue 2 and append its events to ``world.events``.

    ``deferred`` receives the credits of offsets and cycles when deferred crediting is on; the
    FIFO retries always credit at once. ``entry_disposition`` renames the bilateral events to
    ``EntryDispositionOffset`` (engine.md 6.5). ``fixes`` (the extended profile) corrects three
    of the reference's quirks: split children settled by an offset or a cycle reduce their
    parent, a pair refused by the bilateral check emits no offset event, and both orientations
    of every triangle are searched.

    >>> w = World(ticks_per_day=10, num_days=1)
    >>> run_lsm(w, 0, LsmConfig(), None).pairs_examined
    0
    """
    res = LsmResult()
    # Pairs already reported during this pass; used for membership tests only.
    reported: set[tuple[str, str]] = set()
    compact_queue2(world)
    iteration = 0
    progress = 0
    while iteration < MAX_ITERATIONS and world.queue2:
        iteration += 1
        before = progress
        examined_before = res.pairs_examined
        changed = False
        index = None  # direction index of the current Queue 2, reused while nothing settles
        if cfg.enable_bilateral:
            index = _direction_index(world.queue2)
            examined_value, settled = _bilateral_phase(world, tick, index, deferred,
                                                       entry_disposition, reported, res, fixes)
            progress += examined_value
            if settled:
                changed = True
                index = None
                _, value = _retry(world, tick, res, deferred if fixes else None)
                progress += value
        if cfg.enable_cycles and world.queue2:
            if index is None:
                index = _direction_index(world.queue2)
            cycle_value, settled, detected = _cycle_phase(world, tick, cfg, index, deferred, res,
                                                          fixes)
            progress += cycle_value
            changed = changed or settled > 0
            if detected:
                retried, value = _retry(world, tick, res, deferred if fixes else None)
                progress += value
                changed = changed or retried > 0
        if progress == before:
            break
        if not changed:
            # Only refused pairs made progress. Nothing settled, so balances, limits and
            # Queue 2 are as this iteration found them (its retry already marked what was
            # overdue): the remaining iterations would repeat it exactly, emitting nothing.
            res.pairs_examined += (res.pairs_examined - examined_before) * (
                MAX_ITERATIONS - iteration)
            break
    return res


def _retry(world: World, tick: int, res: LsmResult,
           deferred: DeferredCredits | None = None) -> tuple[int, int]:
    """The FIFO pass again (engine.md 6.4.3). The reference credits at once even in deferred
    mode (``deferred`` None); the extended profile passes the tick's deferred credits.
    Returns (count, value) settled."""
    count, value = fifo_pass(world, tick, deferred, "LsmQueueRetrySettlement", "lsm_retry",
                             SETTLED_BY_RETRY)
    res.retry_tx_settled += count
    return count, value


def _direction_index(queue: list[Transaction]) -> dict[tuple[str, str], list]:
    """(sender, receiver) -> [sum of remaining amounts, transactions in queue order]."""
    index: dict[tuple[str, str], list] = {}
    for tx in queue:
        if tx.location != IN_QUEUE2 or tx.status == SETTLED:
            continue
        key = (tx.sender_id, tx.receiver_id)
        entry = index.get(key)
        if entry is None:
            index[key] = [tx.remaining_amount, [tx]]
        else:
            entry[0] += tx.remaining_amount
            entry[1].append(tx)
    return index


# ---- bilateral offsetting (6.4.1, 6.5) --------------------------------------------------------
def _bilateral_phase(world: World, tick: int, index: dict[tuple[str, str], list],
                     deferred: DeferredCredits | None, entry_disposition: bool,
                     reported: set[tuple[str, str]], res: LsmResult,
                     fixes: bool = False) -> tuple[int, int]:
    """Offset every pair with flows both ways in ``index`` (Queue 2 at the start of the phase).
    Returns (Σ min over examined pairs, transactions settled)."""
    pairs = []
    for (s, r), (sum_sr, _) in index.items():
        if s < r and sum_sr > 0:
            back = index.get((r, s))
            if back is not None and back[0] > 0:
                pairs.append((-min(sum_sr, back[0]), s, r))
    if not pairs:
        return 0, 0
    pairs.sort()

    agents = world.agents
    events = world.events
    examined_value = 0
    settled_count = 0
    for neg_min, a, b in pairs:
        sum_ab, txs_ab = index[(a, b)]
        sum_ba, txs_ba = index[(b, a)]
        offset = -neg_min
        res.pairs_examined += 1
        examined_value += offset
        agent_a = agents[a]
        agent_b = agents[b]
        if sum_ab > sum_ba:
            net_sender, net = agent_a, sum_ab - sum_ba
        else:  # B on a tie (net 0): its balance is still checked
            net_sender, net = agent_b, sum_ba - sum_ab
        ok = (net_sender.balance - net >= -net_sender.allowed_overdraft_limit
              and limits_ok(agent_a, b, sum_ab) and limits_ok(agent_b, a, sum_ba))
        combined = txs_ab + txs_ba
        if ok:
            for tx in combined:
                leave_queue2(world, tx)
                settle(world, tx, tick, SETTLED_BY_BILATERAL, deferred)
                if fixes and tx.parent_id is not None:
                    reduce_parent(world, tx, tick)
            settled_count += len(combined)
        elif fixes:
            continue  # extended: a refused pair is not an offset; no event
        key = (a, b)
        if key in reported:
            continue
        reported.add(key)
        if entry_disposition:
            incoming = combined[0].tx_id if combined else ""
            queued = combined[1].tx_id if len(combined) > 1 else ""
            events.append(("EntryDispositionOffset", tick, incoming, queued, a, b, offset,
                           sum_ab, sum_ba, ok))
        else:
            events.append(("LsmBilateralOffset", tick, a, b, [t.tx_id for t in combined],
                           sum_ab, sum_ba, sum_ab + sum_ba, ok))
            res.bilateral_value += offset
    if settled_count:
        res.bilateral_tx_settled += settled_count
        compact_queue2(world)
    return examined_value, settled_count


# ---- multilateral cycles (6.4.2) --------------------------------------------------------------
def _cycle_phase(world: World, tick: int, cfg: LsmConfig, index: dict[tuple[str, str], list],
                 deferred: DeferredCredits | None, res: LsmResult,
                 fixes: bool = False) -> tuple[int, int, bool]:
    """Attempt the best cycles of the current Queue 2 (``index`` is its direction index).
    Returns (value settled, transactions settled, whether any cycle was detected)."""
    candidates, detected = _find_cycles(world.queue2, index, cfg.max_cycle_length,
                                        cfg.max_cycles_per_tick, both_orientations=fixes)
    value = 0
    count = 0
    for cycle in candidates:
        if _settle_cycle(world, tick, cycle, deferred, fixes):
            res.cycles_settled += 1
            res.cycle_value += cycle.total_value
            count += len(cycle.txs)
            value += cycle.total_value
    if count:
        res.cycle_tx_settled += count
        compact_queue2(world)
    return value, count, detected


def _settle_cycle(world: World, tick: int, cycle: Cycle,
                  deferred: DeferredCredits | None, fixes: bool = False) -> bool:
    """All-or-nothing settlement of one cycle against the current state."""
    txs = cycle.txs
    for tx in txs:
        if tx.status == SETTLED or tx.location != IN_QUEUE2:
            return False
    net: dict[str, int] = {}
    for tx in txs:
        x = tx.remaining_amount
        net[tx.sender_id] = net.get(tx.sender_id, 0) - x
        net[tx.receiver_id] = net.get(tx.receiver_id, 0) + x
    agents = world.agents
    order = sorted(net)
    for aid in order:
        position = net[aid]
        if position < 0:
            agent = agents[aid]
            if (agent.available_liquidity < -position
                    or agent.balance + position < -agent.allowed_overdraft_limit):
                return False
    # Each payment is checked alone against the outflows before this cycle (reproduced quirk).
    for tx in txs:
        if not limits_ok(agents[tx.sender_id], tx.receiver_id, tx.remaining_amount):
            return False
    for tx in txs:
        leave_queue2(world, tx)
        settle(world, tx, tick, SETTLED_BY_CYCLE, deferred)
        if fixes and tx.parent_id is not None:
            reduce_parent(world, tx, tick)
    max_outflow = 0
    max_agent = ""
    for aid in order:  # ascending, so ties end on the greatest id
        position = net[aid]
        if position < 0 and -position >= max_outflow:
            max_outflow = -position
            max_agent = aid
    world.events.append((
        "LsmCycleSettlement", tick, list(cycle.agents), [t.tx_id for t in txs],
        [t.amount for t in txs], cycle.total_value, [net[a] for a in cycle.agents],
        max_outflow, max_agent, cycle.total_value))
    return True


def find_cycles(queue: list[Transaction], max_cycle_length: int,
                limit: int, *, both_orientations: bool = False) -> tuple[list[Cycle], bool]:
    """The first ``limit`` cycle candidates over ``queue``, in the order they are attempted.

    Candidates are the triangles of the aggregated graph (smallest -> middle -> largest id only)
    followed by the cycles of 4 to ``max_cycle_length`` payments of the per-payment search (only
    when ``max_cycle_length >= 4`` and the queue holds at most 100 entries), stable-sorted by
    total value descending. The flag says whether any candidate exists at all. With
    ``both_orientations`` (extended profile) a triangle smallest -> largest -> middle is found
    too.

    >>> find_cycles([], 4, 10)
    ([], False)
    """
    return _find_cycles(queue, _direction_index(queue), max_cycle_length, limit,
                        both_orientations=both_orientations)


def _find_cycles(queue: list[Transaction], index: dict[tuple[str, str], list],
                 max_cycle_length: int, limit: int, *,
                 both_orientations: bool = False) -> tuple[list[Cycle], bool]:
    if not index:
        return [], False
    names = sorted({s for s, _ in index} | {r for _, r in index})
    pos = {a: i for i, a in enumerate(names)}
    n = len(names)
    out_total: list[dict[int, int]] = [{} for _ in range(n)]
    out_txs: list[dict[int, list[Transaction]]] = [{} for _ in range(n)]
    preds: list[set[int]] = [set() for _ in range(n)]
    for (s, r), (total, txs) in index.items():
        si = pos[s]
        ri = pos[r]
        out_total[si][ri] = total
        out_txs[si][ri] = txs
        preds[ri].add(si)

    # Keys sort in attempt order: value descending, then triangles before long cycles, then
    # discovery order ((u, v, w) is lexicographic in the triangle search; a counter otherwise).
    best: list[tuple] = heapq.nsmallest(limit, _triangle_keys(out_total, preds,
                                                              both_orientations))
    detected = bool(best)
    if max_cycle_length >= MIN_LONG_CYCLE_EDGES and len(queue) <= LONG_CYCLE_QUEUE_LIMIT:
        found_long = _long_cycles(queue, pos, preds, max_cycle_length, limit, best)
        detected = detected or found_long

    cycles = []
    for key in best:
        if key[1] == 0:
            u, v, w = key[2]
            agents = [names[u], names[v], names[w], names[u]]
            txs = out_txs[u][v] + out_txs[v][w] + out_txs[w][u]
            cycles.append(Cycle(agents, txs, -key[0]))
        else:
            path_agents, txs = key[3]
            cycles.append(Cycle([names[i] for i in path_agents], txs, -key[0]))
    return cycles, detected


def _triangle_keys(out_total: list[dict[int, int]], preds: list[set[int]],
                   both_orientations: bool = False) -> list[tuple]:
    """Every triangle u -> v -> w -> u with u < v < w, as (-total, 0, (u, v, w)); with
    ``both_orientations`` every triangle whose smallest agent is u (v, w > u)."""
    comp = _scc_sizes(out_total)
    keys = []
    for u, ou in enumerate(out_total):
        # A triangle lies inside one strongly connected component of >= 3 agents.
        if comp[u] < 3:
            continue
        pu = preds[u]
        if not pu:
            continue
        for v in sorted(x for x in ou if x > u):
            ov = out_total[v]
            ws = pu.intersection(ov)
            if not ws:
                continue
            uv = ou[v]
            for w in sorted(ws):
                if w > v or (both_orientations and u < w != v):
                    keys.append((-(uv + ov[w] + out_total[w][u]), 0, (u, v, w)))
    return keys


def _scc_sizes(out_total: list[dict[int, int]]) -> list[int]:
    """Size of each vertex's strongly connected component (iterative Tarjan)."""
    n = len(out_total)
    adj = [sorted(o) for o in out_total]
    index_of = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    size = [0] * n
    counter = 0
    for root in range(n):
        if index_of[root] != -1:
            continue
        work = [(root, 0)]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            nbrs = adj[v]
            if i < len(nbrs):
                work[-1] = (v, i + 1)
                w = nbrs[i]
                if index_of[w] == -1:
                    index_of[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index_of[w] < low[v]:
                    low[v] = index_of[w]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[v] < low[parent]:
                    low[parent] = low[v]
            if low[v] == index_of[v]:
                members = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    members.append(w)
                    if w == v:
                        break
                for w in members:
                    size[w] = len(members)
    return size


def _long_cycles(queue: list[Transaction], pos: dict[str, int], preds: list[set[int]],
                 max_len: int, limit: int, best: list[tuple]) -> bool:
    """Depth-first search for cycles of 4..max_len payments, merged into ``best`` (kept sorted,
    at most ``limit`` keys). Returns whether any such cycle exists.

    Discovery order is the reference's: start agents ascending, each sender's payments in queue
    order, closing edges recorded as they are met. Two prunings skip work without changing
    which candidates are kept or their order: a path is not extended to an agent that cannot
    get back to the start within ``max_len`` payments, and once ``best`` is full a path is not
    extended when even the largest payments still available could not lift its total above
    the worst kept candidate (a later discovery never wins a tie).
    """
    n = len(preds)
    adj: list[list[tuple[int, Transaction, int]]] = [[] for _ in range(n)]
    max_out = [0] * n
    for tx in queue:
        if tx.location != IN_QUEUE2 or tx.status == SETTLED:
            continue
        x = tx.remaining_amount
        si = pos[tx.sender_id]
        adj[si].append((pos[tx.receiver_id], tx, x))
        if x > max_out[si]:
            max_out[si] = x
    # Agents by largest outgoing payment, for the bound on what a path can still add.
    by_max_out = sorted((i for i in range(n) if adj[i]), key=lambda i: -max_out[i])
    found = False
    seq = 0
    visited = [False] * n
    path_agents: list[int] = []
    path_txs: list[Transaction] = []
    free = 0  # agents with outgoing payments not on the current path

    for start in range(n):
        if not adj[start]:
            continue
        # Payments still needed to get back to start (reverse breadth-first search; the
        # distances do not depend on the order the predecessor sets are walked).
        dist = [max_len + 1] * n
        dist[start] = 0
        frontier = [start]
        d = 0
        while frontier and d < max_len:
            d += 1
            nxt_frontier = []
            for x in frontier:
                for p in preds[x]:
                    if dist[p] > d:
                        dist[p] = d
                        nxt_frontier.append(p)
            frontier = nxt_frontier

        def dfs(cur: int, depth: int, total: int) -> None:
            nonlocal found, seq, free
            reach = -1  # bound on what the rest of a path through here adds; computed lazily
            for r, tx, x in adj[cur]:
                if r == start:
                    if depth + 1 >= MIN_LONG_CYCLE_EDGES:
                        found = True
                        seq += 1
                        key = (-(total + x), 1, seq)
                        if len(best) < limit or key < best[-1]:
                            insort(best, key + ((path_agents + [start], path_txs + [tx]),))
                            if len(best) > limit:
                                best.pop()
                elif not visited[r] and depth + 1 + dist[r] <= max_len:
                    if len(best) >= limit:
                        if reach < 0:
                            # After the next agent at most `more` payments remain, leaving
                            # distinct agents off the path: bound them by the largest
                            # payments of the `more` best such agents.
                            more = min(max_len - depth - 1, free)
                            reach = 0
                            for i in by_max_out:
                                if not visited[i]:
                                    reach += max_out[i]
                                    more -= 1
                                    if more == 0:
                                        break
                        if total + x + reach <= -best[-1][0]:
                            continue
                    visited[r] = True
                    free -= 1
                    path_agents.append(r)
                    path_txs.append(tx)
                    dfs(r, depth + 1, total + x)
                    path_txs.pop()
                    path_agents.pop()
                    free += 1
                    visited[r] = False

        visited[start] = True
        free = len(by_max_out) - 1
        path_agents.append(start)
        dfs(start, 0, 0)
        path_agents.pop()
        visited[start] = False
    return found
