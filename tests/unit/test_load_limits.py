"""Bounded loading and range checks: everything the loader accepts can be built and run.

Each limit is refused up front with a ScenarioError naming the place, the limit and how to
raise it; values that reach the engine's arithmetic are bounded so that nothing accepted can
overflow later (docs/reliability.md, "Limits").
"""
from __future__ import annotations

import copy
import time
import warnings

import pytest
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab import docshape
from paysim_lab.cli import _kind_of, main
from paysim_lab.config import LoadLimits, reading
from paysim_lab.errors import PolicyError, ScenarioError

BASE = {"simulation": {"ticks_per_day": 5, "num_days": 2, "rng_seed": 1},
        "agents": [{"id": "A", "opening_balance": 100, "unsecured_cap": 1000,
                    "arrival_config": {"rate_per_tick": 2,
                                       "amount_distribution": {"type": "Uniform", "min": 1,
                                                               "max": 500},
                                       "counterparty_weights": {"B": 1},
                                       "deadline_range": [1, 3]}},
                   {"id": "B", "opening_balance": 0}]}
RELEASE = {"type": "action", "node_id": "R", "action": "Release"}


def base() -> dict:
    return copy.deepcopy(BASE)


def error_of(source, **kw) -> str:
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(source, **kw)
    return str(err.value)


def hint(name: str) -> str:
    return (f"to allow more, pass limits=paysim_lab.config.LoadLimits({name}=...) to "
            f"load_scenario, or raise paysim_lab.config.reading.{name.upper()}")


# ---- total size: strings count by their length -------------------------------------------

