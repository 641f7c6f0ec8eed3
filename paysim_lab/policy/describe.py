"""Plain-language summary of a policy, for teachers and notebooks.

>>> from paysim_lab.policy import load_policy, builtin_document
>>> print(describe(load_policy(builtin_document("Deadline", {"urgency_threshold": 5}))))
Policy deadline_policy (version 1.0)
Built-in Deadline: drop at the deadline, release within urgency_threshold ticks of it, else hold.
Parameters: initial_liquidity_fraction = 1, urgency_threshold = 5
Payment tree (each queued payment):
  - if deadline tick ≤ current tick: drop it
  - otherwise, if ticks to deadline ≤ urgency_threshold (5): release it
  - otherwise: hold it (reason: NearDeadline)
"""
from __future__ import annotations

from . import catalog as C
from .ir import Node, Val
from .validate import analyze

_TREE_TITLES = {
    "bank_tree": "Bank tree (once per tick, before payments)",
    "strategic_collateral_tree": "Strategic collateral tree (start of tick)",
    "payment_tree": "Payment tree (each queued payment)",
    "end_of_tick_collateral_tree": "End-of-tick collateral tree (after settlement)",
}
_OPS = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def _num(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e15 else repr(x)


class _Writer:
    def __init__(self, params):
        self.params = params

    def value(self, v: Val) -> str:
        if v.form == "field":
            return v.name.replace("_", " ")
        if v.form == "param":
            if v.name in self.params:
                return f"{v.name} ({_num(self.params[v.name])})"
            return f"{v.name} (undefined)"
        if v.form == "value":
            lit = v.literal
            if isinstance(lit, bool):
                return "1" if lit else "0"
            if isinstance(lit, (int, float)):
                return _num(float(lit))
            return repr(lit)
        c = v.comp
        ops = c.operands
        if c.op in ("+", "-", "*", "/"):
            sym = {"+": "+", "-": "−", "*": "×", "/": "÷"}[c.op]
            return f"({self.value(ops['left'])} {sym} {self.value(ops['right'])})"
        if c.op in ("max", "min"):
            return f"{c.op}({', '.join(self.value(x) for x in ops['values'])})"
        if c.op == "clamp":
            return (f"clamp({self.value(ops['value'])} to {self.value(ops['min'])}"
                    f"..{self.value(ops['max'])})")
        if c.op == "div0":
            return (f"({self.value(ops['numerator'])} ÷ {self.value(ops['denominator'])}, "
                    f"or {self.value(ops['default'])} if dividing by 0)")
        return f"{c.op}({self.value(ops['value'])})"

    def expr(self, e) -> str:
        if e.op in ("and", "or"):
            if not e.items:
                return "always" if e.op == "and" else "never"
            parts = [self.expr(x) for x in e.items]
            if len(parts) == 1:
                return parts[0]
            return f" {e.op} ".join(f"({p})" if " and " in p or " or " in p else p
                                    for p in parts)
        if e.op == "not":
            return f"not ({self.expr(e.inner)})"
        return f"{self.value(e.left)} {_OPS[e.op]} {self.value(e.right)}"

    def param(self, params, name, default="?"):
        v = params.get(name)
        return default if v is None else self.value(v)

    def action(self, n: Node, kind: str, extended: bool) -> str:
        a, p = n.action, n.params
        if kind == "bank" and (a in C.PAYMENT_ACTION_NAMES or
                               (a in C.COLLATERAL_ACTION_NAMES and not extended)):
            return f"do nothing ({a} has no effect in the bank tree)"
        if a in ("Release", "ReleaseWithCredit"):
            return "release it" + (" (credit allowed)" if a == "ReleaseWithCredit" else "")
        if a in ("Split", "PaceAndRelease"):
            return f"split it into {self.param(p, 'num_splits')} parts"
        if a == "StaggerSplit":
            return (f"split it into {self.param(p, 'num_splits')} parts, releasing "
                    f"{self.param(p, 'stagger_first_now')} now")
        if a == "Hold":
            r = p.get("reason")
            reason = r.literal if r is not None and r.form == "value" and \
                isinstance(r.literal, str) else "Policy decision"
            return f"hold it (reason: {reason})"
        if a == "Drop":
            return "drop it"
        if a == "Reprioritize":
            return f"set its priority to {self.param(p, 'new_priority')}"
        if a == "WithdrawFromRtgs":
            return "withdraw it from the RTGS queue"
        if a == "ResubmitToRtgs":
            return f"resubmit it to RTGS as {self.param(p, 'rtgs_priority')}"
        if a == "SetReleaseBudget":
            return f"set the release budget to {self.param(p, 'max_value_to_release')}"
        if a == "SetState":
            return f"set register {self.param(p, 'key')} to {self.param(p, 'value')}"
        if a == "AddState":
            return f"add {self.param(p, 'value')} to register {self.param(p, 'key')}"
        if a == "NoAction":
            return "do nothing"
        if a == "PostCollateral":
            text = f"post {self.param(p, 'amount')} of collateral"
            if "auto_withdraw_after_ticks" in p:
                text += f", withdrawn after {self.param(p, 'auto_withdraw_after_ticks')} ticks"
            return text
        if a == "WithdrawCollateral":
            return f"withdraw {self.param(p, 'amount')} of collateral"
        return "keep collateral unchanged"

    def rules(self, node: Node, indent: str, kind: str, extended: bool) -> list[str]:
        lines = []
        first = True
        while node.kind == "condition":
            lead = "if" if first else "otherwise, if"
            cond = self.expr(node.expr)
            if node.on_true.kind == "action":
                lines.append(f"{indent}- {lead} {cond}: "
                             f"{self.action(node.on_true, kind, extended)}")
            else:
                lines.append(f"{indent}- {lead} {cond}:")
                lines.extend(self.rules(node.on_true, indent + "    ", kind, extended))
            node = node.on_false
            first = False
        if node.kind == "sequence":
            lines.append(f"{indent}- {'' if first else 'otherwise: '}all of, in order:")
            for child in node.children:
                lines.extend(self.rules(child, indent + "    ", kind, extended))
            return lines
        lead = "" if first else "otherwise: "
        lines.append(f"{indent}- {lead}{self.action(node, kind, extended)}")
        return lines


def describe(policy) -> str:
    """A readable summary of ``policy`` (a Policy, a CompiledPolicy or a document dict)."""
    if hasattr(policy, "model_dump"):
        doc, profile = policy.model_dump(), policy.profile
    elif hasattr(policy, "document") and hasattr(policy, "profile"):
        doc, profile = policy.document, policy.profile
    else:
        doc, profile = policy, "extended"
    a = analyze(doc, profile=profile)
    if a.errors:
        return "Invalid policy:\n" + "\n".join(e["message"] for e in a.errors)
    w = _Writer(a.parameters)
    lines = [f"Policy {doc.get('policy_id')} (version {doc.get('version')})"]
    if doc.get("description"):
        lines.append(str(doc["description"]))
    if a.parameters:
        lines.append("Parameters: " + ", ".join(f"{k} = {_num(v)}"
                                                 for k, v in sorted(a.parameters.items())))
    for tree in ("bank_tree", "strategic_collateral_tree", "payment_tree",
                 "end_of_tick_collateral_tree"):
        root = a.trees[tree]
        if root is None:
            continue
        lines.append(_TREE_TITLES[tree] + ":")
        lines.extend(w.rules(root, "  ", C.TREE_KIND[tree], profile == "extended"))
    if a.trees["payment_tree"] is None:
        lines.append("No payment tree: the run fails when this bank has a payment to decide.")
    return "\n".join(lines)
