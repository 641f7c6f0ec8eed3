"""Grid paths: setting values in a scenario's dict form, and the errors for bad paths."""
from __future__ import annotations

import json
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.experiments import apply_assignments, set_path
from paysim_lab.experiments.params import agent_parameter_path

URGENT_TREE = {
    "version": "1.0",
    "policy_id": "urgent_only",
    "parameters": {"threshold": 2.0},
    "payment_tree": {
        "type": "condition", "node_id": "N1",
        "condition": {"op": "<=", "left": {"field": "ticks_to_deadline"},
                      "right": {"param": "threshold"}},
        "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
        "on_false": {"type": "action", "node_id": "A2", "action": "Hold"},
    },
}


def scenario_dict() -> dict:
    """Five banks, one per way of giving a policy, and one scenario event."""
    return {
        "simulation": {"ticks_per_day": 6, "num_days": 1, "rng_seed": 5},
        "policies": {"urgent_only": URGENT_TREE},
        "agents": [
            {"id": "FIFO", "opening_balance": 1000, "liquidity_pool": 5000},
            {"id": "DEAD", "opening_balance": 1000,
             "policy": {"type": "Deadline", "urgency_threshold": 3}},
            {"id": "FILE", "opening_balance": 1000,
             "policy": {"type": "FromJson", "json_path": "deadline.json"}},
            {"id": "MAP", "opening_balance": 1000, "policy_id": "urgent_only"},
            {"id": "INL", "opening_balance": 1000,
             "policy": {"type": "Inline", "decision_trees": URGENT_TREE}},
            {"id": "JSN", "opening_balance": 1000,
             "policy": {"type": "InlineJson", "json_string": json.dumps(URGENT_TREE)}},
        ],
        "scenario_events": [
            {"type": "DirectTransfer", "from_agent": "FIFO", "to_agent": "DEAD", "amount": 10,
             "schedule": {"type": "OneTime", "tick": 1}},
        ],
    }


@pytest.fixture
def loaded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psl.load_scenario(scenario_dict())


def agent(doc, aid):
    return next(a for a in doc["agents"] if a["id"] == aid)


def test_plain_keys_are_created_when_missing():
    doc = scenario_dict()
    set_path(doc, "cost_rates.delay_cost_per_tick_per_cent", 0.25)
    set_path(doc, "lsm_config.enable_cycles", False)
    assert doc["cost_rates"] == {"delay_cost_per_tick_per_cent": 0.25}
    assert doc["lsm_config"] == {"enable_cycles": False}


def test_agents_are_addressed_by_id_and_lists_by_index():
    doc = scenario_dict()
    set_path(doc, "agents.MAP.unsecured_cap", 700)
    set_path(doc, "scenario_events.0.amount", 99)
    set_path(doc, "agents.3.opening_balance", 5)   # a numeric segment that is no id: an index
    assert agent(doc, "MAP")["unsecured_cap"] == 700
    assert agent(doc, "MAP")["opening_balance"] == 5
    assert doc["scenario_events"][0]["amount"] == 99


def test_apply_assignments_leaves_the_original_untouched():
    doc = scenario_dict()
    out = apply_assignments(doc, {"simulation.rng_seed": 42, "agents.FIFO.unsecured_cap": 1})
    assert out["simulation"]["rng_seed"] == 42 and agent(out, "FIFO")["unsecured_cap"] == 1
    assert doc == scenario_dict()


def test_builtin_policy_field_is_set_on_the_block(loaded):
    doc = loaded.model_dump()
    set_path(doc, "agents.DEAD.policy.parameters.urgency_threshold", 7, loaded.agent_policies)
    assert agent(doc, "DEAD")["policy"] == {"type": "Deadline", "urgency_threshold": 7}


def test_other_parameter_of_a_builtin_becomes_an_inline_copy(loaded):
    doc = loaded.model_dump()
    set_path(doc, "agents.FIFO.policy.parameters.initial_liquidity_fraction", 0.25,
             loaded.agent_policies)
    pol = agent(doc, "FIFO")["policy"]
    assert pol["type"] == "Inline"
    expected = json.loads(json.dumps(loaded.agent_policies["FIFO"]))
    expected["parameters"]["initial_liquidity_fraction"] = 0.25
    assert pol["decision_trees"] == expected


def test_from_json_policy_becomes_an_inline_copy_of_the_file(loaded):
    doc = loaded.model_dump()
    set_path(doc, "agents.FILE.policy.parameters.urgency_threshold", 9.0, loaded.agent_policies)
    pol = agent(doc, "FILE")["policy"]
    assert pol["type"] == "Inline"
    assert pol["decision_trees"]["parameters"] == {"urgency_threshold": 9.0,
                                                   "initial_liquidity_fraction": 1.0}
    assert pol["decision_trees"]["payment_tree"] == \
        loaded.agent_policies["FILE"]["payment_tree"]


