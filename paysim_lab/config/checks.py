"""Checks that need the whole scenario (agent references, uniqueness) and load-time warnings.

Errors: duplicate agent ids, counterparty weights or scenario events naming agents that do not
exist, a lone agent that generates payments (it has nobody to pay). Warnings: unknown keys
(with hints for SimCash's legacy keys and near-miss spellings), keys the ``simcash`` profile
ignores, ``Uniform.min == 0``, band or limit keys that are not agents, and a few settings
that are valid but almost certainly not what the author meant.

Range checks: values that reach the engine's arithmetic are bounded here, so that nothing the
loader accepts can overflow later: cost rates and multipliers at most :data:`MAX_RATE`,
LogNormal parameters whose moments the engine can compute, amounts within int64. Ids must be
printable text (they are written to terminals, logs and stores).

>>> printable_problem("BANK A"), printable_problem("A\\x1b[31m")
(None, 'contains the control character U+001B')
"""
from __future__ import annotations

import difflib
import math
import unicodedata

from pydantic import AliasChoices, BaseModel

from . import models as m
from .issues import Issues
from .reading import LoadLimits, limit_hint

# (model class name, key) -> why the key does nothing.
LEGACY_KEYS = {
    ("SimulationConfig", "lsm_enabled"): "a legacy SimCash key with no effect (LSM is set in "
                                         "lsm_config: enable_bilateral / enable_cycles)",
    ("SimulationConfig", "lsm_frequency_ticks"): "a legacy SimCash key with no effect (the LSM "
                                                 "runs every tick)",
    ("AgentConfig", "overdraft_rate"): "a legacy SimCash key with no effect (costs are set in "
                                       "cost_rates)",
    ("AgentConfig", "delay_cost_per_tick"): "a legacy SimCash key with no effect (costs are set "
                                            "in cost_rates)",
    ("AgentConfig", "bilateral_limits"): "has no effect at the agent level; write it as "
                                         "limits.bilateral_limits",
    ("AgentConfig", "multilateral_limit"): "has no effect at the agent level; write it as "
                                           "limits.multilateral_limit",
    ("Scenario", "cost_model"): "a legacy SimCash key with no effect (costs are set in "
                                "cost_rates)",
    ("PriorityEscalation", "threshold_ticks"): "not a setting (start_escalating_at_ticks sets "
                                               "when escalation starts)",
}


def _known_names(model_cls) -> list[str]:
    names = []
    for fname, info in model_cls.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices):
            names += [c for c in info.validation_alias.choices if isinstance(c, str)]
        names.append(info.alias or fname)
    return names


def _raw_key(fname: str, info, raw: dict) -> str | None:
    options = []
    if isinstance(info.validation_alias, AliasChoices):
        options += [c for c in info.validation_alias.choices if isinstance(c, str)]
    if info.alias:
        options.append(info.alias)
    options.append(fname)
    for key in options:
        if key in raw:
            return key
    return None


def warn_unknown_keys(model: BaseModel, raw, segs: list, issues: Issues) -> None:
    """One warning per key the models do not know, with its path and a hint."""
    if not isinstance(raw, dict):
        return
    cls = type(model)
    extras = model.__pydantic_extra__ or {}
    fields = {}
    for fname, info in cls.model_fields.items():
        key = _raw_key(fname, info, raw)
        if key is not None:
            fields[key] = fname
    for key in raw:  # file order, so warnings read top to bottom
        if key in extras:
            reason = LEGACY_KEYS.get((cls.__name__, key))
            if reason is None:
                reason = "unknown key, ignored"
                close = difflib.get_close_matches(str(key), _known_names(cls), n=1,
                                                  cutoff=0.75)
                if close:
                    reason += f" (did you mean {close[0]}?)"
            else:
                reason = f"ignored: {reason}"
            issues.warn(segs + [key], reason)
            continue
        if key not in fields:
            continue
        value = getattr(model, fields[key])
        sub = raw[key]
        if isinstance(value, BaseModel):
            warn_unknown_keys(value, sub, segs + [key], issues)
        elif isinstance(value, (list, tuple)) and isinstance(sub, list):
            for i, (item, raw_item) in enumerate(zip(value, sub)):
                if isinstance(item, BaseModel):
                    warn_unknown_keys(item, raw_item, segs + [key, i], issues)


