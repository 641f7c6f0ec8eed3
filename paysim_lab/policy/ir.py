"""Parsed form of a policy document: what validation produces and the compiler consumes.

Plain slotted records. Every record keeps its JSON path (``payment_tree.on_false.condition``)
so errors and lints can point at the exact spot in the user's file.
"""
from __future__ import annotations


class Val:
    """A value object: ``form`` is ``field``, ``param``, ``value`` or ``compute``."""

    __slots__ = ("form", "name", "literal", "comp", "path")

    def __init__(self, form: str, path: str, name=None, literal=None, comp=None):
        self.form = form
        self.path = path
        self.name = name          # field or param name
        self.literal = literal    # raw JSON literal (form == "value")
        self.comp = comp          # Comp (form == "compute")


class Comp:
    """A computation: ``operands`` maps operand key -> Val (or list of Val for max/min)."""

    __slots__ = ("op", "operands", "path")

    def __init__(self, op: str, operands: dict, path: str):
        self.op = op
        self.operands = operands
        self.path = path


class Expr:
    """A boolean expression: comparison (left/right), and/or (items) or not (inner)."""

    __slots__ = ("op", "left", "right", "items", "inner", "path")

    def __init__(self, op: str, path: str, left=None, right=None, items=None, inner=None):
        self.op = op
        self.path = path
        self.left = left
        self.right = right
        self.items = items
        self.inner = inner


class Node:
    """A tree node: ``kind`` is ``condition``, ``action`` or ``sequence`` (extended, bank tree)."""

    __slots__ = ("kind", "node_id", "path", "depth", "tree", "expr", "on_true", "on_false",
                 "action", "params", "children", "auto_id")

    def __init__(self, kind: str, node_id: str, path: str, depth: int, tree: str):
        self.kind = kind
        self.node_id = node_id
        self.path = path
        self.depth = depth
        self.tree = tree
        self.expr = None          # Expr (condition)
        self.on_true = None
        self.on_false = None
        self.action = None        # action name as written (action)
        self.params = None        # dict name -> Val (action)
        self.children = None      # list of Node (sequence)
        self.auto_id = False      # node_id derived from the JSON path (extended profile)


def walk_nodes(root):
    """Nodes of a tree in pre-order (root, on_true subtree, on_false subtree / children)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if node.kind == "condition":
            stack.append(node.on_false)
            stack.append(node.on_true)
        elif node.kind == "sequence":
            stack.extend(reversed(node.children))


def walk_values(node):
    """Every Val of a node (its condition's operands, or its action parameters), pre-order.

    Yields ``(val, where)`` with ``where`` = ``"condition"`` or ``"parameter"``.
    """
    stack = []
    if node.kind == "condition":
        exprs = [node.expr]
        while exprs:
            e = exprs.pop()
            if e.items is not None:
                exprs.extend(reversed(e.items))
            elif e.inner is not None:
                exprs.append(e.inner)
            else:
                stack.append(("condition", e.right))
                stack.append(("condition", e.left))
                while stack:
                    where, v = stack.pop()
                    yield v, where
                    if v.form == "compute":
                        stack.extend(("condition", x) for x in reversed(comp_operands(v.comp)))
    elif node.kind == "action":
        for v in node.params.values():
            stack.append(("parameter", v))
            while stack:
                where, x = stack.pop()
                yield x, where
                if x.form == "compute":
                    stack.extend(("parameter", y) for y in reversed(comp_operands(x.comp)))


def comp_operands(comp):
    """Operand Vals of a computation in evaluation order."""
    out = []
    for v in comp.operands.values():
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


def copy_json(x):
    """Copy of a JSON-like value (dicts, lists; tuples become lists). Depth is bounded by
    validation, so plain recursion is safe here."""
    if isinstance(x, dict):
        return {k: copy_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [copy_json(v) for v in x]
    return x
