"""The named built-in policy types (policy.md 2.1, engine.md 10) as ordinary documents.

Each type is a bundled JSON file in ``data/policies``; the scenario's values are injected into
its ``parameters`` as floats, so built-ins and custom trees share one code path.

>>> builtin_document("Deadline", {"urgency_threshold": 3})["parameters"]["urgency_threshold"]
3.0
"""
from __future__ import annotations

import json
from functools import lru_cache

from ..data import policies_dir
from ..errors import PolicyError
from .ir import copy_json
from .numeric import is_json_number, json_number

BUILTIN_FILES = {
    "Fifo": "fifo.json",
    "Deadline": "deadline.json",
    "LiquidityAware": "liquidity_aware.json",
    "LiquiditySplitting": "liquidity_splitting.json",
    "MockSplitting": "mock_splitting.json",
}
BUILTIN_PARAMETERS = {
    "Fifo": (),
    "Deadline": ("urgency_threshold",),
    "LiquidityAware": ("target_buffer", "urgency_threshold"),
    "LiquiditySplitting": ("max_splits", "min_split_amount"),
    "MockSplitting": ("num_splits",),
}


@lru_cache(maxsize=None)
def _load(file_name: str) -> dict:
    path = policies_dir() / file_name
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def builtin_document(type_name: str, params: dict | None = None) -> dict:
    """The effective policy document of a built-in ``type`` with ``params`` injected.

    ``params`` holds the type's keys only (e.g. ``{"urgency_threshold": 5}`` for Deadline);
    values must be numbers and are stored as floats, overriding the file's defaults. Range
    checks (``urgency_threshold > 0`` ...) belong to the scenario loader.
    """
    if type_name not in BUILTIN_FILES:
        raise PolicyError(f"unknown built-in policy type {type_name!r}; accepted: "
                          + ", ".join(BUILTIN_FILES),
                          [{"code": "UnknownPolicyType", "message": f"unknown type {type_name!r}",
                            "tree": None, "node_id": None, "path": "type"}])
    doc = copy_json(_load(BUILTIN_FILES[type_name]))
    allowed = BUILTIN_PARAMETERS[type_name]
    errors = []
    for key, value in (params or {}).items():
        if key not in allowed:
            errors.append({"code": "UnknownParameter", "tree": None, "node_id": None,
                           "path": str(key),
                           "message": f"{type_name}: unknown parameter {key!r}; accepted: "
                                      + (", ".join(allowed) or "none")})
        elif not is_json_number(value):
            errors.append({"code": "NotANumber", "tree": None, "node_id": None, "path": key,
                           "message": f"{type_name}: parameter {key!r} must be a number, "
                                      f"got {value!r}"})
        else:
            doc["parameters"][key] = json_number(value)
    if errors:
        raise PolicyError("\n".join(e["message"] for e in errors), errors)
    return doc
