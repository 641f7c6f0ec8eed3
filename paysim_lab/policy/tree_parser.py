"""The structural pass of policy validation (policy.md 13.2): the user's dict parsed into the
records of :mod:`.ir`, every structural error collected on the :class:`~.analysis.Analysis`."""
from __future__ import annotations

from . import catalog as C
from .ir import Comp, Expr, Node, Val
from .numeric import is_json_number, json_number
from .analysis import Analysis, MAX_NESTING, _q, _type_name, closest, nesting_depth_exceeds


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
