"""The event catalog (engine.md section 9) and the compact record the engine emits.

The tick loop appends plain tuples ``(event_type, tick, v1, v2, ...)`` where the values follow
``FIELDS[event_type]``; no dict is built per event on the hot path. Views (DataFrames, the store,
the verbose log, JSON lines) turn records into dicts with :func:`to_dict` only when asked.

>>> rec = ("QueuedRtgs", 3, "tx_00000001", "BANK_A")
>>> to_dict(rec)
{'event_type': 'QueuedRtgs', 'tick': 3, 'tx_id': 'tx_00000001', 'sender_id': 'BANK_A'}
"""
from __future__ import annotations

# Field names per event type, in emission order. Catalog names first; fields marked
# "paysim" in the comments are additive extensions documented in docs/events.md.
FIELDS: dict[str, tuple[str, ...]] = {
    "Arrival": ("tx_id", "sender_id", "receiver_id", "amount", "deadline", "priority",
                "is_divisible"),
    "PolicySubmit": ("agent_id", "tx_id", "decision_path"),                      # + path (paysim)
    "PolicyHold": ("agent_id", "tx_id", "reason", "decision_path"),              # + path (paysim)
    "PolicyDrop": ("agent_id", "tx_id", "reason", "decision_path"),              # + path (paysim)
    "PolicySplit": ("agent_id", "tx_id", "num_splits", "child_ids", "decision_path"),
    "TransactionReprioritized": ("agent_id", "tx_id", "old_priority", "new_priority",
                                 "decision_path"),
    "PriorityEscalated": ("tx_id", "sender_id", "original_priority", "escalated_priority",
                          "ticks_until_deadline", "boost_applied"),
    # CollateralPost: + layer, auto_withdraw_after_ticks, withdrawal_tick, balance, decision_path
    "CollateralPost": ("agent_id", "amount", "reason", "new_total", "layer",
                       "auto_withdraw_after_ticks", "withdrawal_tick", "balance",
                       "decision_path"),
    "CollateralPostCapped": ("agent_id", "requested_amount", "posted_amount",
                             "capacity_remaining", "reason", "layer",
                             "decision_path"),                                   # paysim-only
    "CollateralWithdraw": ("agent_id", "amount", "reason", "new_total", "layer", "balance",
                           "decision_path"),
    "CollateralTimerWithdrawn": ("agent_id", "amount", "original_reason", "posted_at_tick",
                                 "new_total", "balance"),
    "CollateralTimerBlocked": ("agent_id", "requested_amount", "reason", "original_reason",
                               "posted_at_tick"),
    "BankBudgetSet": ("agent_id", "max_value", "focus_counterparties", "max_per_counterparty",
                      "decision_path"),
    "StateRegisterSet": ("agent_id", "register_key", "old_value", "new_value", "reason",
                         "decision_path"),
    "RtgsSubmission": ("tx_id", "sender", "receiver", "amount", "internal_priority",
                       "rtgs_priority"),
    "RtgsWithdrawal": ("tx_id", "sender", "original_rtgs_priority"),
    "RtgsResubmission": ("tx_id", "sender", "old_rtgs_priority", "new_rtgs_priority"),
    "RtgsImmediateSettlement": ("tx_id", "sender", "receiver", "amount",
                                "sender_balance_before", "sender_balance_after"),
    "OverdueTransactionSettled": ("tx_id", "sender_id", "receiver_id", "amount",
                                  "settled_amount", "deadline_tick", "overdue_since_tick",
                                  "total_ticks_overdue", "deadline_penalty_cost",
                                  "estimated_delay_cost"),
    "QueuedRtgs": ("tx_id", "sender_id"),
    "BilateralLimitExceeded": ("sender", "receiver", "tx_id", "amount",
                               "current_bilateral_outflow", "bilateral_limit"),
    "MultilateralLimitExceeded": ("sender", "tx_id", "amount", "current_total_outflow",
                                  "multilateral_limit"),
    "Queue2LiquidityRelease": ("tx_id", "sender", "receiver", "amount", "queue_wait_ticks",
                               "release_reason"),
    "LsmQueueRetrySettlement": ("tx_id", "sender", "receiver", "amount", "queue_wait_ticks",
                                "release_reason"),                               # paysim-only
    "LsmBilateralOffset": ("agent_a", "agent_b", "tx_ids", "amount_a", "amount_b", "amount",
                           "settled"),                                           # + settled
    "EntryDispositionOffset": ("incoming_tx_id", "queued_tx_id", "agent_a", "agent_b",
                               "offset_amount", "incoming_amount", "queued_amount", "settled"),
    "LsmCycleSettlement": ("agents", "tx_ids", "tx_amounts", "total_value", "net_positions",
                           "max_net_outflow", "max_net_outflow_agent", "cycle_value"),
    "AlgorithmExecution": ("algorithm", "result", "settlements", "settled_value"),
    "DeferredCreditApplied": ("agent_id", "amount", "source_transactions"),
    "TransactionWentOverdue": ("tx_id", "sender_id", "receiver_id", "amount",
                               "remaining_amount", "deadline_tick", "ticks_overdue",
                               "deadline_penalty_cost"),
    "CostAccrual": ("agent_id", "liquidity_cost", "delay_cost", "collateral_cost",
                    "penalty_cost", "split_friction_cost", "total",
                    "liquidity_opportunity_cost", "source"),                     # + source
    "EndOfDay": ("day", "unsettled_count", "total_penalties"),
    "LiquidityAllocation": ("day", "agent_id", "fraction", "amount", "balance_after"),
    "LiquidityReturn": ("agent_id", "amount", "balance_after"),
    "ScenarioEventExecuted": ("scenario_event_type", "details_json", "details"),
}

