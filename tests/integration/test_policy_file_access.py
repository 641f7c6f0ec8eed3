"""Safe file access by default from the command line, and a log that is safe for terminals.

``paysim run`` and ``paysim validate`` read policy files (``json_path``) only from the
scenario's folder tree, the bundled policies and folders named with ``--allow-policy-dir``;
text from policies (hold reasons) reaches the verbose log with control characters escaped.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paysim_lab.cli import main

RELEASE = {"type": "action", "node_id": "R", "action": "Release"}


@pytest.fixture(autouse=True)
def _no_trusted_policy_folders(monkeypatch):
    monkeypatch.delenv("PAYSIM_POLICY_DIRS", raising=False)


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def scenario(policy: dict) -> dict:
    return {"simulation": {"ticks_per_day": 4, "num_days": 1, "rng_seed": 2},
            "agents": [{"id": "A", "opening_balance": 100, "policy": policy,
                        "arrival_config": {"rate_per_tick": 2,
                                           "amount_distribution": {"type": "Uniform",
                                                                   "min": 1, "max": 50},
                                           "counterparty_weights": {"B": 1},
                                           "deadline_range": [1, 3]}},
                       {"id": "B", "opening_balance": 100}]}


@pytest.fixture
def secret(tmp_path) -> Path:
    """A JSON file outside the scenario's folder that happens to be a valid policy."""
    path = tmp_path / "home" / ".config" / "secret.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": "1.0", "policy_id": "TOKEN-1234",
                                "payment_tree": RELEASE}))
    return path


@pytest.mark.parametrize("json_path", ["ABS", "../../home/.config/secret.json",
                                       "home/.config/secret.json"])
def test_run_never_reads_a_policy_file_outside_the_scenario_folder(tmp_path, secret, json_path):
    folder = tmp_path / "downloads" / "scenario"
    folder.mkdir(parents=True)
    path = folder / "s.json"
    json_path = str(secret) if json_path == "ABS" else json_path   # the last: ancestor walk
    path.write_text(json.dumps(scenario({"type": "FromJson", "json_path": json_path})))
    store = tmp_path / "runs.duckdb"
    result = cli("run", path, "--persist", store, "--quiet")
    assert result.exit_code == 1
    assert "outside those folders were refused (to allow a folder, name it with " \
           "--allow-policy-dir DIR" in result.output
    assert "TOKEN-1234" not in result.output
    assert not store.exists()
    checked = cli("validate", path)
    assert checked.exit_code == 1 and "were refused" in checked.output


def test_allow_policy_dir_names_a_trusted_folder(tmp_path, secret):
    folder = tmp_path / "scenario"
    folder.mkdir()
    path = folder / "s.json"
    path.write_text(json.dumps(scenario({"type": "FromJson", "json_path": str(secret)})))
    result = cli("run", path, "--allow-policy-dir", secret.parent, "--quiet")
    assert result.exit_code == 0, result.output
    assert cli("validate", path, "--allow-policy-dir", secret.parent).output == \
        f"OK {path} (scenario)\n"


def test_policy_files_in_the_scenario_folder_tree_and_bundled_ones_load(tmp_path):
    folder = tmp_path / "scenario"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "mine.json").write_text(json.dumps(
        {"version": "1.0", "policy_id": "mine", "payment_tree": RELEASE}))
    for json_path in ("policies/mine.json", "fifo.json"):
        path = folder / "s.json"
        path.write_text(json.dumps(scenario({"type": "FromJson", "json_path": json_path})))
        assert cli("run", path, "--quiet").exit_code == 0


def test_the_verbose_log_escapes_control_characters_from_policies(tmp_path):
    # a register key and a reason come from the policy verbatim (ids cannot carry them: the
    # loader refuses ids that are not printable)
    state = {"type": "action", "node_id": "S", "action": "SetState",
             "parameters": {"key": {"value": "bank_state_\x1b[2Jwipe"}, "value": {"value": 7},
                            "reason": {"value": "\x07ring\u202eevil"}}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario({"type": "Inline", "decision_trees": {
        "version": "1.0", "policy_id": "h", "bank_tree": state, "payment_tree": RELEASE}})))
    result = cli("run", path, "--verbose")
    assert result.exit_code == 0, result.output
    assert "\\x1b[2Jwipe: 0.0 → 7.0 (\\x07ring\\u202eevil)" in result.output
    bad = [ch for ch in result.output if ch in "\x7f\u202e" or (ord(ch) < 32 and ch != "\n")]
    assert bad == []
