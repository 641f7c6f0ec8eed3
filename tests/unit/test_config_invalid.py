"""Invalid scenarios: every one raises ScenarioError naming the file, the path and the problem."""
from __future__ import annotations

import copy

import pytest
import yaml

from paysim_lab.config import load_scenario, policies
from paysim_lab.config._testing import stub_policy_api
from paysim_lab.errors import ScenarioError


@pytest.fixture(autouse=True)
def _stub_policies(monkeypatch):
    monkeypatch.setattr(policies, "policy_api", stub_policy_api)


BASE = {
    "simulation": {"ticks_per_day": 20, "num_days": 2, "rng_seed": 7},
    "agents": [
        {"id": "NORTH", "opening_balance": 250000, "unsecured_cap": 50000,
         "policy": {"type": "Fifo"},
         "arrival_config": {
             "rate_per_tick": 0.6,
             "amount_distribution": {"type": "Uniform", "min": 5000, "max": 40000},
             "counterparty_weights": {"SOUTH": 1.0},
             "deadline_range": [4, 12]}},
        {"id": "SOUTH", "opening_balance": 250000,
         "policy": {"type": "Deadline", "urgency_threshold": 3}},
    ],
    "cost_rates": {"eod_penalty_per_transaction": 20000,
                   "deadline_penalty": {"mode": "rate", "bps_per_event": 25}},
    "scenario_events": [
        {"type": "DirectTransfer", "from_agent": "NORTH", "to_agent": "SOUTH", "amount": 100,
         "schedule": {"type": "OneTime", "tick": 3}},
    ],
}


def _set(doc, path, value):
    *head, last = path
    node = doc
    for key in head:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()
A0 = ["agents", 0]
ARR = A0 + ["arrival_config"]