def test_one_long_string_aliased_many_times_is_refused_before_anything_walks_it(tmp_path):
    # 100,000 characters used 1,000 times: a 100 MB document from a 105 kB file
    lines = ["simulation: {ticks_per_day: 5, num_days: 1, rng_seed: 1}",
             "agents: [{id: A, opening_balance: 0}]",
             f"blob: &s {'x' * 100_000}",
             "copies: [" + ", ".join(["*s"] * 1000) + "]"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    text = error_of(path)
    assert time.perf_counter() - started < 5
    assert text == (f"{path}: document is too large once aliases are expanded (more than "
                    f"{reading.MAX_TEXT_CHARS} characters of text); refusing to load it "
                    f"({hint('max_text_chars')})")


def test_a_shared_string_in_a_dict_counts_once_per_use():
    doc = base()
    doc["notes"] = ["y" * 1000] * 100      # an unknown key: it would still be stored as JSON
    limits = LoadLimits(max_text_chars=50_000)
    assert "more than 50000 characters of text" in error_of(doc, limits=limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psl.load_scenario(doc, limits=LoadLimits(max_text_chars=200_000))


def test_shape_problem_counts_keys_and_strings():
    assert docshape.shape_problem({"k" * 10: "v" * 10}, max_chars=20) is None
    assert docshape.shape_problem({"k" * 10: "v" * 11}, max_chars=20) is not None
    assert docshape.shape_problem("z" * 21, max_chars=20) is not None


# ---- strings, banks, scenario events --------------------------------------------------------

def test_an_overlong_string_field_is_refused_with_its_path_and_limit():
    doc = base()
    doc["description"] = "d" * (reading.MAX_STRING_CHARS + 1)
    assert error_of(doc) == (f"<dict>: description: a string of "
                             f"{reading.MAX_STRING_CHARS + 1:,} characters is longer than the "
                             f"limit of {reading.MAX_STRING_CHARS:,} "
                             f"({hint('max_string_chars')})")


def test_an_overlong_bank_id_is_refused_and_the_limit_can_be_raised():
    doc = base()
    long_id = "B" * 300
    doc["agents"][1]["id"] = long_id
    doc["agents"][0]["arrival_config"]["counterparty_weights"] = {long_id: 1}
    assert error_of(doc) == (f"<dict>: agents[1].id: bank id of 300 characters is longer than "
                             f"the limit of 256 ({hint('max_id_chars')})")
    assert psl.load_scenario(doc, limits=LoadLimits(max_id_chars=300)).agents[1].id == long_id


def test_too_many_banks_is_refused_up_front_and_the_limit_can_be_raised():
    doc = base()
    doc["agents"] += [{"id": f"X{i}", "opening_balance": 0} for i in range(3)]
    assert error_of(doc, limits=LoadLimits(max_agents=4)) == (
        f"<dict>: agents: 5 banks is more than the limit of 4 ({hint('max_agents')})")
    assert len(psl.load_scenario(doc, limits=LoadLimits(max_agents=5)).agents) == 5


def test_the_bank_limit_is_a_module_constant_read_at_load_time(monkeypatch):
    monkeypatch.setattr(reading, "MAX_AGENTS", 1)
    assert "2 banks is more than the limit of 1" in error_of(base())


def test_too_many_scenario_events_is_refused_up_front():
    doc = base()
    doc["scenario_events"] = [{"type": "DirectTransfer", "from_agent": "A", "to_agent": "B",
                               "amount": 1, "schedule": {"type": "OneTime", "tick": 1}}] * 11
    assert error_of(doc, limits=LoadLimits(max_scenario_events=10)) == (
        f"<dict>: scenario_events: 11 scenario events is more than the limit of 10 "
        f"({hint('max_scenario_events')})")


def test_limits_are_checked_before_models_are_built():
    # 200,000 malformed events would give 200,000 validation errors; refused in one walk
    doc = base()
    doc["scenario_events"] = [{"type": "Nope"}] * (reading.MAX_SCENARIO_EVENTS + 1)
    started = time.perf_counter()
    text = error_of(doc)
    assert time.perf_counter() - started < 5
    assert text.startswith("<dict>: scenario_events: 100,001 scenario events is more than")


# ---- policies: nodes and strings ---------------------------------------------------------

def _chain(n: int) -> dict:
    node = RELEASE
    for i in range(n):
        node = {"type": "condition", "node_id": f"C{i}",
                "condition": {"op": ">", "left": {"field": "balance"}, "right": {"value": 0}},
                "on_true": node, "on_false": {"type": "action", "node_id": f"H{i}",
                                              "action": "Hold"}}
    return {"version": "1.0", "policy_id": "big", "payment_tree": node}


def test_a_policy_with_too_many_nodes_is_refused_naming_the_limit(monkeypatch):
    monkeypatch.setattr(docshape, "MAX_POLICY_NODES", 20)
    doc = _chain(10)        # 21 nodes
    with pytest.raises(PolicyError) as err:
        psl.load_policy(doc)
    assert str(err.value) == ("<dict>: InvalidDocument: more than 20 decision-tree nodes (the "
                              "limit; raise paysim_lab.docshape.MAX_POLICY_NODES to load larger "
                              "policies)")
    scenario = base()
    scenario["agents"][0]["policy"] = {"type": "Inline", "decision_trees": doc}
    assert "more than 20 decision-tree nodes" in error_of(scenario)


def test_a_long_hold_reason_is_refused_it_would_be_copied_into_every_event():
    hold = {"type": "action", "node_id": "H", "action": "Hold",
            "parameters": {"reason": {"value": "r" * 1_000_000}}}
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": hold}
    with pytest.raises(PolicyError) as err:
        psl.load_policy(doc)
    assert str(err.value) == ("<dict>: InvalidDocument: payment_tree.parameters.reason.value: a "
                              "string of 1000000 characters is longer than the limit of 256 "
                              "(raise paysim_lab.docshape.MAX_POLICY_STRING_CHARS to allow "
                              "longer ones)")


def test_a_policy_description_may_be_longer_than_an_id():
    doc = {"version": "1.0", "policy_id": "p", "description": "d" * 5000,
           "payment_tree": RELEASE}
    assert psl.load_policy(doc).policy_id == "p"


# ---- ids are printable text --------------------------------------------------------------

@pytest.mark.parametrize("bad, code", [("\x1b[31mA", "U+001B"), ("A\x07", "U+0007"),
                                       ("A\x00", "U+0000"), ("A\nB", "U+000A"),
                                       ("A\u202eB", "U+202E"), ("A\u2028B", "U+2028")])
def test_bank_ids_with_control_or_bidi_characters_are_refused(bad, code):
    doc = base()
    doc["agents"][1]["id"] = bad
    doc["agents"][0]["arrival_config"]["counterparty_weights"] = {bad: 1}
    text = error_of(doc)
    kind = "bidirectional-text control" if code == "U+202E" else "control character"
    assert text == f"<dict>: agents[1].id: bank id contains the {kind} {code}; ids must be " \
                   "printable text"


def test_printable_non_ascii_ids_still_load():
    doc = base()
    doc["agents"][1]["id"] = "銀行 B 🏦"
    doc["agents"][0]["arrival_config"]["counterparty_weights"] = {"銀行 B 🏦": 1}
    assert psl.load_scenario(doc).agents[1].id == "銀行 B 🏦"


# ---- range checks where values reach arithmetic -------------------------------------------

@pytest.mark.parametrize("key", ["overdraft_bps_per_tick", "delay_cost_per_tick_per_cent",
                                 "collateral_cost_per_tick_bps", "overdue_delay_multiplier",
                                 "liquidity_cost_per_tick_bps"])
def test_cost_rates_beyond_the_engine_arithmetic_are_refused(key):
    doc = base()
    doc["cost_rates"] = {key: 1e308}
    assert error_of(doc) == (f"<dict>: cost_rates.{key}: must be at most 1e+09 (got 1e+308); "
                             "larger rates overflow the engine's cost arithmetic")


def test_rate_penalties_and_priority_multipliers_are_bounded_too():
    doc = base()
    doc["cost_rates"] = {"eod_penalty_per_transaction": {"mode": "rate", "bps_per_event": 2e9},
                         "priority_delay_multipliers": {"urgent_multiplier": 1e10}}
    text = error_of(doc)
    assert "cost_rates.eod_penalty_per_transaction.bps_per_event: must be at most 1e+09" in text
    assert "cost_rates.priority_delay_multipliers.urgent_multiplier: must be at most" in text


def test_the_largest_accepted_rates_and_amounts_run_without_overflow():
    doc = base()
    doc["cost_rates"] = {"overdraft_bps_per_tick": 1e9, "delay_cost_per_tick_per_cent": 1e9,
                         "overdue_delay_multiplier": 1e9, "collateral_cost_per_tick_bps": 1e9,
                         "deadline_penalty": {"mode": "rate", "bps_per_event": 1e9}}
    doc["agents"][0]["arrival_config"]["amount_distribution"] = {
        "type": "Uniform", "min": 10**17, "max": 10**18}
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    assert all(v >= 0 for v in sim.costs()["total"])


@pytest.mark.parametrize("mean, sd, where, message", [
    (1e-320, 1.0, "std_dev", "std_dev 1.0 and mean 1e-320 are too far apart for the engine's "
                             "arithmetic (std_dev^2 / mean^2 must be a finite number)"),
    (1000.0, 1e308, "std_dev", "std_dev 1e+308 and mean 1000.0 are too far apart for the "
                               "engine's arithmetic (std_dev^2 / mean^2 must be a finite "
                               "number)"),
    (1e308, 1.0, "mean", "must be at most 9223372036854775807 cents (got 1e+308); payments "
                         "are 64-bit integers"),
])
def test_lognormal_parameters_the_engine_cannot_compute_are_refused(mean, sd, where, message):
    doc = base()
    doc["agents"][0]["arrival_config"]["amount_distribution"] = {
        "type": "LogNormal", "mean": mean, "std_dev": sd}
    assert error_of(doc) == (f"<dict>: agents[0].arrival_config.amount_distribution.{where}: "
                             f"{message}")


def test_a_non_positive_lognormal_mean_still_loads_and_draws_one_cent():
    doc = base()
    doc["agents"][0]["arrival_config"]["amount_distribution"] = {
        "type": "LogNormal", "mean": -1e308, "std_dev": 1.0}
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    arrivals = sim.events_of("Arrival")
    assert len(arrivals) > 0 and set(arrivals["amount"]) == {1}


def test_a_release_budget_beyond_int64_saturates_and_every_frame_shows_it():
    budget = {"type": "action", "node_id": "B1", "action": "SetReleaseBudget",
              "parameters": {"max_value_to_release": {"value": 1e19}}}
    doc = base()
    doc["agents"][0]["policy"] = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "b", "bank_tree": budget, "payment_tree": RELEASE}}
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run()
    top = 2**63 - 1
    agents = sim.agents().set_index("agent_id")
    assert top - 10**6 < agents.loc["A", "release_budget_remaining"] <= top   # less what it paid
    history = sim.history()
    assert str(history["release_budget_remaining"].dtype) == "Int64"
    assert history[history.agent_id == "A"]["release_budget_remaining"].min() > top - 10**6
    frame = psl.plots.budget_frame(sim)
    assert frame[frame.agent_id == "A"]["max_value"].max() == top
    psl.plots.budgets(sim)


