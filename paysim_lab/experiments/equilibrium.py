"""Best responses and iterated best-response equilibrium search over one parameter per bank.

Each bank chooses one value (by default its ``liquidity_allocation_fraction``) from a grid to
minimise its own run-total cost, given the other banks' values. ``find_equilibrium`` lets the
banks best-respond in turn until a whole round changes nothing: that profile is a pure Nash
equilibrium on the grid. Costs are measured by simulation (mean over ``seeds``); every profile
is simulated at most once per search.

>>> import paysim_lab as psl
>>> game = psl.data.scenario_path("liquidity_game_2period")
>>> grid = [round(0.05 * k, 2) for k in range(11)]
>>> result = psl.experiments.find_equilibrium(game, agents=["BANK_A", "BANK_B"],
...                                           grid=grid)            # doctest: +SKIP
>>> result.equilibrium, result.costs                                 # doctest: +SKIP
({'BANK_A': 0.0, 'BANK_B': 0.2}, {'BANK_A': 0, 'BANK_B': 2000})
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .game import BestResponse, EquilibriumResult, Game
from .params import agent_index, agent_parameter_path
from .profiles import DEFAULT_PARAMETER
from .sweeps import Base

__all__ = ["best_response", "find_equilibrium", "BestResponse", "EquilibriumResult"]


def _current_value(base: Base, agent: str, parameter: str):
    idx = agent_index(base.doc, agent, agent_parameter_path(agent, parameter))
    if parameter.startswith("policy.") and parameter.count(".") == 1:
        params = base.policies.get(agent, {}).get("parameters") or {}
        return params.get(parameter.split(".", 1)[1])
    node: Any = base.doc["agents"][idx]
    for key in parameter.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def best_response(scenario, agent: str, parameter: str, grid: Sequence,
                  others: Mapping[str, Any] | None = None, *, seeds=None,
                  backend: str = "serial", client=None, workers: int | None = None
                  ) -> BestResponse:
    """The value of ``parameter`` on ``grid`` that minimises ``agent``'s cost.

    ``parameter`` is an agent-level scenario key (``liquidity_allocation_fraction``) or
    ``policy.NAME`` for a policy parameter; ``others`` fixes the same parameter for other
    banks (agent -> value; banks not named keep the scenario's value). Cost = the agent's
    run-total cost in cents (mean over ``seeds``). Ties go to the smaller value. Returns
    ``BestResponse(value, costs)`` with ``costs`` = grid value -> cost.

    >>> best, costs = best_response("data/scenarios/liquidity_game_2period.yaml", "BANK_B",
    ...                             "liquidity_allocation_fraction", [0.15, 0.2, 0.25],
    ...                             others={"BANK_A": 0.0})          # doctest: +SKIP
    >>> best, costs                                                   # doctest: +SKIP
    (0.2, {0.15: 3500, 0.2: 2000, 0.25: 2500})
    """
    others = dict(others or {})
    others.pop(agent, None)
    game = Game(scenario, {agent: list(grid), **{o: [v] for o, v in others.items()}},
                seeds=seeds, parameter=parameter, backend=backend, client=client,
                workers=workers)
    if not game.strategies[agent]:
        raise ValueError("grid must hold at least one value")
    return game.best_response(agent, {agent: game.strategies[agent][0], **others})


def find_equilibrium(scenario, agents: Sequence[str] | None = None,
                     parameter: str = DEFAULT_PARAMETER,
                     grid: Sequence = (), start: Mapping[str, Any] | None = None,
                     max_rounds: int = 20, *, strategies: Mapping[str, Any] | None = None,
                     seeds=None, n_resamples: int = 0, confidence: float = 0.95,
                     backend: str = "serial", client=None, workers: int | None = None
                     ) -> EquilibriumResult:
    """Iterated best responses: each bank in turn picks its best strategy given the others'
    current ones, until a whole round changes nothing (``converged``), the search returns to
    a profile it left (``cycle``) or ``max_rounds`` is reached.

    Strategies: either ``agents`` + ``grid`` (every bank chooses a value of ``parameter`` from
    ``grid``) or ``strategies`` (bank -> list of values, list of dicts, or dict
    parameter -> list of values for several dimensions, e.g.
    ``{"BANK_A": {"liquidity_allocation_fraction": [0, 0.1], "policy.release_tick": [0, 1]}}``).
    ``start`` (agent -> strategy) defaults to the scenario's own values for one parameter
    (the first grid value where the scenario does not set one), else each bank's first
    strategy. ``n_resamples`` > 0 adds intervals on the equilibrium point by resampling
    ``seeds`` (see :meth:`Game.equilibrium_intervals`). Returns an :class:`EquilibriumResult`.

    >>> r = find_equilibrium("data/scenarios/liquidity_game_2period.yaml",
    ...                      agents=["BANK_A", "BANK_B"],
    ...                      grid=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25])   # doctest: +SKIP
    >>> r.equilibrium, r.converged                                    # doctest: +SKIP
    ({'BANK_A': 0.0, 'BANK_B': 0.2}, True)
    """
    if strategies is None:
        grid = list(grid)
        if not grid:
            raise ValueError("grid must hold at least one value")
        if agents is None or isinstance(agents, str) or not agents:
            raise ValueError(f"agents must be a non-empty list of agent ids, got {agents!r}")
        strategies = {a: grid for a in dict.fromkeys(agents)}
    elif agents is not None or list(grid):
        raise ValueError("give either strategies= or agents= with grid=, not both")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
    game = Game(scenario, strategies, seeds=seeds, parameter=parameter, backend=backend,
                client=client, workers=workers)
    profile = {}
    for a in game.agents:
        if start is not None and a in start:
            profile[a] = start[a]
            continue
        one_dim = not any(isinstance(s, Mapping) for s in game.strategies[a])
        current = _current_value(game.base, a, parameter) if one_dim else None
        profile[a] = current if current is not None else game.strategies[a][0]
    result = game.iterate(profile, max_rounds)
    if n_resamples:
        game.equilibrium_intervals(result, n_resamples, confidence, start=profile,
                                   max_rounds=max_rounds)
    result.game = game
    return result
