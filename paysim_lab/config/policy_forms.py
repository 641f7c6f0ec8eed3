"""One bank's policy given in any form a scenario accepts, as its effective document.

Used by ``Simulation.set_policy``: a policy block is resolved by loading a one-bank scenario
that carries it (with the original scenario's profile, policy folder and ``policies:`` map), so
a block means exactly what it means in a file.

>>> import paysim_lab as psl
>>> sc = psl.load_scenario({"simulation": {"ticks_per_day": 2, "num_days": 1, "rng_seed": 1},
...                         "agents": [{"id": "A", "opening_balance": 0}]})
>>> resolve_policy(sc, "A", {"type": "Deadline", "urgency_threshold": 3})["parameters"]["urgency_threshold"]
3.0
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..errors import PolicyWarning, ScenarioError, ScenarioWarning

#: Keys of an agent's ``policy_id`` form.
_POLICY_ID_KEYS = {"policy_id", "policy_params"}


def resolve_policy(scenario, agent_id: str, policy: Any) -> dict:
    """The effective policy document of ``policy`` for bank ``agent_id`` of ``scenario``.

    Raises ValueError (PolicyError / ScenarioError) naming the form and the problem.
    """
    from ..data import list_policies, policy_path
    from ..policy import Policy, load_policy
    profile = scenario.profile
    if isinstance(policy, Policy):
        return policy.document
    policies_map = scenario.policies or {}
    if isinstance(policy, (str, os.PathLike)):
        text = os.fspath(policy)
        if isinstance(policy, str) and policy in policies_map:
            return _via_scenario(scenario, agent_id, {"policy_id": policy}, policy)
        if isinstance(policy, str) and not Path(text).suffix and not Path(text).exists():
            if policy in list_policies():
                return load_policy(policy_path(policy), profile=profile).document
            names = sorted(set(list_policies()) | set(policies_map))
            raise ValueError(f"set_policy({agent_id!r}, {policy!r}): not a policy file, a "
                             f"bundled policy or a key of the scenario's policies map; known "
                             f"names: {', '.join(names)}")
        return load_policy(policy, profile=profile).document
    if isinstance(policy, dict):
        if "type" in policy:
            return _via_scenario(scenario, agent_id, {"policy": policy}, policy)
        if "policy_id" in policy and set(policy) <= _POLICY_ID_KEYS \
                and policy["policy_id"] in policies_map:
            return _via_scenario(scenario, agent_id, dict(policy), policy)
        return load_policy(policy, profile=profile).document
    raise TypeError(f"set_policy({agent_id!r}, ...): expected a Policy, a policy dict, a "
                    f"scenario policy block, a path or a bundled policy name, got "
                    f"{type(policy).__name__}")


def _via_scenario(scenario, agent_id: str, agent_keys: dict, given: Any) -> dict:
    """Load a one-bank scenario whose bank is written with ``agent_keys``."""
    from .loader import load_scenario
    doc = {"simulation": {"ticks_per_day": 1, "num_days": 1, "rng_seed": 0},
           "agents": [{"id": agent_id, "opening_balance": 0, **agent_keys}]}
    if scenario.policies:
        doc["policies"] = scenario.policies
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            one = load_scenario(doc, compat=scenario.profile, base_dir=scenario.base_dir,
                                allowed_policy_dirs=scenario._allowed_policy_dirs)
        except ScenarioError as exc:
            raise ScenarioError(f"set_policy({agent_id!r}, {given!r}): "
                                f"{str(exc).replace('<dict>: agents[0].', '')}",
                                exc.errors) from None
    for w in caught:
        # the policy's lints concern the user; warnings about the stand-in scenario do not
        if issubclass(w.category, PolicyWarning) or (
                issubclass(w.category, ScenarioWarning) and "agents[0]" in str(w.message)):
            warnings.warn(str(w.message).replace("<dict>: agents[0].", ""), w.category,
                          stacklevel=4)
    return one.agent_policies[agent_id]
