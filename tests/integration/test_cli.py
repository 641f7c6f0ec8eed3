"""The paysim command end to end (in-process through click's runner)."""
from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab.store.schema import SCHEMA_VERSION
from paysim_lab.cli import main
from paysim_lab.report import money

CRISIS = "advanced_policy_crisis"


def paysim(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def ticks_of(text: str) -> dict[int, str]:
    """Split a verbose log into {tick: its text}."""
    parts = re.split(r"(?m)^(?=═══ Tick \d+ ═══$)", text)
    return {int(re.match(r"═══ Tick (\d+)", p).group(1)): p for p in parts if p}


@pytest.fixture(scope="module")
def crisis_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "runs.duckdb"
    live = paysim("run", CRISIS, "--verbose", "--persist", db, "--run-id", "crisis-1")
    assert live.exit_code == 0, live.stderr
    filtered = paysim("run", CRISIS, "--verbose", "--persist", db, "--run-id", "crisis-agent",
                      "--filter-agent", "BOREAL", "--filter-event-type",
                      "PolicySubmit,RtgsImmediateSettlement,CollateralPost")
    assert filtered.exit_code == 0, filtered.stderr
    return db, live.stdout, filtered.stdout


def test_run_then_replay_prints_the_same_bytes(crisis_db):
    db, live, _ = crisis_db
    rep = paysim("replay", db, "--run-id", "crisis-1", "--verbose")
    assert rep.exit_code == 0
    assert rep.stdout == live
    assert rep.stdout.encode("utf-8") == live.encode("utf-8")
    assert len(ticks_of(live)) == 300
    assert "Max Release:" in live and "AUTO-WITHDRAWN (timer)" in live


def test_live_log_has_no_timing_and_notes_go_to_stderr(crisis_db):
    db, live, _ = crisis_db
    assert "ticks/s" not in live and "paysim:" not in live
    out = paysim("run", "two_bank_teaching", "--verbose")
    assert "ticks/s" in out.stderr and "ticks/s" not in out.stdout


def test_filtered_run_replays_identically(crisis_db):
    db, live, filtered = crisis_db
    rep = paysim("replay", db, "--run-id", "crisis-agent", "--verbose", "--filter-agent",
                 "BOREAL", "--filter-event-type",
                 "PolicySubmit,RtgsImmediateSettlement,CollateralPost")
    assert rep.exit_code == 0 and rep.stdout == filtered
    assert filtered != live


def test_replay_sub_range_equals_the_live_slice(crisis_db):
    db, live, _ = crisis_db
    by_tick = ticks_of(live)
    rep = paysim("replay", db, "--run-id", "crisis-1", "--verbose", "--from-tick", 137,
                 "--to-tick", 212)
    assert rep.exit_code == 0
    assert rep.stdout == "".join(by_tick[t] for t in range(137, 213))


def test_tick_range_filter_equals_replay_range(crisis_db):
    db, live, _ = crisis_db
    rep = paysim("replay", db, "--run-id", "crisis-1", "--verbose", "--filter-tick-range",
                 "290-")
    assert rep.stdout == "".join(ticks_of(live)[t] for t in range(290, 300))


def test_replay_defaults_to_the_latest_run_and_names_it(crisis_db):
    db, _, filtered = crisis_db
    rep = paysim("replay", db)
    assert rep.exit_code == 0
    assert "replaying crisis-agent" in rep.stderr
    summary = json.loads(rep.stdout)
    assert summary["scenario"] == CRISIS and summary["ticks_run"] == 300


def test_replay_verify(crisis_db):
    db, _, _ = crisis_db
    rep = paysim("replay", db, "--run-id", "crisis-1", "--verify")
    assert rep.exit_code == 0
    assert re.search(r"verified crisis-1: \d+ events over 300 ticks match", rep.stderr)


@pytest.mark.parametrize("args", [("--from-tick", 300), ("--to-tick", -1),
                                  ("--from-tick", 50, "--to-tick", 40)])
def test_replay_range_outside_the_stored_ticks_is_a_usage_error(crisis_db, args):
    db, _, _ = crisis_db
    rep = paysim("replay", db, "--run-id", "crisis-1", "--verbose", *args)
    assert rep.exit_code == 2
    assert "Traceback" not in rep.output


def test_runs_lists_the_stored_runs(crisis_db):
    db, _, _ = crisis_db
    out = paysim("runs", db)
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["run_id", "scenario", "seed", "ticks", "status", "started_at",
                                "error"]
    assert lines[1].split()[:5] == ["crisis-1", CRISIS, "20251113", "300/300", "completed"]
    assert lines[2].split()[0] == "crisis-agent"


def test_db_info_check_and_migrate(crisis_db):
    db, _, _ = crisis_db
    info = paysim("db", "info", db)
    assert info.exit_code == 0
    assert f"schema version: {SCHEMA_VERSION}" in info.stdout
    assert re.search(r"^  tick_summaries: 600$", info.stdout, re.M)
    assert re.search(r"^  crisis-1: .*tick_summaries 300", info.stdout, re.M)
    check = paysim("db", "check", db)
    assert (check.exit_code, check.stdout) == (0, f"OK {db}\n")
    mig = paysim("db", "migrate", db)
    assert mig.stdout == f"{db} is up to date (schema version {SCHEMA_VERSION})\n"


def test_duplicate_run_id_exits_1_with_a_message(crisis_db):
    db, _, _ = crisis_db
    out = paysim("run", "two_bank_teaching", "--persist", db, "--run-id", "crisis-1")
    assert out.exit_code == 1
    assert out.stderr.startswith("error: ") and "already exists" in out.stderr
    assert out.stdout == ""


# ------------------------------------------------------------------------------ run outputs
def test_run_json_prints_the_json_summary(tmp_path):
    out = paysim("run", "two_bank_teaching", "--json", "--summary-out", tmp_path / "s.json")
    assert out.exit_code == 0
    sim = psl.Simulation.from_file(psl.data.scenario_path("two_bank_teaching"))
    sim.run()
    assert json.loads(out.stdout) == json.loads(json.dumps(sim.summary()))
    assert out.stdout == json.dumps(sim.summary(), indent=2, sort_keys=True,
                                    ensure_ascii=False) + "\n"
    assert (tmp_path / "s.json").read_text() == out.stdout


def test_run_prints_a_human_summary_by_default_headline_first(tmp_path):
    out = paysim("run", "two_bank_teaching", "--summary-out", tmp_path / "s.json")
    assert out.exit_code == 0
    summary = json.loads((tmp_path / "s.json").read_text())     # --summary-out stays JSON
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"two_bank_teaching (seed {summary['seed']}): "
                               f"{summary['settlements']} of {summary['arrivals']} payments "
                               f"settled")
    assert lines[0].endswith(f"total cost {money(summary['total_cost'])}")
    assert lines[1].startswith(f"ticks {summary['ticks_run']} of {summary['total_ticks']}")
    assert lines[2] == "" and lines[3].split()[:3] == ["bank", "total", "cost"]
    for aid, agent in summary["agents"].items():
        row = next(line for line in lines[4:] if line.split()[0] == aid)
        assert row.split()[1] == money(agent["total_cost"])
        assert row.split()[-1] == money(agent["balance"])
    assert len(lines) == 4 + len(summary["agents"])
    assert "{" not in out.stdout


