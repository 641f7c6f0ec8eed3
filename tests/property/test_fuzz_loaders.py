"""The loaders under hostile input: every document loads or raises the loader's own error.

``psl.load_scenario`` may only raise ScenarioError and ``psl.load_policy`` only PolicyError,
with a message naming the source; no case may take more than 5 s; scenarios that load run
for 20 ticks raising nothing but SimulationError / PolicyRuntimeError that name a bank and
the tick. The bulk comes from ``benchmarks/fuzz_loaders.py`` (its CI budget here; run the
script for the full 10,000-case budget); hypothesis adds arbitrary JSON values; the last part
pins the exact message for each kind of hostile input, and the regressions found by fuzzing.
"""
from __future__ import annotations

import copy
import importlib.util
import logging
import math
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paysim_lab as psl
from paysim_lab.errors import (PolicyError, PolicyRuntimeError, ScenarioError,
                               SimulationError)

from strategies import PHASES, json_values, random_policies

ROOT = Path(__file__).resolve().parents[2]
logging.getLogger("paysim_lab").setLevel(logging.CRITICAL)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _load_fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_loaders",
                                                  ROOT / "benchmarks" / "fuzz_loaders.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_loaders"] = module     # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzzer = _load_fuzzer()

BASE = {"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 1},
        "agents": [{"id": "A", "opening_balance": 100}, {"id": "B", "opening_balance": 0}]}
RELEASE = {"type": "action", "node_id": "R", "action": "Release"}
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, phases=PHASES,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def base(**agent0) -> dict:
    doc = copy.deepcopy(BASE)
    doc["agents"][0].update(agent0)
    return doc


def within_5s(fn):
    with fuzzer.time_limit(5.0):
        return fn()


# ---- the CI budget of the fuzzer --------------------------------------------------------------

def test_fuzz_budget_every_case_loads_or_is_rejected_cleanly():
    report = fuzzer.fuzz(1500, seed=7, run_fraction=0.3, limit=5.0)
    failures = [fuzzer.describe_failure(c, o) for c, o in report.failures]
    assert failures == [], "\n".join(failures[:20])
    assert report.stray_files == []          # loading (and running) wrote nothing
    summary = report.summary()
    assert summary["cases"] == 1500
    assert summary["loaded"] >= 75 and summary["rejected"] >= 750   # both paths exercised
    assert report.run_counts["ran"] >= 10


def test_hostile_catalogue_every_case_loads_or_is_rejected_and_runs_cleanly():
    # signed zero, int64 edges, subnormals, +-inf, NaN, control / bidi / escape text, zero
    # intervals, inverted ranges, division by zero in compute; every loaded scenario is run
    report = fuzzer.fuzz(800, seed=11, run_fraction=1.0, limit=5.0, catalogue=True)
    failures = [fuzzer.describe_failure(c, o) for c, o in report.failures]
    assert failures == [], "\n".join(failures[:20])
    assert report.stray_files == []
    summary = report.summary()
    assert summary["cases"] == 800
    assert summary["loaded"] >= 80 and summary["rejected"] >= 400
    assert report.run_counts["ran"] >= 50


def test_the_catalogue_has_every_edge_the_issue_names():
    nums = fuzzer.BOUNDARY_NUMBERS
    assert any(x == 0 and math.copysign(1, x) < 0 for x in nums if isinstance(x, float))
    assert {2**63 - 1, 2**63, -(2**63), -(2**63) - 1} <= set(nums)
    assert 5e-324 in nums and math.inf in nums and -math.inf in nums
    text = "".join(fuzzer.CONTROL_STRINGS)
    assert all(ch in text for ch in "\x00\x1b\x07\u202e\n")
    assert set(fuzzer.CATALOGUE_OPS) == {"boundary", "control_string", "zero_interval",
                                         "inverted_range", "div_zero"}


# ---- hypothesis: arbitrary values where documents expect structure ---------------------------

