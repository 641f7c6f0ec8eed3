"""psl.load_policy, psl.Policy, built-ins, inline entries, toggles, describe, trace."""
import json
import warnings

import pydantic
import pytest

import paysim_lab as psl
from paysim_lab.engine.decisions import EvalEnv
from paysim_lab.engine.state import Agent, Transaction, World
from paysim_lab.errors import PolicyError, PolicyRuntimeError, PolicyWarning
from paysim_lab.policy import (ACTIONS_BY_TREE, FIELD_NAMES, Policy, builtin_document,
                               check_feature_toggles, describe, inline_document, load_policy,
                               policies_dir)

RELEASE_ALL = {"version": "1.0", "policy_id": "release_all",
               "payment_tree": {"type": "action", "node_id": "R", "action": "Release"}}

# The two policies of the users' seed plan, exactly as written there.
SEED_SEQUENCE = {
    "version": "1.0",
    "bank_tree": {
        "type": "sequence",
        "children": [
            {"type": "action", "action": "SetState", "parameters": {
                "key": {"value": "test_counter"}, "value": {"value": 1.0},
                "reason": {"value": "first_update"}}},
            {"type": "action", "action": "SetState", "parameters": {
                "key": {"value": "test_counter"}, "value": {"value": 5.0},
                "reason": {"value": "second_update"}}},
        ],
    },
}
SEED_TIMER = {
    "version": "1.0",
    "bank_tree": {
        "type": "condition",
        "condition": {"op": "==", "left": {"field": "tick"}, "right": {"value": 0.0}},
        "on_true": {"type": "action", "action": "PostCollateral", "parameters": {
            "amount": {"value": 100000.0}, "reason": {"value": "test_timer"},
            "auto_withdraw_after_ticks": {"value": 10.0}}},
        "on_false": {"type": "action", "action": "Hold"},
    },
}


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        return fn(*args, **kw)


# ---- loading ------------------------------------------------------------------------------

def test_load_from_dict_and_file(tmp_path):
    p = load_policy(RELEASE_ALL)
    assert isinstance(p, Policy) and p.policy_id == "release_all" and p.profile == "extended"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(RELEASE_ALL), encoding="utf-8")
    assert load_policy(path, profile="simcash").model_dump() == RELEASE_ALL
    assert load_policy(str(path)).document == RELEASE_ALL


def test_psl_lazy_names():
    assert psl.load_policy is load_policy
    assert psl.Policy is Policy
    assert psl.describe is describe


@pytest.mark.parametrize("source, fragment", [
    ('{"version": "1.0"}', "not JSON text"),
    (42, "got int"),
])
def test_load_rejects_json_text_and_other_types(source, fragment):
    with pytest.raises(PolicyError) as e:
        load_policy(source)
    assert fragment in str(e.value)


def test_load_file_errors(tmp_path):
    with pytest.raises(PolicyError) as e:
        load_policy(tmp_path / "missing.json")
    assert str(e.value) == f"{tmp_path / 'missing.json'}: policy file not found"
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0",\n "policy_id": }', encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policy(bad)
    assert str(e.value) == f"{bad}: JSON parsing failed: Expecting value (line 2 column 15)"
    assert e.value.errors[0]["code"] == "InvalidJson"
    nan = tmp_path / "nan.json"
    nan.write_text('{"version": "1.0", "policy_id": "p", "parameters": {"x": NaN}}')
    with pytest.raises(PolicyError) as e:
        load_policy(nan)
    assert "NaN is not valid JSON" in str(e.value)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(PolicyError) as e:
        load_policy(deep)
    assert e.value.errors[0]["code"] in ("NestingTooDeep", "WrongType")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"version": "1.0", "policy_id": "caf\xe9"}')
    with pytest.raises(PolicyError) as e:
        load_policy(latin)
    assert "not UTF-8" in str(e.value)


def test_round_trip_keeps_everything_the_author_wrote():
    doc = {"policy_id": "p", "version": "2.0", "custom_top": {"a": [1, 2]},
           "parameters": {"n": 3, "x": 0.5}, "description": None,
           "payment_tree": {"type": "action", "node_id": "S", "action": "Split",
                            "comment": "why", "parameters": {"num_splits": {"param": "n"}}},
           "bank_tree": None}
    p = quiet(load_policy, doc)
    dumped = p.model_dump()
    assert dumped == doc
    assert type(dumped["parameters"]["n"]) is int
    assert set(dumped) == set(doc)
    assert p.compiled.parameters == {"n": 3.0, "x": 0.5}
    dumped["payment_tree"]["node_id"] = "changed"
    assert p.payment_tree["node_id"] == "S"


