"""Writing one run into a store: buffer tick records, flush them in one transaction.

:class:`RunWriter` is what ``Simulation`` talks to (``add_tick``, ``flush``, ``finish``, ``fail``,
``policy_changed``). Ticks are buffered in memory and reach the database in batches (Arrow tables,
never row-by-row INSERTs) at the flush points of persistence.md section 4. Every row is derived
from the tick records' events and snapshots; nothing is taken from a side channel except the
current state of the payments touched since the last flush (the ``transactions`` upsert) and each
bank's collateral capacity.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import time
from typing import Any

import pyarrow as pa

from ..engine.events import FIELDS
from ..errors import StoreError
from ..records import (AGENT_STATE_COLUMNS, QUEUE_COLUMNS, SUMMARY_COLUMNS, TickRecord,
                       canonical_json, transaction_location, transaction_status)
from ..report import RunInfo
from .schema import (AGENT_QUEUE_SNAPSHOTS, AGENT_STATE_REGISTERS, COLLATERAL_EVENTS,
                     DAILY_AGENT_METRICS, POLICY_SNAPSHOTS, SIMULATION_EVENTS,
                     TICK_AGENT_STATES, TICK_QUEUE_SNAPSHOTS, TICK_SUMMARIES, TRANSACTIONS, Table)

_ARROW_TYPES = {"BIGINT": pa.int64(), "UBIGINT": pa.uint64(), "INTEGER": pa.int32(),
                "DOUBLE": pa.float64(), "VARCHAR": pa.string(), "BOOLEAN": pa.bool_()}

# Field of each event type that fills the mixed frame's agent_id column (persistence.md 3.2).
AGENT_FIELD = {et: next((n for n in ("agent_id", "sender_id", "sender") if n in names), None)
               for et, names in FIELDS.items()}
HAS_TX = {et: "tx_id" in names for et, names in FIELDS.items()}
HAS_AMOUNT = {et: "amount" in names for et, names in FIELDS.items()}
# Event fields naming payments (for the transactions upsert).
TX_LIST_FIELDS = ("tx_ids", "child_ids", "source_transactions")
TX_ONE_FIELDS = ("tx_id", "incoming_tx_id", "queued_tx_id")

COLLATERAL_CHANGE = {"CollateralPost": "post", "CollateralWithdraw": "withdraw",
                     "CollateralTimerWithdrawn": "withdraw"}
SETTLE_ONE = ("RtgsImmediateSettlement", "Queue2LiquidityRelease", "LsmQueueRetrySettlement")

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
BUILTIN_POLICY_TYPES = frozenset({"Fifo", "Deadline", "LiquidityAware", "LiquiditySplitting",
                                  "MockSplitting"})


def new_run_id() -> str:
    """``sim-`` + 8 random lowercase hex characters (metadata, not a result)."""
    return "sim-" + secrets.token_hex(4)


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise StoreError(f"invalid run id {run_id!r}: use 1-128 letters, digits, '_', '-', '.', "
                         f"':' starting with a letter or digit")
    return run_id


def arrow_table(table: Table, columns: dict[str, list]) -> pa.Table:
    """An Arrow table with ``table``'s column types (columns absent from ``columns`` omitted)."""
    fields, arrays = [], []
    for name, typ in table.columns:
        if name in columns:
            t = _ARROW_TYPES[typ]
            fields.append(pa.field(name, t))
            arrays.append(pa.array(columns[name], type=t))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def insert(con, table: Table, columns: dict[str, list], replace: bool = False) -> None:
    """Batch-insert column lists into ``table`` through Arrow (no row-by-row statements)."""
    first = next(iter(columns.values()), [])
    if not first:
        return
    _paysim_rows = arrow_table(table, columns)
    names = ", ".join(_paysim_rows.column_names)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    # DuckDB reads the local Arrow table by name (a replacement scan): several times cheaper
    # per batch than registering and unregistering a view.
    con.execute(f"{verb} INTO {table.name} ({names}) SELECT {names} FROM _paysim_rows")


_FAST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False)


def details_json(details: dict) -> str:
    """Canonical JSON of an event's fields; the slow path only for NaN/inf values."""
    try:
        return _FAST_JSON.encode(details)
    except ValueError:
        return canonical_json(details)


def _policy_document(p) -> dict:
    if isinstance(p, dict):
        return p
    doc = getattr(p, "document", None)
    if isinstance(doc, dict):
        return doc
    return p.model_dump(mode="json")


