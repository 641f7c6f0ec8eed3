"""Parameter and seed sweeps: many runs of one scenario, one tidy row per run.

The grid maps dotted paths of the scenario's dict form to lists of values (params.py); every
combination is run with every seed. Combinations are prepared and validated in the calling
process (a bad path fails at once, naming it); runs execute serially, in a process pool or on
a Dask cluster, and the frame is the same whichever backend and worker count ran it: rows come
back in grid x seed order and each run is seeded explicitly.

>>> import paysim_lab as psl
>>> frame = psl.sweep(psl.data.scenario_path("two_bank_teaching"),
...                   grid={"agents.SOUTH.unsecured_cap": [0, 100000]},
...                   seeds=[1, 2], backend="serial")          # doctest: +SKIP
>>> frame[["agents.SOUTH.unsecured_cap", "seed", "total_cost"]]  # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import math
import os
import pickle
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import ScenarioError, ScenarioWarning
from .params import apply_assignments, path_error, split_path, written_segments

#: Summary values copied into every row, in column order (Simulation.summary()).
SUMMARY_COLUMNS = ("ticks_run", "arrivals", "settlements", "settlement_rate", "unsettled",
                   "overdue", "dropped", "lsm_bilateral", "lsm_cycles", "lsm_queue_retry",
                   "queue1_size", "queue2_size", "total_cost")
FLOAT_COLUMNS = ("settlement_rate",)
BACKENDS = ("process", "dask", "serial")

Metrics = Callable[[Any], Mapping[str, Any]]


# ---- preparing the runs --------------------------------------------------------------------

@dataclass(frozen=True)
class Base:
    """The scenario a sweep starts from, in the forms the runs need."""

    doc: dict                 # as written (model_dump)
    profile: str
    base_dir: str | None
    agent_ids: tuple[str, ...]
    policies: dict            # agent id -> effective policy document
    seed: int                 # simulation.rng_seed
    source: str = "<dict>"
    warnings: tuple[str, ...] = ()   # the scenario's own load warnings, without the source
    allowed_dirs: tuple | None = None  # the scenario's allowed_policy_dirs (files it may read)
    memory_payments: Any = None        # a payments DataFrame's table (config.memory_payments)


def load_base(scenario) -> Base:
    """Load ``scenario`` (a Scenario, a path or a dict) once, for a sweep."""
    from ..config import Scenario, load_scenario
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base_dir = sc.base_dir
    return Base(doc=sc.model_dump(), profile=sc.profile,
                base_dir=os.fspath(base_dir) if base_dir is not None else None,
                agent_ids=tuple(a.id for a in sc.agents), policies=sc.agent_policies,
                seed=sc.simulation.rng_seed, source=sc.source,
                warnings=tuple(_without_source(t, sc.source) for t in sc.load_warnings),
                allowed_dirs=_as_tuple(sc._allowed_policy_dirs),
                memory_payments=sc._memory_payments)


def _as_tuple(dirs) -> tuple | None:
    if dirs is None:
        return None
    return (dirs,) if isinstance(dirs, (str, os.PathLike)) else tuple(dirs)


def grid_points(grid: Mapping[str, Sequence] | None) -> tuple[list[str], list[tuple]]:
    """(paths, combinations): every combination of the grid's values, first path outermost."""
    if grid is None:
        return [], [()]
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a dict of path -> list of values, got "
                        f"{type(grid).__name__}")
    paths, values = [], []
    for path, vals in grid.items():
        split_path(path)
        if isinstance(vals, (str, bytes, Mapping)) or not isinstance(vals, Iterable):
            raise path_error(path, f"grid values must be a list, got {vals!r}")
        paths.append(path)
        values.append(list(vals))
    return paths, list(itertools.product(*values))


def _unknown_key_problem(texts: list[str], doc: dict, path: str) -> str | None:
    """The loader's 'unknown key' warning about ``path`` (or a parent key it created)."""
    from ..config.issues import format_path
    segs = written_segments(doc, path)
    for n in range(len(segs), 0, -1):
        at = f": {format_path(segs[:n])}: "
        for text in texts:
            if at in text and ("unknown key" in text or "ignored:" in text):
                return text.split(at, 1)[1]
    return None


