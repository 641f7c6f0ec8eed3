"""SimCash's bootstrap evaluation, re-created on paysim_lab's engine.

SimCash (the simulator whose paper experiments paysim_lab reproduces) evaluates a bank's
policy in a stochastic scenario like this:

1. *Seeds.* From the experiment's master seed, a context seed per iteration:
   the first 4 bytes (big-endian) of SHA-256 of ``"{master}:iter:{i}:agent:{first agent}"``,
   modulo 2**31.
2. *Context run.* The whole scenario runs once with that seed under the current profile;
   from its events each bank gets a history: its outgoing payments (amount, priority,
   deadline offset, settlement offset) and its incoming ones.
3. *Resampling.* For sample ``k`` a generator (xorshift64*) is seeded with the first 8 bytes
   of SHA-256 of ``"{context seed}:sample:{k}"`` modulo 2**31. It draws, for each of the
   ``n`` outgoing records, a record index (``next % n``) and a new arrival tick
   (``next % ticks``); then the same for the incoming records that settled. Deadlines and
   settlement ticks keep their offsets from the arrival, capped at the end of the day.
4. *Sandbox.* Each sample is replayed in a three-bank system: the bank under evaluation
   (its liquidity pool and policy, the scenario's cost rates), ``SOURCE`` (10**10 cents)
   paying the incoming amounts as scheduled settlements at their resampled settlement
   ticks, and ``SINK`` (a 10**10 credit line) receiving the resampled outgoing payments.
   The bank's total cost in the sandbox is the sample's cost; the evaluation is the mean.

Why paysim_lab has its own code for this rather than running anything of SimCash: the
numbers are only reproducible to the cent if every detail above matches, including two of
SimCash's own readings that a fresh design would not make, kept here on purpose:

- the context run's ``Arrival.deadline`` is the absolute deadline tick, but SimCash's history
  reads it as an offset from the arrival (so resampled deadlines fall later in the day);
- a payment is taken as settled at the tick of any RTGS settlement, Queue 2 release or LSM
  event naming it (paysim_lab emits ``LsmBilateralOffset`` also for pairs that did not
  settle, as SimCash does; the context runs of the paper disable the LSM).

The sandbox runs under ``compat: simcash`` (SimCash's engine rules) with SimCash's sandbox
defaults: one day of ``ticks`` ticks, no deferred crediting, deadlines not capped at the end
of the day, the LSM block at its defaults.

>>> sample_seed(12345, 0) == sample_seed(12345, 0)
True
>>> Xorshift64Star(1).next_u64()
5180492295206395165
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

INFINITE = 10_000_000_000
SETTLEMENT_EVENTS = ("RtgsImmediateSettlement", "Queue2LiquidityRelease")
LSM_EVENTS = ("LsmBilateralOffset", "LsmCycleSettlement")
MASK = 0xFFFFFFFFFFFFFFFF


# ---- seeds and the generator ---------------------------------------------------------------

def _sha_int(key: str, nbytes: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:nbytes], "big") % (2 ** 31)


def iteration_seed(master_seed: int, iteration: int, agent: str) -> int:
    """The context seed of ``iteration`` (0-based) derived for ``agent``.

    >>> iteration_seed(42, 0, "BANK_A") == iteration_seed(42, 0, "BANK_A")
    True
    """
    return _sha_int(f"{master_seed}:iter:{iteration}:agent:{agent}", 4)


def sample_seed(context_seed: int, index: int) -> int:
    """The generator seed of bootstrap sample ``index`` of a context run."""
    return _sha_int(f"{context_seed}:sample:{index}", 8)


class Xorshift64Star:
    """xorshift64* (shifts 12, 25, 27; multiplier 0x2545F4914F6CDD1D), 64-bit state."""

    __slots__ = ("state",)

    def __init__(self, seed: int):
        self.state = seed if seed != 0 else 1

    def next_u64(self) -> int:
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK
        x ^= x >> 27
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & MASK

    def below(self, n: int) -> int:
        """An integer in [0, n) (modulo reduction, as the reference does); 0 when n <= 0."""
        return self.next_u64() % n if n > 0 else 0


# ---- histories -----------------------------------------------------------------------------

@dataclass
class Record:
    """One payment of a context run, as the resampler sees it."""

    tx_id: str
    sender: str
    receiver: str
    amount: int
    priority: int
    arrival: int
    deadline_offset: int
    settlement_offset: int | None = None


def histories(events: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[Record]]]:
    """bank -> {"outgoing": [...], "incoming": [...]} from a run's event dicts, in order."""
    by_tx: dict[str, Record] = {}
    out: dict[str, dict[str, list[Record]]] = {}

    def book(agent: str) -> dict[str, list[Record]]:
        return out.setdefault(agent, {"outgoing": [], "incoming": []})

    def settle(tx_id, tick: int) -> None:
        rec = by_tx.get(str(tx_id))
        if rec is not None:
            rec.settlement_offset = tick - rec.arrival

    for ev in events:
        kind = ev["event_type"]
        if kind == "Arrival":
            # The reference reads Arrival.deadline (an absolute tick) as an offset.
            rec = Record(str(ev["tx_id"]), str(ev["sender_id"]), str(ev["receiver_id"]),
                         int(ev["amount"]), int(ev["priority"]), int(ev["tick"]),
                         int(ev.get("deadline") or 0))
            by_tx[rec.tx_id] = rec
            book(rec.sender)["outgoing"].append(rec)
            book(rec.receiver)["incoming"].append(rec)
        elif kind in SETTLEMENT_EVENTS:
            settle(ev["tx_id"], int(ev["tick"]))
        elif kind in LSM_EVENTS:
            for tx_id in ev.get("tx_ids") or ():
                settle(tx_id, int(ev["tick"]))
    return out


