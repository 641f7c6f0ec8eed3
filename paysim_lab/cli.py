"""The ``paysim`` command: run, replay, runs, validate, db, experiment (docs/cli.md).

Exit codes: 0 success; 1 invalid input or a failure during the run (``error: <message>`` on
stderr, no traceback; a persisted run is stored as failed); 2 usage error.

Everything on stdout is a pure function of the run (the summary, or the verbose log);
timings, progress bars and notes go to stderr, so ``paysim replay --verbose`` can reproduce
``paysim run --verbose`` byte for byte.
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

import click

from . import __version__
from .errors import (PolicyError, PolicyWarning, ScenarioError, ScenarioWarning, SimulationError,
                     StoreError)

USER_ERRORS = (ScenarioError, PolicyError, SimulationError, StoreError, OSError, ValueError)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _fail(exc_or_msg) -> None:
    msg = exc_or_msg if isinstance(exc_or_msg, str) else _one_line(exc_or_msg)
    click.echo(f"error: {msg}", err=True)
    sys.exit(1)


def _quiet_broken_pipe() -> None:
    """stdout was closed early (``paysim run ... | head``): stop without a traceback."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not a real file
        pass
    sys.exit(1)


def _stdout():
    """stdout, switched to UTF-8 when possible (the log uses emoji and box-drawing rules)."""
    out = sys.stdout
    enc = (getattr(out, "encoding", None) or "").lower().replace("-", "")
    if enc != "utf8" and hasattr(out, "reconfigure"):
        try:
            out.reconfigure(encoding="utf-8")
        except (ValueError, OSError):  # pragma: no cover - exotic streams
            pass
    return out


def _note(msg: str) -> None:
    click.echo(msg, err=True)


def _show_warnings(caught) -> None:
    """Scenario and policy lints as ``warning: ...`` lines on stderr (each message once)."""
    seen = set()
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            seen.add(msg)
            _note(f"warning: {msg}")


# ---------------------------------------------------------------------------- shared options
def _filter_options(fn):
    fn = click.option("--filter-tick-range", metavar="A-B",
                      help="Show only ticks A..B (inclusive; also A- and -B).")(fn)
    fn = click.option("--filter-tx", metavar="ID",
                      help="Show only events of this transaction id.")(fn)
    fn = click.option("--filter-agent", metavar="AGENT",
                      help="Show only events and state concerning this bank.")(fn)
    fn = click.option("--filter-event-type", metavar="T1,T2",
                      help="Show only these event types (comma-separated catalog names).")(fn)
    return fn


def _build_filters(verbose: bool, event_type, agent, tx, tick_range):
    from .engine.events import FIELDS
    from .report import Filters
    given = [n for n, v in (("--filter-event-type", event_type), ("--filter-agent", agent),
                            ("--filter-tx", tx), ("--filter-tick-range", tick_range)) if v]
    if given and not verbose:
        raise click.UsageError(f"{', '.join(given)} only filter the --verbose log; "
                               f"add --verbose")
    if event_type:
        names = [p.strip() for p in event_type.split(",") if p.strip()]
        unknown = [n for n in names if n not in FIELDS]
        if unknown or not names:
            raise click.BadParameter(f"unknown event type(s) {', '.join(unknown) or '(none)'}; "
                                     f"known: {', '.join(sorted(FIELDS))}",
                                     param_hint="--filter-event-type")
    try:
        return Filters.parse(event_type, agent, tx, tick_range)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--filter-tick-range") from None


def _policy_dir_option(fn):
    return click.option(
        "--allow-policy-dir", "allow_policy_dir", multiple=True, metavar="DIR",
        type=click.Path(file_okay=False),
        help="Also read policy files (json_path) and payments tables from DIR; repeatable. "
             "By default only the scenario's folder tree and the bundled data are read.")(fn)


def _resolve_scenario(path: str) -> str:
    p = Path(path)
    if p.exists():
        return path
    from . import data
    try:
        return str(data.scenario_path(path))
    except FileNotFoundError:
        return path   # let the loader report the missing file


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paysim")
def main() -> None:
    """paysim_lab: simulate RTGS payment systems, persist, replay and validate."""