def prepare(base: Base, assignments: Mapping[str, Any]):
    """Load one combination: (Scenario or None, error text or None, warning messages).

    A value the scenario rejects gives an error text (its rows fail); problems with the paths
    themselves raise ScenarioError naming the path.
    """
    from ..config import load_scenario
    doc = apply_assignments(base.doc, assignments, base.policies)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        try:
            sc = load_scenario(doc, compat=base.profile, base_dir=base.base_dir,
                               allowed_policy_dirs=base.allowed_dirs)
            if base.memory_payments is not None:
                base.memory_payments.attach(sc)
            # resolve and validate the policies here, once: the resolved documents travel
            # with the pickled scenario, so workers do not redo it for every task
            sc.agent_policies
        except ScenarioError as exc:
            sc, error = None, f"ScenarioError: {exc}"
        else:
            error = None
    texts = [str(w.message) for w in caught if issubclass(w.category, ScenarioWarning)]
    for path in assignments:
        problem = _unknown_key_problem(texts, doc, path)
        if problem is not None:
            raise path_error(path, problem)
    return sc, error, [_without_source(t, "<dict>") for t in texts]


def _without_source(text: str, source: str) -> str:
    prefix = f"{source}: "
    return text[len(prefix):] if text.startswith(prefix) else text


# ---- running -------------------------------------------------------------------------------

def _pack_metrics(metrics: Metrics | None) -> bytes | None:
    """Serialise the metrics callable (cloudpickle when available: lambdas work too)."""
    if metrics is None:
        return None
    if not callable(metrics):
        raise TypeError(f"metrics must be a callable(sim) -> dict, got {metrics!r}")
    try:
        import cloudpickle
        return cloudpickle.dumps(metrics)
    except ImportError:  # pragma: no cover - cloudpickle ships with dask
        return pickle.dumps(metrics)


def run_one(scenario, seed: int, metrics: Metrics | None = None, store=None) -> dict:
    """Run one simulation; the row's result columns (``error`` set when anything raised)."""
    from ..simulation import Simulation
    row: dict[str, Any] = {}
    sim = None
    try:
        sim = Simulation(scenario, seed=seed, store=store)
        sim.advance()
        summary = sim.summary()
        for key in SUMMARY_COLUMNS:
            row[key] = summary.get(key)
        for aid, info in summary.get("agents", {}).items():
            row[f"cost_{aid}"] = info.get("total_cost")
    except Exception as exc:  # one failed run must never lose the others
        row = {"error": f"{type(exc).__name__}: {exc}"}
    else:
        row["error"] = None
        if metrics is not None:
            try:
                extra = metrics(sim)
                if not isinstance(extra, Mapping):
                    raise TypeError(f"must return a dict, got {type(extra).__name__}")
                clash = [k for k in extra if k in row or k in ("seed", "run_id")]
                if clash:
                    raise ValueError(f"returned {', '.join(map(repr, clash))}, already a "
                                     "column of the sweep")
                row.update(extra)
            except Exception as exc:
                row["error"] = f"metrics: {type(exc).__name__}: {exc}"
    if store is not None and sim is not None:
        row["run_id"] = sim.run_id
    return row


def run_task(task: tuple) -> list[tuple[int, dict]]:
    """Worker entry point (module level, so spawn/fork pools and Dask can import it).

    ``task`` = (scenario, [(row index, seed), ...], packed metrics or None).
    """
    scenario, items, packed = task
    metrics = pickle.loads(packed) if packed is not None else None
    return [(index, run_one(scenario, seed, metrics)) for index, seed in items]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _progress_bar(enabled: bool, total: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="run", desc="sweep")


def _execute(tasks: list[tuple], backend: str, workers: int, client, bar) -> list:
    results: list = []

    def collect(part):
        results.extend(part)
        if bar is not None:
            bar.update(len(part))

    if backend == "serial" or not tasks:
        for task in tasks:
            collect(run_task(task))
    elif backend == "process":
        from concurrent.futures import ProcessPoolExecutor, as_completed
        # import the simulation layer (pandas) before the pool forks, so workers share it
        # instead of each paying the import on its first task
        from .. import simulation  # noqa: F401
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            futures = [pool.submit(run_task, task) for task in tasks]
            for fut in as_completed(futures):
                collect(fut.result())
    else:
        _execute_dask(tasks, workers, client, collect)
    return results


def _execute_dask(tasks: list[tuple], workers: int, client, collect) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'paysim_lab[dask]'") from exc
    if client is not None:
        futures = [client.submit(run_task, task, pure=False) for task in tasks]
        for fut in as_completed(futures):
            collect(fut.result())
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as own:
        futures = [own.submit(run_task, task, pure=False) for task in tasks]
        for fut in as_completed(futures):
            collect(fut.result())


