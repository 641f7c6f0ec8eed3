"""Names of the policy language: trees, context fields, actions and their parameters.

One place for every list the validator, the compiler, the widget editor and the docs share
(policy.md sections 3, 10 and 11).

>>> "remaining_amount" in FIELD_NAMES["payment"], "remaining_amount" in FIELD_NAMES["bank"]
(True, False)
>>> [p["name"] for p in ACTIONS_BY_TREE["payment"]["Split"]]
['num_splits']
"""
from __future__ import annotations

# ---- trees ---------------------------------------------------------------------------------

TREE_KEYS = ("payment_tree", "bank_tree", "strategic_collateral_tree",
             "end_of_tick_collateral_tree")
# the context each tree is evaluated in (policy.md 10.1)
TREE_KIND = {"payment_tree": "payment", "bank_tree": "bank",
             "strategic_collateral_tree": "collateral",
             "end_of_tick_collateral_tree": "collateral"}
TREE_ALIASES = {
    "payment": "payment_tree", "payment_tree": "payment_tree",
    "bank": "bank_tree", "bank_tree": "bank_tree",
    "strategic": "strategic_collateral_tree", "strategic_collateral": "strategic_collateral_tree",
    "strategic_collateral_tree": "strategic_collateral_tree",
    "end_of_tick": "end_of_tick_collateral_tree",
    "end_of_tick_collateral": "end_of_tick_collateral_tree",
    "end_of_tick_collateral_tree": "end_of_tick_collateral_tree",
}
TOP_LEVEL_KEYS = ("version", "policy_id", "description", "parameters") + TREE_KEYS

# ---- context fields (policy.md 10.2) -------------------------------------------------------

TRANSACTION_FIELDS = (
    "amount", "remaining_amount", "settled_amount", "arrival_tick", "deadline_tick",
    "priority", "is_split", "is_past_deadline", "is_overdue", "is_in_queue2",
    "overdue_duration", "ticks_to_deadline", "queue_age", "cost_delay_this_tx_one_tick",
    "cost_overdraft_this_amount_one_tick",
)
# accepted by validation in the payment tree but present in no context (policy.md 10.4)
PHANTOM_FIELDS = ("time_in_queue", "cost_delay_so_far", "cost_if_settled_now",
                  "cost_if_held_one_tick", "cost_urgency")
AGENT_FIELDS = (
    "balance", "credit_limit", "available_liquidity", "credit_used", "effective_liquidity",
    "credit_headroom", "is_using_credit", "liquidity_buffer", "liquidity_pressure",
    "is_overdraft_capped", "outgoing_queue_size", "queue1_total_value",
    "queue1_liquidity_gap", "headroom", "incoming_expected_count", "current_tick",
    "rtgs_queue_size", "rtgs_queue_value", "queue2_size", "total_agents",
    "queue2_count_for_agent", "queue2_nearest_deadline", "ticks_to_nearest_queue2_deadline",
    "posted_collateral", "max_collateral_capacity", "remaining_collateral_capacity",
    "collateral_utilization", "collateral_haircut", "unsecured_cap", "allowed_overdraft_limit",
    "overdraft_headroom", "overdraft_utilization", "required_collateral_for_usage",
    "excess_collateral", "cost_overdraft_bps_per_tick", "cost_delay_per_tick_per_cent",
    "cost_collateral_bps_per_tick", "cost_split_friction", "cost_deadline_penalty",
    "cost_eod_penalty", "system_ticks_per_day", "system_current_day", "system_tick_in_day",
    "ticks_remaining_in_day", "day_progress_fraction", "is_eod_rush",
    "system_queue2_pressure_index", "my_throughput_fraction_today",
    "expected_throughput_fraction_by_now", "throughput_gap",
)
# computed by SimCash but rejected by its validator (policy.md 10.3): always invalid here
REJECTED_FIELDS = (
    "my_q2_out_value_to_counterparty", "my_q2_in_value_from_counterparty",
    "my_bilateral_net_q2",
    *(f"my_q2_out_value_top_{i}" for i in range(1, 6)),
    *(f"my_q2_in_value_top_{i}" for i in range(1, 6)),
    *(f"my_bilateral_net_q2_top_{i}" for i in range(1, 6)),
    *(f"top_cpty_{i}_id_hash" for i in range(1, 6)),
    "tx_counterparty_id", "tx_is_top_counterparty", "lsm_run_rate_last_10_ticks",
    "system_throughput_guidance_fraction_by_tick",
)
REGISTER_PREFIX = "bank_state_"
# extended profile only: alternative spellings of a field
FIELD_ALIASES = {"tick": "current_tick"}

