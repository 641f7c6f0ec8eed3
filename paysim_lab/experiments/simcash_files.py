"""SimCash experiment files: read them and solve the game by best response instead of an LLM.

An experiment file names a scenario (``scenario: ./exp1_2period.yaml``, relative to the file),
the banks that optimise (``optimized_agents``), what they may change
(``policy_constraints.allowed_parameters``, ``allowed_actions``), how a policy is evaluated
(``evaluation: {mode, num_samples, ticks}``), convergence rules and a ``master_seed``.
paysim_lab reads the parts that define the game and searches it with iterated best response
on a grid; the LLM settings are ignored.

- ``initial_liquidity_fraction`` (the paper's only parameter) is the bank's
  ``liquidity_allocation_fraction``: the share of its pool brought in at the start of the day,
  as SimCash's evaluator sets it from the policy's parameter. Other parameters are policy
  parameters (``policy.NAME``). Each runs over ``min_value..max_value`` in steps of ``step``.
- Timing (``timing=True``; by default on when the file's description mentions timing and its
  payment tree may Hold): a second dimension ``release_tick``, the first tick of the day at
  which the bank releases its payments (it holds them before).
- Evaluation: ``deterministic*`` modes run the scenario once (its own seed);
  ``bootstrap`` re-creates SimCash's bootstrap evaluation (bootstrap.py) with ``num_samples``
  samples of the context run of iteration 0 (``iterations`` to pool more);
  ``monte-carlo`` averages ``num_samples`` seeds.

>>> exp = load("/work/shared/simcash/paper/exp1.yaml")              # doctest: +SKIP
>>> exp.solve().equilibrium                                           # doctest: +SKIP
{'BANK_A': 0.0, 'BANK_B': 0.2}
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ScenarioError
from . import stats
from .game import EquilibriumResult, Game
from .profiles import strategy_assignments

LIQUIDITY = "initial_liquidity_fraction"
AGENT_KEYS = {LIQUIDITY: "liquidity_allocation_fraction"}
RELEASE = "release_tick"
MODES = ("deterministic", "deterministic-temporal", "deterministic-pairwise", "bootstrap",
         "monte-carlo", "monte_carlo")


def _error(source: str, path: str, problem: str) -> ScenarioError:
    where = f"{source}: {path}: " if path else f"{source}: "
    return ScenarioError(where + problem, [{"source": source, "path": path,
                                            "message": problem}])


def release_policy() -> dict:
    """A policy tree releasing payments from tick ``release_tick`` of the day on."""
    return {"version": "1.0", "policy_id": "release_from_tick",
            "description": "Hold payments until tick release_tick of the day, then release",
            "parameters": {RELEASE: 0},
            "payment_tree": {
                "type": "condition", "node_id": "C1",
                "condition": {"op": ">=", "left": {"field": "system_tick_in_day"},
                              "right": {"param": RELEASE}},
                "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
                "on_false": {"type": "action", "node_id": "A2", "action": "Hold"}}}


@dataclass
class Parameter:
    name: str
    min_value: float = 0.0
    max_value: float = 1.0


@dataclass
class Experiment:
    """A SimCash experiment file, read (see :func:`load`)."""

    name: str
    description: str
    source: str
    scenario_path: str
    scenario: Any
    mode: str
    num_samples: int
    ticks: int
    agents: list
    parameters: list
    hold_allowed: bool
    master_seed: int
    max_iterations: int = 25
    raw: dict = field(default_factory=dict, repr=False)

    # ---- the game ------------------------------------------------------------------------
    def timing_default(self) -> bool:
        return self.hold_allowed and "timing" in (self.description or "").lower()

    def dimensions(self, timing: bool | None = None) -> list[str]:
        """The strategy dimensions, by the file's names (plus ``release_tick``)."""
        dims = [p.name for p in self.parameters]
        if self.timing_default() if timing is None else timing:
            dims.append(RELEASE)
        return dims

    def grid(self, step: float = 0.05) -> dict[str, list]:
        out = {}
        for p in self.parameters:
            n = int(round((p.max_value - p.min_value) / step))
            out[p.name] = [round(p.min_value + k * step, 10) for k in range(n + 1)]
        return out

    def strategies(self, step: float = 0.05, timing: bool | None = None) -> dict:
        """bank -> strategies: a list of numbers for one dimension, else of dicts."""
        dims = self.dimensions(timing)
        grids = self.grid(step)
        if RELEASE in dims:
            grids[RELEASE] = list(range(self.scenario.simulation.ticks_per_day))
        if len(dims) == 1:
            return {a: list(grids[dims[0]]) for a in self.agents}
        import itertools
        combos = [dict(zip(dims, c)) for c in itertools.product(*(grids[d] for d in dims))]
        return {a: [dict(c) for c in combos] for a in self.agents}

    def start(self, strategies: Mapping[str, list]) -> dict:
        """SimCash's baseline: half the pool, releasing at once (the closest grid point)."""
        out = {}
        for a, options in strategies.items():
            def distance(s):
                v = s if not isinstance(s, Mapping) else s
                if isinstance(v, Mapping):
                    return (abs(v.get(LIQUIDITY, 0.5) - 0.5), v.get(RELEASE, 0))
                return (abs(v - 0.5), 0)
            out[a] = min(options, key=distance)
        return out

    def base_doc(self, timing: bool) -> dict:
        """The scenario's dict form; with timing, the banks get the release-tick policy."""
        doc = self.scenario.model_dump()
        if timing:
            for agent in doc["agents"]:
                if agent["id"] in self.agents:
                    agent["policy"] = {"type": "Inline", "decision_trees": release_policy()}
                    agent.pop("policy_id", None)
        return doc

    # ---- solving -------------------------------------------------------------------------
    def game(self, step: float = 0.05, timing: bool | None = None,
             samples: int | None = None, iterations=(0,), backend: str = "serial",
             workers: int | None = None) -> Game:
        """The finite game of this experiment (costs evaluated as the file says)."""
        from ..config import load_scenario
        timing = self.timing_default() if timing is None else timing
        strategies = self.strategies(step, timing)
        internal = {a: [_internal(s) for s in options] for a, options in strategies.items()}
        doc = self.base_doc(timing)
        base_dir = (os.path.dirname(self.scenario_path) if self.scenario_path != "<dict>"
                    else None)
        if self.mode == "bootstrap":
            from .bootstrap import BootstrapOptions
            opts = BootstrapOptions(num_samples=samples or self.num_samples, ticks=self.ticks,
                                    master_seed=self.master_seed,
                                    iterations=tuple(iterations), seed_agent=self.agents[0])
            tpd = self.scenario.simulation.ticks_per_day
            return _BootstrapGame.make(internal, doc, opts, tpd, backend, workers,
                                       list(self.scenario.agent_ids
                                            if hasattr(self.scenario, "agent_ids")
                                            else [a.id for a in self.scenario.agents]))
        sc = load_scenario(doc, compat=self.scenario.profile, base_dir=base_dir)
        seeds = None
        if self.mode in ("monte-carlo", "monte_carlo"):
            seeds = list(range(samples or self.num_samples))
        return Game(sc, internal, seeds=seeds, backend=backend, workers=workers)

    def solve(self, step: float = 0.05, timing: bool | None = None,
              samples: int | None = None, iterations=(0,), n_resamples: int = 200,
              confidence: float = 0.95, enumerate_all: bool | None = None,
              backend: str = "serial", workers: int | None = None) -> "ExperimentResult":
        """Iterated best response from SimCash's baseline (half the pool), with intervals.

        ``enumerate_all`` (default: only for deterministic modes, where it is cheap) also lists
        every pure equilibrium of the grid and the planner's profile.
        """
        timing = self.timing_default() if timing is None else timing
        game = self.game(step, timing, samples, iterations, backend, workers)
        start = self.start({a: game.strategies[a] for a in game.agents})
        result = game.iterate(start, max_rounds=max(self.max_iterations, 2))
        result.game = game
        n = game.n_seeds() if (game.seeds is not None or game.cache) else 1
        if n > 1 and n_resamples:
            game.equilibrium_intervals(result, n_resamples, confidence, start=start,
                                       max_rounds=max(self.max_iterations, 2))
        per = {a: game.agent_per_seed([result.equilibrium], a)[0] for a in game.agents}
        cost_stats = {a: stats.summarize(v, confidence) for a, v in per.items()}
        if enumerate_all is None:
            enumerate_all = self.mode.startswith("deterministic")
        equilibria = planner = None
        if enumerate_all:
            equilibria = [_external(p) for p in game.equilibria()]
            prof, pcost = game.planner()
            planner = {"profile": _external(prof), "costs": pcost}
        return ExperimentResult(experiment=self, result=result, cost_stats=cost_stats,
                                equilibria=equilibria, planner=planner, step=step,
                                timing=timing, samples=n, confidence=confidence)


