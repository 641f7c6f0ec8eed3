"""Pictures of a policy tree: an indented text view and a Plotly figure.

Pure functions over the policy document (a dict), so they also work on a document that is
half-way through an edit and does not validate yet. Nodes are addressed by their JSON path
inside the document (``payment_tree.on_false.on_true``, ``bank_tree.children[1]``), the same
paths the validator puts in its error messages.

>>> doc = {"version": "1.0", "policy_id": "p", "payment_tree": {
...     "type": "condition", "node_id": "C1",
...     "condition": {"op": "<=", "left": {"field": "ticks_to_deadline"}, "right": {"value": 3}},
...     "on_true": {"type": "action", "node_id": "Go", "action": "Release"},
...     "on_false": {"type": "action", "node_id": "Wait", "action": "Hold",
...                  "parameters": {"reason": {"value": "LowPriority"}}}}}
>>> print(tree_text(doc, "payment"))
C1: if ticks_to_deadline <= 3
├─ true → Go: Release
└─ false → Wait: Hold(reason="LowPriority")
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..policy import catalog as C

__all__ = ["NodeRow", "as_document", "tree_key", "tree_rows", "tree_text", "tree_figure",
           "expr_text", "value_text", "action_text", "get_node", "parse_path"]


def as_document(policy: Any) -> dict:
    """A fresh dict copy of a policy given as a ``psl.Policy``, a dict or a JSON file path."""
    if hasattr(policy, "document") and not isinstance(policy, dict):
        doc = policy.document
    elif isinstance(policy, dict):
        doc = policy
    elif isinstance(policy, (str, os.PathLike)):
        from ..policy import read_policy_file
        doc = read_policy_file(Path(policy))
    else:
        raise TypeError(f"expected a Policy, a policy dict or a path, got "
                        f"{type(policy).__name__}")
    return json.loads(json.dumps(doc))


def tree_key(tree: str) -> str:
    """``"payment"`` / ``"bank"`` / ``"strategic"`` / ``"end_of_tick"`` (or the full key) ->
    the document key."""
    key = C.TREE_ALIASES.get(tree)
    if key is None:
        raise ValueError(f"unknown tree {tree!r}; expected one of {', '.join(C.TREE_KEYS)}")
    return key


_STEP = re.compile(r"^(on_true|on_false)$|^children\[(\d+)\]$")


def parse_path(path: str) -> tuple[str, list]:
    """``"payment_tree.on_true.children[2]"`` -> (``"payment_tree"``, ``["on_true", 2]``)."""
    parts = path.split(".")
    steps: list = []
    for p in parts[1:]:
        m = _STEP.match(p)
        if not m:
            raise ValueError(f"{path!r} is not a node path (step {p!r})")
        steps.append(m.group(1) or int(m.group(2)))
    return tree_key(parts[0]), steps


def get_node(doc: dict, path: str):
    """The node dict at ``path`` (None when the path leads nowhere)."""
    key, steps = parse_path(path)
    node = doc.get(key)
    for s in steps:
        if isinstance(s, int):
            kids = node.get("children") if isinstance(node, dict) else None
            node = kids[s] if isinstance(kids, list) and s < len(kids) else None
        else:
            node = node.get(s) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


@dataclass(frozen=True)
class NodeRow:
    """One node of a tree in pre-order: where it is, how deep, and under which branch."""

    path: str
    depth: int
    branch: str          # "", "true", "false" or "#i" for a sequence child
    node: Any            # the node dict (or whatever the document holds there)
    last: tuple          # for each ancestor level: was that node its parent's last child

    @property
    def kind(self) -> str:
        n = self.node
        return n.get("type", "?") if isinstance(n, dict) else "invalid"

    @property
    def node_id(self) -> str:
        n = self.node
        nid = n.get("node_id") if isinstance(n, dict) else None
        return nid if isinstance(nid, str) else "(no id)"


def tree_rows(doc: dict, tree: str) -> list[NodeRow]:
    """The nodes of one tree in pre-order (empty if the document has no such tree)."""
    key = tree_key(tree)
    root = doc.get(key)
    if root is None:
        return []
    out: list[NodeRow] = []
    stack = [(key, root, 0, "", ())]
    while stack:
        path, node, depth, branch, last = stack.pop()
        out.append(NodeRow(path, depth, branch, node, last))
        if not isinstance(node, dict) or depth > 200:
            continue
        kids = []
        if node.get("type") == "condition":
            kids = [(f"{path}.on_true", node.get("on_true"), "true"),
                    (f"{path}.on_false", node.get("on_false"), "false")]
            kids = [k for k in kids if k[1] is not None]
        elif node.get("type") == "sequence" and isinstance(node.get("children"), list):
            kids = [(f"{path}.children[{i}]", c, f"#{i + 1}")
                    for i, c in enumerate(node["children"])]
        for i in range(len(kids) - 1, -1, -1):
            p, n, b = kids[i]
            stack.append((p, n, depth + 1, b, last + (i == len(kids) - 1,)))
    return out


# ----------------------------------------------------------------------------- text rendering
def _num(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return f"{x:g}" if isinstance(x, float) else str(x)
    return json.dumps(x)


_INFIX = {"+", "-", "*", "/"}


def value_text(v) -> str:
    """A value object as text: a field name, ``param.NAME``, a number, or a computation."""
    if not isinstance(v, dict):
        return json.dumps(v)
    if "field" in v:
        return str(v["field"])
    if "param" in v:
        return f"param.{v['param']}"
    if "value" in v:
        return _num(v["value"])
    if "compute" in v:
        return _compute_text(v["compute"])
    return "?"


def _compute_text(c) -> str:
    if not isinstance(c, dict):
        return "?"
    op = c.get("op")
    if op in _INFIX:
        return f"({value_text(c.get('left'))} {op} {value_text(c.get('right'))})"
    if op in ("max", "min"):
        vals = c.get("values") if isinstance(c.get("values"), list) else []
        return f"{op}({', '.join(value_text(x) for x in vals)})"
    keys = C.COMPUTE_OPERANDS.get(op)
    if keys:
        return f"{op}({', '.join(value_text(c.get(k)) for k in keys)})"
    return "?"


def expr_text(e) -> str:
    """A condition expression as text (``balance >= param.buffer``, ``(a) and (b)``)."""
    if not isinstance(e, dict):
        return "?"
    op = e.get("op")
    if op in C.COMPARISON_OPS:
        return f"{value_text(e.get('left'))} {op} {value_text(e.get('right'))}"
    if op in ("and", "or"):
        items = e.get("conditions") if isinstance(e.get("conditions"), list) else []
        if not items:
            return "true" if op == "and" else "false"
        return f" {op} ".join(f"({expr_text(x)})" for x in items)
    if op == "not":
        return f"not ({expr_text(e.get('condition'))})"
    return f"? op {op!r}"


def action_text(node: dict) -> str:
    """``Release``, ``Split(num_splits=3)``, ``Hold(reason=LowPriority)``."""
    params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
    if not params:
        return str(node.get("action"))
    inner = ", ".join(f"{k}={value_text(v)}" for k, v in params.items())
    return f"{node.get('action')}({inner})"


def node_summary(node) -> str:
    if not isinstance(node, dict):
        return f"invalid node: {json.dumps(node)[:60]}"
    kind = node.get("type")
    if kind == "condition":
        return f"if {expr_text(node.get('condition'))}"
    if kind == "action":
        return action_text(node)
    if kind == "sequence":
        return "do all of:"
    return f"unknown node type {kind!r}"


def _prefix(row: NodeRow) -> str:
    if row.depth == 0:
        return ""
    bars = "".join("   " if last else "│  " for last in row.last[:-1])
    return bars + ("└─ " if row.last[-1] else "├─ ") + (
        f"{row.branch} → " if row.branch else "")


def row_label(row: NodeRow) -> str:
    """One line of the indented view."""
    return f"{_prefix(row)}{row.node_id}: {node_summary(row.node)}"


def tree_text(policy: Any, tree: str) -> str:
    """The indented text view of one tree ("(no payment_tree)" when absent)."""
    doc = policy if isinstance(policy, dict) else as_document(policy)
    rows = tree_rows(doc, tree)
    if not rows:
        return f"(no {tree_key(tree)})"
    return "\n".join(row_label(r) for r in rows)


# ----------------------------------------------------------------------------- the figure
_ACTION_COLORS = {
    "Release": "#2ca02c", "ReleaseWithCredit": "#2ca02c", "Split": "#17becf",
    "PaceAndRelease": "#17becf", "StaggerSplit": "#17becf", "Hold": "#ff7f0e",
    "Drop": "#d62728", "Reprioritize": "#bcbd22", "WithdrawFromRtgs": "#d62728",
    "ResubmitToRtgs": "#9467bd", "SetReleaseBudget": "#1f77b4", "SetState": "#8c564b",
    "AddState": "#8c564b", "NoAction": "#7f7f7f", "PostCollateral": "#9467bd",
    "WithdrawCollateral": "#e377c2", "HoldCollateral": "#7f7f7f",
}


def _layout(rows: list[NodeRow]) -> dict[str, tuple[float, int]]:
    """x (leaves left to right, parents centred over their children) and depth per path."""
    children: dict[str, list[str]] = {}
    for r in rows:
        if r.depth > 0:
            parent = r.path.rsplit(".", 1)[0]
            children.setdefault(parent, []).append(r.path)
    pos: dict[str, tuple[float, int]] = {}
    next_leaf = [0.0]
    depth = {r.path: r.depth for r in rows}

    def place(path: str) -> float:     # iterative would be longer; depth is validated <= ~100
        kids = children.get(path, [])
        if not kids:
            x = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            xs = [place(k) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        pos[path] = (x, depth[path])
        return x

    if rows:
        place(rows[0].path)
    return pos


def tree_figure(policy: Any, tree: str = "payment", selected: str | None = None,
                error_paths: tuple[str, ...] | list[str] = ()) -> go.Figure:
    """A picture of one tree: conditions as diamonds, actions as squares coloured by action,
    green edges for ``on_true`` and red for ``on_false``. ``selected`` (a node path) is drawn
    larger; nodes whose path has a validation error get a red outline. The node trace's
    ``customdata`` holds each node's path (used for click-to-select in the editor).

    >>> fig = tree_figure({"version": "1.0", "policy_id": "p", "payment_tree":
    ...     {"type": "action", "node_id": "R", "action": "Release"}}, "payment")
    >>> fig.data[-1].customdata
    ('payment_tree',)
    """
    doc = policy if isinstance(policy, dict) else as_document(policy)
    key = tree_key(tree)
    rows = tree_rows(doc, key)
    pos = _layout(rows)
    fig = go.Figure()
    edge_sets = {"true": ([], [], "#2ca02c"), "false": ([], [], "#d62728"),
                 "seq": ([], [], "#7f7f7f")}
    labels_x, labels_y, labels_t = [], [], []
    for r in rows:
        if r.depth == 0:
            continue
        parent = r.path.rsplit(".", 1)[0]
        (x0, d0), (x1, d1) = pos[parent], pos[r.path]
        kind = r.branch if r.branch in ("true", "false") else "seq"
        xs, ys, _ = edge_sets[kind]
        xs += [x0, x1, None]
        ys += [-d0, -d1, None]
        labels_x.append((x0 + x1) / 2)
        labels_y.append(-(d0 + d1) / 2)
        labels_t.append({"true": "T", "false": "F"}.get(r.branch, r.branch))
    for kind, (xs, ys, color) in edge_sets.items():
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                     line=dict(color=color, width=2), showlegend=False,
                                     meta={"role": f"edges_{kind}"}))
    if labels_t:
        fig.add_trace(go.Scatter(x=labels_x, y=labels_y, mode="text", text=labels_t,
                                 textfont=dict(size=11, color="#555"), hoverinfo="skip",
                                 showlegend=False, meta={"role": "edge_labels"}))
    errs = tuple(error_paths)
    xs, ys, texts, hovers, symbols, colors, sizes, lines, paths = ([] for _ in range(9))
    for r in rows:
        x, d = pos[r.path]
        node = r.node if isinstance(r.node, dict) else {}
        kind = r.kind
        xs.append(x)
        ys.append(-d)
        texts.append(r.node_id)
        desc = node.get("description")
        hovers.append(f"<b>{r.node_id}</b> ({kind})<br>{node_summary(r.node)}"
                      + (f"<br><i>{desc}</i>" if isinstance(desc, str) and desc else ""))
        symbols.append({"condition": "diamond", "action": "square",
                        "sequence": "circle"}.get(kind, "x"))
        colors.append("#aec7e8" if kind == "condition" else
                      _ACTION_COLORS.get(node.get("action"), "#cccccc"))
        bad = any(e == r.path or e.startswith(r.path + ".condition")
                  or e.startswith(r.path + ".parameters") or e.startswith(r.path + ".action")
                  for e in errs)
        sizes.append(30 if r.path == selected else 22)
        lines.append(dict(width=3, color="#d62728") if bad else
                     dict(width=3 if r.path == selected else 1, color="#222"))
        paths.append(r.path)
    # conditions are labelled above; leaves get slanted labels below so that neighbouring
    # leaves of a wide tree do not overwrite each other
    leaf = [not any(r2.path.startswith(r.path + ".") for r2 in rows) for r in rows]
    positions = ["top center" if not lf else "bottom center" for lf in leaf]
    for x, y, t, lf in zip(xs, ys, texts, leaf):
        if lf:
            fig.add_annotation(x=x, y=y, text=t, showarrow=False, textangle=28, xanchor="left",
                               yanchor="top", xshift=-4, yshift=-12, font=dict(size=11),
                               name=f"label {t}")
    texts = [t if not lf else "" for t, lf in zip(texts, leaf)]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers+text", text=texts, textposition=positions,
        customdata=paths, hovertext=hovers, hoverinfo="text", showlegend=False,
        marker=dict(symbol=symbols, color=colors, size=sizes,
                    line=dict(width=[ln["width"] for ln in lines],
                              color=[ln["color"] for ln in lines])),
        meta={"role": "nodes", "tree": key}))
    depth = max((r.depth for r in rows), default=0)
    width_leaves = max((p[0] for p in pos.values()), default=0)
    fig.update_layout(title=dict(text=f"{doc.get('policy_id', '?')}: {key}", x=0.01),
                      template="plotly_white", height=max(260, 90 * (depth + 1) + 110),
                      margin=dict(t=50, l=20, r=20, b=20), hovermode="closest",
                      dragmode="pan")
    fig.update_xaxes(visible=False, range=[-0.7, width_leaves + 1.5])
    fig.update_yaxes(visible=False, range=[-depth - 1.0, 0.5])
    if not rows:
        fig.add_annotation(text=f"this policy has no {key}", xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False)
    return fig
