"""Pydantic models of the scenario format (engine.md section 3, policy.md section 2).

Attribute names mirror the file's keys, so ``scenario.agents[0].arrival_config.rate_per_tick``
reads what the file says at ``agents[0].arrival_config.rate_per_tick``. Every model is frozen:
a loaded scenario is a value, and what the engine runs (``Scenario.engine_config()``) and the
policy documents resolved at load time can never drift apart from it. To change a scenario,
edit its dict form (``scenario.model_dump()``) and load that again.

Unknown keys are kept (``extra="allow"``) but reported as warnings by the loader, because
SimCash ignores them and real SimCash files carry legacy keys.

>>> sim = SimulationConfig(ticks_per_day=10, num_days=2, rng_seed=7)
>>> sim.ticks_per_day * sim.num_days
20
"""
from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import (BeforeValidator, Field, PrivateAttr, field_validator, model_serializer,
                      model_validator)
from pydantic_core import PydanticCustomError, to_jsonable_python

from .fields import U64_MAX, Bool, Fraction, PosFloat, PosInt, Str, _as_int, _as_str

# every model and constant, importable from here as before (checks, engine_config, loader)
from .model_base import (AMOUNT_TYPES, AmountDistribution, BUILTIN_POLICY_TYPES, Block,
                         COST_FEATURE_CATEGORIES, CategoricalPriority, EVENT_TYPES,
                         EXTENDED_ONLY_EVENTS, ExponentialAmount, FixedPriority, LogNormalAmount,
                         NormalAmount, POLICY_FEATURE_CATEGORIES, POLICY_TYPES, PRIORITY_TYPES,
                         PriorityDistribution, QUEUE1_ORDERINGS, SCHEDULE_TYPES,
                         SIMCASH_IGNORED_AGENT, SIMCASH_IGNORED_TOP_LEVEL, UNION_TAGS,
                         UniformAmount, UniformPriority, check_failed)
from .agent_models import (AgentConfig, ArrivalBand, ArrivalBands, ArrivalConfig, DeadlinePolicy,
                           FifoPolicy, FromJsonPolicy, InlineJsonPolicy, InlinePolicy, Limits,
                           LiquidityAwarePolicy, LiquiditySplittingPolicy, MockSplittingPolicy,
                           PolicyConfig, PolicySpec, SplitCount)
from .cost_models import (CostFeatureToggles, CostRates, LsmConfig, Penalty, PolicyFeatureToggles,
                          PriorityDelayMultipliers, PriorityEscalation)
from .event_models import (AgentArrivalRateChange, CollateralAdjustment, CollateralHaircutChange,
                           CounterpartyWeightChange, CustomTransactionArrival, DeadlineWindowChange,
                           DirectTransfer, EVENT_AGENT_FIELDS, GlobalArrivalRateChange, OneTime,
                           ParticipantFailure, ParticipantOutage, Repeating, ScenarioEvent,
                           Schedule, ScheduledSettlement)

__all__ = ["ClockText", "PaymentsClock", "PaymentsSource", "RngSeed", "SimulationConfig",
           "Scenario", "AMOUNT_TYPES", "AmountDistribution", "BUILTIN_POLICY_TYPES",
           "Block", "COST_FEATURE_CATEGORIES", "CategoricalPriority", "EVENT_TYPES",
           "EXTENDED_ONLY_EVENTS", "ExponentialAmount", "FixedPriority",
           "LogNormalAmount", "NormalAmount", "POLICY_FEATURE_CATEGORIES",
           "POLICY_TYPES", "PRIORITY_TYPES", "PriorityDistribution", "QUEUE1_ORDERINGS",
           "SCHEDULE_TYPES", "SIMCASH_IGNORED_AGENT", "SIMCASH_IGNORED_TOP_LEVEL",
           "UNION_TAGS", "UniformAmount", "UniformPriority", "check_failed",
           "AgentConfig", "ArrivalBand", "ArrivalBands", "ArrivalConfig",
           "DeadlinePolicy", "FifoPolicy", "FromJsonPolicy", "InlineJsonPolicy",
           "InlinePolicy", "Limits", "LiquidityAwarePolicy", "LiquiditySplittingPolicy",
           "MockSplittingPolicy", "PolicyConfig", "PolicySpec", "SplitCount",
           "CostFeatureToggles", "CostRates", "LsmConfig", "Penalty",
           "PolicyFeatureToggles", "PriorityDelayMultipliers", "PriorityEscalation",
           "AgentArrivalRateChange", "CollateralAdjustment", "CollateralHaircutChange",
           "CounterpartyWeightChange", "CustomTransactionArrival",
           "DeadlineWindowChange", "DirectTransfer", "EVENT_AGENT_FIELDS",
           "GlobalArrivalRateChange", "OneTime", "ParticipantFailure",
           "ParticipantOutage", "Repeating", "ScenarioEvent", "Schedule",
           "ScheduledSettlement"]