def test_policy_map_agent_gets_policy_params(loaded):
    doc = loaded.model_dump()
    set_path(doc, "agents.MAP.policy.parameters.threshold", 4.0, loaded.agent_policies)
    assert agent(doc, "MAP")["policy_params"] == {"threshold": 4.0}
    assert agent(doc, "MAP")["policy_id"] == "urgent_only"


def test_inline_and_inline_json_documents_are_edited_in_place(loaded):
    doc = loaded.model_dump()
    set_path(doc, "agents.INL.policy.parameters.threshold", 1.0, loaded.agent_policies)
    set_path(doc, "agents.JSN.policy.parameters.threshold", 6.0, loaded.agent_policies)
    assert agent(doc, "INL")["policy"]["decision_trees"]["parameters"] == {"threshold": 1.0}
    jsn = agent(doc, "JSN")["policy"]
    assert jsn["type"] == "InlineJson"
    assert json.loads(jsn["json_string"])["parameters"] == {"threshold": 6.0}


def test_edited_policies_load_with_the_new_values(loaded):
    doc = apply_assignments(loaded.model_dump(), {
        "agents.DEAD.policy.parameters.urgency_threshold": 2,
        "agents.FILE.policy.parameters.urgency_threshold": 8.0,
        "agents.MAP.policy.parameters.threshold": 4.0,
        "agents.JSN.policy.parameters.threshold": 6.0,
    }, loaded.agent_policies)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = psl.load_scenario(doc)
    params = {aid: sc.agent_policies[aid]["parameters"] for aid in ("DEAD", "FILE", "MAP", "JSN")}
    assert params["DEAD"]["urgency_threshold"] == 2.0
    assert params["FILE"]["urgency_threshold"] == 8.0
    assert params["MAP"]["threshold"] == 4.0
    assert params["JSN"]["threshold"] == 6.0


def test_agent_parameter_path():
    assert agent_parameter_path("A", "liquidity_allocation_fraction") == \
        "agents.A.liquidity_allocation_fraction"
    assert agent_parameter_path("A", "policy.urgency_threshold") == \
        "agents.A.policy.parameters.urgency_threshold"


# ---- errors name the path --------------------------------------------------------------------

def test_unknown_agent():
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "agents.NOPE.unsecured_cap", 1)
    assert str(exc.value) == ("grid path 'agents.NOPE.unsecured_cap': no agent with id 'NOPE'; "
                              "agents are: FIFO, DEAD, FILE, MAP, INL, JSN")


def test_walking_into_a_scalar():
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "simulation.ticks_per_day.max", 1)
    assert str(exc.value) == ("grid path 'simulation.ticks_per_day.max': simulation.ticks_per_day "
                              "is 6, not a mapping or list")


def test_list_index_out_of_range_and_not_an_index():
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "scenario_events.3.amount", 1)
    assert str(exc.value) == ("grid path 'scenario_events.3.amount': scenario_events has 1 "
                              "item(s); index 3 is out of range")
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "scenario_events.first.amount", 1)
    assert str(exc.value) == ("grid path 'scenario_events.first.amount': scenario_events is a "
                              "list; address its items by index (0..0), got 'first'")


def test_empty_segment():
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "cost_rates..x", 1)
    assert str(exc.value).startswith("grid path 'cost_rates..x': empty segment")


def test_unknown_policy_parameter_lists_the_known_ones(loaded):
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(loaded.model_dump(), "agents.DEAD.policy.parameters.urgency", 1,
                 loaded.agent_policies)
    assert str(exc.value) == ("grid path 'agents.DEAD.policy.parameters.urgency': the policy of "
                              "DEAD has no parameter 'urgency'; its parameters: "
                              "initial_collateral_fraction, initial_liquidity_fraction, "
                              "urgency_threshold")


def test_whole_agent_is_not_a_settable_path():
    with pytest.raises(psl.ScenarioError) as exc:
        set_path(scenario_dict(), "agents.FIFO", 1)
    assert str(exc.value) == ("grid path 'agents.FIFO': names a whole agent; add the key to "
                              "set, e.g. agents.FIFO.unsecured_cap")


@pytest.mark.parametrize("compat", ["extended", "simcash"])
def test_inline_copy_of_a_builtin_keeps_its_pool_allocation(loaded, compat):
    # a built-in bank brings liquidity_allocation_fraction of its pool (and, in simcash, 100%
    # each later morning); its Inline copy for another parameter must do the same
    doc = loaded.model_dump()
    agent(doc, "FIFO")["liquidity_allocation_fraction"] = 0.4
    base = json.loads(json.dumps(doc))
    set_path(doc, "agents.FIFO.policy.parameters.initial_collateral_fraction", 0.1,
             loaded.agent_policies)
    pol = agent(doc, "FIFO")["policy"]["decision_trees"]
    assert "initial_liquidity_fraction" not in pol["parameters"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = [psl.Simulation(d, compat=compat) for d in (base, doc)]
    assert [s.world.agents["FIFO"].balance for s in sims] == [1000 + 2000] * 2
