"""Charts of games and evaluations: best-response curves, convergence paths, cost curves and
surfaces with confidence bands.

Every function returns a ``plotly.graph_objects.Figure``. Money is plotted in dollars (cents /
100); each trace carries ``meta`` (a dict such as ``{"agent": "BANK_A", "metric": "cost"}``) so
notebooks and tests can pick traces out (``paysim_lab.plots.find_traces`` works on them).

>>> import paysim_lab as psl
>>> from paysim_lab.experiments import Game, plots
>>> g = Game(psl.data.scenario_path("liquidity_game_2period"),
...          {"BANK_A": [0.0, 0.1, 0.2], "BANK_B": [0.0, 0.1, 0.2]})   # doctest: +SKIP
>>> plots.best_response_curves(g).show()                              # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from . import stats
from .game import EquilibriumResult, Game, strategy_key

__all__ = ["best_response_curves", "convergence_path", "cost_curve", "cost_surface",
           "summary_bars"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _scalar_players(game: Game, players: Sequence[str] | None) -> list[str]:
    players = list(players or game.agents[:2])
    if len(players) != 2:
        raise ValueError(f"best-response curves need two players, got {players}")
    for a in players:
        if any(isinstance(s, Mapping) for s in game.strategies[a]):
            raise ValueError(f"{a} has several strategy dimensions; pass a game with one "
                             "number per strategy")
    return players


def best_response_curves(game: Game, players: Sequence[str] | None = None,
                         fixed: Mapping[str, Any] | None = None):
    """Each player's best response to every strategy of the other (two players, one number
    each); crossings are pure equilibria, marked with stars. ``fixed`` sets the strategies of
    any further players."""
    import plotly.graph_objects as go
    a, b = _scalar_players(game, players)
    fixed = dict(fixed or {})
    for other in game.agents:
        if other not in (a, b):
            fixed.setdefault(other, game.strategies[other][0])
    br_a = [game.best_response(a, {**fixed, a: game.strategies[a][0], b: y}).value
            for y in game.strategies[b]]
    br_b = [game.best_response(b, {**fixed, a: x, b: game.strategies[b][0]}).value
            for x in game.strategies[a]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=br_a, y=list(game.strategies[b]), mode="lines+markers",
                             name=f"{a}'s best response", line={"color": COLORS[0]},
                             meta={"agent": a, "metric": "best_response"}))
    fig.add_trace(go.Scatter(x=list(game.strategies[a]), y=br_b, mode="lines+markers",
                             name=f"{b}'s best response", line={"color": COLORS[1]},
                             meta={"agent": b, "metric": "best_response"}))
    eq = [(x, y) for x, y in zip(br_a, game.strategies[b])
          if game.best_response(b, {**fixed, a: x, b: y}).value == y]
    if eq:
        fig.add_trace(go.Scatter(x=[p[0] for p in eq], y=[p[1] for p in eq], mode="markers",
                                 marker={"symbol": "star", "size": 16, "color": "black"},
                                 name="equilibrium", meta={"metric": "equilibrium"}))
    fig.update_layout(title="Best-response curves", xaxis_title=a, yaxis_title=b,
                      template="plotly_white")
    return fig


def convergence_path(result: EquilibriumResult):
    """Each player's strategy (top) and cost (bottom, dollars) after every best-response step
    of an iterated best response (:meth:`Game.iterate`, ``find_equilibrium``)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    frame = result.path_frame()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("strategy after each step", "cost of the responder"))
    steps = list(range(len(frame)))
    value_cols = [c for c in frame.columns if c.startswith("value_")]
    for i, col in enumerate(value_cols):
        fig.add_trace(go.Scatter(x=steps, y=frame[col].tolist(), mode="lines+markers",
                                 name=col[len("value_"):], line={"color": COLORS[i % 6]},
                                 meta={"agent": col[len("value_"):].split(".")[0],
                                       "metric": "strategy", "column": col}), row=1, col=1)
    agents = [a for a in dict.fromkeys(frame["agent"].dropna().tolist())]
    for i, a in enumerate(agents):
        part = frame[frame["agent"] == a]
        fig.add_trace(go.Scatter(x=part.index.tolist(),
                                 y=[c / 100 for c in part["cost"].tolist()],
                                 mode="markers", name=f"{a} cost",
                                 marker={"color": COLORS[i % 6], "symbol": "diamond"},
                                 customdata=part["cost"].tolist(),
                                 meta={"agent": a, "metric": "cost"}), row=2, col=1)
    state = ("converged" if result.converged else
             "cycling" if result.cycle else "not converged")
    fig.update_layout(title=f"Iterated best response ({state} after {result.rounds} "
                            "round(s))", template="plotly_white")
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(title_text="USD", row=2, col=1)
    return fig


