"""What a stored run is called and configured with: run ids, the parts kept, the flush bound,
and the scenario made self-contained for the ``simulations`` row.

>>> parse_keep("events,states"), check_run_id("run-1")
(('events', 'states'), 'run-1')
"""
from __future__ import annotations

import copy
import hashlib
import re
import secrets

from ..config.models import BUILTIN_POLICY_TYPES
from ..errors import StoreError
from .schema import STORED_PARTS

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


def new_run_id() -> str:
    """``sim-`` + 8 random lowercase hex characters (metadata, not a result)."""
    return "sim-" + secrets.token_hex(4)


def check_max_buffered_events(n: int) -> int:
    """``n`` if it is a positive number of events, else a StoreError."""
    if int(n) < 1:
        raise StoreError(f"max_buffered_events must be positive, got {n}")
    return int(n)


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise StoreError(f"invalid run id {run_id!r}: use 1-128 letters, digits, '_', '-', '.', "
                         f"':' starting with a letter or digit")
    return run_id


def policy_document(p) -> dict:
    """A policy as its JSON document (a dict as it is, a loaded policy's ``document``, or a
    pydantic model dumped)."""
    if isinstance(p, dict):
        return p
    doc = getattr(p, "document", None)
    if isinstance(doc, dict):
        return doc
    return p.model_dump(mode="json")


def effective_config(scenario, seed: int) -> dict:
    """The scenario as written, made self-contained: effective policies inline, the seed used.

    Agents on a built-in policy type keep it (those types have engine-level quirks an inline
    copy would lose); every other agent gets ``policy: {type: Inline, decision_trees: doc}``.
    """
    cfg = copy.deepcopy(scenario.model_dump(mode="json", by_alias=True, exclude_none=True))
    if isinstance(cfg.get("simulation"), dict):
        for key in ("seed", "ticks_per_day", "num_days"):   # a full dump carries both forms
            cfg.pop(key, None)
        cfg["simulation"]["rng_seed"] = seed
    else:
        cfg["seed"] = seed
    cfg["compat"] = scenario.profile
    policies = scenario.agent_policies or {}
    for agent in cfg.get("agents", []):
        aid = agent.get("id")
        pol = agent.get("policy")
        builtin = ("policy_id" not in agent or agent.get("policy_id") is None) and (
            pol is None or (isinstance(pol, dict) and pol.get("type") in BUILTIN_POLICY_TYPES))
        if builtin or aid not in policies:
            continue
        agent.pop("policy_id", None)
        agent.pop("policy_params", None)
        agent["policy"] = {"type": "Inline", "decision_trees": policy_document(policies[aid])}
    cfg.pop("policies", None)
    if scenario.payments is not None:
        # a payments table is read again from where this scenario found it
        from ..config.payments import resolve_path
        spec = cfg["payments"] if isinstance(cfg["payments"], dict) else {}
        where = resolve_path(scenario.payments.path, scenario.base_dir).resolve()
        cfg["payments"] = {**spec, "path": str(where)}
    return cfg


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_keep(keep) -> tuple[str, ...]:
    """Normalise ``keep`` (None = everything; a comma string or an iterable of part names).

    >>> parse_keep("events,states")
    ('events', 'states')
    """
    if keep is None:
        return STORED_PARTS
    parts = keep.split(",") if isinstance(keep, str) else list(keep)
    parts = [p.strip() for p in parts if p and p.strip()]
    bad = [p for p in parts if p not in STORED_PARTS]
    if bad:
        raise StoreError(f"keep: unknown part {bad[0]!r}; choose from {', '.join(STORED_PARTS)}")
    return tuple(p for p in STORED_PARTS if p in parts)