# (case id, list of (key path, new value), expected error path, expected problem text)
CASES = [
    ("negative_rate", [(ARR + ["rate_per_tick"], -1.0)],
     "agents[0].arrival_config.rate_per_tick", "must be >= 0 (got -1.0)"),
    ("string_rate", [(ARR + ["rate_per_tick"], "fast")],
     "agents[0].arrival_config.rate_per_tick", "must be a number (got the string 'fast')"),
    ("nan_rate", [(ARR + ["rate_per_tick"], float("nan"))],
     "agents[0].arrival_config.rate_per_tick", "must be a finite number (got nan)"),
    ("fractional_balance", [(["agents", 1, "opening_balance"], 1.5)],
     "agents[1].opening_balance", "must be an integer (got 1.5)"),
    ("bool_balance", [(["agents", 1, "opening_balance"], True)],
     "agents[1].opening_balance", "must be an integer (got true)"),
    ("negative_cap", [(A0 + ["unsecured_cap"], -5)],
     "agents[0].unsecured_cap", "must be >= 0 (got -5)"),
    ("missing_num_days", [(["simulation", "num_days"], _DELETE)],
     "simulation.num_days", "required key is missing"),
    ("missing_opening_balance", [(["agents", 1, "opening_balance"], _DELETE)],
     "agents[1].opening_balance", "required key is missing"),
    ("zero_ticks_per_day", [(["simulation", "ticks_per_day"], 0)],
     "simulation.ticks_per_day", "must be > 0 (got 0)"),
    ("negative_seed", [(["simulation", "rng_seed"], -1)],
     "simulation.rng_seed", "must be >= 0 (got -1)"),
    ("seed_too_big", [(["simulation", "rng_seed"], 2**64)],
     "simulation.rng_seed", "must be <= 18446744073709551615"),
    ("unknown_weight_agent", [(ARR + ["counterparty_weights"], {"SOUTH": 1.0, "WEST": 2.0})],
     'agents[0].arrival_config.counterparty_weights.WEST',
     "unknown agent 'WEST'; agents are: NORTH, SOUTH"),
    ("zero_weights", [(ARR + ["counterparty_weights"], {"SOUTH": 0.0})],
     "agents[0].arrival_config.counterparty_weights", "weights must sum to more than 0"),
    ("empty_weights", [(ARR + ["counterparty_weights"], {})],
     "agents[0].arrival_config.counterparty_weights", "must not be empty"),
    ("uniform_max_le_min", [(ARR + ["amount_distribution", "max"], 5000)],
     "agents[0].arrival_config.amount_distribution.max",
     "must be greater than min (5000), got 5000"),
    ("uniform_negative_min", [(ARR + ["amount_distribution", "min"], -10)],
     "agents[0].arrival_config.amount_distribution.min", "must be >= 0 (got -10)"),
    ("lowercase_distribution", [(ARR + ["amount_distribution"],
                                 {"type": "lognormal", "mean": 10.0, "std_dev": 1.0})],
     "agents[0].arrival_config.amount_distribution.type",
     "unknown type 'lognormal' (did you mean LogNormal?); accepted types: Uniform, Normal, "
     "LogNormal, Exponential"),
    ("distribution_without_type", [(ARR + ["amount_distribution"], {"min": 1, "max": 2})],
     "agents[0].arrival_config.amount_distribution.type",
     "required key is missing; accepted types: Uniform, Normal, LogNormal, Exponential"),
    ("exponential_lambda_zero", [(ARR + ["amount_distribution"],
                                  {"type": "Exponential", "lambda": 0})],
     "agents[0].arrival_config.amount_distribution.lambda", "must be > 0 (got 0)"),
    ("normal_std_dev_zero", [(ARR + ["amount_distribution"],
                              {"type": "Normal", "mean": 100, "std_dev": 0})],
     "agents[0].arrival_config.amount_distribution.std_dev", "must be > 0 (got 0)"),
    ("duplicate_ids", [(["agents", 1, "id"], "NORTH")],
     "agents[1].id", "duplicate agent id 'NORTH' (first used at agents[0])"),
    ("blank_id", [(["agents", 1, "id"], "   ")], "agents[1].id", "must not be empty"),
    ("numeric_id", [(["agents", 1, "id"], 7)], "agents[1].id", "must be a string (got 7)"),
    ("deadline_range_three", [(ARR + ["deadline_range"], [1, 2, 3])],
     "agents[0].arrival_config.deadline_range",
     "must be a list of exactly 2 integers [min, max], got 3 items"),
    ("deadline_range_zero_min", [(ARR + ["deadline_range"], [0, 5])],
     "agents[0].arrival_config.deadline_range", "min must be > 0, got 0"),
    ("deadline_range_reversed", [(ARR + ["deadline_range"], [9, 5])],
     "agents[0].arrival_config.deadline_range", "max must be >= min (9), got 5"),
    ("priority_eleven", [(ARR + ["priority"], 11)],
     "agents[0].arrival_config.priority", "must be <= 10 (got 11)"),
    ("categorical_lengths", [(ARR + ["priority_distribution"],
                              {"type": "Categorical", "values": [1, 2], "weights": [1.0]})],
     "agents[0].arrival_config.priority_distribution.weights",
     "must have as many entries as values (2), got 1"),
    ("bad_schedule_type", [(["scenario_events", 0, "schedule"], {"type": "Once", "tick": 3})],
     "scenario_events[0].schedule.type",
     "unknown type 'Once' (did you mean OneTime?); accepted types: OneTime, Repeating"),
    ("repeating_interval_zero", [(["scenario_events", 0, "schedule"],
                                  {"type": "Repeating", "start_tick": 0, "interval": 0})],
     "scenario_events[0].schedule.interval", "must be > 0 (got 0)"),
    ("schedule_negative_tick", [(["scenario_events", 0, "schedule", "tick"], -1)],
     "scenario_events[0].schedule.tick", "must be >= 0 (got -1)"),
    ("event_unknown_agent", [(["scenario_events", 0, "to_agent"], "EAST")],
     "scenario_events[0].to_agent", "unknown agent 'EAST'; agents are: NORTH, SOUTH"),
    ("event_zero_amount", [(["scenario_events", 0, "amount"], 0)],
     "scenario_events[0].amount", "must be > 0 (got 0)"),
    ("snake_case_event", [(["scenario_events", 0, "type"], "direct_transfer")],
     "scenario_events[0].type", "unknown type 'direct_transfer' (did you mean DirectTransfer?)"),
    ("deadline_window_empty", [(["scenario_events", 0],
                                {"type": "DeadlineWindowChange",
                                 "schedule": {"type": "OneTime", "tick": 1}})],
     "scenario_events[0]", "needs min_ticks_multiplier or max_ticks_multiplier (or both)"),
    ("weight_change_above_one", [(["scenario_events", 0],
                                  {"type": "CounterpartyWeightChange", "agent": "NORTH",
                                   "counterparty": "SOUTH", "new_weight": 1.5,
                                   "schedule": {"type": "OneTime", "tick": 1}})],
     "scenario_events[0].new_weight", "must be <= 1 (got 1.5)"),
    ("bad_penalty_mode", [(["cost_rates", "deadline_penalty"], {"mode": "percent", "amount": 5})],
     "cost_rates.deadline_penalty.mode", "must be 'fixed' or 'rate' (got the string 'percent')"),
    ("rate_penalty_without_bps", [(["cost_rates", "deadline_penalty"], {"mode": "rate"})],
     "cost_rates.deadline_penalty.bps_per_event", "required when mode is 'rate'"),
    ("negative_penalty", [(["cost_rates", "eod_penalty_per_transaction"], -1)],
     "cost_rates.eod_penalty_per_transaction", "must be >= 0 (got -1)"),
    ("both_eod_spellings", [(["cost_rates", "eod_penalty"], 5)],
     "cost_rates", "give only one of eod_penalty and eod_penalty_per_transaction"),
    ("policy_without_type", [(["agents", 1, "policy"], {"urgency_threshold": 3})],
     "agents[1].policy.type",
     "required key is missing; accepted types: Fifo, Deadline, LiquidityAware, "
     "LiquiditySplitting, MockSplitting, FromJson, Inline, InlineJson"),
    ("policy_as_string", [(["agents", 1, "policy"], "Fifo")],
     "agents[1].policy", "must be a mapping with a 'type' key (got the string 'Fifo')"),
    ("deadline_threshold_zero", [(["agents", 1, "policy", "urgency_threshold"], 0)],
     "agents[1].policy.urgency_threshold", "must be > 0 (got 0)"),
    ("splitting_too_many", [(["agents", 1, "policy"],
                             {"type": "LiquiditySplitting", "max_splits": 11,
                              "min_split_amount": 100})],
     "agents[1].policy.max_splits", "must be <= 10 (got 11)"),
    ("invalid_inline_json", [(["agents", 1, "policy"],
                              {"type": "InlineJson", "json_string": "{\"version\": "})],
     "agents[1].policy.json_string", "not valid JSON: line 1, column 13"),
    ("both_bands_and_config", [(A0 + ["arrival_bands"],
                                {"urgent": {"rate_per_tick": 0.1,
                                            "amount_distribution": {"type": "Uniform",
                                                                    "min": 1, "max": 5},
                                            "deadline_offset_min": 1,
                                            "deadline_offset_max": 3}})],
     "agents[0].arrival_bands", "arrival_config and arrival_bands are mutually exclusive"),
    ("band_offsets_reversed", [(ARR, _DELETE), (A0 + ["arrival_bands"],
                                {"low": {"rate_per_tick": 0.1,
                                         "amount_distribution": {"type": "Uniform",
                                                                 "min": 1, "max": 5},
                                         "deadline_offset_min": 4,
                                         "deadline_offset_max": 3}})],
     "agents[0].arrival_bands.low.deadline_offset_max",
     "must be >= deadline_offset_min (4), got 3"),
    ("empty_bands", [(ARR, _DELETE), (A0 + ["arrival_bands"], {})],
     "agents[0].arrival_bands", "needs at least one of urgent, normal, low"),
    ("haircut_above_one", [(A0 + ["collateral_haircut"], 1.5)],
     "agents[0].collateral_haircut", "must be <= 1 (got 1.5)"),
    ("negative_bilateral_limit", [(A0 + ["limits"], {"bilateral_limits": {"SOUTH": -1}})],
     "agents[0].limits.bilateral_limits.SOUTH", "must be >= 0 (got -1)"),
    ("cycle_length_two", [(["lsm_config"], {"max_cycle_length": 2})],
     "lsm_config.max_cycle_length", "must be >= 3 (got 2)"),
    ("lsm_flag_string", [(["lsm_config"], {"enable_cycles": "yes"})],
     "lsm_config.enable_cycles", "must be true or false (got the string 'yes')"),
    ("queue1_ordering_unknown", [(["queue1_ordering"], "random")],
     "queue1_ordering", "must be 'fifo' or 'priority_deadline'"),
    ("max_boost_too_big", [(["priority_escalation"], {"enabled": True, "max_boost": 300})],
     "priority_escalation.max_boost", "must be <= 255 (got 300)"),
    ("toggles_both", [(["policy_feature_toggles"], {"include": ["PaymentAction"],
                                                   "exclude": ["BankAction"]})],
     "policy_feature_toggles", "give include or exclude, not both"),
    ("toggle_unknown_category", [(["policy_feature_toggles"],
                                  {"exclude": ["PaymentAction", "Payments"]})],
     "policy_feature_toggles.exclude[1]", "unknown category 'Payments'; accepted: "),
    ("compat_unknown", [(["compat"], "strict")],
     "compat", "must be 'extended' or 'simcash' (got the string 'strict')"),
    ("agents_empty", [(["agents"], [])], "agents", "must have at least 1 item(s)"),
    ("agents_not_list", [(["agents"], {"id": "A"})], "agents", "must be a list (got a mapping)"),
    ("simulation_missing", [(["simulation"], _DELETE)],
     "simulation", "required key is missing (or give top-level seed and ticks_per_day)"),
    ("simulation_null", [(["simulation"], None)], "simulation", "must be a mapping (got null)"),
    ("simulation_and_inline_seed", [(["seed"], 5)],
     "seed", "give either the simulation block or top-level seed/ticks_per_day/num_days"),
    ("single_agent_with_arrivals", [(["agents"], None), (["scenario_events"], None)],
     "agents[0].arrival_config", "the only agent cannot generate payments"),
    ("policy_and_policy_id", [(["agents", 1, "policy_id"], "x")],
     "agents[1]", "has both policy and policy_id; give one of them"),
    ("unknown_policy_id", [(["agents", 1, "policy"], _DELETE), (["agents", 1, "policy_id"], "x"),
                           (["policies"], {"cautious": {"payment_tree": None}})],
     "agents[1].policy_id", "unknown policy 'x'; known policy ids: cautious"),
    ("policy_params_not_number", [(["agents", 1, "policy"], _DELETE),
                                  (["agents", 1, "policy_id"], "p"),
                                  (["agents", 1, "policy_params"], {"urgency": "high"}),
                                  (["policies"], {"p": {}})],
     "agents[1].policy_params.urgency", "must be a number (got the string 'high')"),
    ("policy_id_mismatch", [(["agents", 1, "policy"], _DELETE), (["agents", 1, "policy_id"], "p"),
                            (["policies"], {"p": {"policy_id": "q"}})],
     "policies.p.policy_id", "must equal its key 'p' in the policies map (got 'q')"),
    ("custom_arrival_priority", [(["scenario_events", 0],
                                  {"type": "CustomTransactionArrival", "from_agent": "NORTH",
                                   "to_agent": "SOUTH", "amount": 5, "priority": -1,
                                   "schedule": {"type": "OneTime", "tick": 1}})],
     "scenario_events[0].priority", "must be >= 0 (got -1)"),
]


