"""``PolicyEditor``: edit a policy's decision trees in a notebook, with live validation.

Everything the widget does is also a plain method, so a notebook (or a test) can drive it from
Python exactly as a user would with the mouse:

>>> ed = PolicyEditor(psl.data.policy_path("deadline"))     # doctest: +SKIP
>>> ed.select("payment_tree.on_false.on_false")             # doctest: +SKIP
>>> ed.set_action("Release")                                 # doctest: +SKIP
>>> ed.errors, ed.policy.policy_id                           # doctest: +SKIP
([], 'deadline_policy')
>>> ed.undo(); ed.save("my_deadline.json")                   # doctest: +SKIP

Nodes are addressed by their path in the document (``payment_tree.on_true.on_false``), the same
path validation errors carry; :meth:`PolicyEditor.select` also accepts a node id.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import ipywidgets as W
import plotly.graph_objects as go

from ..errors import PolicyError
from ..policy import catalog as C
from ._base import WidgetView, esc, message_html
from .editing import (_STRING_CHOICES, _TREE_LABELS, EditablePolicy, _number, _param_specs,
                      valid_actions)
from .tree_view import get_node, node_summary, row_label, tree_figure, tree_rows

__all__ = ["PolicyEditor"]

_COLLATERAL_REASONS = C.COLLATERAL_REASONS


# ----------------------------------------------------------------------------- value input
class ValueInput:
    """A value object editor: kind (field / param / value / compute) and its input."""

    def __init__(self, label: str, on_change: Callable[[], None], *, string: bool = False,
                 string_list: bool = False, choices=()):
        self.string = string or string_list
        self.string_list = string_list
        self._on_change = on_change
        kinds = ["value"] if self.string else ["field", "param", "value", "compute"]
        self.kind = W.Dropdown(options=kinds, value="value" if self.string else "field",
                               layout=W.Layout(width="95px"))
        self.field = W.Combobox(options=[], ensure_option=False, continuous_update=False,
                                placeholder="field name", layout=W.Layout(width="250px"))
        self.param = W.Combobox(options=[], ensure_option=False, continuous_update=False,
                                placeholder="parameter name", layout=W.Layout(width="250px"))
        self.number = W.FloatText(value=0.0, continuous_update=False,
                                  layout=W.Layout(width="150px"))
        self.text = W.Combobox(options=list(choices), ensure_option=False,
                               continuous_update=False, layout=W.Layout(width="250px"),
                               placeholder="a, b, c" if string_list else "text")
        self.json = W.Textarea(continuous_update=False, placeholder='{"op": "max", ...}',
                               layout=W.Layout(width="320px", height="60px"))
        self.label = W.Label(label, layout=W.Layout(width="110px"))
        # after a switch of kind with nothing to carry over, the edit waits for the new input
        # (committing the input's placeholder, e.g. ``> 0``, would run a policy nobody wrote)
        self.pending = False
        self.use_button = W.Button(description="use", tooltip="use the value shown",
                                   layout=W.Layout(width="50px"))
        self.hint = W.HTML("<span style='color:#b26a00;font-size:12px'>enter the new value; "
                           "the policy is unchanged until then</span>")
        self.use_button.on_click(lambda _b: self._commit())
        self._param_values: dict = {}
        self.box = W.HBox([self.label, self.kind, self.field])
        for w in (self.field, self.param, self.number, self.text, self.json):
            w.observe(self._changed, names="value")
        self.kind.observe(self._kind_changed, names="value")

    def _changed(self, _change):
        self._commit()

    def _commit(self):
        self.pending = False
        self._show()
        self._on_change()

    def _kind_changed(self, change):
        old, new = change["old"], change["new"]
        if new == "value" and old == "param" and isinstance(
                self._param_values.get(self.param.value.strip()), (int, float)):
            # the parameter's own value: the policy behaves exactly as before the switch
            with self.number.hold_trait_notifications():
                self.number.value = float(self._param_values[self.param.value.strip()])
            self._commit()
            return
        if self._has_content(new):
            self._commit()
            return
        self.pending = True
        self._show()

    def _has_content(self, kind: str) -> bool:
        """True when the input of ``kind`` already holds something the user chose."""
        if kind == "field":
            return bool(self.field.value.strip())
        if kind == "param":
            return bool(self.param.value.strip())
        if kind == "compute":
            return bool(self.json.value.strip())
        return False      # a number box always shows a number; wait for the user's

    def _active(self):
        k = self.kind.value
        if self.string:
            return self.text
        return {"field": self.field, "param": self.param, "value": self.number,
                "compute": self.json}[k]

    def _show(self):
        extra = (self.use_button, self.hint) if self.pending else ()
        self.box.children = (self.label, self.kind, self._active(), *extra)

    def set_options(self, fields, params):
        """Field and parameter names to offer; ``params`` may be the policy's ``parameters``
        dict (its values are carried over when a parameter operand becomes a number)."""
        self.field.options = list(fields)
        self.param.options = list(params)
        self._param_values = dict(params) if isinstance(params, dict) else {}

    def set(self, form) -> None:
        """Show a value object (the owner suppresses change events meanwhile)."""
        self.pending = False
        if self.string:
            v = form.get("value") if isinstance(form, dict) else form
            if self.string_list and isinstance(v, list):
                v = ", ".join(str(x) for x in v)
            self.text.value = "" if v is None else str(v)
        elif isinstance(form, dict) and "field" in form:
            self.kind.value = "field"
            self.field.value = str(form["field"])
        elif isinstance(form, dict) and "param" in form:
            self.kind.value = "param"
            self.param.value = str(form["param"])
        elif isinstance(form, dict) and "compute" in form:
            self.kind.value = "compute"
            self.json.value = json.dumps(form["compute"])
        else:
            v = form.get("value") if isinstance(form, dict) else form
            self.kind.value = "value"
            try:
                self.number.value = float(v)
            except (TypeError, ValueError):
                self.number.value = 0.0
        self._show()

    def form(self) -> dict:
        """The value object shown (ValueError for unparsable compute JSON)."""
        if self.string:
            if self.string_list:
                return {"value": [s.strip() for s in self.text.value.split(",") if s.strip()]}
            return {"value": self.text.value}
        k = self.kind.value
        if k == "field":
            return {"field": self.field.value.strip()}
        if k == "param":
            return {"param": self.param.value.strip()}
        if k == "value":
            return {"value": _number(self.number.value)}
        try:
            comp = json.loads(self.json.value or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"computation is not valid JSON: {e.msg}") from None
        return {"compute": comp}


class ParamRow:
    """One action parameter: on/off, its value and a note on its type."""

    def __init__(self, spec: dict, on_change: Callable[[str], None], tree_kind: str):
        self.name = spec["name"]
        self.spec = spec
        choices = _STRING_CHOICES.get(self.name, ())
        if self.name == "reason" and tree_kind == "collateral":
            choices = _COLLATERAL_REASONS
        self.enabled = W.Checkbox(value=spec["required"], description=self.name, indent=False,
                                  disabled=spec["required"], layout=W.Layout(width="200px"))
        self.input = ValueInput("", lambda: on_change(self.name),
                                string=spec["type"] == "string",
                                string_list=spec["type"] == "string_list", choices=choices)
        self.input.label.layout.width = "0px"
        kind = {"number": "number", "string": "text", "string_list": "list of text"}[spec["type"]]
        note = f"{kind}{', required' if spec['required'] else ''}"
        if spec.get("note"):
            note += f" — {spec['note']}"
        self.note = W.HTML(f'<span style="color:#666;font-size:90%">{esc(note)}</span>')
        self.enabled.observe(lambda _c: on_change(self.name), names="value")
        self.box = W.HBox([self.enabled, self.input.box, self.note])

    def close(self) -> None:
        """Release the front-end models of this row's widgets."""
        vi = self.input
        for w in (self.enabled, self.note, vi.kind, vi.field, vi.param, vi.number, vi.text,
                  vi.json, vi.label, vi.use_button, vi.hint, vi.box, self.box):
            w.close()


