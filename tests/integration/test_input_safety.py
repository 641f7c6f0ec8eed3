"""Input safety: untrusted scenario files cannot reach outside their folders, run code or write.

- ``load_scenario(..., allowed_policy_dirs=[...])`` opens policy files only inside those
  folders (and the bundled ``data/policies``): ``../`` paths, absolute paths, symlinked files and
  symlinked folders that lead elsewhere are refused, for ``FromJson`` blocks and for string
  entries of the top-level ``policies`` map;
- YAML is read with the safe loader: python/* tags are a ScenarioError and never run;
- loading reads only: no file appears or changes anywhere;
- ``paysim run`` writes only the files its options name.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

import paysim_lab as psl
from paysim_lab.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_POLICIES = psl.data.policies_dir()


def policy(pid: str) -> dict:
    return {"version": "1.0", "policy_id": pid,
            "payment_tree": {"type": "action", "node_id": "R", "action": "Release"}}


def scenario(json_path: str) -> dict:
    return {"simulation": {"ticks_per_day": 4, "num_days": 1, "rng_seed": 3},
            "agents": [{"id": "A", "opening_balance": 10,
                        "policy": {"type": "FromJson", "json_path": json_path}},
                       {"id": "B", "opening_balance": 0}]}


@pytest.fixture
def tree(tmp_path):
    """tmp/allowed (trusted folder, with good.json) and tmp/outside (with evil.json)."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "good.json").write_text(json.dumps(policy("good")))
    (outside / "evil.json").write_text(json.dumps(policy("evil")))
    return allowed, outside


@pytest.fixture(autouse=True)
def _no_trusted_policy_folders(monkeypatch):
    # only the folders each test names (the suite trusts the SimCash checkout by default)
    monkeypatch.delenv("PAYSIM_POLICY_DIRS", raising=False)


def write_scenario(folder: Path, json_path: str) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(json_path)))
    return path


def load_untrusted(path: Path, allowed: Path):
    return psl.load_scenario(path, allowed_policy_dirs=[allowed])


def assert_refused(path: Path, allowed: Path, json_path: str, never_opened: Path) -> str:
    with pytest.raises(ScenarioError) as err:
        load_untrusted(path, allowed)
    msg = str(err.value)
    head = (f"{path}: agents[0].policy.json_path (line 5): policy file {json_path!r} not found "
            f"inside the allowed policy folders ({allowed.resolve()}, "
            f"{BUNDLED_POLICIES.resolve()}); looked in: ")
    assert msg.startswith(head), msg
    assert re.search(r"; [1-9]\d* location\(s\) outside those folders were refused \(to allow "
                     r"a folder, name it with --allow-policy-dir DIR, or "
                     r"allowed_policy_dirs=\[DIR\] in load_scenario\)$", msg)
    looked = msg.split("looked in: ")[1].split("; ")
    assert str(never_opened) not in looked
    assert all(p.startswith(str(allowed)) or p.startswith(str(BUNDLED_POLICIES))
               for p in looked[:-1])
    return msg


# ---- allowed_policy_dirs ------------------------------------------------------------------------

def test_a_policy_inside_the_allowed_folder_loads(tree):
    allowed, _ = tree
    path = write_scenario(allowed, "good.json")
    assert load_untrusted(path, allowed).agent_policies["A"]["policy_id"] == "good"
    # a single folder may be given as a plain path too
    assert psl.load_scenario(path, allowed_policy_dirs=str(allowed)).agent_policies["A"][
        "policy_id"] == "good"


def test_bundled_policies_stay_available_to_untrusted_scenarios(tree):
    allowed, _ = tree
    path = write_scenario(allowed, "simulator/policies/fifo.json")
    doc = load_untrusted(path, allowed).agent_policies["A"]
    assert doc == json.loads((BUNDLED_POLICIES / "fifo.json").read_text())


