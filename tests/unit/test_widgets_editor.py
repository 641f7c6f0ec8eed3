"""PolicyEditor and the tree pictures, driven from Python the way a user drives the widgets."""
import json
import os

import pytest

import paysim_lab as psl
from paysim_lab.errors import PolicyError
from paysim_lab.widgets import PolicyEditor, tree_figure, tree_text

os.environ.setdefault("PLOTLY_RENDERER", "json")


def deadline_doc():
    return {
        "version": "1.0", "policy_id": "deadline_like",
        "parameters": {"urgency_threshold": 5.0},
        "payment_tree": {
            "type": "condition", "node_id": "P_Late",
            "condition": {"op": "<=", "left": {"field": "deadline_tick"},
                          "right": {"field": "current_tick"}},
            "on_true": {"type": "action", "node_id": "P_Drop", "action": "Drop"},
            "on_false": {
                "type": "condition", "node_id": "P_Urgent",
                "condition": {"op": "<=", "left": {"field": "ticks_to_deadline"},
                              "right": {"param": "urgency_threshold"}},
                "on_true": {"type": "action", "node_id": "P_Go", "action": "Release"},
                "on_false": {"type": "action", "node_id": "P_Wait", "action": "Hold",
                             "parameters": {"reason": {"value": "NearDeadline"}}}}},
    }


@pytest.fixture
def ed():
    return PolicyEditor(deadline_doc())


# ------------------------------------------------------------------------------- views
def test_tree_text_is_an_indented_view():
    assert tree_text(deadline_doc(), "payment").splitlines() == [
        "P_Late: if deadline_tick <= current_tick",
        "├─ true → P_Drop: Drop",
        "└─ false → P_Urgent: if ticks_to_deadline <= param.urgency_threshold",
        "   ├─ true → P_Go: Release",
        '   └─ false → P_Wait: Hold(reason="NearDeadline")',
    ]
    assert tree_text(deadline_doc(), "bank") == "(no bank_tree)"


def test_tree_figure_nodes_edges_and_selection():
    fig = tree_figure(deadline_doc(), "payment", selected="payment_tree.on_false",
                      error_paths=["payment_tree.on_true"])
    nodes = [t for t in fig.data if t.meta["role"] == "nodes"][0]
    assert list(nodes.customdata) == ["payment_tree", "payment_tree.on_true",
                                      "payment_tree.on_false", "payment_tree.on_false.on_true",
                                      "payment_tree.on_false.on_false"]
    assert list(nodes.text) == ["P_Late", "", "P_Urgent", "", ""]     # leaves: slanted labels
    assert [a.text for a in fig.layout.annotations if a.name.startswith("label ")] == [
        "P_Drop", "P_Go", "P_Wait"]
    assert list(nodes.marker.symbol) == ["diamond", "square", "diamond", "square", "square"]
    assert list(nodes.marker.size) == [22, 22, 30, 22, 22]
    assert list(nodes.marker.line.color)[1] == "#d62728"          # error outline
    # leaves left to right, parents centred: Drop 0, Go 1, Wait 2; Urgent 1.5; root 0.75
    assert list(nodes.x) == [0.75, 0.0, 1.5, 1.0, 2.0]
    assert list(nodes.y) == [0, -1, -1, -2, -2]
    true_edges = [t for t in fig.data if t.meta["role"] == "edges_true"][0]
    assert true_edges.line.color == "#2ca02c" and len(true_edges.x) == 6   # two edges
    assert fig.layout.title.text == "deadline_like: payment_tree"


def test_editor_shows_the_tree_and_the_selected_node(ed):
    assert ed.tree == "payment_tree" and ed.selected == "payment_tree"
    labels = [label for label, _ in ed.node_select.options]
    assert labels[3] == "\u00a0\u00a0\u00a0├─\u00a0true\u00a0→\u00a0P_Go:\u00a0Release"
    assert [p for _, p in ed.node_select.options][4] == "payment_tree.on_false.on_false"
    ed.node_select.value = "payment_tree.on_false.on_false"        # user clicks a line
    assert ed.selected == "payment_tree.on_false.on_false"
    assert ed.action_select.value == "Hold"
    assert list(ed.action_select.options) == [
        "Release", "ReleaseWithCredit", "Split", "PaceAndRelease", "StaggerSplit", "Hold",
        "Drop", "Reprioritize", "WithdrawFromRtgs", "ResubmitToRtgs"]
    assert ed.param_rows["reason"].enabled.value is True
    assert ed.param_rows["reason"].input.text.value == "NearDeadline"
    nodes = [t for t in ed.figure.data if t.meta["role"] == "nodes"][0]
    assert list(nodes.marker.size) == [22, 22, 22, 22, 30]         # figure follows selection
    assert "✓ policy is valid" in ed.messages.value


