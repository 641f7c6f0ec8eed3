"""Columnar store rows: details JSON per type equals canonical JSON of each event's fields."""
from __future__ import annotations

import math
import warnings

import pytest

import paysim_lab as psl
from paysim_lab.engine.events import FIELDS
from paysim_lab.eventlog import EventLog
from paysim_lab.records import canonical_json
from paysim_lab.event_json import json_column
from paysim_lab.store.rows import details_column, event_table


@pytest.mark.parametrize("values", [
    ["a", "é ü", 'quote " and \\ back', "tab\tnew\nline\x01", ""],
    [0, -5, 10**18, 3],
    [None, 1, "x", True, False, 2.5, 1e-7, 1e21, -0.0],
    [math.nan, math.inf, -math.inf, [1.0, math.nan], {"b": 1, "a": [None]}],
    [[], ["tx_1", "tx_2"], None, {"k": "ü"}],
    [True, False, None], [None, "a"], [None, 7], [1, True], [0, False, None],
])
def test_each_value_is_encoded_as_inside_the_canonical_json_of_its_event(values):
    assert json_column(values) == [canonical_json({"v": v})[5:-1] for v in values]


def test_details_and_columns_follow_the_catalog_for_every_event_type():
    recs = []
    for i, et in enumerate(FIELDS):
        vals = [(f"{n}_{i}" if n.endswith("id") or n in ("sender", "receiver") else i * 7)
                for n in FIELDS[et]]
        recs.append((et, i // 5, *vals))
    log = EventLog()
    log.extend(recs)
    for tc, a, b in log.slices(0):
        expected = [canonical_json(dict(zip(tc.names, r[2:]))) for r in recs
                    if r[0] == tc.event_type]
        assert details_column(tc, a, b) == expected
    table = event_table(log, 0, log.end).sort_by("seq")
    assert table.column("seq").to_pylist() == list(range(len(recs)))
    assert table.column("event_type").to_pylist() == [r[0] for r in recs]


@pytest.mark.parametrize("name", psl.data.list_scenarios())
def test_stored_details_are_canonical_json_of_every_bundled_scenarios_events(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with psl.Store() as store:
            sim = psl.Simulation.from_file(psl.data.scenario_path(name), store=store,
                                           flush_every=7)
            try:
                sim.run()
            except (psl.SimulationError, psl.PolicyRuntimeError):
                pass
            stored = store.sql("SELECT seq, details FROM simulation_events ORDER BY seq")
            expected = [canonical_json(dict(zip(FIELDS[rec[0]], rec[2:])))
                        for _, rec in sim.event_records(0)]
            assert stored["seq"].tolist() == list(range(len(expected)))
            assert stored["details"].tolist() == expected
            assert store.verify(sim.run_id).ok


def test_json_lines_from_columns_equal_the_line_of_each_event_dict():
    from paysim_lab.engine.events import to_dict
    from paysim_lab.event_json import jsonl_line, jsonl_lines
    recs = [("ScenarioEventExecuted", 1, "x", '{"b":1}', {"z": 1, "a": math.nan}),
            ("QueuedRtgs", 1, "tx_é", "A"),
            ("LiquidityAllocation", 2, 0, "A", math.inf, 5, 7)]
    log = EventLog()
    log.extend(recs)
    assert jsonl_lines(log, 0, 3) == [jsonl_line(to_dict(r)) for r in recs]
    assert jsonl_lines(log, 1, 2) == [jsonl_line(to_dict(recs[1]))]


def test_state_columns_equal_the_row_by_row_agent_state_of_every_tick():
    from paysim_lab.records import agent_state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    prev = {a.id: (a.balance, list(a.cost_run)) for a in sim.world.agent_list}
    seen = []

    def check(rec):
        expected = []
        for a in sim.world.agent_list:
            expected.append(agent_state(a, *prev[a.id]))
            prev[a.id] = (a.balance, list(a.cost_run))
        assert list(rec.agent_states) == expected
        seen.append(rec.tick)
    sim.add_listener(check)
    sim.run()
    assert len(seen) == 300


def test_queue_columns_equal_the_row_by_row_queue_snapshot_of_every_tick():
    from paysim_lab.records import queue_rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    seen = []

    def check(rec):
        assert list(rec.queues) == queue_rows(sim.world)
        seen.append(len(rec.queues))
    sim.add_listener(check)
    sim.run()
    assert len(seen) == 300 and max(seen) > 0
