"""A stand-in for ``paysim_lab.policy`` used by the loader's own tests.

It lets the scenario loader be tested on its own: documents are checked only for the two
required keys (and a ``"reject"`` marker), built-ins are tiny Release trees carrying their
parameters, and feature categories come from the actions a document uses.

>>> api = stub_policy_api()
>>> api.builtin_document("Deadline", {"urgency_threshold": 3})["parameters"]
{'urgency_threshold': 3.0}
"""
from __future__ import annotations

from ..errors import PolicyError
from .policies import PolicyApi

ACTION_CATEGORY = {
    "Release": "PaymentAction", "ReleaseWithCredit": "PaymentAction", "Hold": "PaymentAction",
    "Split": "PaymentAction", "Drop": "PaymentAction",
    "SetReleaseBudget": "BankAction", "SetState": "BankAction", "AddState": "BankAction",
    "PostCollateral": "CollateralAction", "WithdrawCollateral": "CollateralAction",
    "HoldCollateral": "CollateralAction",
    "WithdrawFromRtgs": "RtgsAction", "ResubmitToRtgs": "RtgsAction",
}


def _builtin_document(kind: str, params: dict) -> dict:
    return {"version": "1.0", "policy_id": f"builtin_{kind}",
            "parameters": {k: float(v) for k, v in params.items()},
            "payment_tree": {"type": "action", "node_id": "R", "action": "Release"}}


def _validate_document(doc, profile=None, source=None):
    if not isinstance(doc, dict):
        raise PolicyError(f"{source}: a policy must be a JSON object")
    for key in ("version", "policy_id"):
        if key not in doc:
            raise PolicyError(f"{source}: {key}: required key is missing")
    if "reject" in doc:
        raise PolicyError(f"{source}: rejected: {doc['reject']}")
    return doc


def _actions(node, out: set) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("action"), str):
            out.add(node["action"])
        for value in node.values():
            _actions(value, out)
    elif isinstance(node, list):
        for value in node:
            _actions(value, out)


def _check_feature_toggles(doc, include=None, exclude=None):
    used: set[str] = set()
    _actions(doc, used)
    cats = {ACTION_CATEGORY[a] for a in used if a in ACTION_CATEGORY}
    if include is not None:
        return sorted(c for c in cats if c not in include)
    if exclude is not None:
        return sorted(c for c in cats if c in exclude)
    return []


def stub_policy_api() -> PolicyApi:
    return PolicyApi(_builtin_document, _validate_document, _check_feature_toggles)
