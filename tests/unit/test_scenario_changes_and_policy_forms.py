"""Researcher shortcuts: ``Scenario.with_changes`` (dotted paths) and ``Simulation.set_policy``
accepting every policy form a scenario accepts, plus bundled policy names."""
import json
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.errors import PolicyError, ScenarioError, ScenarioWarning


def base(**extra) -> dict:
    doc = {"simulation": {"ticks_per_day": 4, "num_days": 1, "rng_seed": 5},
           "agents": [{"id": "A", "opening_balance": 1000, "policy": {"type": "Deadline",
                                                                "urgency_threshold": 5}},
                      {"id": "B", "opening_balance": 0}],
           "policies": {"cautious": {"payment_tree": {"type": "action", "action": "Hold"},
                                     "parameters": {"x": 1.0}}}}
    doc.update(extra)
    return doc


# ------------------------------------------------------------------------------- with_changes
def test_with_changes_sets_dotted_paths_and_keeps_the_name_of_a_file(tmp_path):
    sc = psl.load_scenario(psl.data.scenario_path("gridlock_ring"))
    sc2 = sc.with_changes({"lsm_config.enable_cycles": False,
                           "agents.BANK_A.opening_balance": 12345})
    assert sc2.name == sc.name == "gridlock_ring"
    assert sc2.lsm_config.enable_cycles is False and sc.lsm_config.enable_cycles is True
    assert [a.opening_balance for a in sc2.agents if a.id == "BANK_A"] == [12345]
    assert sc2.profile == sc.profile
    assert psl.Simulation(sc2).scenario.name == "gridlock_ring"


def test_with_changes_keeps_a_written_name_and_sets_policy_parameters():
    sc = psl.load_scenario(base(name="my run"))
    sc2 = sc.with_changes({"agents.A.policy.parameters.urgency_threshold": 2})
    assert sc2.name == "my run"
    assert sc2.agent_policies["A"]["parameters"]["urgency_threshold"] == 2.0
    assert sc.agent_policies["A"]["parameters"]["urgency_threshold"] == 5.0


def test_with_changes_rejects_typos_and_bad_values_naming_the_path():
    sc = psl.load_scenario(base())
    with pytest.raises(ScenarioError, match="'lsm_config.enable_cyclez'.*enable_cycles"):
        sc.with_changes({"lsm_config.enable_cyclez": False})
    with pytest.raises(ScenarioError, match="no agent with id 'Z'"):
        sc.with_changes({"agents.Z.opening_balance": 1})
    with pytest.raises(ScenarioError, match="simulation.ticks_per_day"):
        sc.with_changes({"simulation.ticks_per_day": 0})
    with pytest.raises(TypeError, match="dict of dotted path"):
        sc.with_changes([("simulation.rng_seed", 1)])


def test_with_changes_does_not_repeat_the_scenarios_own_warnings():
    doc = base(colour="red")                       # unknown key: warned at load
    with pytest.warns(ScenarioWarning, match="colour"):
        sc = psl.load_scenario(doc)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sc.with_changes({"simulation.rng_seed": 9})
    assert [str(w.message) for w in caught] == []


# ------------------------------------------------------------------------------- set_policy
def effective(block: dict, **extra) -> dict:
    """The document a scenario file gives bank A for ``block``."""
    doc = base(**extra)
    doc["agents"][0].pop("policy")
    doc["agents"][0].update(block)
    return psl.load_scenario(doc).agent_policies["A"]


@pytest.mark.parametrize("block", [
    {"policy": {"type": "Fifo"}},
    {"policy": {"type": "Deadline", "urgency_threshold": 2}},
    {"policy": {"type": "LiquidityAware", "target_buffer": 700, "urgency_threshold": 1}},
    {"policy": {"type": "FromJson", "json_path": "liquidity_splitting.json"}},
    {"policy": {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "p", "payment_tree": {"type": "action",
                                                             "action": "Release"}}}},
    {"policy": {"type": "InlineJson", "json_string": json.dumps(
        {"version": "1.0", "policy_id": "q", "payment_tree": {"type": "action",
                                                              "action": "Release"}})}},
    {"policy_id": "cautious"},
    {"policy_id": "cautious", "policy_params": {"x": 4}},
], ids=lambda b: json.dumps(b)[:40])
def test_set_policy_takes_every_scenario_form(block):
    sim = psl.Simulation(base())
    arg = block["policy"] if "policy" in block else block
    sim.set_policy("A", arg)
    assert sim.agent_policies["A"] == effective(block)


def test_set_policy_takes_bundled_names_policy_map_keys_and_files():
    sim = psl.Simulation(base())
    assert "fifo" in psl.data.list_policies()
    sim.set_policy("A", "fifo")
    assert sim.agent_policies["A"] == effective({"policy": {"type": "Fifo"}})
    sim.set_policy("A", "cautious")
    assert sim.agent_policies["A"] == effective({"policy_id": "cautious"})
    sim.set_policy("A", psl.data.policy_path("deadline"))
    assert sim.agent_policies["A"]["policy_id"] == "deadline_policy"
    sim.set_policy("A", psl.load_policy(psl.data.policy_path("fifo")))
    assert sim.agent_policies["A"]["policy_id"] == "fifo_policy"


def test_set_policy_changes_behaviour_mid_run():
    # A holds everything under the map's "cautious" policy, releases again under "fifo"
    doc = base(scenario_events=[
        {"type": "CustomTransactionArrival", "from_agent": "A", "to_agent": "B", "amount": 10,
         "schedule": {"type": "OneTime", "tick": t}} for t in (0, 2)])
    sim = psl.Simulation(doc)
    sim.set_policy("A", "cautious")
    sim.step(2)
    assert sim.summary()["settlements"] == 0
    sim.set_policy("A", {"type": "Fifo"})
    sim.run()
    assert sim.summary()["settlements"] == 2


def test_set_policy_errors_name_the_form_and_the_problem():
    sim = psl.Simulation(base())
    with pytest.raises(ValueError, match="'nope'.*known names: cautious, crisis_liquidity"):
        sim.set_policy("A", "nope")
    with pytest.raises(ScenarioError, match="set_policy\\('A'.*policy.type: unknown type 'Nope'"):
        sim.set_policy("A", {"type": "Nope"})
    with pytest.raises(ScenarioError, match="json_path"):
        sim.set_policy("A", {"type": "FromJson", "json_path": "missing_file.json"})
    with pytest.raises(PolicyError):
        sim.set_policy("A", {"payment_tree": {"type": "action", "action": "Fly"}})
    with pytest.raises(TypeError, match="got int"):
        sim.set_policy("A", 5)
    with pytest.raises(ValueError, match="unknown agent 'Z'"):
        sim.set_policy("Z", "fifo")
