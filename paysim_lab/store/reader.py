"""Reading runs back: event frames, registers, tick records, replay and the determinism check.

Replay rebuilds each tick's :class:`~paysim_lab.records.TickRecord` from the tables (events by
``seq``, ``tick_summaries``, ``tick_agent_states``, the queue spells) and hands it to
the same renderer the live run used. Nothing is recomputed and the engine is not run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Iterator

import numpy as np
import pandas as pd

from ..engine.events import FIELDS
from ..event_frames import int64, object_array
from ..errors import StoreError
from ..records import (AGENT_STATE_COLUMNS, QUEUE_COLUMNS, SUMMARY_COLUMNS, TickRecord,
                       canonical_json, decode_float)
from ..report import Filters, RunInfo, VerboseLog
from .schema import queue_snapshot_sql

# Float-typed event fields whose NaN/inf values are stored as strings (persistence.md 3.0),
# and the ones each event type has (all of them for a type outside the catalog).
FLOAT_FIELDS = ("old_value", "new_value", "fraction")
_FLOATS_OF = {et: tuple(f for f in FLOAT_FIELDS if f in names) for et, names in FIELDS.items()}
CHUNK_TICKS = 500


def _restore_floats(dicts: list[dict], event_type: str | None) -> list[dict]:
    floats = _FLOATS_OF.get(event_type, FLOAT_FIELDS)
    for d in dicts if floats else ():
        for f in floats:
            if f in d:
                d[f] = decode_float(d[f])
    return dicts


def decode_details(text: str, event_type: str | None = None) -> dict:
    """Stored ``details`` JSON back to the event's fields (non-finite floats restored)."""
    return _restore_floats([json.loads(text)], event_type)[0]


def parse_details(event_type: str, texts) -> list[dict]:
    """Stored ``details`` texts of one event type parsed, non-finite floats restored; keys as
    stored (sorted)."""
    return _restore_floats(list(map(json.loads, texts)), event_type)


def run_row(con, run_id: str) -> dict:
    cur = con.execute("SELECT * FROM simulations WHERE simulation_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        known = [r[0] for r in con.execute(
            "SELECT simulation_id FROM simulations ORDER BY run_number").fetchall()]
        listing = ", ".join(known[-10:]) if known else "(none)"
        raise StoreError(f"no run {run_id!r} in this store; runs: {listing}")
    return dict(zip([d[0] for d in cur.description], row))


def stored_parts(con, run_id: str) -> tuple[str, ...]:
    """Which parts a run stored (``events``, ``states``, ``queues``); all for older runs."""
    from .schema import STORED_PARTS
    text = run_row(con, run_id).get("stored_parts")
    if text is None:
        return STORED_PARTS
    return tuple(p for p in text.split(",") if p)


def require_part(con, run_id: str, part: str, what: str) -> None:
    """StoreError naming the run and the missing part when ``what`` needs a part not stored."""
    parts = stored_parts(con, run_id)
    if part not in parts:
        raise StoreError(f"run {run_id!r} was stored without {part} "
                         f"(keep={','.join(parts) or 'nothing'}); {what} needs them")


def latest_run_id(con) -> str:
    row = con.execute("SELECT simulation_id FROM simulations "
                      "ORDER BY run_number DESC NULLS LAST, started_at DESC LIMIT 1").fetchone()
    if row is None:
        raise StoreError("this store holds no runs")
    return row[0]


def run_info(con, run_id: str) -> RunInfo:
    """The verbose log's static data; rebuilt from config_json for runs stored before v2."""
    row = run_row(con, run_id)
    if row.get("run_info_json"):
        return RunInfo.from_json(row["run_info_json"])
    from ..config import load_scenario
    from ..config.payments import stored_table_dirs
    from ..engine.build import build_world
    doc = json.loads(row["config_json"])
    sc = load_scenario(doc, allowed_policy_dirs=stored_table_dirs(doc))
    world, _ = build_world(sc.engine_config(), seed=row["rng_seed"])
    return RunInfo.from_world(world)


def runs_frame(con) -> pd.DataFrame:
    frame = con.execute("""
        SELECT simulation_id AS run_id, scenario_name, rng_seed AS seed, ticks_run, total_ticks,
               status, started_at, error
        FROM simulations ORDER BY run_number NULLS FIRST, started_at""").df()
    for c in ("seed", "ticks_run", "total_ticks"):
        frame[c] = frame[c].astype("Int64") if c != "seed" else frame[c].astype("object")
    return frame


