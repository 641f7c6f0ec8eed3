"""Per-bank charts over ticks: liquidity, collateral, release budgets, queues and costs."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..engine.events import FIELDS
from .run_data import RunData, _cents, _column, _dollars, _na, _series
from .layout import _colors, _decorate, _empty, _money_hover, _money_line, _select


#: Cost kinds in the order of ``sim.costs()``; label and colour per kind.
COST_KINDS = ("overdraft", "delay", "collateral", "liquidity_opportunity", "deadline_penalty",
              "eod_penalty", "split_friction")


_COST_LABELS = {"overdraft": "overdraft", "delay": "delay", "collateral": "collateral",
                "liquidity_opportunity": "liquidity opportunity",
                "deadline_penalty": "deadline penalty", "eod_penalty": "end-of-day penalty",
                "penalty": "penalties", "split_friction": "split friction"}


_COST_COLORS = {"overdraft": "#d62728", "delay": "#ff7f0e", "collateral": "#9467bd",
                "liquidity_opportunity": "#17becf", "deadline_penalty": "#8c564b",
                "eod_penalty": "#e377c2", "penalty": "#8c564b", "split_friction": "#7f7f7f"}


# CostAccrual columns per kind (engine.md 9); penalties are told apart by the event's source
_ACCRUAL_COLUMN = {"overdraft": "liquidity_cost", "delay": "delay_cost",
                   "collateral": "collateral_cost",
                   "liquidity_opportunity": "liquidity_opportunity_cost",
                   "split_friction": "split_friction_cost"}


LIQUIDITY_METRICS = (("balance", "Balance"), ("credit_used", "Credit used"),
                     ("available_liquidity", "Available liquidity"))


def liquidity(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Balance, credit used and available liquidity per bank over ticks (three stacked panels).

    Traces: one per bank and metric, ``meta={"agent_id", "metric"}``; y in dollars,
    ``customdata`` the exact cents of ``sim.history()``.

    >>> fig = liquidity(sim)                                       # doctest: +SKIP
    >>> find_traces(fig, agent_id="A", metric="balance")[0].customdata  # doctest: +SKIP
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=[t for _, t in LIQUIDITY_METRICS])
    for row, (col, label) in enumerate(LIQUIDITY_METRICS, start=1):
        for aid in ids:
            part = h[h["agent_id"] == aid]
            fig.add_trace(_money_line(part["tick"], part[col], name=aid,
                                      meta={"agent_id": aid, "metric": col},
                                      color=colors[aid], showlegend=row == 1,
                                      label=f"{aid} {label.lower()}"), row=row, col=1)
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Liquidity", rows=3, ytitles=("$", "$", "$"),
                     markers=markers)


def collateral(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Posted collateral per bank (from history) with markers for posts and withdrawals.

    Marker traces (``meta={"event_type": ...}``) for CollateralPost, CollateralWithdraw,
    CollateralTimerWithdrawn and CollateralTimerBlocked; a marker sits at the event's new total
    (blocked timers: at the posted amount after that tick); its ``customdata`` row is
    ``[y cents, amount cents, agent_id, reason]``.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = go.Figure()
    for aid in ids:
        part = h[h["agent_id"] == aid]
        fig.add_trace(_money_line(part["tick"], part["posted_collateral"], name=aid,
                                  meta={"agent_id": aid, "metric": "posted_collateral"},
                                  color=colors[aid], label=f"{aid} posted collateral"))
    posted_after = {(a, int(t)): int(v) for a, t, v in
                    zip(h["agent_id"], h["tick"], h["posted_collateral"])} if len(h) else {}
    specs = (("CollateralPost", "posted", "triangle-up", "amount", "reason"),
             ("CollateralWithdraw", "withdrawn", "triangle-down", "amount", "reason"),
             ("CollateralTimerWithdrawn", "auto-withdrawn (timer)", "diamond", "amount",
              "original_reason"),
             ("CollateralTimerBlocked", "timer blocked", "x", "requested_amount", "reason"))
    for et, label, symbol, amount_col, reason_col in specs:
        ev = data.events_of(et)
        ev = ev[ev["agent_id"].isin(ids)] if len(ev) else ev
        if not len(ev):
            continue
        xs, ys, cd, marker_colors = [], [], [], []
        for r in ev.itertuples(index=False):
            aid, tick = r.agent_id, int(r.tick)
            y = (int(r.new_total) if et != "CollateralTimerBlocked"
                 else posted_after.get((aid, tick), 0))
            amount = int(getattr(r, amount_col))
            xs.append(tick)
            ys.append(y / 100)
            cd.append([y, amount, aid, str(getattr(r, reason_col))])
            marker_colors.append(colors[aid])
        fig.add_trace(go.Scatter(
            x=xs, y=ys, customdata=cd, mode="markers", name=label,
            meta={"event_type": et},
            marker=dict(symbol=symbol, size=11, color=marker_colors,
                        line=dict(width=1, color="#333")),
            hovertemplate=(f"<b>%{{customdata[2]}} {label}</b><br>tick %{{x}}"
                           f"<br>amount %{{customdata[1]:,}} cents<br>reason %{{customdata[3]}}"
                           f"<br>posted now $%{{y:,.2f}} (%{{customdata[0]:,}} cents)"
                           f"<extra></extra>")))
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Posted collateral", ytitles=("$",), markers=markers)


def budget_frame(source, **frames) -> pd.DataFrame:
    """Per bank and tick: the release budget in force (max), remaining and used, in cents.

    A bank without a budget at a tick (unlimited) gets NA. ``max`` is the value of the bank's
    latest BankBudgetSet at or before that tick; ``used = max - remaining``.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    sets = data.events_of("BankBudgetSet")
    latest: dict[str, list[tuple[int, int, int]]] = {}
    for r in sets.itertuples(index=False):
        latest.setdefault(r.agent_id, []).append((int(r.tick), int(r.seq), int(r.max_value)))
    for v in latest.values():
        v.sort()
    rows = []
    pos: dict[str, int] = {}
    current: dict[str, int | None] = {}
    for r in h.sort_values(["tick"], kind="stable").itertuples(index=False):
        aid, tick = r.agent_id, int(r.tick)
        lst = latest.get(aid, [])
        i = pos.get(aid, 0)
        while i < len(lst) and lst[i][0] <= tick:
            current[aid] = lst[i][2]
            i += 1
        pos[aid] = i
        rem = None if _na(r.release_budget_remaining) else int(r.release_budget_remaining)
        mx = current.get(aid) if rem is not None else None
        used = (mx - rem) if (mx is not None and rem is not None) else None
        rows.append((tick, aid, mx, rem, used))
    out = pd.DataFrame.from_records(rows, columns=["tick", "agent_id", "max_value", "remaining",
                                                   "used"])
    for i, c in ((2, "max_value"), (3, "remaining"), (4, "used")):
        # from the Python ints: through float64 a budget of 2**63 - 1 would not fit
        out[c] = pd.array([r[i] for r in rows], dtype="Int64")
    return out


