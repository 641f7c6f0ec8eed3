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

from ..docshape import policy_size_problem, shape_problem

import math
import warnings

from ..errors import PolicyError, PolicyWarning
from . import catalog as C
from .ir import Comp, Expr, Node, Val, comp_operands, walk_nodes, walk_values
from .numeric import EPS64, is_json_number, json_number, to_count

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


class _Parser:
    def __init__(self, analysis: Analysis):
        self.a = analysis
        self.extended = analysis.profile == "extended"
        self.source = analysis.source

    # ---- reporting --------------------------------------------------------------------------
    def _record(self, sink, code, text, path, node_id, tree):
        where = path or "(document)"
        if node_id is not None:
            where += f" (node {node_id})"
        sink.append({"code": code, "message": f"{self.source}: {where}: {code}: {text}",
                     "tree": tree, "node_id": node_id, "path": path or None})

    def error(self, code, text, path, node_id=None, tree=None):
        self._record(self.a.errors, code, text, path, node_id, tree)

    def lint(self, code, text, path, node_id=None, tree=None):
        self._record(self.a.lints, code, text, path, node_id, tree)

    # ---- document ----------------------------------------------------------------------------
    def document(self, doc):
        if not isinstance(doc, dict):
            self.error("WrongType", f"a policy document must be a JSON object, got "
                                    f"{_type_name(doc)}", "")
            return
        if nesting_depth_exceeds(doc):
            self.error("NestingTooDeep", f"the document nests deeper than {MAX_NESTING} levels "
                                         f"(or contains itself)", "")
            return
        for key in ("version", "policy_id"):
            if key not in doc:
                self.error("MissingKey", f"required key {_q(key)} is missing", "")
            elif not isinstance(doc[key], str):
                self.error("WrongType", f"{_q(key)} must be a string, got "
                                        f"{_type_name(doc[key])}", key)
        if "description" in doc and doc["description"] is not None \
                and not isinstance(doc["description"], str):
            self.error("WrongType", f"'description' must be a string or null, got "
                                    f"{_type_name(doc['description'])}", "description")
        self.parameters(doc)
        for key in doc:
            if key not in C.TOP_LEVEL_KEYS and key not in C.LINT_EXEMPT_KEYS:
                hint = closest(key, C.TOP_LEVEL_KEYS)
                self.lint("UnknownKey", f"unknown top-level key {_q(key)} is ignored"
                          + (f" (did you mean {_q(hint)}?)" if hint else ""), str(key))
        for tree in C.TREE_KEYS:
            raw = doc.get(tree)
            if raw is None:
                continue
            self.a.trees[tree] = self.node(raw, tree, 0, tree)

    def parameters(self, doc):
        if "parameters" not in doc:
            return
        params = doc["parameters"]
        if not isinstance(params, dict):
            self.error("WrongType", f"'parameters' must be an object of name -> number, got "
                                    f"{_type_name(params)}", "parameters")
            return
        for name, value in params.items():
            path = f"parameters.{name}"
            if not isinstance(name, str):
                self.error("WrongType", f"parameter name {name!r} must be a string", path)
            elif not is_json_number(value):
                self.error("NotANumber", f"parameter {_q(name)} must be a number, got "
                                         f"{_type_name(value)} {value!r}", path)
            else:
                self.a.parameters[name] = json_number(value)

    # ---- nodes -------------------------------------------------------------------------------
    def node(self, raw, path, depth, tree):
        if not isinstance(raw, dict):
            self.error("WrongType", f"expected a node object, got {_type_name(raw)}", path,
                       tree=tree)
            return None
        node_id = raw.get("node_id")
        auto = False
        if "node_id" not in raw:
            if self.extended:
                node_id, auto = path, True
            else:
                self.error("MissingKey", "required key 'node_id' is missing", path, tree=tree)
                node_id = None
        elif not isinstance(node_id, str):
            self.error("WrongType", f"'node_id' must be a string, got {_type_name(node_id)}",
                       path + ".node_id", tree=tree)
            node_id = None
        kind = raw.get("type")
        if "type" not in raw:
            self.error("MissingKey", "required key 'type' is missing (expected 'condition' or "
                                     "'action')", path, node_id, tree)
            return None
        if kind == "sequence" and self.extended and tree == "bank_tree":
            return self.sequence(raw, path, depth, tree, node_id, auto)
        if kind not in ("condition", "action"):
            hint = ""
            if kind == "sequence":
                hint = (" ('sequence' nodes are a paysim_lab extension allowed only in "
                        "bank_tree with the extended profile)")
            self.error("UnknownNodeType", f"node type {_q(kind)} is not 'condition' or "
                                          f"'action'{hint}", path + ".type", node_id, tree)
            return None
        node = Node(kind, node_id, path, depth, tree)
        node.auto_id = auto
        allowed = C.CONDITION_NODE_KEYS if kind == "condition" else C.ACTION_NODE_KEYS
        for key in raw:
            if key not in allowed and key not in C.LINT_EXEMPT_KEYS:
                note = (" (it is not a hold reason: use parameters.reason)"
                        if key == "hold_reason" else "")
                self.lint("UnknownKey", f"unknown node key {_q(key)} is ignored{note}",
                          f"{path}.{key}", node_id, tree)
        if kind == "condition":
            return self.condition(raw, node)
        return self.action(raw, node)

    def condition(self, raw, node):
        path, nid, tree = node.path, node.node_id, node.tree
        if "description" in raw and not isinstance(raw["description"], str):
            self.error("WrongType", f"a condition's 'description' must be a string, got "
                                    f"{_type_name(raw['description'])}", path + ".description",
                       nid, tree)
        ok = True
        if "condition" not in raw:
            self.error("MissingKey", "required key 'condition' is missing", path, nid, tree)
            ok = False
        else:
            node.expr = self.expr(raw["condition"], path + ".condition", nid, tree)
            ok = node.expr is not None
        for branch in ("on_true", "on_false"):
            if branch not in raw:
                self.error("MissingKey", f"required key {_q(branch)} is missing", path, nid,
                           tree)
                ok = False
                continue
            child = self.node(raw[branch], f"{path}.{branch}", node.depth + 1, tree)
            setattr(node, branch, child)
            ok = ok and child is not None
        return node if ok else None

    def action(self, raw, node):
        path, nid, tree = node.path, node.node_id, node.tree
        if "action" not in raw:
            self.error("MissingKey", "required key 'action' is missing", path, nid, tree)
            return None
        name = raw["action"]
        if not isinstance(name, str) or name not in C.ALL_ACTION_NAMES:
            hint = closest(name, C.ALL_ACTION_NAMES)
            self.error("UnknownAction",
                       f"unknown action {_q(name)}"
                       + (f" (did you mean {_q(hint)}?)" if hint else "")
                       + "; accepted: " + ", ".join(C.ALL_ACTION_NAMES),
                       path + ".action", nid, tree)
            return None
        node.action = name
        params = raw.get("parameters", {})
        if not isinstance(params, dict):
            self.error("WrongType", f"'parameters' must be an object, got {_type_name(params)}",
                       path + ".parameters", nid, tree)
            return None
        node.params = {}
        ok = True
        for pname, pval in params.items():
            ppath = f"{path}.parameters.{pname}"
            if not isinstance(pname, str):
                self.error("WrongType", f"parameter name {pname!r} must be a string", ppath,
                           nid, tree)
                ok = False
                continue
            v = self.value(pval, ppath, nid, tree, C.VALUE_KEYS_ACTION)
            if v is None:
                ok = False
            else:
                node.params[pname] = v
        return node if ok else None

    def sequence(self, raw, path, depth, tree, node_id, auto):
        node = Node("sequence", node_id, path, depth, tree)
        node.auto_id = auto
        for key in raw:
            if key not in C.SEQUENCE_NODE_KEYS and key not in C.LINT_EXEMPT_KEYS:
                self.lint("UnknownKey", f"unknown node key {_q(key)} is ignored",
                          f"{path}.{key}", node_id, tree)
        children = raw.get("children")
        if not isinstance(children, list) or not children:
            what = "missing" if "children" not in raw else (
                "empty" if isinstance(children, list) else f"a {_type_name(children)}")
            self.error("WrongType" if "children" in raw else "MissingKey",
                       f"a sequence node needs a non-empty 'children' list (got {what})",
                       path, node_id, tree)
            return None
        node.children = []
        ok = True
        for i, child in enumerate(children):
            c = self.node(child, f"{path}.children[{i}]", depth + 1, tree)
            if c is None:
                ok = False
            else:
                node.children.append(c)
        return node if ok else None

    # ---- expressions and values -------------------------------------------------------------
    def expr(self, raw, path, nid, tree):
        if not isinstance(raw, dict):
            self.error("WrongType", f"expected an expression object with 'op', got "
                                    f"{_type_name(raw)}", path, nid, tree)
            return None
        if "op" not in raw:
            self.error("MissingKey", "expression has no 'op'", path, nid, tree)
            return None
        op = raw["op"]
        if not isinstance(op, str) or op not in C.EXPRESSION_OPS:
            hint = ""
            if isinstance(op, str) and op in C.COMPUTE_OPERANDS:
                hint = " (arithmetic belongs inside a value: {\"compute\": {\"op\": ...}})"
            else:
                near = closest(op, C.EXPRESSION_OPS, 1)
                hint = f" (did you mean {_q(near)}?)" if near else ""
            self.error("UnknownOperator", f"unknown condition operator {_q(op)}{hint}; accepted: "
                       + ", ".join(C.EXPRESSION_OPS), path + ".op", nid, tree)
            return None
        if op in ("and", "or"):
            if "conditions" not in raw:
                self.error("MissingKey", f"{_q(op)} needs a 'conditions' list", path, nid, tree)
                return None
            items = raw["conditions"]
            if not isinstance(items, list):
                self.error("WrongType", f"'conditions' must be a list, got {_type_name(items)}",
                           path + ".conditions", nid, tree)
                return None
            parsed = [self.expr(x, f"{path}.conditions[{i}]", nid, tree)
                      for i, x in enumerate(items)]
            if any(p is None for p in parsed):
                return None
            return Expr(op, path, items=parsed)
        if op == "not":
            if "condition" not in raw:
                self.error("MissingKey", "'not' needs a 'condition'", path, nid, tree)
                return None
            inner = self.expr(raw["condition"], path + ".condition", nid, tree)
            return None if inner is None else Expr(op, path, inner=inner)
        missing = [k for k in ("left", "right") if k not in raw]
        if missing:
            self.error("MissingKey", f"comparison {_q(op)} needs 'left' and 'right' (missing "
                       + ", ".join(_q(k) for k in missing) + ")", path, nid, tree)
            return None
        left = self.value(raw["left"], path + ".left", nid, tree, C.VALUE_KEYS_EXPR)
        right = self.value(raw["right"], path + ".right", nid, tree, C.VALUE_KEYS_EXPR)
        if left is None or right is None:
            return None
        return Expr(op, path, left=left, right=right)

    def value(self, raw, path, nid, tree, order):
        if not isinstance(raw, dict):
            self.error("WrongType", "expected a value object like {\"field\": ...}, "
                                    "{\"param\": ...}, {\"value\": ...} or {\"compute\": ...}, "
                                    f"got {_type_name(raw)} {raw!r:.60}", path, nid, tree)
            return None
        present = [k for k in order if k in raw]
        if len(present) > 1:
            self.lint("AmbiguousValue", f"value object has several of {', '.join(present)}; "
                      f"only {_q(present[0])} counts", path, nid, tree)
        # Mirrors an untagged union: the first form whose payload has the right type wins.
        for key in present:
            payload = raw[key]
            if key in ("field", "param"):
                if isinstance(payload, str):
                    return Val(key, path, name=payload)
            elif key == "value":
                if is_json_number(payload) and isinstance(payload, int):
                    json_number(payload)  # huge ints become +-inf, never an exception
                return Val("value", path, literal=payload)
            elif isinstance(payload, dict):
                comp = self.comp(payload, path + ".compute", nid, tree)
                return None if comp is None else Val("compute", path, comp=comp)
        if present:
            key = present[0]
            want = "a string" if key in ("field", "param") else "an object"
            self.error("WrongType", f"{_q(key)} must be {want}, got "
                                    f"{_type_name(raw[key])}", f"{path}.{key}", nid, tree)
        else:
            self.error("InvalidValue", "value object has none of 'field', 'param', 'value', "
                                       "'compute' (keys: "
                       + ", ".join(_q(k) for k in raw) + ")", path, nid, tree)
        return None

    def comp(self, raw, path, nid, tree):
        if "op" not in raw:
            self.error("MissingKey", "computation has no 'op'", path, nid, tree)
            return None
        op = raw["op"]
        if not isinstance(op, str) or op not in C.COMPUTE_OPERANDS:
            if isinstance(op, str) and op in C.EXPRESSION_OPS:
                hint = " (comparisons belong in a condition, not inside compute)"
            else:
                near = closest(op, C.COMPUTE_OPERANDS, 1)
                hint = f" (did you mean {_q(near)}?)" if near else ""
            self.error("UnknownOperator", f"unknown computation operator {_q(op)}{hint}; "
                       "accepted: " + ", ".join(C.COMPUTE_OPERANDS), path + ".op", nid, tree)
            return None
        keys = C.COMPUTE_OPERANDS[op]
        missing = [k for k in keys if k not in raw]
        if missing:
            self.error("MissingKey", f"computation {_q(op)} needs "
                       + ", ".join(_q(k) for k in keys) + " (missing "
                       + ", ".join(_q(k) for k in missing) + ")", path, nid, tree)
            return None
        operands = {}
        ok = True
        for key in keys:
            if key == "values":
                items = raw["values"]
                if not isinstance(items, list):
                    self.error("WrongType", f"'values' must be a list, got {_type_name(items)}",
                               path + ".values", nid, tree)
                    return None
                if not items:
                    self.lint("EmptyValueList", f"{_q(op)} of an empty list fails at runtime "
                              "(EmptyValueList)", path + ".values", nid, tree)
                vals = [self.value(x, f"{path}.values[{i}]", nid, tree, C.VALUE_KEYS_EXPR)
                        for i, x in enumerate(items)]
                ok = ok and all(v is not None for v in vals)
                operands[key] = vals
            else:
                v = self.value(raw[key], f"{path}.{key}", nid, tree, C.VALUE_KEYS_EXPR)
                ok = ok and v is not None
                operands[key] = v
        return Comp(op, operands, path) if ok else None