def _build(changes):
    doc = copy.deepcopy(BASE)
    for path, value in changes:
        if path == ["agents"] and value is None:
            doc["agents"] = [doc["agents"][0]]
            doc["agents"][0]["arrival_config"]["counterparty_weights"] = {"NORTH": 1.0}
            continue
        if value is None and path == ["scenario_events"]:
            del doc["scenario_events"]
            continue
        _set(doc, path, value)
    return doc


@pytest.mark.parametrize("case_id,changes,path,problem", CASES, ids=[c[0] for c in CASES])
def test_invalid_yaml_file_names_file_path_and_problem(tmp_path, case_id, changes, path, problem):
    doc = _build(changes)
    f = tmp_path / f"{case_id}.yaml"
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    msg = str(info.value)
    assert str(f) in msg
    paths = [e["path"] for e in info.value.errors]
    assert path in paths, (paths, msg)
    err = info.value.errors[paths.index(path)]
    assert problem in err["message"], err
    assert f"{path}" in msg and problem in msg


def test_case_count_is_large_enough():
    assert len(CASES) >= 20


def test_dict_source_is_named_dict():
    doc = _build([(ARR + ["rate_per_tick"], -2)])
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == ("<dict>: agents[0].arrival_config.rate_per_tick: "
                               "must be >= 0 (got -2)")


