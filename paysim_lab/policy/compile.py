"""Compile a validated policy into Python closures, once per policy (policy.md 5-12).

Each condition becomes one closure calling the field getters it reads; each node becomes a
closure that evaluates its condition and calls the closure of the branch taken; each action
node becomes a closure that evaluates its parameters and returns a
:class:`~paysim_lab.engine.decisions.Decision` whose decision path was rendered at compile time
(a node's path is fixed by its position). Parameters are constants of the policy, so
``{"param": ...}`` operands and computations on constants are folded here.

Decisions without evaluated parameters (``Release``, ``Drop``, a literal-reason ``Hold``, ...)
are created once and returned on every call: treat every returned Decision as read-only.

>>> cp = compile_policy({"version": "1.0", "policy_id": "p", "payment_tree": {
...     "type": "condition", "node_id": "C", "condition": {"op": ">=",
...     "left": {"field": "balance"}, "right": {"value": 100}},
...     "on_true": {"type": "action", "node_id": "R", "action": "Release"},
...     "on_false": {"type": "action", "node_id": "H", "action": "Hold"}}},
...     for_mapping=True)
>>> d = cp.payment({"balance": 99.9999999995})   # within 1e-9 of 100: ">=" holds
>>> d.action, d.path
('Release', 'C(true) → R')
"""
from __future__ import annotations

from ..engine.decisions import Decision
from ..errors import PolicyRuntimeError
from . import catalog as C
from .compiled_ops import (_all, _any, _binary, _comparison, _constant, _failing, _invalid_param,
                           _missing_param, _raiser)
from .context import EvalFailure, dict_getter, getter
from .ir import copy_json, walk_nodes
from .numeric import (COMPARATORS, EPS, clamp, fceil, ffloor, fmax, is_json_number, json_number,
                      max_of, min_of, round_half_away, to_count, to_i64, to_u8)
from .render import ARROW, hold_reason_text
from .validate import MAX_TREE_DEPTH, analyze, emit_lints, raise_for_errors


PRIORITY_FLAGS = {"HIGH": 10, "MEDIUM": 5, "LOW": 1}
_TREE_FOR_KIND = {"payment": "payment", "bank": "bank", "collateral": "collateral"}


# ---- the compiler ----------------------------------------------------------------------------