def _clock_text(value):
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 18:00 as the sexagesimal number 1080
        raise PydanticCustomError(
            "paysim_check", "must be a time of day in quotes, e.g. \"18:00\" (unquoted, YAML "
            "reads 18:00 as the number {got})", {"got": value})
    return _as_str(value)


ClockText = Annotated[str, BeforeValidator(_clock_text)]


def _date_text(value):
    import datetime as _dt
    if isinstance(value, _dt.date):      # YAML reads an unquoted 2024-03-01 as a date
        return value.isoformat()
    return _as_str(value)


class PaymentsClock(Block):
    """The business day of a payments table's clock times: ticks_per_day equal ticks from
    ``opening`` to ``closing`` ("HH:MM"). ``tick_minutes``, when given, must agree;
    ``first_day`` is the date of day 0 for timestamp columns (default: the earliest date)."""

    opening: ClockText
    closing: ClockText
    tick_minutes: PosFloat | None = None
    first_day: Annotated[str, BeforeValidator(_date_text)] | None = None


def _payments_source(value):
    return {"path": value} if isinstance(value, str) else value


class PaymentsSource(Block):
    """``payments:`` a Parquet or CSV file of payments (docs/payments.md). A bare string is
    the path; relative paths start at the scenario file's folder."""

    path: Str
    clock: PaymentsClock | None = None

    @field_validator("path")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise PydanticCustomError("paysim_check", "must not be empty", {})
        return v


# ---- top level (engine.md 3.1, 3.2) ----------------------------------------------------------

RngSeed = Annotated[int, BeforeValidator(_as_int), Field(ge=0, le=U64_MAX)]


class SimulationConfig(Block):
    ticks_per_day: PosInt
    num_days: PosInt
    rng_seed: RngSeed


_SCALARS = (str, int, float, bool, type(None))