def test_dot_dot_paths_cannot_leave_the_allowed_folder(tree):
    allowed, outside = tree
    path = write_scenario(allowed, "../outside/evil.json")
    # refused by default too; the same file loads when the caller names its folder
    with pytest.raises(ScenarioError, match="outside those folders were refused"):
        psl.load_scenario(path)
    assert psl.load_scenario(path, allowed_policy_dirs=[outside]).agent_policies["A"][
        "policy_id"] == "evil"
    assert_refused(path, allowed, "../outside/evil.json", outside / "evil.json")


def test_absolute_paths_outside_the_allowed_folder_are_refused(tree):
    allowed, outside = tree
    target = str(outside / "evil.json")
    path = write_scenario(allowed, target)
    msg = assert_refused(path, allowed, target, outside / "evil.json")
    assert "; 1 location(s) outside those folders were refused (" in msg


def test_symlinked_files_leading_outside_are_refused(tree):
    allowed, outside = tree
    (allowed / "link.json").symlink_to(outside / "evil.json")
    path = write_scenario(allowed, "link.json")
    with pytest.raises(ScenarioError, match="outside those folders were refused"):
        psl.load_scenario(path)
    assert psl.load_scenario(path, allowed_policy_dirs=[outside]).agent_policies["A"][
        "policy_id"] == "evil"
    assert_refused(path, allowed, "link.json", allowed / "link.json")


def test_symlinked_folders_leading_outside_are_refused(tree):
    allowed, outside = tree
    (allowed / "shared").symlink_to(outside, target_is_directory=True)
    path = write_scenario(allowed, "shared/evil.json")
    assert_refused(path, allowed, "shared/evil.json", allowed / "shared" / "evil.json")


def test_symlinks_that_stay_inside_the_allowed_folder_are_followed(tree):
    allowed, _ = tree
    (allowed / "alias.json").symlink_to(allowed / "good.json")
    path = write_scenario(allowed, "alias.json")
    assert load_untrusted(path, allowed).agent_policies["A"]["policy_id"] == "good"


def test_policies_map_paths_are_restricted_the_same_way(tree):
    allowed, _ = tree
    doc = scenario("good.json")
    del doc["agents"][0]["policy"]
    doc["agents"][0]["policy_id"] = "p"
    doc["policies"] = {"p": "../outside/evil.json"}
    path = allowed / "map.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError) as err:
        load_untrusted(path, allowed)
    assert str(err.value).startswith(f"{path}: policies.p (line 8): policy file "
                                     "'../outside/evil.json' not found inside the allowed "
                                     "policy folders")


def test_a_symlink_loop_is_a_scenario_error(tree):
    # regression: Path.resolve() raises RuntimeError("Symlink loop ...") on Python 3.11
    allowed, _ = tree
    (allowed / "loop.json").symlink_to(allowed / "loop.json")
    path = write_scenario(allowed, "loop.json")
    with pytest.raises(ScenarioError) as err:
        load_untrusted(path, allowed)
    assert str(err.value).startswith(f"{path}: agents[0].policy.json_path (line 5): ")


def test_an_overlong_json_path_is_a_scenario_error(tree):
    # regression: a file name over the system limit made Path.is_file() raise OSError
    allowed, _ = tree
    path = write_scenario(allowed, "x" * 300 + ".json")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value).startswith(f"{path}: agents[0].policy.json_path (line 5): ")


class StillBlocked(BaseException):
    """Raised by the alarm (not an OSError, which a loader may legitimately catch)."""


@contextlib.contextmanager
def at_most(seconds: int):
    def fail(*_):
        raise StillBlocked(f"still blocked after {seconds}s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_scenario_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    # regression: opening a named pipe for reading waits for a writer forever
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with at_most(5), pytest.raises(ScenarioError) as err:
        psl.load_scenario(fifo)
    assert str(err.value).startswith(f"{fifo}: ")


def test_a_policy_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    # the same for load_policy: a named pipe blocks, a device such as /dev/zero never ends
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with at_most(5), pytest.raises(psl.PolicyError) as err:
        psl.load_policy(fifo)
    assert str(err.value).startswith(f"{fifo}: ")


# ---- YAML never runs code -----------------------------------------------------------------------

@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.system ['touch MARKER']",
    "!!python/object/apply:subprocess.check_output [[touch, MARKER]]",
    "!!python/object/new:os.system ['touch MARKER']",
    "!!python/name:os.system",
    "!!python/module:os",
])
def test_python_yaml_tags_are_refused_and_never_run(tmp_path, monkeypatch, tagged):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tagged.yaml"
    path.write_text("simulation: {ticks_per_day: 2, num_days: 1, rng_seed: 1}\n"
                    f"agents:\n  - id: A\n    opening_balance: {tagged}\n")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    tag = tagged.split()[0][2:]
    assert str(err.value) == (f"{path}: line 4, column 22: YAML syntax error: could not "
                              f"determine a constructor for the tag 'tag:yaml.org,2002:{tag}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagged.yaml"]


