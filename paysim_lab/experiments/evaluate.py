"""Evaluate policy profiles over seeds: per-seed costs, summaries with intervals, paired tests.

>>> import paysim_lab as psl
>>> ev = psl.evaluate(psl.data.scenario_path("two_bank_teaching"),
...                   profiles={"low": {"SOUTH": {"unsecured_cap": 0}},
...                             "high": {"SOUTH": {"unsecured_cap": 500000}}},
...                   seeds=range(1, 21), backend="serial")       # doctest: +SKIP
>>> ev.summary      # profile, label, agent, n, mean, sd, ci_low, ci_high  # doctest: +SKIP
>>> ev.compare("low", "high", agent="SOUTH")                       # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..errors import SimulationError
from . import stats
from .profiles import DEFAULT_PARAMETER, profile_assignments, profile_label
from .sweeps import SUMMARY_COLUMNS, Base, load_base, run_assignments

TOTAL = "total"
MODES = ("monte_carlo", "deterministic", "bootstrap")


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    - ``runs``: tidy per-seed costs, one row per profile x seed x bank: ``profile`` (index),
      ``label``, ``seed``, ``agent``, ``cost`` (cents).
    - ``wide``: one row per profile x seed: ``profile``, ``label``, ``seed``, the run's summary
      counters, ``cost_<AGENT>`` per bank and ``total_cost``.
    - ``summary``: one row per profile x bank, plus ``agent == "total"`` (sum over banks):
      ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high`` (cents).
    - ``profiles``: the profiles as given; ``labels``: their labels.
    """

    runs: Any
    wide: Any
    summary: Any
    profiles: list
    labels: list
    agents: list
    seeds: list
    confidence: float = 0.95
    method: str = "percentile"
    n_resamples: int = stats.N_RESAMPLES
    mode: str = "monte_carlo"

    def _index(self, which) -> int:
        if isinstance(which, int) and not isinstance(which, bool):
            if 0 <= which < len(self.labels):
                return which
            raise IndexError(f"profile index {which} out of range (0..{len(self.labels) - 1})")
        if which in self.labels:
            return self.labels.index(which)
        raise KeyError(f"no profile labelled {which!r}; labels: {', '.join(self.labels)}")

    def costs(self, profile, agent: str = TOTAL) -> list:
        """Per-seed costs (cents, in seed order) of ``agent`` (or the total) under ``profile``."""
        i = self._index(profile)
        col = "total_cost" if agent == TOTAL else f"cost_{agent}"
        if agent != TOTAL and agent not in self.agents:
            raise KeyError(f"no bank {agent!r}; banks: {', '.join(self.agents)}")
        part = self.wide[self.wide["profile"] == i]
        return [int(v) for v in part[col].tolist()]

    def compare(self, a, b, agent: str = TOTAL) -> dict:
        """Paired comparison of profiles ``a`` and ``b`` (index or label) on the same seeds.

        ``mean_diff`` = mean of cost(a) - cost(b) per seed (negative: ``a`` is cheaper), its
        interval ``ci_low``/``ci_high``, and the shares of seeds where each wins; see
        :func:`paysim_lab.experiments.stats.paired`.
        """
        out = stats.paired(self.costs(a, agent), self.costs(b, agent), self.confidence,
                           self.method, self.n_resamples)
        return {"a": self.labels[self._index(a)], "b": self.labels[self._index(b)],
                "agent": agent, **out}

    def comparison(self, a, b):
        """:meth:`compare` for every bank and the total, as a DataFrame (one row each)."""
        import pandas as pd
        return pd.DataFrame([self.compare(a, b, ag) for ag in [*self.agents, TOTAL]])

    def __repr__(self) -> str:
        return (f"Evaluation({len(self.labels)} profile(s) x {len(self.seeds)} seed(s), "
                f"mode={self.mode!r})")


