"""Validation: structural errors (13.2), SimCash's rules (13.3), messages (13.4), lints (13.5)."""
import copy
import warnings

import pytest

from paysim_lab.errors import PolicyError, PolicyWarning
from paysim_lab.policy import load_policy, validate_document


def act(node_id, action, **params):
    node = {"type": "action", "node_id": node_id, "action": action}
    if params:
        node["parameters"] = params
    return node


def cond(node_id, expr, on_true, on_false):
    return {"type": "condition", "node_id": node_id, "condition": expr,
            "on_true": on_true, "on_false": on_false}


def cmp(left, right, op=">"):
    return {"op": op, "left": left, "right": right}


F = lambda name: {"field": name}          # noqa: E731
V = lambda x: {"value": x}                # noqa: E731
P = lambda name: {"param": name}          # noqa: E731


def base():
    return {"version": "1.0", "policy_id": "base", "parameters": {"threshold": 5},
            "payment_tree": cond("N1", cmp(F("balance"), P("threshold")),
                                 act("A1", "Release"),
                                 act("A2", "Hold", reason=V("InsufficientLiquidity")))}


def errors_of(document, profile="simcash"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        with pytest.raises(PolicyError) as e:
            validate_document(document, profile=profile, source="x.json")
    return e.value.errors


def lints_of(document, profile="simcash"):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = validate_document(document, profile=profile, source="x.json")
    assert [str(x.message) for x in w if issubclass(x.category, PolicyWarning)] == out
    return out


def with_(mutate):
    d = base()
    mutate(d)
    return d


def _deep_payment(depth):
    node = act("L", "Release")
    for i in range(depth):
        node = cond(f"N{i}", cmp(F("balance"), V(0)), node, act(f"F{i}", "Drop"))
    return node


# Each case: (description, document, code, fragments the message must contain)
MALFORMED = [
    ("top level is a list", [1, 2], "WrongType", ["x.json", "JSON object"]),
    ("missing version", with_(lambda d: d.pop("version")), "MissingKey", ["'version'"]),
    ("missing policy_id", with_(lambda d: d.pop("policy_id")), "MissingKey", ["'policy_id'"]),
    ("version not a string", with_(lambda d: d.update(version=1.0)), "WrongType",
     ["version", "'version' must be a string"]),
    ("description not a string", with_(lambda d: d.update(description=["x"])), "WrongType",
     ["description"]),
    ("parameters not an object", with_(lambda d: d.update(parameters=[1])), "WrongType",
     ["parameters"]),
    ("non-numeric parameter", with_(lambda d: d["parameters"].update(threshold="5")),
     "NotANumber", ["parameters.threshold", "'threshold'"]),
    ("boolean parameter", with_(lambda d: d["parameters"].update(threshold=True)),
     "NotANumber", ["parameters.threshold"]),
    ("null parameter", with_(lambda d: d["parameters"].update(threshold=None)),
     "NotANumber", ["parameters.threshold"]),
    ("tree is a list", with_(lambda d: d.update(payment_tree=[act("A", "Release")])),
     "WrongType", ["payment_tree", "node object"]),
    ("node without type", with_(lambda d: d["payment_tree"]["on_true"].pop("type")),
     "MissingKey", ["payment_tree.on_true", "(node A1)", "'type'"]),
    ("unknown node type", with_(lambda d: d["payment_tree"]["on_true"].update(type="Action")),
     "UnknownNodeType", ["payment_tree.on_true.type", "'Action'"]),
    ("missing node_id", with_(lambda d: d["payment_tree"]["on_true"].pop("node_id")),
     "MissingKey", ["payment_tree.on_true", "'node_id'"]),
    ("node_id not a string", with_(lambda d: d["payment_tree"]["on_true"].update(node_id=7)),
     "WrongType", ["payment_tree.on_true.node_id"]),
    ("missing condition", with_(lambda d: d["payment_tree"].pop("condition")), "MissingKey",
     ["payment_tree (node N1)", "'condition'"]),
    ("missing on_false", with_(lambda d: d["payment_tree"].pop("on_false")), "MissingKey",
     ["payment_tree (node N1)", "'on_false'"]),
    ("missing action", with_(lambda d: d["payment_tree"]["on_true"].pop("action")),
     "MissingKey", ["(node A1)", "'action'"]),
    ("unknown action", with_(lambda d: d["payment_tree"]["on_true"].update(action="Relase")),
     "UnknownAction", ["payment_tree.on_true.action", "(node A1)", "'Relase'",
                       "did you mean 'Release'?", "ResubmitToRtgs"]),
    ("parameters null", with_(lambda d: d["payment_tree"]["on_false"].update(parameters=None)),
     "WrongType", ["payment_tree.on_false.parameters", "(node A2)"]),
    ("action parameter is a bare string",
     with_(lambda d: d["payment_tree"]["on_false"].update(parameters={"reason": "Low"})),
     "WrongType", ["payment_tree.on_false.parameters.reason", "value object"]),
    ("condition description null",
     with_(lambda d: d["payment_tree"].update(description=None)), "WrongType",
     ["payment_tree.description", "(node N1)"]),
    ("expression without op", with_(lambda d: d["payment_tree"]["condition"].pop("op")),
     "MissingKey", ["payment_tree.condition", "'op'"]),
    ("unknown comparison op", with_(lambda d: d["payment_tree"]["condition"].update(op="=>")),
     "UnknownOperator", ["payment_tree.condition.op", "'=>'"]),
    ("arithmetic used as a condition",
     with_(lambda d: d["payment_tree"]["condition"].update(op="+")), "UnknownOperator",
     ["'+'", "compute"]),
    ("comparison missing right", with_(lambda d: d["payment_tree"]["condition"].pop("right")),
     "MissingKey", ["payment_tree.condition", "'right'"]),
    ("and without a list",
     with_(lambda d: d["payment_tree"].update(condition={"op": "and", "conditions": {}})),
     "WrongType", ["payment_tree.condition.conditions"]),
    ("value object with no known key",
     with_(lambda d: d["payment_tree"]["condition"].update(left={"feild": "balance"})),
     "InvalidValue", ["payment_tree.condition.left", "'feild'"]),
    ("value that is a number, not an object",
     with_(lambda d: d["payment_tree"]["condition"].update(right=5)), "WrongType",
     ["payment_tree.condition.right"]),
    ("field name not a string",
     with_(lambda d: d["payment_tree"]["condition"].update(left={"field": 3})), "WrongType",
     ["payment_tree.condition.left.field"]),
    ("unknown compute op",
     with_(lambda d: d["payment_tree"]["condition"].update(
         left={"compute": {"op": "pow", "left": V(1), "right": V(2)}})), "UnknownOperator",
     ["payment_tree.condition.left.compute.op", "'pow'"]),
    ("compute missing operand",
     with_(lambda d: d["payment_tree"]["condition"].update(
         left={"compute": {"op": "clamp", "value": V(1), "min": V(0)}})), "MissingKey",
     ["payment_tree.condition.left.compute", "'max'"]),
    ("max values not a list",
     with_(lambda d: d["payment_tree"]["condition"].update(
         left={"compute": {"op": "max", "values": V(1)}})), "WrongType",
     ["payment_tree.condition.left.compute.values"]),
    ("unknown field with suggestion",
     with_(lambda d: d["payment_tree"]["condition"].update(left=F("balanse"))),
     "InvalidFieldReference", ["payment_tree.condition.left", "(node N1)", "'balanse'",
                               "did you mean 'balance'?"]),
    ("transaction field in the bank tree",
     with_(lambda d: d.update(bank_tree=cond("B2_Check", cmp(F("remaining_amount"), V(0)),
                                             act("B3", "NoAction"), act("B4", "NoAction")))),
     "InvalidFieldReference", ["x.json: bank_tree.condition.left (node B2_Check): "
                               "InvalidFieldReference: field 'remaining_amount' is a "
                               "transaction field and is not available in bank_tree"]),
    ("field rejected by SimCash's validator",
     with_(lambda d: d["payment_tree"]["condition"].update(left=F("my_bilateral_net_q2"))),
     "InvalidFieldReference", ["'my_bilateral_net_q2'"]),
    ("undefined parameter",
     with_(lambda d: d["payment_tree"]["condition"].update(right=P("treshold"))),
     "InvalidParameterReference", ["'treshold'", "did you mean 'threshold'?"]),
    ("literal division by zero",
     with_(lambda d: d["payment_tree"]["condition"].update(
         left={"compute": {"op": "/", "left": F("balance"), "right": V(0)}})),
     "DivisionByZeroRisk", ["Potential division by zero in computation at node N1"]),
    ("duplicate node id", with_(lambda d: d["payment_tree"]["on_false"].update(node_id="A1")),
     "DuplicateNodeId", ["Duplicate node ID: A1"]),
    ("duplicate node id across trees",
     with_(lambda d: d.update(strategic_collateral_tree=act("N1", "HoldCollateral"))),
     "DuplicateNodeId", ["strategic_collateral_tree", "Duplicate node ID: N1"]),
    ("depth overflow", with_(lambda d: d.update(payment_tree=_deep_payment(101))),
     "ExcessiveDepth", ["Tree depth 101 exceeds maximum 100"]),
    ("sequence in the simcash profile",
     with_(lambda d: d.update(bank_tree={"type": "sequence", "node_id": "S",
                                         "children": [act("B", "NoAction")]})),
     "UnknownNodeType", ["bank_tree.type", "'sequence'", "extended profile"]),
]


@pytest.mark.parametrize("label, document, code, fragments", MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_policy_gives_exactly_one_clear_error(label, document, code, fragments):
    errs = errors_of(document)
    assert len(errs) == 1, [e["message"] for e in errs]
    err = errs[0]
    assert err["code"] == code
    assert err["message"].startswith("x.json: ")
    assert f": {code}: " in err["message"]
    for fragment in fragments:
        assert fragment in err["message"], (fragment, err["message"])


def test_malformed_count_is_at_least_25():
    assert len(MALFORMED) >= 25


def test_error_record_fields_and_str():
    d = base()
    d["payment_tree"]["on_true"]["action"] = "Relase"
    with pytest.raises(PolicyError) as e:
        validate_document(d, profile="simcash", source="x.json")
    assert e.value.errors == [{
        "code": "UnknownAction", "tree": "payment_tree", "node_id": "A1",
        "path": "payment_tree.on_true.action",
        "message": e.value.errors[0]["message"]}]
    assert str(e.value) == e.value.errors[0]["message"]


def test_all_errors_are_collected_in_rule_order():
    d = base()
    d["payment_tree"]["condition"]["left"] = {"compute": {"op": "/", "left": F("nope"),
                                                          "right": V(0)}}
    d["payment_tree"]["condition"]["right"] = P("missing")
    d["payment_tree"]["on_false"]["node_id"] = "A1"
    errs = errors_of(d)
    assert [e["code"] for e in errs] == ["DuplicateNodeId", "InvalidFieldReference",
                                         "InvalidParameterReference", "DivisionByZeroRisk"]
    assert str(PolicyError("\n".join(e["message"] for e in errs))).count("\n") == 3


def test_each_unknown_field_is_reported_once_per_tree():
    d = base()
    d["payment_tree"]["condition"] = {"op": "and", "conditions": [
        cmp(F("nope"), V(1)), cmp(F("nope"), V(2))]}
    d["strategic_collateral_tree"] = cond("S", cmp(F("nope"), V(0)), act("S1", "HoldCollateral"),
                                          act("S2", "HoldCollateral"))
    errs = errors_of(d)
    assert [(e["code"], e["tree"]) for e in errs] == [
        ("InvalidFieldReference", "payment_tree"),
        ("InvalidFieldReference", "strategic_collateral_tree")]


def test_division_check_does_not_look_into_the_left_operand():
    d = base()
    inner = {"compute": {"op": "/", "left": F("balance"), "right": V(0)}}
    d["payment_tree"]["condition"]["left"] = {"compute": {"op": "/", "left": inner,
                                                          "right": V(2)}}
    assert lints_of(d) == []
    d["payment_tree"]["condition"]["left"] = {"compute": {"op": "/", "left": V(2),
                                                          "right": inner}}
    assert [e["code"] for e in errors_of(d)] == ["DivisionByZeroRisk"]


def test_division_check_covers_action_parameters_and_div0_operands():
    d = base()
    d["payment_tree"]["on_true"] = act("A1", "Split", num_splits={"compute": {
        "op": "div0", "numerator": V(1), "denominator": V(0), "default": {"compute": {
            "op": "/", "left": V(1), "right": V(0.0)}}}})
    errs = errors_of(d)
    assert [(e["code"], e["node_id"]) for e in errs] == [("DivisionByZeroRisk", "A1")]
    assert errs[0]["path"] == "payment_tree.on_true.parameters.num_splits.compute.default.compute"


def test_bank_tree_is_exempt_from_rules_1_2_4_5_but_linted():
    d = base()
    d["bank_tree"] = cond("B", cmp({"compute": {"op": "/", "left": V(1), "right": V(0)}},
                                   P("undefined_param")),
                          act("B", "NoAction"), act("N1", "NoAction"))
    msgs = lints_of(d)
    assert len(msgs) == 3
    assert "DuplicateNodeId: node id 'B' occurs twice in bank_tree" in msgs[0]
    assert "InvalidParameterReference: parameter 'undefined_param'" in msgs[1]
    assert "DivisionByZeroRisk" in msgs[2]


def test_field_checks_in_collateral_and_payment_trees():
    d = base()
    d["end_of_tick_collateral_tree"] = cond("E", cmp(F("amount"), V(0)),
                                            act("E1", "HoldCollateral"),
                                            act("E2", "HoldCollateral"))
    [err] = errors_of(d)
    assert "is a transaction field and is not available in end_of_tick_collateral_tree" \
        in err["message"]
    d = base()
    d["payment_tree"]["condition"]["left"] = F("cost_urgency")     # phantom: valid, linted
    [msg] = lints_of(d)
    assert "PhantomField" in msg and "'cost_urgency'" in msg


def test_tick_alias_is_extended_only():
    d = base()
    d["payment_tree"]["condition"]["left"] = F("tick")
    [err] = errors_of(d, profile="simcash")
    assert "use 'current_tick'" in err["message"]
    assert lints_of(d, profile="extended") == []


def test_extended_register_key_colliding_with_a_field_is_an_error():
    d = base()
    d["bank_tree"] = act("B", "SetState", key=V("balance"), value=V(1))
    [err] = errors_of(d, profile="extended")
    assert err["code"] == "InvalidStateKey"
    assert "'balance'" in err["message"] and "bank_tree.parameters.key" in err["message"]
    msgs = lints_of(d, profile="simcash")
    assert any("RegisterPrefix" in m for m in msgs)


def test_extended_register_keys_are_readable_fields():
    d = base()
    d["bank_tree"] = act("B", "SetState", key=V("mode"), value=V(1))
    d["payment_tree"]["condition"]["left"] = F("mode")
    assert lints_of(d, profile="extended") == []
    assert [e["code"] for e in errors_of(d, profile="simcash")] == ["InvalidFieldReference"]


def test_lints():
    d = base()
    d["extra_key"] = 1
    d["comment"] = "exempt"
    d["payment_tree"]["hold_reason"] = "x"
    d["payment_tree"]["on_true"] = act("A1", "Split", num_splits=V(1))
    d["bank_tree"] = act("B", "SetReleaseBudget", max_value_to_release=V(5),
                         focus_cpty_list=V(["X"]))
    d["strategic_collateral_tree"] = act("S", "PostCollateral", amount=F("queue1_liquidity_gap"),
                                         reason=V("GapClosed"),
                                         auto_withdraw_after_ticks=V(0.5))
    msgs = lints_of(d)
    codes = [m.split(": ")[2] for m in msgs]
    assert codes == ["UnknownKey", "UnknownKey", "InvalidSplit", "UnknownParameter",
                     "CollateralReason", "TimerValue", "UncappedCollateral"]
    assert "the accepted name is 'focus_counterparties'" in msgs[3]


@pytest.mark.parametrize("profile, outcome", [
    ("simcash", "aborts the run"), ("extended", "is cut to the capacity (CollateralPostCapped)")])
def test_uncapped_collateral_lint_says_what_the_profile_does(profile, outcome):
    d = base()
    d["strategic_collateral_tree"] = act("S", "PostCollateral", amount=F("queue1_liquidity_gap"))
    (msg,) = [m for m in lints_of(d, profile) if "UncappedCollateral" in m]
    assert msg.endswith(f"posting more than the capacity {outcome} "
                        '(wrap it in {"op": "min", ...})')


def test_more_lints():
    d = base()
    d["payment_tree"]["on_true"] = act("A1", "WithdrawFromRtgs")
    d["payment_tree"]["condition"]["right"] = {"compute": {"op": "/", "left": V(1),
                                                           "right": F("credit_used")}}
    d["strategic_collateral_tree"] = act("S", "Release")
    d["end_of_tick_collateral_tree"] = act("E", "PostCollateral", amount={"compute": {
        "op": "min", "values": [F("queue1_liquidity_gap"), F("remaining_collateral_capacity")]}})
    msgs = lints_of(d)
    codes = [m.split(": ")[2] for m in msgs]
    assert codes == ["FieldDivisor", "BareWithdraw", "WrongTreeAction"]


def test_missing_payment_tree_and_empty_list_lints():
    empty_max = {"compute": {"op": "max", "values": []}}
    d = {"version": "1.0", "policy_id": "p",
         "bank_tree": act("B", "SetState", key=V("bank_state_x"), value=empty_max)}
    msgs = lints_of(d)
    assert [m.split(": ")[2] for m in msgs] == ["EmptyValueList", "MissingPaymentTree"]


def test_nothing_else_escapes_on_garbage_input():
    garbage = [None, 3, "x", [], {"version": "1", "policy_id": "p", "payment_tree": 5},
               {"version": "1", "policy_id": "p", "payment_tree": {"type": None}},
               {"version": "1", "policy_id": "p", "parameters": {1: 2}},
               {"version": "1", "policy_id": "p", "payment_tree": {
                   "type": "condition", "node_id": "é✓", "condition": {"op": "and",
                                                                      "conditions": [None]},
                   "on_true": [], "on_false": {}}},
               {"version": "1", "policy_id": "p", "payment_tree": {
                   "type": "action", "node_id": "A", "action": ["Release"]}},
               {"version": "1", "policy_id": "p", "payment_tree": {
                   "type": "action", "node_id": "A", "action": "Hold",
                   "parameters": {"reason": {"compute": "x"}}}},
               {"version": "1", "policy_id": "p", "payment_tree": {
                   "type": "action", "node_id": "A", "action": "Release"},
                "strategic_collateral_tree": {
                   "type": "action", "node_id": "S", "action": "PostCollateral",
                   "parameters": {"amount": {"value": 10**400},
                                  "auto_withdraw_after_ticks": {"value": float("nan")}}},
                "end_of_tick_collateral_tree": {
                   "type": "action", "node_id": "E", "action": "PostCollateral",
                   "parameters": {"amount": {"value": 1e400},
                                  "auto_withdraw_after_ticks": {"value": 1e400}}},
                "bank_tree": {"type": "action", "node_id": "B", "action": "Nope"}}]
    for g in garbage:
        errors_of(g)


def test_deep_and_cyclic_documents_give_policy_error_not_recursion_error():
    deep = {"op": ">", "left": V(1), "right": V(0)}
    for _ in range(5000):
        deep = {"op": "not", "condition": deep}
    d = base()
    d["payment_tree"]["condition"] = deep
    [err] = errors_of(d)
    assert err["code"] == "NestingTooDeep"
    cyclic = base()
    cyclic["payment_tree"]["on_true"] = cyclic["payment_tree"]
    [err] = errors_of(cyclic)
    assert err["code"] == "NestingTooDeep"
    d = base()
    d["payment_tree"] = _deep_payment(2000)
    [err] = errors_of(d)
    assert err["code"] == "NestingTooDeep"


def test_payment_tree_depth_150_reports_its_depth():
    d = base()
    d["payment_tree"] = _deep_payment(150)
    [err] = errors_of(d)
    assert err["message"].endswith("ExcessiveDepth: Tree depth 150 exceeds maximum 100")


def test_valid_document_is_not_modified():
    d = base()
    before = copy.deepcopy(d)
    assert lints_of(d) == []
    assert d == before


def test_load_policy_reports_file_name(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"version": "1.0", "policy_id": "p", "payment_tree": '
                    '{"type": "action", "node_id": "A", "action": "Hold", '
                    '"parameters": {"reason": {"value": "x"}, "n": {"fild": 1}}}}')
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    assert str(e.value) == (f"{path}: payment_tree.parameters.n (node A): InvalidValue: value "
                            "object has none of 'field', 'param', 'value', 'compute' "
                            "(keys: 'fild')")


def _paths(x, pre=()):
    yield pre
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _paths(v, pre + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _paths(v, pre + (i,))


def test_seeded_mutations_only_ever_raise_policy_error():
    import random

    from paysim_lab.policy import builtin_document, check_feature_toggles, describe
    seeds = [builtin_document(t, {}) for t in ("Deadline", "LiquidityAware",
                                               "LiquiditySplitting")] + [base()]
    seeds[-1]["bank_tree"] = {"type": "sequence", "children": [
        act("B1", "SetState", key=V("k"), value={"compute": {"op": "clamp", "value": F("k"),
                                                             "min": V(0), "max": P("threshold")}}),
        act("B2", "PostCollateral", amount={"compute": {"op": "div0", "numerator": V(1),
                                                        "denominator": F("balance"),
                                                        "default": V(0)}})]}
    junk = [None, True, 0, 1e400, "x", "Release", [], {}, [1], {"field": "balance"},
            {"value": "s"}, {"op": "/"}, "sequence", "é\x00", {"type": "action"}]
    rng = random.Random(20240501)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        d = copy.deepcopy(rng.choice(seeds))
        paths = list(_paths(d))[1:]
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            parent = d
            try:
                for k in path[:-1]:
                    parent = parent[k]
                if rng.random() < 0.7:
                    parent[path[-1]] = copy.deepcopy(rng.choice(junk))
                elif isinstance(parent, dict):
                    del parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                pass
        for profile in ("simcash", "extended"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PolicyWarning)
                    p = load_policy(d, profile=profile)
                describe(p)
                check_feature_toggles(d, exclude=["CostField"])
                outcomes["ok"] += 1
            except PolicyError:
                outcomes["error"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