def cost_curve(game: Game, agent: str, profile: Mapping[str, Any] | None = None,
               confidence: float = 0.95, method: str = "percentile"):
    """``agent``'s mean cost for each of its strategies (the others as in ``profile``,
    default their first strategies), with the confidence band over seeds or samples."""
    import plotly.graph_objects as go
    profile = dict(profile or {a: game.strategies[a][0] for a in game.agents})
    options = game.strategies[agent]
    per = game.agent_per_seed([{**profile, agent: s} for s in options], agent)
    rows = [stats.summarize(v, confidence, method) for v in per]
    labels = [s if not isinstance(s, Mapping) else
              ", ".join(f"{k}={v}" for k, v in s.items()) for s in options]
    mean = [r["mean"] / 100 for r in rows]
    low = [(r["ci_low"] if r["ci_low"] == r["ci_low"] else r["mean"]) / 100 for r in rows]
    high = [(r["ci_high"] if r["ci_high"] == r["ci_high"] else r["mean"]) / 100 for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=labels + labels[::-1], y=high + low[::-1], fill="toself",
                             fillcolor="rgba(31,119,180,0.2)", line={"width": 0},
                             name=f"{confidence:.0%} interval", hoverinfo="skip",
                             meta={"agent": agent, "metric": "cost_band"}))
    fig.add_trace(go.Scatter(x=labels, y=mean, mode="lines+markers", name=f"{agent} mean cost",
                             line={"color": COLORS[0]}, customdata=[r["mean"] for r in rows],
                             meta={"agent": agent, "metric": "cost"}))
    best = game.best_response(agent, profile)
    i = [strategy_key(s) for s in options].index(strategy_key(best.value))
    fig.add_trace(go.Scatter(x=[labels[i]], y=[mean[i]], mode="markers",
                             marker={"symbol": "star", "size": 14, "color": "black"},
                             name="best response", meta={"agent": agent, "metric": "best"}))
    others = ", ".join(f"{a}={v}" for a, v in profile.items() if a != agent)
    fig.update_layout(title=f"{agent}'s cost given {others}" if others else f"{agent}'s cost",
                      xaxis_title=f"{agent}'s strategy", yaxis_title="USD",
                      template="plotly_white")
    return fig


def cost_surface(game: Game, agent: str, players: Sequence[str] | None = None):
    """Heatmap of ``agent``'s mean cost (dollars) over every profile of two one-number
    players (x: the first player's strategy, y: the second's)."""
    import plotly.graph_objects as go
    a, b = _scalar_players(game, players)
    xs, ys = list(game.strategies[a]), list(game.strategies[b])
    base = {p: game.strategies[p][0] for p in game.agents}
    profiles = [{**base, a: x, b: y} for y in ys for x in xs]
    per = game.agent_per_seed(profiles, agent)
    means = [sum(v) / len(v) for v in per]
    z = [[means[j * len(xs) + i] / 100 for i in range(len(xs))] for j in range(len(ys))]
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorscale="Viridis",
                               colorbar={"title": "USD"},
                               meta={"agent": agent, "metric": "cost_surface"}))
    fig.update_layout(title=f"{agent}'s mean cost", xaxis_title=a, yaxis_title=b,
                      template="plotly_white")
    return fig


def summary_bars(evaluation, agent: str = "total"):
    """Mean cost per profile of an :class:`Evaluation` (dollars) with interval error bars."""
    import plotly.graph_objects as go
    s = evaluation.summary[evaluation.summary["agent"] == agent]
    mean = [m / 100 for m in s["mean"]]
    plus = [((h if h == h else m) - m) / 100 for m, h in zip(s["mean"], s["ci_high"])]
    minus = [(m - (lo if lo == lo else m)) / 100 for m, lo in zip(s["mean"], s["ci_low"])]
    fig = go.Figure(go.Bar(x=s["label"].tolist(), y=mean, customdata=s["mean"].tolist(),
                           error_y={"type": "data", "array": plus, "arrayminus": minus},
                           meta={"agent": agent, "metric": "mean_cost"}))
    fig.update_layout(title=f"Mean cost ({agent}) with {evaluation.confidence:.0%} intervals",
                      yaxis_title="USD", template="plotly_white")
    return fig