def budgets(source, agents=None, markers: bool | str = True, **frames) -> go.Figure:
    """Release budget per bank and tick: the budget in force vs the part used.

    One panel per bank that had a budget. Traces ``meta={"agent_id", "metric": "max"|"used"}``
    (y dollars, customdata cents; NA where the bank had no budget) and, where payments were
    held for lack of budget, ``meta={"agent_id", "event_type": "PolicyHold"}`` markers with
    ``customdata`` rows ``[used cents, payments held, tx ids]``.
    """
    data = RunData.of(source, "history", **frames)
    frame = budget_frame(data)
    budget_sets = data.events_of("BankBudgetSet")
    # a payment is held for lack of budget only after a BankBudgetSet: without one, skip the
    # scan of what can be hundreds of thousands of other holds
    holds = (data.events_of("PolicyHold", reason="BudgetExhausted") if len(budget_sets)
             else pd.DataFrame({c: [] for c in ["tick", "seq", *FIELDS["PolicyHold"]]}))
    all_ids = data.agent_ids
    with_budget = sorted(set(frame.loc[frame["max_value"].notna(), "agent_id"])
                         | set(budget_sets["agent_id"])
                         | (set(holds["agent_id"]) if len(holds) else set()))
    ids = _select(all_ids, agents)
    ids = [a for a in ids if a in with_budget]
    colors = _colors(ids, all_ids)
    rows = max(len(ids), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{a}: release budget" for a in ids] or None)
    for row, aid in enumerate(ids, start=1):
        part = frame[frame["agent_id"] == aid]
        used = _cents(part["used"])
        fig.add_trace(go.Bar(x=[int(t) for t in part["tick"]], y=_dollars(used),
                             customdata=used, name=f"{aid} used",
                             meta={"agent_id": aid, "metric": "used"},
                             marker=dict(color=colors[aid], opacity=0.55),
                             hovertemplate=_money_hover(f"{aid} budget used")), row=row, col=1)
        fig.add_trace(_money_line(part["tick"], part["max_value"], name=f"{aid} budget",
                                  meta={"agent_id": aid, "metric": "max"},
                                  color=colors[aid], dash="dash",
                                  label=f"{aid} budget in force"), row=row, col=1)
        hb = holds[holds["agent_id"] == aid] if len(holds) else holds
        if len(hb):
            used_at = dict(zip((int(t) for t in part["tick"]), used))
            grouped: dict[int, list[str]] = {}
            for r in hb.itertuples(index=False):
                grouped.setdefault(int(r.tick), []).append(str(r.tx_id))
            xs = sorted(grouped)
            ys_c = [used_at.get(t) or 0 for t in xs]
            fig.add_trace(go.Scatter(
                x=xs, y=_dollars(ys_c), mode="markers", name=f"{aid} held: budget exhausted",
                customdata=[[c, len(grouped[t]), ", ".join(grouped[t])] for c, t in
                            zip(ys_c, xs)],
                meta={"agent_id": aid, "event_type": "PolicyHold"},
                marker=dict(symbol="x", size=11, color="#d62728"),
                hovertemplate=("<b>" + aid + ": %{customdata[1]} payment(s) held "
                               "(BudgetExhausted)</b><br>tick %{x}<br>%{customdata[2]}"
                               "<br>used $%{y:,.2f} (%{customdata[0]:,} cents)<extra></extra>")),
                row=row, col=1)
    if not ids:
        _empty(fig, "No release budgets were set in this run")
    fig.update_layout(barmode="overlay")
    return _decorate(fig, data, title="Release budgets", rows=rows,
                     ytitles=["$"] * len(ids), markers=markers)


def queues(source, agents=None, by_agent: bool = True, markers: bool | str = True,
           **frames) -> go.Figure:
    """Queue 1 (held by the bank) and Queue 2 (waiting in RTGS) over ticks: count and value.

    Traces ``meta={"agent_id" (or "all"), "queue": "queue1"|"queue2", "metric":
    "count"|"value"}``; value traces in dollars with cents in ``customdata``. With
    ``by_agent=False`` one trace per queue sums all banks.
    """
    data = RunData.of(source, "history", **frames)
    h = data.history
    all_ids = data.agent_ids
    ids = _select(all_ids, agents)
    colors = _colors(ids, all_ids)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Payments queued (count)", "Value queued"))
    h = h[h["agent_id"].isin(ids)] if len(h) else h
    if by_agent:
        groups = [(aid, h[h["agent_id"] == aid], colors[aid]) for aid in ids]
    else:
        summed = (h.groupby("tick", sort=True)[["queue1_count", "queue1_value", "queue2_count",
                                                "queue2_value"]].sum().reset_index()
                  if len(h) else h)
        groups = [("all", summed, "#333")]
    for aid, part, color in groups:
        for q, dash, qlabel in (("queue1", None, "Queue 1"), ("queue2", "dot", "Queue 2")):
            name = f"{aid} {qlabel}" if aid != "all" else qlabel
            ticks = [int(t) for t in part["tick"]]
            counts = _cents(part[f"{q}_count"])
            fig.add_trace(go.Scatter(x=_column(ticks), y=_column(counts), name=name,
                                     mode="lines",
                                     meta={"agent_id": aid, "queue": q, "metric": "count"},
                                     line=dict(color=color, dash=dash, shape="hv"),
                                     legendgroup=name,
                                     hovertemplate=f"<b>{name}</b><br>tick %{{x}}<br>"
                                                   f"%{{y}} payment(s)<extra></extra>"),
                          row=1, col=1)
            fig.add_trace(_money_line(part["tick"], part[f"{q}_value"], name=name,
                                      meta={"agent_id": aid, "queue": q, "metric": "value"},
                                      color=color, dash=dash, showlegend=False,
                                      legendgroup=name, label=f"{name} value"), row=2, col=1)
    if not len(h):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Queues", rows=2, ytitles=("payments", "$"),
                     markers=markers)


