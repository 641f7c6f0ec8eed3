"""Guards for untrusted document data: size once shared parts are expanded, depth, cycles.

YAML aliases and Python dicts that reuse one sub-structure can describe data that explodes
when walked (2**40 values from 40 nested pairs), and one long string aliased a thousand times
is a thousand copies once the document is dumped (the store keeps the scenario as JSON). Every
loader runs :func:`shape_problem` first, so later walks (validation, pydantic, JSON dumps)
only ever see bounded data: at most ``max_values`` values and ``max_chars`` characters of text
(keys and strings, each use counted).

>>> x = 1
>>> for _ in range(40):
...     x = [x, x]
>>> shape_problem(x, max_values=1000)
'document is too large once aliases are expanded (more than 1000 values)'
>>> shape_problem({"a": [1, 2]}) is None
True
>>> s = "x" * 1000
>>> shape_problem([s] * 100, max_chars=50_000)
'document is too large once aliases are expanded (more than 50000 characters of text)'
"""
from __future__ import annotations

#: Policy documents: the most decision-tree nodes (conditions, actions, sequences) in one
#: document. The largest policy we know of has under 200; see docs/reliability.md.
MAX_POLICY_NODES = 10_000
#: Policy documents: the longest string (node ids, field and action names, reasons, register
#: keys); a hold reason is copied into every event it causes. ``description`` may be longer.
MAX_POLICY_STRING_CHARS = 256
#: Policy documents: the longest ``description`` (and other free-text keys).
MAX_TEXT_STRING_CHARS = 10_000
#: Keys whose string values are free text (not copied into events).
FREE_TEXT_KEYS = frozenset({"description", "name", "notes", "comment"})

_NODE_KINDS = frozenset({"condition", "action", "sequence"})


def shape_problem(data, max_values: int = 2_000_000, max_depth: int = 300,
                  string_keys: bool = False, max_chars: int | None = None) -> str | None:
    """What is wrong with the shape of ``data``, or None.

    Shared sub-structures (and shared strings) are counted once per use, which is what any
    later walk or dump costs. ``max_chars`` bounds the total length of every key and string
    (None: no bound). ``string_keys`` also requires every dict key to be a string (JSON
    objects).

    The sizes are summed bottom-up with each shared part measured once, so measuring costs
    the number of distinct parts, not the (possibly astronomical) expanded size.
    """
    too_large = (f"document is too large once aliases are expanded (more than "
                 f"{max_values} values)")
    too_long = (f"document is too large once aliases are expanded (more than "
                f"{max_chars} characters of text)")
    too_deep = f"nested too deeply (more than {max_depth} levels)"
    limit_chars = max_chars if max_chars is not None else float("inf")
    if not isinstance(data, (dict, list, tuple)):
        if isinstance(data, str) and len(data) > limit_chars:
            return too_long
        return None
    # id -> (values, characters, height) of a finished part; ids on the current path
    done: dict[int, tuple[int, int, int]] = {}
    on_path: set[int] = set()
    # frames: [container, iterator over children, values, chars, height]
    stack: list = []

    def enter(obj) -> str | None:
        if len(stack) >= max_depth:
            return too_deep
        chars = 0
        if isinstance(obj, dict):
            if string_keys:
                bad = next((k for k in obj if not isinstance(k, str)), _NONE)
                if bad is not _NONE:
                    return f"key {bad!r} is not a string (JSON object keys are strings)"
            chars = sum(len(k) for k in obj if isinstance(k, str))
            children = iter(obj.values())
        else:
            children = iter(obj)
        on_path.add(id(obj))
        stack.append([obj, children, 1, chars, 0])
        return None

    problem = enter(data)
    if problem is not None:
        return problem
    while stack:
        frame = stack[-1]
        child = next(frame[1], _NONE)
        if child is _NONE:                       # all children measured: finish this part
            stack.pop()
            obj, _, values, chars, height = frame
            on_path.discard(id(obj))
            if values > max_values:
                return too_large
            if chars > limit_chars:
                return too_long
            done[id(obj)] = (values, chars, height + 1)
            if stack:
                parent = stack[-1]
                parent[2] += values
                parent[3] += chars
                parent[4] = max(parent[4], height + 1)
            continue
        if isinstance(child, (dict, list, tuple)):
            key = id(child)
            if key in on_path:
                return ("document contains itself (a recursive alias or a self-referencing "
                        "dict)")
            sizes = done.get(key)
            if sizes is None:
                problem = enter(child)
                if problem is not None:
                    return problem
                continue
            values, chars, height = sizes
            if len(stack) + height > max_depth:
                return too_deep
            frame[2] += values
            frame[3] += chars
            frame[4] = max(frame[4], height)
        else:
            frame[2] += 1
            if isinstance(child, str):
                frame[3] += len(child)
        if frame[2] > max_values:
            return too_large
        if frame[3] > limit_chars:
            return too_long
    return None