def test_displays_as_its_root_container(ed):
    bundle = ed._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == ed.widget.model_id


# ------------------------------------------------------------------------------- edits
def test_change_action_then_undo_and_redo(ed):
    before = ed.document
    ed.node_select.value = "payment_tree.on_false.on_false"
    ed.action_select.value = "Split"
    assert ed.selected_node == {"type": "action", "node_id": "P_Wait", "action": "Split",
                                "parameters": {"num_splits": {"value": 2}}}
    assert list(ed.param_rows) == ["num_splits"]
    ed.param_rows["num_splits"].input.number.value = 3
    assert ed.selected_node["parameters"] == {"num_splits": {"value": 3}}
    assert ed.policy.payment_tree["on_false"]["on_false"]["action"] == "Split"
    assert ed.is_valid
    ed.undo_button.click()
    assert ed.selected_node["parameters"] == {"num_splits": {"value": 2}}
    ed.undo_button.click()
    assert ed.document == before
    assert ed.undo_button.disabled and not ed.redo_button.disabled
    ed.redo_button.click()
    assert ed.selected_node["action"] == "Split"


def test_parameter_forms_field_param_and_removal(ed):
    ed.select("P_Go")                                   # by node id
    assert ed.selected == "payment_tree.on_false.on_true"
    row = ed.param_rows["priority_flag"]
    assert row.enabled.value is False
    row.input.text.value = "HIGH"
    row.enabled.value = True
    assert ed.selected_node["parameters"] == {"priority_flag": {"value": "HIGH"}}
    ed.set_parameter("timed_for_tick", "current_tick")
    assert ed.selected_node["parameters"]["timed_for_tick"] == {"field": "current_tick"}
    ed.param_rows["priority_flag"].enabled.value = False
    assert ed.selected_node["parameters"] == {"timed_for_tick": {"field": "current_tick"}}
    ed.remove_parameter("timed_for_tick")
    assert "parameters" not in ed.selected_node


def test_edit_condition_through_the_widgets(ed):
    ed.node_select.value = "payment_tree.on_false"
    assert ed.op_select.value == "<="
    assert ed.left.kind.value == "field" and ed.left.field.value == "ticks_to_deadline"
    assert ed.right.kind.value == "param" and ed.right.param.value == "urgency_threshold"
    ed.right.kind.value = "value"
    # the parameter's value is carried over: the policy behaves as before the switch
    assert ed.right.number.value == 5.0 and not ed.right.pending
    assert ed.selected_node["condition"]["right"] == {"value": 5}
    ed.right.number.value = 3
    assert ed.selected_node["condition"] == {"op": "<=", "left": {"field": "ticks_to_deadline"},
                                             "right": {"value": 3}}
    ed.op_select.value = "<"
    assert ed.selected_node["condition"]["op"] == "<"
    ed.op_select.value = "not"
    assert ed.selected_node["condition"] == {"op": "not", "condition": {
        "op": "<", "left": {"field": "ticks_to_deadline"}, "right": {"value": 3}}}
    assert ed.left.box.layout.display == "none"
    ed.condition_json.value = json.dumps({"op": "and", "conditions": []})
    assert ed.selected_node["condition"] == {"op": "and", "conditions": []}
    assert ed.is_valid


