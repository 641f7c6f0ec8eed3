"""Where value went: the settled sender x receiver matrix and the LSM's offsets and cycles."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .run_data import RunData, _dollars, _na, _unsettled
from .layout import _colors, _decorate, _empty


def _is_settled(status: pd.Series) -> pd.Series:
    """``settled`` rows; also accepts the capitalised spelling older frames used."""
    return status.astype("object").str.lower() == "settled"


def flow_matrix(source, **frames) -> pd.DataFrame:
    """Settled value (cents) sender x receiver, from payments with status ``settled``.

    Split parents are left out (their children carry the value), so nothing counts twice.
    """
    data = RunData.of(source, "transactions", **frames)
    tx = data.transactions
    ids = sorted(set(data.agent_ids) | set(tx["sender_id"]) | set(tx["receiver_id"])) \
        if len(tx) else data.agent_ids
    parents = set(p for p in tx["parent_id"] if not _na(p)) if len(tx) else set()
    settled = tx[_is_settled(tx["status"]) & ~tx["tx_id"].isin(parents)] if len(tx) else tx
    m = pd.DataFrame(0, index=pd.Index(ids, name="sender"),
                     columns=pd.Index(ids, name="receiver"), dtype="int64")
    for s, r, a in zip(settled["sender_id"], settled["receiver_id"], settled["amount"]):
        m.loc[s, r] += int(a)
    return m


def settlement_flow(source, kind: str = "heatmap", **frames) -> go.Figure:
    """Who paid whom: settled value sender x receiver as a heatmap (``kind="sankey"`` for a
    Sankey diagram). Heatmap ``z`` in dollars, ``customdata`` the cents matrix, ``text`` the
    number of payments; Sankey link ``value`` dollars and ``customdata`` cents.
    """
    data = RunData.of(source, "transactions", **frames)
    m = flow_matrix(data)
    tx = data.transactions
    parents = set(p for p in tx["parent_id"] if not _na(p)) if len(tx) else set()
    settled = tx[_is_settled(tx["status"]) & ~tx["tx_id"].isin(parents)] if len(tx) else tx
    counts = pd.DataFrame(0, index=m.index, columns=m.columns, dtype="int64")
    for s, r in zip(settled["sender_id"], settled["receiver_id"]):
        counts.loc[s, r] += 1
    ids = list(m.index)
    title = "Settled value: who paid whom" + data.title_suffix
    if kind == "heatmap":
        cents = [[int(v) for v in row] for row in m.values]
        fig = go.Figure(go.Heatmap(
            z=[[c / 100 for c in row] for row in cents], x=ids, y=ids, customdata=cents,
            text=[[int(v) for v in row] for row in counts.values], colorscale="Blues",
            meta={"metric": "settled_value"}, colorbar=dict(title="dollars", tickprefix="$"),
            texttemplate="%{z:$,.2f}",
            hovertemplate=("<b>%{y} → %{x}</b><br>$%{z:,.2f}<br>%{customdata:,} cents"
                           "<br>%{text} payment(s)<extra></extra>")))
        fig.update_layout(title=dict(text=title, x=0.01), template="plotly_white",
                          height=max(360, 60 * len(ids) + 160),
                          margin=dict(t=80, l=90, r=20, b=60))
        fig.update_xaxes(title_text="receiver", type="category")
        fig.update_yaxes(title_text="sender", type="category", autorange="reversed")
        return fig
    if kind != "sankey":
        raise ValueError(f"kind must be 'heatmap' or 'sankey', got {kind!r}")
    n = len(ids)
    src, dst, val, cd, cnt = [], [], [], [], []
    for i, s in enumerate(ids):
        for j, r in enumerate(ids):
            c = int(m.loc[s, r])
            if c > 0:
                src.append(i)
                dst.append(n + j)
                val.append(c / 100)
                cd.append(c)
                cnt.append(int(counts.loc[s, r]))
    colors = _colors(ids, ids)
    fig = go.Figure(go.Sankey(
        node=dict(label=[f"{a} pays" for a in ids] + [f"{a} receives" for a in ids],
                  color=[colors[a] for a in ids] * 2, pad=18),
        link=dict(source=src, target=dst, value=val, customdata=cd,
                  label=[f"{c} payment(s)" for c in cnt],
                  hovertemplate=("<b>%{source.label} → %{target.label}</b><br>$%{value:,.2f}"
                                 "<br>%{customdata:,} cents<br>%{label}<extra></extra>")),
        meta={"metric": "settled_value"}))
    fig.update_layout(title=dict(text=title, x=0.01), height=max(360, 50 * n + 200),
                      margin=dict(t=80, l=20, r=20, b=30))
    return fig


def lsm_frame(source, **frames) -> pd.DataFrame:
    """One row per LSM settlement: tick, kind (bilateral / cycle), agents, value settled and
    liquidity saved (cents).

    Bilateral offsets (LsmBilateralOffset with ``settled`` true, or EntryDispositionOffset):
    value = amount_a + amount_b, saved = min(amount_a, amount_b) (the offset amount). Cycles
    (LsmCycleSettlement): value = total_value, saved = total_value - max_net_outflow.
    """
    data = RunData.of(source, "events", **frames)
    rows = []
    bil = data.events_of("LsmBilateralOffset")
    for r in bil.itertuples(index=False):
        if _unsettled(getattr(r, "settled", None)):
            continue
        a, b = int(r.amount_a), int(r.amount_b)
        rows.append((int(r.tick), int(r.seq), "bilateral", f"{r.agent_a} ⇄ {r.agent_b}",
                     len(r.tx_ids or []), a + b, min(a, b)))
    edo = data.events_of("EntryDispositionOffset")
    for r in edo.itertuples(index=False):
        if _unsettled(getattr(r, "settled", None)):
            continue
        a, b = int(r.incoming_amount), int(r.queued_amount)
        rows.append((int(r.tick), int(r.seq), "bilateral", f"{r.agent_a} ⇄ {r.agent_b}",
                     None, a + b, min(a, b)))
    cyc = data.events_of("LsmCycleSettlement")
    for r in cyc.itertuples(index=False):
        total = int(r.total_value)
        rows.append((int(r.tick), int(r.seq), "cycle", " → ".join(r.agents or []),
                     len(r.tx_ids or []), total, total - int(r.max_net_outflow)))
    rows.sort(key=lambda x: (x[0], x[1]))
    out = pd.DataFrame.from_records(rows, columns=["tick", "seq", "kind", "agents", "payments",
                                                   "value", "liquidity_saved"])
    out["payments"] = out["payments"].astype("Int64")
    return out


def lsm(source, markers: bool | str = True, **frames) -> go.Figure:
    """Liquidity-saving mechanism per tick: value settled by bilateral offsets and by cycles,
    and the liquidity that saved (see :func:`lsm_frame` for the definitions).

    Traces ``meta={"kind": "bilateral"|"cycle", "metric": "value"|"liquidity_saved"}``: bars per
    tick, y dollars, ``customdata`` rows ``[cents, number of settlements]``.
    """
    data = RunData.of(source, "events", **frames)
    frame = lsm_frame(data)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Value settled by the LSM", "Liquidity saved"))
    styles = {"bilateral": ("Bilateral offsets", "#1f77b4"), "cycle": ("Cycles", "#2ca02c")}
    for kind, (label, color) in styles.items():
        part = frame[frame["kind"] == kind]
        per_tick = part.groupby("tick", sort=True).agg(
            value=("value", "sum"), saved=("liquidity_saved", "sum"),
            n=("kind", "size")).reset_index() if len(part) else None
        ticks = [int(t) for t in per_tick["tick"]] if per_tick is not None else []
        for row, metric, col in ((1, "value", "value"), (2, "liquidity_saved", "saved")):
            cents = [int(v) for v in per_tick[col]] if per_tick is not None else []
            ns = [int(v) for v in per_tick["n"]] if per_tick is not None else []
            fig.add_trace(go.Bar(
                x=ticks, y=_dollars(cents), customdata=[[c, k] for c, k in zip(cents, ns)],
                name=label, legendgroup=kind, showlegend=row == 1,
                meta={"kind": kind, "metric": metric}, marker=dict(color=color),
                hovertemplate=(f"<b>{label}</b><br>tick %{{x}}<br>$%{{y:,.2f}}"
                               f"<br>%{{customdata[0]:,}} cents<br>%{{customdata[1]}} "
                               f"settlement(s)<extra></extra>")), row=row, col=1)
    fig.update_layout(barmode="stack")
    if not len(frame):
        _empty(fig, "No LSM settlements in this run")
    return _decorate(fig, data, title="LSM: offsets and cycles", rows=2, ytitles=("$", "$"),
                     markers=markers)
