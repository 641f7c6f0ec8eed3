"""JSON Schema of scenario files, for editors and outside validators.

The schema is generated from the pydantic models that load scenarios, so it cannot drift from
them. It checks structure and value types; the cross-field rules (agent ids that exist,
deadline ranges in order, policy files that resolve) are checked by
:func:`paysim_lab.load_scenario`, which names the file and the path of each problem.

>>> schema = scenario_json_schema()
>>> schema["required"]
['agents']
"""
from __future__ import annotations

from .models import Scenario

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a scenario file in either profile."""
    schema = _standard_bounds(Scenario.model_json_schema(mode="validation"))
    schema = {"$schema": SCHEMA_DIALECT, **schema}
    schema["title"] = "paysim_lab scenario"
    schema["description"] = ("A payment-system scenario (docs/scenario_format.md): the "
                             "simulation clock, the banks and their policies, costs, LSM "
                             "settings and scenario events.")
    return schema


_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum",
           "le": "maximum"}


def _standard_bounds(node):
    """Bounds on validated numbers come out under pydantic's names (gt, le); JSON Schema's
    are exclusiveMinimum, maximum, ..."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _BOUNDS and isinstance(value, (int, float)) \
                    and node.get("type") in ("integer", "number"):
                out[_BOUNDS[key]] = value
            else:
                out[key] = _standard_bounds(value)
        return out
    if isinstance(node, list):
        return [_standard_bounds(v) for v in node]
    return node