def _copy_data(data):
    """A deep copy of plain scenario data (dicts, lists, scalars), several times faster than
    ``copy.deepcopy`` on the millions of values of a 5,000-bank dict; anything else is
    deep-copied as usual.

    >>> d = {"a": [1, {"b": 2}]}
    >>> c = _copy_data(d)
    >>> c == d, c["a"] is d["a"], c["a"][1] is d["a"][1]
    (True, False, False)
    """
    if isinstance(data, dict):
        return {k: v if type(v) in _SCALARS else _copy_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [v if type(v) in _SCALARS else _copy_data(v) for v in data]
    if type(data) in _SCALARS:
        return data
    return copy.deepcopy(data)


def _none_as_empty(value):
    # SimCash accepts `priority_escalation: null` (disabled).
    return {} if value is None else value


def _queue1_ordering(value):
    value = _as_str(value)
    if value not in QUEUE1_ORDERINGS:
        raise PydanticCustomError(
            "paysim_check", "must be 'fifo' or 'priority_deadline' (also accepted: Fifo, FIFO, "
            "PriorityDeadline, priority-deadline), got {got!r}", {"got": value})
    return QUEUE1_ORDERINGS[value]


class Scenario(Block):
    """A validated scenario. Load one with ``paysim_lab.load_scenario``.

    Besides the file's keys it carries, after loading: ``profile`` ("extended" or "simcash"),
    ``source`` (file path or "<dict>"), ``name``, ``agent_policies`` (the effective policy
    document of every agent) and ``engine_config()`` (the values the engine runs with under
    the profile). ``model_dump()`` gives back the mapping as the user wrote it.

    >>> import paysim_lab as psl
    >>> s = psl.load_scenario({"simulation": {"ticks_per_day": 5, "num_days": 1, "rng_seed": 1},
    ...                        "agents": [{"id": "A", "opening_balance": 100}]})
    >>> s.simulation.ticks_per_day, s.profile
    (5, 'extended')
    """

    simulation: SimulationConfig | None = None
    # Inline (seed-plan) form of the simulation block.
    seed: RngSeed | None = None
    ticks_per_day: PosInt | None = None
    num_days: PosInt | None = None

    agents: list[AgentConfig] = Field(min_length=1)
    policies: dict[Str, Any] | None = None
    cost_rates: CostRates = Field(default_factory=CostRates)
    lsm_config: LsmConfig = Field(default_factory=LsmConfig)
    scenario_events: list[ScenarioEvent] | None = None
    payments: Annotated[PaymentsSource, BeforeValidator(_payments_source)] | None = None
    policy_feature_toggles: PolicyFeatureToggles | None = None
    cost_feature_toggles: CostFeatureToggles | None = None

    deferred_crediting: Bool = False
    deadline_cap_at_eod: Bool = False
    queue1_ordering: Annotated[Literal["fifo", "priority_deadline"],
                               BeforeValidator(_queue1_ordering)] = "fifo"
    priority_mode: Bool = False
    priority_escalation: Annotated[PriorityEscalation, BeforeValidator(_none_as_empty)] = Field(
        default_factory=PriorityEscalation)
    algorithm_sequencing: Bool = False
    entry_disposition_offsetting: Bool = False
    eod_rush_threshold: Fraction = 0.8
    daily_liquidity_reallocation: Bool = True

    compat: Annotated[Literal["extended", "simcash"], BeforeValidator(_as_str)] | None = None
    name_: Str | None = Field(default=None, alias="name")
    description: Str | None = None

    _raw: Any = PrivateAttr(default=None)
    _profile: str | None = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="<dict>")
    _base_dir: Any = PrivateAttr(default=None)
    _allowed_policy_dirs: Any = PrivateAttr(default=None)
    _agent_policies: Any = PrivateAttr(default=None)
    _load_warnings: tuple = PrivateAttr(default=())
    _payment_feed: Any = PrivateAttr(default=None)
    # a table given as a DataFrame (config.memory_payments): carried into rebuilt scenarios
    _memory_payments: Any = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_written_form(cls, data, handler, info):
        inst = handler(data)
        if isinstance(data, dict):
            # A freshly parsed file belongs to us; a caller's dict may change after loading.
            owned = bool(info.context and info.context.get("owned_input"))
            inst._raw = data if owned else _copy_data(data)
        return inst

    @model_validator(mode="after")
    def _simulation_block(self):
        inline = [k for k in ("seed", "ticks_per_day", "num_days") if k in self.model_fields_set]
        if self.simulation is not None:
            if inline:
                raise check_failed(inline[0], "give either the simulation block or top-level "
                                              "seed/ticks_per_day/num_days, not both")
            return self
        if self.ticks_per_day is None:
            if "simulation" in self.model_fields_set:
                raise check_failed("simulation", "must be a mapping (got null)")
            raise check_failed("simulation", "required key is missing (or give top-level "
                                             "seed and ticks_per_day)")
        if self.seed is None:
            raise check_failed("seed", "required when ticks_per_day is given at the top level")
        sim = SimulationConfig(ticks_per_day=self.ticks_per_day,
                               num_days=self.num_days if self.num_days is not None else 1,
                               rng_seed=self.seed)
        # Derived, not written: keep it out of model_fields_set so dumps stay as written.
        object.__setattr__(self, "simulation", sim)
        return self

    @model_serializer(mode="wrap")
    def _dump_as_written(self, handler, info):
        raw = self._raw
        if raw is None or info.include is not None or info.exclude is not None:
            return handler(self)
        if info.mode == "json":
            return to_jsonable_python(raw)
        return copy.deepcopy(raw)

    def model_copy(self, *, update=None, deep=False):
        """Copy; with ``update`` the copy dumps its own fields and re-resolves its policies."""
        out = super().model_copy(update=update, deep=deep)
        if update:
            out._raw = None
            out._agent_policies = None
        return out

    def with_changes(self, changes: dict[str, Any]) -> "Scenario":
        """This scenario with some values changed: ``changes`` maps dotted paths (the keys of a
        sweep grid: ``lsm_config.enable_cycles``, ``agents.BANK_A.unsecured_cap``,
        ``agents.BANK_A.policy.parameters.urgency_threshold``) to new values.

        The result is loaded and validated like a file; it keeps this scenario's name, profile
        and policy folder, and the payments table given to ``from_payments`` as a DataFrame
        (checked again against the new banks and run length). A path that does not exist in the scenario (a typo) raises a
        ScenarioError naming it; so does a value the scenario rejects.

        >>> import paysim_lab as psl
        >>> sc = psl.load_scenario({"name": "demo", "simulation": {"ticks_per_day": 4,
        ...     "num_days": 1, "rng_seed": 3}, "agents": [{"id": "A", "opening_balance": 0}]})
        >>> sc2 = sc.with_changes({"agents.A.opening_balance": 500, "simulation.rng_seed": 9})
        >>> sc2.name, sc2.agents[0].opening_balance, sc2.simulation.rng_seed
        ('demo', 500, 9)
        """
        import warnings
        from collections.abc import Mapping

        from ..errors import ScenarioWarning
        from ..experiments.params import apply_assignments, path_error
        from ..experiments.sweeps import _unknown_key_problem, _without_source
        from .loader import load_scenario
        if not isinstance(changes, Mapping):
            raise TypeError(f"changes must be a dict of dotted path -> value, got "
                            f"{type(changes).__name__}")
        doc = apply_assignments(self.model_dump(), changes, self.agent_policies)
        doc.setdefault("name", self.name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = load_scenario(doc, compat=self.profile, base_dir=self.base_dir,
                                allowed_policy_dirs=self._allowed_policy_dirs)
            if self._memory_payments is not None:
                self._memory_payments.attach(out)
        texts = [str(w.message) for w in caught if issubclass(w.category, ScenarioWarning)]
        for path in changes:
            problem = _unknown_key_problem(texts, doc, path)
            if problem is not None:
                raise path_error(path, problem)
        # warnings this scenario already gave at its own load are not repeated
        known = {_without_source(t, self.source) for t in self.load_warnings}
        for w in caught:
            if _without_source(str(w.message), "<dict>") not in known:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return out

    # ---- values computed at load (not part of model_dump) -----------------------------------
    @property
    def profile(self) -> str:
        """``"extended"`` or ``"simcash"`` (engine.md 0.3)."""
        return self._profile or self.compat or "extended"

    @property
    def source(self) -> str:
        """The file path this scenario was read from, or ``"<dict>"``."""
        return self._source

    @property
    def name(self) -> str:
        """The ``name`` key if written, else the file's stem, else ``"scenario"``."""
        if self.name_:
            return self.name_
        if self._source != "<dict>":
            from pathlib import Path
            return Path(self._source).stem
        return "scenario"

    @property
    def base_dir(self):
        """Folder relative json_paths resolve from first: the file's folder, or the
        ``base_dir`` given for a dict (None: the current directory, then bundled policies)."""
        return self._base_dir

    @property
    def load_warnings(self) -> tuple[str, ...]:
        """Every ScenarioWarning message emitted while loading, in order."""
        return self._load_warnings

    @property
    def total_ticks(self) -> int:
        return self.simulation.ticks_per_day * self.simulation.num_days

    @property
    def payment_count(self) -> int:
        """Payments in the scenario's payments table (0 without one)."""
        return len(self._payment_feed) if self._payment_feed is not None else 0

    @classmethod
    def from_payments(cls, payments, banks, *, ticks_per_day: int, num_days: int = 1,
                      rng_seed: int = 0, clock: dict | None = None, compat: str | None = None,
                      base_dir=None, **options) -> "Scenario":
        """A scenario whose payments come from a table (docs/payments.md).

        ``payments``: a pandas DataFrame (or a Parquet/CSV path) with columns sender,
        receiver, amount (cents), arrival_tick (or arrival_time with ``clock``) and optional
        deadline_tick, priority, divisible, payment_id. ``banks``: a DataFrame (or list of
        dicts) with columns id and opening_balance; other agent keys (unsecured_cap,
        policy, ...) are optional columns, empty cells meaning "not given". ``clock``:
        ``{"opening": "08:00", "closing": "18:00"}`` for clock times. Other keyword
        arguments are top-level scenario keys (cost_rates, lsm_config, scenario_events, name).

        Raises ScenarioError naming the table, the row and the column of each problem.

        >>> import pandas as pd, paysim_lab as psl
        >>> sc = psl.Scenario.from_payments(
        ...     pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [500],
        ...                   "arrival_tick": [0]}),
        ...     pd.DataFrame({"id": ["A", "B"], "opening_balance": [1000, 0]}),
        ...     ticks_per_day=5)
        >>> sc.payment_count, sc.total_ticks
        (1, 5)
        """
        from .payments import scenario_from_payments
        return scenario_from_payments(payments, banks, ticks_per_day=ticks_per_day,
                                      num_days=num_days, rng_seed=rng_seed, clock=clock,
                                      compat=compat, base_dir=base_dir, options=options)

    @property
    def agent_policies(self) -> dict[str, dict]:
        """Effective policy document per agent id, in config order (policy.md 2.5).

        Built-in types are expanded, FromJson files read, the inline ``policies`` map applied
        with ``policy_params`` merged; agents without a policy get Fifo. Each agent has its own
        copy.
        """
        if self._agent_policies is None:
            from .policies import resolve_agent_policies
            docs, _ = resolve_agent_policies(self, raise_errors=True)
            self._agent_policies = docs
        return self._agent_policies

    def engine_config(self):
        """The values the engine must use under this scenario's profile (an ``EngineConfig``)."""
        from .engine_config import build_engine_config
        return build_engine_config(self)

    def __repr__(self) -> str:
        return (f"Scenario(name={self.name!r}, profile={self.profile!r}, agents="
                f"{len(self.agents)}, ticks={self.total_ticks})")