def warn_simcash_ignored(scenario: m.Scenario, issues: Issues) -> None:
    """In the simcash profile, one warning listing every written key that has no effect."""
    if scenario.profile != "simcash":
        return
    present = [k for k in m.SIMCASH_IGNORED_TOP_LEVEL if k in scenario.model_fields_set]
    for i, agent in enumerate(scenario.agents):
        present += [f"agents[{i}].{k}" for k in m.SIMCASH_IGNORED_AGENT
                    if k in agent.model_fields_set]
    if scenario.cost_rates is not None and "eod_borrowing_rate" in \
            scenario.cost_rates.model_fields_set:
        present.append("cost_rates.eod_borrowing_rate")
    if present:
        issues.warn("", "compat simcash: these keys have no effect in the simcash profile "
                        "(the engine defaults apply, as when SimCash runs this file): "
                        + ", ".join(present))


#: The largest cost rate or multiplier accepted. The engine scales rates to integers (x1,000
#: or x1,000,000) and multiplies them by amounts of up to 2**63 cents and tick counts; at
#: 1e9 every product stays finite. Real rates are below 100.
MAX_RATE = 1e9
_I64_MAX = 2**63 - 1
# Bidirectional-text controls can make a log line read differently from what it says.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")


def printable_problem(text: str) -> str | None:
    """Why ``text`` is not printable (a control, bidi or line-separator character), or None."""
    for ch in text:
        if ch in _BIDI:
            return f"contains the bidirectional-text control U+{ord(ch):04X}"
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs"):
            return f"contains the control character U+{ord(ch):04X}"
    return None


def _check_id(value, segs: list, issues: Issues, max_chars: int, what: str) -> None:
    if not isinstance(value, str):
        return
    if len(value) > max_chars:
        issues.error(segs, f"{what} of {len(value):,} characters is longer than the limit of "
                           f"{max_chars} ({limit_hint('max_id_chars')})")
        return
    why = printable_problem(value)
    if why is not None:
        issues.error(segs, f"{what} {why}; ids must be printable text")


def _rate(value, segs: list, issues: Issues) -> None:
    if isinstance(value, float) and value > MAX_RATE:
        issues.error(segs, f"must be at most {MAX_RATE:g} (got {value!r}); larger rates "
                           "overflow the engine's cost arithmetic")


def _check_rates(scenario: m.Scenario, issues: Issues) -> None:
    c = scenario.cost_rates
    at = ["cost_rates"]
    for name in ("overdraft_bps_per_tick", "delay_cost_per_tick_per_cent",
                 "collateral_cost_per_tick_bps", "overdue_delay_multiplier",
                 "liquidity_cost_per_tick_bps"):
        _rate(getattr(c, name), at + [name], issues)
    for name in ("eod_penalty", "deadline_penalty"):
        pen = getattr(c, name)
        if pen.bps_per_event is not None:
            key = name
            if name == "eod_penalty" and "eod_penalty_per_transaction" in _raw_keys(scenario):
                key = "eod_penalty_per_transaction"
            _rate(pen.bps_per_event, at + [key, "bps_per_event"], issues)
    pm = c.priority_delay_multipliers
    if pm is not None:
        for name in ("urgent_multiplier", "normal_multiplier", "low_multiplier"):
            _rate(getattr(pm, name), at + ["priority_delay_multipliers", name], issues)


def _raw_keys(scenario: m.Scenario) -> set:
    raw = scenario._raw if isinstance(scenario._raw, dict) else {}
    rates = raw.get("cost_rates")
    return set(rates) if isinstance(rates, dict) else set()


