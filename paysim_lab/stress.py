"""Stress tests: who matters (every single-bank outage, ranked) and reverse stress tests.

Both build variants of a scenario by adding one extended-profile scenario event
(docs/scenario_format.md) and run them through the sweep backends
(:func:`paysim_lab.experiments.run_points`: serial, a process pool or Dask, with the same
results whichever runs them). Every run is read with :func:`paysim_lab.indicators.run_summary`.

- :func:`outage_ranking` runs the scenario once per bank with that bank out for a window
  (``ParticipantOutage``) and ranks the banks by the damage done to the *other* banks.
- :func:`reverse_stress` finds, seed by seed, the smallest shock of a kind (an outage's length,
  an arrival-rate surge, a collateral haircut) that pushes an indicator past a threshold, by
  bisection over the shock size, and gives a confidence interval over the seeds.

>>> import paysim_lab as psl
>>> psl.stress.outage_ranking("data/scenarios/gridlock_ring.yaml")    # doctest: +SKIP
>>> psl.stress.reverse_stress(scenario, kind="outage_length", agent="BANK_A",
...                           indicator="unsettled_value", threshold=1_000_000,
...                           seeds=range(8))                        # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import pandas as pd

from .indicators import run_summary

#: Indicators a stress test can read, and the direction that counts as worse.
INDICATORS = {
    "unsettled_value": "above", "knock_on_unsettled_value": "above",
    "knock_on_delay_indicator": "above",
    "delay_indicator": "above", "peak_queue2_value": "above", "max_liquidity_usage": "above",
    "gridlock_ticks": "above", "total_cost": "above",
    "value_settlement_rate": "below", "settlement_rate": "below",
}
#: Columns of the outage ranking, in order after agent_id and rank.
RANKING_METRICS = ("knock_on_unsettled_value", "knock_on_delay_indicator", "unsettled_value",
                   "delay_indicator",
                   "value_settlement_rate", "peak_queue2_value", "total_cost")
SHOCK_KINDS = ("outage_length", "arrival_surge", "haircut")

# two-sided 95% Student t quantiles by degrees of freedom (1..30); beyond that, the normal one
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def stress_metrics(sim) -> dict:
    """What every stress run adds to the sweep's columns (which already carry the summary's
    ``settlement_rate`` and ``total_cost``): :func:`run_summary`, plus each bank's terms of the
    delay indicator (``delay_terms.<BANK>``: numerator, denominator) so that the delay of the
    *other* banks' payments can be told apart. Module level, so process and Dask workers can
    import it.

    >>> stress_metrics(sim)["unsettled_value"]      # doctest: +SKIP
    """
    from .indicators import _delay_ratio, leaf_payments, run_frames
    rf = run_frames(sim)
    out = run_summary(rf)
    leaves = leaf_payments(rf)
    num, den = _delay_ratio(leaves, rf.ticks_per_day)
    terms = pd.DataFrame({"b": leaves["sender_id"].to_numpy(), "num": num, "den": den})
    sums = terms.groupby("b").sum()
    for aid in rf.agent_ids:
        got = sums.loc[aid] if aid in sums.index else None
        out[f"delay_terms.{aid}"] = ((float(got["num"]), float(got["den"])) if got is not None
                                     else (0.0, 0.0))
    return out


def _knock_on(row, out_bank: str, agent_ids) -> tuple[float, float]:
    """(value left unsettled, delay indicator) of the payments of every bank but ``out_bank``."""
    own = row[f"unsettled_value.{out_bank}"] if out_bank else 0
    unsettled = float(row["unsettled_value"] - own)
    num = den = 0.0
    for aid in agent_ids:
        if aid != out_bank:
            n, d = row[f"delay_terms.{aid}"]
            num += n
            den += d
    return unsettled, (num / den if den > 0 else math.nan)


def _base(scenario):
    from .experiments.sweeps import load_base
    base = load_base(scenario)
    if base.profile != "extended":
        from .errors import ScenarioError
        raise ScenarioError(f"{base.source}: stress tests add extended-profile scenario events; "
                            f"load the scenario with compat='extended' (it has "
                            f"{base.profile!r})")
    return base


def _runs(base, event_lists: Sequence[list], seeds, backend, workers, client) -> pd.DataFrame:
    """One row per (event list, seed), in that order, with the stress metrics as columns."""
    from .experiments.sweeps import run_points
    frame = run_points(base, ["scenario_events"], [(ev,) for ev in event_lists], seeds=seeds,
                       metrics=stress_metrics, backend=backend, client=client, workers=workers)
    failed = frame["error"].notna()
    if failed.any():
        from .errors import SimulationError
        raise SimulationError(f"a stress run failed: {frame.loc[failed, 'error'].iloc[0]}")
    return frame


def _events(base) -> list:
    return list(base.doc.get("scenario_events") or [])


def _total_ticks(base) -> int:
    doc = base.doc
    sim = doc.get("simulation") or doc
    return int(sim["ticks_per_day"]) * int(sim.get("num_days", 1))


# ---- who matters ------------------------------------------------------------------------------

def outage_ranking(scenario, *, start_tick: int = 0, end_tick: int | None = None,
                   seeds: Iterable[int] | None = None, rank_by: str = "knock_on_unsettled_value",
                   agents: Sequence[str] | None = None, backend: str | None = "serial",
                   workers: int | None = None, client=None) -> pd.DataFrame:
    """Run every single-bank outage and rank the banks by their system impact.

    Each bank in turn is out from ``start_tick`` to ``end_tick`` (default: the end of the run)
    while everything else stays as in the scenario; each variant runs with every seed. One row
    per bank, most harmful first (by the change in ``rank_by``): ``rank`` (1 = most harmful;
    ties share the rank), then per
    metric of ``RANKING_METRICS`` its mean over the seeds under that outage and
    ``<metric>_change`` (the mean change from the same seed's run without the outage; for the
    knock-on measures, over the same other banks).
    ``knock_on_unsettled_value`` is the value left unsettled at the end *by the other banks*
    (the damage the outage spreads; ``rank_by`` uses it by default) and
    ``knock_on_delay_indicator`` the delay indicator of the other banks' payments (the better
    yardstick for a short outage, after which everything still settles). The baseline's means are
    in ``frame.attrs["baseline"]``.

    >>> outage_ranking("ring.yaml", seeds=range(4))[["agent_id", "rank"]]   # doctest: +SKIP
    """
    if rank_by not in RANKING_METRICS:
        raise ValueError(f"rank_by must be one of {', '.join(RANKING_METRICS)}, got {rank_by!r}")
    base = _base(scenario)
    total = _total_ticks(base)
    end = total if end_tick is None else int(end_tick)
    if not 0 <= start_tick < end:
        raise ValueError(f"need 0 <= start_tick < end_tick, got {start_tick} and {end}")
    ids = list(base.agent_ids) if agents is None else list(agents)
    unknown = [a for a in ids if a not in base.agent_ids]
    if unknown:
        raise ValueError(f"unknown agents {unknown}; agents are: {', '.join(base.agent_ids)}")
    own = _events(base)
    variants = [own] + [own + [{"type": "ParticipantOutage", "agent": a,
                                "start_tick": int(start_tick), "end_tick": end}] for a in ids]
    frame = _runs(base, variants, seeds, backend, workers, client)
    n_seeds = len(frame) // len(variants)
    # "" marks the baseline (agent ids are never empty; nobody is out)
    frame["variant"] = [v for v in [""] + ids for _ in range(n_seeds)]
    knock = [_knock_on(row, v, base.agent_ids) for (_, row), v in zip(frame.iterrows(),
                                                                      frame["variant"])]
    frame["knock_on_unsettled_value"] = [k[0] for k in knock]
    frame["knock_on_delay_indicator"] = [k[1] for k in knock]
    # each run against the same seed's run without an outage, over the same banks: the
    # knock-on measures leave the bank that is out out of the baseline too
    plain = {int(r["seed"]): r for _, r in frame.iterrows() if r["variant"] == ""}
    for m in RANKING_METRICS:
        refs = []
        for (_, row), v in zip(frame.iterrows(), frame["variant"]):
            ref = plain[int(row["seed"])]
            if m.startswith("knock_on_"):
                k = _knock_on(ref, v, base.agent_ids)
                refs.append(k[0] if m == "knock_on_unsettled_value" else k[1])
            else:
                refs.append(float(ref[m]))
        frame[f"{m}_change"] = frame[m].astype(float) - pd.Series(refs, index=frame.index)
    columns = [c for m in RANKING_METRICS for c in (m, f"{m}_change")]
    means = frame.groupby("variant", sort=False)[columns].mean()
    baseline = means.loc[""]
    rows = means.reindex(ids)
    result = pd.DataFrame({"agent_id": ids})
    for c in columns:
        result[c] = rows[c].to_numpy(dtype=float)
    # rank on the change: the knock-on levels are over different sets of banks
    worse_high = INDICATORS[rank_by] == "above"
    change = result[f"{rank_by}_change"]
    key = change if worse_high else -change
    result["rank"] = key.rank(method="min", ascending=False).astype("int64")
    result = result.sort_values(["rank", "agent_id"], kind="stable").reset_index(drop=True)
    result = result[["agent_id", "rank"] + [c for c in result.columns
                                            if c not in ("agent_id", "rank")]]
    result.attrs["baseline"] = {m: float(baseline[m]) for m in RANKING_METRICS}
    result.attrs["window"] = (int(start_tick), end)
    return result


# ---- reverse stress test ----------------------------------------------------------------------

@dataclass
class ReverseStressResult:
    """Smallest shock that breaks the threshold, per seed and over seeds.

    ``estimate`` is the mean over seeds of each seed's critical size (the smallest size tried
    that breached; sizes are known to within ``tolerance``), with a two-sided ``confidence``
    interval (Student t over seeds; equal to the estimate with one seed). Seeds where even the
    largest size did not breach are ``censored``: then the estimate is a lower bound and the
    interval's upper end is infinite. ``per_seed`` has one row per seed, ``trials`` one per run.
    """

    kind: str
    indicator: str
    threshold: float
    direction: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    tolerance: float
    censored: int
    per_seed: pd.DataFrame = field(repr=False)
    trials: pd.DataFrame = field(repr=False)

    def __str__(self) -> str:
        bound = "at least " if self.censored else ""
        return (f"smallest {self.kind} pushing {self.indicator} {self.direction} "
                f"{self.threshold}: {bound}{self.estimate:g} "
                f"({self.confidence:.0%} CI {self.ci_low:g} .. {self.ci_high:g}; "
                f"{len(self.per_seed)} seeds, {self.censored} censored)")


def _shock_event(kind: str, size, *, agent, start_tick: int) -> dict:
    if kind == "outage_length":
        return {"type": "ParticipantOutage", "agent": agent, "start_tick": start_tick,
                "end_tick": start_tick + int(size)}
    if kind == "arrival_surge":
        if agent is None:
            return {"type": "GlobalArrivalRateChange", "multiplier": float(size),
                    "schedule": {"type": "OneTime", "tick": start_tick}}
        return {"type": "AgentArrivalRateChange", "agent": agent, "multiplier": float(size),
                "schedule": {"type": "OneTime", "tick": start_tick}}
    ev = {"type": "CollateralHaircutChange", "haircut": float(size),
          "schedule": {"type": "OneTime", "tick": start_tick}}
    if agent is not None:
        ev["agent"] = agent
    return ev


def _defaults(kind: str, total: int, start_tick: int) -> tuple[float, float, float]:
    if kind == "outage_length":
        return 1, max(total - start_tick, 1), 1
    if kind == "arrival_surge":
        return 1.0, 10.0, 0.05
    return 0.0, 1.0, 0.01


def reverse_stress(scenario, *, kind: str, indicator: str, threshold: float,
                   agent: str | None = None, start_tick: int = 0, lo: float | None = None,
                   hi: float | None = None, tolerance: float | None = None,
                   seeds: Iterable[int] | None = None, direction: str | None = None,
                   confidence: float = 0.95, backend: str | None = "serial",
                   workers: int | None = None, client=None,
                   max_steps: int = 40) -> ReverseStressResult:
    """Smallest shock of ``kind`` that pushes ``indicator`` past ``threshold``.

    Shock kinds (added to the scenario's own events at ``start_tick``):

    - ``"outage_length"``: ``agent`` cannot send for that many ticks (integer sizes;
      default range 1 .. the rest of the run).
    - ``"arrival_surge"``: arrival rates (of ``agent``, or every bank) are multiplied by the
      size (default range 1 .. 10).
    - ``"haircut"``: the collateral haircut (of ``agent``, or every bank) becomes the size
      (default range 0 .. 1).

    ``indicator`` is a key of ``INDICATORS`` (run-level values of
    :func:`paysim_lab.indicators.run_summary`, the summary's ``settlement_rate`` and
    ``total_cost``, and ``knock_on_unsettled_value`` / ``knock_on_delay_indicator`` for
    outages); ``direction`` ("above" or
    "below") says which side of ``threshold`` is a breach (default: the side that is worse).
    For each seed the size is bisected between ``lo`` and ``hi`` until the bracket is at most
    ``tolerance`` wide, assuming the indicator worsens with the size. Every step runs the
    still-open seeds through the sweep backends at once.

    >>> reverse_stress(sc, kind="haircut", indicator="unsettled_value", threshold=0,
    ...                agent="A", seeds=range(5))          # doctest: +SKIP
    """
    if kind not in SHOCK_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SHOCK_KINDS)}, got {kind!r}")
    if indicator not in INDICATORS:
        raise ValueError(f"indicator must be one of {', '.join(INDICATORS)}, got {indicator!r}")
    direction = direction or INDICATORS[indicator]
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    base = _base(scenario)
    if kind == "outage_length" and agent is None:
        raise ValueError("kind='outage_length' needs agent= (the bank that goes out)")
    if agent is not None and agent not in base.agent_ids:
        raise ValueError(f"unknown agent {agent!r}; agents are: {', '.join(base.agent_ids)}")
    if indicator.startswith("knock_on_") and kind != "outage_length":
        raise ValueError(f"{indicator} is measured for outages only")
    total = _total_ticks(base)
    d_lo, d_hi, d_tol = _defaults(kind, total, start_tick)
    lo = d_lo if lo is None else lo
    hi = d_hi if hi is None else hi
    tol = d_tol if tolerance is None else tolerance
    if not lo < hi:
        raise ValueError(f"need lo < hi, got {lo} and {hi}")
    if tol <= 0:
        raise ValueError(f"tolerance must be > 0, got {tol}")
    integer = kind == "outage_length"
    if integer and (lo != int(lo) or hi != int(hi)):
        raise ValueError(f"outage lengths are whole ticks, got lo={lo}, hi={hi}")
    if not 0 <= start_tick < total:
        raise ValueError(f"start_tick must be in 0..{total - 1}, got {start_tick}")
    from .experiments.sweeps import _seed_list
    seed_list = _seed_list(seeds, base.seed)
    own = _events(base)
    trials: list[dict] = []

    def evaluate(points: list[tuple[int, float]]) -> dict[tuple[int, float], bool]:
        """Run (seed, size) points; group equal sizes so each group is one backend call."""
        by_size: dict[float, list[int]] = {}
        for seed, size in points:
            by_size.setdefault(size, []).append(seed)
        out = {}
        for size in sorted(by_size):
            ev = own + [_shock_event(kind, size, agent=agent, start_tick=start_tick)]
            frame = _runs(base, [ev], by_size[size], backend, workers, client)
            for _, r in frame.iterrows():
                value = _indicator_value(r, indicator, agent, base.agent_ids)
                bad = value > threshold if direction == "above" else value < threshold
                trials.append({"seed": int(r["seed"]), "size": size, "value": value,
                               "breached": bool(bad)})
                out[(int(r["seed"]), size)] = bool(bad)
        return out

    # brackets per seed: (largest size known safe, smallest size known to breach)
    ends = evaluate([(s, lo) for s in seed_list] + [(s, hi) for s in seed_list])
    state: dict[int, list] = {}
    for s in seed_list:
        if ends[(s, lo)]:
            state[s] = [None, lo]
        elif not ends[(s, hi)]:
            state[s] = [hi, None]         # censored: no breach in range
        else:
            state[s] = [lo, hi]
    for _ in range(max_steps):
        open_ = [s for s, (a, b) in state.items()
                 if a is not None and b is not None and b - a > tol]
        if not open_:
            break
        points = []
        for s in open_:
            a, b = state[s]
            mid = (a + b) // 2 if integer else (a + b) / 2
            points.append((s, mid))
        res = evaluate(points)
        for s, mid in points:
            if res[(s, mid)]:
                state[s][1] = mid
            else:
                state[s][0] = mid
    per_seed = pd.DataFrame({
        "seed": seed_list,
        "critical_size": [math.inf if state[s][1] is None else float(state[s][1])
                          for s in seed_list],
        "safe_size": [math.nan if state[s][0] is None else float(state[s][0])
                      for s in seed_list],
        "censored": [state[s][1] is None for s in seed_list],
        "runs": [sum(1 for t in trials if t["seed"] == s) for s in seed_list],
    })
    est, low, high = _interval(per_seed, confidence)
    return ReverseStressResult(kind=kind, indicator=indicator, threshold=threshold,
                               direction=direction, estimate=est, ci_low=low, ci_high=high,
                               confidence=confidence, tolerance=tol,
                               censored=int(per_seed["censored"].sum()), per_seed=per_seed,
                               trials=pd.DataFrame(trials, columns=["seed", "size", "value",
                                                                    "breached"]))


def _indicator_value(row, indicator: str, agent: str | None, agent_ids) -> float:
    if indicator == "knock_on_unsettled_value":
        return _knock_on(row, agent, agent_ids)[0]
    if indicator == "knock_on_delay_indicator":
        return _knock_on(row, agent, agent_ids)[1]
    return float(row[indicator])


def _interval(per_seed: pd.DataFrame, confidence: float) -> tuple[float, float, float]:
    """Mean of the critical sizes and its t interval (censored seeds: a lower bound)."""
    done = per_seed.loc[~per_seed["censored"], "critical_size"]
    n = len(done)
    if n == 0:
        return math.inf, math.inf, math.inf
    mean = float(done.mean())
    if n == 1:
        low = high = mean
    else:
        q = _t_quantile(n - 1, confidence)
        half = q * float(done.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    if per_seed["censored"].any():
        high = math.inf
    return mean, low, high


def _t_quantile(df: int, confidence: float) -> float:
    """Two-sided Student t quantile: exact table at 95%, else the normal approximation."""
    if abs(confidence - 0.95) < 1e-12:
        return _T975[df - 1] if df <= len(_T975) else 1.960
    from statistics import NormalDist
    return NormalDist().inv_cdf(0.5 + confidence / 2)