def test_quiet_prints_nothing(tmp_path):
    out = paysim("run", "two_bank_teaching", "--quiet", "--summary-out", tmp_path / "s.json")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", "")
    assert json.loads((tmp_path / "s.json").read_text())["ticks_run"] == 20


def test_events_out_writes_one_json_object_per_event(tmp_path):
    f = tmp_path / "ev.jsonl"
    db = tmp_path / "e.duckdb"
    out = paysim("run", "two_bank_teaching", "--events-out", f, "--persist", db, "--quiet")
    assert out.exit_code == 0
    lines = f.read_text(encoding="utf-8").splitlines()
    sim = psl.Simulation.from_file(psl.data.scenario_path("two_bank_teaching"))
    sim.run()
    assert len(lines) == len(sim.events)
    first = json.loads(lines[0])
    assert list(first)[:2] == ["event_type", "tick"]
    ev0 = sim.events.iloc[0]
    assert first == {"event_type": ev0["event_type"], "tick": int(ev0["tick"]),
                     **ev0["details"]}
    assert lines[0] == json.dumps(first, separators=(",", ":"), ensure_ascii=False)
    again = tmp_path / "again.jsonl"
    assert paysim("replay", db, "--events-out", again).exit_code == 0
    assert again.read_bytes() == f.read_bytes()