def test_policy_model_validates_too():
    assert Policy.model_validate(RELEASE_ALL).policy_id == "release_all"
    with pytest.raises((PolicyError, pydantic.ValidationError)) as e:
        Policy.model_validate({"version": "1.0", "policy_id": "p",
                               "payment_tree": {"type": "action", "node_id": "A",
                                                "action": "Nope"}})
    assert "UnknownAction" in str(e.value)
    seq = {"version": "1.0", "policy_id": "p", "bank_tree": SEED_SEQUENCE["bank_tree"]}
    assert quiet(Policy.model_validate, seq).bank_tree["type"] == "sequence"
    with pytest.raises((PolicyError, pydantic.ValidationError)):
        quiet(Policy.model_validate, seq, context={"profile": "simcash"})


def test_lints_are_returned_and_warned_once_per_load():
    doc = dict(RELEASE_ALL, extra_key=1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        load_policy(doc)
    msgs = [str(x.message) for x in w if issubclass(x.category, PolicyWarning)]
    assert msgs == ["<dict>: extra_key: UnknownKey: unknown top-level key 'extra_key' is "
                    "ignored"]


# ---- built-ins ----------------------------------------------------------------------------

def test_builtin_documents():
    d = builtin_document("LiquidityAware", {"target_buffer": 0, "urgency_threshold": 3})
    assert d["policy_id"] == "liquidity_aware_policy"
    assert d["parameters"] == {"target_buffer": 0.0, "urgency_threshold": 3.0,
                               "initial_liquidity_fraction": 1.0}
    assert type(d["parameters"]["target_buffer"]) is float
    ids = {t: builtin_document(t, {})["policy_id"] for t in
           ("Fifo", "Deadline", "LiquidityAware", "LiquiditySplitting", "MockSplitting")}
    assert ids == {"Fifo": "fifo_policy", "Deadline": "deadline_policy",
                   "LiquidityAware": "liquidity_aware_policy",
                   "LiquiditySplitting": "liquidity_splitting_policy",
                   "MockSplitting": "mock_splitting_policy"}
    # every call is a fresh copy
    builtin_document("Fifo", {})["parameters"]["x"] = 1
    assert "x" not in builtin_document("Fifo", {})["parameters"]
    for name in ("fifo", "deadline", "liquidity_aware", "liquidity_splitting", "mock_splitting"):
        assert (policies_dir() / f"{name}.json").is_file()
    assert (policies_dir() / "README.md").is_file()


def test_builtin_errors():
    with pytest.raises(PolicyError) as e:
        builtin_document("Lifo", {})
    assert "Fifo, Deadline, LiquidityAware" in str(e.value)
    with pytest.raises(PolicyError) as e:
        builtin_document("Deadline", {"urgency_threshold": "5", "oops": 1})
    assert [x["code"] for x in e.value.errors] == ["NotANumber", "UnknownParameter"]


def test_builtin_decisions():
    dl = load_policy(builtin_document("Deadline", {"urgency_threshold": 5}))
    assert dl.decide("payment", {"deadline_tick": 10, "current_tick": 10,
                                 "ticks_to_deadline": 0}).action == "Drop"
    assert dl.decide("payment", {"deadline_tick": 15, "current_tick": 10,
                                 "ticks_to_deadline": 5}).action == "Release"
    d = dl.decide("payment", {"deadline_tick": 16, "current_tick": 10, "ticks_to_deadline": 6})
    assert (d.action, d.reason, d.path) == ("Hold", "NearDeadline { ticks_remaining: 6 }",
                                            "P_DeadlineReached(false) → P_Urgent(false) → "
                                            "P_WaitForDeadline")
    la = load_policy(builtin_document("LiquidityAware", {"target_buffer": 100,
                                                         "urgency_threshold": 5}))
    ctx = {"deadline_tick": 30, "current_tick": 10, "ticks_to_deadline": 20,
           "effective_liquidity": 10_000, "balance": 1_100, "remaining_amount": 1_000}
    assert la.decide("payment", ctx).action == "Release"            # 1100 - 1000 >= 100
    d = la.decide("payment", dict(ctx, balance=1_099))
    assert (d.action, d.reason) == ("Hold", "InsufficientLiquidity")
    ls = load_policy(builtin_document("LiquiditySplitting", {"max_splits": 6,
                                                             "min_split_amount": 1}))
    ctx = {"deadline_tick": 14, "current_tick": 10, "ticks_to_deadline": 4, "balance": 10,
           "amount": 100}
    assert ls.decide("payment", ctx).num_splits == 6
    assert ls.decide("payment", dict(ctx, ticks_to_deadline=6)).num_splits == 2
    assert ls.decide("payment", dict(ctx, balance=0)).reason == "InsufficientLiquidity"
    ms = load_policy(builtin_document("MockSplitting", {"num_splits": 3}))
    assert (ms.decide("payment", {}).action, ms.decide("payment", {}).num_splits) == ("Split", 3)


def test_builtin_fifo_on_an_engine_env():
    p = load_policy(builtin_document("Fifo", {}))
    w = World(ticks_per_day=10, num_days=1)
    a = Agent("A", 0, 0)
    w.add_agent(a)
    d = p.compiled.payment(EvalEnv(w, a, Transaction("t", 0, "A", "B", 5, 0, 3, 5)))
    assert (d.action, d.path) == ("Release", "P_ReleaseAll")
    assert p.compiled.initial_liquidity_fraction == 1.0


# ---- inline entries and the seed plan ------------------------------------------------------

def test_inline_document_defaults_and_overrides():
    doc = inline_document("cautious", {"parameters": {"buffer_multiplier": 2.5,
                                                      "urgency_threshold": 3.0}},
                          {"urgency_threshold": 2, "new_one": 1})
    assert doc == {"parameters": {"buffer_multiplier": 2.5, "urgency_threshold": 2.0,
                                  "new_one": 1.0}, "version": "1.0", "policy_id": "cautious"}
    with pytest.raises(PolicyError) as e:
        inline_document("k", {"policy_id": "other"})
    assert e.value.errors[0]["path"] == "policies.k.policy_id"
    with pytest.raises(PolicyError) as e:
        inline_document("k", {}, {"x": "2"})
    assert e.value.errors[0]["path"] == "policy_params.x"
    p = quiet(load_policy, {"bank_tree": None}, defaults={"version": "1.0", "policy_id": "k"})
    assert (p.policy_id, p.version) == ("k", "1.0")


def test_seed_plan_sequence_policy_loads_unchanged_in_extended_profile():
    entry = json.loads(json.dumps(SEED_SEQUENCE))
    p = quiet(load_policy, inline_document("test_multi_state_update", entry))
    assert entry == SEED_SEQUENCE
    decisions = p.compiled.bank(None)
    assert [(d.action, d.key, d.value, d.reason, d.path) for d in decisions] == [
        ("SetState", "test_counter", 1.0, "first_update", "bank_tree.children[0]"),
        ("SetState", "test_counter", 5.0, "second_update", "bank_tree.children[1]")]
    assert p.compiled.register_keys == frozenset({"test_counter"})
    with pytest.raises(PolicyError):
        quiet(load_policy, inline_document("test_multi_state_update", entry), profile="simcash")


def test_seed_plan_timer_policy_loads_unchanged_in_extended_profile():
    p = quiet(load_policy, inline_document("timer_test", SEED_TIMER))
    w = World(ticks_per_day=50, num_days=1)
    a = Agent("TEST_BANK", 0, 1_000_000)
    w.add_agent(a)
    [d] = p.compiled.bank(EvalEnv(w, a, None, "bank"))
    assert (d.action, d.amount, d.reason, d.timer) == ("PostCollateral", 100000,
                                                       "UrgentLiquidityNeed", 10)
    assert d.path == "bank_tree(true) → bank_tree.on_true"
    w.tick = 1
    [d] = p.compiled.bank(EvalEnv(w, a, None, "bank"))
    assert (d.action, d.path) == ("NoAction", "bank_tree(false) → bank_tree.on_false")
    with pytest.raises(PolicyError) as e:
        quiet(load_policy, inline_document("timer_test", SEED_TIMER), profile="simcash")
    assert [x["code"] for x in e.value.errors] == ["MissingKey", "MissingKey", "MissingKey",
                                                   "InvalidFieldReference"]


# ---- editor metadata, toggles, describe, trace ----------------------------------------------

def test_field_and_action_catalogs_for_the_editor():
    assert "remaining_amount" in FIELD_NAMES["payment"]
    assert "remaining_amount" not in FIELD_NAMES["bank"]
    assert FIELD_NAMES["strategic_collateral_tree"] == FIELD_NAMES["collateral"]
    assert "time_in_queue" not in FIELD_NAMES["payment"]
    assert sorted(ACTIONS_BY_TREE["bank"]) == ["AddState", "NoAction", "SetReleaseBudget",
                                               "SetState"]
    assert ACTIONS_BY_TREE["collateral"]["PostCollateral"][2] == {
        "name": "auto_withdraw_after_ticks", "type": "number", "required": False, "note": ""}
    assert len(ACTIONS_BY_TREE["payment"]) == 10


def test_feature_toggles():
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": {
        "type": "condition", "node_id": "C", "condition": {"op": "and", "conditions": [
            {"op": ">", "left": {"field": "bank_state_x"}, "right": {"field": "balance"}}]},
        "on_true": {"type": "action", "node_id": "A", "action": "NoAction"},
        "on_false": {"type": "action", "node_id": "B", "action": "Hold", "parameters": {
            "reason": {"compute": {"op": "max", "values": [{"field": "amount"}]}}}}}}
    assert check_feature_toggles(doc) == []
    assert check_feature_toggles(doc, include=["PaymentAction"]) == [
        "AgentField", "ComparisonOperator", "LogicalOperator", "NaryArithmetic",
        "TransactionField"]
    assert check_feature_toggles(doc, exclude=["StateRegisterField", "PaymentAction"]) == [
        "PaymentAction"]
    # operands inside `not` are not inspected (reference parity)
    doc["payment_tree"]["condition"] = {"op": "not", "condition": {
        "op": "<", "left": {"field": "posted_collateral"}, "right": {"value": 1}}}
    assert check_feature_toggles(doc, exclude=["CollateralField", "ComparisonOperator"]) == []
    with pytest.raises(PolicyError):
        check_feature_toggles(doc, include=[], exclude=[])