@settings(max_examples=150, **FUZZ_SETTINGS)
@given(value=json_values(), key=st.sampled_from(["payment_tree", "bank_tree", "parameters",
                                                   "strategic_collateral_tree", "version"]))
def test_load_policy_rejects_any_value_with_a_policy_error(value, key):
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": RELEASE, key: value}
    try:
        within_5s(lambda: psl.load_policy(doc))
    except PolicyError as exc:
        assert str(exc).strip()


@settings(max_examples=150, **FUZZ_SETTINGS)
@given(value=json_values(), where=st.sampled_from([
    ("simulation",), ("simulation", "ticks_per_day"), ("agents",), ("agents", 0),
    ("agents", 0, "policy"), ("agents", 0, "arrival_config"), ("cost_rates",),
    ("scenario_events",), ("lsm_config",), ("policies",), ("agents", 1, "liquidity_pool")]))
def test_load_scenario_rejects_any_value_with_a_scenario_error(value, where):
    doc = copy.deepcopy(BASE)
    node = doc
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value
    try:
        within_5s(lambda: psl.load_scenario(doc))
    except ScenarioError as exc:
        assert str(exc).startswith("<dict>")


@settings(max_examples=80, **FUZZ_SETTINGS)
@given(policy=random_policies())
def test_random_trees_load_or_are_rejected_and_run_with_located_errors(policy):
    try:
        psl.load_policy(policy)
    except PolicyError as exc:
        assert str(exc).startswith("<dict>: ")
        return
    doc = base(policy={"type": "Inline", "decision_trees": policy},
               arrival_config={"rate_per_tick": 1.0, "counterparty_weights": {"B": 1.0},
                               "amount_distribution": {"type": "Uniform", "min": 1,
                                                       "max": 90},
                               "deadline_range": [1, 4]})
    doc["agents"][0]["unsecured_cap"] = 50
    doc["simulation"]["ticks_per_day"] = 10
    sim = psl.Simulation(doc)
    try:
        within_5s(lambda: sim.run())
    except (SimulationError, PolicyRuntimeError) as exc:
        assert "agent A" in str(exc) and f"tick {sim.current_tick}" in str(exc)


# ---- hostile files: the exact message for each kind ------------------------------------------

