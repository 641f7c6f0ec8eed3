"""Compiled trees: decisions, parameter conversion, decision paths, runtime errors."""
import pytest

from paysim_lab.errors import PolicyRuntimeError
from paysim_lab.policy import compile_policy, load_policy

pytestmark = pytest.mark.filterwarnings("ignore::paysim_lab.errors.PolicyWarning")


def act(node_id, action, **params):
    node = {"type": "action", "node_id": node_id, "action": action}
    if params:
        node["parameters"] = params
    return node


def cond(node_id, expr, on_true, on_false):
    return {"type": "condition", "node_id": node_id, "condition": expr,
            "on_true": on_true, "on_false": on_false}


def gt(field, value):
    return {"op": ">", "left": {"field": field}, "right": {"value": value}}


def doc(**trees):
    d = {"version": "1.0", "policy_id": "t", "parameters": trees.pop("parameters", {})}
    d.update(trees)
    if "payment_tree" not in d:
        d["payment_tree"] = act("P0", "Release")
    return d


def payment(action_node, ctx=None, profile="extended", parameters=None):
    cp = compile_policy(doc(payment_tree=action_node, parameters=parameters or {}),
                        profile=profile, for_mapping=True)
    return cp.payment(ctx or {})


def runtime_error(fn, *args):
    with pytest.raises(PolicyRuntimeError) as e:
        fn(*args)
    return e.value


# ---- payment actions --------------------------------------------------------------------------

def test_release_and_release_with_credit_are_the_same_decision():
    d = payment(act("A", "ReleaseWithCredit"))
    assert (d.action, d.priority_flag, d.timed_for_tick, d.path) == ("Release", None, None, "A")
    for flag, want in (("HIGH", 10), ("MEDIUM", 5), ("LOW", 1), ("urgent", 5)):
        assert payment(act("A", "Release", priority_flag={"value": flag})).priority_flag == want
    assert payment(act("A", "Release", priority_flag={"value": 10})).priority_flag is None
    assert payment(act("A", "Release", priority_flag={"field": "priority"}),
                   {"priority": 9}).priority_flag is None
    d = payment(act("A", "Release", timed_for_tick={"field": "current_tick"}),
                {"current_tick": 12.7})
    assert d.timed_for_tick == 12


def test_split_counts_truncate_and_fewer_than_two_is_fatal():
    assert payment(act("S", "Split", num_splits={"value": 2.9})).num_splits == 2
    d = payment(act("S", "PaceAndRelease", num_splits={"param": "n"}), parameters={"n": 3})
    assert (d.action, d.num_splits) == ("Split", 3)
    for bad in (1.99, -3, 0.5):
        cp = compile_policy(doc(payment_tree=act("S", "Split", num_splits={"value": bad})),
                            for_mapping=True)
        err = runtime_error(cp.payment, {})
        assert (err.kind, err.detail, err.node_id, err.path) == (
            "InvalidActionParameter", "Invalid action parameter type: num_splits must be >= 2",
            "S", "S")
    cp = compile_policy(doc(payment_tree=act("S", "Split")), for_mapping=True)
    err = runtime_error(cp.payment, {})
    assert (err.kind, err.detail) == ("MissingActionParameter",
                                      "Missing required action parameter: num_splits")
    cp = compile_policy(doc(payment_tree=act("S", "Split", num_splits={"value": True})),
                        for_mapping=True)
    err = runtime_error(cp.payment, {})
    assert (err.kind, err.detail) == ("InvalidActionParameter",
                                      "Invalid action parameter type: num_splits")


def test_stagger_split_parameters():
    d = payment(act("S", "StaggerSplit", num_splits={"value": 4}, stagger_first_now={"value": 1},
                    stagger_gap_ticks={"value": 3.5}, priority_boost_children={"value": 300}))
    assert (d.action, d.num_splits, d.first_now, d.gap, d.boost) == ("StaggerSplit", 4, 1, 3, 255)
    cp = compile_policy(doc(payment_tree=act(
        "S", "StaggerSplit", num_splits={"value": 2}, stagger_first_now={"value": 3},
        stagger_gap_ticks={"value": 1}, priority_boost_children={"value": 0})), for_mapping=True)
    err = runtime_error(cp.payment, {})
    assert err.detail == "Invalid action parameter type: stagger_first_now cannot exceed num_splits"


