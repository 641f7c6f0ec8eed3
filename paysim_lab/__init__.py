"""paysim_lab: simulate real-time gross settlement payment systems in Jupyter.

>>> import paysim_lab as psl
>>> sim = psl.Simulation.from_file(psl.data.scenario_path("two_bank_teaching"))  # doctest: +SKIP
>>> sim.run().shape  # doctest: +SKIP
"""
from __future__ import annotations

from .errors import (PolicyError, PolicyRuntimeError, PolicyWarning, ScenarioError,
                     ScenarioWarning, SimulationError, SimulationFinished, StoreError)

__version__ = "0.1.0"

__all__ = [
    "ScenarioError", "PolicyError", "PolicyRuntimeError", "PolicyWarning", "ScenarioWarning",
    "SimulationError", "SimulationFinished", "StoreError",
    "load_scenario", "load_policy", "Scenario", "Policy", "Simulation", "Store", "data",
    "plots", "widgets", "sweep", "evaluate", "experiments", "describe", "indicators",
    "indicator_plots", "stress",
]

# Heavy layers (pandas, duckdb, plotly, ipywidgets) load on first use, so `import paysim_lab`
# stays fast and the engine can be used without them.
_LAZY = {
    "load_scenario": ("paysim_lab.config", "load_scenario"),
    "Scenario": ("paysim_lab.config", "Scenario"),
    "load_policy": ("paysim_lab.policy", "load_policy"),
    "Policy": ("paysim_lab.policy", "Policy"),
    "describe": ("paysim_lab.policy.describe", "describe"),
    "Simulation": ("paysim_lab.simulation", "Simulation"),
    "Store": ("paysim_lab.store", "Store"),
    "sweep": ("paysim_lab.experiments", "sweep"),
    "evaluate": ("paysim_lab.experiments", "evaluate"),
    "data": ("paysim_lab.data", None),
    "plots": ("paysim_lab.plots", None),
    "widgets": ("paysim_lab.widgets", None),
    "experiments": ("paysim_lab.experiments", None),
    "indicators": ("paysim_lab.indicators", None),
    "indicator_plots": ("paysim_lab.indicator_plots", None),
    "stress": ("paysim_lab.stress", None),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        mod_name, attr = _LAZY[name]
        mod = importlib.import_module(mod_name)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'paysim_lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion and dir() list the lazily loaded names too.
    return sorted(set(globals()) | set(__all__))