# ---- semantic rules (13.3) -------------------------------------------------------------------

def _is_literal_zero(v: Val) -> bool:
    return v.form == "value" and is_json_number(v.literal) \
        and abs(json_number(v.literal)) < EPS64


def _division_risks(comp: Comp, out: list):
    """SimCash's walk: a `/` checks its right operand and descends into it, never into left."""
    if comp.op == "/":
        right = comp.operands["right"]
        if _is_literal_zero(right):
            out.append(comp)
        if right.form == "compute":
            _division_risks(right.comp, out)
        return
    for v in comp_operands(comp):
        if v.form == "compute":
            _division_risks(v.comp, out)


def _node_division_risks(node: Node) -> list:
    out = []
    if node.kind == "condition":
        stack = [node.expr]
        while stack:
            e = stack.pop()
            if e.items is not None:
                stack.extend(reversed(e.items))
            elif e.inner is not None:
                stack.append(e.inner)
            else:
                for v in (e.left, e.right):
                    if v.form == "compute":
                        _division_risks(v.comp, out)
    elif node.kind == "action":
        for v in node.params.values():
            if v.form == "compute":
                _division_risks(v.comp, out)
    return out


def _field_refs(root: Node):
    """(name, val, node) of every field reference of a tree, pre-order."""
    for node in walk_nodes(root):
        for v, _ in walk_values(node):
            if v.form == "field":
                yield v.name, v, node