def cost_frame(source, **frames) -> pd.DataFrame:
    """Cumulative cost per bank, tick and kind (cents), from CostAccrual events.

    Columns: ``tick, agent_id`` and one per kind of :data:`COST_KINDS` (deadline and
    end-of-day penalties told apart by the event's ``source``; without it a single
    ``penalty`` column), plus ``total``. One row per bank per tick run.
    """
    data = RunData.of(source, "events", **frames)
    ev = data.events_of("CostAccrual")
    has_source = len(ev) == 0 or ("source" in ev.columns and ev["source"].notna().all())
    kinds = list(COST_KINDS) if has_source else [k for k in COST_KINDS
                                                 if "penalty" not in k] + ["penalty"]
    n = max(data.ticks_run, (int(ev["tick"].max()) + 1) if len(ev) else 0)
    ids = data.agent_ids or sorted(set(ev["agent_id"]))
    per: dict[tuple[str, int], dict[str, int]] = {}
    for r in ev.itertuples(index=False):
        d = per.setdefault((r.agent_id, int(r.tick)), dict.fromkeys(kinds, 0))
        for k in kinds:
            if k in _ACCRUAL_COLUMN:
                d[k] += int(getattr(r, _ACCRUAL_COLUMN[k]) or 0)
        pen = int(r.penalty_cost or 0)
        if has_source:
            d["eod_penalty" if r.source == "eod" else "deadline_penalty"] += pen
        else:
            d["penalty"] += pen
    rows = []
    for aid in ids:
        run = dict.fromkeys(kinds, 0)
        for t in range(n):
            d = per.get((aid, t))
            if d:
                for k in kinds:
                    run[k] += d[k]
            rows.append((t, aid, *(run[k] for k in kinds), sum(run.values())))
    return pd.DataFrame.from_records(rows, columns=["tick", "agent_id", *kinds, "total"])


