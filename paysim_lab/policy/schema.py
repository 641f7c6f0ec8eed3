"""JSON Schema of policy documents, built from the language's catalog.

The schema describes the structure of a policy file (policy.md sections 3, 5-8, 11) so that
editors and outside tools can check files without paysim_lab: node shapes, expression and
computation operators, value forms and action names. It accepts every document either profile
accepts (the extended profile's ``sequence`` nodes and omitted ``node_id`` included); the
semantic rules (field names per tree, duplicate ids, depth, parameter references) stay with
:func:`paysim_lab.load_policy`, which reports them with node ids.

>>> schema = policy_json_schema()
>>> schema["required"]
['version', 'policy_id']
>>> sorted(schema["$defs"])[:3]
['action_node', 'computation', 'condition_node']
"""
from __future__ import annotations

from typing import Any

from . import catalog as C

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _computation() -> dict:
    # One branch per operator, so a missing operand is reported against that operator.
    branches = []
    for op, keys in C.COMPUTE_OPERANDS.items():
        props: dict[str, Any] = {"op": {"const": op}}
        for key in keys:
            props[key] = ({"type": "array", "items": _ref("value")} if key == "values"
                          else _ref("value"))
        required = ["op"] + [k for k in keys if k != "default"] + (
            ["default"] if op == "div0" else [])
        branches.append({"type": "object", "properties": props, "required": required})
    return {"oneOf": branches}


def _value() -> dict:
    # Precedence between several keys is a lint, not a structural error: any one suffices.
    return {
        "type": "object",
        "properties": {
            "field": {"type": "string"},
            "param": {"type": "string"},
            "value": {},
            "compute": _ref("computation"),
        },
        "anyOf": [{"required": [k]} for k in C.VALUE_KEYS_EXPR],
    }


def _expression() -> dict:
    return {"oneOf": [
        {"type": "object", "required": ["op", "left", "right"],
         "properties": {"op": {"enum": list(C.COMPARISON_OPS)}, "left": _ref("value"),
                        "right": _ref("value")}},
        {"type": "object", "required": ["op", "conditions"],
         "properties": {"op": {"enum": ["and", "or"]},
                        "conditions": {"type": "array", "items": _ref("expression")}}},
        {"type": "object", "required": ["op", "condition"],
         "properties": {"op": {"const": "not"}, "condition": _ref("expression")}},
    ]}


def _nodes() -> dict[str, dict]:
    node_id = {"type": "string"}
    return {
        "node": {"oneOf": [_ref("condition_node"), _ref("action_node"),
                           _ref("sequence_node")]},
        "condition_node": {
            "type": "object",
            "required": ["type", "condition", "on_true", "on_false"],
            "properties": {"type": {"const": "condition"}, "node_id": node_id,
                           "description": {"type": "string"},
                           "condition": _ref("expression"),
                           "on_true": _ref("node"), "on_false": _ref("node")},
        },
        "action_node": {
            "type": "object",
            "required": ["type", "action"],
            "properties": {"type": {"const": "action"}, "node_id": node_id,
                           "action": {"enum": list(C.ALL_ACTION_NAMES)},
                           "parameters": {"type": "object",
                                          "additionalProperties": _ref("value")}},
        },
        "sequence_node": {
            "description": "extended profile, bank tree only: run each child in order",
            "type": "object",
            "required": ["type", "children"],
            "properties": {"type": {"const": "sequence"}, "node_id": node_id,
                           "description": {"type": "string"},
                           "children": {"type": "array", "minItems": 1,
                                        "items": _ref("node")}},
        },
    }


def policy_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a policy document.

    >>> import jsonschema
    >>> jsonschema.validate({"version": "1.0", "policy_id": "p"}, policy_json_schema())
    """
    tree = {"anyOf": [_ref("node"), {"type": "null"}]}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "paysim_lab policy",
        "description": "A JSON decision-tree policy (policy.md). Unknown top-level keys are "
                       "allowed and ignored.",
        "type": "object",
        "required": ["version", "policy_id"],
        "properties": {
            "version": {"type": "string"},
            "policy_id": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "parameters": {"type": "object", "additionalProperties": {"type": "number"}},
            **{key: tree for key in C.TREE_KEYS},
        },
        "$defs": {
            **_nodes(),
            "expression": _expression(),
            "value": _value(),
            "computation": _computation(),
        },
    }