def _distribution_ranges(dist, segs: list, issues: Issues) -> None:
    if isinstance(dist, m.LogNormalAmount):
        mean, sd = dist.mean, dist.std_dev
        if mean > _I64_MAX:
            issues.error(segs + ["mean"], f"must be at most {_I64_MAX} cents (got {mean!r}); "
                                          "payments are 64-bit integers")
        elif mean > 0:
            # the engine computes ln(1 + sd^2 / mean^2): both squares must be finite, and
            # mean^2 must not underflow to 0
            v = sd * sd
            if mean * mean == 0.0 or not math.isfinite(v) or \
                    not math.isfinite(v / (mean * mean)):
                issues.error(segs + ["std_dev"], f"std_dev {sd!r} and mean {mean!r} are too "
                             "far apart for the engine's arithmetic (std_dev^2 / mean^2 must be "
                             "a finite number)")


def _amount_warnings(dist, segs: list, issues: Issues) -> None:
    if isinstance(dist, m.UniformAmount) and dist.min == 0:
        issues.warn(segs + ["min"], "Uniform min 0 can draw a payment of 0 cents, which stops "
                                    "the run with an error (as in SimCash); use min >= 1")
    if isinstance(dist, m.LogNormalAmount) and 0 < dist.mean < 100:
        issues.warn(segs + ["mean"], f"LogNormal mean and std_dev are the mean and standard "
                    f"deviation of the amount in cents (as in SimCash's engine), so mean "
                    f"{dist.mean} gives payments of about {round(dist.mean)} cents")


def check_scenario(scenario: m.Scenario, issues: Issues, limits=None) -> None:
    """Whole-scenario errors and warnings, appended to ``issues``."""
    lim = (limits or LoadLimits()).resolved()
    agents = scenario.agents
    for i, agent in enumerate(agents):
        _check_id(agent.id, ["agents", i, "id"], issues, lim.max_id_chars, "bank id")
        _check_id(agent.policy_id, ["agents", i, "policy_id"], issues, lim.max_id_chars,
                  "policy id")
    for key in (scenario.policies or {}):
        _check_id(key, ["policies", key[:40]], issues, lim.max_id_chars, "policy id")
    _check_id(scenario.name_, ["name"], issues, lim.max_id_chars, "scenario name")
    _check_rates(scenario, issues)
    first_at: dict[str, int] = {}
    for i, agent in enumerate(agents):
        if agent.id in first_at:
            issues.error(["agents", i, "id"], f"duplicate agent id {agent.id!r} (first used "
                                              f"at agents[{first_at[agent.id]}])")
        else:
            first_at[agent.id] = i
    ids = list(first_at)
    id_set = set(ids)
    listing = ", ".join(ids)

    for i, agent in enumerate(agents):
        at = ["agents", i]
        arr = agent.arrival_config
        if arr is not None:
            for key in arr.counterparty_weights:
                if key not in id_set:
                    issues.error(at + ["arrival_config", "counterparty_weights", key],
                                 f"unknown agent {key!r}; agents are: {listing}")
                elif key == agent.id:
                    issues.warn(at + ["arrival_config", "counterparty_weights", key],
                                "a weight for the sender itself is ignored")
            _amount_warnings(arr.amount_distribution, at + ["arrival_config",
                                                             "amount_distribution"], issues)
            _distribution_ranges(arr.amount_distribution,
                                 at + ["arrival_config", "amount_distribution"], issues)
        if agent.arrival_bands is not None:
            for band_name, band in agent.arrival_bands.configured():
                band_at = at + ["arrival_bands", band_name]
                for key in band.counterparty_weights:
                    if key not in id_set:
                        issues.warn(band_at + ["counterparty_weights", key],
                                    f"not an agent, ignored (agents are: {listing})")
                _amount_warnings(band.amount_distribution, band_at + ["amount_distribution"],
                                 issues)
                _distribution_ranges(band.amount_distribution,
                                     band_at + ["amount_distribution"], issues)
        if (arr is not None or agent.arrival_bands is not None) and len(agents) < 2:
            which = "arrival_config" if arr is not None else "arrival_bands"
            issues.error(at + [which], "the only agent cannot generate payments: there is no "
                                       "other agent to pay")
        if agent.limits is not None and agent.limits.bilateral_limits:
            for key in agent.limits.bilateral_limits:
                if key not in id_set:
                    issues.warn(at + ["limits", "bilateral_limits", key],
                                f"not an agent, ignored (agents are: {listing})")

    total = scenario.total_ticks
    for k, event in enumerate(scenario.scenario_events or ()):
        for field in m.EVENT_AGENT_FIELDS:
            value = getattr(event, field, None)
            if value is not None and value not in id_set:
                issues.error(["scenario_events", k, field],
                             f"unknown agent {value!r}; agents are: {listing}")
        if event.type in m.EXTENDED_ONLY_EVENTS and scenario.profile == "simcash":
            issues.error(["scenario_events", k, "type"],
                         f"{event.type} is an extended-profile event; the simcash profile "
                         f"cannot run it (SimCash has no such event): load the scenario with "
                         f"compat='extended'")
        sched = getattr(event, "schedule", None)
        if sched is None:       # ParticipantOutage, ParticipantFailure: their own ticks
            where = "start_tick" if hasattr(event, "start_tick") else "tick"
            first = getattr(event, where)
        else:
            where = "schedule"
            first = sched.tick if isinstance(sched, m.OneTime) else sched.start_tick
        if first >= total:
            issues.warn(["scenario_events", k, where],
                        f"never fires: the run has {total} ticks (0..{total - 1})")