# ---------------------------------------------------------------------------- run
def summary_text(summary: dict) -> str:
    """``paysim run``'s default output: the run's summary for a person, headline first,
    money in dollars (``--json`` prints the dict itself, in cents).

    >>> print(summary_text({"scenario": "demo", "seed": 1, "ticks_run": 4, "total_ticks": 4,
    ...     "arrivals": 3, "settlements": 2, "settlement_rate": 2 / 3, "unsettled": 1,
    ...     "overdue": 1, "dropped": 0, "lsm_bilateral": 0, "lsm_cycles": 0,
    ...     "lsm_queue_retry": 0, "queue1_size": 0, "queue2_size": 1, "total_cost": 1250,
    ...     "agents": {"A": {"balance": 500, "total_cost": 1250, "costs": {"delay": 1250}},
    ...                "B": {"balance": 0, "total_cost": 0, "costs": {"delay": 0}}}}), end="")
    demo (seed 1): 2 of 3 payments settled (66.7%), 1 unsettled, 1 overdue; total cost $12.50
    ticks 4 of 4 · LSM settled 0 payments bilaterally, 0 in cycles · queued: 0 Queue 1, 1 Queue 2
    <BLANKLINE>
    bank  total cost   delay  balance at end
    A         $12.50  $12.50           $5.00
    B          $0.00   $0.00           $0.00
    """
    from .report import money
    s = summary
    head = (f"{s['scenario']} (seed {s['seed']}): {s['settlements']:,} of {s['arrivals']:,} "
            f"payments settled ({100 * s['settlement_rate']:.1f}%), {s['unsettled']:,} "
            f"unsettled, {s['overdue']:,} overdue")
    if s.get("dropped"):
        head += f", {s['dropped']:,} dropped"
    head += f"; total cost {money(s['total_cost'])}"
    second = (f"ticks {s['ticks_run']:,} of {s['total_ticks']:,} · LSM settled "
              f"{s['lsm_bilateral']:,} payments bilaterally, {s['lsm_cycles']:,} in cycles · "
              f"queued: {s['queue1_size']:,} Queue 1, {s['queue2_size']:,} Queue 2")
    agents = s["agents"]
    # cost kinds that cost anyone anything, in the order of the summary
    kinds = [k for k in next(iter(agents.values()))["costs"]
             if any(a["costs"].get(k) for a in agents.values())] if agents else []
    if agents and not kinds:
        kinds = list(next(iter(agents.values()))["costs"])[:1]
    heads = ["bank", "total cost", *(k.replace("_", " ") for k in kinds), "balance at end"]
    rows = [[aid, money(a["total_cost"]), *(money(a["costs"][k]) for k in kinds),
             money(a["balance"])] for aid, a in agents.items()]
    widths = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(len(heads))]
    table = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in [heads, *rows]]
    return "\n".join([head, second, "", *table]) + "\n"


@main.command()
@click.argument("scenario", metavar="SCENARIO")
@click.option("--ticks", type=click.IntRange(min=1), metavar="N",
              help="Run only the first N ticks (the day structure is kept).")
@click.option("--seed", type=click.IntRange(min=0, max=2**64 - 1), metavar="S",
              help="Override simulation.rng_seed.")
@click.option("--compat", type=click.Choice(["extended", "simcash"]),
              help="Compatibility profile (default: the file's, else extended).")
@click.option("--verbose", is_flag=True, help="Print the per-tick log on stdout.")
@click.option("--persist", "persist", metavar="DB", help="Store the run in this DuckDB file.")
@click.option("--run-id", metavar="ID", help="Run id in the store (default: sim-<8 hex>).")
@click.option("--events-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write every event as one JSON object per line.")
@click.option("--summary-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write the JSON summary to FILE.")
@click.option("--quiet", is_flag=True, help="Print nothing on stdout (nor notes on stderr).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON (sim.summary(), amounts in cents).")
@_filter_options
@click.option("--flush-every", type=click.IntRange(min=1), metavar="N",
              help="With --persist, also flush to the store every N ticks.")
@click.option("--store", "store_parts", metavar="PARTS",
              help="With --persist, what to store: a comma list of events, states (per-tick "
                   "bank states) and queues (per-tick queue snapshots); default all three.")