class _Compiler:
    def __init__(self, analysis, for_mapping: bool):
        self.params = analysis.parameters
        self.registers = analysis.register_keys
        self.extended = analysis.profile == "extended"
        self.factory = dict_getter if for_mapping else getter
        self.conds: dict[int, object] = {}

    def field(self, name, kind):
        return self.factory(name, kind, registers=self.registers, aliases=self.extended)

    # values ------------------------------------------------------------------------------------
    def value(self, v, kind):
        """(fn, constant or None) for a value object in an expression or computation."""
        form = v.form
        if form == "field":
            return self.field(v.name, kind), None
        if form == "param":
            if v.name in self.params:
                c = self.params[v.name]
                return _constant(c), c
            return _raiser("ParameterNotFound", f"Parameter not found: {v.name}"), None
        if form == "value":
            lit = v.literal
            if isinstance(lit, bool):
                c = 1.0 if lit else 0.0
            elif is_json_number(lit):
                c = json_number(lit)
            else:
                return _raiser("InvalidLiteralType", "Invalid literal type: expected number"), None
            return _constant(c), c
        return self.comp(v.comp, kind)

    def comp(self, comp, kind):
        op, ops = comp.op, comp.operands
        if op in ("+", "-", "*", "/"):
            (lf, lc), (rf, rc) = self.value(ops["left"], kind), self.value(ops["right"], kind)
            fn, consts = _binary(op, lf, lc, rf, rc), (lc, rc)
        elif op in ("max", "min"):
            parts = [self.value(v, kind) for v in ops["values"]]
            fns = tuple(p[0] for p in parts)
            consts = tuple(p[1] for p in parts)
            if not fns:
                fn = _raiser("EmptyValueList", "Empty value list for min/max computation")
            else:
                pick = max_of if op == "max" else min_of
                fn = (lambda e: pick([f(e) for f in fns]))
        elif op in ("ceil", "floor", "round", "abs"):
            vf, vc = self.value(ops["value"], kind)
            g = {"ceil": fceil, "floor": ffloor, "round": round_half_away,
                 "abs": abs}[op]
            fn, consts = (lambda e: g(vf(e))), (vc,)
        elif op == "clamp":
            parts = [self.value(ops[k], kind) for k in ("value", "min", "max")]
            (vf, _), (lof, _), (hif, _) = parts
            consts = tuple(p[1] for p in parts)

            def fn(e):
                v = vf(e)
                lo = lof(e)
                return clamp(v, lo, hif(e))
        else:  # div0
            (nf, nc), (df, dc), (ff, fc) = (self.value(ops[k], kind)
                                            for k in ("numerator", "denominator", "default"))
            consts = (nc, dc, fc)

            def fn(e):
                n = nf(e)
                d = df(e)
                if -EPS < d < EPS:
                    return ff(e)
                return n / d
        if all(c is not None for c in consts):
            try:
                c = fn(None)
            except EvalFailure:
                return fn, None       # fails only when reached, like any runtime error
            return _constant(c), c
        return fn, None

    # expressions --------------------------------------------------------------------------------
    def expr(self, e, kind):
        op = e.op
        if op == "and":
            return _all(tuple(self.expr(x, kind) for x in e.items)) if e.items \
                else (lambda env: True)
        if op == "or":
            return _any(tuple(self.expr(x, kind) for x in e.items)) if e.items \
                else (lambda env: False)
        if op == "not":
            inner = self.expr(e.inner, kind)
            return lambda env: not inner(env)
        (lf, lc), (rf, rc) = self.value(e.left, kind), self.value(e.right, kind)
        if lc is not None and rc is not None:
            result = COMPARATORS[op](lc, rc)
            return lambda env: result
        return _comparison(op, lf, lc, rf, rc)

    # nodes ----------------------------------------------------------------------------------
    def tree(self, root, tree_key):
        return self.node(root, (), C.TREE_KIND[tree_key], tree_key)

    def node(self, n, prefix, kind, tree):
        nid = n.node_id
        here = prefix + (nid,)
        if n.depth > MAX_TREE_DEPTH:
            err = (tree, nid, ARROW.join(here))

            def too_deep(env):
                raise PolicyRuntimeError("MaxDepthExceeded",
                                         "Tree traversal exceeded maximum depth (100)",
                                         tree=err[0], node_id=err[1], path=err[2])
            return too_deep
        if n.kind == "sequence":
            fns = tuple(self.node(c, prefix, kind, tree) for c in n.children)

            def sequence(env):
                out = []
                for f in fns:
                    r = f(env)
                    if type(r) is list:
                        out.extend(r)
                    else:
                        out.append(r)
                return out
            return sequence
        if n.kind == "action":
            return self.action(n, ARROW.join(here), kind, tree)
        cond = self.expr(n.expr, kind)
        self.conds[id(n)] = cond
        on_true = self.node(n.on_true, prefix + (f"{nid}(true)",), kind, tree)
        on_false = self.node(n.on_false, prefix + (f"{nid}(false)",), kind, tree)
        fail_path = ARROW.join(here)

        def condition(env):
            try:
                r = cond(env)
            except EvalFailure as exc:
                raise PolicyRuntimeError(exc.kind, exc.detail, tree=tree, node_id=nid,
                                         path=fail_path) from None
            return on_true(env) if r else on_false(env)
        return condition

    # actions ----------------------------------------------------------------------------------
    def action(self, n, path, kind, tree):
        name = n.action
        canonical = C.CANONICAL_ACTION[name]
        if kind == "payment":
            if name in C.PAYMENT_ACTION_NAMES:
                build = self._payment_action(canonical, n.params, path, kind)
            else:
                build = _failing(EvalFailure(
                    "InvalidActionType", f"Invalid action type: {name} is a "
                    f"{'bank' if name in C.BANK_ACTION_NAMES else 'collateral'} action and "
                    "cannot be used in payment_tree"))
        elif kind == "bank":
            if name in C.BANK_ACTION_NAMES:
                build = self._bank_action(name, n.params, path, kind)
            elif name in C.COLLATERAL_ACTION_NAMES and self.extended:
                build = self._collateral_action(name, n.params, path, kind)
            else:
                d = Decision("NoAction", path)
                return lambda env: d
        else:
            if name in C.COLLATERAL_ACTION_NAMES:
                build = self._collateral_action(name, n.params, path, kind)
            else:
                build = _failing(EvalFailure(
                    "InvalidActionType", f"Invalid action type: {name} is a "
                    f"{'payment' if name in C.PAYMENT_ACTION_NAMES else 'bank'} action and "
                    f"cannot be used in {tree}"))
        if isinstance(build, Decision):
            return lambda env: build
        nid = n.node_id

        def action(env):
            try:
                return build(env)
            except EvalFailure as exc:
                raise PolicyRuntimeError(exc.kind, exc.detail, tree=tree, node_id=nid,
                                         path=path) from None
        return action

    def _number(self, params, name, kind, required=True):
        """fn(env) -> float for a numeric action parameter (policy.md 7.2), or None if absent."""
        v = params.get(name)
        if v is None:
            return _failing(_missing_param(name)) if required else None
        if v.form == "value":
            if is_json_number(v.literal):
                return _constant(json_number(v.literal))
            return _failing(_invalid_param(name))
        return self.value(v, kind)[0]

    @staticmethod
    def _string(params, name):
        """A string-only parameter (register key / reason): the string, or an EvalFailure."""
        v = params.get(name)
        if v is None:
            return _missing_param(name)
        if v.form == "value":
            return v.literal if isinstance(v.literal, str) else _invalid_param(name)
        what = {"field": "field references", "param": "param references",
                "compute": "computed values"}[v.form]
        return _invalid_param(f"String parameter '{name}' does not support {what}")

    def _payment_action(self, action, params, path, kind):
        if action == "Release":
            pf = params.get("priority_flag")
            flag = None
            if pf is not None and pf.form == "value" and isinstance(pf.literal, str):
                flag = PRIORITY_FLAGS.get(pf.literal, 5)
            tf = self._number(params, "timed_for_tick", kind, required=False)
            if tf is None:
                return Decision("Release", path, priority_flag=flag)
            return lambda env: Decision("Release", path, priority_flag=flag,
                                        timed_for_tick=to_count(tf(env)))
        if action == "Split":
            nf = self._number(params, "num_splits", kind)

            def split(env):
                n = to_count(nf(env))
                if n < 2:
                    raise _invalid_param("num_splits must be >= 2")
                return Decision("Split", path, num_splits=n)
            return split
        if action == "StaggerSplit":
            fns = [self._number(params, k, kind) for k in
                   ("num_splits", "stagger_first_now", "stagger_gap_ticks",
                    "priority_boost_children")]

            def stagger(env):
                n = to_count(fns[0](env))
                k = to_count(fns[1](env))
                gap = to_count(fns[2](env))
                boost = to_u8(fns[3](env))
                if n < 2:
                    raise _invalid_param("num_splits must be >= 2")
                if k > n:
                    raise _invalid_param("stagger_first_now cannot exceed num_splits")
                return Decision("StaggerSplit", path, num_splits=n, first_now=k, gap=gap,
                                boost=boost)
            return stagger
        if action == "Hold":
            r = params.get("reason")
            literal = r.literal if r is not None and r.form == "value" else None
            if literal == "NearDeadline":
                ttd = self.field("ticks_to_deadline", kind)

                def near_deadline(env):
                    try:
                        t = ttd(env)
                    except EvalFailure:
                        t = 0.0
                    return Decision("Hold", path,
                                    reason=hold_reason_text("NearDeadline", to_count(fmax(t, 0.0))))
                return near_deadline
            return Decision("Hold", path, reason=hold_reason_text(literal))
        if action in ("Drop", "WithdrawFromRtgs"):
            return Decision(action, path)
        if action == "Reprioritize":
            pf = self._number(params, "new_priority", kind)
            return lambda env: Decision("Reprioritize", path, new_priority=to_u8(pf(env)))
        # ResubmitToRtgs: the parameter is a literal, so the outcome is fixed at compile time
        v = params.get("rtgs_priority")
        if v is None:
            return _failing(_missing_param("rtgs_priority"))
        if v.form != "value":
            return _failing(_invalid_param("rtgs_priority must be a direct string value"))
        if not isinstance(v.literal, str):
            return _failing(_invalid_param("rtgs_priority must be a string"))
        if v.literal not in C.RTGS_PRIORITIES:
            return _failing(_invalid_param("rtgs_priority must be 'HighlyUrgent', 'Urgent', or "
                                           f"'Normal', got '{v.literal}'"))
        return Decision("ResubmitToRtgs", path, rtgs_priority=v.literal)

    def _bank_action(self, name, params, path, kind):
        if name == "NoAction":
            return Decision("NoAction", path)
        if name == "SetReleaseBudget":
            mf = self._number(params, "max_value_to_release", kind)
            focus = None
            fv = params.get("focus_counterparties")
            if fv is not None and fv.form == "value" and isinstance(fv.literal, list):
                focus = [x for x in fv.literal if isinstance(x, str)] or None
            pcf = self._number(params, "max_per_counterparty", kind, required=False)

            def budget(env):
                m = to_i64(mf(env))
                pc = None if pcf is None else to_i64(pcf(env))
                return Decision("SetReleaseBudget", path, max_value=m,
                                focus=None if focus is None else list(focus),
                                per_counterparty=pc)
            return budget
        # SetState / AddState: key, then value, then the optional reason
        key = self._string(params, "key")
        vf = self._number(params, "value", kind)
        reason = self._string(params, "reason") if "reason" in params else "policy_action"

        def register(env):
            if isinstance(key, EvalFailure):
                raise EvalFailure(key.kind, key.detail)
            value = vf(env)
            if isinstance(reason, EvalFailure):
                raise EvalFailure(reason.kind, reason.detail)
            return Decision(name, path, key=key, value=value, reason=reason)
        return register

    def _collateral_action(self, name, params, path, kind):
        if name == "HoldCollateral":
            return Decision("HoldCollateral", path)
        hold = Decision("HoldCollateral", path)
        af = self._number(params, "amount", kind)
        r = params.get("reason")
        reason = "UrgentLiquidityNeed"
        if r is not None and r.form == "value" and r.literal in C.COLLATERAL_REASONS:
            reason = r.literal
        if name == "WithdrawCollateral":
            def withdraw(env):
                amount = to_i64(af(env))
                if amount <= 0:
                    return hold
                return Decision("WithdrawCollateral", path, amount=amount, reason=reason)
            return withdraw
        tf = self._number(params, "auto_withdraw_after_ticks", kind, required=False)

        def post(env):
            amount = to_i64(af(env))
            if amount <= 0:
                return hold
            timer = None
            if tf is not None:
                t = tf(env)
                if t > 0:
                    timer = to_count(t)
            return Decision("PostCollateral", path, amount=amount, reason=reason, timer=timer)
        return post