def test_describe_deadline_builtin():
    text = describe(load_policy(builtin_document("Deadline", {"urgency_threshold": 5})))
    assert text.splitlines()[-4:] == [
        "Payment tree (each queued payment):",
        "  - if deadline tick ≤ current tick: drop it",
        "  - otherwise, if ticks to deadline ≤ urgency_threshold (5): release it",
        "  - otherwise: hold it (reason: NearDeadline)"]
    assert text.splitlines()[0] == "Policy deadline_policy (version 1.0)"


def test_describe_nested_and_bank_trees():
    p = quiet(load_policy, {"version": "1.0", "policy_id": "p",
                            "payment_tree": RELEASE_ALL["payment_tree"],
                            "bank_tree": {
                                "type": "condition", "node_id": "B1", "condition": {
                                    "op": "<", "left": {"field": "balance"},
                                    "right": {"compute": {"op": "*", "left": {"value": 2},
                                                          "right": {"param": "k"}}}},
                                "on_true": {"type": "action", "node_id": "B2",
                                            "action": "SetReleaseBudget", "parameters": {
                                                "max_value_to_release": {"value": 100}}},
                                "on_false": {"type": "action", "node_id": "B3",
                                             "action": "Hold"}},
                            "parameters": {"k": 7}})
    assert p.describe().splitlines()[2:5] == [
        "Bank tree (once per tick, before payments):",
        "  - if balance < (2 × k (7)): set the release budget to 100",
        "  - otherwise: do nothing (Hold has no effect in the bank tree)"]


