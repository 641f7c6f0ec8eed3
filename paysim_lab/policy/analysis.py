"""What validating a policy document works with: the profiles, the size and nesting limits,
:class:`Analysis` (everything learned about one document) and the helpers naming what is wrong
(closest spelling, type names)."""
from __future__ import annotations

from ..errors import PolicyError
from . import catalog as C


PROFILES = ("extended", "simcash")
MAX_TREE_DEPTH = 100
# Hard limit on JSON nesting. SimCash's JSON reader stops at 128 levels, so every document it
# accepts passes; deeper (or cyclic) input gets one clear error instead of a RecursionError.
MAX_NESTING = 300
# a policy with 40 nodes has ~1,000 values; anything near this is data, not a policy
MAX_DOCUMENT_VALUES = 200_000
# fields that can never be 0, so a `/` by them needs no div0 lint
_NONZERO_FIELDS = frozenset({"system_ticks_per_day", "total_agents", "amount",
                             "is_overdraft_capped"})


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise PolicyError(f"unknown policy profile {profile!r}; expected 'extended' or 'simcash'",
                          [{"code": "InvalidProfile", "message": f"unknown profile {profile!r}",
                            "tree": None, "node_id": None, "path": None}])
    return profile


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance (small strings; returns ``limit`` once it is exceeded)."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) >= limit:
            return limit
        prev = cur
    return min(prev[-1], limit)


def closest(name, candidates, max_distance: int = 2):
    """The candidate nearest to ``name`` within ``max_distance`` edits (ties: first listed)."""
    if not isinstance(name, str):
        return None
    best, best_d = None, max_distance + 1
    for cand in candidates:
        d = edit_distance(name, cand, best_d)
        if d < best_d:
            best, best_d = cand, d
    return best


def _q(x) -> str:
    """Quote a name for a message (strings in single quotes, anything else by repr)."""
    return f"'{x}'" if isinstance(x, str) else repr(x)


def _type_name(x) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, (int, float)):
        return "number"
    if isinstance(x, str):
        return "string"
    if isinstance(x, (list, tuple)):
        return "array"
    if isinstance(x, dict):
        return "object"
    return type(x).__name__


def nesting_depth_exceeds(doc, limit: int = MAX_NESTING) -> bool:
    """True if dicts/lists nest deeper than ``limit`` (iterative, safe on cyclic input)."""
    stack = [(doc, 1)]
    while stack:
        x, d = stack.pop()
        if d > limit:
            return True
        if isinstance(x, dict):
            stack.extend((v, d + 1) for v in x.values() if isinstance(v, (dict, list, tuple)))
        elif isinstance(x, (list, tuple)):
            stack.extend((v, d + 1) for v in x if isinstance(v, (dict, list, tuple)))
    return False


class Analysis:
    """Everything validation learned about one document."""

    __slots__ = ("document", "profile", "source", "trees", "parameters", "errors", "lints",
                 "register_keys")

    def __init__(self, document, profile, source):
        self.document = document
        self.profile = profile
        self.source = source
        self.trees = {k: None for k in C.TREE_KEYS}
        self.parameters: dict[str, float] = {}
        self.errors: list[dict] = []
        self.lints: list[dict] = []
        self.register_keys: frozenset = frozenset()
