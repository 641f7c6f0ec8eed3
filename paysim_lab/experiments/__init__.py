"""Experiments: parameter and seed sweeps, best responses and equilibrium search.

>>> import paysim_lab as psl
>>> frame = psl.sweep(psl.data.scenario_path("two_bank_teaching"),
...                   grid={"cost_rates.delay_cost_per_tick_per_cent": [0.0001, 0.0002]},
...                   seeds=[1, 2, 3])                                  # doctest: +SKIP
>>> psl.experiments.find_equilibrium(psl.data.scenario_path("liquidity_game_2period"),
...     agents=["BANK_A", "BANK_B"], grid=[0.05 * k for k in range(5)])  # doctest: +SKIP
"""
from __future__ import annotations

from . import stats
from .equilibrium import BestResponse, EquilibriumResult, best_response, find_equilibrium
from .params import agent_parameter_path, apply_assignments, set_path
from .game import Game
from .evaluate import Evaluation, compare, evaluate
from .profiles import profile_assignments
from .simcash_files import Experiment, ExperimentResult, load
from .sweeps import SUMMARY_COLUMNS, run_points, sweep

__all__ = ["sweep", "best_response", "find_equilibrium", "BestResponse", "EquilibriumResult",
           "apply_assignments", "set_path", "agent_parameter_path", "run_points",
           "SUMMARY_COLUMNS", "evaluate", "compare", "Evaluation", "profile_assignments",
           "stats", "Game", "load", "Experiment", "ExperimentResult"]