def test_filters_do_not_change_events_out_or_storage(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    paysim("run", "two_bank_teaching", "--events-out", a, "--quiet")
    paysim("run", "two_bank_teaching", "--events-out", b, "--verbose", "--filter-agent",
           "NORTH", "--filter-event-type", "Arrival")
    assert a.read_bytes() == b.read_bytes()


def test_ticks_runs_the_first_ticks_and_keeps_the_day_structure(tmp_path):
    db = tmp_path / "t.duckdb"
    out = paysim("run", CRISIS, "--ticks", 130, "--persist", db, "--run-id", "part", "--json")
    assert out.exit_code == 0
    summary = json.loads(out.stdout)
    assert (summary["ticks_run"], summary["total_ticks"]) == (130, 300)
    with psl.Store(db) as store:
        row = store.run("part")
        assert (row["status"], row["ticks_run"], row["total_ticks"], row["ticks_per_day"]) == \
            ("completed", 130, 300, 100)
        assert store.sql("SELECT count(*) n FROM daily_agent_metrics")["n"][0] == 4
        assert store.verify("part").ok


def test_seed_and_compat_options_are_recorded(tmp_path):
    db = tmp_path / "s.duckdb"
    out = paysim("run", "two_bank_teaching", "--seed", 123, "--compat", "simcash",
                 "--persist", db, "--run-id", "s123", "--quiet")
    assert out.exit_code == 0
    with psl.Store(db) as store:
        row = store.run("s123")
        assert (row["rng_seed"], row["profile"]) == (123, "simcash")
        assert json.loads(row["config_json"])["compat"] == "simcash"


# ------------------------------------------------------------------------------ failures
def failing_yaml(tmp_path):
    # simcash: a post above capacity stops the run (the extended profile posts what fits)
    cfg = {"simulation": {"ticks_per_day": 8, "num_days": 3, "rng_seed": 5}, "compat": "simcash",
           "agents": [
               {"id": "A", "opening_balance": 50000, "unsecured_cap": 10000,
                "max_collateral_capacity": 100000,
                "policy": {"type": "Inline", "decision_trees": {
                    "version": "1.0", "policy_id": "overposter",
                    "payment_tree": {"type": "action", "node_id": "R", "action": "Release"},
                    "strategic_collateral_tree": {
                        "type": "condition", "node_id": "S0",
                        "condition": {"op": "==", "left": {"field": "current_tick"},
                                      "right": {"value": 13}},
                        "on_true": {"type": "action", "node_id": "S1",
                                    "action": "PostCollateral",
                                    "parameters": {"amount": {"value": 500000}}},
                        "on_false": {"type": "action", "node_id": "S2",
                                     "action": "HoldCollateral"}}}},
                "arrival_config": {"rate_per_tick": 0.7,
                                   "amount_distribution": {"type": "Uniform", "min": 2000,
                                                           "max": 25000},
                                   "counterparty_weights": {"B": 1.0},
                                   "deadline_range": [2, 6]}},
               {"id": "B", "opening_balance": 50000}]}
    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_failed_run_exits_1_is_stored_failed_and_replays_identically(tmp_path):
    db = tmp_path / "f.duckdb"
    out = paysim("run", failing_yaml(tmp_path), "--verbose", "--persist", db, "--run-id", "bad")
    assert out.exit_code == 1
    err_lines = out.stderr.strip().splitlines()
    assert err_lines[-1].startswith("error: ") and "Traceback" not in out.stderr
    assert "tick 13" in err_lines[-1] and "A" in err_lines[-1]
    assert sorted(ticks_of(out.stdout)) == list(range(13))
    with psl.Store(db) as store:
        row = store.run("bad")
        assert (row["status"], row["ticks_run"]) == ("failed", 13)
        assert row["error"].startswith("SimulationError")
    rep = paysim("replay", db, "--verbose")
    assert rep.exit_code == 0 and rep.stdout == out.stdout


def test_invalid_yaml_exits_1_without_traceback(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("simulation: {ticks_per_day: 10\nagents: [\n")
    out = paysim("run", bad)
    assert out.exit_code == 1
    assert out.stderr.startswith("error: ") and str(bad) in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.output and out.stdout == ""


def test_invalid_scenario_names_the_path_inside_the_file(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("simulation: {ticks_per_day: 10, num_days: 1, rng_seed: 1}\n"
                   "agents:\n  - {id: A, opening_balance: 'lots'}\n")
    out = paysim("run", bad)
    assert out.exit_code == 1
    assert "agents[0].opening_balance" in out.stderr or "agents.0.opening_balance" in out.stderr


def test_missing_scenario_file_exits_1(tmp_path):
    out = paysim("run", tmp_path / "nope.yaml")
    assert out.exit_code == 1 and out.stderr.startswith("error: ")


# ------------------------------------------------------------------------------ validate
def test_validate_reports_ok_invalid_and_lints(tmp_path):
    good = psl.data.scenario_path("two_bank_teaching")
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"version": "1.0", "policy_id": "p", "payment_tree": {
        "type": "action", "node_id": "R", "action": "Release"}}))
    broken = tmp_path / "b.json"
    broken.write_text(json.dumps({"version": "1.0", "policy_id": "b", "payment_tree": {
        "type": "condition", "node_id": "C",
        "condition": {"op": ">", "left": {"field": "no_such_field"}, "right": {"value": 1}},
        "on_true": {"type": "action", "node_id": "R", "action": "Release"},
        "on_false": {"type": "action", "node_id": "H", "action": "Hold"}}}))
    linty = tmp_path / "l.json"
    linty.write_text(json.dumps({"version": "1.0", "policy_id": "l", "payment_tree": {
        "type": "action", "node_id": "R", "action": "Release", "surprise": 1}}))
    out = paysim("validate", good, policy, broken, linty)
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    assert f"OK {good} (scenario)" in lines
    assert f"OK {policy} (policy)" in lines
    assert f"INVALID {broken} (policy)" in lines
    assert any(l.startswith("  error: ") and "InvalidFieldReference" in l
               and "no_such_field" in l for l in lines)
    assert f"OK {linty} (policy)" in lines
    assert any(l.startswith("  warning: ") and "surprise" in l for l in lines)
    assert paysim("validate", good, policy).exit_code == 0


@pytest.mark.golden
def test_events_out_matches_the_reference_event_stream(shared_dir, tmp_path):
    cfg = shared_dir / "simcash" / "examples" / "configs" / "advanced_policy_crisis.yaml"
    golden = shared_dir / "simcash" / "golden" / "advanced_policy_crisis.events.jsonl"
    out = tmp_path / "ev.jsonl"
    res = paysim("run", cfg, "--compat", "simcash", "--events-out", out, "--quiet")
    assert res.exit_code == 0
    ours = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    ref = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]
    assert len(ours) == len(ref)
    for i, (want, got) in enumerate(zip(ref, ours)):
        assert {k: got.get(k) for k in want} == want, f"event {i}"