HOLD_CASES = [
    ({"value": "InsufficientLiquidity"}, "InsufficientLiquidity"),
    ({"value": "AwaitingInflows"}, "AwaitingInflows"),
    ({"value": "LowPriority"}, "LowPriority"),
    ({"value": "Custom"}, 'Custom("Custom")'),
    ({"value": 'say "hi"'}, 'Custom("say \\"hi\\"")'),
    ({"value": "a\\b\nc\td\re"}, 'Custom("a\\\\b\\nc\\td\\re")'),
    ({"value": "bell\x07"}, 'Custom("bell\\u{7}")'),
    ({"value": "nul\x00"}, 'Custom("nul\\0")'),
    ({"value": "zero\u200bwidth"}, 'Custom("zero\\u{200b}width")'),
    ({"value": "café ✓"}, 'Custom("café ✓")'),
    ({"value": "it's"}, 'Custom("it\'s")'),
    ({"value": 3}, 'Custom("Policy decision")'),
    ({"field": "balance"}, 'Custom("Policy decision")'),
]


@pytest.mark.parametrize("reason, text", HOLD_CASES)
def test_hold_reason_rendering(reason, text):
    assert payment(act("H", "Hold", reason=reason), {"balance": 1}).reason == text


def test_hold_without_reason_and_near_deadline():
    assert payment(act("H", "Hold")).reason == 'Custom("Policy decision")'
    node = act("H", "Hold", reason={"value": "NearDeadline"})
    assert payment(node, {"ticks_to_deadline": 7.0}).reason == \
        "NearDeadline { ticks_remaining: 7 }"
    assert payment(node, {"ticks_to_deadline": -4.0}).reason == \
        "NearDeadline { ticks_remaining: 0 }"
    assert payment(node, {}).reason == "NearDeadline { ticks_remaining: 0 }"


def test_drop_reprioritize_withdraw_resubmit():
    assert payment(act("D", "Drop")).action == "Drop"
    d = payment(act("R", "Reprioritize", new_priority={"value": 255.7}))
    assert (d.action, d.new_priority) == ("Reprioritize", 255)
    assert payment(act("R", "Reprioritize", new_priority={"value": -2})).new_priority == 0
    assert payment(act("W", "WithdrawFromRtgs")).action == "WithdrawFromRtgs"
    d = payment(act("Q", "ResubmitToRtgs", rtgs_priority={"value": "Urgent"}))
    assert (d.action, d.rtgs_priority) == ("ResubmitToRtgs", "Urgent")


@pytest.mark.parametrize("params, kind, detail", [
    ({}, "MissingActionParameter", "Missing required action parameter: rtgs_priority"),
    ({"rtgs_priority": {"value": 1}}, "InvalidActionParameter",
     "Invalid action parameter type: rtgs_priority must be a string"),
    ({"rtgs_priority": {"field": "priority"}}, "InvalidActionParameter",
     "Invalid action parameter type: rtgs_priority must be a direct string value"),
    ({"rtgs_priority": {"value": "Fast"}}, "InvalidActionParameter",
     "Invalid action parameter type: rtgs_priority must be 'HighlyUrgent', 'Urgent', or "
     "'Normal', got 'Fast'"),
])
def test_resubmit_errors(params, kind, detail):
    cp = compile_policy(doc(payment_tree=act("Q", "ResubmitToRtgs", **params)), for_mapping=True)
    err = runtime_error(cp.payment, {})
    assert (err.kind, err.detail, err.tree, err.node_id) == (kind, detail, "payment_tree", "Q")


def test_wrong_tree_actions():
    # bank/collateral actions in the payment tree: fatal when reached
    for node in (act("X", "NoAction"), act("X", "HoldCollateral")):
        cp = compile_policy(doc(payment_tree=node), for_mapping=True)
        err = runtime_error(cp.payment, {})
        assert err.kind == "InvalidActionType"
        assert err.detail.startswith("Invalid action type: ")
    # payment/bank actions in a collateral tree: fatal
    cp = compile_policy(doc(strategic_collateral_tree=act("S", "Release"),
                            end_of_tick_collateral_tree=act("E", "SetState")), for_mapping=True)
    err = runtime_error(cp.strategic_collateral, {})
    assert (err.kind, err.tree, err.node_id) == ("InvalidActionType",
                                                 "strategic_collateral_tree", "S")
    assert runtime_error(cp.end_of_tick_collateral, {}).kind == "InvalidActionType"
    # anything else in the bank tree: NoAction (simcash profile: collateral actions too)
    cp = compile_policy(doc(bank_tree=act("B", "Hold")), for_mapping=True)
    assert [(d.action, d.path) for d in cp.bank({})] == [("NoAction", "B")]
    cp = compile_policy(doc(bank_tree=act("B", "PostCollateral", amount={"value": 5})),
                        profile="simcash", for_mapping=True)
    assert [d.action for d in cp.bank({})] == ["NoAction"]


