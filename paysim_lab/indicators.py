"""Standard RTGS indicators of a run: per bank per day, system-wide per day, throughput curves.

Everything is computed from two frames that a live :class:`~paysim_lab.Simulation` and a run
in a :class:`~paysim_lab.Store` both provide: the payments (``transactions``) and the banks'
end-of-tick states (``history``). So the same call works on either, and gives the same
numbers. Formulas and sources of every column: docs/indicators.md.

Conventions: time is measured in ticks (the simulator's resolution: flows within one tick are
netted); money is integer cents; only *payments* count as flows (split children, not their
parents; scenario-event transfers are not payments); the day of a settlement is the day of
its tick.

>>> import paysim_lab as psl
>>> sim = psl.Simulation(psl.data.scenario_path("gridlock_ring"))       # doctest: +SKIP
>>> _ = sim.run()                                                       # doctest: +SKIP
>>> bank_indicators(sim)[["agent_id", "day", "max_liquidity_usage"]]   # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: settled_by values that count as settled through the liquidity-saving mechanism (offsets).
LSM_SETTLED_BY = ("lsm_bilateral", "lsm_cycle")

BANK_COLUMNS = (
    "agent_id", "day", "available_liquidity_sod", "max_liquidity_usage",
    "max_net_credit_position", "liquidity_usage_share", "value_sent", "value_received",
    "count_sent", "count_received", "turnover_ratio", "delay_indicator", "throughput_midday",
    "tso_count", "tso_value", "tso_missed_value", "peak_queue2_value",
)
SYSTEM_COLUMNS = (
    "day", "arrivals", "settled_same_day", "settlement_rate", "value_arrived",
    "value_settlement_rate", "value_settled", "value_settled_lsm", "lsm_share",
    "peak_queue2_value", "unsettled_value_eod", "total_max_liquidity_usage",
    "delay_indicator", "gridlock_ticks", "gridlock_episodes",
)
_TX_COLUMNS = ("tx_id", "parent_id", "sender_id", "receiver_id", "amount", "arrival_tick",
               "deadline_tick", "settlement_tick", "settled_by")
_HIST_COLUMNS = ("tick", "agent_id", "balance", "available_liquidity", "queue2_value")


@dataclass(frozen=True)
class RunFrames:
    """What the indicators read of a run: payments, end-of-tick states, the clock, the banks.

    >>> rf = run_frames(sim); rf.days_run, rf.agent_ids       # doctest: +SKIP
    """

    transactions: pd.DataFrame   # _TX_COLUMNS
    history: pd.DataFrame        # _HIST_COLUMNS
    ticks_per_day: int
    num_days: int
    agent_ids: tuple[str, ...]   # ascending

    @property
    def ticks_run(self) -> int:
        return int(self.history["tick"].max()) + 1 if len(self.history) else 0

    @property
    def days_run(self) -> int:
        return -(-self.ticks_run // self.ticks_per_day)


def run_frames(source, run_id: str | None = None) -> RunFrames:
    """The frames of a Simulation, or of ``run_id`` in a Store (latest run when None).

    >>> run_frames(sim).ticks_per_day        # doctest: +SKIP
    """
    if hasattr(source, "world") and hasattr(source, "transactions"):   # a Simulation
        tx = source.transactions()
        hist = source.history()
        w = source.world
        return _frames(tx, hist, w.ticks_per_day, w.num_days,
                       tuple(a.id for a in w.agent_list))
    if hasattr(source, "sql") and hasattr(source, "run"):               # a Store
        run_id = run_id or source.latest_run_id()
        row = source.run(run_id)
        tx = source.sql(
            "SELECT tx_id, parent_tx_id AS parent_id, sender_id, receiver_id, amount, "
            "arrival_tick, deadline_tick, settlement_tick, settled_by FROM transactions "
            "WHERE simulation_id = ? ORDER BY tx_id", [run_id])
        hist = source.sql(
            "SELECT tick, agent_id, balance, available_liquidity, queue2_value "
            "FROM tick_agent_states WHERE simulation_id = ? ORDER BY tick, agent_id", [run_id])
        agents = tuple(sorted(hist["agent_id"].unique())) if len(hist) else ()
        return _frames(tx, hist, int(row["ticks_per_day"]), int(row["num_days"]), agents)
    if isinstance(source, RunFrames):
        return source
    raise TypeError(f"indicators need a Simulation, a Store or RunFrames, got "
                    f"{type(source).__name__}")


def _frames(tx: pd.DataFrame, hist: pd.DataFrame, tpd: int, days: int,
            agents: tuple[str, ...]) -> RunFrames:
    tx = tx.loc[:, list(_TX_COLUMNS)].copy()
    for c in ("amount", "arrival_tick", "deadline_tick", "settlement_tick"):
        tx[c] = tx[c].astype("Int64")
    hist = hist.loc[:, list(_HIST_COLUMNS)].copy()
    return RunFrames(tx, hist, int(tpd), int(days), tuple(sorted(agents)))


# ---- payments ---------------------------------------------------------------------------------

def leaf_payments(rf: RunFrames) -> pd.DataFrame:
    """Payments that settle on their own (split parents dropped), with their root payment.

    Columns: those of the transactions frame plus ``root_id``, ``settled`` (bool) and
    ``s_tick`` (settlement tick, -1 when unsettled).

    >>> leaf_payments(run_frames(sim))[["tx_id", "root_id", "settled"]]   # doctest: +SKIP
    """
    tx = rf.transactions
    parents = tx["parent_id"].dropna()
    leaves = tx.loc[~tx["tx_id"].isin(parents)].copy()
    parent_of = pd.Series(tx["parent_id"].to_numpy(), index=tx["tx_id"].to_numpy()).dropna()
    root = leaves["parent_id"].where(leaves["parent_id"].notna(), leaves["tx_id"])
    while True:   # children of split children: walk up until every id is a root (no cycles)
        up = root.map(parent_of)
        if up.isna().all():
            break
        root = up.where(up.notna(), root)
    leaves["root_id"] = root.to_numpy()
    leaves["settled"] = leaves["settlement_tick"].notna().to_numpy(dtype=bool)
    leaves["s_tick"] = leaves["settlement_tick"].fillna(-1).astype(np.int64).to_numpy()
    return leaves.reset_index(drop=True)


def _flows(rf: RunFrames, leaves: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(sent, received): arrays [bank, tick] of settled payment value over the ticks run."""
    n, T = len(rf.agent_ids), rf.days_run * rf.ticks_per_day
    pos = {a: i for i, a in enumerate(rf.agent_ids)}
    done = leaves.loc[leaves["settled"] & (leaves["s_tick"] < T)]
    amt = done["amount"].to_numpy(dtype=np.int64)
    t = done["s_tick"].to_numpy(dtype=np.int64)
    sent = np.zeros((n, T), dtype=np.int64)
    recv = np.zeros((n, T), dtype=np.int64)
    np.add.at(sent, (done["sender_id"].map(pos).to_numpy(dtype=np.int64), t), amt)
    np.add.at(recv, (done["receiver_id"].map(pos).to_numpy(dtype=np.int64), t), amt)
    return sent, recv