def _policy_fraction(doc) -> float | None:
    params = doc.get("parameters") if isinstance(doc, dict) else None
    value = params.get("initial_liquidity_fraction") if isinstance(params, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def warn_liquidity_fraction(scenario: m.Scenario, policies: dict, issues: Issues) -> None:
    """Say where a policy's ``parameters.initial_liquidity_fraction`` applies.

    simcash: SimCash's run commands allocate the first day with ``liquidity_allocation_fraction``
    and use the policy's fraction only from the second day on; the warning says so. extended:
    the policy's fraction applies from the first day (as SimCash's experiment runner does); the
    warning names a written ``liquidity_allocation_fraction`` it overrides.
    """
    for i, agent in enumerate(scenario.agents):
        if agent.liquidity_pool is None:
            continue
        spec = agent.policy
        if agent.policy_id is None and (spec is None or spec.type in m.BUILTIN_POLICY_TYPES):
            continue  # built-in types: the engine does not read their fraction
        frac = _policy_fraction(policies.get(agent.id))
        if frac is None:
            continue
        written = agent.liquidity_allocation_fraction
        initial = 1.0 if written is None else written
        if scenario.profile == "simcash":
            if frac != initial:
                issues.warn(["agents", i], f"the policy's initial_liquidity_fraction {frac} "
                            f"applies from the second day's start only; the first day gets "
                            f"liquidity_allocation_fraction {initial} of the pool (as SimCash's "
                            f"run commands do); the extended profile applies {frac} from day 1")
        elif written is not None and frac != written:
            issues.warn(["agents", i, "liquidity_allocation_fraction"],
                        f"overridden by the policy's initial_liquidity_fraction {frac} "
                        f"(on every day, as SimCash's experiment runner does)")


def check_policy_ranges(scenario: m.Scenario, policies: dict, issues: Issues) -> None:
    """Policy parameters that reach the engine's arithmetic with scenario values: the start-of-
    day allocation is ``floor(liquidity_pool * initial_liquidity_fraction)``, which must be a
    finite 64-bit amount."""
    for i, agent in enumerate(scenario.agents):
        doc = policies.get(agent.id)
        params = doc.get("parameters") if isinstance(doc, dict) else None
        frac = params.get("initial_liquidity_fraction") if isinstance(params, dict) else None
        if isinstance(frac, bool) or not isinstance(frac, (int, float)):
            continue
        pool = agent.liquidity_pool or 0
        try:
            alloc = float(pool) * float(frac)
        except OverflowError:
            alloc = math.inf
        if not math.isfinite(frac) or not math.isfinite(alloc) or abs(alloc) > _I64_MAX:
            where = "policy_id" if agent.policy_id is not None else "policy"
            issues.error(["agents", i, where], f"the policy's initial_liquidity_fraction "
                         f"{frac!r} times liquidity_pool {pool} is not a 64-bit amount (the "
                         "start-of-day allocation would overflow)")
