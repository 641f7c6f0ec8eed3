"""One writer per store file: a second process gets a clear StoreError (DuckDB file lock)."""
from __future__ import annotations

import subprocess
import sys

import paysim_lab as psl

CHILD = """
import sys
import paysim_lab as psl
try:
    psl.Store(sys.argv[1])
except psl.StoreError as exc:
    print("StoreError:", exc)
    sys.exit(3)
print("opened")
"""


def test_second_process_cannot_open_a_store_in_use(tmp_path):
    db = tmp_path / "locked.duckdb"
    with psl.Store(db):
        child = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True,
                               text=True, timeout=120)
        assert child.returncode == 3, child.stderr
        assert child.stdout.startswith(f"StoreError: {db}: the store is in use by another "
                                       f"process (DuckDB allows one writer per file)")


def test_cli_run_against_a_locked_store_exits_1(tmp_path):
    db = tmp_path / "locked.duckdb"
    with psl.Store(db) as store:
        child = subprocess.run([sys.executable, "-m", "paysim_lab.cli", "run",
                                "two_bank_teaching", "--persist", str(db)],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 1
        assert child.stderr.startswith(f"error: {db}: the store is in use by another process")
        assert "Traceback" not in child.stderr and child.stdout == ""
        assert store.runs().empty


def test_store_is_usable_again_after_the_holder_closes(tmp_path):
    db = tmp_path / "free.duckdb"
    psl.Store(db).close()
    child = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True,
                           text=True, timeout=120)
    assert (child.returncode, child.stdout) == (0, "opened\n")