def _internal(strategy):
    """File parameter names -> the game's strategy (agent keys / policy parameters)."""
    if isinstance(strategy, Mapping):
        return {AGENT_KEYS.get(k, f"policy.{k}"): v for k, v in strategy.items()}
    return strategy


def _external(profile: Mapping[str, Any]) -> dict:
    back = {v: k for k, v in AGENT_KEYS.items()}
    out = {}
    for a, s in profile.items():
        if isinstance(s, Mapping):
            out[a] = {back.get(k, k.split(".", 1)[1] if k.startswith("policy.") else k): v
                      for k, v in s.items()}
        else:
            out[a] = s
    return out


@dataclass
class ExperimentResult:
    """What :meth:`Experiment.solve` found; ``to_json()`` is ``paysim experiment --json``."""

    experiment: Experiment
    result: EquilibriumResult
    cost_stats: dict
    equilibria: list | None
    planner: dict | None
    step: float
    timing: bool
    samples: int
    confidence: float

    @property
    def equilibrium(self) -> dict:
        return _external(self.result.equilibrium)

    @property
    def costs(self) -> dict:
        return {a: _num(v) for a, v in self.result.costs.items()}

    def to_json(self) -> dict:
        exp = self.experiment
        intervals: dict = {}
        exact = self.samples == 1      # one deterministic run: the numbers are exact
        for a, cost in self.result.costs.items():
            s = self.cost_stats[a]
            if exact:
                intervals[a] = {"cost": [_num(cost), _num(cost)], "cost_sd": 0,
                                "strategy": {d: {"interval": [v, v], "share_same": 1.0}
                                             for d, v in _dims(self.equilibrium[a]).items()}}
            else:
                intervals[a] = {"cost": [_num(s["ci_low"]), _num(s["ci_high"])],
                                "cost_sd": _num(s["sd"])}
        if self.result.intervals is not None:
            back = {v: k for k, v in AGENT_KEYS.items()}
            for _, row in self.result.intervals.iterrows():
                name = row["strategy"]
                agent, _, dim = name.partition(".")
                dim = back.get(dim, dim.split(".", 1)[1] if dim.startswith("policy.") else dim)
                entry = {"interval": [_num(row["ci_low"]), _num(row["ci_high"])],
                         "share_same": float(row["share_same"])}
                intervals.setdefault(agent, {}).setdefault("strategy", {})[
                    dim or "value"] = entry
        out = {"experiment": exp.name, "file": exp.source, "scenario": exp.scenario_path,
               "evaluation": {"mode": exp.mode, "samples": self.samples,
                              "confidence": self.confidence},
               "dimensions": exp.dimensions(self.timing), "step": self.step,
               "equilibrium": self.equilibrium, "costs": self.costs, "cost_unit": "cents",
               "intervals": intervals, "converged": self.result.converged,
               "rounds": self.result.rounds,
               "cycle": ([_external(p) for p in self.result.cycle]
                         if self.result.cycle else None)}
        if self.equilibria is not None:
            out["all_equilibria"] = self.equilibria
            out["planner"] = {"profile": self.planner["profile"],
                              "costs": {k: _num(v) for k, v in self.planner["costs"].items()}}
        return out

    def text(self) -> str:
        """A short human-readable report."""
        from ..report import money
        d = self.to_json()
        lines = [f"experiment {d['experiment']} ({d['evaluation']['mode']}, "
                 f"{d['evaluation']['samples']} sample(s)); strategy: "
                 f"{', '.join(d['dimensions'])}, grid step {self.step}",
                 f"best response {'converged' if d['converged'] else 'did not converge'} "
                 f"after {d['rounds']} round(s)"]
        for a, s in d["equilibrium"].items():
            cost = d["costs"][a]
            iv = d["intervals"].get(a, {})
            ci = iv.get("cost")
            ci_text = (f" [{money(round(ci[0]))}, {money(round(ci[1]))}]"
                       if ci and ci[0] is not None else "")
            if self.samples == 1:
                lines.append(f"  {a}: {s}  cost {money(round(cost))} (exact: one "
                             "deterministic run)")
                continue
            lines.append(f"  {a}: {s}  cost {money(round(cost))}{ci_text}")
            for dim, e in (iv.get("strategy") or {}).items():
                lines.append(f"      {dim}: interval {e['interval']}, same in "
                             f"{e['share_same']:.0%} of resamples")
        if d.get("cycle"):
            lines.append(f"  best responses cycle through: {d['cycle']}")
        if "all_equilibria" in d:
            lines.append(f"pure equilibria on the grid: {d['all_equilibria']}")
            lines.append(f"planner (least total cost): {d['planner']['profile']}, total "
                         f"{money(round(d['planner']['costs']['total']))}")
        return "\n".join(lines)