def costs(source, agents=None, cumulative: bool = True, markers: bool | str = True,
          **frames) -> go.Figure:
    """Costs by kind per bank: cumulative stacked areas over ticks (one panel per bank), or with
    ``cumulative=False`` stacked bars of the run totals per bank.

    Traces ``meta={"agent_id", "kind"}`` (areas) or ``meta={"kind"}`` (bars); y dollars,
    ``customdata`` cents. The last cumulative value of a kind equals ``sim.costs()``.
    """
    data = RunData.of(source, "events", **frames)
    frame = cost_frame(data)
    kinds = [c for c in frame.columns if c not in ("tick", "agent_id", "total")]
    all_ids = data.agent_ids or sorted(set(frame["agent_id"]))
    ids = _select(all_ids, agents)
    if not cumulative:
        fig = go.Figure()
        last = frame.sort_values("tick").groupby("agent_id").tail(1).set_index("agent_id")
        for k in kinds:
            cents = [int(last.loc[a, k]) if a in last.index else 0 for a in ids]
            fig.add_trace(go.Bar(x=ids, y=_dollars(cents), customdata=cents,
                                 name=_COST_LABELS[k], meta={"kind": k},
                                 marker=dict(color=_COST_COLORS[k]),
                                 hovertemplate=(f"<b>%{{x}} {_COST_LABELS[k]}</b><br>"
                                                f"$%{{y:,.2f}}<br>%{{customdata:,}} cents"
                                                f"<extra></extra>")))
        fig.update_layout(barmode="stack")
        fig.update_layout(title=dict(text="Costs by kind" + data.title_suffix, x=0.01),
                          template="plotly_white", height=420,
                          margin=dict(t=90, l=70, r=20, b=50))
        fig.update_xaxes(title_text="bank")
        fig.update_yaxes(title_text="dollars", tickprefix="$")
        return fig
    rows = max(len(ids), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{a}: cumulative cost" for a in ids] or None)
    for row, aid in enumerate(ids, start=1):
        part = frame[frame["agent_id"] == aid]
        for k in kinds:
            x, y, cd = _series(part["tick"], _cents(part[k]))
            fig.add_trace(go.Scatter(
                x=x, y=y, customdata=cd,
                name=_COST_LABELS[k], legendgroup=k, showlegend=row == 1,
                meta={"agent_id": aid, "kind": k}, mode="lines", stackgroup=f"costs_{aid}",
                line=dict(color=_COST_COLORS[k], width=0.5),
                hovertemplate=_money_hover(f"{aid} {_COST_LABELS[k]} to date")),
                row=row, col=1)
    if not len(frame):
        _empty(fig, "No ticks have run yet")
    return _decorate(fig, data, title="Cumulative costs", rows=rows, ytitles=["$"] * len(ids),
                     markers=markers)
