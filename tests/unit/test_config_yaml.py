"""Reading sources safely (alias bombs, recursion, tags) and the load-time warnings."""
from __future__ import annotations

import pytest

from paysim_lab.config import load_scenario, policies
from paysim_lab.config._testing import stub_policy_api
from paysim_lab.errors import ScenarioError, ScenarioWarning


@pytest.fixture(autouse=True)
def _stub_policies(monkeypatch):
    monkeypatch.setattr(policies, "policy_api", stub_policy_api)


HEAD = "simulation: {ticks_per_day: 10, num_days: 1, rng_seed: 1}\n"
TWO_AGENTS = HEAD + """\
agents:
  - id: A
    opening_balance: 100
  - id: B
    opening_balance: 100
"""


def _load(tmp_path, text, name="s.yaml", **kw):
    f = tmp_path / name
    f.write_text(text)
    return f, load_scenario(f, **kw)


def _error(tmp_path, text):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    return f, info.value


# ---- hostile YAML ----------------------------------------------------------------------------

def test_alias_bomb_is_refused(tmp_path):
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    f, err = _error(tmp_path, TWO_AGENTS + "\n".join(lines) + "\n")
    assert str(err) == (f"{f}: document is too large once aliases are expanded (more than "
                        "2000000 values); refusing to load it (to allow more, pass "
                        "limits=paysim_lab.config.LoadLimits(max_values=...) to load_scenario, or raise "
                        "paysim_lab.config.reading.MAX_VALUES)")


def test_recursive_alias_is_refused(tmp_path):
    f, err = _error(tmp_path, TWO_AGENTS + "loop: &x [1, *x]\n")
    assert str(err) == (f"{f}: document contains itself (a recursive alias or a "
                        "self-referencing dict)")


def test_deep_nesting_is_refused(tmp_path):
    f, err = _error(tmp_path, TWO_AGENTS + "deep: " + "[" * 400 + "]" * 400 + "\n")
    assert str(err) == f"{f}: nested too deeply (more than 300 levels)"


def test_python_tags_are_not_executed(tmp_path):
    f, err = _error(tmp_path, TWO_AGENTS + "x: !!python/object/apply:os.system ['true']\n")
    assert str(err).startswith(f"{f}: line 7, column 4: YAML syntax error: could not "
                               "determine a constructor for the tag")


def test_self_referencing_dict_is_refused():
    doc = {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": "A", "opening_balance": 1}]}
    doc["agents"][0]["me"] = doc
    with pytest.raises(ScenarioError, match="^<dict>: document contains itself"):
        load_scenario(doc)


def test_shared_dicts_are_fine():
    arrival = {"rate_per_tick": 0.5, "amount_distribution": {"type": "Uniform", "min": 1,
                                                             "max": 9},
               "counterparty_weights": {"A": 1, "B": 1}, "deadline_range": [1, 3]}
    doc = {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 1},
           "agents": [{"id": i, "opening_balance": 1, "arrival_config": arrival}
                      for i in ("A", "B")]}
    with pytest.warns(ScenarioWarning):  # self weights
        s = load_scenario(doc)
    assert s.agents[0].arrival_config == s.agents[1].arrival_config


def test_anchors_and_merge_keys_work(tmp_path):
    text = HEAD + """\
agents:
  - &bank
    id: A
    opening_balance: 500
    unsecured_cap: 10
  - <<: *bank
    id: B
    unsecured_cap: -1
"""
    f, err = _error(tmp_path, text)
    assert str(err) == f"{f}: agents[1].unsecured_cap (line 9): must be >= 0 (got -1)"
    _, s = _load(tmp_path, text.replace("-1", "20"))
    assert [(a.id, a.opening_balance, a.unsecured_cap) for a in s.agents] == [
        ("A", 500, 10), ("B", 500, 20)]


def test_duplicate_keys_warn_with_line(tmp_path):
    text = TWO_AGENTS.replace("  - id: B\n    opening_balance: 100\n",
                              "  - id: B\n    opening_balance: 100\n    opening_balance: 7\n")
    with pytest.warns(ScenarioWarning) as rec:
        _, s = _load(tmp_path, text)
    assert s.agents[1].opening_balance == 7
    assert [str(w.message) for w in rec] == [
        f"{tmp_path / 's.yaml'}: agents[1].opening_balance (line 7): written twice in the same "
        "mapping; the later value wins"]


# ---- warnings --------------------------------------------------------------------------------

def _messages(rec):
    return [str(w.message).split(": ", 1)[1] for w in rec]


def test_unknown_keys_warn_with_path_and_hint(tmp_path):
    text = TWO_AGENTS.replace("  - id: B\n", "  - id: B\n    unsecured_capp: 5\n") + \
        "lsm_config: {enable_cycles: false, colour: red}\nfoo: 1\n"
    with pytest.warns(ScenarioWarning) as rec:
        _, s = _load(tmp_path, text)
    assert _messages(rec) == [
        "agents[1].unsecured_capp (line 6): unknown key, ignored (did you mean unsecured_cap?)",
        "lsm_config.colour (line 8): unknown key, ignored",
        "foo (line 9): unknown key, ignored",
    ]
    assert s.load_warnings == tuple(str(w.message) for w in rec)
    assert s.lsm_config.enable_cycles is False


def test_arrival_warnings(tmp_path):
    text = HEAD + """\
agents:
  - id: A
    opening_balance: 100
    arrival_config:
      rate_per_tick: 1
      amount_distribution: {type: Uniform, min: 0, max: 10}
      counterparty_weights: {A: 1, B: 1}
      deadline_range: [1, 2]
  - id: B
    opening_balance: 100
    arrival_bands:
      normal:
        rate_per_tick: 1
        amount_distribution: {type: LogNormal, mean: 12.5, std_dev: 1}
        deadline_offset_min: 1
        deadline_offset_max: 2
        counterparty_weights: {A: 1, GHOST: 1}
    limits: {bilateral_limits: {NOBODY: 5}}
scenario_events:
  - {type: GlobalArrivalRateChange, multiplier: 2, schedule: {type: OneTime, tick: 10}}
"""
    with pytest.warns(ScenarioWarning) as rec:
        _load(tmp_path, text)
    assert _messages(rec) == [
        "agents[0].arrival_config.amount_distribution.min (line 7): Uniform min 0 can draw a "
        "payment of 0 cents, which stops the run with an error (as in SimCash); use min >= 1",
        "agents[0].arrival_config.counterparty_weights.A (line 8): a weight for the sender "
        "itself is ignored",
        "agents[1].arrival_bands.normal.amount_distribution.mean (line 15): LogNormal mean and "
        "std_dev are the mean and standard deviation of the amount in cents (as in SimCash's "
        "engine), so mean 12.5 gives payments of about 12 cents",
        "agents[1].arrival_bands.normal.counterparty_weights.GHOST (line 18): not an agent, "
        "ignored (agents are: A, B)",
        "agents[1].limits.bilateral_limits.NOBODY (line 19): not an agent, ignored (agents "
        "are: A, B)",
        "scenario_events[0].schedule (line 21): never fires: the run has 10 ticks (0..9)",
    ]


def test_warnings_not_emitted_when_loading_fails(tmp_path):
    text = TWO_AGENTS + "foo: 1\nlsm_config: {max_cycle_length: 1}\n"
    import warnings
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with pytest.raises(ScenarioError):
            _load(tmp_path, text)
    assert rec == []


def test_warning_points_at_caller(tmp_path):
    with pytest.warns(ScenarioWarning) as rec:
        _load(tmp_path, TWO_AGENTS + "foo: 1\n")
    assert rec[0].filename == __file__