# ---- the compiled policy ---------------------------------------------------------------------

_NO_ACTION = Decision("NoAction")
_HOLD_COLLATERAL = Decision("HoldCollateral")


def _no_payment_tree(env):
    raise PolicyRuntimeError("InvalidTree", "Invalid tree: payment_tree is not defined",
                             tree="payment_tree")


class CompiledPolicy:
    """A policy ready for the engine: four entry points and a few facts about the document.

    ``payment(env) -> Decision``, ``bank(env) -> list[Decision]``,
    ``strategic_collateral(env) -> Decision``, ``end_of_tick_collateral(env) -> Decision``.
    Runtime errors raise :class:`PolicyRuntimeError` with tree, node id and decision path.
    """

    __slots__ = ("document", "parameters", "profile", "source", "policy_id",
                 "has_payment_tree", "has_bank_tree", "has_strategic_tree",
                 "has_end_of_tick_tree", "uses_queue2_actions", "initial_liquidity_fraction",
                 "register_keys", "lints", "payment", "bank", "strategic_collateral",
                 "end_of_tick_collateral", "_roots", "_conds")

    def __repr__(self) -> str:  # pragma: no cover
        trees = [k for k, v in self._roots.items() if v is not None]
        return f"CompiledPolicy({self.policy_id!r}, profile={self.profile!r}, trees={trees})"

    def trace(self, tree: str, env) -> list[dict]:
        """Structured decision path of one walk: ``[{"node_id", "node_type", "result"}]``.

        Sequence nodes (extended bank tree) appear as ``node_type: "sequence"`` followed by
        the walks of their children.
        """
        key = C.TREE_ALIASES.get(tree)
        if key is None:
            raise ValueError(f"unknown tree {tree!r}; expected one of {', '.join(C.TREE_KEYS)}")
        root = self._roots[key]
        if root is None:
            if key == "payment_tree":
                _no_payment_tree(env)
            return []
        out: list[dict] = []
        self._trace(root, (), key, env, out)
        return out

    def _trace(self, node, prefix, tree, env, out):
        while True:
            here = prefix + (node.node_id,)
            if node.depth > MAX_TREE_DEPTH:
                raise PolicyRuntimeError("MaxDepthExceeded",
                                         "Tree traversal exceeded maximum depth (100)",
                                         tree=tree, node_id=node.node_id, path=ARROW.join(here))
            if node.kind == "action":
                out.append({"node_id": node.node_id, "node_type": "action", "result": None})
                return
            if node.kind == "sequence":
                out.append({"node_id": node.node_id, "node_type": "sequence", "result": None})
                for child in node.children:
                    self._trace(child, prefix, tree, env, out)
                return
            try:
                r = bool(self._conds[id(node)](env))
            except EvalFailure as exc:
                raise PolicyRuntimeError(exc.kind, exc.detail, tree=tree, node_id=node.node_id,
                                         path=ARROW.join(here)) from None
            out.append({"node_id": node.node_id, "node_type": "condition", "result": r})
            prefix = prefix + (f"{node.node_id}({'true' if r else 'false'})",)
            node = node.on_true if r else node.on_false