def _param_refs(root: Node):
    for node in walk_nodes(root):
        for v, _ in walk_values(node):
            if v.form == "param":
                yield v.name, v, node


def _register_writes(root: Node):
    for node in walk_nodes(root):
        if node.kind == "action" and node.action in ("SetState", "AddState"):
            key = node.params.get("key")
            if key is not None and key.form == "value" and isinstance(key.literal, str):
                yield key.literal, key, node


def _semantic(p: _Parser):
    a = p.a
    trees = a.trees
    checked = [t for t in ("payment_tree", "strategic_collateral_tree",
                           "end_of_tick_collateral_tree") if trees[t] is not None]
    bank = trees["bank_tree"]

    # extended: register keys without the prefix, readable as fields
    extra_keys = []
    if p.extended and bank is not None:
        for key, val, node in _register_writes(bank):
            if key.startswith(C.REGISTER_PREFIX) or key in extra_keys:
                continue
            if key in C.CONTEXT_FIELD_NAMES or key in C.REJECTED_FIELDS:
                p.error("InvalidStateKey", f"state register key {_q(key)} collides with the "
                        f"context field {_q(key)}; use another name (e.g. "
                        f"{_q(C.REGISTER_PREFIX + key)})", val.path, node.node_id, "bank_tree")
            else:
                extra_keys.append(key)
    a.register_keys = frozenset(extra_keys)

    # rule 1: duplicate node ids across payment, strategic and end-of-tick trees
    seen = set()
    for tree in checked:
        for node in walk_nodes(trees[tree]):
            if node.node_id in seen:
                p.error("DuplicateNodeId", f"Duplicate node ID: {node.node_id}", node.path,
                        node.node_id, tree)
            seen.add(node.node_id)
    if bank is not None:
        seen_b = set()
        for node in walk_nodes(bank):
            if node.node_id in seen_b:
                p.lint("DuplicateNodeId", f"node id {_q(node.node_id)} occurs twice in "
                       "bank_tree (SimCash does not check the bank tree)", node.path,
                       node.node_id, "bank_tree")
            seen_b.add(node.node_id)

    # rule 2: depth
    def depth(root):
        return max((n.depth for n in walk_nodes(root) if n.kind == "action"), default=0)
    deepest = max((depth(trees[t]) for t in checked), default=0)
    if deepest > MAX_TREE_DEPTH:
        p.error("ExcessiveDepth", f"Tree depth {deepest} exceeds maximum {MAX_TREE_DEPTH}", "")
    if bank is not None and depth(bank) > MAX_TREE_DEPTH:
        p.lint("ExcessiveDepth", f"bank_tree depth {depth(bank)} exceeds {MAX_TREE_DEPTH}: "
               "walks that deep fail at runtime (MaxDepthExceeded)", "bank_tree")

    # rule 3: field references, every tree, each distinct name once per tree
    registers = a.register_keys
    for tree in C.TREE_KEYS:
        root = trees[tree]
        if root is None:
            continue
        payment = tree == "payment_tree"
        reported = set()
        for name, val, node in _field_refs(root):
            if name in reported:
                continue
            if name.startswith(C.REGISTER_PREFIX) or name in registers:
                continue
            if p.extended and name in C.FIELD_ALIASES:
                continue
            if name in C.AGENT_FIELD_SET or (payment and name in C.TRANSACTION_FIELD_SET):
                if name in C.PHANTOM_FIELDS:
                    reported.add(name)
                    p.lint("PhantomField", f"field {_q(name)} passes validation but exists in "
                           "no context: reaching it fails the run (FieldNotFound)", val.path,
                           node.node_id, tree)
                continue
            reported.add(name)
            if name in C.TRANSACTION_FIELD_SET:
                text = (f"field {_q(name)} is a transaction field and is not available in "
                        f"{tree}")
            else:
                text = f"field {_q(name)} does not exist"
                if name in C.FIELD_ALIASES:
                    text += (f" (use {_q(C.FIELD_ALIASES[name])}; {_q(name)} is accepted only "
                             "by the extended profile)")
                else:
                    pool = C.FIELD_NAMES["payment" if payment else "bank"]
                    hint = closest(name, pool)
                    if hint:
                        text += f" (did you mean {_q(hint)}?)"
            p.error("InvalidFieldReference", text, val.path, node.node_id, tree)

    # rule 4: parameter references (payment, strategic, end-of-tick), each name once
    reported = set()
    declared = a.document.get("parameters", {}) if isinstance(a.document, dict) else {}
    if not isinstance(declared, dict):
        checked_params = []          # malformed 'parameters' was already reported
        declared = {}
    else:
        checked_params = checked
    for tree in checked_params:
        for name, val, node in _param_refs(trees[tree]):
            if name in declared or name in reported:
                continue
            reported.add(name)
            hint = closest(name, list(a.parameters))
            p.error("InvalidParameterReference",
                    f"parameter {_q(name)} is not defined in 'parameters'"
                    + (f" (did you mean {_q(hint)}?)" if hint else ""),
                    val.path, node.node_id, tree)
    if bank is not None and checked_params is checked:
        lreported = set()
        for name, val, node in _param_refs(bank):
            if name not in declared and name not in lreported:
                lreported.add(name)
                p.lint("InvalidParameterReference", f"parameter {_q(name)} is not defined: "
                       "reaching it fails the run (ParameterNotFound)", val.path,
                       node.node_id, "bank_tree")

    # rule 5: literal zero divisors
    for tree in checked:
        for node in walk_nodes(trees[tree]):
            for comp in _node_division_risks(node):
                p.error("DivisionByZeroRisk", f"Potential division by zero in computation at "
                        f"node {node.node_id}", comp.path, node.node_id, tree)
    if bank is not None:
        for node in walk_nodes(bank):
            for comp in _node_division_risks(node):
                p.lint("DivisionByZeroRisk", "division by a literal zero fails at runtime "
                       "(DivisionByZero)", comp.path, node.node_id, "bank_tree")


