"""One payment: the events that concern it and its timeline through the queues."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..engine.events import FIELDS
from ..report import money as _money
from .run_data import RunData, _na, _unsettled
from .layout import _add_layout_items, _decorate, _label, _vline_shape


_SETTLING = {"RtgsImmediateSettlement", "Queue2LiquidityRelease", "LsmQueueRetrySettlement",
             "LsmBilateralOffset", "LsmCycleSettlement", "EntryDispositionOffset"}


_LIST_FIELDS = ("tx_ids", "child_ids", "source_transactions")


_ID_FIELDS = ("tx_id", "incoming_tx_id", "queued_tx_id")


def payment_events(source, tx_id: str, include_children: bool = True, **frames) -> pd.DataFrame:
    """The events that concern one payment (and its split children), in emission order.

    Matches events whose ``tx_id`` (or ``incoming_tx_id`` / ``queued_tx_id``) is the payment, or
    whose ``tx_ids`` / ``child_ids`` / ``source_transactions`` list contains it. Columns:
    ``tick, seq, event_type, tx_id`` (the matched id) and ``details`` (all fields).
    """
    data = RunData.of(source, "events", **frames)
    ev = data.events
    if len(ev) and "details" not in ev.columns:
        ev = ev.assign(details=[{k: v for k, v in r.items() if k in FIELDS.get(
            r["event_type"], ()) and not _na(v)} for r in ev.to_dict("records")])
    wanted = {tx_id}
    rows = []
    for r in ev.itertuples(index=False):
        det = r.details if isinstance(r.details, dict) else {}
        hit = None
        for f in _ID_FIELDS:
            if det.get(f) in wanted:
                hit = det[f]
                break
        if hit is None:
            for f in _LIST_FIELDS:
                lst = det.get(f) or []
                found = next((x for x in lst if x in wanted), None)
                if found is not None:
                    hit = found
                    break
        if hit is None:
            continue
        if include_children and r.event_type == "PolicySplit" and det.get("tx_id") in wanted:
            wanted.update(det.get("child_ids") or [])
        rows.append((int(r.tick), int(r.seq), r.event_type, hit, det))
    return pd.DataFrame.from_records(rows, columns=["tick", "seq", "event_type", "tx_id",
                                                    "details"])


def _queue_spans(events: pd.DataFrame, tx_id: str, last_tick: int) -> list[tuple[str, int, int]]:
    """(queue, enter tick, leave tick) intervals for one payment, from its events."""
    spans = []
    where: str | None = None
    since = 0
    for r in events.itertuples(index=False):
        if r.tx_id != tx_id:
            continue
        et, t = r.event_type, r.tick
        if et == "Arrival" or (et == "RtgsResubmission" and where == "Queue 2"):
            if where:
                spans.append((where, since, t))
            where, since = "Queue 1", t
        elif et in ("RtgsSubmission", "PolicySplit", "PolicyDrop") and where == "Queue 1":
            spans.append((where, since, t))
            where = None
        elif et == "QueuedRtgs":
            if where:
                spans.append((where, since, t))
            where, since = "Queue 2", t
        elif (et in _SETTLING and not _unsettled(r.details.get("settled"))) or \
                et == "RtgsWithdrawal":
            if where:
                spans.append((where, since, t))
            where = None
    if where:
        spans.append((where, since, last_tick))
    return spans


def timeline(source, tx_id: str, include_children: bool = True,
             markers: bool | str = True, **frames) -> go.Figure:
    """One payment's life: arrival, policy decisions, queueing, settlement (and its children's
    after a split). One row per event type, markers at the ticks; bars show time in Queue 1 and
    Queue 2; the deadline is a vertical line. Marker ``customdata`` rows are
    ``[seq, tx_id, amount cents or None]``.
    """
    data = RunData.of(source, "events", **frames)
    ev = payment_events(data, tx_id, include_children=include_children)
    if not len(ev):
        raise ValueError(f"no events mention payment {tx_id!r} in this run")
    arrival = ev[(ev["event_type"] == "Arrival") & (ev["tx_id"] == tx_id)]
    info = arrival.iloc[0]["details"] if len(arrival) else {}
    last_tick = max(data.ticks_run - 1, int(ev["tick"].max()))
    fig = go.Figure()
    ids = list(dict.fromkeys(ev["tx_id"]))
    for i, tid in enumerate(ids):
        for q, start, end in _queue_spans(ev, tid, last_tick):
            if end <= start:
                continue
            label = f"in {q}" if tid == tx_id else f"in {q} ({tid})"
            fig.add_trace(go.Bar(y=[label], x=[end - start], base=[start], orientation="h",
                                 name=label, meta={"tx_id": tid, "queue": q},
                                 marker=dict(color="#aec7e8" if q == "Queue 1" else "#ffbb78"),
                                 showlegend=False,
                                 hovertemplate=(f"<b>{tid} {q}</b><br>ticks {start}–{end}"
                                                f"<extra></extra>")))
    types = list(dict.fromkeys(ev["event_type"]))
    for et in types:
        part = ev[ev["event_type"] == et]
        amounts = [d.get("amount") if isinstance(d.get("amount"), int) else None
                   for d in part["details"]]
        texts = [_event_text(et, d) for d in part["details"]]
        fig.add_trace(go.Scatter(
            x=[int(t) for t in part["tick"]], y=[et] * len(part), mode="markers",
            name=et, meta={"event_type": et},
            customdata=[[int(s), tid, a] for s, tid, a in zip(part["seq"], part["tx_id"],
                                                              amounts)],
            text=texts, marker=dict(size=12, symbol="circle"), showlegend=False,
            hovertemplate="<b>%{y}</b> (seq %{customdata[0]})<br>tick %{x}<br>%{text}"
                          "<extra></extra>"))
    deadline = info.get("deadline")
    if deadline is not None:
        _add_layout_items(
            fig, [_vline_shape(int(deadline), name="deadline",
                               line=dict(color="#d62728", width=2))],
            [_label(int(deadline), f"deadline {deadline}", name="deadline", color="#d62728",
                    at_bottom=True)])
    lo = int(ev["tick"].min())
    hi = max(int(ev["tick"].max()), int(deadline) if deadline is not None else 0)
    amount = info.get("amount")
    head = f"Payment {tx_id}"
    if info:
        head += f": {info.get('sender_id')} → {info.get('receiver_id')}, {_money(amount)}"
    _decorate(fig, data, title=head, x_range=(lo - 1, hi + 1), markers=markers)
    fig.update_layout(height=max(320, 40 * (len(types) + 2) + 160))
    fig.update_yaxes(type="category", autorange="reversed", title_text="")
    if hi - lo < 30:
        fig.update_xaxes(dtick=1)
    return fig


def _event_text(et: str, d: dict) -> str:
    keep = []
    for k, v in d.items():
        if k in ("tx_id", "details_json") or v is None:
            continue
        if isinstance(v, int) and not isinstance(v, bool) and (
                "amount" in k or "balance" in k or k in ("total_value", "max_net_outflow")):
            v = f"{_money(v)} ({v:,} cents)"
        keep.append(f"{k}: {v}")
    return "<br>".join(keep)