# ---- one validation path: `paysim validate` ---------------------------------------------------

def _validate(*files):
    return CliRunner().invoke(main, ["validate", *map(str, files)], catch_exceptions=False)


@pytest.mark.parametrize("name, text", [
    ("deep.yaml", "a: " + "[" * 2000 + "]" * 2000 + "\n"),
    ("digits.json", '{"agents": [{"id": "A", "opening_balance": ' + "9" * 5000 + "}]}"),
    ("digits.yaml", "agents: [{id: A, opening_balance: " + "9" * 5000 + "}]\n"),
    ("binary.yaml", "\x00\x01\x02 junk"),
])
def test_validate_reports_unreadable_files_without_a_traceback(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = _validate(path)
    assert result.exit_code == 1
    assert result.output.startswith(f"INVALID {path} (")
    assert "  error: " in result.output


def test_validate_a_proc_file_without_a_traceback():
    result = _validate("/proc/self/status")
    assert result.exit_code == 1 and result.output.startswith("INVALID /proc/self/status")


def test_a_scenario_with_a_10000_character_id_is_validated_as_a_scenario(tmp_path):
    doc = base()
    doc["agents"][1]["id"] = "B" * 10_000
    import json
    for suffix in (".yaml", ".json"):
        path = tmp_path / f"long{suffix}"
        path.write_text(json.dumps(doc), encoding="utf-8")
        assert _kind_of(path) == "scenario"
        result = _validate(path)
        assert result.output.startswith(f"INVALID {path} (scenario)")
        assert "bank id of 10,000 characters is longer than the limit of 256" in result.output


def test_validate_says_what_load_says_about_range_problems(tmp_path):
    import json
    doc = base()
    doc["cost_rates"] = {"overdraft_bps_per_tick": 1e308}
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = _validate(path)
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        f"INVALID {path} (scenario)",
        f"  error: {path}: cost_rates.overdraft_bps_per_tick: must be at most 1e+09 (got "
        f"1e+308); larger rates overflow the engine's cost arithmetic"]


def test_a_liquidity_fraction_that_overflows_the_pool_allocation_is_refused():
    doc = base()
    doc["agents"][0]["liquidity_pool"] = 1_000_000
    doc["agents"][0]["policy"] = {"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "f", "payment_tree": RELEASE,
        "parameters": {"initial_liquidity_fraction": 1.7976931348623157e308}}}
    assert error_of(doc) == ("<dict>: agents[0].policy: the policy's initial_liquidity_fraction "
                             "1.7976931348623157e+308 times liquidity_pool 1000000 is not a "
                             "64-bit amount (the start-of-day allocation would overflow)")
    doc["agents"][0]["policy"]["decision_trees"]["parameters"]["initial_liquidity_fraction"] = 0.5
    sim = psl.Simulation(psl.load_scenario(doc))
    sim.run(ticks=1)