# ---- lints (13.5) ----------------------------------------------------------------------------

def _literal_number(v: Val):
    if v is not None and v.form == "value" and is_json_number(v.literal):
        return json_number(v.literal)
    return None


def _bounded_by_capacity(v: Val) -> bool:
    if v.form == "field":
        return v.name == "remaining_collateral_capacity"
    if v.form == "compute" and v.comp.op == "min":
        return any(_bounded_by_capacity(x) for x in v.comp.operands["values"])
    return False


def _guarded_by_capacity(path_nodes) -> bool:
    for cond in path_nodes:
        for v, _ in walk_values(cond):
            if v.form == "field" and v.name == "remaining_collateral_capacity":
                return True
    return False


def _walk_with_ancestors(root):
    stack = [(root, ())]
    while stack:
        node, anc = stack.pop()
        yield node, anc
        if node.kind == "condition":
            stack.append((node.on_false, anc + (node,)))
            stack.append((node.on_true, anc + (node,)))
        elif node.kind == "sequence":
            stack.extend((c, anc) for c in reversed(node.children))


def _lints(p: _Parser):
    a = p.a
    trees = a.trees
    if trees["payment_tree"] is None and any(trees[t] is not None for t in C.TREE_KEYS):
        p.lint("MissingPaymentTree", "no payment_tree: the run fails as soon as this bank has a "
               "payment to decide (InvalidTree)", "payment_tree")
    for tree in C.TREE_KEYS:
        root = trees[tree]
        if root is None:
            continue
        kind = C.TREE_KIND[tree]
        for node, ancestors in _walk_with_ancestors(root):
            for v, where in walk_values(node):
                if v.form == "value" and where == "condition" and \
                        not is_json_number(v.literal) and not isinstance(v.literal, bool):
                    p.lint("NonNumericLiteral", f"literal {v.literal!r:.40} is not a number: "
                           "evaluating it fails (InvalidLiteralType)", v.path, node.node_id,
                           tree)
                if v.form == "compute" and v.comp.op == "/":
                    d = v.comp.operands["right"]
                    if d.form == "field" and d.name not in _NONZERO_FIELDS:
                        p.lint("FieldDivisor", f"'/' by field {_q(d.name)} fails when it is 0; "
                               "consider {\"op\": \"div0\", ...}", v.comp.path, node.node_id,
                               tree)
                    elif d.form == "param" and a.parameters.get(d.name, 1.0) == 0.0:
                        p.lint("FieldDivisor", f"'/' by parameter {_q(d.name)} = 0 always "
                               "fails (DivisionByZero)", v.comp.path, node.node_id, tree)
            if node.kind == "action":
                _action_lints(p, node, tree, kind, ancestors)