def effective_config(scenario, seed: int) -> dict:
    """The scenario as written, made self-contained: effective policies inline, the seed used.

    Agents on a built-in policy type keep it (those types have engine-level quirks an inline
    copy would lose); every other agent gets ``policy: {type: Inline, decision_trees: doc}``.
    """
    cfg = copy.deepcopy(scenario.model_dump(mode="json", by_alias=True, exclude_none=True))
    if isinstance(cfg.get("simulation"), dict):
        for key in ("seed", "ticks_per_day", "num_days"):   # a full dump carries both forms
            cfg.pop(key, None)
        cfg["simulation"]["rng_seed"] = seed
    else:
        cfg["seed"] = seed
    cfg["compat"] = scenario.profile
    policies = scenario.agent_policies or {}
    for agent in cfg.get("agents", []):
        aid = agent.get("id")
        pol = agent.get("policy")
        builtin = ("policy_id" not in agent or agent.get("policy_id") is None) and (
            pol is None or (isinstance(pol, dict) and pol.get("type") in BUILTIN_POLICY_TYPES))
        if builtin or aid not in policies:
            continue
        agent.pop("policy_id", None)
        agent.pop("policy_params", None)
        agent["policy"] = {"type": "Inline", "decision_trees": _policy_document(policies[aid])}
    cfg.pop("policies", None)
    if scenario.payments is not None:
        # a payments table is read again from where this scenario found it
        from ..config.payments import resolve_path
        spec = cfg["payments"] if isinstance(cfg["payments"], dict) else {}
        where = resolve_path(scenario.payments.path, scenario.base_dir).resolve()
        cfg["payments"] = {**spec, "path": str(where)}
    return cfg


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _DayState:
    """One bank's running figures for the day being recorded (daily_agent_metrics)."""

    __slots__ = ("opening_balance", "min_balance", "max_balance", "peak_overdraft",
                 "opening_posted", "peak_posted", "q1_peak", "start_costs", "posts",
                 "withdrawals", "arrivals", "sent", "received", "settled", "dropped")

    def __init__(self, balance: int, posted: int, costs: dict[str, int]):
        self.opening_balance = balance
        self.min_balance = balance
        self.max_balance = balance
        self.peak_overdraft = max(-balance, 0)
        self.opening_posted = posted
        self.peak_posted = posted
        self.q1_peak = 0
        self.start_costs = costs
        self.posts = self.withdrawals = self.arrivals = self.sent = 0
        self.received = self.settled = self.dropped = 0


def _cost_snapshot(state: dict) -> dict[str, int]:
    return {
        "liquidity_cost": state["cost_overdraft"], "delay_cost": state["cost_delay"],
        "collateral_cost": state["cost_collateral"],
        "split_friction_cost": state["cost_split_friction"],
        "deadline_penalty_cost": state["cost_deadline_penalty"] + state["cost_eod_penalty"],
        "liquidity_opportunity_cost": state["cost_liquidity_opportunity"],
        "total_cost": state["total_cost"],
    }


