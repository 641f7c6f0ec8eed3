"""Bundled data lookup (paysim_lab.data)."""
from __future__ import annotations

from pathlib import Path

import pytest

import paysim_lab as psl
from paysim_lab import data

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "scenarios").mkdir(parents=True)
    (root / "policies" / "test_policies").mkdir(parents=True)
    for name in ("b_crisis.yaml", "a_two_bank.yml", "c_small.json", "README.md"):
        (root / "scenarios" / name).write_text("{}")
    for name in ("fifo.json", "deadline.json", "notes.txt"):
        (root / "policies" / name).write_text("{}")
    (root / "policies" / "test_policies" / "test_always_hold.json").write_text("{}")
    (root / "policies" / "test_policies" / "fifo.json").write_text("{}")
    monkeypatch.setattr(data, "DATA_DIR", root)
    return root


def test_data_dir_is_the_repository_data_folder():
    assert data.DATA_DIR == REPO / "data"
    assert data.scenarios_dir() == REPO / "data" / "scenarios"
    assert data.policies_dir() == REPO / "data" / "policies"
    assert psl.data is data


def test_lists_are_sorted_names(fake_data):
    assert data.list_scenarios() == ["a_two_bank", "b_crisis", "c_small"]
    assert data.list_policies() == ["deadline", "fifo", "test_policies/fifo",
                                    "test_policies/test_always_hold"]


def test_paths_by_name_with_or_without_extension(fake_data):
    assert data.scenario_path("b_crisis") == fake_data / "scenarios" / "b_crisis.yaml"
    assert data.scenario_path("a_two_bank.yml") == fake_data / "scenarios" / "a_two_bank.yml"
    assert data.scenario_path("c_small.json") == fake_data / "scenarios" / "c_small.json"
    assert data.policy_path("fifo") == fake_data / "policies" / "fifo.json"
    assert data.policy_path("fifo.json") == fake_data / "policies" / "fifo.json"
    assert data.policy_path("test_always_hold") == (
        fake_data / "policies" / "test_policies" / "test_always_hold.json")
    assert data.policy_path("test_policies/fifo") == (
        fake_data / "policies" / "test_policies" / "fifo.json")


def test_unknown_names_list_what_is_available(fake_data):
    with pytest.raises(FileNotFoundError) as info:
        data.scenario_path("nope")
    assert str(info.value) == ("no bundled scenario named 'nope'; available: a_two_bank, "
                               "b_crisis, c_small")
    with pytest.raises(FileNotFoundError, match="no bundled policy named 'README'"):
        data.policy_path("README")
    with pytest.raises(FileNotFoundError, match="no bundled policy named '../scenarios/b_crisis'"):
        data.policy_path("../scenarios/b_crisis")


def test_missing_folders_give_empty_lists(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "absent")
    assert data.list_scenarios() == [] and data.list_policies() == []
    with pytest.raises(FileNotFoundError, match=r"available: \(none\)"):
        data.policy_path("fifo")


def test_real_bundled_policies_are_listed():
    names = data.list_policies()
    if "fifo" not in names:
        pytest.skip("data/policies has no fifo.json yet")
    assert data.policy_path("fifo") == REPO / "data" / "policies" / "fifo.json"
    assert names == sorted(names)
