"""Command-line parsing: usage errors exit 2, help names every command."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab.store.schema import SCHEMA_VERSION
from paysim_lab.cli import main


def paysim(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_help_lists_every_command():
    out = paysim("--help")
    assert out.exit_code == 0
    for cmd in ("run", "replay", "runs", "validate", "db"):
        assert f"  {cmd} " in out.stdout
    db = paysim("db", "--help")
    for cmd in ("info", "check", "migrate"):
        assert f"  {cmd} " in db.stdout


def test_version():
    out = paysim("--version")
    assert out.exit_code == 0 and out.stdout == f"paysim, version {psl.__version__}\n"


@pytest.mark.parametrize("args,message", [
    (("--filter-agent", "A"), "--filter-agent only filter the --verbose log"),
    (("--filter-tick-range", "1-3"), "--filter-tick-range only filter the --verbose log"),
    (("--verbose", "--filter-tick-range", "9-3"), "start is after end"),
    (("--verbose", "--filter-tick-range", "x"), "expected A-B"),
    (("--verbose", "--filter-event-type", "Arival"), "unknown event type(s) Arival"),
    (("--run-id", "x"), "--run-id, --flush-every and --store need --persist"),
    (("--flush-every", "3"), "--run-id, --flush-every and --store need --persist"),
    (("--store", "events"), "--run-id, --flush-every and --store need --persist"),
    (("--verbose", "--quiet"), "exclude each other"),
    (("--json", "--quiet"), "--json prints the summary"),
    (("--json", "--verbose"), "--json prints the summary"),
    (("--ticks", "0"), "--ticks"),
    (("--compat", "other"), "--compat"),
    (("--seed", "-1"), "--seed"),
])
def test_run_usage_errors_exit_2(args, message):
    out = paysim("run", "two_bank_teaching", *args)
    assert out.exit_code == 2
    assert message in out.stderr
    assert out.stdout == ""


def test_unknown_option_and_missing_argument_exit_2():
    assert paysim("run", "two_bank_teaching", "--nope").exit_code == 2
    assert paysim("run").exit_code == 2
    assert paysim("validate").exit_code == 2


def test_replay_of_a_missing_file_is_a_usage_error(tmp_path):
    out = paysim("replay", tmp_path / "none.duckdb")
    assert out.exit_code == 2 and "does not exist" in out.stderr


def test_replay_filters_need_verbose(tmp_path):
    db = tmp_path / "x.duckdb"
    psl.Store(db).close()
    out = paysim("replay", db, "--filter-tx", "tx_00000001")
    assert out.exit_code == 2 and "add --verbose" in out.stderr


def test_replay_of_an_empty_store_exits_1(tmp_path):
    db = tmp_path / "x.duckdb"
    psl.Store(db).close()
    out = paysim("replay", db)
    assert (out.exit_code, out.stderr) == (1, "error: this store holds no runs\n")


def test_unknown_run_id_exits_1(tmp_path):
    db = tmp_path / "x.duckdb"
    psl.Store(db).close()
    out = paysim("replay", db, "--run-id", "ghost")
    assert out.exit_code == 1
    assert out.stderr == "error: no run 'ghost' in this store; runs: (none)\n"


def test_db_migrate_creates_a_new_store(tmp_path):
    db = tmp_path / "new.duckdb"
    out = paysim("db", "migrate", db)
    assert (out.exit_code, out.stdout) == (0, f"created {db} at schema version {SCHEMA_VERSION}\n")
    assert paysim("db", "check", db).stdout == f"OK {db}\n"


def test_db_commands_refuse_a_foreign_file(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database " * 50)
    for sub in ("info", "check"):
        out = paysim("db", sub, bad)
        assert out.exit_code == 1 and out.stderr.startswith(
            f"error: {bad}: not a readable paysim_lab store (the file is damaged, truncated or "
            f"not a DuckDB database): ")


def test_validate_missing_file_is_invalid(tmp_path):
    out = paysim("validate", tmp_path / "gone.json")
    assert out.exit_code == 1
    assert out.stdout == f"INVALID {tmp_path / 'gone.json'}\n  error: file not found\n"