# ---- bank actions ------------------------------------------------------------------------------

def test_bank_decision_path_is_byte_exact():
    bank = cond("B_Root", gt("balance", 100),
                act("B_Rich", "NoAction"),
                cond("B_CheckLiquidity", gt("effective_liquidity", 0),
                     cond("B_Deep", gt("balance", -50),
                          act("B_NormalBudget", "SetReleaseBudget",
                              max_value_to_release={"value": 1000}),
                          act("B_Tight", "NoAction")),
                     act("B_Broke", "NoAction")))
    cp = compile_policy(doc(bank_tree=bank), for_mapping=True)
    [d] = cp.bank({"balance": 10, "effective_liquidity": 5})
    assert d.path == "B_Root(false) → B_CheckLiquidity(true) → B_Deep(true) → B_NormalBudget"
    assert d.path.encode("utf-8") == (b"B_Root(false) \xe2\x86\x92 B_CheckLiquidity(true) "
                                      b"\xe2\x86\x92 B_Deep(true) \xe2\x86\x92 B_NormalBudget")
    assert (d.action, d.max_value, d.focus, d.per_counterparty) == (
        "SetReleaseBudget", 1000, None, None)


def test_set_release_budget_parameters():
    def budget(**params):
        cp = compile_policy(doc(bank_tree=act("B", "SetReleaseBudget", **params)),
                            for_mapping=True)
        return cp.bank({"balance": 12345.9})[0]
    d = budget(max_value_to_release={"field": "balance"},
               focus_counterparties={"value": ["X", 3, "Y"]},
               max_per_counterparty={"value": -7.9})
    assert (d.max_value, d.focus, d.per_counterparty) == (12345, ["X", "Y"], -7)
    assert budget(max_value_to_release={"value": 1},
                  focus_counterparties={"value": []}).focus is None
    assert budget(max_value_to_release={"value": 1},
                  focus_counterparties={"value": "X"}).focus is None
    assert budget(max_value_to_release={"value": 1},
                  focus_counterparties={"field": "balance"}).focus is None
    assert budget(max_value_to_release={"value": 1}, focus_cpty_list={"value": ["X"]},
                  max_per_cpty={"value": 5}).focus is None
    assert budget(max_value_to_release={"value": 2.0**70}).max_value == 2**63 - 1


def test_set_state_and_add_state():
    cp = compile_policy(doc(bank_tree=act("B", "AddState", key={"value": "bank_state_n"},
                                          value={"value": -1.0})), for_mapping=True)
    [d] = cp.bank({})
    assert (d.action, d.key, d.value, d.reason, d.path) == ("AddState", "bank_state_n", -1.0,
                                                            "policy_action", "B")
    cases = [
        ({"value": {"value": 1}}, "MissingActionParameter",
         "Missing required action parameter: key"),
        ({"key": {"value": 5}, "value": {"value": 1}}, "InvalidActionParameter",
         "Invalid action parameter type: key"),
        ({"key": {"field": "balance"}, "value": {"value": 1}}, "InvalidActionParameter",
         "Invalid action parameter type: String parameter 'key' does not support field "
         "references"),
        ({"key": {"param": "p"}, "value": {"value": 1}}, "InvalidActionParameter",
         "Invalid action parameter type: String parameter 'key' does not support param "
         "references"),
        ({"key": {"value": "bank_state_x"}}, "MissingActionParameter",
         "Missing required action parameter: value"),
        ({"key": {"value": "bank_state_x"}, "value": {"value": 1},
          "reason": {"compute": {"op": "+", "left": {"value": 1}, "right": {"value": 1}}}},
         "InvalidActionParameter", "Invalid action parameter type: String parameter 'reason' "
                                   "does not support computed values"),
    ]
    for params, kind, detail in cases:
        cp = compile_policy(doc(bank_tree=act("B", "SetState", **params), parameters={"p": 1}),
                            for_mapping=True)
        err = runtime_error(cp.bank, {})
        assert (err.kind, err.detail, err.tree) == (kind, detail, "bank_tree")


def test_nan_register_values_are_kept():
    cp = compile_policy(doc(bank_tree=act("B", "SetState", key={"value": "bank_state_x"},
                                          value={"compute": {"op": "-", "left": {
                                              "field": "bank_state_inf"}, "right": {
                                              "field": "bank_state_inf"}}})), for_mapping=True)
    d = cp.bank({"bank_state_inf": float("inf")})[0]
    assert d.value != d.value