def _frame(paths: list[str], rows: list[dict], agent_ids: Sequence[str], with_run_id: bool):
    import pandas as pd
    cost_cols = [f"cost_{a}" for a in agent_ids]
    known = set(paths) | {"seed", "error", "run_id"} | set(SUMMARY_COLUMNS) | set(cost_cols)
    extra: list[str] = []
    for row in rows:
        for key in row:
            if key not in known:
                extra.append(key)
                known.add(key)
    columns = list(paths) + ["seed", *SUMMARY_COLUMNS, *cost_cols, *extra, "error"]
    if with_run_id:
        columns.append("run_id")
    data = {c: [row.get(c) for row in rows] for c in columns}
    frame = pd.DataFrame(data, columns=columns)
    for col in [*SUMMARY_COLUMNS, *cost_cols]:
        if col in FLOAT_COLUMNS:
            frame[col] = pd.array([math.nan if v is None else float(v) for v in data[col]],
                                  dtype="float64")
        else:
            frame[col] = pd.array(data[col], dtype="Int64")
    frame["seed"] = frame["seed"].astype("int64")
    # object dtype keeps None for "no error" (pandas would turn it into NaN in a str column)
    for col in ("error", "run_id") if with_run_id else ("error",):
        frame[col] = pd.Series(data[col], dtype=object, index=frame.index)
    return frame


def sweep(scenario, grid: Mapping[str, Sequence] | None = None,
          seeds: Iterable[int] | None = None, metrics: Metrics | None = None,
          backend: str | None = None, client=None, store=None, workers: int | None = None,
          progress: bool = False):
    """Run every combination of ``grid`` with every seed; one tidy DataFrame row per run.

    - ``scenario``: a loaded :class:`paysim_lab.Scenario`, a scenario file path or a dict.
    - ``grid``: dotted path -> list of values, over the scenario's dict form. Banks are
      addressed by id (``agents.BANK_A.unsecured_cap``); ``agents.<ID>.policy.parameters.<NAME>``
      sets a parameter of the bank's effective policy whatever form it was given in.
    - ``seeds``: the seeds to run each combination with (default: the scenario's rng_seed).
    - ``metrics``: optional ``callable(sim) -> dict``; its keys become extra columns.
    - ``backend``: ``"process"`` (a process pool of ``workers`` processes, default the number
      of cores; the default backend), ``"dask"`` (on ``client``, or on a LocalCluster of
      ``workers`` processes started for the sweep; the default when a ``client`` is given) or
      ``"serial"``. The frame does not depend on the backend or worker count.
    - ``store``: a :class:`paysim_lab.Store`; the runs are then persisted and a ``run_id``
      column added. A DuckDB file has a single writer, so with a store every run executes
      in this process, one after the other, whatever ``backend`` says.
    - ``progress``: show a tqdm progress bar over the runs.

    Columns: the grid paths, ``seed``, the summary counters (``arrivals``, ``settlements``,
    ``settlement_rate``, ``unsettled``, ``overdue``, ``total_cost``, LSM counts, ...), one
    ``cost_<AGENT>`` per bank (run-total cost in cents), the metrics' columns, ``error``
    (None, or the exception text of a run that failed; the other runs still complete) and
    ``run_id`` with a store. A grid path that cannot be applied raises ScenarioError naming
    it before anything runs; a value the scenario rejects fails only its own rows.

    >>> frame = sweep("data/scenarios/liquidity_game_2period.yaml",
    ...               grid={"agents.BANK_B.liquidity_allocation_fraction": [0.15, 0.2]},
    ...               backend="serial")                           # doctest: +SKIP
    >>> frame["cost_BANK_B"].tolist()                              # doctest: +SKIP
    [3500, 2000]
    """
    base = load_base(scenario)
    paths, combos = grid_points(grid)
    return run_points(base, paths, combos, seeds=seeds, metrics=metrics, backend=backend,
                      client=client, store=store, workers=workers, progress=progress)


