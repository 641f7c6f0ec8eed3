"""Attaching policies to agents: built-ins, FromJson path resolution, inline forms, toggles."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from paysim_lab import data
from paysim_lab.config import load_scenario, policies
from paysim_lab.config._testing import stub_policy_api
from paysim_lab.errors import ScenarioError, ScenarioWarning


@pytest.fixture(autouse=True)
def _stub_policies(monkeypatch):
    monkeypatch.setattr(policies, "policy_api", stub_policy_api)


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """A private bundled data folder holding policies/bundled_only.json and shared.json."""
    root = tmp_path / "bundled_data"
    (root / "policies" / "test_policies").mkdir(parents=True)
    (root / "scenarios").mkdir()
    _policy(root / "policies" / "bundled_only.json", "from_bundle")
    _policy(root / "policies" / "shared.json", "shared_from_bundle")
    _policy(root / "policies" / "test_policies" / "t1.json", "t1_from_bundle")
    monkeypatch.setattr(data, "DATA_DIR", root)
    return root


def _policy(path: Path, policy_id: str, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": "1.0", "policy_id": policy_id,
           "payment_tree": {"type": "action", "node_id": "R", "action": "Release"}}
    doc.update(extra)
    path.write_text(json.dumps(doc))
    return path


def _scenario(agent_policies: list, **top) -> dict:
    agents = [{"id": f"B{i}", "opening_balance": 100} for i in range(len(agent_policies))]
    for agent, pol in zip(agents, agent_policies):
        if pol is not None:
            agent["policy"] = pol
    doc = {"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 1}, "agents": agents}
    doc.update(top)
    return doc


def _write_scenario(folder: Path, doc: dict, name="scenario.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / name
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    return f


# ---- built-in types and the default --------------------------------------------------------

def test_builtin_types_inject_their_parameters(bundled):
    s = load_scenario(_scenario([
        None,
        {"type": "Fifo"},
        {"type": "Deadline", "urgency_threshold": 4},
        {"type": "LiquidityAware", "target_buffer": 500, "urgency_threshold": 2},
        {"type": "LiquiditySplitting", "max_splits": 3, "min_split_amount": 100},
        {"type": "MockSplitting", "num_splits": 2},
    ]))
    got = {aid: (d["policy_id"], d["parameters"]) for aid, d in s.agent_policies.items()}
    assert got == {
        "B0": ("builtin_Fifo", {}),
        "B1": ("builtin_Fifo", {}),
        "B2": ("builtin_Deadline", {"urgency_threshold": 4.0}),
        "B3": ("builtin_LiquidityAware", {"target_buffer": 500.0, "urgency_threshold": 2.0}),
        "B4": ("builtin_LiquiditySplitting", {"max_splits": 3.0, "min_split_amount": 100.0}),
        "B5": ("builtin_MockSplitting", {"num_splits": 2.0}),
    }


def test_params_on_a_builtin_are_ignored_with_warning(bundled):
    with pytest.warns(ScenarioWarning) as rec:
        s = load_scenario(_scenario([{"type": "Deadline", "urgency_threshold": 4,
                                      "params": {"urgency_threshold": 9}}]))
    assert s.agent_policies["B0"]["parameters"] == {"urgency_threshold": 4.0}
    assert [str(w.message) for w in rec] == [
        "<dict>: agents[0].policy.params: ignored: SimCash does not apply parameter overrides "
        "to policies (urgency_threshold); to override parameters use the top-level policies "
        "map with policy_params"]


# ---- FromJson: resolution order ----------------------------------------------------------

def test_json_path_prefers_the_scenario_folder(tmp_path, bundled, monkeypatch):
    work = tmp_path / "repo"
    scen_dir = work / "examples" / "configs"
    _policy(scen_dir / "pol" / "shared.json", "in_scenario_folder")
    _policy(work / "pol" / "shared.json", "in_ancestor")
    monkeypatch.chdir(tmp_path)
    f = _write_scenario(scen_dir, _scenario([{"type": "FromJson",
                                              "json_path": "pol/shared.json"}]))
    assert load_scenario(f).agent_policies["B0"]["policy_id"] == "in_scenario_folder"


def test_json_path_walks_up_the_ancestors(tmp_path, bundled, monkeypatch):
    work = tmp_path / "repo"
    scen_dir = work / "examples" / "configs"
    _policy(work / "simulator" / "policies" / "shared.json", "two_levels_up")
    _policy(tmp_path / "simulator" / "policies" / "shared.json", "three_levels_up")
    monkeypatch.chdir(tmp_path / "repo" / "simulator")
    f = _write_scenario(scen_dir, _scenario([{"type": "FromJson",
                                              "json_path": "simulator/policies/shared.json"}]))
    # an ancestor is outside the scenario's folder tree: it is read only when the user names it
    assert load_scenario(f, allowed_policy_dirs=[work]).agent_policies["B0"]["policy_id"] == \
        "two_levels_up"


def test_by_default_the_ancestor_walk_never_reads_outside_the_scenario_folder(
        tmp_path, bundled, monkeypatch):
    work = tmp_path / "repo"
    scen_dir = work / "examples" / "configs"
    _policy(work / "simulator" / "policies" / "shared.json", "two_levels_up")
    _policy(work / "simulator" / "policies" / "secret.json", "secret")
    monkeypatch.chdir(tmp_path)
    f = _write_scenario(scen_dir, _scenario([{"type": "FromJson",
                                              "json_path": "simulator/policies/shared.json"}]))
    # the bundled copy of the same file name is used instead
    assert load_scenario(f).agent_policies["B0"]["policy_id"] == "shared_from_bundle"
    f = _write_scenario(scen_dir, _scenario([{"type": "FromJson",
                                              "json_path": "simulator/policies/secret.json"}]))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.errors[0]["message"].endswith(
        "; 1 location(s) outside those folders were refused (to allow a folder, name it with "
        "--allow-policy-dir DIR, or allowed_policy_dirs=[DIR] in load_scenario)")
    monkeypatch.setenv("PAYSIM_POLICY_DIRS", str(work))
    assert load_scenario(f).agent_policies["B0"]["policy_id"] == "secret"


def test_json_path_then_current_directory(tmp_path, bundled, monkeypatch):
    scen_dir = tmp_path / "scenarios" / "deep"
    cwd = tmp_path / "elsewhere"
    _policy(cwd / "p" / "shared.json", "from_cwd")
    monkeypatch.chdir(cwd)
    f = _write_scenario(scen_dir, _scenario([{"type": "FromJson", "json_path": "p/shared.json"}]))
    assert load_scenario(f, allowed_policy_dirs=[cwd]).agent_policies["B0"]["policy_id"] == \
        "from_cwd"


def test_json_path_then_bundled_by_file_name(tmp_path, bundled, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = _write_scenario(tmp_path / "s", _scenario([
        {"type": "FromJson", "json_path": "simulator/policies/shared.json"},
        {"type": "FromJson", "json_path": "simulator/policies/test_policies/t1.json"},
    ]))
    docs = load_scenario(f).agent_policies
    assert docs["B0"]["policy_id"] == "shared_from_bundle"
    assert docs["B1"]["policy_id"] == "t1_from_bundle"


def test_candidate_order_is_folder_ancestors_cwd_bundle(tmp_path, bundled, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "a" / "b"
    r = policies.PolicyPathResolver(base)
    cands = [str(c) for c in r.candidates("x/p.json")]
    expected = [str(d / "x" / "p.json") for d in (base, *base.parents)]
    expected += [str(bundled / "policies" / "p.json"), str(bundled / "policies" / "x" / "p.json")]
    # the current directory (tmp_path) is also an ancestor: it keeps its ancestor position
    assert cands == expected


def test_missing_policy_file_lists_every_place_tried(tmp_path, bundled, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    scen_dir = tmp_path / "x" / "y"
    f = _write_scenario(scen_dir, _scenario([None, {"type": "FromJson",
                                                    "json_path": "pols/missing.json"}]))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    err = info.value.errors[0]
    assert err["path"] == "agents[1].policy.json_path"
    # places outside the scenario's folder tree are not even looked at
    tried = [str(scen_dir / "pols" / "missing.json"), str(bundled / "policies" / "missing.json"),
             str(bundled / "policies" / "pols" / "missing.json")]
    assert err["message"] == ("policy file 'pols/missing.json' not found; looked in: "
                              + "; ".join(tried))
    assert str(info.value).startswith(f"{f}: agents[1].policy.json_path (line ")


def test_dict_source_resolves_against_base_dir(tmp_path, bundled):
    _policy(tmp_path / "cfg" / "p.json", "from_base_dir")
    doc = _scenario([{"type": "FromJson", "json_path": "p.json"}])
    s = load_scenario(doc, base_dir=tmp_path / "cfg")
    assert s.agent_policies["B0"]["policy_id"] == "from_base_dir"
    assert s.base_dir == tmp_path / "cfg"
    assert load_scenario(_scenario([None])).base_dir is None
    f = _write_scenario(tmp_path / "files", _scenario([None]))
    assert load_scenario(f).base_dir == tmp_path / "files"


def test_absolute_json_path(tmp_path, bundled, monkeypatch):
    p = _policy(tmp_path / "abs.json", "absolute")
    doc = _scenario([{"type": "FromJson", "json_path": str(p)}])
    with pytest.raises(ScenarioError, match="1 location\\(s\\) outside those folders were refused"):
        load_scenario(doc)      # a dict's own folder is the current directory
    assert load_scenario(doc, allowed_policy_dirs=[tmp_path]).agent_policies["B0"][
        "policy_id"] == "absolute"
    monkeypatch.chdir(tmp_path)
    assert load_scenario(doc).agent_policies["B0"]["policy_id"] == "absolute"


def test_broken_policy_file_names_file_and_line(tmp_path, bundled):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0",\n "policy_id": }')
    f = _write_scenario(tmp_path, _scenario([{"type": "FromJson", "json_path": "bad.json"}]))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.errors[0]["path"] == "agents[0].policy.json_path"
    assert info.value.errors[0]["message"] == (f"{bad}: line 2, column 15: JSON syntax error: "
                                               "Expecting value")


def test_policy_file_must_hold_an_object(tmp_path, bundled):
    (tmp_path / "list.json").write_text("[1, 2]")
    f = _write_scenario(tmp_path, _scenario([{"type": "FromJson", "json_path": "list.json"}]))
    with pytest.raises(ScenarioError, match=r"list.json: a policy file must hold a JSON object"):
        load_scenario(f)


def test_each_agent_gets_its_own_copy_of_a_shared_file(tmp_path, bundled):
    _policy(tmp_path / "p.json", "shared", parameters={"k": 1.0})
    f = _write_scenario(tmp_path, _scenario([{"type": "FromJson", "json_path": "p.json"}] * 2))
    docs = load_scenario(f).agent_policies
    docs["B0"]["parameters"]["k"] = 5.0
    assert docs["B1"]["parameters"]["k"] == 1.0


# ---- allowed_policy_dirs (untrusted scenarios) ----------------------------------------------

def test_allowed_dirs_refuse_files_outside(tmp_path, bundled):
    outside = _policy(tmp_path / "secret" / "p.json", "secret")
    uploads = tmp_path / "uploads"
    f = _write_scenario(uploads, _scenario([{"type": "FromJson", "json_path": str(outside)}]))
    assert load_scenario(f, allowed_policy_dirs=[tmp_path]).agent_policies["B0"][
        "policy_id"] == "secret"    # a folder the user names: fine
    with pytest.raises(ScenarioError) as info:
        load_scenario(f, allowed_policy_dirs=[uploads])
    err = info.value.errors[0]
    assert err["path"] == "agents[0].policy.json_path"
    assert err["message"].startswith(f"policy file {str(outside)!r} not found inside the allowed "
                                     f"policy folders ({uploads.resolve()}, ")
    assert "location(s) outside those folders were refused" in err["message"]


def test_allowed_dirs_refuse_dotdot_and_symlink_escapes(tmp_path, bundled):
    _policy(tmp_path / "p.json", "escaped")
    uploads = tmp_path / "uploads"
    (uploads / "link.json").parent.mkdir(parents=True)
    os.symlink(tmp_path / "p.json", uploads / "link.json")
    for json_path in ("../p.json", "link.json"):
        f = _write_scenario(uploads, _scenario([{"type": "FromJson", "json_path": json_path}]))
        with pytest.raises(ScenarioError, match="refused"):
            load_scenario(f, allowed_policy_dirs=[uploads])


def test_allowed_dirs_accept_inside_and_bundled(tmp_path, bundled):
    uploads = tmp_path / "uploads"
    _policy(uploads / "mine.json", "mine")
    f = _write_scenario(uploads, _scenario([
        {"type": "FromJson", "json_path": "mine.json"},
        {"type": "FromJson", "json_path": "simulator/policies/bundled_only.json"}]))
    docs = load_scenario(f, allowed_policy_dirs=[uploads]).agent_policies
    assert (docs["B0"]["policy_id"], docs["B1"]["policy_id"]) == ("mine", "from_bundle")


# ---- Inline and InlineJson ------------------------------------------------------------------

def test_inline_and_inline_json(bundled):
    tree = {"version": "2.0", "policy_id": "inl", "parameters": {"a": 1},
            "payment_tree": {"type": "action", "node_id": "H", "action": "Hold"}}
    s = load_scenario(_scenario([{"type": "Inline", "decision_trees": tree},
                                 {"type": "InlineJson", "json_string": json.dumps(tree)}]))
    assert s.agent_policies == {"B0": tree, "B1": tree}
    assert s.agent_policies["B0"] is not s.agent_policies["B1"]


def test_inline_document_with_non_string_keys_does_not_crash(bundled):
    tree = {"version": "1.0", "policy_id": "odd", "payment_tree": {1: "one", "a": "b"}}
    s = load_scenario(_scenario([{"type": "Inline", "decision_trees": tree}] * 2,
                                policy_feature_toggles={"exclude": ["BankAction"]}))
    assert s.agent_policies["B0"] == tree and s.agent_policies["B1"] == tree
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario([{"type": "Inline", "decision_trees": {1: "x"}}]))
    assert str(info.value) == ("<dict>: agents[0].policy.decision_trees: keys must be "
                               "strings (got the key 1)")


def test_inline_json_must_be_an_object(bundled):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario([{"type": "InlineJson", "json_string": "[1]"}]))
    assert str(info.value) == ("<dict>: agents[0].policy.json_string: must hold a JSON object "
                               "(got a list)")


# ---- the inline policies map ---------------------------------------------------------------

def test_policies_map_entry_can_be_a_json_path(tmp_path, bundled):
    _policy(tmp_path / "pp" / "c.json", "cautious_file", parameters={"x": 1.0})
    doc = {"seed": 1, "ticks_per_day": 3,
           "policies": {"cautious": "pp/c.json"},
           "agents": [{"id": "A", "opening_balance": 1, "policy_id": "cautious",
                       "policy_params": {"x": 2}}]}
    f = _write_scenario(tmp_path, doc)
    got = load_scenario(f).agent_policies["A"]
    assert (got["policy_id"], got["parameters"]) == ("cautious_file", {"x": 2.0})


def test_policies_map_missing_file_reported_at_entry(tmp_path, bundled):
    doc = {"seed": 1, "ticks_per_day": 3, "policies": {"c": "nowhere.json"},
           "agents": [{"id": "A", "opening_balance": 1, "policy_id": "c"}]}
    f = _write_scenario(tmp_path, doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert [e["path"] for e in info.value.errors] == ["policies.c"]
    assert info.value.errors[0]["message"].startswith("policy file 'nowhere.json' not found")


def test_unknown_policy_id_without_map(bundled):
    doc = {"seed": 1, "ticks_per_day": 3,
           "agents": [{"id": "A", "opening_balance": 1, "policy_id": "c"}]}
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == ("<dict>: agents[0].policy_id: unknown policy 'c'; known policy "
                               "ids: none (there is no top-level policies map)")


def test_agent_without_policy_in_inline_format_gets_fifo(bundled):
    doc = {"seed": 1, "ticks_per_day": 3, "policies": {"p": {}},
           "agents": [{"id": "A", "opening_balance": 1},
                      {"id": "B", "opening_balance": 1, "policy_id": "p"}]}
    s = load_scenario(doc)
    assert s.agent_policies["A"]["policy_id"] == "builtin_Fifo"
    assert s.agent_policies["B"] == {"version": "1.0", "policy_id": "p"}


# ---- policy_feature_toggles -----------------------------------------------------------------

COLLATERAL_TREE = {"version": "1.0", "policy_id": "coll",
                   "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
                   "strategic_collateral_tree": {"type": "action", "node_id": "P",
                                                 "action": "PostCollateral"}}


def test_forbidden_categories_are_load_errors(bundled):
    doc = _scenario([{"type": "Inline", "decision_trees": COLLATERAL_TREE}, {"type": "Fifo"}],
                    policy_feature_toggles={"include": ["PaymentAction"]})
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == ("<dict>: agents[0].policy: Agent B0: Policy uses forbidden "
                               "categories: CollateralAction. Allowed categories: "
                               "PaymentAction.")
    doc["policy_feature_toggles"] = {"exclude": ["CollateralAction", "BankAction"]}
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert info.value.errors[0]["message"] == (
        "Agent B0: Policy uses forbidden categories: CollateralAction. Excluded "
        "categories: CollateralAction, BankAction.")


def test_forbidden_categories_only_warn_for_inline_json(bundled):
    doc = _scenario([{"type": "InlineJson", "json_string": json.dumps(COLLATERAL_TREE)}],
                    policy_feature_toggles={"exclude": ["CollateralAction"]})
    with pytest.warns(ScenarioWarning, match=r"agents\[0\].policy: Agent B0: Policy uses "
                                             r"forbidden categories: CollateralAction\. "):
        load_scenario(doc)


def test_toggles_apply_to_policies_map(bundled):
    doc = {"seed": 1, "ticks_per_day": 3, "policies": {"c": COLLATERAL_TREE | {"policy_id": "c"}},
           "policy_feature_toggles": {"exclude": ["CollateralAction"]},
           "agents": [{"id": "A", "opening_balance": 1, "policy_id": "c"}]}
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert info.value.errors[0]["path"] == "agents[0].policy_id"


# ---- with the real policy package ---------------------------------------------------------

def _real_policy_api():
    try:
        from paysim_lab import policy
        return policies.PolicyApi(policy.builtin_document, policy.validate_document,
                                  policy.check_feature_toggles)
    except (ImportError, AttributeError):
        return None


SIMCASH = Path(__file__).resolve().parents[2] / ".." / "shared" / "simcash"


@pytest.mark.skipif(_real_policy_api() is None,
                    reason="paysim_lab.policy does not provide builtin_document/validate_document/"
                           "check_feature_toggles yet")
@pytest.mark.skipif(not SIMCASH.is_dir(), reason="../shared/simcash reference files are absent")
@pytest.mark.parametrize("name", ["advanced_policy_crisis.yaml", "target2_crisis_25day.yaml",
                                  "test_priority_escalation.yaml", "test_minimal_eod.yaml"])
def test_reference_files_with_real_policy_package(monkeypatch, name):
    api = _real_policy_api()
    monkeypatch.setattr(policies, "policy_api", lambda: api)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = load_scenario(SIMCASH / "examples" / "configs" / name)
    assert set(s.agent_policies) == {a.id for a in s.agents}
