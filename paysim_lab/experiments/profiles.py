"""Policy profiles: what every bank plays, as scenario assignments (dotted path -> value).

A profile is written in one of two forms (mixing them is allowed):

- by bank: ``{"BANK_A": 0.1, "BANK_B": {"liquidity_allocation_fraction": 0.2,
  "policy.urgency_threshold": 3}}``. A number sets the default parameter
  (``liquidity_allocation_fraction``); a dict sets several parameters of that bank, each an
  agent-level key (``unsecured_cap``, ``arrival_config.rate_per_tick``) or ``policy.NAME`` for
  a parameter of the bank's policy;
- by path: ``{"agents.BANK_A.liquidity_allocation_fraction": 0.1,
  "cost_rates.delay_cost_per_tick_per_cent": 0.3}`` (any grid path, see params.py).

>>> profile_assignments({"BANK_A": 0.1, "BANK_B": {"policy.urgency_threshold": 3}},
...                     ["BANK_A", "BANK_B"])
{'agents.BANK_A.liquidity_allocation_fraction': 0.1, 'agents.BANK_B.policy.parameters.urgency_threshold': 3}
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .params import agent_parameter_path

DEFAULT_PARAMETER = "liquidity_allocation_fraction"


def profile_assignments(profile: Mapping[str, Any] | None, agent_ids: Sequence[str],
                        parameter: str = DEFAULT_PARAMETER) -> dict[str, Any]:
    """The grid assignments (path -> value) of ``profile``; see the module docstring."""
    if profile is None:
        return {}
    if not isinstance(profile, Mapping):
        raise TypeError(f"a profile must be a dict (bank id -> strategy, or path -> value), "
                        f"got {type(profile).__name__}")
    out: dict[str, Any] = {}
    for key, value in profile.items():
        if not isinstance(key, str):
            raise TypeError(f"profile keys must be bank ids or paths, got {key!r}")
        if key in agent_ids:
            out.update(strategy_assignments(key, value, parameter))
        elif "." in key:
            out[key] = value
        else:
            raise ValueError(f"profile key {key!r} is neither a bank ({', '.join(agent_ids)}) "
                             "nor a dotted path")
    return out


def strategy_assignments(agent: str, strategy: Any,
                         parameter: str = DEFAULT_PARAMETER) -> dict[str, Any]:
    """Assignments for one bank's strategy: a value of ``parameter`` or a dict param -> value.

    >>> strategy_assignments("A", {"unsecured_cap": 0, "policy.release_tick": 1})
    {'agents.A.unsecured_cap': 0, 'agents.A.policy.parameters.release_tick': 1}
    """
    if isinstance(strategy, Mapping):
        if not strategy:
            raise ValueError(f"the strategy of {agent} is an empty dict")
        return {agent_parameter_path(agent, str(p)): v for p, v in strategy.items()}
    return {agent_parameter_path(agent, parameter): strategy}


def profile_label(profile: Mapping[str, Any] | None) -> str:
    """A short text naming the profile: ``BANK_A=0.1, BANK_B=0.2``.

    >>> profile_label({"BANK_A": {"x": 1, "policy.y": 2}, "BANK_B": 0.2})
    'BANK_A=(x=1, policy.y=2), BANK_B=0.2'
    """
    if not profile:
        return "scenario"
    parts = []
    for key, value in profile.items():
        if isinstance(value, Mapping):
            inner = ", ".join(f"{p}={_fmt(v)}" for p, v in value.items())
            parts.append(f"{key}=({inner})")
        else:
            parts.append(f"{key}={_fmt(value)}")
    return ", ".join(parts)


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