def test_error_carries_yaml_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "simulation: {ticks_per_day: 5, num_days: 1, rng_seed: 1}\n"
        "agents:\n"
        "  - id: A\n"
        "    opening_balance: 10\n"
        "  - id: B\n"
        "    opening_balance: ten\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert str(info.value) == (f"{f}: agents[1].opening_balance (line 6): must be an integer "
                               "(got the string 'ten')")
    assert info.value.errors == [{"source": str(f), "path": "agents[1].opening_balance",
                                  "message": "must be an integer (got the string 'ten')",
                                  "line": 6}]


def test_all_problems_listed_together(tmp_path):
    doc = _build([(ARR + ["rate_per_tick"], -1), (["agents", 1, "opening_balance"], "x"),
                   (["lsm_config"], {"max_cycles_per_tick": 0})])
    f = tmp_path / "many.yaml"
    f.write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert sorted(e["path"] for e in info.value.errors) == [
        "agents[0].arrival_config.rate_per_tick", "agents[1].opening_balance",
        "lsm_config.max_cycles_per_tick"]
    assert str(info.value).startswith(f"{f}: 3 problems:\n")


def test_cross_checks_collected_together():
    doc = _build([(["agents", 1, "id"], "NORTH"), (["scenario_events", 0, "to_agent"], "EAST")])
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert [e["path"] for e in info.value.errors] == [
        "agents[1].id", "agents[0].arrival_config.counterparty_weights.SOUTH",
        "scenario_events[0].to_agent"]


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("simulation:\n  ticks_per_day: 5\n  num_days: [1, 2\nagents: []\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}: line 4, column 7: YAML syntax error:")
    assert info.value.errors[0]["line"] == 4


