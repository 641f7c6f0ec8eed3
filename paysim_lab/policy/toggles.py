"""Scenario feature toggles: which language categories a policy uses (policy.md 13.7).

The category of every action, operator and field is in the tables below (also printed in
docs/policies.md). For compatibility the walk and the field table follow SimCash exactly:
only fields listed in ``FIELD_CATEGORIES`` are ever restricted (so ``bank_state_*`` registers
and most agent/queue fields escape every toggle), and the operands inside ``not``,
``ceil``/``floor``/``round``/``abs``, ``clamp`` and ``div0`` are not inspected.

>>> doc = {"version": "1.0", "policy_id": "p", "payment_tree": {"type": "action",
...        "node_id": "A", "action": "PostCollateral", "parameters": {"amount": {"value": 1}}}}
>>> check_feature_toggles(doc, include=["PaymentAction"])
['CollateralAction']
"""
from __future__ import annotations

from ..errors import PolicyError

ACTION_CATEGORIES = {
    **{a: "PaymentAction" for a in ("Release", "ReleaseWithCredit", "PaceAndRelease", "Split",
                                    "StaggerSplit", "Hold", "Drop", "Reprioritize")},
    **{a: "BankAction" for a in ("SetReleaseBudget", "SetState", "AddState")},
    **{a: "CollateralAction" for a in ("PostCollateral", "WithdrawCollateral",
                                       "HoldCollateral")},
    **{a: "RtgsAction" for a in ("WithdrawFromRtgs", "ResubmitToRtgs")},
}   # NoAction has no category and is never restricted

OPERATOR_CATEGORIES = {
    **{op: "ComparisonOperator" for op in ("==", "!=", "<", "<=", ">", ">=")},
    **{op: "LogicalOperator" for op in ("and", "or", "not")},
    **{op: "BinaryArithmetic" for op in ("+", "-", "*", "/")},
    **{op: "NaryArithmetic" for op in ("max", "min")},
    **{op: "UnaryMath" for op in ("ceil", "floor", "round", "abs")},
    **{op: "TernaryMath" for op in ("clamp", "div0")},
}

FIELD_CATEGORIES = {
    **{f: "TransactionField" for f in ("amount", "remaining_amount", "priority", "arrival_tick",
                                       "deadline_tick", "is_overdue")},
    **{f: "AgentField" for f in ("balance", "effective_liquidity", "credit_limit",
                                 "unsecured_cap")},
    **{f: "QueueField" for f in ("queue1_liquidity_gap", "queue2_size")},
    **{f: "TimeField" for f in ("current_tick", "ticks_to_deadline", "is_eod_rush",
                                "is_past_deadline", "tick")},
    **{f: "CollateralField" for f in ("posted_collateral", "collateral_haircut",
                                      "remaining_collateral_capacity")},
    **{f: "CostField" for f in ("cost_delay_this_tx_one_tick",
                                "cost_overdraft_this_amount_one_tick", "cost_deadline_penalty",
                                "cost_eod_penalty", "cost_split_friction")},
    "liquidity_pressure": "DerivedField",
}

ALL_CATEGORIES = (
    "ComparisonOperator", "LogicalOperator", "BinaryArithmetic", "NaryArithmetic", "UnaryMath",
    "TernaryMath", "ValueType", "PaymentAction", "BankAction", "CollateralAction", "RtgsAction",
    "TransactionField", "AgentField", "QueueField", "CollateralField", "CostField", "TimeField",
    "LsmField", "ThroughputField", "StateRegisterField", "SystemField", "DerivedField",
    "NodeType", "TreeType",
)
_TREES = ("payment_tree", "bank_tree", "strategic_collateral_tree", "end_of_tick_collateral_tree")
_MAX_WALK = 400   # documents are depth-checked by validation; this guards raw input


def _value(v, out, depth):
    if not isinstance(v, dict) or depth > _MAX_WALK:
        return
    if "field" in v and isinstance(v["field"], str) and v["field"] in FIELD_CATEGORIES:
        out.add(FIELD_CATEGORIES[v["field"]])
    if "compute" in v:
        _comp(v["compute"], out, depth + 1)
    for key, sub in v.items():           # action parameter maps hold value objects
        if key not in ("field", "value", "param", "compute"):
            _value(sub, out, depth + 1)


# _comp and _condition look alike on purpose: they mirror the reference engine's collector,
# which reads only left/right/values (and conditions) and never the operands of unary and
# ternary computations nor the expression under "not". Inspecting more would refuse scenario
# files that SimCash accepts (tests pin this parity).
def _comp(c, out, depth):
    if not isinstance(c, dict) or depth > _MAX_WALK:
        return
    op = c.get("op")
    if isinstance(op, str) and op in OPERATOR_CATEGORIES:
        out.add(OPERATOR_CATEGORIES[op])
    for key in ("left", "right"):
        if key in c:
            _value(c[key], out, depth + 1)
    if isinstance(c.get("values"), list):
        for v in c["values"]:
            _value(v, out, depth + 1)


def _condition(c, out, depth):
    if not isinstance(c, dict) or depth > _MAX_WALK:
        return
    op = c.get("op")
    if isinstance(op, str) and op in OPERATOR_CATEGORIES:
        out.add(OPERATOR_CATEGORIES[op])
    for key in ("left", "right"):
        if key in c:
            _value(c[key], out, depth + 1)
    if isinstance(c.get("conditions"), list):
        for sub in c["conditions"]:
            _condition(sub, out, depth + 1)
    if isinstance(c.get("values"), list):
        for v in c["values"]:
            _value(v, out, depth + 1)


def _node(n, out, depth):
    if not isinstance(n, dict) or depth > _MAX_WALK:
        return
    kind = n.get("type")
    if kind == "action":
        action = n.get("action")
        if isinstance(action, str) and action in ACTION_CATEGORIES:
            out.add(ACTION_CATEGORIES[action])
        if "parameters" in n:
            _value(n["parameters"], out, depth + 1)
    elif kind == "condition":
        if "condition" in n:
            _condition(n["condition"], out, depth + 1)
        for key in ("on_true", "on_false"):
            if key in n:
                _node(n[key], out, depth + 1)
    elif kind == "sequence" and isinstance(n.get("children"), list):
        for child in n["children"]:
            _node(child, out, depth + 1)


def policy_categories(document: dict) -> set[str]:
    """Every category the document uses (see the module docstring for what is inspected)."""
    out: set[str] = set()
    if isinstance(document, dict):
        for tree in _TREES:
            _node(document.get(tree), out, 0)
    return out


def check_feature_toggles(document: dict, include=None, exclude=None) -> list[str]:
    """Sorted categories ``document`` uses that the toggles forbid (empty = allowed).

    ``include``: only these categories are allowed; ``exclude``: these are forbidden.
    Giving both raises PolicyError (a scenario error: the scenario loader reports it).
    """
    if include is not None and exclude is not None:
        raise PolicyError("policy_feature_toggles: give either 'include' or 'exclude', not both")
    used = policy_categories(document)
    if include is not None:
        allowed = set(include)
        return sorted(c for c in used if c not in allowed)
    if exclude is not None:
        banned = set(exclude)
        return sorted(c for c in used if c in banned)
    return []


def toggle_message(agent_id: str, forbidden: list[str], include=None, exclude=None) -> str:
    """The scenario-load message for a violation (policy.md 13.7)."""
    msg = f"Agent {agent_id}: Policy uses forbidden categories: {', '.join(forbidden)}."
    if include is not None:
        return msg + f" Allowed categories: {', '.join(include)}."
    return msg + f" Excluded categories: {', '.join(exclude or [])}."