_T = frozenset(TRANSACTION_FIELDS)
_P = frozenset(PHANTOM_FIELDS)
_A = frozenset(AGENT_FIELDS)
TRANSACTION_FIELD_SET = _T | _P
AGENT_FIELD_SET = _A
CONTEXT_FIELD_NAMES = _T | _P | _A | frozenset(FIELD_ALIASES)

# Fields valid per tree kind, for editors (registers: any name starting with bank_state_).
FIELD_NAMES = {
    "payment": TRANSACTION_FIELDS + AGENT_FIELDS,
    "bank": AGENT_FIELDS,
    "collateral": AGENT_FIELDS,
}
FIELD_NAMES["payment_tree"] = FIELD_NAMES["payment"]
FIELD_NAMES["bank_tree"] = FIELD_NAMES["bank"]
FIELD_NAMES["strategic_collateral_tree"] = FIELD_NAMES["collateral"]
FIELD_NAMES["end_of_tick_collateral_tree"] = FIELD_NAMES["collateral"]

# ---- actions (policy.md 11) ------------------------------------------------------------------

PAYMENT_ACTION_NAMES = ("Release", "ReleaseWithCredit", "Split", "PaceAndRelease",
                        "StaggerSplit", "Hold", "Drop", "Reprioritize", "WithdrawFromRtgs",
                        "ResubmitToRtgs")
BANK_ACTION_NAMES = ("SetReleaseBudget", "SetState", "AddState", "NoAction")
COLLATERAL_ACTION_NAMES = ("PostCollateral", "WithdrawCollateral", "HoldCollateral")
ALL_ACTION_NAMES = PAYMENT_ACTION_NAMES + BANK_ACTION_NAMES + COLLATERAL_ACTION_NAMES
# the name the engine receives (decisions.py)
CANONICAL_ACTION = {name: name for name in ALL_ACTION_NAMES}
CANONICAL_ACTION["ReleaseWithCredit"] = "Release"
CANONICAL_ACTION["PaceAndRelease"] = "Split"


def _p(name, type_, required=False, note=""):
    return {"name": name, "type": type_, "required": required, "note": note}