@click.option("--progress", is_flag=True, help="Progress bar on stderr.")
@_policy_dir_option
def run(scenario, ticks, seed, compat, verbose, persist, run_id, events_out, summary_out,
        quiet, as_json, filter_event_type, filter_agent, filter_tx, filter_tick_range,
        flush_every, store_parts, progress, allow_policy_dir):
    """Run SCENARIO (a scenario file, or the name of a bundled scenario)."""
    filters = _build_filters(verbose, filter_event_type, filter_agent, filter_tx,
                             filter_tick_range)
    if (run_id or flush_every or store_parts) and not persist:
        raise click.UsageError("--run-id, --flush-every and --store need --persist DB")
    if store_parts is not None:
        from .errors import StoreError
        from .store.run_options import parse_keep
        try:
            store_parts = parse_keep(store_parts)
        except StoreError as exc:
            raise click.BadParameter(str(exc), param_hint="--store") from None
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet exclude each other")
    if as_json and (verbose or quiet):
        raise click.UsageError("--json prints the summary; it excludes --verbose and --quiet")
    from .config import load_scenario
    from .records import TickRecord
    from .report import RunInfo, VerboseLog
    from .simulation import Simulation

    from .interrupts import Interrupted, install_termination_handlers
    install_termination_handlers()
    with ExitStack() as stack:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sc = load_scenario(_resolve_scenario(scenario), compat=compat,
                                   allowed_policy_dirs=list(allow_policy_dir) or None)
                store = None
                if persist:   # duckdb loads only for runs that are stored
                    from .store import Store
                    store = stack.enter_context(Store(persist, keep=store_parts))
                sim = Simulation(sc, seed=seed, store=store, run_id=run_id,
                                 flush_every=flush_every)
            if not quiet:
                _show_warnings(caught)
            out = _stdout()
            if verbose:
                log = VerboseLog(RunInfo.from_sim(sim), filters)

                def show(rec: TickRecord) -> None:
                    text = log.text(rec)
                    if text:
                        out.write(text)
                sim.add_listener(show)
            if events_out:
                from .event_json import jsonl_line, jsonl_lines
                fh = stack.enter_context(open(events_out, "w", encoding="utf-8", newline="\n"))

                def dump(rec: TickRecord) -> None:
                    if rec.seq_range is not None:      # from the columnar log, no dicts
                        lines = jsonl_lines(sim.event_log, *rec.seq_range)
                    else:
                        lines = [jsonl_line(ev) for ev in rec.events]
                    fh.write("".join(line + "\n" for line in lines))
                sim.add_listener(dump)
            n = sim.total_ticks if ticks is None else min(ticks, sim.total_ticks)
            started = time.perf_counter()
            sim.advance(ticks=n, progress=progress)
            wall = time.perf_counter() - started
            if store is not None and not sim.done:
                store.finish_run(sim)
            summary = sim.summary()
            text = json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            if summary_out:
                Path(summary_out).write_text(text, encoding="utf-8")
            if not verbose and not quiet:
                out.write(text if as_json else summary_text(summary))
            out.flush()
            if not quiet:
                rate = f" ({n / wall:,.0f} ticks/s)" if wall > 0 else ""
                where = f"; stored as {sim.run_id} in {persist}" if store is not None else ""
                _note(f"paysim: {sc.name}: {n} ticks in {wall:.2f}s{rate}{where}")
        except BrokenPipeError:
            _quiet_broken_pipe()
        except USER_ERRORS as exc:
            sys.stdout.flush()
            _fail(exc)
        except KeyboardInterrupt as exc:
            # Ctrl-C, SIGTERM or SIGHUP: the run stopped between ticks, flushed and failed
            what = str(exc) if isinstance(exc, Interrupted) else "interrupted"
            if persist and "sim" in locals():
                # (a signal during the last flush is acted on once the run is complete)
                state = "completed" if sim.done and sim._failed is None else "failed"
                what += f"; run {sim.run_id} stored as {state} in {persist}"
            _fail(what)


# ---------------------------------------------------------------------------- replay
@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.option("--run-id", metavar="ID", help="Run to replay (default: the latest).")
@click.option("--verbose", is_flag=True, help="Print the per-tick log (as the live run did).")
@click.option("--from-tick", type=int, metavar="A", help="First tick (inclusive).")
@click.option("--to-tick", type=int, metavar="B", help="Last tick (inclusive).")
@_filter_options
@click.option("--events-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write the stored events of the tick range as JSON lines.")
@click.option("--verify", is_flag=True,
              help="Re-run the stored config and seed and compare the event streams.")
