"""Finite games between banks: best responses, iterated best response, every pure equilibrium,
cycles, the planner's profile, and intervals on the equilibrium by resampling seeds.

Each bank chooses a strategy from a finite list. A strategy is one value of one parameter
(``0.2``: the bank's ``liquidity_allocation_fraction`` by default) or a dict of several
parameters (``{"liquidity_allocation_fraction": 0.2, "policy.release_tick": 1}``). A bank's
cost is its run-total cost in cents, averaged over the game's seeds; every profile is
simulated at most once (on all seeds), and the per-seed costs are kept so that the equilibrium
can be recomputed on resampled seeds without new runs for profiles already seen.

>>> import paysim_lab as psl
>>> g = Game(psl.data.scenario_path("liquidity_game_2period"),
...          {"BANK_A": [0.0, 0.1, 0.2], "BANK_B": [0.1, 0.2]})          # doctest: +SKIP
>>> g.equilibria()                                                       # doctest: +SKIP
[{'BANK_A': 0.0, 'BANK_B': 0.2}]
>>> coordination = Game.from_costs(
...     {"A": ["x", "y"], "B": ["x", "y"]},
...     lambda p: {"A": 0 if p["A"] == p["B"] else 1, "B": 0 if p["A"] == p["B"] else 1})
>>> coordination.equilibria()
[{'A': 'x', 'B': 'x'}, {'A': 'y', 'B': 'y'}]
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from ..errors import SimulationError
from . import stats
from .profiles import DEFAULT_PARAMETER, profile_label, strategy_assignments

EPS = 1e-9   # cost comparisons: means of integer cents, summed in different orders


class BestResponse(NamedTuple):
    """A bank's best strategy and its cost under every strategy it could play.

    Unpacks as ``value, costs``; ``cost`` is the cost at ``value``. ``costs`` is keyed by the
    strategy (a dict strategy is keyed by its tuple of ``(parameter, value)`` pairs).
    """

    value: Any
    costs: dict

    @property
    def cost(self):
        return self.costs[strategy_key(self.value)]


def strategy_key(strategy: Any):
    """A hashable key for a strategy (dicts become tuples of (parameter, value) pairs)."""
    if isinstance(strategy, Mapping):
        return tuple((str(k), v) for k, v in strategy.items())
    return strategy


def _strategy_list(agent: str, spec: Any) -> list:
    """The strategies of ``agent``: a list of values or of dicts, or a dict param -> list
    (every combination)."""
    if isinstance(spec, Mapping):
        if not spec:
            raise ValueError(f"strategies of {agent}: empty dict")
        names, lists = [], []
        for name, values in spec.items():
            if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
                raise ValueError(f"strategies of {agent}: {name} needs a list of values, got "
                                 f"{values!r}")
            names.append(str(name))
            lists.append(list(values))
        out = [dict(zip(names, combo)) for combo in itertools.product(*lists)]
    elif isinstance(spec, (str, bytes)) or not hasattr(spec, "__iter__"):
        raise ValueError(f"strategies of {agent} must be a list (or a dict parameter -> list), "
                         f"got {spec!r}")
    else:
        out = list(spec)
    keys = list(dict.fromkeys(strategy_key(s) for s in out))
    if not keys:
        raise ValueError(f"strategies of {agent}: no strategy to choose from")
    by_key = {strategy_key(s): s for s in out}
    return [by_key[k] for k in keys]


@dataclass
class EquilibriumResult:
    """Outcome of iterated best response (:meth:`Game.iterate`, ``find_equilibrium``).

    ``equilibrium``: agent -> strategy where the search stopped; ``costs``: agent -> mean cost
    there (cents); ``converged``: a whole round changed nothing (a pure Nash equilibrium on the
    strategy lists); ``cycle``: when the search came back to a profile it had left (best
    responses cycle), the profiles of the cycle in order, else None; ``path``: one dict per
    best-response step (``round``, ``agent``, ``previous``, ``value``, ``cost``, ``profile``
    after the step), starting with the round-0 entry holding the start profile.
    ``intervals``/``resamples`` are set by :meth:`Game.equilibrium_intervals`.
    """

    equilibrium: dict
    costs: dict
    converged: bool
    rounds: int
    path: list = field(default_factory=list)
    parameter: str = DEFAULT_PARAMETER
    cycle: list | None = None
    intervals: Any = None
    resamples: Any = None
    game: Any = field(default=None, repr=False)   # the Game searched (its cost cache)

    def path_frame(self):
        """The search path as a DataFrame (one row per step, one column per agent's value)."""
        import pandas as pd
        rows = []
        for step in self.path:
            row = {k: step[k] for k in ("round", "agent", "previous", "value", "cost")}
            for a, v in step["profile"].items():
                if isinstance(v, Mapping):
                    row.update({f"value_{a}.{p}": x for p, x in v.items()})
                else:
                    row[f"value_{a}"] = v
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        state = ("converged" if self.converged else
                 "cycling" if self.cycle else "not converged")
        return (f"EquilibriumResult({self.parameter}: {self.equilibrium}, costs={self.costs}, "
                f"{state} after {self.rounds} round(s))")


class Game:
    """A finite game: ``strategies`` maps each playing bank to its strategies.

    - ``Game(scenario, strategies, seeds=..., parameter=..., backend=...)``: costs by
      simulation (banks' run-total costs, mean over ``seeds``).
    - ``Game.from_costs(strategies, cost_fn)``: costs from a function of the profile (known
      games, analytic checks).

    ``strategies[agent]`` is a list of values of ``parameter``, a list of dicts (several
    parameters per strategy), or a dict parameter -> list of values (every combination).
    """

    def __init__(self, scenario, strategies: Mapping[str, Any], *, seeds=None,
                 parameter: str = DEFAULT_PARAMETER, backend: str | None = "serial",
                 client=None, workers: int | None = None, _cost_fn=None,
                 _agent_costs=None, _all_agents=None):
        if not isinstance(strategies, Mapping) or not strategies:
            raise ValueError("strategies must be a non-empty dict: bank id -> strategies")
        self.agents = [str(a) for a in strategies]
        self.strategies = {a: _strategy_list(a, strategies[a]) for a in self.agents}
        self.parameter = parameter
        self._cost_fn = _cost_fn
        self._agent_costs = _agent_costs
        self.cache: dict[tuple, dict[str, list]] = {}
        if _cost_fn is None and _agent_costs is None:
            from .params import agent_index, agent_parameter_path
            from .sweeps import _seed_list, load_base
            self.base = load_base(scenario)
            for a in self.agents:
                agent_index(self.base.doc, a, agent_parameter_path(a, parameter))
            self.seeds = _seed_list(seeds, self.base.seed)
            self.all_agents = list(self.base.agent_ids)
            self.run_options = {"backend": backend, "client": client, "workers": workers}
        else:
            self.base = None
            self.seeds = None
            self.all_agents = list(_all_agents or self.agents)

    @classmethod
    def from_costs(cls, strategies: Mapping[str, Any],
                   cost_fn: Callable[[dict], Mapping[str, Any]]) -> "Game":
        """A game whose costs come from ``cost_fn(profile) -> {agent: cost}``; a cost may be
        a list (one value per seed, the same number for every profile)."""
        return cls(None, strategies, _cost_fn=cost_fn)

    @classmethod
    def from_agent_costs(cls, strategies: Mapping[str, Any],
                         agent_costs: Callable[[list], list],
                         all_agents: Sequence[str] | None = None) -> "Game":
        """A game whose costs are computed one bank at a time, in batches:
        ``agent_costs([(profile, agent), ...]) -> [per-seed costs, ...]``. Best responses
        then compute only the responding bank's costs (the bootstrap evaluation, where each
        bank's cost is its own set of sandbox runs)."""
        return cls(None, strategies, _agent_costs=agent_costs, _all_agents=all_agents)

    # ---- costs ---------------------------------------------------------------------------
    def key(self, profile: Mapping[str, Any]) -> tuple:
        return tuple(strategy_key(profile[a]) for a in self.agents)

    def _from_key(self, key: tuple) -> dict:
        out = {}
        for a, k in zip(self.agents, key):
            out[a] = dict(k) if isinstance(k, tuple) and k and isinstance(k[0], tuple) else k
        return out

    def agent_per_seed(self, profiles: Sequence[Mapping[str, Any]], agent: str) -> list[list]:
        """Per-seed costs of ``agent`` for each profile."""
        if self._agent_costs is None:
            return [per[agent] for per in self.per_seed(profiles)]
        todo = []
        for p in profiles:
            k = self.key(p)
            if agent not in self.cache.get(k, {}) and k not in todo:
                todo.append(k)
        if todo:
            values = self._agent_costs([(self._from_key(k), agent) for k in todo])
            for k, v in zip(todo, values):
                self.cache.setdefault(k, {})[agent] = list(v)
        return [self.cache[self.key(p)][agent] for p in profiles]

    def per_seed(self, profiles: Sequence[Mapping[str, Any]]) -> list[dict[str, list]]:
        """agent -> per-seed costs for each profile (simulating the new profiles at once)."""
        if self._agent_costs is not None:
            cols = {a: self.agent_per_seed(profiles, a) for a in self.all_agents}
            return [{a: cols[a][i] for a in self.all_agents} for i in range(len(profiles))]
        todo = []
        for p in profiles:
            k = self.key(p)
            if k not in self.cache and k not in todo:
                todo.append(k)
        if todo and self._cost_fn is not None:
            for k in todo:
                raw = self._cost_fn(self._from_key(k))
                self.cache[k] = {a: list(v) if isinstance(v, (list, tuple)) else [v]
                                 for a, v in raw.items()}
        elif todo:
            from .sweeps import run_assignments
            assignments = []
            for k in todo:
                prof = self._from_key(k)
                asg: dict = {}
                for a in self.agents:
                    asg.update(strategy_assignments(a, prof[a], self.parameter))
                assignments.append(asg)
            results = run_assignments(self.base, assignments, self.seeds, **self.run_options)
            for k, per in zip(todo, results):
                for s, row in enumerate(per):
                    if row.get("error") is not None:
                        raise SimulationError(
                            f"{self.parameter} game: the run with {profile_label(self._from_key(k))}, seed "
                            f"{self.seeds[s]} failed: {row['error']}")
                self.cache[k] = {a: [int(row[f"cost_{a}"]) for row in per]
                                 for a in self.all_agents}
        return [self.cache[self.key(p)] for p in profiles]

    def costs(self, profiles: Sequence[Mapping[str, Any]], weights=None) -> list[dict]:
        """agent -> mean cost for each profile; ``weights`` (one per seed) for resamples."""
        out = []
        for per in self.per_seed(profiles):
            out.append({a: _mean(v, weights) for a, v in per.items()})
        return out

    # ---- best responses ------------------------------------------------------------------
    def best_response(self, agent: str, profile: Mapping[str, Any], weights=None
                      ) -> BestResponse:
        """``agent``'s cheapest strategy given the others' strategies in ``profile``.

        Ties go to the smaller value (numbers) or the earlier strategy in the list.
        """
        if agent not in self.strategies:
            raise KeyError(f"{agent!r} is not a player; players: {', '.join(self.agents)}")
        options = self.strategies[agent]
        trials = [{**profile, agent: s} for s in options]
        costs = {strategy_key(s): _mean(v, weights)
                 for s, v in zip(options, self.agent_per_seed(trials, agent))}
        numeric = all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in options)
        order = {strategy_key(s): (s if numeric else i) for i, s in enumerate(options)}
        best_cost = min(costs.values())
        # costs within EPS of the minimum count as ties
        tied = [s for s in options if costs[strategy_key(s)] <= best_cost + EPS]
        best = min(tied, key=lambda s: order[strategy_key(s)])
        return BestResponse(best, costs)

    def iterate(self, start: Mapping[str, Any] | None = None, max_rounds: int = 20,
                weights=None) -> EquilibriumResult:
        """Iterated best response: players best-respond in turn (in order) to the others'
        latest strategies until a round changes nothing, a profile repeats (a cycle) or
        ``max_rounds`` rounds have run. ``start`` defaults to each player's first strategy."""
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
        profile = {a: (start[a] if start is not None and a in start
                       else self.strategies[a][0]) for a in self.agents}
        path = [{"round": 0, "agent": None, "previous": None, "value": None, "cost": None,
                 "profile": dict(profile)}]
        seen = [self.key(profile)]       # the profile at the end of each round
        converged, cycle, rounds = False, None, 0
        while rounds < max_rounds and not converged and cycle is None:
            rounds += 1
            changed = False
            for a in self.agents:
                br = self.best_response(a, profile, weights)
                previous = profile[a]
                profile[a] = br.value
                changed |= strategy_key(br.value) != strategy_key(previous)
                path.append({"round": rounds, "agent": a, "previous": previous,
                             "value": br.value, "cost": br.cost, "profile": dict(profile)})
            converged = not changed
            k = self.key(profile)
            if not converged and k in seen:
                cycle = [self._from_key(x) for x in seen[seen.index(k):]]
            seen.append(k)
        final = {a: _mean(self.agent_per_seed([profile], a)[0], weights) for a in self.agents}
        return EquilibriumResult(equilibrium=dict(profile),
                                 costs=final,
                                 converged=converged, rounds=rounds, path=path,
                                 parameter=self.parameter, cycle=cycle)

    # ---- the whole table -----------------------------------------------------------------
    def profiles(self) -> list[dict]:
        """Every profile of the game (first player's strategy varies slowest)."""
        return [dict(zip(self.agents, combo))
                for combo in itertools.product(*(self.strategies[a] for a in self.agents))]

    def equilibria(self, weights=None) -> list[dict]:
        """Every pure Nash equilibrium: profiles where no player gains by deviating alone.

        Simulates the whole table (every profile) on the first call.
        """
        profiles = self.profiles()
        costs = self.costs(profiles, weights)
        table = {self.key(p): c for p, c in zip(profiles, costs)}
        out = []
        for p, c in zip(profiles, costs):
            stable = True
            for a in self.agents:
                for s in self.strategies[a]:
                    if table[self.key({**p, a: s})][a] < c[a] - EPS:
                        stable = False
                        break
                if not stable:
                    break
            if stable:
                out.append(p)
        return out

    def planner(self, weights=None) -> tuple[dict, dict]:
        """The profile with the smallest total cost over all banks, and its costs
        (agent -> cost, plus ``"total"``). Ties go to the first profile in :meth:`profiles`."""
        profiles = self.profiles()
        costs = self.costs(profiles, weights)
        totals = [sum(c[a] for a in self.all_agents) for c in costs]
        low = min(totals)
        best = next(i for i in range(len(profiles)) if totals[i] <= low + EPS)
        return profiles[best], {**{a: costs[best][a] for a in self.all_agents},
                                "total": totals[best]}

    def table(self, confidence: float = 0.95, method: str = "percentile"):
        """Every profile with each player's strategy, mean cost and interval (a DataFrame)."""
        import pandas as pd
        profiles = self.profiles()
        rows = []
        for p, per in zip(profiles, self.per_seed(profiles)):
            row: dict = {}
            for a in self.agents:
                if isinstance(p[a], Mapping):
                    row.update({f"{a}.{k}": v for k, v in p[a].items()})
                else:
                    row[a] = p[a]
            for a in self.all_agents:
                s = stats.summarize(per[a], confidence, method)
                row[f"cost_{a}"] = s["mean"]
                row[f"ci_low_{a}"], row[f"ci_high_{a}"] = s["ci_low"], s["ci_high"]
            row["total_cost"] = sum(row[f"cost_{a}"] for a in self.all_agents)
            rows.append(row)
        return pd.DataFrame(rows)

    # ---- resampling ----------------------------------------------------------------------
    def n_seeds(self) -> int:
        if self.seeds is not None:
            return len(self.seeds)
        if not self.cache:
            self.per_seed([self.profiles()[0]])
        return len(next(iter(next(iter(self.cache.values())).values())))

    def equilibrium_intervals(self, result: EquilibriumResult, n_resamples: int = 200,
                              confidence: float = 0.95, seed: int = stats.CI_SEED,
                              start: Mapping[str, Any] | None = None, max_rounds: int = 20
                              ) -> EquilibriumResult:
        """Confidence intervals on the equilibrium point by resampling seeds.

        Seeds are drawn with replacement ``n_resamples`` times; each resample reruns iterated
        best response from the same start on the resampled mean costs (profiles already
        simulated are not run again). Sets ``result.resamples`` (one row per resample: each
        player's strategy, converged) and ``result.intervals`` (one row per player and
        parameter: the percentile interval of the equilibrium value, and the share of
        resamples that land on ``result``'s value). Returns ``result``.
        """
        import pandas as pd
        n = self.n_seeds()
        start = start or result.path[0]["profile"]
        rows = []
        for r, idx in enumerate(stats.resample_indices(n, n_resamples, seed)):
            weights = [0] * n
            for i in idx:
                weights[i] += 1
            res = self.iterate(start, max_rounds, weights)
            row = {"resample": r, "converged": res.converged}
            row.update(_flat(res.equilibrium))
            rows.append(row)
        frame = pd.DataFrame(rows)
        point = _flat(result.equilibrium)
        alpha = (1 - confidence) / 2
        irows = []
        for col, value in point.items():
            vals = frame[col].tolist()
            entry = {"strategy": col, "value": value,
                     "share_same": sum(v == value for v in vals) / len(vals)}
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                ordered = sorted(vals)
                entry["ci_low"] = _quantile(ordered, alpha)
                entry["ci_high"] = _quantile(ordered, 1 - alpha)
            else:
                entry["ci_low"] = entry["ci_high"] = None
            irows.append(entry)
        result.resamples = frame
        result.intervals = pd.DataFrame(irows, columns=["strategy", "value", "ci_low",
                                                        "ci_high", "share_same"])
        return result


def _flat(profile: Mapping[str, Any]) -> dict:
    out = {}
    for a, v in profile.items():
        if isinstance(v, Mapping):
            out.update({f"{a}.{k}": x for k, x in v.items()})
        else:
            out[a] = v
    return out


def _quantile(ordered: list, q: float):
    """The ``q`` quantile of sorted values, as one of them (lower nearest rank)."""
    i = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[i]


def _mean(values: list, weights=None):
    if weights is None:
        if len(values) == 1:
            return values[0]
        return sum(values) / len(values)
    total = sum(weights)
    return sum(w * v for w, v in zip(weights, values)) / total
