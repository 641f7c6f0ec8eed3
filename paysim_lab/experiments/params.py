"""Setting values in a scenario's dict form by dotted path (the keys of a sweep grid).

A path walks the scenario as written (``scenario.model_dump()``): mapping keys, list indices,
and ``agents.<ID>`` to address a bank by its id. ``agents.<ID>.policy.parameters.<NAME>``
sets a parameter of the bank's effective policy, however the policy was given:

- a built-in type (``{type: Deadline, urgency_threshold: 3}``): its own key when NAME is one
  (``urgency_threshold``), else the bank gets an ``Inline`` copy of the built-in's tree with the
  new value;
- ``policy_id`` (the inline ``policies:`` map): the bank's ``policy_params``;
- ``Inline`` / ``InlineJson``: the embedded document's ``parameters``;
- ``FromJson``: the bank gets an ``Inline`` copy of the file's document with the new value.

>>> doc = {"agents": [{"id": "A", "opening_balance": 0}], "cost_rates": {}}
>>> set_path(doc, "agents.A.unsecured_cap", 5000)
>>> set_path(doc, "cost_rates.delay_cost_per_tick_per_cent", 0.2)
>>> doc["agents"][0]["unsecured_cap"], doc["cost_rates"]
(5000, {'delay_cost_per_tick_per_cent': 0.2})
"""
from __future__ import annotations

import copy
import json
from typing import Any, Mapping

from ..errors import ScenarioError

#: Policy parameters the engine itself reads, valid for every policy (engine.md 10).
ENGINE_POLICY_PARAMETERS = ("initial_liquidity_fraction", "initial_collateral_fraction")


def path_error(path: str, problem: str) -> ScenarioError:
    """The error for a grid path that cannot be applied: names the path first."""
    message = f"grid path {path!r}: {problem}"
    return ScenarioError(message, [{"path": path, "message": problem}])


def split_path(path: str) -> list[str]:
    """``"agents.BANK_A.unsecured_cap"`` -> ``["agents", "BANK_A", "unsecured_cap"]``."""
    if not isinstance(path, str):
        raise path_error(str(path), f"a grid path must be a string, got {type(path).__name__}")
    parts = path.split(".")
    if not path or any(not p.strip() for p in parts):
        raise path_error(path, "empty segment (write keys separated by single dots, e.g. "
                               "cost_rates.delay_cost_per_tick_per_cent)")
    return parts


def _agent_ids(doc: Mapping) -> list[str]:
    agents = doc.get("agents")
    if not isinstance(agents, list):
        return []
    return [a.get("id") for a in agents if isinstance(a, dict)]


def agent_index(doc: Mapping, agent_id: str, path: str) -> int:
    """Index of the bank ``agent_id`` in ``doc["agents"]`` (a numeric segment may be an index)."""
    ids = _agent_ids(doc)
    for i, aid in enumerate(ids):
        if aid == agent_id:
            return i
    if agent_id.isdigit() and int(agent_id) < len(ids):
        return int(agent_id)
    listing = ", ".join(str(a) for a in ids) or "none"
    raise path_error(path, f"no agent with id {agent_id!r}; agents are: {listing}")


def written_segments(doc: Mapping, path: str) -> list:
    """The path as key/index segments of the written file (``agents[1].unsecured_cap``)."""
    parts = split_path(path)
    if parts[0] == "agents" and len(parts) > 1:
        return ["agents", agent_index(doc, parts[1], path)] + parts[2:]
    return [int(p) if p.isdigit() else p for p in parts]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _walk_set(node: Any, segs: list, value: Any, path: str) -> None:
    done: list = []
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        where = ".".join(str(s) for s in done) or "the scenario"
        if isinstance(node, list):
            if not isinstance(seg, int) and not (isinstance(seg, str) and seg.isdigit()):
                raise path_error(path, f"{where} is a list; address its items by index "
                                       f"(0..{len(node) - 1}), got {seg!r}")
            k = int(seg)
            if k >= len(node):
                raise path_error(path, f"{where} has {len(node)} item(s); index {k} is out of "
                                       "range")
            if last:
                node[k] = value
                return
            node = node[k]
        elif isinstance(node, dict):
            key = str(seg)
            if last:
                node[key] = value
                return
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            node = child
        else:
            raise path_error(path, f"{where} is {_describe(node)}, not a mapping or list")
        done.append(seg)