def _action_lints(p: _Parser, node: Node, tree: str, kind: str, ancestors):
    name, params, nid, path = node.action, node.params, node.node_id, node.path
    spec = {s["name"]: s for s in C.ACTION_PARAMETERS[name]}
    for pname in params:
        if pname not in spec:
            hint = C.PARAMETER_SPELLING_HINTS.get(pname) or closest(pname, list(spec))
            note = ""
            if pname in C.PARAMETER_SPELLING_HINTS:
                note = f" (SimCash ignores it too; the accepted name is {_q(hint)})"
            elif hint:
                note = f" (did you mean {_q(hint)}?)"
            p.lint("UnknownParameter", f"parameter {_q(pname)} of {name} is ignored{note}",
                   f"{path}.parameters.{pname}", nid, tree)
    wrong_tree = None
    if kind == "payment" and name not in C.PAYMENT_ACTION_NAMES:
        wrong_tree = "reaching it fails the run (InvalidActionType)"
    elif kind == "collateral" and name not in C.COLLATERAL_ACTION_NAMES:
        wrong_tree = "reaching it fails the run (InvalidActionType)"
    elif kind == "bank" and name in C.PAYMENT_ACTION_NAMES:
        wrong_tree = "it behaves as NoAction (and resets the release budget)"
    elif kind == "bank" and name in C.COLLATERAL_ACTION_NAMES and not p.extended:
        wrong_tree = ("it behaves as NoAction in the simcash profile (the extended profile "
                      "executes it)")
    if wrong_tree:
        p.lint("WrongTreeAction", f"{name} is not a {kind}-tree action: {wrong_tree}",
               path + ".action", nid, tree)
        return
    for s in C.ACTION_PARAMETERS[name]:
        if s["required"] and s["name"] not in params:
            p.lint("MissingParameter", f"{name} needs parameter {_q(s['name'])}: reaching it "
                   "fails the run (MissingActionParameter)", path + ".parameters", nid, tree)
    for pname, v in params.items():
        s = spec.get(pname)
        if s is None:
            continue
        if s["type"] == "number" and v.form == "value" and not is_json_number(v.literal):
            p.lint("NonNumericLiteral", f"parameter {_q(pname)} must be a number, got "
                   f"{v.literal!r:.40}: reaching it fails (InvalidActionParameter)", v.path,
                   nid, tree)
    if name in ("Split", "PaceAndRelease", "StaggerSplit"):
        n = _literal_number(params.get("num_splits"))
        if n is not None and to_count(n) < 2:
            p.lint("InvalidSplit", f"num_splits {n:g} converts to {to_count(n)} (< 2): reaching "
                   "it fails (InvalidActionParameter)", params["num_splits"].path, nid, tree)
        if name == "StaggerSplit":
            k = _literal_number(params.get("stagger_first_now"))
            if n is not None and k is not None and to_count(k) > to_count(n):
                p.lint("InvalidSplit", "stagger_first_now exceeds num_splits: reaching it fails "
                       "(InvalidActionParameter)", params["stagger_first_now"].path, nid, tree)
            if "stagger_gap_ticks" in params:
                p.lint("IgnoredParameter", "stagger_gap_ticks has no effect: the remaining "
                       "children wait in Queue 1 and are decided again each tick",
                       params["stagger_gap_ticks"].path, nid, tree)
    if name in ("Release", "ReleaseWithCredit") and "timed_for_tick" in params:
        p.lint("IgnoredParameter", "timed_for_tick does not schedule anything: the payment stays "
               "in Queue 1 and the tree decides again next tick", params["timed_for_tick"].path,
               nid, tree)
    if name in ("Release", "ReleaseWithCredit") and "priority_flag" in params:
        v = params["priority_flag"]
        if v.form != "value" or not isinstance(v.literal, str):
            p.lint("IgnoredParameter", "priority_flag is read only from a literal string; this "
                   "one is ignored", v.path, nid, tree)
    if name == "WithdrawFromRtgs":
        p.lint("BareWithdraw", "WithdrawFromRtgs leaves the payment in no queue: it never "
               "settles (use ResubmitToRtgs to change its RTGS priority)", path + ".action",
               nid, tree)
    if name == "ResubmitToRtgs" and "rtgs_priority" in params:
        v = params["rtgs_priority"]
        if v.form != "value" or v.literal not in C.RTGS_PRIORITIES:
            p.lint("InvalidParameter", "rtgs_priority must be the literal 'HighlyUrgent', "
                   "'Urgent' or 'Normal': reaching it fails (InvalidActionParameter)", v.path,
                   nid, tree)
    if name == "Hold" and "reason" in params:
        v = params["reason"]
        if v.form != "value" or not isinstance(v.literal, str):
            p.lint("IgnoredParameter", "a Hold reason is read only from a literal string; this "
                   "one renders as Custom(\"Policy decision\")", v.path, nid, tree)
    if name in ("PostCollateral", "WithdrawCollateral") and "reason" in params:
        v = params["reason"]
        if v.form != "value" or v.literal not in C.COLLATERAL_REASONS:
            shown = v.literal if v.form == "value" else f"a {v.form}"
            p.lint("CollateralReason", f"collateral reason {shown!r:.40} is not one of "
                   + ", ".join(C.COLLATERAL_REASONS) + ": it is recorded as UrgentLiquidityNeed",
                   v.path, nid, tree)
    if name == "PostCollateral":
        timer = params.get("auto_withdraw_after_ticks")
        t = _literal_number(timer)
        if t is not None and t != 0 and (not math.isfinite(t) or t < 1 or t != math.floor(t)):
            p.lint("TimerValue", f"auto_withdraw_after_ticks {t:g} becomes a timer of "
                   f"{to_count(t) if t > 0 else 'none'} tick(s); use a whole number >= 1",
                   timer.path, nid, tree)
        amount = params.get("amount")
        if amount is not None and not _bounded_by_capacity(amount) \
                and not _guarded_by_capacity(ancestors):
            outcome = ("is cut to the capacity (CollateralPostCapped)" if p.extended
                       else "aborts the run")
            p.lint("UncappedCollateral", "PostCollateral amount is not bounded by "
                   f"remaining_collateral_capacity: posting more than the capacity {outcome} "
                   "(wrap it in {\"op\": \"min\", ...})", amount.path, nid, tree)
    if name in ("SetState", "AddState"):
        key = params.get("key")
        if key is not None and key.form == "value" and isinstance(key.literal, str) \
                and not key.literal.startswith(C.REGISTER_PREFIX) and not p.extended:
            p.lint("RegisterPrefix", f"state register key {_q(key.literal)} does not start with "
                   f"'{C.REGISTER_PREFIX}': the engine rejects the write (no event)", key.path,
                   nid, tree)
        elif key is not None and key.form != "value":
            p.lint("InvalidParameter", "a register key must be a literal string: reaching it "
                   "fails (InvalidActionParameter)", key.path, nid, tree)


# ---- entry points ----------------------------------------------------------------------------

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
