"""Queue snapshots stored as spells (schema version 4): the ``tick_queue_snapshots`` view gives
back exactly the per-tick queue rows of the live run, whatever the queues did."""
from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import pytest
import yaml

import paysim_lab as psl
from paysim_lab.records import QUEUE_COLUMNS
from paysim_lab.store.queue_spells import QueueSpells
from paysim_lab.store.schema import SCHEMA_VERSION
from storekit import collect, old_store, stored_rows

CRISIS = "advanced_policy_crisis"
def crisis(**top) -> psl.Scenario:
    path = Path(psl.data.scenario_path(CRISIS))
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(top)
    return psl.load_scenario(doc, base_dir=path.parent)


ESCALATE = {"version": "1.0", "policy_id": "escalate", "payment_tree": {
    "type": "condition", "node_id": "InQueue2",
    "condition": {"op": "==", "left": {"field": "is_in_queue2"}, "right": {"value": 1.0}},
    "on_true": {"type": "condition", "node_id": "Near",
                "condition": {"op": "<=", "left": {"field": "ticks_to_deadline"},
                              "right": {"value": 10.0}},
                "on_true": {"type": "action", "node_id": "Up", "action": "ResubmitToRtgs",
                            "parameters": {"rtgs_priority": {"value": "Urgent"}}},
                "on_false": {"type": "action", "node_id": "Keep", "action": "Hold"}},
    "on_false": {"type": "action", "node_id": "Go", "action": "Release"}}}


def watch(sim, ticks: int | None = None, rows_listener: bool = False) -> tuple[list, dict]:
    """Run ``sim`` (``ticks`` ticks, default to the end); :func:`collect`'s rows and counts."""
    if rows_listener:   # records then carry queue rows: the writer is fed columns
        sim.add_listener(lambda rec: None)
    expected, counts = collect(sim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.run(ticks=ticks)
    return expected, counts


def live_rows(scenario, ticks: int | None = None, listener: bool = False,
              **store_kw) -> tuple[list[tuple], psl.Store, psl.Simulation, dict]:
    """Run ``scenario`` into a fresh store: :func:`watch`'s rows and counts, store, sim."""
    store = psl.Store(**store_kw)
    sim = psl.Simulation(scenario, store=store)
    expected, counts = watch(sim, ticks, listener)
    return expected, store, sim, counts


def reorders(expected: list[tuple]) -> int:
    """Ticks at which some queue changed other than by dropping payments and appending new
    ones (a re-sort or an insertion in the middle)."""
    by_tick: dict[int, dict[tuple, list[str]]] = {}
    for tick, kind, owner, _pos, tx, *_ in expected:
        key = (kind, owner if kind == "queue1" else None)
        by_tick.setdefault(tick, {}).setdefault(key, []).append(tx)
    n = 0
    ticks = sorted(by_tick)
    for prev, cur in zip(ticks, ticks[1:]):
        for key, ids in by_tick[cur].items():
            old = by_tick[prev].get(key, [])
            survivors = [t for t in ids if t in set(old)]
            if survivors != [t for t in old if t in set(ids)] or \
                    ids[:len(survivors)] != survivors:
                n += 1
    return n


def check_transactions(store, sim, counts) -> None:
    got = store.sql("SELECT tx_id, queue1_ticks, queue2_ticks FROM transactions "
                    "WHERE simulation_id = ?", [sim.run_id])
    assert len(got) == len(sim.world.txs)
    for tx_id, q1, q2 in got.itertuples(index=False):
        assert (q1, q2) == (counts["queue1"].get(tx_id, 0), counts["rtgs"].get(tx_id, 0)), tx_id


def test_spells_reproduce_every_ticks_queue_rows_of_the_crisis_scenario():
    expected, store, sim, counts = live_rows(crisis())
    with store:
        assert len(expected) > 300
        assert stored_rows(store, sim.run_id) == expected
        spells = store.sql("SELECT count(*) n FROM queue_spells")["n"][0]
        assert spells < len(expected) / 3     # the point of spells
        check_transactions(store, sim, counts)
        assert store.check() == []


def test_spells_from_queue_rows_carried_by_the_records():
    expected, store, sim, counts = live_rows(crisis(), ticks=150, listener=True)
    with store:
        assert stored_rows(store, sim.run_id) == expected
        check_transactions(store, sim, counts)


def test_queue1_re_sorted_by_priority_and_deadline():
    sc = crisis(queue1_ordering="priority_deadline",
                priority_escalation={"enabled": True, "start_escalating_at_ticks": 5,
                                     "max_boost": 3})
    expected, store, sim, counts = live_rows(sc)
    with store:
        assert reorders([r for r in expected if r[1] == "queue1"]) > 0
        assert stored_rows(store, sim.run_id) == expected
        check_transactions(store, sim, counts)
        assert store.check() == []


def test_rtgs_priority_mode_re_sorts_queue2():
    # every bank releases at once and escalates payments near their deadline in Queue 2
    sc = crisis(priority_mode=True)
    doc = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    for agent in doc["agents"]:
        agent["policy"] = {"type": "Inline", "decision_trees": ESCALATE}
    doc.pop("policies", None)
    expected, store, sim, counts = live_rows(psl.load_scenario(doc))
    with store:
        assert reorders([r for r in expected if r[1] == "rtgs"]) > 0
        assert stored_rows(store, sim.run_id) == expected
        check_transactions(store, sim, counts)


@pytest.mark.parametrize("flush_every", [1, 7])
def test_flushes_cut_spells_without_changing_the_view(flush_every):
    expected, store, sim, counts = live_rows(crisis(queue1_ordering="priority_deadline"),
                                             ticks=160, flush_every=flush_every)
    with store:
        store._writers[sim.run_id].flush()
        assert stored_rows(store, sim.run_id) == expected
        check_transactions(store, sim, counts)
        # every flushed window stands alone: no spell reaches past a flush point
        ends = store.sql("SELECT DISTINCT to_tick FROM queue_spells ORDER BY 1")["to_tick"]
        assert store.check() == []
        if flush_every == 1:
            spans = store.sql("SELECT max(to_tick - from_tick) m FROM queue_spells")["m"][0]
            assert spans == 1
        else:
            cut = store.sql("SELECT count(*) n FROM queue_spells s WHERE EXISTS ("
                            "SELECT 1 FROM queue_spells t WHERE t.tx_id = s.tx_id "
                            "AND t.queue_type = s.queue_type AND t.from_tick = s.to_tick "
                            "AND t.sort_key = s.sort_key AND t.remaining_amount = "
                            "s.remaining_amount AND t.priority = s.priority)")["n"][0]
            assert cut > 0 and len(ends) > 0


@pytest.mark.parametrize("last_flush_fails", [False, True])
def test_a_failed_run_stores_snapshots_up_to_its_stored_tick(last_flush_fails):
    store = psl.Store(flush_every=7)
    sim = psl.Simulation(crisis(), store=store)
    writer = store._writers[sim.run_id]
    expected, _ = collect(sim)

    def fail_at_tick_39(rec):
        if rec.tick == 39:
            assert writer.buffered_ticks == 40 % 7
            if last_flush_fails:    # the buffered ticks are lost, the stored ones stay
                writer._build = lambda: 1 / 0
            raise RuntimeError("boom")
    sim._add_listener(fail_at_tick_39, queues=False)
    with store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception, match="boom"):
            sim.run()
        row = store.run(sim.run_id)
        stored = 35 if last_flush_fails else 40
        assert row["status"] == "failed" and row["ticks_run"] == stored
        assert stored_rows(store, sim.run_id) == [r for r in expected if r[0] < stored]
        assert store.sql("SELECT max(to_tick) m FROM queue_spells")["m"][0] == stored
        assert store.check() == []


