"""The rules run on a parsed policy: SimCash's semantic rules (policy.md 13.3) and
paysim_lab's lints (13.5)."""
from __future__ import annotations

import math

from . import catalog as C
from .ir import Comp, Node, Val, comp_operands, walk_nodes, walk_values
from .numeric import EPS64, is_json_number, json_number, to_count
from .analysis import MAX_TREE_DEPTH, _NONZERO_FIELDS, _q, closest
from .tree_parser import _Parser


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
