"""Loading valid scenarios: attributes, defaults, profiles, the inline format, round trips."""
from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
import yaml

import paysim_lab as psl
from paysim_lab.config import EngineConfig, Scenario, load_scenario, policies
from paysim_lab.config._testing import stub_policy_api
from paysim_lab.errors import ScenarioError
from paysim_lab.errors import ScenarioWarning

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SIMCASH = SHARED / "simcash"


@pytest.fixture(autouse=True)
def _stub_policies(monkeypatch):
    monkeypatch.setattr(policies, "policy_api", stub_policy_api)


SPEC_MINIMAL = """\
simulation: {ticks_per_day: 20, num_days: 2, rng_seed: 7}
agents:
  - id: NORTH
    opening_balance: 250000
    unsecured_cap: 50000
    policy: {type: Fifo}
    arrival_config:
      rate_per_tick: 0.6
      amount_distribution: {type: Uniform, min: 5000, max: 40000}
      counterparty_weights: {SOUTH: 1.0}
      deadline_range: [4, 12]
  - id: SOUTH
    opening_balance: 250000
    policy: {type: Deadline, urgency_threshold: 3}
cost_rates:
  eod_penalty_per_transaction: 20000
  deadline_penalty: {mode: rate, bps_per_event: 25}
"""

# The two configurations of the seed plan, written exactly as there.
SEED_PLAN_MULTI_STATE = {
    "seed": 42,
    "ticks_per_day": 10,
    "agents": [
        {
            "id": "TEST_BANK",
            "opening_balance": 100000,
            "policy_id": "test_multi_state_update",
        }
    ],
    "policies": {
        "test_multi_state_update": {
            "version": "1.0",
            "bank_tree": {
                "type": "sequence",
                "children": [
                    {
                        "type": "action",
                        "action": "SetState",
                        "parameters": {
                            "key": {"value": "test_counter"},
                            "value": {"value": 1.0},
                            "reason": {"value": "first_update"}
                        }
                    },
                    {
                        "type": "action",
                        "action": "SetState",
                        "parameters": {
                            "key": {"value": "test_counter"},
                            "value": {"value": 5.0},
                            "reason": {"value": "second_update"}
                        }
                    }
                ]
            }
        }
    }
}

SEED_PLAN_TIMER = {
    "seed": 42,
    "ticks_per_day": 50,
    "agents": [{"id": "TEST_BANK", "opening_balance": 1000000, "policy_id": "timer_test"}],
    "policies": {
        "timer_test": {
            "version": "1.0",
            "bank_tree": {
                "type": "condition",
                "condition": {"op": "==", "left": {"field": "tick"}, "right": {"value": 0.0}},
                "on_true": {
                    "type": "action",
                    "action": "PostCollateral",
                    "parameters": {
                        "amount": {"value": 100000.0},
                        "reason": {"value": "test_timer"},
                        "auto_withdraw_after_ticks": {"value": 10.0}
                    }
                },
                "on_false": {"type": "action", "action": "Hold"}
            }
        }
    }
}