def test_trace_on_dict_and_engine_env():
    p = load_policy(builtin_document("LiquidityAware", {"target_buffer": 0,
                                                        "urgency_threshold": 5}))
    ctx = {"deadline_tick": 30, "current_tick": 10, "ticks_to_deadline": 20,
           "effective_liquidity": 50, "remaining_amount": 60, "balance": 50}
    assert p.trace("payment", ctx) == [
        {"node_id": "P_DeadlineReached", "node_type": "condition", "result": False},
        {"node_id": "P_Urgent", "node_type": "condition", "result": False},
        {"node_id": "P_NoBuffer", "node_type": "condition", "result": True},
        {"node_id": "P_Affordable", "node_type": "condition", "result": False},
        {"node_id": "P_HoldUnaffordable", "node_type": "action", "result": None}]
    assert p.trace_text("payment", ctx) == p.decide("payment", ctx).path
    w = World(ticks_per_day=100, num_days=1)
    w.tick = 10
    a = Agent("A", 0, 50)
    w.add_agent(a)
    env = EvalEnv(w, a, Transaction("t", 0, "A", "B", 60, 0, 30, 5), "payment")
    assert p.trace("payment", env) == p.trace("payment_tree", ctx)
    assert p.trace("bank", ctx) == []
    with pytest.raises(ValueError):
        p.trace("nope", ctx)


def test_trace_errors_are_located():
    p = load_policy(builtin_document("Deadline", {"urgency_threshold": 5}))
    with pytest.raises(PolicyRuntimeError) as e:
        p.trace("payment", {"deadline_tick": 9})
    assert (e.value.kind, e.value.node_id, e.value.path) == ("FieldNotFound",
                                                             "P_DeadlineReached",
                                                             "P_DeadlineReached")
    empty = load_policy({"version": "1.0", "policy_id": "e"})
    with pytest.raises(PolicyRuntimeError) as e:
        empty.trace("payment", {})
    assert e.value.kind == "InvalidTree"


def test_documentation_examples_load():
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text("utf-8")
    docs = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    full = [d for d in docs if "version" in d]
    assert [d["policy_id"] for d in full] == ["release_all", "cautious_memory"]
    p = load_policy(full[1])
    decisions = p.decide("bank", {"effective_liquidity": 1001})
    assert [(d.action, d.max_value, d.key) for d in decisions] == [
        ("SetReleaseBudget", 500, None), ("AddState", None, "ticks_seen")]
    with pytest.raises(PolicyError):
        quiet(load_policy, full[1], profile="simcash")