@dataclass(frozen=True)
class Resampled:
    amount: int
    priority: int
    arrival: int
    deadline: int
    settlement: int | None


def _resample(records: list[Record], rng: Xorshift64Star, ticks: int) -> list[Resampled]:
    out = []
    n = len(records)
    for _ in range(n):
        rec = records[rng.below(n)]
        arrival = rng.below(ticks)
        settlement = (None if rec.settlement_offset is None
                      else min(arrival + rec.settlement_offset, ticks))
        out.append(Resampled(rec.amount, rec.priority, arrival,
                             min(arrival + rec.deadline_offset, ticks), settlement))
    return out


def resample(history: Mapping[str, list[Record]], seed: int, ticks: int
             ) -> tuple[list[Resampled], list[Resampled]]:
    """(outgoing, incoming) of one bootstrap sample; incoming only from settled payments."""
    rng = Xorshift64Star(seed)
    outgoing = _resample(list(history.get("outgoing", ())), rng, ticks)
    settled = [r for r in history.get("incoming", ()) if r.settlement_offset is not None]
    incoming = _resample(settled, rng, ticks)
    return outgoing, incoming


# ---- the sandbox ---------------------------------------------------------------------------

def sandbox_doc(agent: Mapping[str, Any], cost_rates: Mapping[str, Any], outgoing, incoming,
                ticks: int, seed: int) -> dict:
    """The three-bank scenario replaying one sample for ``agent`` (its dict from the
    scenario's ``agents`` list, with the strategy already applied)."""
    target = {"id": agent["id"], "opening_balance": agent.get("opening_balance", 0),
              "unsecured_cap": agent.get("unsecured_cap", 0)}
    for key in ("liquidity_pool", "liquidity_allocation_fraction", "max_collateral_capacity",
                "policy", "policy_id", "policy_params"):
        if agent.get(key) is not None:
            target[key] = copy.deepcopy(agent[key])
    events = []
    for tx in outgoing:
        span = tx.deadline - tx.arrival
        events.append({"type": "CustomTransactionArrival", "from_agent": agent["id"],
                       "to_agent": "SINK", "amount": tx.amount, "priority": tx.priority,
                       "deadline": span if span > 0 else 1,
                       "schedule": {"type": "OneTime", "tick": tx.arrival}})
    for tx in incoming:
        events.append({"type": "ScheduledSettlement", "from_agent": "SOURCE",
                       "to_agent": agent["id"], "amount": tx.amount,
                       "schedule": {"type": "OneTime", "tick": tx.settlement or 0}})
    doc = {"compat": "simcash",
           "simulation": {"ticks_per_day": ticks, "num_days": 1, "rng_seed": seed},
           "agents": [{"id": "SOURCE", "opening_balance": INFINITE, "unsecured_cap": 0,
                       "policy": {"type": "Fifo"}},
                      target,
                      {"id": "SINK", "opening_balance": 0, "unsecured_cap": INFINITE,
                       "policy": {"type": "Fifo"}}],
           "cost_rates": copy.deepcopy(dict(cost_rates))}
    if events:
        doc["scenario_events"] = events
    return doc


def run_cost(doc: dict, agent: str) -> int:
    """Total cost (cents) of ``agent`` after running ``doc`` to the end."""
    import warnings

    from ..config import load_scenario
    from ..errors import ScenarioWarning
    from ..simulation import Simulation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        sc = load_scenario(doc)
    # Only the bank's cost is needed: tick the engine directly, without the facade's
    # per-tick history and event frames (a sandbox day is tiny; those dominate its time).
    engine = Simulation(sc).engine
    for _ in range(engine.world.total_ticks):
        engine.tick()
    return int(engine.world.agents[agent].total_cost)


def context_events(doc: dict, seed: int, ticks: int | None = None) -> list[dict]:
    """The event dicts of the context run of ``doc`` (simcash rules) with ``seed``."""
    import warnings

    from ..config import load_scenario
    from ..errors import ScenarioWarning
    from ..simulation import Simulation
    doc = copy.deepcopy(doc)
    doc["compat"] = "simcash"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        sc = load_scenario(doc)
    from ..records import event_dicts
    engine = Simulation(sc, seed=seed).engine
    n = engine.world.total_ticks if ticks is None else min(ticks, engine.world.total_ticks)
    for _ in range(n):
        engine.tick()
    return event_dicts(engine.world.events, 0)