def events_frame(con, run_id: str) -> pd.DataFrame:
    """A stored run's events, shaped like ``Simulation.events``."""
    require_part(con, run_id, "events", "events()")
    # columns, not a tuple per row: DuckDB hands over numpy arrays
    got = con.execute("SELECT tick, day, seq, event_type, agent_id, tx_id, amount, details "
                      "FROM simulation_events WHERE simulation_id = ? ORDER BY seq",
                      [run_id]).fetchnumpy()
    types = _nullable_objects(got["event_type"])
    amount = np.ma.getdata(got["amount"]).astype(np.int64, copy=False)
    return pd.DataFrame({
        "tick": int64(got["tick"]), "day": int64(got["day"]), "seq": int64(got["seq"]),
        # pd.Series keeps object dtype (a DataFrame of object arrays would infer ``str``)
        "event_type": pd.Series(types, dtype="object"),
        "agent_id": pd.Series(_nullable_objects(got["agent_id"]), dtype="object"),
        "tx_id": pd.Series(_nullable_objects(got["tx_id"]), dtype="object"),
        "amount": pd.arrays.IntegerArray(amount, np.ma.getmaskarray(got["amount"])),
        "details": pd.Series(details_column(types, _nullable_objects(got["details"])),
                             dtype="object"),
    })


def _nullable_objects(values) -> np.ndarray:
    """An object array with None where DuckDB's masked array has NULLs."""
    if np.ma.isMaskedArray(values):
        out = np.ma.getdata(values).astype(object)
        out[np.ma.getmaskarray(values)] = None
        return out
    return np.asarray(values, dtype=object)