def replay(db, run_id, verbose, from_tick, to_tick, filter_event_type, filter_agent, filter_tx,
           filter_tick_range, events_out, verify):
    """Replay a stored run from DB without re-running the engine."""
    filters = _build_filters(verbose, filter_event_type, filter_agent, filter_tx,
                             filter_tick_range)
    try:
        with _read_store(db) as store:
            if run_id is None:
                run_id = store.latest_run_id()
                row = store.run(run_id)
                _note(f"paysim: replaying {run_id} ({row['scenario_name']}, "
                      f"{row['ticks_run']} ticks, {row['status']})")
            else:
                store.run(run_id)
            try:
                lo, hi = store.tick_range(run_id, from_tick, to_tick)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
            out = _stdout()
            try:
                for text in store.iter_replay(run_id, verbose=verbose, from_tick=lo,
                                              to_tick=hi, filters=filters):
                    out.write(text)
                out.flush()
            except BrokenPipeError:
                _quiet_broken_pipe()
            if events_out:
                with open(events_out, "w", encoding="utf-8", newline="\n") as fh:
                    for line in store.events_jsonl(run_id, lo, hi):
                        fh.write(line)
            if verify:
                res = store.verify(run_id)
                if not res.ok:
                    _fail(f"run {run_id} does not replay deterministically: {res.mismatch}")
                _note(f"paysim: verified {run_id}: {res.events} events over {res.ticks} ticks "
                      f"match a fresh run")
    except USER_ERRORS as exc:
        _fail(exc)


# ---------------------------------------------------------------------------- reading stores
def _read_store(path):
    """A store opened read-only: read commands never create, write or migrate a file."""
    from .store import Store
    return Store(path, read_only=True)


# ---------------------------------------------------------------------------- runs
@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
def runs(db):
    """List the runs stored in DB."""
    try:
        with _read_store(db) as store:
            frame = store.runs()
    except USER_ERRORS as exc:
        _fail(exc)
    rows = [("run_id", "scenario", "seed", "ticks", "status", "started_at", "error")]
    for r in frame.itertuples(index=False):
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at is not None \
            and str(r.started_at) != "NaT" else ""
        rows.append((r.run_id, r.scenario_name or "", str(r.seed),
                     f"{r.ticks_run}/{r.total_ticks}", r.status, started,
                     r.error if isinstance(r.error, str) else ""))
    click.echo(_table(rows), nl=False)


