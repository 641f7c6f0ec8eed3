"""Export a run's frames to Parquet or CSV files plus a ``manifest.json``.

Works for a live :class:`~paysim_lab.Simulation` (``sim.export(folder)``) and for a stored run
(``store.export(run_id, folder)``). Event details are written as canonical JSON text so the
files load anywhere (pandas, DuckDB, R, a spreadsheet).

>>> path = export_simulation(sim, "out/run1", format="csv")     # doctest: +SKIP
>>> sorted(p.name for p in path.iterdir())                      # doctest: +SKIP
['costs.csv', 'events.csv', 'history.csv', 'manifest.json', 'state_registers.csv', 'transactions.csv']
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .records import canonical_json

FORMATS = ("parquet", "csv")


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {format!r}")
    return format


def _events_for_file(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["details"] = pd.array([canonical_json(d) for d in frame["details"]], dtype="object")
    return out


def _write_frames(folder: str | Path, format: str, frames: dict[str, pd.DataFrame],
                  manifest: dict) -> Path:
    _check_format(format)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in frames.items():
        path = folder / f"{name}.{format}"
        if format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, lineterminator="\n")
        files[name] = {"file": path.name, "rows": int(len(frame))}
    from . import __version__
    manifest = {**manifest, "format": format, "files": files, "paysim_version": __version__}
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8")
    return folder


def export_simulation(sim, folder: str | Path, format: str = "parquet") -> Path:
    """Write events, transactions, history, costs and state registers of ``sim`` to ``folder``.

    Returns the folder. ``format`` is ``"parquet"`` or ``"csv"``.
    """
    _check_format(format)
    frames = {
        "events": _events_for_file(sim.events),
        "transactions": sim.transactions(),
        "history": sim.history(),
        "costs": sim.costs(),
        "state_registers": sim.state_registers(),
    }
    manifest = {"scenario": sim.scenario.name, "seed": sim.seed, "run_id": sim.run_id,
                "ticks_run": sim.current_tick, "total_ticks": sim.total_ticks}
    return _write_frames(folder, format, frames, manifest)


def export_run(store, run_id: str, folder: str | Path, format: str = "parquet") -> Path:
    """The same files for a run stored in ``store`` (no engine needed)."""
    _check_format(format)
    row = store.run(run_id)
    frames = {
        "events": _events_for_file(store.events(run_id)),
        "transactions": store.transactions(run_id),
        "history": store.history(run_id),
        "costs": store.costs(run_id),
        "state_registers": store.state_registers(run_id),
    }
    manifest = {"scenario": row["scenario_name"], "seed": row["rng_seed"], "run_id": run_id,
                "ticks_run": row["ticks_run"], "total_ticks": row["total_ticks"],
                "status": row["status"]}
    return _write_frames(folder, format, frames, manifest)