def details_column(types: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """The ``details`` dicts of stored events (``types`` and ``texts`` as object arrays): each
    event type's rows parsed together, non-finite floats restored only for the types with
    float fields, keys in catalog order (stored JSON has them sorted) as in the live frame.

    >>> details_column(np.array(["QueuedRtgs"], dtype=object),
    ...                np.array(['{"sender_id":"A","tx_id":"t1"}'], dtype=object))[0]
    {'tx_id': 't1', 'sender_id': 'A'}
    """
    out = np.empty(len(texts), dtype=object)
    codes, uniques = pd.factorize(types, use_na_sentinel=False)
    for k, et in enumerate(uniques):
        pos = np.flatnonzero(codes == k)
        out[pos] = object_array(_decoded(et, texts[pos]))
    return out


def _decoded(event_type, texts) -> list[dict]:
    """One event type's details dicts, keys in catalog order like the live frame's."""
    dicts = parse_details(event_type, texts)
    names = FIELDS.get(event_type)
    if not names:
        return dicts
    if any(len(d) != len(names) for d in dicts):
        return [_in_catalog_order(event_type, d) for d in dicts]
    values = map(itemgetter(*names), dicts)
    if len(names) == 1:
        values = zip(values)
    try:
        # each row's values in catalog order, paired with the names in C loops
        return list(map(dict, map(zip, repeat(names), values)))
    except KeyError:        # a catalog key missing and another in its place
        return [_in_catalog_order(event_type, d) for d in dicts]


def _in_catalog_order(event_type: str, details: dict) -> dict:
    """Stored details have sorted keys; the live frame's follow the catalog."""
    names = FIELDS.get(event_type)
    if names is None:
        return details
    out = {n: details[n] for n in names if n in details}
    if len(out) != len(details):
        out.update((k, v) for k, v in details.items() if k not in out)
    return out


def registers_frame(con, run_id: str) -> pd.DataFrame:
    run_row(con, run_id)
    frame = con.execute("SELECT tick, agent_id, register_key, register_value "
                        "FROM agent_state_registers WHERE simulation_id = ? "
                        "ORDER BY tick, agent_id, register_key", [run_id]).df()
    frame["tick"] = frame["tick"].astype("Int64")
    return frame


def event_dicts_for(con, run_id: str, lo: int, hi: int) -> Iterator[dict]:
    """Events of ticks lo..hi as ``{seq, event_type, tick, **fields}``, in seq order."""
    cur = con.execute("SELECT seq, event_type, tick, details FROM simulation_events "
                      "WHERE simulation_id = ? AND tick BETWEEN ? AND ? ORDER BY seq",
                      [run_id, lo, hi])
    while True:
        rows = cur.fetchmany(10000)
        if not rows:
            break
        for seq, et, tick, details in rows:
            d = {"seq": seq, "event_type": et, "tick": tick}
            d.update(decode_details(details, et))
            yield d


# A tick's queue rows in the order the live run lists them: each bank's Queue 1, then Queue 2.
_QUEUE_ORDER = ("ORDER BY tick, CASE queue_type WHEN 'queue1' THEN 0 ELSE 1 END, "
                "CASE queue_type WHEN 'queue1' THEN agent_id END, position")
# Queue snapshot rows of one run and tick range, from the spells overlapping the range (the
# positions of a tick depend only on the spells open at that tick, all of which overlap it).
_QUEUE_RANGE_SQL = (
    f"SELECT tick, {', '.join(QUEUE_COLUMNS)} FROM ("
    + queue_snapshot_sql("(SELECT * FROM queue_spells WHERE simulation_id = $rid "
                         "AND from_tick <= $hi AND to_tick > $lo)")
    + f") WHERE tick BETWEEN $lo AND $hi {_QUEUE_ORDER}")
# The same from the table of a store older than version 4 (read as it is, read-only).
_QUEUE_TABLE_SQL = (
    f"SELECT tick, {', '.join(QUEUE_COLUMNS)} FROM tick_queue_snapshots "
    f"WHERE simulation_id = $rid AND tick BETWEEN $lo AND $hi {_QUEUE_ORDER}")


def queue_rows_sql(con) -> str:
    """The query of a tick range's queue snapshot rows (parameters $rid, $lo, $hi)."""
    from .migrations import existing_tables
    return _QUEUE_RANGE_SQL if "queue_spells" in existing_tables(con) else _QUEUE_TABLE_SQL


def tick_records(con, run_id: str, lo: int, hi: int) -> Iterator[TickRecord]:
    """The stored tick records of ticks lo..hi (inclusive), in tick order, read in chunks."""
    start = lo
    queue_sql = queue_rows_sql(con)
    while start <= hi:
        end = min(hi, start + CHUNK_TICKS - 1)
        yield from _chunk(con, run_id, start, end, queue_sql)
        start = end + 1


def _chunk(con, run_id: str, lo: int, hi: int, queue_sql: str) -> list[TickRecord]:
    params = [run_id, lo, hi]
    summaries = con.execute(
        f"SELECT tick, day, {', '.join(SUMMARY_COLUMNS)} FROM tick_summaries "
        "WHERE simulation_id = ? AND tick BETWEEN ? AND ? ORDER BY tick", params).fetchall()
    recs: dict[int, TickRecord] = {}
    out = []
    for row in summaries:
        rec = TickRecord(row[0], row[1], [], dict(zip(SUMMARY_COLUMNS, row[2:])), [], [])
        recs[row[0]] = rec
        out.append(rec)
    state_cols = [c for c in AGENT_STATE_COLUMNS]
    for row in con.execute(
            f"SELECT tick, {', '.join(state_cols)} FROM tick_agent_states "
            "WHERE simulation_id = ? AND tick BETWEEN ? AND ? ORDER BY tick, agent_id",
            params).fetchall():
        rec = recs.get(row[0])
        if rec is not None:
            rec.agent_states.append(dict(zip(state_cols, row[1:])))
    for row in con.execute(queue_sql, {"rid": run_id, "lo": lo, "hi": hi}).fetchall():
        rec = recs.get(row[0])
        if rec is not None:
            rec.queues.append(dict(zip(QUEUE_COLUMNS, row[1:])))
    for ev in event_dicts_for(con, run_id, lo, hi):
        rec = recs.get(ev["tick"])
        if rec is not None:
            rec.events.append(ev)
    return out


def check_tick_range(con, run_id: str, from_tick: int | None, to_tick: int | None
                     ) -> tuple[int, int]:
    """Resolve a replay range; ValueError when it lies outside 0 .. ticks_run - 1."""
    ticks_run = run_row(con, run_id)["ticks_run"] or 0
    if ticks_run == 0:
        raise ValueError(f"run {run_id!r} has no stored ticks")
    lo = 0 if from_tick is None else from_tick
    hi = ticks_run - 1 if to_tick is None else to_tick
    for name, v in (("from tick", lo), ("to tick", hi)):
        if v < 0 or v > ticks_run - 1:
            raise ValueError(f"{name} {v} is outside the stored ticks 0..{ticks_run - 1} "
                             f"of run {run_id!r}")
    if lo > hi:
        raise ValueError(f"from tick {lo} is after to tick {hi}")
    return lo, hi


def iter_verbose(con, run_id: str, from_tick: int | None = None, to_tick: int | None = None,
                 filters: Filters | None = None) -> Iterator[str]:
    """The verbose text of each tick of the range, exactly as the live run printed it."""
    lo, hi = check_tick_range(con, run_id, from_tick, to_tick)
    for part in ("events", "states", "queues"):
        require_part(con, run_id, part, "the verbose replay")
    info = run_info(con, run_id)
    log = VerboseLog(info, filters)
    # Feed from the tick before the day's first tick so the end-of-day block sums the whole day.
    feed_from = max((lo // info.ticks_per_day) * info.ticks_per_day - 1, 0)
    for rec in tick_records(con, run_id, feed_from, hi):
        text = log.text(rec)
        if rec.tick >= lo and text:
            yield text


def summary_text(con, run_id: str) -> str:
    """The run's JSON summary as ``paysim run`` prints it (partial for unfinished runs)."""
    row = run_row(con, run_id)
    if row.get("summary_json"):
        summary = json.loads(row["summary_json"])
    else:
        summary = {"scenario": row["scenario_name"], "seed": row["rng_seed"],
                   "ticks_run": row["ticks_run"], "total_ticks": row["total_ticks"],
                   "status": row["status"]}
    return json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`paysim_lab.Store.verify`."""

    run_id: str
    ticks: int
    events: int
    ok: bool
    mismatch: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def stored_scenario(con, run_id: str, doc):
    """A stored run's configuration (``config_json`` parsed) loaded as a Scenario, with the
    payments table the run stored in ``run_payments`` when its scenario had one in memory."""
    from ..config import load_scenario
    from ..config.memory_payments import LABEL, MemoryPayments, stored_feed
    from ..config.payments import stored_table_dirs
    from .migrations import existing_tables
    sc = load_scenario(doc, allowed_policy_dirs=stored_table_dirs(doc))
    if sc.payments is not None or "run_payments" not in existing_tables(con):
        return sc
    frame = con.execute("SELECT sender, receiver, amount, arrival_tick, deadline_tick, "
                        "priority, divisible, payment_id FROM run_payments "
                        "WHERE simulation_id = ? ORDER BY row", [run_id]).df()
    if len(frame):
        banks = [a.id for a in sc.agents]
        sim = sc.simulation
        feed = stored_feed(frame, banks, sim.ticks_per_day, sim.num_days,
                           f"{LABEL} stored with run {run_id}")
        MemoryPayments(feed, banks, sim.ticks_per_day, sim.num_days).attach(sc)
    return sc


def verify(con, run_id: str) -> VerifyResult:
    """Re-run the stored configuration and compare its event stream with the stored one.

    Policies replaced during the run (``manual`` snapshots) are replaced at the same ticks.
    """
    from ..simulation import Simulation
    row = run_row(con, run_id)
    require_part(con, run_id, "events", "verify")
    ticks = row["ticks_run"] or 0
    sc = stored_scenario(con, run_id, json.loads(row["config_json"]))
    sim = Simulation(sc, seed=row["rng_seed"])
    # policies replaced during the run are replaced again at the same tick
    changes = con.execute("SELECT snapshot_tick, agent_id, policy_json FROM policy_snapshots "
                          "WHERE simulation_id = ? AND created_by <> 'init' "
                          "ORDER BY snapshot_tick, agent_id", [run_id]).fetchall()
    for tick, agent_id, doc in changes:
        if tick > sim.current_tick:
            sim.advance(ticks=min(tick, ticks) - sim.current_tick)
        if tick <= ticks:
            sim.set_policy(agent_id, json.loads(doc))
    if ticks > sim.current_tick:
        sim.advance(ticks=ticks - sim.current_tick)
    fresh = ((seq, rec[0], rec[1], canonical_json(dict(zip(FIELDS[rec[0]], rec[2:]))))
             for seq, rec in sim.event_records(0))
    cur = con.execute("SELECT seq, event_type, tick, details FROM simulation_events "
                      "WHERE simulation_id = ? ORDER BY seq", [run_id])
    n = 0
    while True:
        rows = cur.fetchmany(10000)
        for stored in rows:
            got = next(fresh, None)
            if got is None or tuple(stored) != got:
                return VerifyResult(run_id, ticks, n, False, _mismatch(stored, got))
            n += 1
        if not rows:
            break
    extra = next(fresh, None)
    if extra is not None:
        return VerifyResult(run_id, ticks, n, False,
                            f"the re-run emitted more events than stored, from seq {extra[0]} "
                            f"({extra[1]} at tick {extra[2]})")
    return VerifyResult(run_id, ticks, n, True)


def _mismatch(stored, got) -> str:
    if got is None:
        return (f"the re-run ended before stored event seq {stored[0]} "
                f"({stored[1]} at tick {stored[2]})")
    return (f"event seq {stored[0]} differs: stored {stored[1]} at tick {stored[2]} "
            f"{stored[3]}, re-run {got[1]} at tick {got[2]} {got[3]}")
