"""Charts of the RTGS indicators (docs/indicators.md): throughput curves, liquidity usage.

Each function takes what :mod:`paysim_lab.indicators` takes (a Simulation, a Store with a run
id, or RunFrames) and returns a ``plotly.graph_objects.Figure``. As in :mod:`paysim_lab.plots`,
money is drawn in dollars with the exact cents in each trace's ``customdata``, and every trace
has a ``meta`` dict (pick traces with :func:`paysim_lab.plots.find_traces`).

>>> import paysim_lab as psl                                   # doctest: +SKIP
>>> throughput_curve(sim, day=0).show()                        # doctest: +SKIP
"""
from __future__ import annotations

import plotly.graph_objects as go

from . import indicators as ind
from .plots import PALETTE

__all__ = ["throughput_curve", "liquidity_usage_distribution"]


def throughput_curve(source, run_id: str | None = None, *, day: int | None = None,
                     agents=None, system: bool = True) -> go.Figure:
    """Share of each day's outgoing value settled by each tick of the day (BCBS 248 C(i)).

    One line per bank and day (``agents`` limits the banks; ``day`` picks one day) plus, with
    ``system=True``, a thick line for the whole system. The diagonal is even settlement
    through the day: a curve below it settles late.

    >>> fig = throughput_curve(sim, day=0)                     # doctest: +SKIP
    """
    rf = ind.run_frames(source, run_id)
    curves = ind.throughput(rf)
    frames = [curves]
    if system:
        frames.append(ind.throughput(rf, system=True))
    ids = list(rf.agent_ids) if agents is None else list(agents)
    unknown = [a for a in ids if a not in rf.agent_ids]
    if unknown:
        raise ValueError(f"unknown agents {unknown}; agents are: {', '.join(rf.agent_ids)}")
    if day is not None and not 0 <= day < rf.days_run:
        raise ValueError(f"day must be in 0..{rf.days_run - 1}, got {day}")
    colors = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(rf.agent_ids)}
    fig = go.Figure()
    tpd = rf.ticks_per_day
    fig.add_trace(go.Scatter(x=[0, tpd - 1], y=[1 / tpd, 1.0], mode="lines",
                             line=dict(color="rgba(120,120,120,0.6)", dash="dot"),
                             name="even through the day", meta={"metric": "diagonal"}))
    days = range(rf.days_run) if day is None else [day]
    for frame in frames:
        for (aid, d), g in frame.groupby(["agent_id", "day"], sort=True):
            if d not in days or (aid != "(system)" and aid not in ids):
                continue
            is_sys = aid == "(system)"
            label = ("system" if is_sys else aid) + ("" if day is not None else f" day {d}")
            fig.add_trace(go.Scatter(
                x=g["tick_of_day"].tolist(), y=g["share"].tolist(), mode="lines+markers",
                name=label, customdata=g["value_settled_cum"].tolist(),
                line=dict(color="black" if is_sys else colors[aid], width=3 if is_sys else 1.5),
                hovertemplate="tick of day %{x}: %{y:.1%} settled (%{customdata} cents)"
                              "<extra>" + label + "</extra>",
                meta={"agent_id": aid, "day": int(d), "metric": "throughput"}))
    fig.update_layout(title="Intraday throughput: share of the day's payments settled",
                      xaxis_title="tick of day", yaxis_title="share settled",
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.05])
    return fig


def liquidity_usage_distribution(source, run_id: str | None = None, *,
                                 relative: bool = False) -> go.Figure:
    """Daily maximum intraday liquidity usage (BCBS 248 A(i)), one box per bank over its days.

    ``relative=True`` plots usage as a share of the liquidity available at the start of the
    day (``liquidity_usage_share``) instead of dollars.

    >>> fig = liquidity_usage_distribution(sim)               # doctest: +SKIP
    """
    frame = ind.bank_indicators(source, run_id)
    fig = go.Figure()
    ids = sorted(frame["agent_id"].unique())
    for i, aid in enumerate(ids):
        g = frame[frame["agent_id"] == aid]
        cents = g["max_liquidity_usage"].tolist()
        y = g["liquidity_usage_share"].tolist() if relative else [c / 100 for c in cents]
        fig.add_trace(go.Box(y=y, name=aid, boxpoints="all", jitter=0.3, pointpos=0,
                             marker_color=PALETTE[i % len(PALETTE)], customdata=cents,
                             text=[f"day {d}" for d in g["day"]],
                             hovertemplate="%{text}: %{y} (%{customdata} cents)<extra>"
                                           + aid + "</extra>",
                             meta={"agent_id": aid, "metric": "max_liquidity_usage"}))
    fig.update_layout(title="Daily maximum intraday liquidity usage",
                      yaxis_title="share of start-of-day liquidity" if relative else "USD",
                      yaxis_tickformat=".0%" if relative else None, showlegend=False)
    return fig