def build_compiled(analysis, *, for_mapping: bool = False) -> CompiledPolicy:
    """Compile an error-free :class:`~paysim_lab.policy.validate.Analysis`."""
    comp = _Compiler(analysis, for_mapping)
    cp = CompiledPolicy()
    doc = analysis.document
    cp.document = copy_json(doc)
    cp.parameters = dict(analysis.parameters)
    cp.profile = analysis.profile
    cp.source = analysis.source
    cp.policy_id = doc.get("policy_id")
    cp.register_keys = analysis.register_keys
    cp.lints = [l["message"] for l in analysis.lints]
    roots = analysis.trees
    cp._roots = dict(roots)
    cp.has_payment_tree = roots["payment_tree"] is not None
    cp.has_bank_tree = roots["bank_tree"] is not None
    cp.has_strategic_tree = roots["strategic_collateral_tree"] is not None
    cp.has_end_of_tick_tree = roots["end_of_tick_collateral_tree"] is not None
    cp.uses_queue2_actions = cp.has_payment_tree and any(
        n.kind == "action" and n.action in ("WithdrawFromRtgs", "ResubmitToRtgs")
        for n in walk_nodes(roots["payment_tree"]))
    raw_params = doc.get("parameters") or {}
    ilf = raw_params.get("initial_liquidity_fraction")
    cp.initial_liquidity_fraction = json_number(ilf) if is_json_number(ilf) else None

    cp.payment = (comp.tree(roots["payment_tree"], "payment_tree") if cp.has_payment_tree
                  else _no_payment_tree)
    if cp.has_bank_tree:
        root = roots["bank_tree"]
        fn = comp.tree(root, "bank_tree")
        cp.bank = fn if root.kind == "sequence" else (lambda env: [fn(env)])
    else:
        cp.bank = lambda env: [_NO_ACTION]
    for attr, key in (("strategic_collateral", "strategic_collateral_tree"),
                      ("end_of_tick_collateral", "end_of_tick_collateral_tree")):
        if roots[key] is not None:
            setattr(cp, attr, comp.tree(roots[key], key))
        else:
            setattr(cp, attr, lambda env: _HOLD_COLLATERAL)
    cp._conds = comp.conds
    return cp


def compile_policy(document: dict, *, profile: str = "extended", source: str = "<dict>",
                   defaults: dict | None = None, for_mapping: bool = False) -> CompiledPolicy:
    """Validate ``document`` (raising PolicyError) and compile it for the engine.

    ``for_mapping=True`` compiles getters that read a plain ``{field: value}`` dict instead of
    an EvalEnv (notebooks). Lints are emitted as PolicyWarning.

    >>> cp = compile_policy({"version": "1.0", "policy_id": "fifo",
    ...                      "payment_tree": {"type": "action", "node_id": "A",
    ...                                       "action": "Release"}})
    >>> cp.payment(None).action, cp.payment(None).path
    ('Release', 'A')
    """
    a = analyze(document, profile=profile, source=source, defaults=defaults)
    raise_for_errors(a)
    emit_lints(a)
    return build_compiled(a, for_mapping=for_mapping)