def _dims(strategy) -> dict:
    return dict(strategy) if isinstance(strategy, Mapping) else {"value": strategy}


def _num(v):
    if v is None:
        return None
    f = float(v)
    if f != f:
        return None
    return int(f) if f.is_integer() else round(f, 4)


class _BootstrapGame:
    """A Game whose bank costs are SimCash bootstrap evaluations (bootstrap.py)."""

    @staticmethod
    def make(strategies, doc, opts, tpd, backend, workers, all_agents) -> Game:
        def agent_costs(items):
            jobs = [(doc, profile, agent, opts, tpd) for profile, agent in items]
            if backend == "serial" or len(jobs) < 2:
                return [_bootstrap_job(job) for job in jobs]
            from concurrent.futures import ProcessPoolExecutor
            from .. import simulation  # noqa: F401  (import before forking, as sweeps do)
            n = workers or os.cpu_count() or 1
            with ProcessPoolExecutor(max_workers=min(n, len(jobs))) as pool:
                return list(pool.map(_bootstrap_job, jobs))
        return Game.from_agent_costs(strategies, agent_costs, all_agents=all_agents)


def _bootstrap_job(job) -> list[int]:
    """Per-sample costs of one bank under one profile (module level: picklable)."""
    from .bootstrap import agent_sample_costs
    from .params import apply_assignments
    doc, profile, agent, opts, tpd = job
    asg: dict = {}
    for a, s in profile.items():
        asg.update(strategy_assignments(a, s))
    return agent_sample_costs(apply_assignments(doc, asg), agent, opts, tpd)


