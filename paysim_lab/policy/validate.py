"""Parse and validate a policy document (policy.md 13.2-13.5).

``analyze`` turns the user's dict into the parsed records of :mod:`.ir`, collecting every
structural error (13.2), then runs SimCash's semantic rules (13.3) and paysim_lab's lints (13.5).
Nothing here raises on bad input except through :class:`PolicyError`; deep or cyclic input is
stopped by an explicit nesting limit before any recursive walk starts.

>>> doc = {"version": "1.0", "policy_id": "p",
...        "payment_tree": {"type": "action", "node_id": "A", "action": "Relase"}}
>>> try:
...     validate_document(doc, profile="simcash", source="<dict>")
... except PolicyError as e:
...     print(e.errors[0]["code"])
UnknownAction
"""
from __future__ import annotations

import warnings

from ..docshape import policy_size_problem, shape_problem
from ..errors import PolicyError, PolicyWarning
from .analysis import (MAX_DOCUMENT_VALUES, MAX_NESTING, MAX_TREE_DEPTH, PROFILES, Analysis,
                       check_profile, closest, edit_distance, nesting_depth_exceeds)
from .tree_parser import _Parser
from .tree_rules import _lints, _semantic

# the names other modules import from here (the passes live in analysis, tree_parser and
# tree_rules)
__all__ = ["analyze", "validate_document", "raise_for_errors", "emit_lints", "apply_defaults",
           "Analysis", "PROFILES", "MAX_TREE_DEPTH", "MAX_NESTING", "MAX_DOCUMENT_VALUES",
           "check_profile", "closest", "edit_distance", "nesting_depth_exceeds"]


def apply_defaults(document, defaults):
    """Fill keys missing from ``document`` (e.g. ``policy_id``/``version`` of an inline entry)."""
    if not defaults or not isinstance(document, dict):
        return document
    missing = {k: v for k, v in defaults.items() if k not in document}
    return {**document, **missing} if missing else document


def analyze(document, *, profile: str = "extended", source: str = "<dict>",
            defaults: dict | None = None) -> Analysis:
    """Parse and check ``document``; errors and lints are collected, never raised."""
    check_profile(profile)
    problem = shape_problem(document, max_values=MAX_DOCUMENT_VALUES, max_depth=10**9,
                            string_keys=True) if isinstance(document, dict) else None
    # (depth is left to the parser, which names the node where nesting goes too deep)
    if problem is None and isinstance(document, dict) and not nesting_depth_exceeds(document):
        # (a tree too deep is reported as such by the parser, however many nodes it has)
        size = policy_size_problem(document)
        if size is not None:
            where = ".".join(str(p) for p in size[0])
            problem = f"{where}: {size[1]}" if where else size[1]
    if problem is not None:
        a = Analysis(document, profile, source)
        # a document that contains itself is infinitely deep: same code as the nesting limit
        code = "NestingTooDeep" if "contains itself" in problem else "InvalidDocument"
        a.errors.append({"code": code, "message": f"{source}: {code}: {problem}",
                         "tree": None, "node_id": None, "path": None})
        return a
    document = apply_defaults(document, defaults)
    a = Analysis(document, profile, source)
    p = _Parser(a)
    try:
        p.document(document)
        _semantic(p)        # only fully parsed trees take part
        if not a.errors:
            _lints(p)
    except RecursionError:  # pragma: no cover - the nesting limit prevents it
        a.errors.append({"code": "NestingTooDeep", "message": f"{source}: document nests too "
                         "deeply", "tree": None, "node_id": None, "path": None})
    a.errors = _ordered(a.errors)
    return a


_CODE_ORDER = {"DuplicateNodeId": 1, "ExcessiveDepth": 2, "InvalidFieldReference": 3,
               "InvalidParameterReference": 4, "DivisionByZeroRisk": 5, "InvalidStateKey": 6}


def _ordered(errors):
    # structural errors first (document order), then SimCash's rule groups in rule order
    return sorted(errors, key=lambda e: _CODE_ORDER.get(e["code"], 0))


def raise_for_errors(a: Analysis):
    if a.errors:
        raise PolicyError("\n".join(e["message"] for e in a.errors), a.errors)


def emit_lints(a: Analysis) -> list[str]:
    messages = [l["message"] for l in a.lints]
    for m in messages:
        warnings.warn(m, PolicyWarning, stacklevel=3)
    return messages


def validate_document(document, *, profile: str = "extended", source: str = "<dict>",
                      defaults: dict | None = None) -> list[str]:
    """Validate a policy document; raise PolicyError listing every error, return the lints.

    Lints are also emitted as :class:`PolicyWarning`.

    >>> validate_document({"version": "1.0", "policy_id": "ok", "payment_tree":
    ...     {"type": "action", "node_id": "A", "action": "Release"}})
    []
    """
    a = analyze(document, profile=profile, source=source, defaults=defaults)
    raise_for_errors(a)
    return emit_lints(a)