def _hist_grid(rf: RunFrames, column: str) -> np.ndarray:
    """history[column] as an array [bank, tick]; ticks not run (a partial last day) are NaN."""
    n, T = len(rf.agent_ids), rf.days_run * rf.ticks_per_day
    out = np.full((n, T), np.nan)
    pos = {a: i for i, a in enumerate(rf.agent_ids)}
    h = rf.history
    out[h["agent_id"].map(pos).to_numpy(dtype=np.int64), h["tick"].to_numpy(dtype=np.int64)] = (
        h[column].to_numpy(dtype=float))
    return out


def _delay_ratio(leaves: pd.DataFrame, tpd: int) -> pd.Series:
    """Per row: (numerator, denominator) terms of the Leinonen-Soramaki delay indicator."""
    close = (leaves["arrival_tick"].to_numpy(dtype=np.int64) // tpd + 1) * tpd
    arr = leaves["arrival_tick"].to_numpy(dtype=np.int64)
    settled_at = np.where(leaves["settled"].to_numpy(), leaves["s_tick"].to_numpy(), close)
    amt = leaves["amount"].to_numpy(dtype=float)
    return (amt * (np.minimum(settled_at, close) - arr), amt * (close - arr))


def _empty(columns) -> pd.DataFrame:
    """The frame of a run that has not run a tick yet."""
    return pd.DataFrame({c: pd.Series(dtype=object if c == "agent_id" else float)
                         for c in columns})


def _ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# ---- per bank per day -------------------------------------------------------------------------

def bank_indicators(source, run_id: str | None = None) -> pd.DataFrame:
    """One row per bank per day (columns ``BANK_COLUMNS``; formulas in docs/indicators.md).

    ``source`` is a Simulation, a Store (with ``run_id``; latest run when None) or RunFrames.

    >>> bank_indicators(sim).set_index(["agent_id", "day"]).max_liquidity_usage  # doctest: +SKIP
    """
    rf = run_frames(source, run_id)
    tpd, D, n = rf.ticks_per_day, rf.days_run, len(rf.agent_ids)
    if D == 0:
        return _empty(BANK_COLUMNS)
    leaves = leaf_payments(rf)
    sent, recv = _flows(rf, leaves)
    by_day = (n, D, tpd)
    sent3, recv3 = sent.reshape(by_day), recv.reshape(by_day)
    # BCBS 248 A(i): net cumulative position through the day, at each tick's end
    ncp = np.cumsum(recv3 - sent3, axis=2)
    max_usage = np.maximum(-ncp.min(axis=2), 0)
    max_credit = np.maximum(ncp.max(axis=2), 0)
    # BCBS 248 A(ii): available liquidity before the day's first settlements
    avail = _hist_grid(rf, "available_liquidity").reshape(by_day)
    sod = avail[:, :, 0] - recv3[:, :, 0] + sent3[:, :, 0]
    value_sent = sent3.sum(axis=2)
    value_recv = recv3.sum(axis=2)
    midday = sent3[:, :, : tpd // 2].sum(axis=2)
    q2 = _hist_grid(rf, "queue2_value").reshape(by_day)
    peak_q2 = np.nanmax(q2, axis=2)      # every day run has run its first tick

    pos = {a: i for i, a in enumerate(rf.agent_ids)}
    counts = np.zeros((2, n, D), dtype=np.int64)
    done = leaves.loc[leaves["settled"] & (leaves["s_tick"] < D * tpd)]
    sday = done["s_tick"].to_numpy() // tpd
    np.add.at(counts[0], (done["sender_id"].map(pos).to_numpy(dtype=np.int64), sday), 1)
    np.add.at(counts[1], (done["receiver_id"].map(pos).to_numpy(dtype=np.int64), sday), 1)

    num, den = _delay_ratio(leaves, tpd)
    sidx = leaves["sender_id"].map(pos).to_numpy(dtype=np.int64)
    aday = leaves["arrival_tick"].to_numpy(dtype=np.int64) // tpd
    keep = aday < D
    dnum = np.zeros((n, D))
    dden = np.zeros((n, D))
    np.add.at(dnum, (sidx[keep], aday[keep]), num[keep])
    np.add.at(dden, (sidx[keep], aday[keep]), den[keep])

    # time-specific obligations: payments due (deadline) on the day, and those that missed it
    dl = leaves["deadline_tick"].to_numpy(dtype=np.int64)
    dday = np.minimum(dl // tpd, rf.num_days - 1)
    missed = ~leaves["settled"].to_numpy() | (leaves["s_tick"].to_numpy() > dl)
    amt = leaves["amount"].to_numpy(dtype=np.int64)
    keep = dday < D
    tso = np.zeros((3, n, D), dtype=np.int64)
    np.add.at(tso[0], (sidx[keep], dday[keep]), 1)
    np.add.at(tso[1], (sidx[keep], dday[keep]), amt[keep])
    np.add.at(tso[2], (sidx[keep], dday[keep]), np.where(missed, amt, 0)[keep])

    frame = pd.DataFrame({
        "agent_id": np.repeat(np.array(rf.agent_ids, dtype=object), D),
        "day": np.tile(np.arange(D, dtype=np.int64), n),
        "available_liquidity_sod": sod.ravel(),
        "max_liquidity_usage": max_usage.ravel(),
        "max_net_credit_position": max_credit.ravel(),
        "liquidity_usage_share": _ratio(max_usage, sod).ravel(),
        "value_sent": value_sent.ravel(),
        "value_received": value_recv.ravel(),
        "count_sent": counts[0].ravel(),
        "count_received": counts[1].ravel(),
        "turnover_ratio": _ratio(value_sent, sod).ravel(),
        "delay_indicator": _ratio(dnum, dden).ravel(),
        "throughput_midday": _ratio(midday, value_sent).ravel(),
        "tso_count": tso[0].ravel(),
        "tso_value": tso[1].ravel(),
        "tso_missed_value": tso[2].ravel(),
        "peak_queue2_value": peak_q2.ravel(),
    })
    for c in ("available_liquidity_sod", "peak_queue2_value"):
        frame[c] = frame[c].astype(np.int64)
    return frame.loc[:, list(BANK_COLUMNS)]


# ---- system-wide per day ----------------------------------------------------------------------

def system_indicators(source, run_id: str | None = None, *,
                      gridlock_min_ticks: int = 1) -> pd.DataFrame:
    """One row per day of system-wide indicators (columns ``SYSTEM_COLUMNS``).

    A gridlock episode is a run of at least ``gridlock_min_ticks`` consecutive ticks of one day
    that end with payments in Queue 2 and in which no payment settled.

    >>> system_indicators(sim)[["day", "settlement_rate", "gridlock_episodes"]]  # doctest: +SKIP
    """
    if gridlock_min_ticks < 1:
        raise ValueError(f"gridlock_min_ticks must be >= 1, got {gridlock_min_ticks}")
    rf = run_frames(source, run_id)
    tpd, D, n = rf.ticks_per_day, rf.days_run, len(rf.agent_ids)
    if D == 0:
        return _empty(SYSTEM_COLUMNS)
    T = D * tpd
    leaves = leaf_payments(rf)
    sent, recv = _flows(rf, leaves)
    amt = leaves["amount"].to_numpy(dtype=np.int64)
    s_tick = leaves["s_tick"].to_numpy()
    settled = leaves["settled"].to_numpy()
    aday = leaves["arrival_tick"].to_numpy(dtype=np.int64) // tpd
    close = (aday + 1) * tpd                     # first tick after the arrival day
    same_day = settled & (s_tick < close)

    # counts are of payments as submitted (a split payment counts once, settled when all its
    # parts are); values are of the parts
    roots = pd.DataFrame({"root": leaves["root_id"], "aday": aday, "same": same_day})
    per_root = roots.groupby("root", sort=False).agg(aday=("aday", "min"), same=("same", "all"))
    arrivals = np.bincount(per_root["aday"].to_numpy(), minlength=D)[:D]
    settled_same = np.bincount(per_root["aday"].to_numpy(),
                               weights=per_root["same"].to_numpy(dtype=float), minlength=D)[:D]
    value_arrived = np.bincount(aday, weights=amt, minlength=D)[:D]
    value_same = np.bincount(aday, weights=np.where(same_day, amt, 0), minlength=D)[:D]

    in_run = settled & (s_tick < T)
    sday = np.where(in_run, s_tick // tpd, 0)
    value_settled = np.bincount(sday, weights=np.where(in_run, amt, 0), minlength=D)[:D]
    is_lsm = leaves["settled_by"].isin(LSM_SETTLED_BY).to_numpy()
    value_lsm = np.bincount(sday, weights=np.where(in_run & is_lsm, amt, 0), minlength=D)[:D]

    q2 = np.nan_to_num(_hist_grid(rf, "queue2_value")).sum(axis=0)          # [tick]
    peak_q2 = q2.reshape(D, tpd).max(axis=1)
    # value arrived by the day's close and still unsettled then
    unsettled = np.array([amt[(aday <= d) & ~(settled & (s_tick < (d + 1) * tpd))].sum()
                          for d in range(D)], dtype=np.int64)
    usage = np.maximum(-np.cumsum((recv - sent).reshape(n, D, tpd), axis=2).min(axis=2), 0)

    num, den = _delay_ratio(leaves, tpd)
    dnum = np.bincount(aday, weights=num, minlength=D)[:D]
    dden = np.bincount(aday, weights=den, minlength=D)[:D]

    n_settled = np.bincount(s_tick[in_run], minlength=T)[:T]
    stalled = ((q2 > 0) & (n_settled == 0)).reshape(D, tpd)
    g_ticks, g_eps = _episodes(stalled, gridlock_min_ticks)

    frame = pd.DataFrame({
        "day": np.arange(D, dtype=np.int64),
        "arrivals": arrivals.astype(np.int64),
        "settled_same_day": settled_same.astype(np.int64),
        "settlement_rate": _ratio(settled_same, arrivals),
        "value_arrived": value_arrived.astype(np.int64),
        "value_settlement_rate": _ratio(value_same, value_arrived),
        "value_settled": value_settled.astype(np.int64),
        "value_settled_lsm": value_lsm.astype(np.int64),
        "lsm_share": _ratio(value_lsm, value_settled),
        "peak_queue2_value": peak_q2.astype(np.int64),
        "unsettled_value_eod": unsettled,
        "total_max_liquidity_usage": usage.sum(axis=0).astype(np.int64),
        "delay_indicator": _ratio(dnum, dden),
        "gridlock_ticks": g_ticks,
        "gridlock_episodes": g_eps,
    })
    return frame.loc[:, list(SYSTEM_COLUMNS)]


def _episodes(stalled: np.ndarray, min_ticks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a [day, tick] bool array: ticks in qualifying runs, and how many runs."""
    ticks = np.zeros(len(stalled), dtype=np.int64)
    eps = np.zeros(len(stalled), dtype=np.int64)
    for d, row in enumerate(stalled):
        padded = np.concatenate(([False], row, [False])).astype(np.int8)
        edges = np.diff(padded)
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        lengths = ends - starts
        long = lengths >= min_ticks
        ticks[d] = lengths[long].sum()
        eps[d] = long.sum()
    return ticks, eps


# ---- throughput curves ------------------------------------------------------------------------

def throughput(source, run_id: str | None = None, *, system: bool = False) -> pd.DataFrame:
    """BCBS 248 intraday throughput: share of each day's outgoing value settled by each tick.

    One row per bank (or, with ``system=True``, for the whole system) per day per tick of the
    day: ``value_settled_cum`` (value sent and settled from the day's start through the end of
    that tick) and ``share`` (that over the day's total; NaN on a day with nothing settled).

    >>> throughput(sim, system=True).query("day == 0")   # doctest: +SKIP
    """
    rf = run_frames(source, run_id)
    tpd, D = rf.ticks_per_day, rf.days_run
    if D == 0:
        return _empty(("agent_id", "day", "tick_of_day", "tick", "value_settled_cum", "share"))
    sent, _ = _flows(rf, leaf_payments(rf))
    ids = rf.agent_ids
    if system:
        sent = sent.sum(axis=0, keepdims=True)
        ids = ("(system)",)
    cum = np.cumsum(sent.reshape(len(ids), D, tpd), axis=2)
    share = _ratio(cum, np.broadcast_to(cum[:, :, -1:], cum.shape))
    k = len(ids)
    return pd.DataFrame({
        "agent_id": np.repeat(np.array(ids, dtype=object), D * tpd),
        "day": np.tile(np.repeat(np.arange(D, dtype=np.int64), tpd), k),
        "tick_of_day": np.tile(np.arange(tpd, dtype=np.int64), k * D),
        "tick": np.tile(np.arange(D * tpd, dtype=np.int64), k),
        "value_settled_cum": cum.ravel(),
        "share": share.ravel(),
    })


def indicators(source, run_id: str | None = None, level: str = "bank", **kwargs) -> pd.DataFrame:
    """``level`` "bank" (bank_indicators), "system" (system_indicators) or "throughput".

    >>> indicators(sim, level="system")   # doctest: +SKIP
    """
    funcs = {"bank": bank_indicators, "system": system_indicators, "throughput": throughput}
    if level not in funcs:
        raise ValueError(f"level must be one of {', '.join(funcs)}, got {level!r}")
    return funcs[level](source, run_id, **kwargs)


# ---- one run in a few numbers ----------------------------------------------------------------

RUN_COLUMNS = ("value_arrived", "value_settled", "value_settlement_rate", "unsettled_value",
               "delay_indicator", "peak_queue2_value", "max_liquidity_usage",
               "gridlock_ticks")


def run_summary(source, run_id: str | None = None) -> dict:
    """The whole run in a few numbers (``RUN_COLUMNS``), plus ``unsettled_value.<BANK>`` per bank.

    ``unsettled_value``: value of the payments not settled at the end of the run;
    ``delay_indicator``: the Leinonen-Soramaki ratio over every payment of the run (each
    measured against the close of its arrival day); ``peak_queue2_value`` and
    ``max_liquidity_usage``: the largest daily values of the system frame (the latter is
    ``total_max_liquidity_usage``); ``gridlock_ticks``: summed over the days. Plain Python
    numbers, so a sweep can carry them as columns.

    >>> run_summary(sim)["unsettled_value"]   # doctest: +SKIP
    """
    rf = run_frames(source, run_id)
    leaves = leaf_payments(rf)
    sysf = system_indicators(rf)
    amt = leaves["amount"].to_numpy(dtype=np.int64)
    open_ = ~leaves["settled"].to_numpy()
    num, den = _delay_ratio(leaves, rf.ticks_per_day)
    arrived = int(amt.sum())
    settled = int(amt[~open_].sum())
    out = {
        "value_arrived": arrived,
        "value_settled": settled,
        "value_settlement_rate": settled / arrived if arrived else math.nan,
        "unsettled_value": int(amt[open_].sum()),
        "delay_indicator": float(num.sum() / den.sum()) if den.sum() > 0 else math.nan,
        "peak_queue2_value": int(sysf["peak_queue2_value"].max()) if len(sysf) else 0,
        "max_liquidity_usage": int(sysf["total_max_liquidity_usage"].max()) if len(sysf) else 0,
        "gridlock_ticks": int(sysf["gridlock_ticks"].sum()),
    }
    per_bank = pd.Series(np.where(open_, amt, 0)).groupby(leaves["sender_id"].to_numpy()).sum()
    for aid in rf.agent_ids:
        out[f"unsettled_value.{aid}"] = int(per_bank.get(aid, 0))
    return out