HOSTILE = {
    "billion_laughs.yaml": "billion_laughs.yaml: document is too large once aliases are "
                           "expanded (more than 2000000 values); refusing to load it (to "
                           "allow more, pass limits=paysim_lab.config.LoadLimits("
                           "max_values=...) to load_scenario, or raise paysim_lab.config.reading.MAX_VALUES)",
    "recursive_anchor.yaml": "recursive_anchor.yaml: document contains itself (a recursive "
                             "alias or a self-referencing dict)",
    "python_apply.yaml": "python_apply.yaml: line 1, column 13: YAML syntax error: could not "
                         "determine a constructor for the tag "
                         "'tag:yaml.org,2002:python/object/apply:os.system'",
    "python_object.yaml": "python_object.yaml: line 1, column 1: YAML syntax error: could not "
                          "determine a constructor for the tag "
                          "'tag:yaml.org,2002:python/object:builtins.dict'",
    "deep.json": "deep.json: nested too deeply (more than 300 levels)",
    "list_root.yaml": "list_root.yaml: the top level must be a mapping of scenario keys "
                      "(simulation, agents, ...)",
    "empty.yaml": "empty.yaml: the file is empty",
    "multi_doc.yaml": "multi_doc.yaml: line 2, column 1: YAML syntax error: but found another "
                      "document (expected a single document in the stream)",
    "trailing_comma.json": "trailing_comma.json: line 1, column 15: JSON syntax error: "
                           "Expecting value",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_scenario_files_are_refused_with_a_located_message(name, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(fuzzer.HOSTILE_TEXTS[name], encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        within_5s(lambda: psl.load_scenario(name))
    assert str(err.value) == HOSTILE[name]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]   # no tag ran, nothing written


def test_deep_flow_nesting_is_refused_by_a_depth_guard_naming_file_place_and_problem(tmp_path):
    # The parser may refuse the depth itself (with a position) before our guard measures the
    # parsed document; both must read as our own message.
    path = tmp_path / "deep_flow.yaml"
    path.write_text(fuzzer.HOSTILE_TEXTS["deep_flow.yaml"], encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        within_5s(lambda: psl.load_scenario(path))
    assert re.fullmatch(rf"{re.escape(str(path))}: (line 1, column \d+: )?nested too deeply "
                        r"\(more than 300 levels\)", str(err.value))


def test_flow_depth_counts_open_brackets_outside_strings_and_comments():
    from paysim_lab.config.reading import _flow_depth
    text = "a: [[{'[': \"{\"}, # [[[\n  [x"
    assert _flow_depth(text, len(text)) == 3


def test_non_finite_numbers_are_refused_for_every_field_that_has_one(tmp_path):
    path = tmp_path / "nan.yaml"
    path.write_text(fuzzer.HOSTILE_TEXTS["nan_yaml.yaml"], encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value) == (
        f"{path}: 4 problems:\n"
        "  simulation.ticks_per_day (line 1): must be a finite number (got nan)\n"
        "  simulation.num_days (line 1): must be a finite number (got inf)\n"
        "  simulation.rng_seed (line 1): must be a finite number (got -inf)\n"
        "  agents[0].opening_balance (line 2): must be a finite number (got nan)")


def test_duplicate_keys_load_with_a_warning_naming_each_line(tmp_path):
    path = tmp_path / "dupes.yaml"
    path.write_text(fuzzer.HOSTILE_TEXTS["duplicate_keys.yaml"], encoding="utf-8")
    with pytest.warns(psl.ScenarioWarning) as caught:
        scenario = psl.load_scenario(path)
    assert [a.id for a in scenario.agents] == ["B"]
    assert [str(w.message) for w in caught] == [
        f"{path}: agents[0].opening_balance (line 2): written twice in the same mapping; the "
        "later value wins",
        f"{path}: agents (line 3): written twice in the same mapping; the later value wins"]


def test_binary_junk_is_not_utf8(tmp_path):
    path = tmp_path / "junk.yaml"
    path.write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ScenarioError, match=r"junk\.yaml: is not UTF-8 text \(byte 0\)$"):
        psl.load_scenario(path)


@pytest.mark.parametrize("agent0, message", [
    ({"opening_balance": 10**30}, "<dict>: agents[0].opening_balance: must be <= "
                                  "9223372036854775807 (got 1000000000000000000000000000000)"),
    ({"unsecured_cap": -1}, "<dict>: agents[0].unsecured_cap: must be >= 0 (got -1)"),
    ({"id": ""}, "<dict>: agents[0].id: must not be empty"),
    ({"id": "   "}, "<dict>: agents[0].id: must not be empty"),
    ({"id": "B"}, "<dict>: agents[1].id: duplicate agent id 'B' (first used at agents[0])"),
    ({"opening_balance": math.nan}, "<dict>: agents[0].opening_balance: must be a finite "
                                    "number (got nan)"),
])
def test_bad_values_are_named_by_path(agent0, message):
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(base(**agent0))
    assert str(err.value) == message


def test_unicode_bank_ids_load_and_run():
    doc = base(id="銀行", arrival_config={"rate_per_tick": 1.0, "counterparty_weights": {"B": 1},
                                        "amount_distribution": {"type": "Uniform", "min": 1,
                                                                "max": 50},
                                        "deadline_range": [1, 3]})
    sim = psl.Simulation(doc)
    sim.run()
    assert [a.id for a in sim.world.agent_list] == ["B", "銀行"]
    assert sim.summary()["arrivals"] == len(sim.events_of("Arrival"))


def _deep_tree(depth: int) -> dict:
    node = RELEASE
    for i in range(depth):
        node = {"type": "condition", "node_id": f"N{i}",
                "condition": {"op": "==", "left": {"value": 1}, "right": {"value": 1}},
                "on_true": node, "on_false": {"type": "action", "node_id": f"F{i}",
                                              "action": "Hold"}}
    return {"version": "1.0", "policy_id": "deep", "payment_tree": node}


def test_deep_policy_trees_are_refused_by_depth_then_by_nesting():
    with pytest.raises(PolicyError) as err:
        psl.load_policy(_deep_tree(101))
    assert str(err.value) == ("<dict>: (document): ExcessiveDepth: Tree depth 101 exceeds "
                              "maximum 100")
    with pytest.raises(PolicyError) as err:
        within_5s(lambda: psl.load_policy(_deep_tree(5000)))
    assert str(err.value) == ("<dict>: (document): NestingTooDeep: the document nests deeper "
                              "than 300 levels (or contains itself)")
    with pytest.raises(ScenarioError) as err:
        within_5s(lambda: psl.load_scenario(base(policy={"type": "Inline",
                                                         "decision_trees": _deep_tree(5000)})))
    assert str(err.value) == "<dict>: nested too deeply (more than 300 levels)"


# ---- regressions found by fuzzing (each fails until its loader is fixed) ----------------------

def _big_int_text(digits: int = 5000) -> str:
    return "1" + "0" * (digits - 1)


@pytest.mark.parametrize("suffix, text", [
    (".json", '{"simulation": {"ticks_per_day": %s}}'),
    (".yaml", "simulation: {ticks_per_day: %s}\n"),
])
def test_an_integer_too_long_to_parse_is_a_scenario_error(tmp_path, suffix, text):
    # Python refuses int() of more than 4300 digits with a bare ValueError (json and PyYAML).
    path = tmp_path / f"big{suffix}"
    path.write_text(text % _big_int_text(), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value).startswith(f"{path}: ") and "digits" in str(err.value)


def test_an_inline_json_policy_with_a_too_long_integer_is_a_scenario_error():
    doc = base(policy={"type": "InlineJson",
                       "json_string": '{"version": "1", "policy_id": %s}' % _big_int_text()})
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(doc)
    assert str(err.value).startswith("<dict>: agents[0].policy.json_string")


@pytest.mark.parametrize("key", [5, None, 1.5, True])
def test_a_non_string_top_level_key_in_a_policy_is_a_policy_error(key):
    with pytest.raises(PolicyError) as err:
        psl.load_policy({"version": "1.0", "policy_id": "p", "payment_tree": RELEASE, key: 1})
    assert str(err.value).startswith("<dict>: ") and repr(key) in str(err.value)


def test_a_shared_sub_structure_in_a_policy_dict_is_refused_quickly():
    # 2**40 values if walked naively; YAML can build this with aliases, Python with sharing.
    x = 1
    for _ in range(40):
        x = [x, x]
    with pytest.raises(PolicyError):
        within_5s(lambda: psl.load_policy({"version": "1.0", "policy_id": "p",
                                           "payment_tree": RELEASE, "notes": x}))


def test_a_policy_path_with_a_nul_byte_is_a_policy_error():
    with pytest.raises(PolicyError) as err:
        psl.load_policy("a\x00b.json")
    assert "a\x00b.json" in str(err.value) or "a b.json" in str(err.value)


def test_a_lone_surrogate_in_a_json_scenario_is_a_scenario_error(tmp_path):
    # JSON's "\ud800" escape decodes to a string no UTF-8 writer accepts: the run's events
    # could never be written (paysim run --events-out / --persist fail). SimCash's JSON reader
    # refuses it too; YAML already does.
    path = tmp_path / "surrogate.json"
    path.write_text(fuzzer.HOSTILE_TEXTS["json_lone_surrogate.json"], encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value).startswith(f"{path}: ") and "agents[0].id" in str(err.value)
