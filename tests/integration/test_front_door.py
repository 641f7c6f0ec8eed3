"""What a new user meets first: the command, the schemas, the package as installed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def paysim(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _schema(kind: str) -> jsonschema.Draft202012Validator:
    out = paysim("schema", kind)
    assert out.exit_code == 0
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, doc) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def _yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---- JSON Schemas ------------------------------------------------------------------------

def test_every_bundled_scenario_and_policy_matches_the_schemas():
    scenarios, policies = _schema("scenario"), _schema("policy")
    for name in psl.data.list_scenarios():
        assert _errors(scenarios, _yaml(psl.data.scenario_path(name))) == [], name
    for name in psl.data.list_policies():
        doc = json.loads(psl.data.policy_path(name).read_text(encoding="utf-8"))
        assert _errors(policies, doc) == [], name


def test_every_simcash_example_scenario_and_policy_file_matches_the_schemas(shared_dir):
    scenarios, policies = _schema("scenario"), _schema("policy")
    examples = sorted((shared_dir / "simcash" / "examples" / "configs").glob("*.yaml"))
    files = sorted((shared_dir / "simcash" / "simulator" / "policies").rglob("*.json"))
    assert examples and files
    for path in examples:
        assert _errors(scenarios, _yaml(path)) == [], path.name
    for path in files:
        assert _errors(policies, json.loads(path.read_text(encoding="utf-8"))) == [], path.name


BASE = {"simulation": {"ticks_per_day": 3, "num_days": 1, "rng_seed": 1},
        "agents": [{"id": "A", "opening_balance": 100}]}


@pytest.mark.parametrize("change, where", [
    ({"agents": []}, ["agents"]),
    ({"agents": [{"id": "A", "opening_balance": "lots"}]}, ["agents", 0, "opening_balance"]),
    ({"agents": [{"id": "A", "opening_balance": 1, "policy": {"type": "Fast"}}]},
     ["agents", 0, "policy"]),
    ({"cost_rates": {"eod_penalty": -5}}, ["cost_rates", "eod_penalty"]),
    ({"simulation": {"ticks_per_day": 0, "num_days": 1, "rng_seed": 1}},
     ["simulation", "ticks_per_day"]),
])
def test_the_scenario_schema_rejects_what_the_loader_rejects(change, where):
    doc = {**BASE, **change}
    with pytest.raises(psl.ScenarioError):
        psl.load_scenario(doc)
    errors = list(_schema("scenario").iter_errors(doc))
    assert errors
    assert any(list(e.absolute_path)[:len(where)] == where for e in _with_context(errors))


def _with_context(errors):
    """Errors and, for anyOf/oneOf failures, the errors of each alternative."""
    for e in errors:
        yield e
        yield from _with_context(e.context or [])


LEAF = {"type": "action", "node_id": "A", "action": "Release"}


@pytest.mark.parametrize("tree", [
    5,
    {"type": "action", "node_id": "A", "action": "Relase"},
    {"type": "condition", "node_id": "C", "on_true": LEAF, "on_false": LEAF},
    {"type": "condition", "node_id": "C", "condition": {"op": "=~", "left": {"value": 1},
                                                        "right": {"value": 1}},
     "on_true": LEAF, "on_false": LEAF},
    {"type": "condition", "node_id": "C", "condition": {"op": "<", "left": {"value": 1},
                                                        "right": {"colour": "red"}},
     "on_true": LEAF, "on_false": LEAF},
    {"type": "action", "node_id": "A", "action": "Split",
     "parameters": {"num_splits": {"compute": {"op": "clamp", "value": {"value": 1}}}}},
])
def test_the_policy_schema_rejects_malformed_trees(tree):
    doc = {"version": "1.0", "policy_id": "p", "payment_tree": tree}
    with pytest.raises(psl.PolicyError):
        psl.load_policy(doc)
    assert _errors(_schema("policy"), doc)


def test_policy_parameters_must_be_numbers_in_the_schema():
    doc = {"version": "1.0", "policy_id": "p", "parameters": {"x": "3"}}
    assert _errors(_schema("policy"), doc) == ["['parameters', 'x']: '3' is not of type "
                                               "'number'"]


# ---- the package as a whole ----------------------------------------------------------------

def test_dir_lists_the_public_api():
    names = dir(psl)
    for name in ("Simulation", "load_scenario", "load_policy", "Scenario", "Store", "data",
                 "plots", "widgets", "sweep", "ScenarioError"):
        assert name in names


def test_python_dash_m_is_the_paysim_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "paysim_lab", "run", "two_bank_teaching",
                          "--ticks", "5", "--quiet", "--summary-out", "s.json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "s.json").read_text())["ticks_run"] == 5
    bad = subprocess.run([sys.executable, "-m", "paysim_lab", "frobnicate"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_short_commands_import_neither_frames_nor_notebook_nor_cluster_layers(tmp_path):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import sys, runpy\n"
            "sys.argv = ['paysim'] + sys.argv[1:]\n"
            "try:\n"
            "    runpy.run_module('paysim_lab', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "heavy = sorted(m for m in ('pandas', 'duckdb', 'scipy', 'plotly', 'ipywidgets',\n"
            "                           'dask', 'distributed')\n"
            "               if m in sys.modules)\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    for args in (["--help"], ["run", str(scenario)], ["validate", str(scenario)]):
        out = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert "HEAVY []" in out.stderr, (args, out.stderr[-500:])


# ---- what the loader says about files that are not scenarios ----------------------------

def test_a_misspelt_required_key_names_the_key_probably_meant():
    doc = {"simulation": {"ticks_per_day": 3, "num_days": 1, "rng_sed": 1},
           "agents": [{"id": "A", "openning_balance": 5}]}
    with pytest.raises(psl.ScenarioError) as err:
        psl.load_scenario(doc)
    assert str(err.value) == (
        "<dict>: 2 problems:\n"
        "  simulation.rng_seed: required key is missing (found 'rng_sed': a misspelling of "
        "'rng_seed'?)\n"
        "  agents[0].opening_balance: required key is missing (found 'openning_balance': a "
        "misspelling of 'opening_balance'?)")


def test_policy_and_experiment_files_given_as_scenarios_are_recognised(tmp_path):
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"version": "1.0", "policy_id": "p",
                                  "payment_tree": LEAF}), encoding="utf-8")
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("name: e\nscenario: ./game.yaml\nevaluation: {mode: deterministic}\n",
                          encoding="utf-8")
    for path, kind in ((policy, "a policy file"), (experiment, "an experiment file")):
        with pytest.raises(psl.ScenarioError) as err:
            psl.load_scenario(path)
        assert str(err.value).startswith(f"{path}: this is {kind}")
        out = paysim("run", path)
        assert out.exit_code == 1 and f"this is {kind}" in out.stderr
    out = paysim("validate", experiment)
    assert out.exit_code == 1 and "this is an experiment file" in out.stdout
    assert paysim("validate", policy).exit_code == 0


def test_runs_prints_an_empty_error_cell_for_finished_runs(tmp_path):
    db = tmp_path / "r.duckdb"
    assert paysim("run", "two_bank_teaching", "--persist", db, "--ticks", "3",
                  "--quiet").exit_code == 0
    out = paysim("runs", db)
    assert out.exit_code == 0
    assert "nan" not in out.stdout and "None" not in out.stdout


def test_events_out_of_a_run_and_of_its_replay_are_the_same_bytes(tmp_path):
    db, live, replayed = tmp_path / "r.duckdb", tmp_path / "live.jsonl", tmp_path / "rep.jsonl"
    assert paysim("run", "advanced_policy_crisis", "--persist", db, "--run-id", "r1",
                  "--events-out", live, "--quiet").exit_code == 0
    assert paysim("replay", db, "--run-id", "r1", "--events-out", replayed).exit_code == 0
    text = live.read_text(encoding="utf-8")
    assert '"event_type":"ScenarioEventExecuted"' in text
    assert replayed.read_text(encoding="utf-8") == text


# ---- the wheel ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory):
    build = tmp_path_factory.mktemp("wheel")
    # Built as pip builds it for a user (isolated build environment from pyproject.toml).
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(build), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = build.glob("paysim_lab-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def test_the_wheel_carries_every_bundled_file(unpacked_wheel):
    shipped = {p.relative_to(unpacked_wheel / "paysim_lab" / "_data").as_posix()
               for p in (unpacked_wheel / "paysim_lab" / "_data").rglob("*") if p.is_file()}
    in_repo = {p.relative_to(ROOT / "data").as_posix()
               for p in (ROOT / "data").rglob("*") if p.is_file()}
    assert shipped == in_repo


def test_the_installed_package_runs_bundled_data_from_another_folder(unpacked_wheel, tmp_path):
    code = ("import json, paysim_lab as psl\n"
            "assert psl.__file__.startswith(%r), psl.__file__\n"
            "sim = psl.Simulation.from_file(psl.data.scenario_path('advanced_policy_crisis'))\n"
            "sim.run()\n"
            "fifo = psl.Simulation({'simulation': {'ticks_per_day': 2, 'num_days': 1,\n"
            "                       'rng_seed': 1}, 'agents': [{'id': 'A', 'opening_balance': 1,\n"
            "                       'policy': {'type': 'Fifo'}}]})\n"
            "fifo.run()\n"
            "print(json.dumps([psl.data.list_scenarios(), sim.summary()['ticks_run'],\n"
            "                  fifo.summary()['ticks_run']]))\n") % str(unpacked_wheel)
    env = {**os.environ, "PYTHONPATH": str(unpacked_wheel)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    scenarios, crisis_ticks, fifo_ticks = json.loads(out.stdout)
    assert "advanced_policy_crisis" in scenarios and "two_bank_teaching" in scenarios
    assert (crisis_ticks, fifo_ticks) == (300, 2)


def test_bundled_files_are_found_from_the_package_when_installed():
    assert psl.data.data_dir() in (ROOT / "data", Path(psl.__file__).parent / "_data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert psl.load_scenario(psl.data.scenario_path("two_bank_teaching")).agents