class RunWriter:
    """Persists one run. Created by :meth:`paysim_lab.Store.begin_run`."""

    def __init__(self, store, sim, run_id: str, flush_every: int | None = None):
        if flush_every is not None and int(flush_every) < 1:
            raise StoreError(f"flush_every must be a positive number of ticks, got {flush_every}")
        self.store = store
        self.sim = sim
        self.run_id = run_id
        self.flush_every = int(flush_every) if flush_every else None
        self.ticks_per_day = sim.world.ticks_per_day
        self._buffer: list[TickRecord] = []
        self._collateral: dict[str, list] = {c: [] for c in COLLATERAL_EVENTS.column_names}
        self._ticks_stored = 0
        self._status = "running"
        self._closed_at_ticks: int | None = None   # ticks stored when finish/fail last ran
        self._started = time.perf_counter()
        self._q1_ticks: dict[str, int] = {}
        self._q2_ticks: dict[str, int] = {}
        self._prev_rtgs: list[dict] = []
        self._day_no: int | None = None
        self._days: dict[str, _DayState] = {}
        self._last_state: dict[str, tuple[int, int, dict]] = {}
        for a in sim.world.agent_list:
            zero = {"liquidity_cost": 0, "delay_cost": 0, "collateral_cost": 0,
                    "split_friction_cost": 0, "deadline_penalty_cost": 0,
                    "liquidity_opportunity_cost": 0, "total_cost": 0}
            run = a.cost_run
            if any(run):
                zero = {"liquidity_cost": run[0], "delay_cost": run[1], "collateral_cost": run[2],
                        "split_friction_cost": run[6], "deadline_penalty_cost": run[4] + run[5],
                        "liquidity_opportunity_cost": run[3], "total_cost": sum(run)}
            self._last_state[a.id] = (a.balance, a.posted_collateral, zero)

    def keeps(self, part: str) -> bool:
        """Whether this run stores ``part`` (``events``, ``states`` or ``queues``)."""
        return True

    # ------------------------------------------------------------------ run start
    def start(self) -> None:
        """Insert the ``simulations`` row (status running) and the ``init`` policy snapshots."""
        from .. import __version__
        sim = self.sim
        sc = sim.scenario
        cfg = effective_config(sc, sim.seed)
        cfg_json = canonical_json(cfg)
        w = sim.world
        source = getattr(sc, "source", "<dict>") or "<dict>"
        config_file = source if source == "<dict>" else source.replace("\\", "/").rsplit("/", 1)[-1]
        con = self.store.connection
        row = {
            "simulation_id": self.run_id, "config_file": config_file,
            "config_hash": sha256(cfg_json), "config_json": cfg_json,
            "ticks_per_day": w.ticks_per_day, "num_days": w.num_days,
            "num_agents": len(w.agent_list), "status": "running", "ticks_run": 0,
            "total_ticks": w.total_ticks, "scenario_name": sc.name,
            "paysim_version": __version__, "profile": sc.profile,
            "run_info_json": RunInfo.from_sim(sim).to_json(),
        }
        snaps = []
        for aid in sorted((sc.agent_policies or {})):
            doc = canonical_json(_policy_document(sc.agent_policies[aid]))
            snaps.append((self.run_id, aid, 0, 0, sha256(doc), doc, "init"))
        self.store._transaction(lambda: self._insert_start(con, row, int(sim.seed), snaps))

    def _insert_start(self, con, row: dict, seed: int, snaps: list) -> None:
        cols = list(row)
        con.execute(
            f"INSERT INTO simulations ({', '.join(cols)}, rng_seed, started_at, run_number) "
            f"SELECT {', '.join('?' for _ in cols)}, ?, now(), "
            f"coalesce((SELECT max(run_number) FROM simulations), 0) + 1",
            [row[c] for c in cols] + [seed])
        if snaps:
            insert(con, POLICY_SNAPSHOTS, {
                "simulation_id": [s[0] for s in snaps], "agent_id": [s[1] for s in snaps],
                "snapshot_day": [s[2] for s in snaps], "snapshot_tick": [s[3] for s in snaps],
                "policy_hash": [s[4] for s in snaps], "policy_json": [s[5] for s in snaps],
                "created_by": [s[6] for s in snaps]})

    # ------------------------------------------------------------------ per tick
    def add_tick(self, record: TickRecord) -> None:
        """Buffer one completed tick; flushes after a day's last tick and every flush_every."""
        self._buffer.append(record)
        self._collect_collateral(record)
        if record.summary["is_end_of_day"] or (
                self.flush_every is not None and len(self._buffer) >= self.flush_every):
            self.flush()

    def _collect_collateral(self, rec: TickRecord) -> None:
        agents = self.sim.world.agents
        c = self._collateral
        for ev in rec.events:
            action = COLLATERAL_CHANGE.get(ev["event_type"])
            if action is None:
                continue
            amount, after = ev["amount"], ev["new_total"]
            timer = ev["event_type"] == "CollateralTimerWithdrawn"
            agent = agents.get(ev["agent_id"])
            capacity = agent.max_collateral_capacity if agent is not None else None
            c["id"].append(ev["seq"])
            c["simulation_id"].append(self.run_id)
            c["agent_id"].append(ev["agent_id"])
            c["tick"].append(rec.tick)
            c["day"].append(rec.day)
            c["action"].append(action)
            c["amount"].append(amount)
            c["reason"].append(ev["original_reason"] if timer else ev["reason"])
            c["layer"].append("timer" if timer else (ev.get("layer") or "strategic"))
            c["balance_before"].append(ev.get("balance"))
            c["posted_collateral_before"].append(after - amount if action == "post"
                                                 else after + amount)
            c["posted_collateral_after"].append(after)
            c["available_capacity_after"].append(None if capacity is None else capacity - after)

    # ------------------------------------------------------------------ flush
    @property
    def ticks_stored(self) -> int:
        return self._ticks_stored

    def flush(self) -> None:
        """Write every buffered tick in one transaction (no-op when nothing is buffered)."""
        if not self._buffer:
            return
        buf = self._buffer
        batch = self._build(buf)
        ticks = self._ticks_stored + len(buf)
        con = self.store.connection

        def write():
            for table, cols, replace in batch:
                insert(con, table, cols, replace=replace)
            con.execute("UPDATE simulations SET ticks_run = ?, status = 'running', "
                        "completed_at = NULL WHERE simulation_id = ?", [ticks, self.run_id])

        self.store._transaction(write)
        self._buffer = []
        self._collateral = {c: [] for c in COLLATERAL_EVENTS.column_names}
        self._ticks_stored = ticks

    def _build(self, buf: list[TickRecord]) -> list[tuple[Table, dict, bool]]:
        rid = self.run_id
        ev_cols = {c: [] for c in SIMULATION_EVENTS.column_names}
        reg_cols = {c: [] for c in AGENT_STATE_REGISTERS.column_names}
        st_cols = {c: [] for c in TICK_AGENT_STATES.column_names}
        q_cols = {c: [] for c in TICK_QUEUE_SNAPSHOTS.column_names}
        sum_cols = {c: [] for c in TICK_SUMMARIES.column_names}
        daily = {c: [] for c in DAILY_AGENT_METRICS.column_names}
        aqs = {c: [] for c in AGENT_QUEUE_SNAPSHOTS.column_names}
        touched: set[str] = set()
        state_names = [c for c in AGENT_STATE_COLUMNS if c != "agent_id"]
        for rec in buf:
            t, d = rec.tick, rec.day
            registers: dict[tuple[str, str], float] = {}
            for ev in rec.events:
                et = ev["event_type"]
                names = FIELDS[et]
                details = {n: ev.get(n) for n in names}
                seq = ev["seq"]
                ev_cols["simulation_id"].append(rid)
                ev_cols["seq"].append(seq)
                ev_cols["event_id"].append(f"{rid}:{seq}")
                ev_cols["tick"].append(t)
                ev_cols["day"].append(d)
                ev_cols["event_type"].append(et)
                af = AGENT_FIELD[et]
                ev_cols["agent_id"].append(details[af] if af is not None else None)
                ev_cols["tx_id"].append(details["tx_id"] if HAS_TX[et] else None)
                amt = details["amount"] if HAS_AMOUNT[et] else None
                ev_cols["amount"].append(amt if type(amt) is int else None)
                ev_cols["details"].append(details_json(details))
                if et == "StateRegisterSet":
                    # Several writes of one register in one tick (a policy write and the
                    # end-of-day reset): the row holds the value at the end of the tick.
                    registers[(details["agent_id"], details["register_key"])] = details["new_value"]
                for f in TX_ONE_FIELDS:
                    v = details.get(f)
                    if v:
                        touched.add(v)
                for f in TX_LIST_FIELDS:
                    v = details.get(f)
                    if v:
                        touched.update(v)
            for (agent, key), value in registers.items():
                reg_cols["simulation_id"].append(rid)
                reg_cols["tick"].append(t)
                reg_cols["agent_id"].append(agent)
                reg_cols["register_key"].append(key)
                reg_cols["register_value"].append(float(value))
            for a in rec.agent_states:
                st_cols["simulation_id"].append(rid)
                st_cols["agent_id"].append(a["agent_id"])
                st_cols["tick"].append(t)
                st_cols["day"].append(d)
                for n in state_names:
                    st_cols[n].append(a[n])
            for q in rec.queues:
                q_cols["simulation_id"].append(rid)
                q_cols["tick"].append(t)
                for n in QUEUE_COLUMNS:
                    q_cols[n].append(q[n])
                tid = q["tx_id"]
                touched.add(tid)
                counter = self._q1_ticks if q["queue_type"] == "queue1" else self._q2_ticks
                counter[tid] = counter.get(tid, 0) + 1
            s = rec.summary
            sum_cols["simulation_id"].append(rid)
            sum_cols["tick"].append(t)
            sum_cols["day"].append(d)
            for n in SUMMARY_COLUMNS:
                sum_cols[n].append(s[n])
            self._track_day(rec, daily, aqs)
        batch = [
            (SIMULATION_EVENTS, ev_cols, False),
            (AGENT_STATE_REGISTERS, reg_cols, False),
            (COLLATERAL_EVENTS, self._collateral, False),
            (TICK_AGENT_STATES, st_cols, False),
            (TICK_QUEUE_SNAPSHOTS, q_cols, False),
            (TICK_SUMMARIES, sum_cols, False),
            (TRANSACTIONS, self._transaction_rows(touched), True),
            (DAILY_AGENT_METRICS, daily, False),
            (AGENT_QUEUE_SNAPSHOTS, aqs, False),
        ]
        return batch

    # ------------------------------------------------------------------ daily metrics
    def _track_day(self, rec: TickRecord, daily: dict, aqs: dict) -> None:
        if rec.day != self._day_no:
            self._day_no = rec.day
            self._days = {aid: _DayState(bal, posted, costs)
                          for aid, (bal, posted, costs) in self._last_state.items()}
        days = self._days
        txs = self.sim.world.txs
        for a in rec.agent_states:
            ds = days.get(a["agent_id"])
            if ds is None:
                continue
            bal = a["balance"]
            ds.min_balance = min(ds.min_balance, bal)
            ds.max_balance = max(ds.max_balance, bal)
            ds.peak_overdraft = max(ds.peak_overdraft, a["credit_used"])
            ds.peak_posted = max(ds.peak_posted, a["posted_collateral"])
            ds.q1_peak = max(ds.q1_peak, a["queue1_count"])
            self._last_state[a["agent_id"]] = (bal, a["posted_collateral"], _cost_snapshot(a))

        def bump(agent, attr, n=1):
            ds = days.get(agent)
            if ds is not None:
                setattr(ds, attr, getattr(ds, attr) + n)

        def settled(tid):
            tx = txs.get(tid)
            if tx is not None:
                bump(tx.sender_id, "settled")
                bump(tx.receiver_id, "received")

        for ev in rec.events:
            et = ev["event_type"]
            if et == "Arrival":
                tx = txs.get(ev["tx_id"])
                if tx is None or tx.parent_id is None:
                    bump(ev["sender_id"], "arrivals")
            elif et == "PolicySubmit":
                bump(ev["agent_id"], "sent")
            elif et == "PolicySplit":
                bump(ev["agent_id"], "sent", len(ev["child_ids"] or ()))
            elif et == "PolicyDrop":
                bump(ev["agent_id"], "dropped")
            elif et in SETTLE_ONE:
                bump(ev["sender"], "settled")
                bump(ev["receiver"], "received")
            elif et == "LsmBilateralOffset":
                if ev.get("settled", True):
                    for tid in ev["tx_ids"]:
                        settled(tid)
            elif et == "LsmCycleSettlement":
                for tid in ev["tx_ids"]:
                    settled(tid)
            elif et == "EntryDispositionOffset":
                if ev.get("settled", True):
                    pair = {ev["agent_a"], ev["agent_b"]}
                    for q in self._prev_rtgs:
                        tx = txs.get(q["tx_id"])
                        if (tx is not None and {tx.sender_id, tx.receiver_id} == pair
                                and tx.settled_tick == rec.tick
                                and tx.settled_by == "lsm_bilateral"):
                            settled(q["tx_id"])
            elif et in ("CollateralPost",):
                bump(ev["agent_id"], "posts")
            elif et in ("CollateralWithdraw", "CollateralTimerWithdrawn"):
                bump(ev["agent_id"], "withdrawals")
        self._prev_rtgs = [q for q in rec.queues if q["queue_type"] == "rtgs"]
        if not rec.summary["is_end_of_day"]:
            return
        rid = self.run_id
        agents = self.sim.world.agents
        for a in rec.agent_states:
            aid = a["agent_id"]
            ds = days.get(aid)
            if ds is None:
                continue
            now = _cost_snapshot(a)
            agent = agents.get(aid)
            row = {
                "simulation_id": rid, "agent_id": aid, "day": rec.day,
                "opening_balance": ds.opening_balance, "closing_balance": a["balance"],
                "min_balance": ds.min_balance, "max_balance": ds.max_balance,
                "unsecured_cap": a["unsecured_cap"], "peak_overdraft": ds.peak_overdraft,
                "opening_posted_collateral": ds.opening_posted,
                "closing_posted_collateral": a["posted_collateral"],
                "peak_posted_collateral": ds.peak_posted,
                "collateral_capacity": agent.max_collateral_capacity if agent else None,
                "num_collateral_posts": ds.posts, "num_collateral_withdrawals": ds.withdrawals,
                "num_arrivals": ds.arrivals, "num_sent": ds.sent, "num_received": ds.received,
                "num_settled": ds.settled, "num_dropped": ds.dropped,
                "queue1_peak_size": ds.q1_peak, "queue1_eod_size": a["queue1_count"],
            }
            for k, v in now.items():
                row[k] = v - ds.start_costs.get(k, 0)
            for k, v in row.items():
                daily[k].append(v)
        for q in rec.queues:
            if q["queue_type"] == "queue1":
                aqs["simulation_id"].append(rid)
                aqs["agent_id"].append(q["agent_id"])
                aqs["day"].append(rec.day)
                aqs["queue_type"].append("queue1")
                aqs["position"].append(q["position"])
                aqs["transaction_id"].append(q["tx_id"])

    # ------------------------------------------------------------------ transactions
    def _transaction_rows(self, touched: set[str]) -> dict[str, list]:
        names = TRANSACTIONS.column_names
        cols = {c: [] for c in names}
        w = self.sim.world
        txs = [w.txs[t] for t in touched if t in w.txs]
        txs.sort(key=lambda tx: tx.seq)
        tpd = w.ticks_per_day
        last_tick = max(w.tick - 1, 0)
        for tx in txs:
            status = transaction_status(tx)
            reason = "Expired deadline" if status == "dropped" else None
            st = tx.settled_tick
            end = st if (st is not None and status == "settled") else last_tick
            row = (self.run_id, tx.tx_id, tx.sender_id, tx.receiver_id, tx.amount, tx.priority,
                   bool(tx.is_divisible), tx.arrival_tick, tx.arrival_tick // tpd,
                   tx.deadline_tick, st, None if st is None else st // tpd, status,
                   tx.overdue_since_tick, reason, tx.amount - tx.remaining_amount,
                   self._q1_ticks.get(tx.tx_id, 0), self._q2_ticks.get(tx.tx_id, 0),
                   max(end - tx.arrival_tick, 0), tx.delay_cost, tx.parent_id, tx.split_index,
                   tx.rtgs_priority, tx.rtgs_submission_tick, tx.declared_rtgs_priority,
                   tx.remaining_amount, tx.settled_by, tx.original_priority,
                   bool(tx.withdrawn), transaction_location(tx), tx.seq)
            for name, v in zip(names, row):
                cols[name].append(v)
        return cols

    # ------------------------------------------------------------------ run end
    def _close(self, sim, status: str, error: str | None) -> None:
        summary = sim.summary()
        wall = sim.wall_seconds
        ticks = self._ticks_stored
        tps = ticks / wall if wall and wall > 0 else None
        con = self.store.connection

        def write():
            con.execute(
                "UPDATE simulations SET status = ?, completed_at = now(), error = ?, "
                "total_arrivals = ?, total_settlements = ?, total_cost_cents = ?, "
                "duration_seconds = ?, ticks_per_second = ?, ticks_run = ?, summary_json = ? "
                "WHERE simulation_id = ?",
                [status, error, summary["arrivals"], summary["settlements"],
                 summary["total_cost"], float(wall), tps, ticks,
                 json.dumps(summary, sort_keys=True, ensure_ascii=False), self.run_id])

        self.store._transaction(write)
        self._status = status
        self._closed_at_ticks = ticks

    def finish(self, sim) -> None:
        """Final flush; status ``completed`` with totals. Safe to call more than once."""
        if self._status == "completed" and not self._buffer and \
                self._closed_at_ticks == self._ticks_stored:
            return
        self.flush()
        self._close(sim, "completed", None)

    def fail(self, sim, exc: BaseException) -> None:
        """Flush the completed ticks and mark the run ``failed`` (never raises)."""
        error = f"{type(exc).__name__}: {exc}"
        try:
            self.flush()
        except Exception as flush_exc:  # keep the original error; note the lost ticks
            error += f" (and {len(self._buffer)} buffered ticks could not be stored: {flush_exc})"
            self._buffer = []
        try:
            self._close(sim, "failed", error)
        except Exception:
            pass

    def policy_changed(self, sim, agent_id: str, document: Any) -> None:
        """Record a policy replaced during the run (``manual`` snapshot at the current tick)."""
        doc = canonical_json(_policy_document(document))
        tick = sim.current_tick
        con = self.store.connection
        self.store._transaction(lambda: insert(con, POLICY_SNAPSHOTS, {
            "simulation_id": [self.run_id], "agent_id": [agent_id],
            "snapshot_day": [tick // self.ticks_per_day], "snapshot_tick": [tick],
            "policy_hash": [sha256(doc)], "policy_json": [doc], "created_by": ["manual"]},
            replace=True))

