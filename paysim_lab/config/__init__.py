"""Scenario files: pydantic models of the format and ``load_scenario``.

>>> from paysim_lab.config import load_scenario, Scenario   # doctest: +SKIP
"""
from __future__ import annotations

from ..errors import ScenarioError, ScenarioWarning
from .engine_config import EngineAgent, EngineConfig
from .loader import load_scenario
from .models import (AgentConfig, ArrivalBand, ArrivalBands, ArrivalConfig, CostRates,
                     LsmConfig, Penalty, PriorityEscalation, Scenario, SimulationConfig)
from .policies import PolicyPathResolver
from .reading import LoadLimits

__all__ = [
    "load_scenario", "Scenario", "ScenarioError", "ScenarioWarning", "EngineConfig",
    "EngineAgent", "SimulationConfig", "AgentConfig", "ArrivalConfig", "ArrivalBand",
    "ArrivalBands", "CostRates", "Penalty", "LsmConfig", "PriorityEscalation",
    "PolicyPathResolver", "LoadLimits",
]