# ----------------------------------------------------------------------------- the editor
class PolicyEditor(EditablePolicy, WidgetView):
    """Edit a policy (``psl.Policy``, dict or JSON path) in a notebook: select nodes, change
    conditions and actions, add and remove nodes, undo/redo, save; every edit is validated at
    once. All edit methods of :class:`~paysim_lab.widgets.editing.EditablePolicy` work too.

    Besides the model's attributes: ``.widget`` (the ipywidgets container) and ``.figure`` (the
    tree picture, a ``go.FigureWidget``); the controls are attributes as well (``node_select``,
    ``action_select``, ``param_rows``, ``op_select``, ``left``, ``right``, ``undo_button``,
    ``save_button``, ``messages``, ...).
    """

    def __init__(self, policy: Any, tree: str | None = None, profile: str = "extended"):
        self._syncing = False
        self._overwrite_ok: str | None = None   # file the next Save click may replace
        super().__init__(policy, tree=tree, profile=profile)
        self._build()
        self._sync()

    # ------------------------------------------------------------------ widgets
    def load(self, policy: Any, keep_history: bool = True) -> None:
        """Show another document (see :meth:`EditablePolicy.load`); clears the message of a
        refused edit to the previous one."""
        super().load(policy, keep_history=keep_history)
        self.status.value = ""

    def _build(self) -> None:
        lay = W.Layout
        self.title = W.HTML()
        self.policy_id_text = W.Text(description="policy_id", continuous_update=False,
                                     layout=lay(width="340px"))
        self.tree_select = W.Dropdown(description="Tree", layout=lay(width="340px"))
        self.add_tree_button = W.Button(description="Add this tree", icon="plus",
                                        layout=lay(width="140px"))
        self.remove_tree_button = W.Button(description="Remove tree", icon="trash",
                                           layout=lay(width="130px"))
        self.node_select = W.Select(options=[], rows=12, layout=lay(width="100%"))
        self.figure = go.FigureWidget()
        # node panel
        self.node_header = W.HTML()
        self.node_id_text = W.Text(description="node_id", continuous_update=False,
                                   layout=lay(width="340px"))
        self.description_text = W.Text(description="description", continuous_update=False,
                                       layout=lay(width="520px"))
        self.op_select = W.Dropdown(options=list(C.COMPARISON_OPS + C.LOGICAL_OPS),
                                    description="operator", layout=lay(width="220px"))
        self.left = ValueInput("left", lambda: self._ui_condition())
        self.right = ValueInput("right", lambda: self._ui_condition())
        self.condition_json = W.Textarea(description="as JSON", continuous_update=False,
                                         layout=lay(width="520px", height="70px"))
        self.condition_box = W.VBox([self.op_select, self.left.box, self.right.box,
                                     self.condition_json])
        self.action_select = W.Dropdown(description="action", layout=lay(width="300px"))
        self.param_box = W.VBox()
        self.param_rows: dict[str, ParamRow] = {}
        self.param_note = W.HTML()
        self._rows_key = None
        self.action_box = W.VBox([self.action_select, self.param_box])
        self.wrap_button = W.Button(description="Wrap in condition", icon="code-fork",
                                    layout=lay(width="160px"))
        self.keep_select = W.Dropdown(options=[("keep true branch", "on_true"),
                                               ("keep false branch", "on_false")],
                                      layout=lay(width="160px"))
        self.remove_button = W.Button(description="Remove node", icon="trash",
                                      layout=lay(width="130px"))
        self.node_panel = W.VBox()
        # policy level
        self.parameters_json = W.Textarea(description="parameters", continuous_update=False,
                                          layout=lay(width="520px", height="60px"))
        self.undo_button = W.Button(description="Undo", icon="undo", layout=lay(width="90px"))
        self.redo_button = W.Button(description="Redo", icon="repeat", layout=lay(width="90px"))
        self.save_path = W.Text(placeholder="my_policy.json", description="file",
                                layout=lay(width="300px"))
        self.save_button = W.Button(description="Save JSON", icon="save",
                                    layout=lay(width="110px"))
        self.messages = W.HTML()
        self.status = W.HTML()
        self.document_json = W.Textarea(layout=lay(width="100%", height="260px"))
        self.apply_json_button = W.Button(description="Apply JSON", icon="check")
        json_box = W.VBox([self.document_json, self.apply_json_button])
        self.json_view = W.Accordion(children=[json_box])
        self.json_view.set_title(0, "Policy document (JSON)")
        self.json_view.selected_index = None

        # events
        self.tree_select.observe(self._ui_tree, names="value")
        self.node_select.observe(self._ui_node, names="value")
        self.policy_id_text.observe(lambda c: self._ui(lambda: self.set_policy_id(c["new"])),
                                    names="value")
        self.node_id_text.observe(lambda c: self._ui(lambda: self.set_node_id(c["new"])),
                                  names="value")
        self.description_text.observe(
            lambda c: self._ui(lambda: self.set_description(c["new"])), names="value")
        self.op_select.observe(lambda c: self._ui(lambda: self.set_condition(c["new"])),
                               names="value")
        self.condition_json.observe(self._ui_condition_json, names="value")
        self.action_select.observe(lambda c: self._ui(lambda: self.set_action(c["new"])),
                                   names="value")
        self.parameters_json.observe(self._ui_parameters, names="value")
        self.add_tree_button.on_click(lambda _b: self._ui(lambda: self.add_tree(self._tree)))
        self.remove_tree_button.on_click(
            lambda _b: self._ui(lambda: self.remove_tree(self._tree)))
        self.wrap_button.on_click(lambda _b: self._ui(lambda: self.wrap_in_condition()))
        self.remove_button.on_click(
            lambda _b: self._ui(lambda: self.remove(keep=self.keep_select.value)))
        self.undo_button.on_click(lambda _b: self._ui(self.undo))
        self.redo_button.on_click(lambda _b: self._ui(self.redo))
        self.save_button.on_click(lambda _b: self._ui(self._ui_save))
        self.apply_json_button.on_click(lambda _b: self._ui(self._ui_apply_json))

        left = W.VBox([self.node_select, self.figure], layout=lay(width="48%"))
        right = W.VBox([self.node_header, self.node_panel,
                        W.HBox([self.wrap_button, self.remove_button, self.keep_select])],
                       layout=lay(width="52%", padding="0 0 0 12px"))
        self.widget = W.VBox([
            self.title,
            W.HBox([self.policy_id_text, self.tree_select, self.add_tree_button,
                    self.remove_tree_button]),
            W.HBox([left, right]),
            self.messages,
            W.HBox([self.undo_button, self.redo_button, self.save_path, self.save_button]),
            self.status,
            self.parameters_json,
            self.json_view,
        ])

    # -- UI callbacks: apply an edit unless the UI is being refreshed from the model
    def _ui(self, action: Callable[[], Any]) -> None:
        if self._syncing:
            return
        self.status.value = ""
        try:
            action()
        except (ValueError, KeyError, TypeError, PolicyError, OSError) as e:
            self.status.value = f'<span style="color:#c62828">{esc(e)}</span>'
            self._sync()

    def _ui_tree(self, change) -> None:
        if not self._syncing:
            self.select_tree(change["new"])

    def _ui_node(self, change) -> None:
        if not self._syncing and change["new"]:
            self.select(change["new"])

    def _ui_condition(self) -> None:
        if self.left.pending or self.right.pending:
            return

        def act():
            self.set_condition(self.op_select.value, self.left.form(), self.right.form())
        self._ui(act)

    def _ui_condition_json(self, change) -> None:
        def act():
            try:
                cond = json.loads(change["new"])
            except json.JSONDecodeError as e:
                raise ValueError(f"condition is not valid JSON: {e.msg}") from None
            self.set_condition(condition=cond)
        self._ui(act)

    def _ui_parameters(self, change) -> None:
        def act():
            try:
                params = json.loads(change["new"] or "{}")
            except json.JSONDecodeError as e:
                raise ValueError(f"parameters are not valid JSON: {e.msg}") from None
            self._edit(lambda doc: doc.__setitem__("parameters", params) if params
                       else doc.pop("parameters", None))
        self._ui(act)

    def _ui_param(self, name: str) -> None:
        row = self.param_rows.get(name)
        if row is None or (row.enabled.value and row.input.pending):
            return

        def act():
            if row.enabled.value:
                self.set_parameter(name, row.input.form())
            else:
                self.remove_parameter(name)
        self._ui(act)

    def _ui_save(self) -> None:
        """The Save box writes only ``.json`` files inside the notebook's folder, and asks
        (a second click) before replacing a file. ``save(path)`` in code is not restricted."""
        target = self.save_path.value.strip()
        if not target:
            raise ValueError("type a file name to save to")
        p = Path(target)
        if p.suffix.lower() != ".json":
            raise ValueError(f"{target}: policy files are saved as .json")
        here = Path.cwd().resolve()
        if p.is_absolute() or ".." in p.parts or not _inside(p.resolve(), here):
            raise ValueError(f"{target}: save inside this notebook's folder ({here}); "
                             f"absolute paths and .. are not accepted here")
        if p.exists() and self._overwrite_ok != target:
            self._overwrite_ok = target
            self.status.value = (f'<span style="color:#b26a00">{esc(target)} exists: click '
                                 f'Save again to replace it</span>')
            return
        self._overwrite_ok = None
        saved = self.save(p)
        self.status.value = f'<span style="color:#2ca02c">saved to {esc(saved)}</span>'

    def _ui_apply_json(self) -> None:
        try:
            doc = json.loads(self.document_json.value)
        except json.JSONDecodeError as e:
            raise ValueError(f"document is not valid JSON: {e.msg} (line {e.lineno})") from None
        if not isinstance(doc, dict):
            raise ValueError("the document must be a JSON object")
        self.load(doc)

    def _on_figure_click(self, trace, points, _state) -> None:
        if points.point_inds:
            path = trace.customdata[points.point_inds[0]]
            self._ui(lambda: self.select(path))

    # -- model -> UI
    def _sync(self) -> None:
        self._syncing = True
        try:
            self._sync_widgets()
        finally:
            self._syncing = False

    def _fields(self) -> list[str]:
        """Field names valid in the current tree, plus the registers the bank tree writes."""
        registers = set()
        for r in tree_rows(self._doc, "bank"):
            node = r.node if isinstance(r.node, dict) else {}
            params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
            key = params.get("key")
            if node.get("action") in ("SetState", "AddState") and isinstance(key, dict) \
                    and isinstance(key.get("value"), str):
                registers.add(key["value"])
        return list(C.FIELD_NAMES[self._tree]) + sorted(registers)

    def _sync_widgets(self) -> None:
        doc = self._doc
        pid = doc.get("policy_id")
        self.title.value = (f"<h3 style='margin:4px 0'>Policy {esc(pid)}</h3>"
                            f"<div style='color:#666'>profile {esc(self.profile)}; "
                            f"{len(self._undo)} edit(s) to undo</div>")
        self.policy_id_text.value = str(pid) if pid is not None else ""
        self.tree_select.options = [
            (f"{_TREE_LABELS[k]}{'' if doc.get(k) is not None else ' (absent)'}", k)
            for k in C.TREE_KEYS]
        self.tree_select.value = self._tree
        present = doc.get(self._tree) is not None
        self.add_tree_button.disabled = present
        self.remove_tree_button.disabled = not present
        rows = tree_rows(doc, self._tree)
        labels = [(row_label(r).replace(" ", "\u00a0"), r.path) for r in rows]
        self.node_select.options = labels
        self.node_select.value = self._selected if self._selected in [p for _, p in labels] \
            else None
        self._refresh_figure()
        self._sync_node_panel()
        params = doc.get("parameters")
        self.parameters_json.value = json.dumps(params) if params else ""
        self.messages.value = message_html(self.errors, self.lints, "policy is valid")
        self.undo_button.disabled = not self._undo
        self.redo_button.disabled = not self._redo
        self.document_json.value = self.to_json()

    def _refresh_figure(self) -> None:
        errs = [e["path"] for e in self.error_details if e.get("path")]
        fig = tree_figure(self._doc, self._tree, selected=self._selected, error_paths=errs)
        fw = self.figure
        fw.data = []
        fw.add_traces(list(fig.data))
        fw.layout = fig.layout
        nodes = [t for t in fw.data if isinstance(t.meta, dict) and t.meta.get("role") == "nodes"]
        for t in nodes:
            t.on_click(self._on_figure_click)

    def _sync_node_panel(self) -> None:
        node = get_node(self._doc, self._selected) if self._selected else None
        if not isinstance(node, dict):
            self.node_header.value = ("<i>no node selected</i>" if self._doc.get(self._tree)
                                      is not None else f"<i>this policy has no "
                                      f"{esc(_TREE_LABELS[self._tree])}; add it above</i>")
            self.node_panel.children = ()
            self.wrap_button.disabled = self.remove_button.disabled = True
            self.keep_select.layout.display = "none"
            return
        self.wrap_button.disabled = self.remove_button.disabled = False
        kind = node.get("type")
        self.node_header.value = (f"<b>{esc(node.get('node_id'))}</b> "
                                  f"<span style='color:#666'>({esc(kind)} node at "
                                  f"{esc(self._selected)})</span><br>"
                                  f"<code>{esc(node_summary(node))}</code>")
        self.node_id_text.value = str(node.get("node_id", ""))
        desc = node.get("description")
        self.description_text.value = desc if isinstance(desc, str) else ""
        common = [self.node_id_text, self.description_text]
        self.keep_select.layout.display = "" if kind == "condition" else "none"
        if kind == "condition":
            cond = node.get("condition") if isinstance(node.get("condition"), dict) else {}
            op = cond.get("op")
            if op in self.op_select.options:
                self.op_select.value = op
            compare = op in C.COMPARISON_OPS
            params = dict(self._doc.get("parameters") or {}) \
                if isinstance(self._doc.get("parameters"), dict) else {}
            for side, vi in (("left", self.left), ("right", self.right)):
                vi.set_options(self._fields(), params)
                vi.set(cond.get(side, {"value": 0}))
                vi.box.layout.display = "" if compare else "none"
            self.condition_json.value = json.dumps(cond)
            self.node_panel.children = tuple(common) + (self.condition_box,)
        elif kind == "action":
            allowed = valid_actions(self._tree, self.profile)
            action = node.get("action")
            opts = allowed if action in allowed else allowed + [str(action)]
            self.action_select.options = opts
            self.action_select.value = str(action) if action is not None else None
            self._build_param_rows(node)
            self.node_panel.children = tuple(common) + (self.action_box,)
        else:
            self.node_panel.children = tuple(common)

    def _build_param_rows(self, node: dict) -> None:
        kind = C.TREE_KIND[self._tree]
        specs = _param_specs(node.get("action"))
        current = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
        params = dict(self._doc.get("parameters", {}) or {}) \
            if isinstance(self._doc.get("parameters"), dict) else {}
        key = (self._tree, node.get("action"))
        retired: list[ParamRow] = []
        if key != self._rows_key:       # a different action: new rows (close the old widgets)
            retired = list(self.param_rows.values())
            self.param_rows = {spec["name"]: ParamRow(spec, self._ui_param, kind)
                               for spec in specs}
            self._rows_key = key
        rows = self.param_rows
        for spec in specs:
            row = rows[spec["name"]]
            row.input.set_options(self._fields(), params)
            row.enabled.value = spec["required"] or spec["name"] in current
            row.input.set(current.get(spec["name"]) or self._starter(spec))
        extra = [k for k in current if k not in rows]
        note = ""
        if extra:
            note = (f"<span style='color:#b26a00'>ignored parameter(s): "
                    f"{esc(', '.join(extra))}</span>")
        elif not specs:
            note = "<span style='color:#666'>no parameters</span>"
        self.param_note.value = note
        self.param_box.children = [r.box for r in rows.values()] + [self.param_note]
        for row in retired:             # only once nothing shows them any more
            row.close()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False