def test_runs_without_queues_keep_queued_ticks_in_transactions():
    expected, store, sim, counts = live_rows(crisis(), keep="events,states")
    with store:
        assert store.sql("SELECT count(*) n FROM queue_spells")["n"][0] == 0
        check_transactions(store, sim, counts)


def test_overlapping_spells_are_a_check_problem():
    with psl.Store() as store:
        store.sql("INSERT INTO queue_spells (simulation_id, queue_type, agent_id, tx_id, "
                  "from_tick, to_tick, sort_key) VALUES ('x', 'rtgs', 'A', 't1', 0, 5, 0), "
                  "('x', 'rtgs', 'A', 't1', 3, 6, 1)")
        assert any("queue_spells" in p and "overlap" in p for p in store.check())


def test_tracker_keys_survivors_and_re_sorts():
    from types import SimpleNamespace as NS

    def tx(i, priority=5):
        return NS(tx_id=f"t{i}", sender_id="A", receiver_id="B", amount=10,
                  remaining_amount=10, priority=priority, deadline_tick=50, rtgs_priority=None,
                  overdue_since_tick=None, location=1)

    a, b, c, d = tx(1), tx(2), tx(3), tx(4)
    bank = NS(id="A", queue1=[a, b])
    world = NS(agent_list=[bank], queue2=[])
    spells = QueueSpells()
    spells.feed_world(world, 0)
    bank.queue1 = [b, c]            # a left, c appended: b keeps its key
    spells.feed_world(world, 1)
    b.remaining_amount = 4          # b's state changes: new spell, same key
    spells.feed_world(world, 2)
    bank.queue1 = [d, b, c]         # insertion at the front: every spell is closed
    spells.feed_world(world, 3)
    cols = spells.take()
    rows = sorted(zip(cols["tx_id"], cols["from_tick"], cols["to_tick"], cols["sort_key"]))
    assert rows == [("t1", 0, 1, 0), ("t2", 0, 2, 1), ("t2", 2, 3, 1), ("t2", 3, 4, 4),
                    ("t3", 1, 3, 2), ("t3", 3, 4, 5), ("t4", 3, 4, 3)]
    assert spells.queue_ticks(["t1", "t2", "t3", "t4"]) == ([1, 4, 3, 1], [0, 0, 0, 0])
    assert spells.queue1_ids() == {"A": ["t4", "t2", "t3"]}


