"""Notebook widgets: edit a policy, step through a run, or both side by side.

>>> import paysim_lab as psl                                   # doctest: +SKIP
>>> psl.widgets.Dashboard(psl.Simulation.from_file("data/scenarios/two_bank_teaching.yaml"))
...                                                             # doctest: +SKIP
"""
from __future__ import annotations

from .policy_editor import PolicyEditor
from .tree_view import tree_figure, tree_text

__all__ = ["PolicyEditor", "Stepper", "Dashboard", "tree_figure", "tree_text"]


def __getattr__(name):
    # Stepper and Dashboard pull in the simulation and report layers; load them on first use
    if name == "Stepper":
        from .stepper import Stepper
        return Stepper
    if name == "Dashboard":
        from .dashboard import Dashboard
        return Dashboard
    raise AttributeError(f"module 'paysim_lab.widgets' has no attribute {name!r}")