def run_points(base, paths: Sequence[str], combos: Sequence[tuple], seeds=None,
               metrics: Metrics | None = None, backend: str | None = None, client=None,
               store=None, workers: int | None = None, progress: bool = False):
    """Run explicit combinations (one value per path each) with every seed; see :func:`sweep`.

    ``base`` is a loaded :class:`paysim_lab.Scenario`, a scenario file path or a dict (or
    the prepared form :func:`load_base` returns). The building block of ``sweep`` (which passes
    the grid's product) and of the equilibrium search (which passes the profiles it still
    needs).

    >>> frame = run_points(psl.load_scenario("data/scenarios/liquidity_game_2period.yaml"),
    ...                    ["agents.BANK_A.liquidity_allocation_fraction"], [(0.0,), (0.1,)],
    ...                    backend="serial")                           # doctest: +SKIP
    >>> len(frame)                                                      # doctest: +SKIP
    2
    """
    base = base if isinstance(base, Base) else load_base(base)
    paths = list(paths)
    for path in paths:
        split_path(path)
    assignments = []
    for combo in combos:
        combo = tuple(combo)
        if len(combo) != len(paths):
            raise ValueError(f"each combination needs one value per path ({len(paths)}), got "
                             f"{combo!r}")
        assignments.append(dict(zip(paths, combo)))
    seed_list = _seed_list(seeds, base.seed)
    results = run_assignments(base, assignments, seed_list, metrics=metrics, backend=backend,
                              client=client, store=store, workers=workers, progress=progress)
    rows = []
    for c, combo in enumerate(assignments):
        for s, seed in enumerate(seed_list):
            row = dict(combo)
            row["seed"] = seed
            row.update(results[c][s])
            rows.append(row)
    return _frame(paths, rows, base.agent_ids, with_run_id=store is not None)


def run_assignments(base: Base, assignments: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                    metrics: Metrics | None = None, backend: str | None = None, client=None,
                    store=None, workers: int | None = None, progress: bool = False
                    ) -> list[list[dict]]:
    """Run each assignment (path -> value) with every seed: ``result[assignment][seed]`` = the
    run's result columns (summary, ``cost_<AGENT>``, metrics, ``error``).

    Assignments may set different paths: what one does not set keeps the scenario's value.
    """
    backend = _resolve_backend(backend, client)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    seed_list = _seed_list(list(seeds), base.seed)
    n_seeds = len(seed_list)
    packed = _pack_metrics(metrics)
    n_workers = workers or os.cpu_count() or 1

    # Row index = combination index * n_seeds + seed index: grid x seed order.
    results: list[dict | None] = [None] * (len(assignments) * n_seeds)
    prepared = []
    new_warnings: dict[str, None] = {}
    for c, assignment in enumerate(assignments):
        sc, error, texts = prepare(base, dict(assignment))
        new_warnings.update((t, None) for t in texts if t not in base.warnings)
        if error is not None:
            results[c * n_seeds:(c + 1) * n_seeds] = [{"error": error}] * n_seeds
        else:
            prepared.append((c, sc))
    for text in new_warnings:
        warnings.warn(f"{base.source}, with grid values: {text}", ScenarioWarning, stacklevel=4)

    bar = _progress_bar(progress, len(results))
    try:
        if bar is not None:
            bar.update(len(results) - len(prepared) * n_seeds)
        if store is not None:
            # One DuckDB writer: persisted runs execute here, one after the other.
            for c, sc in prepared:
                for s, seed in enumerate(seed_list):
                    results[c * n_seeds + s] = run_one(sc, seed, metrics, store=store)
                    if bar is not None:
                        bar.update(1)
        else:
            runs = len(prepared) * n_seeds
            # A few tasks per worker balances the load without paying much for shipping.
            per_task = (n_seeds if backend == "serial"
                        else max(1, math.ceil(runs / (n_workers * 4))))
            tasks = []
            for c, sc in prepared:
                items = [(c * n_seeds + s, seed) for s, seed in enumerate(seed_list)]
                tasks += [(sc, part, packed) for part in _chunks(items, per_task)]
            for index, row in _execute(tasks, backend, n_workers, client, bar):
                results[index] = row
    finally:
        if bar is not None:
            bar.close()
    return [[results[c * n_seeds + s] or {} for s in range(n_seeds)]
            for c in range(len(assignments))]


def _resolve_backend(backend: str | None, client) -> str:
    if backend is None:
        return "dask" if client is not None else "process"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    if client is not None and backend != "dask":
        raise ValueError(f"client= is a Dask client, used only with backend='dask' "
                         f"(got backend={backend!r})")
    return backend


def _seed_list(seeds, default: int) -> list[int]:
    if seeds is None:
        return [default]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    out = list(seeds)
    for s in out:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    return out
