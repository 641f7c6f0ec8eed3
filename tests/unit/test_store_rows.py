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


ODD_VALUES = [
    ["A", "é ü", 'quote " and \\ back', "tab\tnew\nline\x01", "", "vt\x0b", "esc\x1b", "\u2028"],
    [0, -5, 2**63 - 1, -2**63, None],
    [2**64, 1, None],                                  # beyond int64: encoded in Python
    [True, False, None],
    [1.5, None, 1e21, -0.0, math.nan, math.inf, 7],
    [["tx_1", "tx_2"], [], None, ("t", "u"), [None, "x\x1f"]],
    [{"b": 1, "a": [None, 2.5]}, None, {"k": "ü"}],
    [[1, 2], [3], None],
    [None, None, None],
    [1, True, "x"],
]


def _stored_details(recs):
    """Details as DuckDB builds them for the store, in seq order."""
    import duckdb

    from paysim_lab.store.rows import event_batch
    from paysim_lab.store.schema import SIMULATION_EVENTS
    from paysim_lab.store.writer import _insert_events
    log = EventLog()
    log.extend(recs)
    con = duckdb.connect()
    con.execute(SIMULATION_EVENTS.ddl())
    _insert_events(con, "r", 10, event_batch(log, 0, log.end))
    return con.execute("SELECT seq, tick, day, event_type, agent_id, tx_id, amount, details "
                       "FROM simulation_events ORDER BY seq").fetchall()


@pytest.mark.parametrize("values", ODD_VALUES)
def test_details_built_by_duckdb_equal_canonical_json_for_every_kind_of_value(values):
    # QueuedRtgs has (tx_id, sender_id); the value under test goes in both fields in turn, the
    # other field holds a plain id; RtgsImmediateSettlement carries an amount field too
    n = len(values)
    recs = [("QueuedRtgs", i, v, f"B{i}") for i, v in enumerate(values)]
    recs += [("QueuedRtgs", n + i, f"tx_{i}", v) for i, v in enumerate(values)]
    fields = FIELDS["RtgsImmediateSettlement"]
    for i, v in enumerate(values):
        row = {f: f"{f}_{i}" for f in fields}
        row["amount"] = v
        recs.append(("RtgsImmediateSettlement", 2 * n + i, *[row[f] for f in fields]))
    stored = _stored_details(recs)
    assert [r[0] for r in stored] == list(range(len(recs)))
    for rec, (seq, tick, day, et, agent, tx, amount, details) in zip(recs, stored):
        fields_of = dict(zip(FIELDS[rec[0]], rec[2:]))
        assert details == canonical_json(fields_of)
        assert (tick, day, et) == (rec[1], rec[1] // 10, rec[0])
        if et == "QueuedRtgs":
            assert agent == (fields_of["sender_id"] if isinstance(fields_of["sender_id"], str)
                             else None)
            assert tx == (fields_of["tx_id"] if isinstance(fields_of["tx_id"], str) else None)
        else:
            a = fields_of["amount"]
            assert amount == (a if type(a) is int and -2**63 <= a < 2**63 else None)


def test_details_built_by_duckdb_follow_the_catalog_for_every_event_type():
    recs = []
    for i, et in enumerate(FIELDS):
        vals = [(f"{n}_{i}" if n.endswith("id") or n in ("sender", "receiver") else i * 7)
                for n in FIELDS[et]]
        recs.append((et, i // 5, *vals))
    stored = _stored_details(recs)
    assert [r[7] for r in stored] == [canonical_json(dict(zip(FIELDS[r[0]], r[2:])))
                                      for r in recs]
    assert [r[3] for r in stored] == [r[0] for r in recs]