def test_invalid_edit_shows_the_message_and_blocks_policy_and_save(ed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ed.node_select.value = "payment_tree.on_false"
    ed.left.field.value = "ticks_to_dedline"
    assert ed.errors == [
        "policy: payment_tree.on_false.condition.left (node P_Urgent): InvalidFieldReference: "
        "field 'ticks_to_dedline' does not exist (did you mean 'ticks_to_deadline'?)"]
    assert "InvalidFieldReference" in ed.messages.value
    assert "1 error(s)" in ed.messages.value
    nodes = [t for t in ed.figure.data if t.meta["role"] == "nodes"][0]
    assert list(nodes.marker.line.color)[2] == "#d62728"
    with pytest.raises(PolicyError, match="ticks_to_dedline"):
        ed.policy
    with pytest.raises(PolicyError, match="not saved"):
        ed.save(tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
    ed.save_path.value = "x.json"
    ed.save_button.click()
    assert "not saved" in ed.status.value and not (tmp_path / "x.json").exists()
    ed.undo()
    assert ed.errors == [] and ed.policy.policy_id == "deadline_like"


def test_action_not_valid_for_the_tree_is_refused(ed):
    ed.select("P_Drop")
    with pytest.raises(ValueError, match="action 'SetState' is not valid in the payment tree"):
        ed.set_action("SetState")
    assert ed.selected_node["action"] == "Drop"


def test_duplicate_node_id_is_reported(ed):
    ed.select("P_Drop")
    ed.node_id_text.value = "P_Go"
    assert [e["code"] for e in ed.error_details] == ["DuplicateNodeId"]
    assert "Duplicate node ID: P_Go" in ed.messages.value


def test_wrap_in_condition_and_remove_nodes(ed):
    ed.select("P_Drop")
    ed.wrap_button.click()
    assert ed.selected == "payment_tree.on_true"
    assert ed.selected_node == {
        "type": "condition", "node_id": "P_C1",
        "condition": {"op": ">=", "left": {"field": "balance"}, "right": {"value": 0}},
        "on_true": {"type": "action", "node_id": "P_Drop", "action": "Drop"},
        "on_false": {"type": "action", "node_id": "P_A1", "action": "Hold"}}
    assert ed.is_valid
    ed.keep_select.value = "on_false"
    ed.remove_button.click()                 # condition replaced by its false branch
    assert ed.document["payment_tree"]["on_true"] == {"type": "action", "node_id": "P_A1",
                                                      "action": "Hold"}
    ed.select("P_Go")
    ed.remove_button.click()                 # action: its parent becomes the sibling
    assert ed.document["payment_tree"]["on_false"] == {
        "type": "action", "node_id": "P_Wait", "action": "Hold",
        "parameters": {"reason": {"value": "NearDeadline"}}}
    assert ed.selected == "payment_tree.on_false"


def test_add_and_remove_a_tree(ed):
    ed.tree_select.value = "bank_tree"
    assert ed.selected is None and "no bank tree" in ed.node_header.value
    ed.add_tree_button.click()
    assert ed.document["bank_tree"] == {"type": "action", "node_id": "B_A1",
                                        "action": "NoAction"}
    assert ed.selected == "bank_tree"
    assert "SetReleaseBudget" in ed.action_select.options
    ed.action_select.value = "SetReleaseBudget"
    assert ed.selected_node["parameters"] == {"max_value_to_release": {"value": 0}}
    ed.remove_tree_button.click()
    assert "bank_tree" not in ed.document


def test_on_change_callbacks_and_policy_parameters(ed):
    seen = []
    ed.on_change(lambda e: seen.append(e.document["parameters"]))
    ed.parameters_json.value = json.dumps({"urgency_threshold": 2})
    ed.set_policy_parameter("buffer", 1.5)
    assert seen == [{"urgency_threshold": 2}, {"urgency_threshold": 2, "buffer": 1.5}]


def test_save_writes_valid_json(ed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ed.select("P_Wait")
    ed.set_action("Release")
    target = tmp_path / "edited.json"
    ed.save_path.value = "edited.json"
    ed.save_button.click()
    assert "saved to" in ed.status.value
    assert json.loads(target.read_text()) == ed.document
    loaded = psl.load_policy(target)
    assert loaded.payment_tree["on_false"]["on_false"] == {"type": "action",
                                                          "node_id": "P_Wait",
                                                          "action": "Release"}


def test_loads_policies_from_model_and_file(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps(deadline_doc()))
    assert PolicyEditor(p).document == deadline_doc()
    assert PolicyEditor(psl.load_policy(deadline_doc())).document == deadline_doc()


def test_bad_json_in_the_document_view_is_reported(ed):
    ed.document_json.value = "{not json"
    ed.apply_json_button.click()
    assert "document is not valid JSON" in ed.status.value
    assert ed.document == deadline_doc()


def test_editing_model_works_without_widgets():
    from paysim_lab.widgets.editing import EditablePolicy
    ep = EditablePolicy(deadline_doc())
    assert not hasattr(ep, "widget")
    ep.select("P_Urgent")
    ep.set_condition("and")
    assert ep.selected_node["condition"] == {"op": "and", "conditions": [
        {"op": "<=", "left": {"field": "ticks_to_deadline"},
         "right": {"param": "urgency_threshold"}}]}
    ep.set_condition(">", "balance", 0)              # back to a comparison: fresh operands
    assert ep.selected_node["condition"] == {"op": ">", "left": {"field": "balance"},
                                             "right": {"value": 0}}
    with pytest.raises(ValueError, match="unknown operator 'xor'"):
        ep.set_condition("xor")
    with pytest.raises(ValueError, match="is not a condition node"):
        ep.set_condition("<", path="payment_tree.on_true")
    with pytest.raises(KeyError, match="no node with path or id 'nope'"):
        ep.select("nope")
    assert ep.undo() and ep.undo() and not ep.undo()
    assert ep.document == deadline_doc()


def test_switching_an_operand_kind_never_commits_a_placeholder(ed):
    ed.node_select.value = "payment_tree.on_false"
    before = json.dumps(ed.document)
    ed.left.kind.value = "value"            # a field has no number to carry over
    assert ed.left.pending
    assert json.dumps(ed.document) == before          # nothing committed: not "0 <= ..."
    assert ed.left.use_button in ed.left.box.children
    ed.left.number.value = 7
    assert not ed.left.pending and ed.left.use_button not in ed.left.box.children
    assert ed.selected_node["condition"]["left"] == {"value": 7}
    ed.left.kind.value = "param"            # empty parameter name: waits again
    assert ed.left.pending and ed.selected_node["condition"]["left"] == {"value": 7}
    ed.left.param.value = "urgency_threshold"
    assert ed.selected_node["condition"]["left"] == {"param": "urgency_threshold"}
    ed.left.kind.value = "value"            # param -> value: its value, committed at once
    assert ed.selected_node["condition"]["left"] == {"value": 5}
    ed.left.kind.value = "field"            # the field name typed before is still there
    assert not ed.left.pending
    assert ed.selected_node["condition"]["left"] == {"field": "ticks_to_deadline"}


def test_use_button_commits_the_number_shown(ed):
    ed.node_select.value = "payment_tree.on_false"
    ed.left.kind.value = "value"
    assert ed.left.pending and ed.left.number.value == 0.0
    ed.left.use_button.click()
    assert not ed.left.pending
    assert ed.selected_node["condition"]["left"] == {"value": 0}


@pytest.mark.parametrize("name, problem", [
    ("policy.txt", "saved as .json"),
    ("../outside.json", "absolute paths and .. are not accepted"),
    ("sub/../../outside.json", "absolute paths and .. are not accepted"),
])
def test_save_box_refuses_other_suffixes_and_escapes(ed, tmp_path, monkeypatch, name, problem):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    ed.save_path.value = name
    ed.save_button.click()
    assert problem in ed.status.value
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_save_box_refuses_absolute_paths_and_symlinked_escapes(ed, tmp_path, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "link").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.chdir(work)
    for name in (str(tmp_path / "abs.json"), "link/escaped.json"):
        ed.save_path.value = name
        ed.save_button.click()
        assert "absolute paths and .. are not accepted" in ed.status.value
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "abs.json").exists()


def test_save_box_asks_before_replacing_a_file(ed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.json").write_text("keep me")
    ed.save_path.value = "mine.json"
    ed.save_button.click()
    assert "exists: click Save again to replace it" in ed.status.value
    assert (tmp_path / "mine.json").read_text() == "keep me"
    ed.save_button.click()
    assert "saved to" in ed.status.value
    assert json.loads((tmp_path / "mine.json").read_text()) == ed.document