def _table(rows: list[tuple]) -> str:
    from .report import printable       # stored text (errors, names) may hold control chars
    rows = [tuple(printable(str(c)) for c in r) for r in rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [str(c).ljust(w) for c, w in zip(r, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- validate
def _kind_of(path: Path) -> str:
    """``scenario`` or ``policy``, decided by content: a mapping with ``agents`` is a scenario.

    Read with the loaders' own guarded reader (size, depth and alias limits, the fast JSON
    parser for .json), so deciding costs no more than loading; a file that cannot be read is
    judged by its text and suffix, and the loader then reports why it cannot be read.
    """
    import re

    from .config import reading
    suffix = path.suffix.lower()
    try:
        doc = reading.read_source(path).data
    except (reading.SourceError, OSError, ValueError, RecursionError, MemoryError):
        try:
            with open(path, "rb") as fh:
                head = fh.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            head = ""
        if re.search(r"""(^|[{,\s])["']?agents["']?\s*:""", head):
            return "scenario"
        return "policy" if suffix == ".json" else "scenario"
    if isinstance(doc, dict):
        # Experiment files and misspelt scenarios go to the scenario loader, which says what
        # they are; only a document with policy keys is read as a policy.
        from .config.loader import POLICY_KEYS
        return "policy" if any(k in doc for k in POLICY_KEYS) and "agents" not in doc \
            else "scenario"
    return "scenario" if suffix in (".yaml", ".yml") else "policy"


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--compat", type=click.Choice(["extended", "simcash"]),
              help="Profile to validate with (default: the file's, else extended).")
@_policy_dir_option
def validate(files, compat, allow_policy_dir):
    """Validate scenario and policy FILES; print errors and lint warnings."""
    from .config import load_scenario
    from .policy import load_policy
    bad = 0
    for name in files:
        path = Path(name)
        if not path.is_file():
            click.echo(f"INVALID {name}")
            click.echo("  error: file not found")
            bad += 1
            continue
        kind = _kind_of(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if kind == "scenario":
                    load_scenario(path, compat=compat,
                                  allowed_policy_dirs=list(allow_policy_dir) or None)
                else:
                    load_policy(path, profile=compat or "extended")
                error = None
            except (ScenarioError, PolicyError, OSError, ValueError) as exc:
                error = exc
            except (RecursionError, MemoryError) as exc:   # same refusal as `paysim run`
                error = ScenarioError(f"{name}: too large or too deeply nested to load "
                                      f"({type(exc).__name__})")
        lints = [str(w.message) for w in caught
                 if issubclass(w.category, (PolicyWarning, ScenarioWarning))]
        if error is None:
            click.echo(f"OK {name} ({kind})")
        else:
            bad += 1
            click.echo(f"INVALID {name} ({kind})")
            for line in str(error).strip().splitlines():
                if line.strip():
                    click.echo(f"  error: {line.strip()}")
        seen = set()
        for msg in lints:
            if msg not in seen:
                seen.add(msg)
                click.echo(f"  warning: {msg}")
    sys.exit(1 if bad else 0)


# ---------------------------------------------------------------------------- db
@main.command()
@click.argument("kind", type=click.Choice(["scenario", "policy"]))
def schema(kind):
    """Print the JSON Schema of scenario or policy files (for editors and validators)."""
    if kind == "scenario":
        from .config.schema import scenario_json_schema as build
    else:
        from .policy.schema import policy_json_schema as build
    click.echo(json.dumps(build(), indent=2, sort_keys=True))


@main.group()
def db():
    """Inspect and maintain a store."""


@db.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def db_info(path):
    """Schema version, tables and row counts per run."""
    try:
        with _read_store(path) as store:
            info = store.info()
    except USER_ERRORS as exc:
        _fail(exc)
    click.echo(f"store: {info['path']}")
    click.echo(f"schema version: {info['schema_version']}")
    click.echo("tables:")
    for t, n in info["tables"].items():
        click.echo(f"  {t}: {n}")
    click.echo(f"runs: {len(info['runs'])}")
    for rid, counts in info["runs"].items():
        parts = ", ".join(f"{t} {n}" for t, n in counts.items())
        click.echo(f"  {rid}: {parts}")


@db.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def db_check(path):
    """Check the schema and each run's stored ticks; exit 1 on problems."""
    try:
        with _read_store(path) as store:
            problems = store.check()
    except USER_ERRORS as exc:
        _fail(exc)
    if problems:
        for p in problems:
            click.echo(f"problem: {p}")
        sys.exit(1)
    click.echo(f"OK {path}")


@db.command("migrate")
@click.argument("path", type=click.Path(dir_okay=False))
def db_migrate(path):
    """Create or migrate the store's schema to the current version."""
    from .store import Store
    from .store.schema import SCHEMA_VERSION
    try:
        with Store(path) as store:
            applied = store.migrate()
            created = store.created
    except USER_ERRORS as exc:
        _fail(exc)
    if created:
        click.echo(f"created {path} at schema version {SCHEMA_VERSION}")
    elif applied:
        click.echo(f"migrated {path} to schema version {SCHEMA_VERSION} "
                   f"(applied {', '.join(map(str, applied))})")
    else:
        click.echo(f"{path} is up to date (schema version {SCHEMA_VERSION})")


# ---------------------------------------------------------------------------- experiment
@main.command("experiment")
@click.argument("file", metavar="FILE.yaml", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (equilibrium, costs in cents, intervals).")
@click.option("--step", type=click.FloatRange(min=0.001, max=1.0), default=0.05,
              show_default=True, help="Grid step of each parameter (fractions).")
@click.option("--timing/--no-timing", default=None,
              help="Add the release tick as a second strategy dimension (default: when the "
                   "file's description mentions timing).")
@click.option("--samples", type=click.IntRange(min=1), metavar="N",
              help="Bootstrap samples / Monte Carlo seeds (default: the file's num_samples).")
@click.option("--iterations", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="K", help="Bootstrap: pool the context runs of the first K iterations.")
@click.option("--resamples", type=click.IntRange(min=0), default=200, show_default=True,
              metavar="N", help="Resamples for the interval on the equilibrium (0: none).")
@click.option("--all/--no-all", "enumerate_all", default=None,
              help="Also list every pure equilibrium and the planner's profile (default: for "
                   "deterministic modes).")
@click.option("--backend", type=click.Choice(["serial", "process"]), default="serial",
              show_default=True, help="Where the runs execute.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N", help="Pool size.")
def experiment(file, as_json, step, timing, samples, iterations, resamples, enumerate_all,
               backend, workers):
    """Solve a SimCash experiment FILE by iterated best response (docs/experiments.md)."""
    from .experiments.simcash_files import load
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
            exp = load(file)
            result = exp.solve(step=step, timing=timing, samples=samples,
                               iterations=tuple(range(iterations)), n_resamples=resamples,
                               enumerate_all=enumerate_all, backend=backend, workers=workers)
    except USER_ERRORS as exc:
        _fail(exc)
    out = _stdout()
    if as_json:
        out.write(json.dumps(result.to_json(), sort_keys=False) + "\n")
    else:
        out.write(result.text() + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