EVENT_TYPES: tuple[str, ...] = tuple(FIELDS)

# Fields that are paysim_lab additions (not in the reference's catalog).
EXTENSION_FIELDS: dict[str, tuple[str, ...]] = {
    "PolicySubmit": ("decision_path",),
    "PolicyHold": ("decision_path",),
    "PolicyDrop": ("decision_path",),
    "PolicySplit": ("decision_path",),
    "TransactionReprioritized": ("decision_path",),
    "CollateralPost": ("layer", "auto_withdraw_after_ticks", "withdrawal_tick", "balance",
                       "decision_path"),
    "CollateralWithdraw": ("layer", "balance", "decision_path"),
    "CollateralTimerWithdrawn": ("balance",),
    "BankBudgetSet": ("decision_path",),
    "LsmBilateralOffset": ("settled",),
    "EntryDispositionOffset": ("settled",),
    "CostAccrual": ("source",),
}

# Extra event types that only paysim_lab emits.
EXTENSION_TYPES: tuple[str, ...] = ("LsmQueueRetrySettlement", "CollateralPostCapped")


def to_dict(rec: tuple) -> dict:
    """Turn an engine record into ``{"event_type", "tick", **fields}``."""
    d = {"event_type": rec[0], "tick": rec[1]}
    d.update(zip(FIELDS[rec[0]], rec[2:]))
    return d


def from_dict(d: dict) -> tuple:
    """Inverse of :func:`to_dict` (missing fields become None)."""
    et = d["event_type"]
    return (et, d["tick"], *(d.get(f) for f in FIELDS[et]))


def record_agent_id(rec: tuple):
    """The mixed frame's ``agent_id``: the event's agent_id, else sender_id, else sender."""
    fields = FIELDS[rec[0]]
    for name in ("agent_id", "sender_id", "sender"):
        if name in fields:
            return rec[2 + fields.index(name)]
    return None


def _position(et: str, name: str) -> int | None:
    f = FIELDS[et]
    return 2 + f.index(name) if name in f else None


# Precomputed positions for the three common columns of the mixed frame.
AGENT_POS: dict[str, int | None] = {}
TX_POS: dict[str, int | None] = {}
AMOUNT_POS: dict[str, int | None] = {}
for _et in FIELDS:
    AGENT_POS[_et] = next((p for p in (_position(_et, n) for n in ("agent_id", "sender_id", "sender"))
                           if p is not None), None)
    TX_POS[_et] = _position(_et, "tx_id")
    AMOUNT_POS[_et] = _position(_et, "amount")
del _et
