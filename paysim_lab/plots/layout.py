"""What every chart shares: bank colours, money lines with their cents, day and scenario-event
markers placed where their labels fit, :func:`find_traces`."""
from __future__ import annotations

import math
from typing import Iterable

import plotly.graph_objects as go

from .run_data import RunData, _cents, _series


# Bank colours: one per bank in sorted-id order, the same in every chart of a run.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31",
           "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1")


_DAY_LINE = dict(color="rgba(120,120,120,0.6)", width=1, dash="dot")


_EVENT_LINE = dict(color="rgba(214,39,40,0.75)", width=1.5, dash="dash")


def _colors(ids: list[str], all_ids: list[str]) -> dict[str, str]:
    order = {a: i for i, a in enumerate(all_ids)}
    return {a: PALETTE[order.get(a, i) % len(PALETTE)] for i, a in enumerate(ids)}


def _select(ids: list[str], agents) -> list[str]:
    if agents is None:
        return ids
    wanted = [agents] if isinstance(agents, str) else list(agents)
    unknown = [a for a in wanted if a not in ids]
    if unknown:
        raise ValueError(f"unknown agent(s) {', '.join(map(repr, unknown))}; "
                         f"the run has {', '.join(ids) or 'no agents'}")
    return [a for a in ids if a in wanted]


def _money_hover(label: str) -> str:
    return (f"<b>{label}</b><br>tick %{{x}}<br>$%{{y:,.2f}}"
            f"<br>%{{customdata:,}} cents<extra></extra>")


def _money_line(ticks, cents, *, name, meta, color, dash=None, showlegend=True,
                legendgroup=None, label=None, shape="hv") -> go.Scatter:
    cents = _cents(cents)
    x, y, cd = _series(ticks, cents)
    return go.Scatter(x=x, y=y, customdata=cd,
                      name=name, meta=meta, mode="lines", line=dict(color=color, dash=dash,
                                                                    shape=shape),
                      legendgroup=legendgroup or name, showlegend=showlegend,
                      hovertemplate=_money_hover(label or name))


def find_traces(fig: go.Figure, **meta) -> list:
    """Traces whose ``meta`` dict has every given key/value.

    >>> fig = go.Figure(go.Scatter(x=[0], y=[1], meta={"agent_id": "A", "metric": "balance"}))
    >>> [t.meta["metric"] for t in find_traces(fig, agent_id="A")]
    ['balance']
    """
    out = []
    for t in fig.data:
        m = t.meta if isinstance(t.meta, dict) else {}
        if all(m.get(k) == v for k, v in meta.items()):
            out.append(t)
    return out


def _vline_shape(x: float, *, name: str, line: dict) -> dict:
    """A vertical line over the whole plot area (all stacked subplots share x)."""
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line,
                name=name, layer="below")


def _label(x: float, text: str, *, name: str, color: str, hover: str | None = None,
           level: int = 0, at_bottom: bool = False) -> dict:
    """A marker's label: above the plot (``level`` staggers labels that would overlap) or at
    the bottom inside it."""
    if at_bottom:
        place = dict(y=0.0, yanchor="bottom", yshift=2)
    else:
        place = dict(y=1.0, yanchor="bottom", yshift=22 + 13 * level)
    return dict(x=x, xref="x", yref="paper", text=text, showarrow=False, xanchor="left",
                font=dict(size=10, color=color), hovertext=hover, name=name, **place)


def _hover_glyph(x: float, *, name: str, color: str, hover: str) -> dict:
    """A small triangle on top of a marker line whose hover text carries the label."""
    return dict(x=x, xref="x", yref="paper", y=1.0, yanchor="bottom", yshift=2, text="▾",
                showarrow=False, xanchor="center", font=dict(size=12, color=color),
                hovertext=hover, name=name)


def _add_layout_items(fig: go.Figure, shapes: list[dict], notes: list[dict]) -> None:
    """Add shapes and annotations in one layout update (adding them one by one re-validates
    the whole list each time: quadratic, seconds for a long run)."""
    if shapes or notes:
        fig.update_layout(shapes=list(fig.layout.shapes) + shapes,
                          annotations=list(fig.layout.annotations) + notes)


_PLOT_WIDTH_PX = 850   # typical plot-area width, to estimate where labels collide


_CHAR_PX = 6


_LABEL_LEVELS = 3      # rows of event labels above the plot; the rest go to hover


#: Values of the charts' ``markers`` option.
MARKER_MODES = (True, "hover", False)