def load(path) -> Experiment:
    """Read a SimCash experiment file (YAML), or the same content as a dict; its scenario is
    loaded too (``scenario``: a path relative to the file, or for a dict a path or the
    scenario's own dict).

    Errors name the file, the key and the problem (ScenarioError).
    """
    import warnings

    from ..config import load_scenario
    from ..config.reading import SourceError, read_source
    from ..errors import ScenarioWarning
    if isinstance(path, Mapping):
        source, data, folder = "<dict>", dict(path), os.getcwd()
    else:
        source = os.fspath(path)
        try:
            doc = read_source(source, None)
        except SourceError as exc:
            raise _error(source, "", exc.message) from None
        data, folder = doc.data, os.path.dirname(os.path.abspath(source))
    if not isinstance(data, dict):
        raise _error(source, "", "an experiment file is a mapping (name, scenario, evaluation, "
                                 "optimized_agents, ...)")
    scen = data.get("scenario")
    if isinstance(scen, Mapping) and source == "<dict>":
        scenario_path, scenario_source = "<dict>", dict(scen)
    elif isinstance(scen, str) and scen:
        scenario_path = os.path.normpath(os.path.join(folder, scen))
        if not Path(scenario_path).is_file():
            raise _error(source, "scenario", f"file not found: {scenario_path}")
        scenario_source = scenario_path
    else:
        raise _error(source, "scenario", "missing: the path of the scenario file, relative to "
                                         "the experiment file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = load_scenario(scenario_source)
    ev = data.get("evaluation") or {}
    if not isinstance(ev, dict):
        raise _error(source, "evaluation", "must be a mapping (mode, num_samples, ticks)")
    mode = str(ev.get("mode", "deterministic"))
    if mode not in MODES:
        raise _error(source, "evaluation.mode", f"unknown mode {mode!r}; known: "
                                                f"{', '.join(MODES)}")
    num_samples = _int(source, "evaluation.num_samples", ev.get("num_samples", 1), 1)
    ticks = _int(source, "evaluation.ticks",
                 ev.get("ticks", scenario.simulation.ticks_per_day), 1)
    ids = [a.id for a in scenario.agents]
    agents = data.get("optimized_agents") or ids
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise _error(source, "optimized_agents", "must be a list of agent ids")
    for i, a in enumerate(agents):
        if a not in ids:
            raise _error(source, f"optimized_agents[{i}]", f"no agent {a!r} in the scenario; "
                                                           f"agents: {', '.join(ids)}")
    pc = data.get("policy_constraints") or {}
    params = []
    for i, p in enumerate(pc.get("allowed_parameters") or [{"name": LIQUIDITY}]):
        where = f"policy_constraints.allowed_parameters[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise _error(source, where, "needs a name")
        lo, hi = p.get("min_value", 0.0), p.get("max_value", 1.0)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)) \
                or lo > hi:
            raise _error(source, where, f"min_value/max_value must be numbers with min <= max, "
                                        f"got {lo!r}, {hi!r}")
        params.append(Parameter(p["name"], float(lo), float(hi)))
    actions = ((pc.get("allowed_actions") or {}).get("payment_tree") or [])
    conv = data.get("convergence") or {}
    return Experiment(name=str(data.get("name") or Path(source).stem),
                      description=str(data.get("description") or ""), source=source,
                      scenario_path=scenario_path, scenario=scenario, mode=mode,
                      num_samples=num_samples, ticks=ticks, agents=list(agents),
                      parameters=params, hold_allowed="Hold" in actions,
                      master_seed=_int(source, "master_seed", data.get("master_seed", 42), 0),
                      max_iterations=_int(source, "convergence.max_iterations",
                                          conv.get("max_iterations", 25), 1),
                      raw=copy.deepcopy(data))


def _int(source: str, path: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _error(source, path, f"must be an integer >= {minimum}, got {value!r}")
    return value
