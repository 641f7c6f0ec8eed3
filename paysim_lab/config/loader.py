"""``load_scenario``: read, validate and resolve a scenario in one call.

Order of work: read the source safely (reading.py), validate the structure (models.py), check
the whole scenario (checks.py), resolve every agent's policy (policies.py). Problems from all
stages are collected and raised together as one ScenarioError; warnings are emitted only when
the scenario loads.
"""
from __future__ import annotations

import os

from pydantic import ValidationError

from ..errors import ScenarioError
from . import checks, reading
from .issues import Issues
from .models import Scenario
from .policies import resolve_agent_policies

PROFILES = ("extended", "simcash")


def _source_label(source) -> str:
    if isinstance(source, dict):
        return "<dict>"
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"<{type(source).__name__}>"


POLICY_KEYS = ("policy_id", "payment_tree", "bank_tree", "strategic_collateral_tree",
               "end_of_tick_collateral_tree")


def _other_document_kind(data: dict) -> str | None:
    """Why a document without ``agents`` is some other kind of file, when it clearly is."""
    if "agents" in data:
        return None
    if isinstance(data.get("scenario"), str) and (
            "evaluation" in data or "optimized_agents" in data or "convergence" in data):
        return (f"this is an experiment file (it names the scenario {data['scenario']!r}), "
                "not a scenario: run it with `paysim experiment`, or load the scenario it "
                "names")
    if any(key in data for key in POLICY_KEYS):
        return ("this is a policy file (it has policy_id or a decision tree), not a scenario: "
                "check it with `paysim validate` or load it with psl.load_policy, and attach "
                "it to agents with policy: {type: FromJson, json_path: ...}")
    return None


def load_scenario(source, compat: str | None = None, *, allowed_policy_dirs=None,
                  base_dir=None, limits: reading.LoadLimits | None = None) -> Scenario:
    """Load a scenario file (.yaml/.yml/.json) or dict into a validated ``Scenario``.

    ``compat`` selects the profile ("extended" or "simcash"); when None, the file's top-level
    ``compat`` key decides, else "extended". ``allowed_policy_dirs`` (for untrusted input)
    restricts FromJson/json_path files to those folders (plus the bundled policies).
    ``base_dir`` is where relative json_paths of a dict source resolve first. ``limits``
    (a ``LoadLimits``) raises or lowers the bounds on size, banks, scenario events, string
    lengths and policy nodes for this load (docs/reliability.md).

    Raises ScenarioError (a ValueError) naming the file, the path inside it and the problem.

    >>> import paysim_lab as psl
    >>> s = psl.load_scenario({"simulation": {"ticks_per_day": 4, "num_days": 1,
    ...                                       "rng_seed": 3},
    ...                        "agents": [{"id": "A", "opening_balance": 0}]})
    >>> s.engine_config().queue1_ordering
    'fifo'
    """
    label = _source_label(source)
    if compat is not None and compat not in PROFILES:
        raise ScenarioError(f"{label}: compat must be 'extended' or 'simcash', got {compat!r}",
                            [{"source": label, "path": "", "message": "bad compat argument",
                              "line": None}])
    try:
        return _load(source, label, compat, allowed_policy_dirs, base_dir,
                     (limits or reading.LoadLimits()).resolved())
    except RecursionError:
        raise ScenarioError(f"{label}: nested too deeply to load") from None


def _load(source, label, compat, allowed_policy_dirs, base_dir, limits) -> Scenario:
    try:
        doc = reading.read_source(source, base_dir, limits)
    except reading.SourceError as exc:
        raise ScenarioError(f"{label}: {exc.message}",
                            [{"source": label, "path": "", "message": exc.message,
                              "line": exc.line}]) from None
    issues = Issues(doc.source, doc.line_of if doc.node is not None else None)
    data = doc.data
    if not isinstance(data, dict):
        what = "the file is empty" if data is None else (
            "the top level must be a mapping of scenario keys (simulation, agents, ...)")
        issues.error("", what)
        raise issues.exception()
    other = _other_document_kind(data)
    if other:
        issues.error("", other)
        raise issues.exception()
    oversized = reading.size_problems(data, limits)
    if oversized:
        for segs, message in oversized:
            issues.error(segs, message)
        raise issues.exception()
    for segs, key, line in doc.duplicate_keys:
        issues.warn(segs + [key], "written twice in the same mapping; the later value wins",
                    line)

    try:
        scenario = Scenario.model_validate(
            data, context={"owned_input": not isinstance(source, dict)})
    except ValidationError as exc:
        issues.add_pydantic(exc, data)
        raise issues.exception() from None

    scenario._profile = compat or scenario.compat or "extended"
    scenario._source = doc.source
    scenario._base_dir = doc.base_dir
    scenario._allowed_policy_dirs = allowed_policy_dirs

    checks.check_scenario(scenario, issues, limits)
    checks.warn_unknown_keys(scenario, data, [], issues)
    checks.warn_simcash_ignored(scenario, issues)
    policies, _ = resolve_agent_policies(scenario, issues)
    checks.check_policy_ranges(scenario, policies, issues)
    issues.raise_if_errors()
    checks.warn_liquidity_fraction(scenario, policies, issues)

    if scenario.payments is not None:
        from .payments import feed_for_scenario
        scenario._payment_feed = feed_for_scenario(scenario)
    scenario._agent_policies = policies
    scenario._load_warnings = tuple(issues.warning_texts())
    issues.emit_warnings(stacklevel=4)
    return scenario