def test_json_syntax_error_gives_line_and_column(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('{"simulation": {"ticks_per_day": 5,}\n}')
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert str(info.value) == (f"{f}: line 1, column 36: JSON syntax error: Expecting property "
                               "name enclosed in double quotes")


@pytest.mark.parametrize("text,problem", [
    ("", "the file is empty"),
    ("- 1\n- 2\n", "the top level must be a mapping of scenario keys"),
    ("just text\n", "the top level must be a mapping of scenario keys"),
])
def test_top_level_must_be_mapping(tmp_path, text, problem):
    f = tmp_path / "top.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert str(info.value).startswith(f"{f}: {problem}")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml: file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a folder, not a file"):
        load_scenario(tmp_path)


def test_bad_source_types_and_compat_argument():
    with pytest.raises(ScenarioError, match="expected a file path or a dict, got int"):
        load_scenario(5)
    with pytest.raises(ScenarioError, match="looks like scenario text"):
        load_scenario("simulation:\n  ticks_per_day: 1\n")
    with pytest.raises(ScenarioError, match="compat must be 'extended' or 'simcash', got 'x'"):
        load_scenario(copy.deepcopy(BASE), compat="x")


def test_non_utf8_file(tmp_path):
    f = tmp_path / "latin.yaml"
    f.write_bytes(b"simulation: {}\nname: caf\xe9\n")
    with pytest.raises(ScenarioError, match=r"latin.yaml: is not UTF-8 text \(byte 24\)"):
        load_scenario(f)


def test_inline_policy_rejected_by_policy_validator_names_agent_and_text():
    doc = _build([(["agents", 1, "policy"], {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "p", "reject": "bad node N1"}})])
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == ("<dict>: agents[1].policy: invalid policy: <dict>: "
                               "agents[1].policy.decision_trees: rejected: bad node N1")


def test_shared_broken_policy_reported_once_with_all_users():
    broken = {"type": "Inline", "decision_trees": {"version": "1.0", "policy_id": "p",
                                                   "reject": "x"}}
    doc = _build([(A0 + ["policy"], broken), (["agents", 1, "policy"], broken)])
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert len(info.value.errors) == 2  # two labels (decision_trees paths differ)
    doc["policies"] = {"p": {"reject": "bad"}}
    for a in doc["agents"]:
        a.pop("policy")
        a["policy_id"] = "p"
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert [e["path"] for e in info.value.errors] == ["policies.p"]
    assert info.value.errors[0]["message"] == ("invalid policy: <dict>: policies.p: "
                                               "rejected: bad")


def test_no_internal_exception_escapes_for_garbage():
    garbage = [
        {"simulation": None, "agents": None},
        {"simulation": [], "agents": [None]},
        {"simulation": {"ticks_per_day": {}}, "agents": [{"id": None}]},
        {"agents": [{"id": "A", "opening_balance": 1, "policy": {"type": None}}]},
        {"agents": [{"id": "A", "opening_balance": 1, "policy": {"type": ["Fifo"]}}]},
        {"agents": [{"id": "A", "opening_balance": 1, "arrival_config": []}]},
        {"seed": 1, "ticks_per_day": 1, "agents": [{"id": "A", "opening_balance": 1,
                                                     "policy_id": 5}], "policies": []},
        {"seed": 1, "ticks_per_day": 1, "agents": [{"id": "A", "opening_balance": 1,
                                                     "policy_id": "k"}], "policies": {"k": 3}},
        {"cost_rates": {"deadline_penalty": [1]}, "lsm_config": 3, "scenario_events": {}},
        {1: 2, None: 3},
    ]
    for doc in garbage:
        with pytest.raises(ScenarioError):
            load_scenario(doc)
