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

from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

from ..errors import SimulationError
from .params import agent_index, agent_parameter_path
from .sweep import Base, load_base, run_points


class BestResponse(NamedTuple):
    """A bank's best value on the grid and its cost at every grid value.

    Unpacks as ``value, costs``; ``cost`` is the cost at ``value``.
    """

    value: Any
    costs: dict

    @property
    def cost(self):
        return self.costs[self.value]


@dataclass
class EquilibriumResult:
    """Outcome of :func:`find_equilibrium`.

    ``equilibrium``: agent -> value where the search stopped; ``costs``: agent -> cost there;
    ``converged``: True when a whole round of best responses changed nothing (a pure Nash
    equilibrium on the grid); ``path``: one dict per best-response step (``round``,
    ``agent``, ``previous``, ``value``, ``cost``, ``profile`` after the step), starting with
    the ``round`` 0 entry holding the start profile.
    """

    equilibrium: dict
    costs: dict
    converged: bool
    rounds: int
    path: list = field(default_factory=list)
    parameter: str = "liquidity_allocation_fraction"

    def path_frame(self):
        """The search path as a DataFrame (one row per step, one column per agent's value)."""
        import pandas as pd
        rows = []
        for step in self.path:
            row = {k: step[k] for k in ("round", "agent", "previous", "value", "cost")}
            row.update({f"value_{a}": v for a, v in step["profile"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "not converged"
        return (f"EquilibriumResult({self.parameter}: {self.equilibrium}, costs={self.costs}, "
                f"{state} after {self.rounds} round(s))")


class _Game:
    """Simulates profiles (agent -> value) and remembers each profile's costs."""

    def __init__(self, scenario, agents: Sequence[str], parameter: str, seeds, run_options):
        self.base: Base = load_base(scenario)
        if isinstance(agents, str) or not agents:
            raise ValueError(f"agents must be a non-empty list of agent ids, got {agents!r}")
        self.agents = list(dict.fromkeys(agents))
        self.paths = {a: agent_parameter_path(a, parameter) for a in self.agents}
        for a, path in self.paths.items():
            agent_index(self.base.doc, a, path)  # unknown agent: error naming the path
        self.parameter = parameter
        self.seeds = seeds
        self.run_options = run_options
        self.cache: dict[tuple, dict] = {}

    def key(self, profile: Mapping[str, Any]) -> tuple:
        return tuple(profile[a] for a in self.agents)

    def costs(self, profiles: Sequence[Mapping[str, Any]]) -> list[dict]:
        """agent -> mean cost (cents) for each profile, simulating only the new ones."""
        todo = []
        for p in profiles:
            k = self.key(p)
            if k not in self.cache and k not in todo:
                todo.append(k)
        if todo:
            paths = [self.paths[a] for a in self.agents]
            frame = run_points(self.base, paths, todo, seeds=self.seeds, **self.run_options)
            n = len(frame) // len(todo)
            errors = frame["error"].tolist()
            for i, error in enumerate(errors):
                if error is not None:
                    where = ", ".join(f"{a}={v!r}" for a, v in zip(self.agents, todo[i // n]))
                    raise SimulationError(f"{self.parameter} game: the run with {where}, seed "
                                          f"{int(frame['seed'].iloc[i])} failed: {error}")
            for i, k in enumerate(todo):
                part = frame.iloc[i * n:(i + 1) * n]
                self.cache[k] = {a: _mean(part[f"cost_{a}"].tolist())
                                 for a in self.base.agent_ids}
        return [self.cache[self.key(p)] for p in profiles]

    def best_response(self, agent: str, grid: Sequence, profile: Mapping[str, Any]) -> BestResponse:
        options = list(dict.fromkeys(grid))
        if not options:
            raise ValueError("grid must hold at least one value")
        trials = [{**profile, agent: v} for v in options]
        costs = {v: c[agent] for v, c in zip(options, self.costs(trials))}
        # Ties go to the smaller value: less liquidity (or a lower setting) for the same cost.
        best = min(options, key=lambda v: (costs[v], v))
        return BestResponse(best, costs)


def _mean(values: list):
    if len(values) == 1:
        return values[0]
    return sum(values) / len(values)


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
    game = _Game(scenario, [agent, *others], parameter, seeds,
                 {"backend": backend, "client": client, "workers": workers})
    return game.best_response(agent, grid, {agent: None, **others})


def find_equilibrium(scenario, agents: Sequence[str],
                     parameter: str = "liquidity_allocation_fraction",
                     grid: Sequence = (), start: Mapping[str, Any] | None = None,
                     max_rounds: int = 20, *, seeds=None, backend: str = "serial",
                     client=None, workers: int | None = None) -> EquilibriumResult:
    """Iterated best responses: each bank in turn picks its best ``grid`` value given the
    others' current values, until a whole round changes nothing or ``max_rounds`` is reached.

    ``start`` (agent -> value) defaults to the scenario's own values (the first grid value
    where the scenario does not set one). ``parameter`` as in :func:`best_response`.
    Returns an :class:`EquilibriumResult`.

    >>> r = find_equilibrium("data/scenarios/liquidity_game_2period.yaml",
    ...                      agents=["BANK_A", "BANK_B"],
    ...                      grid=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25])   # doctest: +SKIP
    >>> r.equilibrium, r.converged                                    # doctest: +SKIP
    ({'BANK_A': 0.0, 'BANK_B': 0.2}, True)
    """
    grid = list(grid)
    if not grid:
        raise ValueError("grid must hold at least one value")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
    game = _Game(scenario, agents, parameter, seeds,
                 {"backend": backend, "client": client, "workers": workers})
    profile = {}
    for a in game.agents:
        if start is not None and a in start:
            profile[a] = start[a]
        else:
            current = _current_value(game.base, a, parameter)
            profile[a] = current if current is not None else grid[0]
    path = [{"round": 0, "agent": None, "previous": None, "value": None,
             "cost": None, "profile": dict(profile)}]
    converged = False
    rounds = 0
    while rounds < max_rounds and not converged:
        rounds += 1
        changed = False
        for a in game.agents:
            br = game.best_response(a, grid, profile)
            previous = profile[a]
            profile[a] = br.value
            changed |= br.value != previous
            path.append({"round": rounds, "agent": a, "previous": previous, "value": br.value,
                         "cost": br.cost, "profile": dict(profile)})
        converged = not changed
    final = game.costs([profile])[0]
    return EquilibriumResult(equilibrium=dict(profile), costs={a: final[a] for a in game.agents},
                             converged=converged, rounds=rounds, path=path,
                             parameter=parameter)
