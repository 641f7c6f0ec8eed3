"""Guards for untrusted document data: size once shared parts are expanded, depth, cycles.

YAML aliases and Python dicts that reuse one sub-structure can describe data that explodes
when walked (2**40 values from 40 nested pairs). Every loader runs :func:`shape_problem`
first, so later walks (validation, pydantic, JSON dumps) only ever see bounded data.

>>> x = 1
>>> for _ in range(40):
...     x = [x, x]
>>> shape_problem(x, max_values=1000)
'document is too large once aliases are expanded (more than 1000 values)'
>>> shape_problem({"a": [1, 2]}) is None
True
"""
from __future__ import annotations


def shape_problem(data, max_values: int = 2_000_000, max_depth: int = 300,
                  string_keys: bool = False) -> str | None:
    """What is wrong with the shape of ``data``, or None.

    Shared sub-structures are counted once per use, which is what any later walk costs.
    ``string_keys`` also requires every dict key to be a string (JSON objects).
    """
    count = 0
    on_path: set[int] = set()
    stack: list = [(data, 0, False)]
    # "aliases": YAML anchors are how users meet this; shared Python objects are the same thing
    too_large = (f"document is too large once aliases are expanded (more than "
                 f"{max_values} values)")
    while stack:
        obj, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(obj))
            continue
        count += 1
        if count > max_values:
            return too_large
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in on_path:
                return "document contains itself (a recursive alias or a self-referencing dict)"
            if depth >= max_depth:
                return f"nested too deeply (more than {max_depth} levels)"
            if string_keys and isinstance(obj, dict):
                bad = next((k for k in obj if not isinstance(k, str)), _NONE)
                if bad is not _NONE:
                    return f"key {bad!r} is not a string (JSON object keys are strings)"
            on_path.add(id(obj))
            stack.append((obj, depth, True))
            children = obj.values() if isinstance(obj, dict) else obj
            for child in children:
                if isinstance(child, (dict, list, tuple)):
                    stack.append((child, depth + 1, False))
                else:
                    count += 1
            if count > max_values:
                return too_large
    return None


_NONE = object()