def _normalise_profiles(profiles, agent_ids: Sequence[str]) -> tuple[list, list[str]]:
    if profiles is None:
        return [None], ["scenario"]
    if isinstance(profiles, Mapping):
        if not profiles:
            raise ValueError("profiles is empty")
        if (all(isinstance(k, str) and (k in agent_ids or "." in k) for k in profiles)
                or any(not isinstance(v, Mapping) and v is not None
                       for v in profiles.values())):
            return [dict(profiles)], [profile_label(profiles)]   # one profile given directly
        return list(profiles.values()), [str(k) for k in profiles]   # label -> profile
    if isinstance(profiles, (str, bytes)) or not isinstance(profiles, Iterable):
        raise TypeError(f"profiles must be a list of profiles or a dict label -> profile, "
                        f"got {type(profiles).__name__}")
    out = list(profiles)
    if not out:
        raise ValueError("profiles is empty")
    labels = [profile_label(p) for p in out]
    if len(set(labels)) != len(labels):
        labels = [f"{i}: {lab}" for i, lab in enumerate(labels)]
    return out, labels


def evaluate(scenario, profiles=None, seeds=None, *, mode: str | None = None,
             parameter: str = DEFAULT_PARAMETER, confidence: float = 0.95,
             method: str = "percentile", n_resamples: int = stats.N_RESAMPLES,
             bootstrap: Mapping[str, Any] | None = None, backend: str | None = None,
             client=None, workers: int | None = None, progress: bool = False) -> Evaluation:
    """Run ``scenario`` under each profile with every seed; costs per seed plus statistics.

    - ``scenario``: a loaded :class:`paysim_lab.Scenario`, a file path or a dict.
    - ``profiles``: ``None`` (the scenario as written), one profile, a list of profiles or a
      dict label -> profile. A profile maps banks to strategies (``{"BANK_A": 0.1}`` sets
      ``parameter``; ``{"BANK_A": {"liquidity_allocation_fraction": 0.1,
      "policy.urgency_threshold": 3}}`` sets several) or dotted grid paths to values.
    - ``seeds``: the seeds every profile is run with (the same seeds for every profile, so
      comparisons are paired); default: the scenario's ``rng_seed``.
    - ``mode``: ``"monte_carlo"`` (the default: one run per seed), ``"deterministic"`` (one
      run at the scenario's seed; ``seeds`` must be None) or ``"bootstrap"`` (SimCash's
      evaluation: resampled transaction histories of a context run, replayed in a sandbox;
      options in ``bootstrap``, see :func:`paysim_lab.experiments.bootstrap.evaluate_bootstrap`;
      serial by default, ``backend="process"`` spreads the banks' evaluations over a pool).
    - ``confidence``, ``method``, ``n_resamples``: the intervals (see stats.py).
    - ``backend``, ``client``, ``workers``, ``progress``: as in :func:`paysim_lab.sweep`.

    Returns an :class:`Evaluation`. A run that fails raises SimulationError naming the profile
    and the seed (statistics over the other seeds would be biased).

    >>> ev = evaluate("data/scenarios/liquidity_game_2period.yaml",
    ...               [{"BANK_A": 0.0, "BANK_B": 0.2}, {"BANK_A": 0.5, "BANK_B": 0.5}],
    ...               backend="serial")                            # doctest: +SKIP
    >>> ev.summary.query("agent == 'total'")["mean"].tolist()      # doctest: +SKIP
    [2000.0, 10000.0]
    """
    mode = mode or "monte_carlo"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    stats._check(confidence, method, n_resamples)
    base = load_base(scenario)
    plist, labels = _normalise_profiles(profiles, base.agent_ids)
    assignments = [profile_assignments(p, base.agent_ids, parameter) for p in plist]
    if mode == "bootstrap":
        from .bootstrap import evaluate_bootstrap
        if client is not None or backend == "dask":
            raise ValueError("mode='bootstrap' runs serially or on a process pool "
                             "(backend='serial' or 'process')")
        return evaluate_bootstrap(base, plist, labels, assignments, seeds=seeds,
                                  options=bootstrap or {}, confidence=confidence,
                                  method=method, n_resamples=n_resamples,
                                  backend=backend or "serial", workers=workers)
    if mode == "deterministic":
        if seeds is not None:
            raise ValueError("mode='deterministic' runs the scenario's own seed; leave seeds "
                             "unset (or use mode='monte_carlo')")
    seed_list = _seeds(seeds, base)
    results = run_assignments(base, assignments, seed_list, backend=backend, client=client,
                              workers=workers, progress=progress)
    _raise_failures(results, labels, seed_list)
    return build_evaluation(base, plist, labels, seed_list,
                            [[r for r in per] for per in results], confidence, method,
                            n_resamples, mode)