def long_string(data, max_chars: int, *, free_text_chars: int | None = None,
                free_text_keys=FREE_TEXT_KEYS, skip_keys=()) -> tuple[list, int, int] | None:
    """(path, length, limit) of the first string longer than allowed, or None.

    Strings under a key of ``free_text_keys`` may have ``free_text_chars`` characters; strings
    under ``skip_keys`` are not checked (their content is checked where it is parsed). Dict
    keys count as strings too. Call after :func:`shape_problem` (the walk trusts the shape).

    >>> long_string({"a": ["ok", "x" * 20]}, 12)
    (['a', 1], 20, 12)
    >>> long_string({"description": "x" * 20}, 12, free_text_chars=100) is None
    True
    """
    free_limit = free_text_chars if free_text_chars is not None else max_chars
    stack: list = [(data, [], max_chars)]
    seen: set[tuple[int, int]] = set()    # a shared part is checked once per limit
    while stack:
        obj, path, limit = stack.pop()
        if isinstance(obj, str):
            if len(obj) > limit:
                return path, len(obj), limit
            continue
        if isinstance(obj, (dict, list, tuple)):
            if (id(obj), limit) in seen:
                continue
            seen.add((id(obj), limit))
        if isinstance(obj, dict):
            items = list(obj.items())
            for k, v in reversed(items):
                if isinstance(k, str) and len(k) > max_chars:
                    return path + [k[:40] + "..."], len(k), max_chars
                if k in skip_keys:
                    continue
                stack.append((v, path + [k], free_limit if k in free_text_keys else limit))
        elif isinstance(obj, (list, tuple)):
            stack.extend((v, path + [i], limit) for i, v in reversed(list(enumerate(obj))))
    return None


def count_policy_nodes(document, stop_after: int | None = None) -> int:
    """Decision-tree nodes in a policy document (mappings whose ``type`` is a node kind).

    >>> count_policy_nodes({"payment_tree": {"type": "condition", "node_id": "C",
    ...     "on_true": {"type": "action", "action": "Release"},
    ...     "on_false": {"type": "action", "action": "Hold"}}})
    3
    """
    n = 0
    stack = [document]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            kind = obj.get("type")
            if isinstance(kind, str) and kind in _NODE_KINDS:
                n += 1
                if stop_after is not None and n > stop_after:
                    return n
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
    return n


def policy_size_problem(document, max_nodes: int | None = None,
                        max_string_chars: int | None = None,
                        max_text_chars: int | None = None) -> tuple[list, str] | None:
    """(path, message) when a policy document has too many nodes or too long a string.

    Limits left at None take the module constants (read at call time). The message names
    the limit and the module constant that raises it.
    """
    max_nodes = MAX_POLICY_NODES if max_nodes is None else max_nodes
    max_string_chars = MAX_POLICY_STRING_CHARS if max_string_chars is None else max_string_chars
    max_text_chars = MAX_TEXT_STRING_CHARS if max_text_chars is None else max_text_chars
    n = count_policy_nodes(document, stop_after=max_nodes)
    if n > max_nodes:
        return [], (f"more than {max_nodes} decision-tree nodes (the limit; raise "
                    f"paysim_lab.docshape.MAX_POLICY_NODES to load larger policies)")
    found = long_string(document, max_string_chars, free_text_chars=max_text_chars)
    if found is not None:
        path, length, limit = found
        which = "MAX_TEXT_STRING_CHARS" if limit == max_text_chars and \
            limit != max_string_chars else "MAX_POLICY_STRING_CHARS"
        return path, (f"a string of {length} characters is longer than the limit of {limit} "
                      f"(raise paysim_lab.docshape.{which} to allow longer ones)")
    return None


_NONE = object()