# ---- evaluation ----------------------------------------------------------------------------

@dataclass
class BootstrapOptions:
    """``num_samples`` per context run; ``ticks`` of the sandbox day (default: the scenario's
    ticks per day); ``master_seed`` and ``iterations`` (the context runs, 0-based iteration
    indices, pooled); ``seed_agent``: the bank whose id derives the context seeds (default:
    the first bank of the profile or scenario)."""

    num_samples: int = 50
    ticks: int | None = None
    master_seed: int = 42
    iterations: tuple = (0,)
    seed_agent: str | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> "BootstrapOptions":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"bootstrap options: unknown {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        opts = cls(**dict(options))
        if isinstance(opts.iterations, int):
            opts.iterations = (opts.iterations,)
        opts.iterations = tuple(int(i) for i in opts.iterations)
        if opts.num_samples < 1 or not opts.iterations:
            raise ValueError("bootstrap options: num_samples must be >= 1 and iterations "
                             "non-empty")
        return opts


_CONTEXTS: dict = {}      # (profile document, seed, ticks) -> histories, per process


def _histories_of(doc: dict, seed: int, ticks: int) -> dict:
    import json
    key = (json.dumps(doc, sort_keys=True, default=str), seed, ticks)
    hist = _CONTEXTS.get(key)
    if hist is None:
        if len(_CONTEXTS) > 256:
            _CONTEXTS.clear()
        hist = _CONTEXTS[key] = histories(context_events(doc, seed, ticks))
    return hist


def agent_sample_costs(doc: dict, agent: str, opts: BootstrapOptions,
                       ticks_per_day: int) -> list[int]:
    """Per-sample sandbox costs of ``agent`` under the profile already applied to ``doc``
    (the scenario's dict form), pooled over the context runs of ``opts.iterations``."""
    ticks = opts.ticks or ticks_per_day
    seed_agent = opts.seed_agent or doc["agents"][0]["id"]
    by_id = {a["id"]: a for a in doc["agents"]}
    rates = doc.get("cost_rates") or {}
    out: list[int] = []
    for it in opts.iterations:
        cseed = iteration_seed(opts.master_seed, it, seed_agent)
        h = _histories_of(doc, cseed, ticks).get(agent, {"outgoing": [], "incoming": []})
        for k in range(opts.num_samples):
            s = sample_seed(cseed, k)
            outgoing, incoming = resample(h, s, ticks)
            out.append(run_cost(sandbox_doc(by_id[agent], rates, outgoing, incoming, ticks, s),
                                agent))
    return out


def profile_sample_costs(doc: dict, agents: Sequence[str], opts: BootstrapOptions,
                         ticks_per_day: int) -> dict[str, list[int]]:
    """agent -> :func:`agent_sample_costs` for every bank in ``agents``."""
    if opts.seed_agent is None:
        opts = BootstrapOptions(opts.num_samples, opts.ticks, opts.master_seed, opts.iterations,
                                agents[0])
    return {a: agent_sample_costs(doc, a, opts, ticks_per_day) for a in agents}


def _agent_job(job) -> list[int]:
    doc, agent, opts, tpd = job
    return agent_sample_costs(doc, agent, opts, tpd)


def evaluate_bootstrap(base, plist, labels, assignments, *, seeds, options, confidence,
                       method, n_resamples, backend="serial", workers=None):
    """``psl.evaluate(..., mode="bootstrap")``: one row per profile x bootstrap sample (the
    ``seed`` column holds the sample index)."""
    import os

    from .evaluate import build_evaluation
    from .params import apply_assignments
    if seeds is not None:
        raise ValueError("mode='bootstrap' draws its samples from bootstrap={'master_seed', "
                         "'iterations', 'num_samples'}; leave seeds unset")
    opts = BootstrapOptions.from_mapping(options)
    agents = list(base.agent_ids)
    if opts.seed_agent is None:
        opts.seed_agent = agents[0]
    tpd = int(base.doc["simulation"]["ticks_per_day"])
    jobs = [(apply_assignments(base.doc, asg, base.policies), a, opts, tpd)
            for asg in assignments for a in agents]
    if backend == "process" and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        from .. import simulation  # noqa: F401  (import before forking, as sweeps do)
        n = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=min(n, len(jobs))) as pool:
            costs = list(pool.map(_agent_job, jobs))
    else:
        costs = [_agent_job(job) for job in jobs]
    results = []
    n = len(costs[0]) if costs else 0
    for c in range(len(assignments)):
        per = {a: costs[c * len(agents) + i] for i, a in enumerate(agents)}
        results.append([{f"cost_{a}": per[a][k] for a in agents} for k in range(n)])
    return build_evaluation(base, plist, labels, list(range(n)), results, confidence,
                            method, n_resamples, "bootstrap")