def _seeds(seeds, base: Base) -> list[int]:
    from .sweeps import _seed_list
    return _seed_list(seeds, base.seed)


def _raise_failures(results, labels, seed_list) -> None:
    for c, per in enumerate(results):
        for s, row in enumerate(per):
            if row.get("error") is not None:
                raise SimulationError(f"evaluate: profile {labels[c]!r}, seed {seed_list[s]}: "
                                      f"{row['error']}")


def build_evaluation(base: Base, plist: list, labels: list[str], seed_list: Sequence[int],
                     results: list[list[dict]], confidence: float, method: str,
                     n_resamples: int, mode: str) -> Evaluation:
    """Assemble an :class:`Evaluation` from per-profile, per-seed result rows (``cost_<A>``)."""
    import pandas as pd
    agents = list(base.agent_ids)
    wide_rows, long_rows = [], []
    for c, per in enumerate(results):
        for s, row in enumerate(per):
            w = {"profile": c, "label": labels[c], "seed": seed_list[s]}
            w.update({k: row.get(k) for k in SUMMARY_COLUMNS if k in row})
            total = 0
            for a in agents:
                cost = int(row[f"cost_{a}"])
                w[f"cost_{a}"] = cost
                total += cost
                long_rows.append({"profile": c, "label": labels[c], "seed": seed_list[s],
                                  "agent": a, "cost": cost})
            w["total_cost"] = total
            wide_rows.append(w)
    runs = pd.DataFrame(long_rows, columns=["profile", "label", "seed", "agent", "cost"])
    runs = runs.astype({"profile": "int64", "seed": "int64", "cost": "int64"})
    wide = pd.DataFrame(wide_rows)
    summary_rows = []
    for c in range(len(plist)):
        part = wide[wide["profile"] == c]
        for a in [*agents, TOTAL]:
            col = "total_cost" if a == TOTAL else f"cost_{a}"
            s = stats.summarize(part[col].tolist(), confidence, method, n_resamples)
            summary_rows.append({"profile": c, "label": labels[c], "agent": a, **s})
    summary = pd.DataFrame(summary_rows,
                           columns=["profile", "label", "agent", "n", "mean", "sd", "ci_low",
                                    "ci_high"])
    return Evaluation(runs=runs, wide=wide, summary=summary, profiles=plist, labels=labels,
                      agents=agents, seeds=list(seed_list), confidence=confidence,
                      method=method, n_resamples=n_resamples, mode=mode)


def compare(scenario, a, b, seeds=None, *, agent: str = TOTAL, **options) -> dict:
    """Paired comparison of profiles ``a`` and ``b`` on the same ``seeds`` (see
    :meth:`Evaluation.compare`); ``options`` go to :func:`evaluate`.

    >>> compare("data/scenarios/two_bank_teaching.yaml", {"SOUTH": {"unsecured_cap": 0}},
    ...         {"SOUTH": {"unsecured_cap": 500000}}, seeds=range(1, 11),
    ...         agent="SOUTH", backend="serial")["a_wins"]           # doctest: +SKIP
    """
    ev = evaluate(scenario, {"a": a, "b": b}, seeds, **options)
    return ev.compare("a", "b", agent)