# parameter specs: type "number" (any value form), "string" (literal string only),
# "string_list" (literal list of strings)
ACTION_PARAMETERS = {
    "Release": (_p("priority_flag", "string", note="HIGH / MEDIUM / LOW"),
                _p("timed_for_tick", "number")),
    "Split": (_p("num_splits", "number", True),),
    "StaggerSplit": (_p("num_splits", "number", True), _p("stagger_first_now", "number", True),
                     _p("stagger_gap_ticks", "number", True),
                     _p("priority_boost_children", "number", True)),
    "Hold": (_p("reason", "string", note="InsufficientLiquidity, AwaitingInflows, LowPriority, "
                                        "NearDeadline or free text"),),
    "Drop": (),
    "Reprioritize": (_p("new_priority", "number", True),),
    "WithdrawFromRtgs": (),
    "ResubmitToRtgs": (_p("rtgs_priority", "string", True, "HighlyUrgent / Urgent / Normal"),),
    "SetReleaseBudget": (_p("max_value_to_release", "number", True),
                         _p("focus_counterparties", "string_list"),
                         _p("max_per_counterparty", "number")),
    "SetState": (_p("key", "string", True), _p("value", "number", True), _p("reason", "string")),
    "NoAction": (),
    "PostCollateral": (_p("amount", "number", True),
                       _p("reason", "string", note="UrgentLiquidityNeed, PreemptivePosting, "
                                                   "LiquidityRestored, EndOfDayCleanup, "
                                                   "DeadlineEmergency, CostOptimization"),
                       _p("auto_withdraw_after_ticks", "number")),
    "WithdrawCollateral": (_p("amount", "number", True), _p("reason", "string")),
    "HoldCollateral": (),
}
ACTION_PARAMETERS["ReleaseWithCredit"] = ACTION_PARAMETERS["Release"]
ACTION_PARAMETERS["PaceAndRelease"] = ACTION_PARAMETERS["Split"]
ACTION_PARAMETERS["AddState"] = ACTION_PARAMETERS["SetState"]

# spellings used by some published files that SimCash silently ignores
PARAMETER_SPELLING_HINTS = {"focus_cpty_list": "focus_counterparties",
                            "max_per_cpty": "max_per_counterparty"}

COLLATERAL_REASONS = ("UrgentLiquidityNeed", "PreemptivePosting", "LiquidityRestored",
                      "EndOfDayCleanup", "DeadlineEmergency", "CostOptimization")
HOLD_REASONS = ("InsufficientLiquidity", "AwaitingInflows", "LowPriority", "NearDeadline")
RTGS_PRIORITIES = ("HighlyUrgent", "Urgent", "Normal")

# Valid actions per tree kind (SimCash profile; the extended profile also accepts the
# collateral actions in the bank tree).
ACTIONS_BY_TREE = {
    "payment": {a: [dict(p) for p in ACTION_PARAMETERS[a]] for a in PAYMENT_ACTION_NAMES},
    "bank": {a: [dict(p) for p in ACTION_PARAMETERS[a]] for a in BANK_ACTION_NAMES},
    "collateral": {a: [dict(p) for p in ACTION_PARAMETERS[a]] for a in COLLATERAL_ACTION_NAMES},
}
ACTIONS_BY_TREE["payment_tree"] = ACTIONS_BY_TREE["payment"]
ACTIONS_BY_TREE["bank_tree"] = ACTIONS_BY_TREE["bank"]
ACTIONS_BY_TREE["strategic_collateral_tree"] = ACTIONS_BY_TREE["collateral"]
ACTIONS_BY_TREE["end_of_tick_collateral_tree"] = ACTIONS_BY_TREE["collateral"]

# ---- expressions and computations (policy.md 6, 8) -----------------------------------------

COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=")
LOGICAL_OPS = ("and", "or", "not")
COMPUTE_OPERANDS = {           # op -> operand keys in evaluation order
    "+": ("left", "right"), "-": ("left", "right"), "*": ("left", "right"),
    "/": ("left", "right"),
    "max": ("values",), "min": ("values",),
    "ceil": ("value",), "floor": ("value",), "round": ("value",), "abs": ("value",),
    "clamp": ("value", "min", "max"),
    "div0": ("numerator", "denominator", "default"),
}
EXPRESSION_OPS = COMPARISON_OPS + LOGICAL_OPS
VALUE_KEYS_EXPR = ("field", "param", "value", "compute")     # precedence in expressions
VALUE_KEYS_ACTION = ("value", "field", "param", "compute")   # precedence in action params

CONDITION_NODE_KEYS = ("type", "node_id", "description", "condition", "on_true", "on_false")
ACTION_NODE_KEYS = ("type", "node_id", "description", "action", "parameters")
SEQUENCE_NODE_KEYS = ("type", "node_id", "description", "children")
LINT_EXEMPT_KEYS = ("comment", "description")
