"""Editing a policy document: node addressing, edits, undo/redo, validation, saving.

The editing model behind :class:`~paysim_lab.widgets.PolicyEditor`, without any widget, so the
same operations work from a script. Nodes are addressed by their path in the document
(``payment_tree.on_true.on_false``, ``bank_tree.children[1]``), the same path validation errors
carry; :meth:`EditablePolicy.select` also accepts a node id.

>>> ep = EditablePolicy({"version": "1.0", "policy_id": "p", "payment_tree":
...     {"type": "action", "node_id": "A", "action": "Hold"}})
>>> ep.set_action("Release"); ep.document["payment_tree"]["action"], ep.undo()
('Release', True)
>>> ep.document["payment_tree"]["action"], ep.errors
('Hold', [])
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

from ..errors import PolicyError
from ..policy import catalog as C
from .tree_view import as_document, get_node, parse_path, tree_key, tree_rows

__all__ = ["EditablePolicy", "DEFAULT_ACTION", "valid_actions"]

#: The action a new node gets, per tree kind.
DEFAULT_ACTION = {"payment": "Hold", "bank": "NoAction", "collateral": "HoldCollateral"}
_TREE_PREFIX = {"payment_tree": "P", "bank_tree": "B", "strategic_collateral_tree": "S",
                "end_of_tick_collateral_tree": "E"}
_TREE_LABELS = {"payment_tree": "payment tree", "bank_tree": "bank tree",
                "strategic_collateral_tree": "strategic collateral tree",
                "end_of_tick_collateral_tree": "end-of-tick collateral tree"}
_VALUE_KEYS = ("field", "param", "value", "compute")
# suggestions for string parameters
_STRING_CHOICES = {"reason": C.HOLD_REASONS, "rtgs_priority": C.RTGS_PRIORITIES,
                   "priority_flag": ("HIGH", "MEDIUM", "LOW"), "key": ("bank_state_",)}


def _copy(doc):
    return json.loads(json.dumps(doc))


def _number(x):
    """JSON number for a widget float: integral values become ints."""
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 1e15 else x


def _is_value_object(v) -> bool:
    return isinstance(v, dict) and any(k in v for k in _VALUE_KEYS)


def valid_actions(tree: str, profile: str = "extended") -> list[str]:
    """Actions that may appear in ``tree`` (policy.md 11.1; the extended profile also accepts
    collateral actions in the bank tree)."""
    key = tree_key(tree)
    kind = C.TREE_KIND[key]
    names = list(C.ACTIONS_BY_TREE[kind])
    if kind == "bank" and profile == "extended":
        names += list(C.ACTIONS_BY_TREE["collateral"])
    return names


def _param_specs(action: str) -> list[dict]:
    return [dict(p) for p in C.ACTION_PARAMETERS.get(action, ())]


class EditablePolicy:
    """A policy document being edited: every edit is validated at once and can be undone.

    ``.policy`` is the edited ``psl.Policy`` (PolicyError while the document is invalid),
    ``.document`` a dict copy, ``.errors`` / ``.lints`` the validation messages, ``.selected``
    the path of the selected node (the default target of edits).
    """

    def __init__(self, policy: Any, tree: str | None = None, profile: str = "extended"):
        self.profile = profile
        self._doc = as_document(policy)
        self._undo: list[dict] = []
        self._redo: list[dict] = []
        self._callbacks: list[Callable] = []
        self.error_details: list[dict] = []
        self.lints: list[str] = []
        if tree is not None:
            self._tree = tree_key(tree)
        else:
            self._tree = next((k for k in C.TREE_KEYS if self._doc.get(k) is not None),
                              "payment_tree")
        self._selected = self._tree if self._doc.get(self._tree) is not None else None
        self._validate()

    def _sync(self) -> None:
        """Hook: a view refreshes itself here after every change of document or selection."""

    # ------------------------------------------------------------------ state
    @property
    def document(self) -> dict:
        """The edited document (a copy)."""
        return _copy(self._doc)

    @property
    def policy(self):
        """The edited policy as a validated ``psl.Policy`` (PolicyError while invalid)."""
        from ..policy import load_policy
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_policy(self.document, profile=self.profile)

    @property
    def errors(self) -> list[str]:
        return [e["message"] for e in self.error_details]

    @property
    def is_valid(self) -> bool:
        return not self.error_details

    @property
    def tree(self) -> str:
        """The tree being edited (document key)."""
        return self._tree

    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def selected_node(self) -> dict | None:
        n = get_node(self._doc, self._selected) if self._selected else None
        return _copy(n) if n is not None else None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def on_change(self, callback: Callable[["EditablePolicy"], None]) -> None:
        """Call ``callback(editor)`` after every edit, undo and redo."""
        self._callbacks.append(callback)

    # ------------------------------------------------------------------ navigation
    def select(self, where: str) -> None:
        """Select a node by path (``payment_tree.on_true``) or node id; switches tree."""
        if self._is_node_path(where):
            self._tree = parse_path(where)[0]
            self._selected = where
        else:
            found = [r for k in C.TREE_KEYS for r in tree_rows(self._doc, k)
                     if r.node_id == where]
            if not found:
                raise KeyError(f"no node with path or id {where!r} in policy "
                               f"{self._doc.get('policy_id')!r}")
            self._tree = parse_path(found[0].path)[0]
            self._selected = found[0].path
        self._sync()

    def select_tree(self, tree: str) -> None:
        """Show ``tree`` and select its root (nothing selected if the tree is absent)."""
        self._tree = tree_key(tree)
        self._selected = self._tree if self._doc.get(self._tree) is not None else None
        self._sync()

    def _is_node_path(self, where: str) -> bool:
        if where.split(".", 1)[0] not in C.TREE_KEYS:
            return False
        try:
            return get_node(self._doc, where) is not None
        except ValueError:
            return False

    def _target(self, path: str | None) -> tuple[str, dict]:
        path = path or self._selected
        if path is None:
            raise ValueError("no node selected")
        node = get_node(self._doc, path)
        if not isinstance(node, dict):
            raise ValueError(f"no node at {path!r}")
        return path, node

    def _kind(self, path: str) -> str:
        return C.TREE_KIND[parse_path(path)[0]]

    # ------------------------------------------------------------------ edits
    def _edit(self, fn: Callable[[dict], Any], select: str | None = "keep") -> None:
        new = _copy(self._doc)
        fn(new)
        if new == self._doc and select == "keep":
            return
        self._undo.append(self._doc)
        self._redo.clear()
        self._doc = new
        if select != "keep":
            self._selected = select
        self._changed()

    def _changed(self):
        if self._selected is not None and get_node(self._doc, self._selected) is None:
            self._selected = self._tree if self._doc.get(self._tree) is not None else None
        self._validate()
        self._sync()
        for cb in list(self._callbacks):
            cb(self)

    @staticmethod
    def _put(doc: dict, path: str, node) -> None:
        key, steps = parse_path(path)
        if not steps:
            doc[key] = node
            return
        parent = get_node(doc, path.rsplit(".", 1)[0])
        last = steps[-1]
        if isinstance(last, int):
            parent["children"][last] = node
        else:
            parent[last] = node

    def _new_id(self, doc: dict, tree: str, kind: str) -> str:
        used = {r.node_id for k in C.TREE_KEYS for r in tree_rows(doc, k)}
        prefix = f"{_TREE_PREFIX[tree]}_{'C' if kind == 'condition' else 'A'}"
        n = 1
        while f"{prefix}{n}" in used:
            n += 1
        return f"{prefix}{n}"

    def _default_action(self, doc: dict, tree: str) -> dict:
        return {"type": "action", "node_id": self._new_id(doc, tree, "action"),
                "action": DEFAULT_ACTION[C.TREE_KIND[tree]]}

    def set_action(self, action: str, parameters: dict | None = None,
                   path: str | None = None) -> None:
        """Make the (selected) action node do ``action``; parameters that the new action also
        takes are kept unless ``parameters`` replaces them all.

        Numbers become literals, strings name a context field for numeric parameters (a text
        for text parameters), or pass a value object such as ``{"param": "buffer"}``.
        """
        path, node = self._target(path)
        if node.get("type") != "action":
            raise ValueError(f"node {node.get('node_id')!r} is a {node.get('type')} node; "
                             f"select an action node")
        allowed = valid_actions(path.split(".", 1)[0], self.profile)
        if action not in allowed:
            raise ValueError(f"action {action!r} is not valid in the "
                             f"{_TREE_LABELS[parse_path(path)[0]]}; choose one of "
                             f"{', '.join(allowed)}")
        specs = {p["name"]: p for p in _param_specs(action)}
        if parameters is not None:
            params = {k: self._param_form(specs, k, v) for k, v in parameters.items()}
        else:
            old = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
            params = {k: v for k, v in old.items() if k in specs}
        for name, spec in specs.items():       # required parameters get a starting value
            if spec["required"] and name not in params:
                params[name] = self._starter(spec)

        def fn(doc):
            n = get_node(doc, path)
            n["action"] = action
            if params:
                n["parameters"] = params
            else:
                n.pop("parameters", None)
        self._edit(fn)

    @staticmethod
    def _starter(spec: dict) -> dict:
        if spec["type"] == "string":
            first = _STRING_CHOICES.get(spec["name"], ("",))
            return {"value": first[0] if spec["name"] != "key" else "bank_state_x"}
        if spec["type"] == "string_list":
            return {"value": []}
        return {"value": 2 if "splits" in spec["name"] else 0}

    @staticmethod
    def _param_form(specs: dict, name: str, value) -> dict:
        if _is_value_object(value):
            return value
        spec = specs.get(name, {"type": "number"})
        if spec["type"] == "string_list":
            if isinstance(value, str):
                value = [s.strip() for s in value.split(",") if s.strip()]
            return {"value": list(value)}
        if spec["type"] == "string":
            return {"value": value}
        if isinstance(value, str):
            return {"field": value}
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"parameter {name!r}: expected a number, a field name or a value "
                             f"object, got {value!r}")
        return {"value": value}

    def set_parameter(self, name: str, value, path: str | None = None) -> None:
        """Set one parameter of the (selected) action node (see :meth:`set_action` for forms)."""
        path, node = self._target(path)
        if node.get("type") != "action":
            raise ValueError("parameters belong to action nodes; select an action node")
        specs = {p["name"]: p for p in _param_specs(node.get("action"))}
        form = self._param_form(specs, name, value)

        def fn(doc):
            n = get_node(doc, path)
            params = n.get("parameters") if isinstance(n.get("parameters"), dict) else {}
            params[name] = form
            n["parameters"] = params
        self._edit(fn)

    def remove_parameter(self, name: str, path: str | None = None) -> None:
        path, node = self._target(path)

        def fn(doc):
            n = get_node(doc, path)
            params = n.get("parameters")
            if isinstance(params, dict):
                params.pop(name, None)
                if not params:
                    n.pop("parameters")
        self._edit(fn)

    @staticmethod
    def _operand(v) -> dict:
        if _is_value_object(v):
            return v
        if isinstance(v, str):
            return {"field": v}
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"expected a number, a field name or a value object, got {v!r}")
        return {"value": v}

    def set_condition(self, op: str | None = None, left=None, right=None, *,
                      condition: dict | None = None, path: str | None = None) -> None:
        """Change the (selected) condition node's test.

        ``op`` is a comparison (``<`` ... ``!=``) with ``left`` / ``right`` operands (numbers
        become literals, strings name fields, or value objects), or ``and`` / ``or`` / ``not``
        which wrap the current test; ``condition=`` replaces the whole expression.
        """
        path, node = self._target(path)
        if node.get("type") != "condition":
            raise ValueError(f"node {node.get('node_id')!r} is not a condition node")
        old = node.get("condition") if isinstance(node.get("condition"), dict) else {}
        if condition is not None:
            new = condition
        elif op in C.COMPARISON_OPS or op is None:
            if op is None and old.get("op") not in C.COMPARISON_OPS:
                raise ValueError("give op= for a compound condition")
            new = {"op": op or old.get("op"),
                   "left": self._operand(left) if left is not None else
                   old.get("left", {"field": "balance"}),
                   "right": self._operand(right) if right is not None else
                   old.get("right", {"value": 0})}
            if old.get("op") not in C.COMPARISON_OPS:
                if left is None:
                    new["left"] = {"field": "balance"}
                if right is None:
                    new["right"] = {"value": 0}
        elif op in ("and", "or"):
            new = ({"op": op, "conditions": old["conditions"]} if old.get("op") in
                   ("and", "or") else {"op": op, "conditions": [old]})
        elif op == "not":
            new = {"op": "not", "condition": old}
        else:
            raise ValueError(f"unknown operator {op!r}; use one of "
                             f"{', '.join(C.COMPARISON_OPS + C.LOGICAL_OPS)}")

        def fn(doc):
            get_node(doc, path)["condition"] = new
        self._edit(fn)

    def wrap_in_condition(self, condition: dict | None = None, path: str | None = None,
                          keep: str = "on_true") -> str:
        """Put a new condition node where the (selected) node is; the old node becomes its
        ``keep`` branch and the other branch gets a default action. Returns the new path."""
        path, _node = self._target(path)
        tree = parse_path(path)[0]
        if keep not in ("on_true", "on_false"):
            raise ValueError("keep must be 'on_true' or 'on_false'")
        cond = condition or {"op": ">=", "left": {"field": "balance"}, "right": {"value": 0}}

        def fn(doc):
            old = get_node(doc, path)
            new_id = self._new_id(doc, tree, "condition")
            fresh = self._default_action(doc, tree)
            branches = {keep: old, ("on_false" if keep == "on_true" else "on_true"): fresh}
            self._put(doc, path, {"type": "condition", "node_id": new_id, "condition": cond,
                                  "on_true": branches["on_true"],
                                  "on_false": branches["on_false"]})
        self._edit(fn, select=path)
        return path

    def remove(self, path: str | None = None, keep: str = "on_true") -> None:
        """Remove the (selected) node. A condition is replaced by its ``keep`` branch; an action
        under a condition takes its parent's place with its sibling; a tree's root action
        removes the tree."""
        path, node = self._target(path)
        key, steps = parse_path(path)
        if node.get("type") == "condition":
            if keep not in ("on_true", "on_false"):
                raise ValueError("keep must be 'on_true' or 'on_false'")
            kept = node.get(keep)
            self._edit(lambda doc: self._put(doc, path, kept), select=path)
            return
        if not steps:
            self._edit(lambda doc: doc.pop(key, None), select=None)
            return
        parent_path = path.rsplit(".", 1)[0]
        last = steps[-1]
        if isinstance(last, int):
            def fn(doc):
                get_node(doc, parent_path)["children"].pop(last)
            self._edit(fn, select=parent_path)
            return
        sibling = get_node(self._doc, parent_path).get(
            "on_false" if last == "on_true" else "on_true")
        self._edit(lambda doc: self._put(doc, parent_path, sibling), select=parent_path)

    def add_tree(self, tree: str) -> None:
        """Add an absent tree with a single default action (Hold / NoAction / HoldCollateral)."""
        key = tree_key(tree)
        if self._doc.get(key) is not None:
            raise ValueError(f"the policy already has a {key}")
        self._tree = key
        self._edit(lambda doc: doc.__setitem__(key, self._default_action(doc, key)), select=key)

    def remove_tree(self, tree: str) -> None:
        key = tree_key(tree)
        self._edit(lambda doc: doc.pop(key, None), select=None)

    def set_node_id(self, node_id: str, path: str | None = None) -> None:
        path, _ = self._target(path)
        self._edit(lambda doc: get_node(doc, path).__setitem__("node_id", node_id))

    def set_description(self, text: str | None, path: str | None = None) -> None:
        path, _ = self._target(path)

        def fn(doc):
            n = get_node(doc, path)
            if text:
                n["description"] = text
            else:
                n.pop("description", None)
        self._edit(fn)

    def set_policy_id(self, policy_id: str) -> None:
        self._edit(lambda doc: doc.__setitem__("policy_id", policy_id))

    def set_policy_parameter(self, name: str, value) -> None:
        """Set a named policy parameter (a number), e.g. ``urgency_threshold``."""
        def fn(doc):
            params = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
            params[name] = value
            doc["parameters"] = params
        self._edit(fn)

    def remove_policy_parameter(self, name: str) -> None:
        def fn(doc):
            params = doc.get("parameters")
            if isinstance(params, dict):
                params.pop(name, None)
        self._edit(fn)

    def load(self, policy: Any, keep_history: bool = True) -> None:
        """Replace the whole document: undoable, or a fresh start with ``keep_history=False``."""
        doc = as_document(policy)
        key = self._tree if doc.get(self._tree) is not None else next(
            (k for k in C.TREE_KEYS if doc.get(k) is not None), self._tree)
        self._tree = key
        if not keep_history:
            self._undo.clear()
            self._redo.clear()
            self._doc = doc
            self._selected = key if doc.get(key) is not None else None
            self._changed()
            return
        self._edit(lambda d: (d.clear(), d.update(doc)),
                   select=key if doc.get(key) is not None else None)

    def undo(self) -> bool:
        """Go back one edit; False when there is nothing to undo."""
        if not self._undo:
            return False
        self._redo.append(self._doc)
        self._doc = self._undo.pop()
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._doc)
        self._doc = self._redo.pop()
        self._changed()
        return True

    def to_json(self) -> str:
        return json.dumps(self._doc, indent=2, ensure_ascii=False) + "\n"

    def save(self, path, allow_invalid: bool = False) -> Path:
        """Write the document as JSON. Refuses (PolicyError) while it has validation errors,
        unless ``allow_invalid``."""
        if self.error_details and not allow_invalid:
            raise PolicyError("policy not saved: it has validation errors:\n"
                              + "\n".join(self.errors), self.error_details)
        p = Path(path)
        p.write_text(self.to_json(), encoding="utf-8")
        return p

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        from ..policy import validate_document
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                self.lints = list(validate_document(self._doc, profile=self.profile,
                                                    source="policy"))
                self.error_details = []
            except PolicyError as e:
                self.error_details = list(e.errors)
                self.lints = []