def _v3_store(path, rows) -> None:
    con = old_store(path, 3, "r3", ticks_run=3)
    con.executemany("INSERT INTO tick_queue_snapshots VALUES "
                    "('r3', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def test_version_3_snapshots_become_one_tick_spells(tmp_path):
    path = tmp_path / "v3.duckdb"
    rows = [(0, "queue1", "A", 0, "t1", "B", 100, 100, 5, 9, None, None),
            (0, "queue1", "A", 1, "t2", "B", 50, 50, 8, 7, None, None),
            (0, "rtgs", "B", 0, "t3", "A", 70, 70, 5, 8, "Normal", None),
            (1, "queue1", "A", 0, "t2", "B", 50, 20, 8, 7, None, None),
            (1, "rtgs", "A", 0, "t1", "B", 100, 100, 5, 9, "Urgent", None),
            (1, "rtgs", "B", 1, "t3", "A", 70, 70, 5, 8, "Normal", 1),
            (2, "rtgs", "B", 0, "t3", "A", 70, 70, 5, 8, "Normal", 1)]
    _v3_store(path, rows)
    # a store still at version 3, opened read-only, is read as it is
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO tick_summaries (simulation_id, tick, day) VALUES "
                "('r3', 0, 0), ('r3', 1, 0), ('r3', 2, 0)")
    con.close()
    with psl.Store(path, read_only=True) as old:
        assert old.info()["runs"]["r3"]["tick_queue_snapshots"] == len(rows)
        assert len(old.sql("SELECT * FROM tick_queue_snapshots")) == len(rows)
    with psl.Store(path) as store:
        assert store.version_found == 3 and store.migrate() == [4, 5, 6, 7]
        assert SCHEMA_VERSION == 7
        con = store.connection
        assert con.execute("SELECT table_type FROM information_schema.tables "
                           "WHERE table_name = 'tick_queue_snapshots'").fetchall() == \
            [("VIEW",)]
        assert store.sql("SELECT count(*) n FROM queue_spells")["n"][0] == len(rows)
        got = con.execute("SELECT tick, queue_type, agent_id, position, tx_id, receiver_id, "
                          "amount, remaining_amount, priority, deadline_tick, rtgs_priority, "
                          "overdue_since_tick FROM tick_queue_snapshots "
                          "ORDER BY tick, queue_type, agent_id, position").fetchall()
        assert got == sorted(rows, key=lambda r: (r[0], r[1], r[2], r[3]))
        assert store.info()["runs"]["r3"]["queue_spells"] == len(rows)
        assert store.check() == []


def test_tracker_reads_rows_in_any_order_by_their_position():
    def rows(*entries):
        # (queue_type, agent_id, position, tx_id, remaining_amount)
        cols = {c: [] for c in QUEUE_COLUMNS}
        for kind, owner, pos, tx, remaining in entries:
            for c, v in zip(QUEUE_COLUMNS, (kind, owner, pos, tx, "B", 10, remaining, 5, 50,
                                             None, None)):
                cols[c].append(v)
        return cols

    ticks = [
        rows(("queue1", "A", 0, "t1", 10), ("queue1", "A", 1, "t2", 10),
             ("rtgs", "B", 0, "t9", 10)),
        rows(("queue1", "A", 0, "t1", 10), ("queue1", "A", 1, "t2", 10), ("rtgs", "A", 1, "t3", 10),
             ("rtgs", "B", 0, "t9", 10)),
        rows(("queue1", "A", 0, "t2", 7), ("rtgs", "B", 0, "t9", 10), ("rtgs", "A", 1, "t3", 10),
             ("queue1", "C", 0, "t5", 10)),
    ]
    ordered = QueueSpells()
    shuffled = QueueSpells()
    for tick, cols in enumerate(ticks):
        order = sorted(range(len(cols["tx_id"])),
                       key=lambda i: (cols["queue_type"][i] != "queue1", cols["agent_id"][i]
                                      if cols["queue_type"][i] == "queue1" else "",
                                      cols["position"][i]))
        ordered.feed_columns({c: [v[i] for i in order] for c, v in cols.items()}, tick)
        shuffled.feed_columns(cols, tick)
    a, b = ordered.take(), shuffled.take()
    assert sorted(zip(*a.values())) == sorted(zip(*b.values()))
    got = sorted(zip(a["tx_id"], a["from_tick"], a["to_tick"], a["sort_key"],
                     a["remaining_amount"]))
    assert got == [("t1", 0, 2, 0, 10), ("t2", 0, 2, 1, 10), ("t2", 2, 3, 1, 7),
                   ("t3", 1, 3, 3, 10), ("t5", 2, 3, 4, 10), ("t9", 0, 3, 2, 10)]
    assert shuffled.rtgs_ids() == ["t9", "t3"]
    assert shuffled.queue1_ids() == {"A": ["t2"], "C": ["t5"]}
    assert shuffled.queue_ticks(["t1", "t3", "t9"]) == ([2, 0, 0], [0, 2, 3])
