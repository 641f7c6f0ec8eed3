"""Payment-tree evaluations per second on a hand-built world.

Run: ``python benchmarks/bench_policy.py [--n 200000]``. Prints one small table: the policy,
its payment-tree node count, evaluations/s and microseconds per evaluation. Uses the reference
policy files in ../shared/simcash when that folder exists.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from paysim_lab.engine.decisions import EvalEnv
from paysim_lab.engine.state import Agent, Transaction, World
from paysim_lab.policy import builtin_document, load_policy

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "simcash" / "simulator"
          / "policies")

# A cautious-buffer policy: keep buffer_multiplier x amount in hand, except when urgent or late
# in the day; drop nothing; costs compared before using credit.
CAUTIOUS_BUFFER = {
    "version": "1.0", "policy_id": "cautious_buffer",
    "parameters": {"buffer_multiplier": 2.5, "urgency_threshold": 3.0, "eod_threshold": 0.8},
    "payment_tree": {
        "type": "condition", "node_id": "P_Urgent",
        "condition": {"op": "<=", "left": {"field": "ticks_to_deadline"},
                      "right": {"param": "urgency_threshold"}},
        "on_true": {
            "type": "condition", "node_id": "P_CanPayUrgent",
            "condition": {"op": ">=", "left": {"field": "effective_liquidity"},
                          "right": {"field": "remaining_amount"}},
            "on_true": {"type": "action", "node_id": "P_ReleaseUrgent", "action": "Release"},
            "on_false": {"type": "action", "node_id": "P_HoldUrgent", "action": "Hold",
                         "parameters": {"reason": {"value": "InsufficientLiquidity"}}}},
        "on_false": {
            "type": "condition", "node_id": "P_LateDay",
            "condition": {"op": "and", "conditions": [
                {"op": ">=", "left": {"field": "day_progress_fraction"},
                 "right": {"param": "eod_threshold"}},
                {"op": ">=", "left": {"field": "available_liquidity"},
                 "right": {"field": "remaining_amount"}}]},
            "on_true": {"type": "action", "node_id": "P_ReleaseLate", "action": "Release"},
            "on_false": {
                "type": "condition", "node_id": "P_Buffer",
                "condition": {"op": ">=", "left": {"field": "balance"},
                              "right": {"compute": {"op": "*", "left": {"field": "amount"},
                                                    "right": {"param": "buffer_multiplier"}}}},
                "on_true": {"type": "action", "node_id": "P_ReleaseBuffered",
                            "action": "Release"},
                "on_false": {
                    "type": "condition", "node_id": "P_CreditCheaper",
                    "condition": {"op": "<", "left": {"field":
                                                      "cost_overdraft_this_amount_one_tick"},
                                  "right": {"field": "cost_delay_this_tx_one_tick"}},
                    "on_true": {"type": "action", "node_id": "P_UseCredit",
                                "action": "ReleaseWithCredit"},
                    "on_false": {"type": "action", "node_id": "P_Wait", "action": "Hold",
                                 "parameters": {"reason": {"value": "AwaitingInflows"}}}}}}},
}


def build_world(n_agents: int = 50, queue_len: int = 200):
    w = World(ticks_per_day=100, num_days=10)
    w.tick = 437
    for i in range(n_agents):
        a = Agent(f"BANK_{i:03d}", i, opening_balance=250_000 - 10_000 * (i % 40),
                  unsecured_cap=100_000)
        a.posted_collateral = 50_000
        w.add_agent(a)
    agent = w.agent_list[0]
    for k in range(queue_len):
        tx = Transaction(f"tx_{k:08d}", k, agent.id, w.agent_list[1 + k % (n_agents - 1)].id,
                         5_000 + 997 * k, arrival_tick=400 + k % 37,
                         deadline_tick=430 + k % 23, priority=k % 11)
        agent.queue1.append(tx)
        agent.queue1_value += tx.remaining_amount
    w.queue2 = [object()] * 120
    w.queue2_value = 9_000_000
    return w, agent


def measure(fn, envs, n: int) -> float:
    k = len(envs)
    start = time.perf_counter()
    for i in range(n):
        fn(envs[i % k])
    return n / (time.perf_counter() - start)


def node_count(tree) -> int:
    if tree is None:
        return 0
    if tree.get("type") == "condition":
        return 1 + node_count(tree["on_true"]) + node_count(tree["on_false"])
    return 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="evaluations per policy")
    args = ap.parse_args()
    w, agent = build_world()
    envs = [EvalEnv(w, agent, tx, "payment") for tx in agent.queue1]
    policies = [("fifo (built-in)", builtin_document("Fifo", {})),
                ("liquidity_aware (built-in)",
                 builtin_document("LiquidityAware", {"target_buffer": 50_000,
                                                     "urgency_threshold": 5})),
                ("cautious_buffer (bench)", CAUTIOUS_BUFFER)]
    for name in ("cautious_liquidity_preserver.json", "balanced_cost_optimizer.json"):
        if (SHARED / name).exists():
            policies.append((f"{name[:-5]} (SimCash)", SHARED / name))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, source in policies:
            p = load_policy(source, profile="simcash")
            cp = p.compiled
            measure(cp.payment, envs, 2_000)                      # warm-up
            rate = measure(cp.payment, envs, args.n)
            rows.append((label, node_count(p.payment_tree), rate))
    print(f"{'policy':<40} {'nodes':>5} {'evals/s':>12} {'us/eval':>8}")
    for label, nodes, rate in rows:
        print(f"{label:<40} {nodes:>5} {rate:>12,.0f} {1e6 / rate:>8.2f}")


if __name__ == "__main__":
    main()