def _label_levels(xs_labels: list[tuple[float, str]], span: float,
                  levels: int = _LABEL_LEVELS) -> list[int | None]:
    """A stagger level per label so that labels on one level do not overlap; None for a label
    that fits on no level (it is shown on hover instead).

    >>> _label_levels([(0, "transfer"), (1, "transfer"), (2, "transfer")], 850, levels=2)
    [0, 1, None]
    """
    ends = [-math.inf] * levels
    out: list[int | None] = []
    per_px = span / _PLOT_WIDTH_PX if span > 0 else 0.0
    for x, label in xs_labels:
        width = (len(label) * _CHAR_PX + 8) * per_px
        lvl = next((i for i in range(levels) if x >= ends[i]), None)
        if lvl is not None:
            ends[lvl] = x + width
        out.append(lvl)
    return out


def _day_label_step(tpd: int, span: float, days: int) -> int:
    """Label every n-th day boundary so that the "day N" labels do not overlap."""
    if span <= 0:
        return 1
    px_per_day = tpd * _PLOT_WIDTH_PX / span
    width = (len(f"day {days}") * _CHAR_PX + 10)
    return max(1, math.ceil(width / px_per_day)) if px_per_day > 0 else 1


def _check_markers(markers) -> None:
    if not (isinstance(markers, bool) or markers == "hover"):
        raise ValueError(f"markers must be True (lines and labels), 'hover' (lines, labels on "
                         f"hover) or False (none), got {markers!r}")


def _decorate(fig: go.Figure, data: RunData, *, title: str, rows: int = 1,
              x_range: tuple[float, float] | None = None, markers: bool | str = True,
              ytitles: Iterable[str] = ()) -> go.Figure:
    """Title, axis titles, day boundaries and scenario-event markers.

    ``markers``: True draws each executed scenario event as a dashed line with its label
    above the plot where it fits (labels that would collide become a small triangle whose hover
    shows them); "hover" puts every label on hover; False leaves events (and day lines) out.
    """
    _check_markers(markers)
    last = data.ticks_run - 1
    tpd = data.ticks_per_day
    lo, hi = x_range if x_range is not None else (-0.5, max(last, 0) + 0.5)
    shapes: list[dict] = []
    notes: list[dict] = []
    if markers is not False and tpd and last >= 0:
        days = last // tpd
        step = _day_label_step(tpd, hi - lo, days)
        for d in range(1, days + 1):
            x = d * tpd - 0.5
            if lo <= x <= hi:
                shapes.append(_vline_shape(x, name=f"day {d}", line=_DAY_LINE))
                if d % step == 0:
                    notes.append(_label(x, f"day {d}", name=f"day {d}",
                                        color=_DAY_LINE["color"], at_bottom=True))
    if markers is not False:
        marks = [(t, lab, hov) for t, lab, hov in data.scenario_marks() if lo <= t <= hi]
        levels = (_label_levels([(t, lab) for t, lab, _ in marks], hi - lo)
                  if markers is True else [None] * len(marks))
        color = _EVENT_LINE["color"]
        for (tick, label, hover), lvl in zip(marks, levels):
            name = f"scenario: {label}"
            shapes.append(_vline_shape(tick, name=name, line=_EVENT_LINE))
            if lvl is None:
                notes.append(_hover_glyph(tick, name=name, color=color,
                                          hover=f"<b>{label}</b> (tick {tick})<br>{hover}"))
            else:
                notes.append(_label(tick, label, name=name, color=color, hover=hover,
                                    level=lvl))
    _add_layout_items(fig, shapes, notes)
    fig.update_layout(title=dict(text=title + data.title_suffix, x=0.01, xanchor="left"),
                      height=max(420, 230 * rows + 120), template="plotly_white",
                      margin=dict(t=130, l=70, r=20, b=50))
    fig.update_xaxes(title_text="tick", row=rows, col=1) if rows > 1 else \
        fig.update_xaxes(title_text="tick")
    for i, t in enumerate(ytitles, start=1):
        # money axes: dollars with a $ on every tick label
        props = dict(title_text="dollars", tickprefix="$") if t == "$" else dict(title_text=t)
        if rows > 1:
            fig.update_yaxes(row=i, col=1, **props)
        else:
            fig.update_yaxes(**props)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    elif last >= 0:
        fig.update_xaxes(range=[-0.5, last + 0.5])
    return fig


def _empty(fig: go.Figure, text: str) -> None:
    """A message in the middle of the top panel (the middle of the figure would sit on a
    subplot title of a stacked chart)."""
    lo, hi = fig.layout.yaxis.domain or (0.0, 1.0)
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=(lo + hi) / 2,
                       showarrow=False, font=dict(size=14, color="#666"), name="empty")