def _write(tmp_path, text, name="scenario.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_minimal_scenario_attributes(tmp_path):
    s = load_scenario(_write(tmp_path, SPEC_MINIMAL))
    assert isinstance(s, Scenario)
    assert (s.simulation.ticks_per_day, s.simulation.num_days, s.simulation.rng_seed) == (20, 2, 7)
    north, south = s.agents
    assert (north.id, north.opening_balance, north.unsecured_cap) == ("NORTH", 250000, 50000)
    assert north.arrival_config.rate_per_tick == 0.6
    dist = north.arrival_config.amount_distribution
    assert (dist.type, dist.min, dist.max) == ("Uniform", 5000, 40000)
    assert north.arrival_config.counterparty_weights == {"SOUTH": 1.0}
    assert north.arrival_config.deadline_range == (4, 12)
    assert north.arrival_config.priority == 5
    assert north.arrival_config.priority_distribution is None
    assert south.policy.type == "Deadline" and south.policy.urgency_threshold == 3
    assert south.arrival_config is None and south.unsecured_cap == 0
    assert s.cost_rates.eod_penalty.model_dump(include={"mode", "amount", "bps_per_event"}) == {
        "mode": "fixed", "amount": 20000, "bps_per_event": None}
    assert (s.cost_rates.deadline_penalty.mode, s.cost_rates.deadline_penalty.bps_per_event,
            s.cost_rates.deadline_penalty.amount) == ("rate", 25.0, None)
    assert s.cost_rates.split_friction_cost == 1000
    assert s.lsm_config.max_cycle_length == 4 and s.lsm_config.enable_cycles is True
    assert s.scenario_events is None
    assert (s.profile, s.source, s.name) == ("extended", str(tmp_path / "scenario.yaml"),
                                             "scenario")
    assert s.total_ticks == 40
    assert s.load_warnings == ()


def test_defaults_of_top_level_flags_and_cost_rates():
    s = load_scenario({"simulation": {"ticks_per_day": 3, "num_days": 1, "rng_seed": 0},
                       "agents": [{"id": "A", "opening_balance": -5}]})
    assert (s.deferred_crediting, s.deadline_cap_at_eod, s.queue1_ordering, s.priority_mode,
            s.algorithm_sequencing, s.entry_disposition_offsetting, s.eod_rush_threshold,
            s.daily_liquidity_reallocation) == (False, False, "fifo", False, False, False, 0.8,
                                                True)
    pe = s.priority_escalation
    assert (pe.enabled, pe.curve, pe.start_escalating_at_ticks, pe.max_boost) == (
        False, "linear", 20, 3)
    c = s.cost_rates
    assert (c.overdraft_bps_per_tick, c.delay_cost_per_tick_per_cent,
            c.collateral_cost_per_tick_bps, c.overdue_delay_multiplier,
            c.liquidity_cost_per_tick_bps, c.priority_delay_multipliers) == (
        0.001, 0.0001, 0.0002, 5.0, 0.0, None)
    assert (c.eod_penalty.mode, c.eod_penalty.amount) == ("fixed", 10000)
    assert (c.deadline_penalty.mode, c.deadline_penalty.amount) == ("fixed", 50000)
    assert s.policy_feature_toggles is None and s.cost_feature_toggles is None


def test_all_distribution_and_event_types_parse():
    doc = {
        "simulation": {"ticks_per_day": 10, "num_days": 1, "rng_seed": 2**64 - 1},
        "agents": [
            {"id": "A", "opening_balance": 1, "arrival_config": {
                "rate_per_tick": 1, "amount_distribution": {"type": "Exponential", "lambda": 0.5},
                "counterparty_weights": {"B": 2}, "deadline_range": [1, 1],
                "priority_distribution": {"type": "Categorical", "values": [1, 9],
                                          "weights": [1, 3]}}},
            {"id": "B", "opening_balance": 1, "arrival_bands": {
                "urgent": {"rate_per_tick": 0.5,
                           "amount_distribution": {"type": "Normal", "mean": 900, "std_dev": 50},
                           "deadline_offset_min": 2, "deadline_offset_max": 4},
                "low": {"rate_per_tick": 0.5,
                        "amount_distribution": {"type": "LogNormal", "mean": 5000.0,
                                                "std_dev": 20.5},
                        "deadline_offset_min": 2, "deadline_offset_max": 2,
                        "counterparty_weights": {"A": 1}}}},
        ],
        "scenario_events": [
            {"type": "DirectTransfer", "from_agent": "A", "to_agent": "B", "amount": 1,
             "schedule": {"type": "OneTime", "tick": 0}},
            {"type": "CustomTransactionArrival", "from_agent": "A", "to_agent": "B", "amount": 2,
             "schedule": {"type": "Repeating", "start_tick": 1, "interval": 3}},
            {"type": "CollateralAdjustment", "agent": "A", "delta": -7,
             "schedule": {"type": "OneTime", "tick": 1}},
            {"type": "GlobalArrivalRateChange", "multiplier": 1.5,
             "schedule": {"type": "OneTime", "tick": 1}},
            {"type": "AgentArrivalRateChange", "agent": "B", "multiplier": 2,
             "schedule": {"type": "OneTime", "tick": 1}},
            {"type": "CounterpartyWeightChange", "agent": "A", "counterparty": "B",
             "new_weight": 0.25, "schedule": {"type": "OneTime", "tick": 1}},
            {"type": "DeadlineWindowChange", "max_ticks_multiplier": 2,
             "schedule": {"type": "OneTime", "tick": 1}},
            {"type": "ScheduledSettlement", "from_agent": "B", "to_agent": "A", "amount": 9,
             "schedule": {"type": "OneTime", "tick": 2}},
        ],
    }
    s = load_scenario(doc)
    a, b = s.agents
    assert a.arrival_config.amount_distribution.lambda_ == 0.5
    pd = a.arrival_config.priority_distribution
    assert (pd.type, pd.values, pd.weights) == ("Categorical", [1, 9], [1.0, 3.0])
    assert b.arrival_bands.urgent.amount_distribution.std_dev == 50
    assert b.arrival_bands.normal is None
    assert b.arrival_bands.low.counterparty_weights == {"A": 1.0}
    assert b.arrival_bands.urgent.counterparty_weights == {}
    assert [n for n, _ in b.arrival_bands.configured()] == ["urgent", "low"]
    ev = s.scenario_events
    assert [e.type for e in ev] == ["DirectTransfer", "CustomTransactionArrival",
                                    "CollateralAdjustment", "GlobalArrivalRateChange",
                                    "AgentArrivalRateChange", "CounterpartyWeightChange",
                                    "DeadlineWindowChange", "ScheduledSettlement"]
    assert (ev[1].priority, ev[1].deadline, ev[1].is_divisible) == (None, None, None)
    assert (ev[1].schedule.start_tick, ev[1].schedule.interval) == (1, 3)
    assert ev[2].delta == -7 and ev[5].auto_balance_others is False
    assert (ev[6].min_ticks_multiplier, ev[6].max_ticks_multiplier) == (None, 2.0)
    assert s.simulation.rng_seed == 2**64 - 1


def test_counterparty_weights_keep_file_order():
    doc = {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": i, "opening_balance": 0} for i in ("Z", "M", "A")]}
    doc["agents"][1]["arrival_config"] = {
        "rate_per_tick": 1, "amount_distribution": {"type": "Uniform", "min": 1, "max": 2},
        "counterparty_weights": {"Z": 0.1, "A": 0.9}, "deadline_range": [1, 2]}
    s = load_scenario(doc)
    assert list(s.agents[1].arrival_config.counterparty_weights) == ["Z", "A"]
    assert [a.id for a in s.engine_config().agents] == ["Z", "M", "A"]


def test_null_priority_escalation_means_disabled():
    s = load_scenario({"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
                       "agents": [{"id": "A", "opening_balance": 0}],
                       "priority_escalation": None})
    assert s.priority_escalation.enabled is False
    assert s.engine_config().priority_escalation.start_escalating_at_ticks == 20


def test_queue1_ordering_spellings_normalised():
    base = {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
            "agents": [{"id": "A", "opening_balance": 0}]}
    for spelling, value in [("FIFO", "fifo"), ("Fifo", "fifo"),
                            ("PriorityDeadline", "priority_deadline"),
                            ("priority-deadline", "priority_deadline")]:
        assert load_scenario({**base, "queue1_ordering": spelling}).queue1_ordering == value


def test_integral_float_accepted_for_integers():
    s = load_scenario({"simulation": {"ticks_per_day": 10.0, "num_days": 1, "rng_seed": 3},
                       "agents": [{"id": "A", "opening_balance": 1.0e6}]})
    assert s.simulation.ticks_per_day == 10 and isinstance(s.agents[0].opening_balance, int)
    assert s.agents[0].opening_balance == 1000000


# ---- the seed plan's inline format -----------------------------------------------------------

@pytest.mark.parametrize("config", [SEED_PLAN_MULTI_STATE, SEED_PLAN_TIMER],
                         ids=["multi_state", "timer"])
def test_seed_plan_configs_load_unchanged(config):
    original = copy.deepcopy(config)
    s = load_scenario(config)
    assert config == original  # the caller's dict is not touched
    assert s.profile == "extended"
    assert s.simulation.rng_seed == 42
    assert s.simulation.ticks_per_day == config["ticks_per_day"]
    assert s.simulation.num_days == 1
    assert s.agents[0].policy_id == config["agents"][0]["policy_id"]
    key = config["agents"][0]["policy_id"]
    expected = copy.deepcopy(config["policies"][key])
    expected["policy_id"] = key
    assert s.agent_policies == {"TEST_BANK": expected}
    assert s.model_dump() == original
    assert list(s.model_dump()) == ["seed", "ticks_per_day", "agents", "policies"]
    cfg = s.engine_config()
    assert (cfg.simulation.ticks_per_day, cfg.simulation.num_days, cfg.simulation.rng_seed) == (
        config["ticks_per_day"], 1, 42)


def test_inline_format_num_days_and_policy_params():
    doc = {"seed": 3, "ticks_per_day": 4, "num_days": 2,
           "policies": {"cautious": {"parameters": {"buffer": 2.5, "urgency": 3.0},
                                     "payment_tree": {"type": "action", "node_id": "R",
                                                      "action": "Release"}}},
           "agents": [{"id": "A", "opening_balance": 5, "policy_id": "cautious",
                       "policy_params": {"urgency": 2, "extra": 1.5}},
                      {"id": "B", "opening_balance": 5, "policy_id": "cautious"}]}
    s = load_scenario(doc)
    assert s.simulation.num_days == 2 and s.total_ticks == 8
    a, b = s.agent_policies["A"], s.agent_policies["B"]
    assert a["parameters"] == {"buffer": 2.5, "urgency": 2.0, "extra": 1.5}
    assert b["parameters"] == {"buffer": 2.5, "urgency": 3.0}
    assert (a["version"], a["policy_id"]) == ("1.0", "cautious")
    assert s.agents[0].policy_params == {"urgency": 2.0, "extra": 1.5}
    a["parameters"]["buffer"] = 99.0
    assert b["parameters"]["buffer"] == 2.5  # each agent owns its document


def test_model_dump_round_trips_what_was_written(tmp_path):
    f = _write(tmp_path, SPEC_MINIMAL + "queue1_ordering: FIFO\ncompat: simcash\n")
    with pytest.warns(ScenarioWarning, match="no effect in the simcash profile"):
        s = load_scenario(f)
    dumped = s.model_dump()
    assert dumped == yaml.safe_load(f.read_text())
    assert "eod_penalty_per_transaction" in dumped["cost_rates"]
    assert dumped["queue1_ordering"] == "FIFO"
    assert json.loads(s.model_dump_json()) == dumped
    with pytest.warns(ScenarioWarning, match="no effect in the simcash profile"):
        again = load_scenario(dumped)
    assert again.model_dump() == dumped
    assert again.engine_config() == s.engine_config()


def test_model_dump_with_exclude_uses_model_fields():
    s = load_scenario({"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
                       "agents": [{"id": "A", "opening_balance": 0}]})
    dumped = s.model_dump(exclude={"agents"}, exclude_unset=True, by_alias=True)
    assert dumped == {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1}}


def test_model_copy_with_update_dumps_fields():
    s = load_scenario({"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
                       "agents": [{"id": "A", "opening_balance": 0}]})
    t = s.model_copy(update={"deferred_crediting": True})
    assert t.deferred_crediting is True
    assert t.model_dump(exclude_unset=True)["deferred_crediting"] is True
    assert s.model_dump() == {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
                              "agents": [{"id": "A", "opening_balance": 0}]}


def test_scenario_is_frozen():
    s = load_scenario({"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
                       "agents": [{"id": "A", "opening_balance": 0}]})
    with pytest.raises(Exception):
        s.agents[0].opening_balance = 5


def test_json_schema_documents_the_format():
    schema = Scenario.model_json_schema()
    json.dumps(schema)
    props = schema["properties"]
    for key in ("simulation", "agents", "cost_rates", "lsm_config", "scenario_events",
                "queue1_ordering", "seed", "ticks_per_day", "policies", "compat"):
        assert key in props
    defs = schema["$defs"]
    assert "lambda" in defs["ExponentialAmount"]["properties"]
    assert set(defs) >= {"AgentConfig", "ArrivalConfig", "Penalty", "OneTime", "Repeating",
                         "DirectTransfer", "ScheduledSettlement", "FromJsonPolicy"}


def test_json_file_source(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(yaml.safe_load(SPEC_MINIMAL)))
    s = load_scenario(f)
    assert s.name == "s" and s.agents[1].policy.urgency_threshold == 3


def test_name_key_wins_over_file_stem(tmp_path):
    s = load_scenario(_write(tmp_path, SPEC_MINIMAL + "name: crisis\ndescription: x\n",
                             "file_stem.yml"))
    assert s.name == "crisis" and s.description == "x"
    assert s.model_dump()["name"] == "crisis"
    assert load_scenario(yaml.safe_load(SPEC_MINIMAL)).name == "scenario"


# ---- compatibility profiles ------------------------------------------------------------------

EXTENDED_KEYS = """\
queue1_ordering: priority_deadline
priority_mode: true
priority_escalation: {enabled: true, curve: exponential, start_escalating_at_ticks: 7, max_boost: 4}
algorithm_sequencing: true
entry_disposition_offsetting: true
eod_rush_threshold: 0.6
daily_liquidity_reallocation: false
deferred_crediting: true
deadline_cap_at_eod: true
"""

AGENT_EXTRAS = {"posted_collateral": 5000, "collateral_haircut": 0.1,
                "max_collateral_capacity": 9000,
                "limits": {"bilateral_limits": {"SOUTH": 100}, "multilateral_limit": 300},
                "liquidity_pool": 1000, "liquidity_allocation_fraction": 0.5}


def _extended_doc():
    doc = yaml.safe_load(SPEC_MINIMAL + EXTENDED_KEYS)
    doc["agents"][0].update(copy.deepcopy(AGENT_EXTRAS))
    return doc


def test_engine_config_extended_honours_every_key():
    cfg = load_scenario(_extended_doc()).engine_config()
    assert isinstance(cfg, EngineConfig) and cfg.profile == "extended"
    assert (cfg.queue1_ordering, cfg.priority_mode, cfg.algorithm_sequencing,
            cfg.entry_disposition_offsetting, cfg.eod_rush_threshold,
            cfg.daily_liquidity_reallocation, cfg.deferred_crediting,
            cfg.deadline_cap_at_eod) == ("priority_deadline", True, True, True, 0.6, False,
                                         True, True)
    pe = cfg.priority_escalation
    assert (pe.enabled, pe.curve, pe.start_escalating_at_ticks, pe.max_boost) == (
        True, "exponential", 7, 4)
    a, b = cfg.agents
    assert (a.posted_collateral, a.collateral_haircut, a.max_collateral_capacity,
            a.liquidity_pool, a.liquidity_allocation_fraction) == (5000, 0.1, 9000, 1000, 0.5)
    assert (a.limits.bilateral_limits, a.limits.multilateral_limit) == ({"SOUTH": 100}, 300)
    assert (b.posted_collateral, b.collateral_haircut, b.max_collateral_capacity, b.limits,
            b.liquidity_pool, b.liquidity_allocation_fraction) == (0, 0.02, None, None, None,
                                                                   1.0)
    assert cfg.total_ticks == 40 and cfg.scenario_events == ()


def test_engine_config_simcash_uses_engine_defaults():
    with pytest.warns(ScenarioWarning) as rec:
        s = load_scenario(_extended_doc(), compat="simcash")
    cfg = s.engine_config()
    assert cfg.profile == "simcash"
    assert (cfg.queue1_ordering, cfg.priority_mode, cfg.priority_escalation.enabled,
            cfg.algorithm_sequencing, cfg.entry_disposition_offsetting, cfg.eod_rush_threshold,
            cfg.daily_liquidity_reallocation) == ("fifo", False, False, False, False, 0.8, True)
    # keys that reach the engine in both profiles
    assert (cfg.deferred_crediting, cfg.deadline_cap_at_eod) == (True, True)
    a = cfg.agents[0]
    assert (a.posted_collateral, a.collateral_haircut, a.limits) == (0, 0.02, None)
    assert (a.max_collateral_capacity, a.liquidity_pool, a.liquidity_allocation_fraction) == (
        9000, 1000, 0.5)
    # the scenario itself still reports what was written
    assert s.queue1_ordering == "priority_deadline" and s.agents[0].posted_collateral == 5000
    texts = [str(w.message) for w in rec]
    assert texts == [
        "<dict>: compat simcash: these keys have no effect in the simcash profile (the engine "
        "defaults apply, as when SimCash runs this file): queue1_ordering, priority_mode, "
        "priority_escalation, algorithm_sequencing, entry_disposition_offsetting, "
        "eod_rush_threshold, daily_liquidity_reallocation, agents[0].posted_collateral, "
        "agents[0].collateral_haircut, agents[0].limits"]


def test_engine_config_is_a_private_copy():
    s = load_scenario(_extended_doc())
    cfg = s.engine_config()
    cfg.agents[0].arrival_config.counterparty_weights["SOUTH"] = 0.0
    assert s.agents[0].arrival_config.counterparty_weights == {"SOUTH": 1.0}
    with pytest.raises(Exception):
        cfg.deferred_crediting = False


def test_compat_precedence(tmp_path):
    plain = _write(tmp_path, SPEC_MINIMAL, "plain.yaml")
    keyed = _write(tmp_path, SPEC_MINIMAL + "compat: simcash\n", "keyed.yaml")
    assert load_scenario(plain).profile == "extended"
    assert load_scenario(plain, compat="simcash").profile == "simcash"
    assert load_scenario(keyed).profile == "simcash"
    assert load_scenario(keyed, compat="extended").profile == "extended"
    assert load_scenario(keyed, compat="extended").engine_config().profile == "extended"
    assert load_scenario(keyed).compat == "simcash"


def test_public_aliases():
    assert psl.load_scenario is load_scenario
    assert psl.Scenario is Scenario


# ---- reference files -------------------------------------------------------------------------

def _reference_scenarios():
    if not SIMCASH.is_dir():
        return []
    files = sorted((SIMCASH / "examples" / "configs").glob("*.yaml"))
    files += sorted((SIMCASH / "paper").glob("*.yaml"))
    return files


def _is_scenario(path: Path) -> bool:
    data = yaml.safe_load(path.read_text())
    return isinstance(data, dict) and "agents" in data


REFERENCE = _reference_scenarios()


@pytest.mark.skipif(not REFERENCE, reason="../shared/simcash reference files are absent")
@pytest.mark.parametrize("path", REFERENCE, ids=[p.name for p in REFERENCE])
@pytest.mark.parametrize("compat", ["extended", "simcash"])
def test_reference_file_loads(path, compat):
    if not _is_scenario(path):   # an experiment file: said so, not reported key by key
        with pytest.raises(ScenarioError) as err:
            load_scenario(path, compat=compat)
        assert str(err.value).startswith(f"{path}: this is an experiment file (it names the "
                                         "scenario ")
        return
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        s = load_scenario(path, compat=compat)
    assert s.profile == compat
    assert s.model_dump() == yaml.safe_load(path.read_text())
    assert list(s.agent_policies) == [a.id for a in s.agents]
    for agent in s.agents:
        doc = s.agent_policies[agent.id]
        assert isinstance(doc.get("policy_id"), str)
    cfg = s.engine_config()
    assert cfg.total_ticks == s.simulation.ticks_per_day * s.simulation.num_days


@pytest.mark.skipif(not SIMCASH.is_dir(), reason="../shared/simcash reference files are absent")
def test_advanced_crisis_reference_details():
    path = SIMCASH / "examples" / "configs" / "advanced_policy_crisis.yaml"
    with pytest.warns(ScenarioWarning) as rec:
        s = load_scenario(path, compat="simcash")
    assert [a.id for a in s.agents] == ["METRO_CENTRAL", "REGIONAL_TRUST", "MOMENTUM_CAPITAL",
                                        "CORRESPONDENT_HUB"]
    assert s.simulation.num_days == 3 and s.simulation.ticks_per_day == 100
    assert s.agent_policies["METRO_CENTRAL"]["policy_id"] == "cautious_liquidity_preserver_v1"
    texts = [str(w.message) for w in rec]
    params = [t for t in texts if ".policy.params" in t]
    assert len(params) == 4
    assert params[0].startswith(f"{path}: agents[0].policy.params (line ")
    assert params[0].endswith("): ignored: SimCash does not apply parameter overrides to "
                              "policies (buffer_multiplier, urgency_threshold, eod_threshold); "
                              "to override parameters use the top-level policies map with "
                              "policy_params")
    lognormal = [t for t in texts if "LogNormal mean" in t]
    assert len(lognormal) == 2 and "agents[0].arrival_config.amount_distribution.mean" in \
        lognormal[0]
    assert len(s.scenario_events) == 21
    # the extended profile applies the params overrides instead
    with pytest.warns(ScenarioWarning) as rec:
        ext = load_scenario(path)
    assert not [str(w.message) for w in rec if ".policy.params" in str(w.message)]
    params = ext.agent_policies["METRO_CENTRAL"]["parameters"]
    assert (params["buffer_multiplier"], params["urgency_threshold"],
            params["eod_threshold"]) == (2.5, 3.0, 0.5)
    assert s.agent_policies["METRO_CENTRAL"]["parameters"]["eod_threshold"] != 0.5


@pytest.mark.skipif(not SIMCASH.is_dir(), reason="../shared/simcash reference files are absent")
def test_legacy_keys_warn_with_paths():
    path = SIMCASH / "examples" / "configs" / "test_near_deadline.yaml"
    with pytest.warns(ScenarioWarning) as rec:
        load_scenario(path)
    texts = [str(w.message).split(": ", 1)[1] for w in rec]
    assert texts == [
        "simulation.lsm_enabled (line 5): ignored: a legacy SimCash key with no effect (LSM is "
        "set in lsm_config: enable_bilateral / enable_cycles)",
        "simulation.lsm_frequency_ticks (line 6): ignored: a legacy SimCash key with no effect "
        "(the LSM runs every tick)",
        "cost_model (line 46): ignored: a legacy SimCash key with no effect (costs are set in "
        "cost_rates)",
    ]


# ---- the bundled scenarios, with the real policy package -------------------------------------

def _real_api():
    try:
        from paysim_lab import policy
        return policies.PolicyApi(policy.builtin_document, policy.validate_document,
                                  policy.check_feature_toggles)
    except (ImportError, AttributeError):
        return None


BUNDLED = psl.data.list_scenarios()


@pytest.mark.skipif(not BUNDLED, reason="data/scenarios holds no scenario yet")
@pytest.mark.skipif(_real_api() is None, reason="paysim_lab.policy is not complete yet")
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_loads(monkeypatch, name):
    api = _real_api()
    monkeypatch.setattr(policies, "policy_api", lambda: api)
    path = psl.data.scenario_path(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = load_scenario(path)
        assert s.load_warnings == ()
        assert s.profile == (yaml.safe_load(path.read_text()).get("compat") or "extended")
        assert list(s.agent_policies) == [a.id for a in s.agents]
        assert s.model_dump() == yaml.safe_load(path.read_text())
        try:
            load_scenario(path, compat="simcash")
        except psl.ScenarioError as exc:
            # only extended-profile policy features may stop a bundled scenario under simcash
            for err in exc.errors:
                assert err["path"].startswith("agents[") and ".policy" in err["path"], err
                assert "extended profile" in err["message"], err