# ---- loading never writes ------------------------------------------------------------------------

def snapshot(*folders: Path) -> dict:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            st = p.lstat()
            out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def test_loading_reads_but_never_writes(tree, monkeypatch):
    allowed, outside = tree
    work = allowed.parent
    monkeypatch.chdir(work)
    good = write_scenario(allowed, "good.json")
    bad = allowed / "bad.yaml"
    bad.write_text("agents: [{id: A}]\n")
    before = snapshot(work, psl.data.data_dir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = [psl.load_scenario(good), psl.load_scenario(good, allowed_policy_dirs=[allowed])]
        loaded += [psl.load_scenario(psl.data.scenario_path(n)) for n in psl.data.list_scenarios()]
        policies = [psl.load_policy(psl.data.policy_path(n)) for n in psl.data.list_policies()]
        with pytest.raises(ScenarioError):
            psl.load_scenario(bad)
    assert len(loaded) == 2 + len(psl.data.list_scenarios())
    assert len(policies) == len(psl.data.list_policies())
    assert snapshot(work, psl.data.data_dir()) == before


# ---- the command line writes only where it is told to --------------------------------------------

def paysim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from paysim_lab.cli import main; main()",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def cli_folder(tmp_path):
    pytest.importorskip("paysim_lab.cli", reason="paysim_lab.cli is not written yet; this "
                                                 "checks `paysim run` output locations once "
                                                 "it exists")
    src = psl.data.scenario_path("two_bank_teaching")
    (tmp_path / "scenario.yaml").write_bytes(src.read_bytes())
    return tmp_path


def test_paysim_run_writes_only_the_files_its_options_name(cli_folder):
    out = paysim(["run", "scenario.yaml", "--events-out", "events.jsonl", "--summary-out",
                  "summary.json", "--persist", "runs.duckdb", "--quiet"], cli_folder)
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in cli_folder.iterdir())
    # DuckDB may keep its write-ahead log next to the database it was told to write
    assert [f for f in files if not f.startswith("runs.duckdb")] == [
        "events.jsonl", "scenario.yaml", "summary.json"]
    assert "runs.duckdb" in files
    sim = psl.Simulation.from_file(cli_folder / "scenario.yaml")
    sim.run()
    lines = (cli_folder / "events.jsonl").read_text().splitlines()
    assert len(lines) == len(sim.events)
    first = json.loads(lines[0])
    assert (first["event_type"], first["tick"]) == (sim.events.event_type[0], 0)
    summary = json.loads((cli_folder / "summary.json").read_text())
    expected = sim.summary()
    for key in ("ticks_run", "arrivals", "settlements", "total_cost"):
        assert summary[key] == expected[key]


def test_paysim_run_without_output_options_writes_nothing(cli_folder):
    out = paysim(["run", "scenario.yaml", "--quiet"], cli_folder)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert sorted(p.name for p in cli_folder.iterdir()) == ["scenario.yaml"]


def test_paysim_run_of_an_invalid_scenario_fails_cleanly_and_writes_nothing(cli_folder):
    (cli_folder / "scenario.yaml").write_text("agents: [{id: A}]\n")
    out = paysim(["run", "scenario.yaml", "--events-out", "events.jsonl"], cli_folder)
    assert out.returncode == 1
    assert "scenario.yaml" in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in cli_folder.iterdir()) == ["scenario.yaml"]