def set_path(doc: dict, path: str, value: Any,
             policies: Mapping[str, dict] | None = None) -> None:
    """Set ``value`` at the dotted ``path`` of the scenario dict ``doc`` (in place).

    ``policies`` (agent id -> effective policy document, ``scenario.agent_policies``) is
    needed only for ``agents.<ID>.policy.parameters.<NAME>`` paths. Raises ScenarioError
    naming the path when it cannot be applied. Unknown keys are not detected here (the sweep
    reports them after loading).
    """
    parts = split_path(path)
    if parts[0] == "agents" and len(parts) > 1:
        idx = agent_index(doc, parts[1], path)
        rest = parts[2:]
        agent = doc["agents"][idx]
        if not rest:
            raise path_error(path, "names a whole agent; add the key to set, e.g. "
                                   f"agents.{parts[1]}.unsecured_cap")
        if len(rest) == 3 and rest[0] == "policy" and rest[1] == "parameters":
            aid = agent.get("id", parts[1])
            effective = (policies or {}).get(aid)
            if effective is None:
                raise path_error(path, f"the effective policy of {aid} is unknown (pass "
                                       "the loaded scenario's agent_policies)")
            set_policy_parameter(agent, rest[2], value, effective, path)
            return
        _walk_set(agent, rest, value, path)
        return
    _walk_set(doc, [int(p) if p.isdigit() else p for p in parts], value, path)


def policy_parameter_names(agent: Mapping, effective: Mapping) -> list[str]:
    """Parameters a grid may set on this bank's policy, sorted."""
    from ..policy import BUILTIN_PARAMETERS
    names = set((effective.get("parameters") or {}).keys())
    names.update(ENGINE_POLICY_PARAMETERS)
    block = agent.get("policy")
    if isinstance(block, dict) and block.get("type") in BUILTIN_PARAMETERS:
        names.update(BUILTIN_PARAMETERS[block["type"]])
    return sorted(names)


def set_policy_parameter(agent: dict, name: str, value: Any, effective: Mapping,
                         path: str) -> None:
    """Give ``agent`` (a dict from the scenario's agents list) policy parameter ``name``."""
    from ..policy import BUILTIN_PARAMETERS
    known = policy_parameter_names(agent, effective)
    if name not in known:
        raise path_error(path, f"the policy of {agent.get('id')} has no parameter {name!r}; "
                               f"its parameters: {', '.join(known)}")
    if agent.get("policy_id") is not None:
        params = agent.get("policy_params") or {}
        params[name] = value
        agent["policy_params"] = params
        return
    block = agent.get("policy")
    kind = block.get("type") if isinstance(block, dict) else "Fifo"
    if kind in BUILTIN_PARAMETERS and name in BUILTIN_PARAMETERS[kind]:
        block[name] = value
        return
    if kind == "Inline":
        trees = block.get("decision_trees")
        if isinstance(trees, dict):
            params = trees.get("parameters")
            if not isinstance(params, dict):
                params = trees["parameters"] = {}
            params[name] = value
            return
    if kind == "InlineJson":
        try:
            parsed = json.loads(block.get("json_string", ""))
        except (TypeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            params = parsed.get("parameters")
            if not isinstance(params, dict):
                params = parsed["parameters"] = {}
            params[name] = value
            block["json_string"] = json.dumps(parsed)
            return
    doc = copy.deepcopy(dict(effective))
    params = doc.get("parameters")
    if not isinstance(params, dict):
        params = doc["parameters"] = {}
    if kind in BUILTIN_PARAMETERS and name != "initial_liquidity_fraction":
        # A built-in tree's initial_liquidity_fraction 1.0 stands for "no fraction of its
        # own"; without it the engine treats the Inline copy as the built-in in both profiles
        # (simcash: 100% each morning; extended: the agent's liquidity_allocation_fraction).
        params.pop("initial_liquidity_fraction", None)
    params[name] = value
    agent["policy"] = {"type": "Inline", "decision_trees": doc}


def apply_assignments(doc: Mapping, assignments: Mapping[str, Any],
                      policies: Mapping[str, dict] | None = None) -> dict:
    """A deep copy of ``doc`` with every ``path -> value`` of ``assignments`` set, in order.

    >>> apply_assignments({"simulation": {"rng_seed": 1}}, {"simulation.rng_seed": 9})
    {'simulation': {'rng_seed': 9}}
    """
    out = copy.deepcopy(dict(doc))
    for path, value in assignments.items():
        set_path(out, path, copy.deepcopy(value), policies)
    return out


def agent_parameter_path(agent_id: str, parameter: str) -> str:
    """Grid path of an agent-level key (``liquidity_allocation_fraction``) or ``policy.NAME``.

    >>> agent_parameter_path("BANK_A", "policy.urgency_threshold")
    'agents.BANK_A.policy.parameters.urgency_threshold'
    """
    if not isinstance(parameter, str) or not parameter:
        raise ValueError(f"parameter must be a non-empty string, got {parameter!r}")
    if parameter.startswith("policy.") and parameter.count(".") == 1:
        return f"agents.{agent_id}.policy.parameters.{parameter.split('.', 1)[1]}"
    return f"agents.{agent_id}.{parameter}"