# ---- collateral actions -----------------------------------------------------------------------

def test_post_collateral():
    def post(ctx=None, **params):
        cp = compile_policy(doc(end_of_tick_collateral_tree=act("E", "PostCollateral", **params)),
                            for_mapping=True)
        return cp.end_of_tick_collateral(ctx or {})
    d = post(amount={"value": 1000.9}, reason={"value": "PreemptivePosting"},
             auto_withdraw_after_ticks={"value": 3})
    assert (d.action, d.amount, d.reason, d.timer, d.path) == ("PostCollateral", 1000,
                                                               "PreemptivePosting", 3, "E")
    assert post(amount={"value": 5}, reason={"value": "GapClosed"}).reason == \
        "UrgentLiquidityNeed"
    assert post(amount={"value": 5}).reason == "UrgentLiquidityNeed"
    assert post(amount={"value": 5}, reason={"field": "balance"}).reason == "UrgentLiquidityNeed"
    assert post(amount={"value": 5}, auto_withdraw_after_ticks={"value": 0.5}).timer == 0
    assert post(amount={"value": 5}, auto_withdraw_after_ticks={"value": 0}).timer is None
    assert post(amount={"value": 5}, auto_withdraw_after_ticks={"value": -2}).timer is None
    # amount <= 0: a silent hold, later parameters never evaluated
    d = post(amount={"value": 0.99}, auto_withdraw_after_ticks={"field": "balance"})
    assert (d.action, d.path) == ("HoldCollateral", "E")
    assert post(amount={"value": -5}).action == "HoldCollateral"
    cp = compile_policy(doc(end_of_tick_collateral_tree=act(
        "E", "PostCollateral", amount={"value": 5},
        auto_withdraw_after_ticks={"field": "balance"})), for_mapping=True)
    assert runtime_error(cp.end_of_tick_collateral, {}).kind == "FieldNotFound"


def test_withdraw_and_hold_collateral():
    cp = compile_policy(doc(strategic_collateral_tree=act(
        "S", "WithdrawCollateral", amount={"compute": {"op": "/", "left": {
            "field": "posted_collateral"}, "right": {"value": 2}}},
        reason={"value": "CostOptimization"})), for_mapping=True)
    d = cp.strategic_collateral({"posted_collateral": 1001})
    assert (d.action, d.amount, d.reason) == ("WithdrawCollateral", 500, "CostOptimization")
    assert cp.strategic_collateral({"posted_collateral": 0}).action == "HoldCollateral"
    cp = compile_policy(doc(strategic_collateral_tree=act("S", "HoldCollateral")))
    assert cp.strategic_collateral(None).action == "HoldCollateral"


# ---- absent trees, facts, depth ---------------------------------------------------------------

def test_absent_trees():
    cp = compile_policy({"version": "1.0", "policy_id": "empty"})
    err = runtime_error(cp.payment, None)
    assert (err.kind, err.detail, err.tree) == ("InvalidTree",
                                                "Invalid tree: payment_tree is not defined",
                                                "payment_tree")
    assert [d.action for d in cp.bank(None)] == ["NoAction"]
    assert cp.strategic_collateral(None).action == "HoldCollateral"
    assert cp.end_of_tick_collateral(None).action == "HoldCollateral"
    assert (cp.has_payment_tree, cp.has_bank_tree, cp.has_strategic_tree,
            cp.has_end_of_tick_tree) == (False, False, False, False)
    assert cp.initial_liquidity_fraction is None


def test_compiled_policy_facts():
    cp = compile_policy(doc(payment_tree=cond("C", gt("is_in_queue2", 0),
                                              act("Q", "ResubmitToRtgs",
                                                  rtgs_priority={"value": "Urgent"}),
                                              act("R", "Release")),
                            bank_tree=act("B", "NoAction"),
                            parameters={"initial_liquidity_fraction": 1, "x": 2}))
    assert cp.uses_queue2_actions is True
    assert cp.has_bank_tree is True
    assert cp.initial_liquidity_fraction == 1.0
    assert cp.parameters == {"initial_liquidity_fraction": 1.0, "x": 2.0}
    assert cp.document["policy_id"] == "t"
    assert compile_policy(doc()).uses_queue2_actions is False


def chain(depth, leaf_action="NoAction"):
    node = act(f"L{depth}", leaf_action)
    for i in reversed(range(depth)):
        node = cond(f"N{i}", {"op": ">=", "left": {"value": 1}, "right": {"value": 0}},
                    node, act(f"F{i}", leaf_action))
    return node


def test_bank_tree_deeper_than_100_fails_only_when_walked_that_deep():
    cp = compile_policy(doc(bank_tree=chain(101)), profile="simcash", for_mapping=True)
    err = runtime_error(cp.bank, {})
    assert (err.kind, err.detail, err.node_id) == (
        "MaxDepthExceeded", "Tree traversal exceeded maximum depth (100)", "L101")
    assert err.path.endswith("N100(true) → L101")
    cp = compile_policy(doc(bank_tree=chain(100)), profile="simcash", for_mapping=True)
    assert cp.bank({})[0].path.endswith("N99(true) → L100")


def test_runtime_error_carries_partial_path_and_failing_node():
    tree = cond("N1", gt("balance", 0),
                cond("N2", {"op": ">", "left": {"compute": {
                    "op": "/", "left": {"value": 1}, "right": {"field": "credit_used"}}},
                    "right": {"value": 0}}, act("A", "Release"), act("B", "Drop")),
                act("C", "Drop"))
    cp = compile_policy(doc(payment_tree=tree), for_mapping=True)
    err = runtime_error(cp.payment, {"balance": 5, "credit_used": 0})
    assert (err.kind, err.node_id, err.path) == ("DivisionByZero", "N2", "N1(true) → N2")
    located = err.located(agent_id="BANK_A", tick=7, tx_id="tx_00000001")
    assert str(located) == ("agent BANK_A, tick 7, payment_tree, tx tx_00000001, node N2: "
                            "DivisionByZero: Division by zero in computation "
                            "(path: N1(true) → N2)")


def test_parameter_not_found_in_bank_tree_is_a_runtime_error():
    cp = compile_policy(doc(bank_tree=cond("B", {"op": ">", "left": {"param": "nope"},
                                                 "right": {"value": 0}},
                                           act("X", "NoAction"), act("Y", "NoAction"))),
                        for_mapping=True)
    err = runtime_error(cp.bank, {})
    assert (err.kind, err.detail, err.path) == ("ParameterNotFound", "Parameter not found: nope",
                                                "B")


def test_constant_decisions_are_shared_and_paths_precomputed():
    cp = compile_policy(doc(payment_tree=cond("C", gt("balance", 0), act("R", "Release"),
                                              act("H", "Hold", reason={"value": "LowPriority"}))),
                        for_mapping=True)
    assert cp.payment({"balance": 1}) is cp.payment({"balance": 2})
    assert cp.payment({"balance": 0}).path == "C(false) → H"


# ---- extended profile ---------------------------------------------------------------------

def test_sequence_returns_every_child_decision_in_order():
    bank = {"type": "sequence", "children": [
        act("S1", "SetState", key={"value": "counter"}, value={"value": 1.0},
            reason={"value": "first"}),
        cond("C", {"op": ">", "left": {"field": "counter"}, "right": {"value": 0}},
             act("S2", "AddState", key={"value": "bank_state_hits"}, value={"value": 1}),
             act("S3", "SetReleaseBudget", max_value_to_release={"value": 10})),
        act("P", "PostCollateral", amount={"value": 100}, auto_withdraw_after_ticks={"value": 4}),
    ]}
    p = load_policy(doc(bank_tree=bank))
    decisions = p.decide("bank", {"counter": 0})
    assert [(d.action, d.path) for d in decisions] == [
        ("SetState", "S1"), ("SetReleaseBudget", "C(false) → S3"), ("PostCollateral", "P")]
    assert decisions[0].key == "counter"
    assert decisions[2].timer == 4
    assert p.trace("bank", {"counter": 2}) == [
        {"node_id": "bank_tree", "node_type": "sequence", "result": None},
        {"node_id": "S1", "node_type": "action", "result": None},
        {"node_id": "C", "node_type": "condition", "result": True},
        {"node_id": "S2", "node_type": "action", "result": None},
        {"node_id": "P", "node_type": "action", "result": None}]
    assert p.compiled.register_keys == frozenset({"counter"})


def test_auto_node_ids_and_tick_alias():
    bank = {"type": "condition", "condition": {"op": "==", "left": {"field": "tick"},
                                               "right": {"value": 0}},
            "on_true": {"type": "action", "action": "NoAction"},
            "on_false": {"type": "action", "action": "Hold"}}
    p = load_policy({"version": "1.0", "policy_id": "t", "bank_tree": bank})
    [d] = p.decide("bank", {"current_tick": 0})
    assert d.path == "bank_tree(true) → bank_tree.on_true"
    [d] = p.decide("bank", {"tick": 3})
    assert d.path == "bank_tree(false) → bank_tree.on_false"
