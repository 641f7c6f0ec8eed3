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
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr,
                      field_validator, model_serializer, model_validator)
from pydantic_core import PydanticCustomError, to_jsonable_python

from .fields import (U64_MAX, Bool, Float, Fraction, Int, Money, NonNegFloat, NonNegInt,
                     NonNegMoney, PosFloat, PosInt, PosMoney, Priority, Str, _as_int, _as_str)

# Accepted spellings of each tagged union, used for "did you mean" hints in error messages.
AMOUNT_TYPES = ("Uniform", "Normal", "LogNormal", "Exponential")
PRIORITY_TYPES = ("Fixed", "Categorical", "Uniform")
SCHEDULE_TYPES = ("OneTime", "Repeating")
POLICY_TYPES = ("Fifo", "Deadline", "LiquidityAware", "LiquiditySplitting", "MockSplitting",
                "FromJson", "Inline", "InlineJson")
BUILTIN_POLICY_TYPES = POLICY_TYPES[:5]
EVENT_TYPES = ("DirectTransfer", "CustomTransactionArrival", "CollateralAdjustment",
               "GlobalArrivalRateChange", "AgentArrivalRateChange", "CounterpartyWeightChange",
               "DeadlineWindowChange", "ScheduledSettlement", "ParticipantOutage",
               "ParticipantFailure", "CollateralHaircutChange")
#: Scenario events only the extended profile runs (SimCash has no such events).
EXTENDED_ONLY_EVENTS = ("ParticipantOutage", "ParticipantFailure", "CollateralHaircutChange")

#: Which accepted ``type`` names belong to the union found under a given key.
UNION_TAGS = {
    "amount_distribution": AMOUNT_TYPES,
    "priority_distribution": PRIORITY_TYPES,
    "schedule": SCHEDULE_TYPES,
    "policy": POLICY_TYPES,
    "scenario_events": EVENT_TYPES,
}

POLICY_FEATURE_CATEGORIES = (
    "ComparisonOperator", "LogicalOperator", "BinaryArithmetic", "NaryArithmetic", "UnaryMath",
    "TernaryMath", "ValueType", "PaymentAction", "BankAction", "CollateralAction", "RtgsAction",
    "TransactionField", "AgentField", "QueueField", "CollateralField", "CostField", "TimeField",
    "LsmField", "ThroughputField", "StateRegisterField", "SystemField", "DerivedField",
    "NodeType", "TreeType",
)
COST_FEATURE_CATEGORIES = ("PerTick", "OneTime", "Daily", "Modifier")

QUEUE1_ORDERINGS = {
    "fifo": "fifo", "Fifo": "fifo", "FIFO": "fifo",
    "priority_deadline": "priority_deadline", "PriorityDeadline": "priority_deadline",
    "priority-deadline": "priority_deadline",
}

#: Keys whose values the ``simcash`` profile replaces by the engine default (engine.md 0.3).
SIMCASH_IGNORED_TOP_LEVEL = ("queue1_ordering", "priority_mode", "priority_escalation",
                             "algorithm_sequencing", "entry_disposition_offsetting",
                             "eod_rush_threshold", "daily_liquidity_reallocation")
SIMCASH_IGNORED_AGENT = ("posted_collateral", "collateral_haircut", "limits")


def check_failed(sub: str, message: str) -> PydanticCustomError:
    """An error raised from a model validator that belongs to the key ``sub`` of that model.

    ``sub`` is a dotted path relative to the model ("max", "include.2", "" for the model).
    """
    return PydanticCustomError("paysim_check", "{detail}", {"detail": message, "sub": sub})


class Block(BaseModel):
    """Base of every scenario block: frozen, unknown keys kept for the loader to report."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


# ---- distributions (engine.md 3.6) ----------------------------------------------------------

class UniformAmount(Block):
    """Uniform integer amount in cents, both ends inclusive."""

    type: Literal["Uniform"]
    min: NonNegMoney
    max: Money

    @model_validator(mode="after")
    def _order(self):
        if self.max <= self.min:
            raise check_failed("max", f"must be greater than min ({self.min}), got {self.max}")
        return self


class NormalAmount(Block):
    """Normal amount in cents (non-positive draws become 1)."""

    type: Literal["Normal"]
    mean: Money
    std_dev: PosMoney


class LogNormalAmount(Block):
    """Log-normal amount: mean and std_dev are moments of the amount in cents (engine.md 2.2)."""

    type: Literal["LogNormal"]
    mean: Float
    std_dev: PosFloat


class ExponentialAmount(Block):
    """Exponential amount with rate ``lambda`` (file key), attribute ``lambda_``."""

    type: Literal["Exponential"]
    lambda_: PosFloat = Field(alias="lambda")


AmountDistribution = Annotated[
    Union[UniformAmount, NormalAmount, LogNormalAmount, ExponentialAmount],
    Field(discriminator="type"),
]


class FixedPriority(Block):
    type: Literal["Fixed"]
    value: Priority


class CategoricalPriority(Block):
    type: Literal["Categorical"]
    values: list[Priority]
    weights: list[NonNegFloat]

    @model_validator(mode="after")
    def _shape(self):
        if len(self.values) != len(self.weights):
            raise check_failed("weights", f"must have as many entries as values "
                                          f"({len(self.values)}), got {len(self.weights)}")
        total = 0.0
        for w in self.weights:
            total += w
        if not total > 0:
            raise check_failed("weights", "must sum to more than 0")
        return self


class UniformPriority(Block):
    type: Literal["Uniform"]
    min: Priority
    max: Priority

    @model_validator(mode="after")
    def _order(self):
        if self.min > self.max:
            raise check_failed("max", f"must be >= min ({self.min}), got {self.max}")
        return self


PriorityDistribution = Annotated[
    Union[FixedPriority, CategoricalPriority, UniformPriority],
    Field(discriminator="type"),
]


# ---- arrivals (engine.md 3.4, 3.5) -----------------------------------------------------------

def _pair(value):
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise PydanticCustomError("paysim_pair", "must be a list of exactly 2 integers "
                                      "[min, max], got {n} items", {"n": len(value)})
        return tuple(value)
    raise PydanticCustomError("paysim_pair", "must be a list of exactly 2 integers [min, max]",
                              {})


def _weights_positive(weights: dict[str, float]) -> None:
    if not weights:
        raise check_failed("counterparty_weights", "must not be empty")
    total = 0.0
    for w in weights.values():
        total += w
    if not total > 0:
        raise check_failed("counterparty_weights", "weights must sum to more than 0")


class ArrivalConfig(Block):
    """Poisson arrivals of payments generated for one agent."""

    rate_per_tick: NonNegFloat
    amount_distribution: AmountDistribution
    counterparty_weights: dict[Str, NonNegFloat]
    deadline_range: Annotated[tuple[Int, Int], BeforeValidator(_pair)]
    priority: Priority = 5
    priority_distribution: PriorityDistribution | None = None
    divisible: Bool = False

    @model_validator(mode="after")
    def _checks(self):
        _weights_positive(self.counterparty_weights)
        lo, hi = self.deadline_range
        if lo <= 0:
            raise check_failed("deadline_range", f"min must be > 0, got {lo}")
        if hi < lo:
            raise check_failed("deadline_range", f"max must be >= min ({lo}), got {hi}")
        return self


class ArrivalBand(Block):
    """One priority band of arrivals (urgent 8-10, normal 4-7, low 0-3)."""

    rate_per_tick: NonNegFloat
    amount_distribution: AmountDistribution
    deadline_offset_min: PosInt
    deadline_offset_max: PosInt
    counterparty_weights: dict[Str, NonNegFloat] = Field(default_factory=dict)
    divisible: Bool = False

    @model_validator(mode="after")
    def _order(self):
        if self.deadline_offset_max < self.deadline_offset_min:
            raise check_failed("deadline_offset_max", f"must be >= deadline_offset_min "
                               f"({self.deadline_offset_min}), got {self.deadline_offset_max}")
        return self


class ArrivalBands(Block):
    urgent: ArrivalBand | None = None
    normal: ArrivalBand | None = None
    low: ArrivalBand | None = None

    @model_validator(mode="after")
    def _some(self):
        if self.urgent is None and self.normal is None and self.low is None:
            raise check_failed("", "needs at least one of urgent, normal, low")
        return self

    def configured(self) -> list[tuple[str, ArrivalBand]]:
        """Configured bands in draw order (urgent, normal, low)."""
        return [(n, b) for n, b in (("urgent", self.urgent), ("normal", self.normal),
                                    ("low", self.low)) if b is not None]


class Limits(Block):
    """Per-agent outflow limits in cents (*extended* profile only)."""

    bilateral_limits: dict[Str, NonNegMoney] | None = None
    multilateral_limit: NonNegMoney | None = None


# ---- policies (policy.md 2.1) ----------------------------------------------------------------

class PolicySpec(Block):
    # SimCash documents per-agent ``params`` overrides but never applies them; the loader warns.
    params: dict[str, Any] | None = None

    def builtin_params(self) -> dict[str, int]:
        """The parameters a built-in type injects into its bundled tree."""
        skip = {"type", "params"}
        return {name: getattr(self, name) for name in type(self).model_fields if name not in skip}


class FifoPolicy(PolicySpec):
    type: Literal["Fifo"]


class DeadlinePolicy(PolicySpec):
    type: Literal["Deadline"]
    urgency_threshold: PosInt


class LiquidityAwarePolicy(PolicySpec):
    type: Literal["LiquidityAware"]
    target_buffer: NonNegMoney
    urgency_threshold: PosInt


SplitCount = Annotated[int, BeforeValidator(_as_int), Field(ge=2, le=10)]


class LiquiditySplittingPolicy(PolicySpec):
    type: Literal["LiquiditySplitting"]
    max_splits: SplitCount
    min_split_amount: PosMoney


class MockSplittingPolicy(PolicySpec):
    type: Literal["MockSplitting"]
    num_splits: SplitCount


class FromJsonPolicy(PolicySpec):
    type: Literal["FromJson"]
    json_path: Str

    @field_validator("json_path")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise PydanticCustomError("paysim_check", "must not be empty", {})
        return v


class InlinePolicy(PolicySpec):
    type: Literal["Inline"]
    decision_trees: dict[str, Any]


class InlineJsonPolicy(PolicySpec):
    type: Literal["InlineJson"]
    json_string: Str


PolicyConfig = Annotated[
    Union[FifoPolicy, DeadlinePolicy, LiquidityAwarePolicy, LiquiditySplittingPolicy,
          MockSplittingPolicy, FromJsonPolicy, InlinePolicy, InlineJsonPolicy],
    Field(discriminator="type"),
]


# ---- agents (engine.md 3.3) ------------------------------------------------------------------

class AgentConfig(Block):
    """One bank as written in the file. ``None`` means "not written" (defaults apply)."""

    id: Str
    opening_balance: Money
    unsecured_cap: NonNegMoney = 0
    policy: PolicyConfig | None = None
    policy_id: Str | None = None
    policy_params: dict[Str, Float] | None = None
    arrival_config: ArrivalConfig | None = None
    arrival_bands: ArrivalBands | None = None
    posted_collateral: NonNegMoney | None = None
    collateral_haircut: Fraction | None = None
    max_collateral_capacity: NonNegMoney | None = None
    limits: Limits | None = None
    liquidity_pool: NonNegMoney | None = None
    liquidity_allocation_fraction: Fraction | None = None

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise PydanticCustomError("paysim_check", "must not be empty", {})
        return v

    @model_validator(mode="after")
    def _exclusive(self):
        if self.arrival_config is not None and self.arrival_bands is not None:
            raise check_failed("arrival_bands", "arrival_config and arrival_bands are mutually "
                                                "exclusive; give one of them")
        if self.policy is not None and self.policy_id is not None:
            raise check_failed("", "has both policy and policy_id; give one of them")
        if self.policy_params is not None and self.policy_id is None:
            raise check_failed("policy_params", "only applies together with policy_id "
                                                "(the inline policies format)")
        return self


# ---- costs and LSM (engine.md 3.7, 3.8) ------------------------------------------------------

class Penalty(Block):
    """A penalty, normalised: ``mode`` is "fixed" (``amount`` cents) or "rate" (``bps_per_event``).

    A bare integer in the file means ``{mode: fixed, amount: N}``.
    """

    mode: Literal["fixed", "rate"]
    amount: NonNegMoney | None = None
    bps_per_event: NonNegFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"mode": "fixed", "amount": data}
        if not isinstance(data, dict):
            raise check_failed("", "must be an integer (cents), {mode: fixed, amount: N} or "
                                   "{mode: rate, bps_per_event: X}")
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        # The file may also give a bare number of cents (see _from_number).
        return {"anyOf": [{"type": "integer", "minimum": 0,
                           "description": "a fixed penalty in cents"},
                          handler(core_schema)]}

    @model_validator(mode="after")
    def _required_field(self):
        if self.mode == "fixed" and self.amount is None:
            raise check_failed("amount", "required when mode is 'fixed'")
        if self.mode == "rate" and self.bps_per_event is None:
            raise check_failed("bps_per_event", "required when mode is 'rate'")
        return self


class PriorityDelayMultipliers(Block):
    urgent_multiplier: NonNegFloat = 1.0
    normal_multiplier: NonNegFloat = 1.0
    low_multiplier: NonNegFloat = 1.0


def _default_eod() -> Penalty:
    return Penalty(mode="fixed", amount=10000)


def _default_deadline() -> Penalty:
    return Penalty(mode="fixed", amount=50000)


class CostRates(Block):
    overdraft_bps_per_tick: NonNegFloat = 0.001
    delay_cost_per_tick_per_cent: NonNegFloat = 0.0001
    collateral_cost_per_tick_bps: NonNegFloat = 0.0002
    eod_penalty: Penalty = Field(default_factory=_default_eod,
                                 validation_alias=AliasChoices("eod_penalty",
                                                               "eod_penalty_per_transaction"))
    deadline_penalty: Penalty = Field(default_factory=_default_deadline)
    split_friction_cost: NonNegMoney = 1000
    overdue_delay_multiplier: NonNegFloat = 5.0
    priority_delay_multipliers: PriorityDelayMultipliers | None = None
    liquidity_cost_per_tick_bps: NonNegFloat = 0.0
    # Castro et al.'s r_b (extended profile only): fraction of what is still unsent at the end
    # of the day, charged as the cost of borrowing it from the central bank.
    eod_borrowing_rate: NonNegFloat = 0.0

    @model_validator(mode="before")
    @classmethod
    def _one_eod_spelling(cls, data):
        both = isinstance(data, dict) and "eod_penalty" in data \
            and "eod_penalty_per_transaction" in data
        if both:
            raise PydanticCustomError(
                "paysim_check", "give only one of eod_penalty and eod_penalty_per_transaction "
                "(they are the same setting)", {})
        return data


class LsmConfig(Block):
    enable_bilateral: Bool = True
    enable_cycles: Bool = True
    max_cycle_length: Annotated[int, BeforeValidator(_as_int), Field(ge=3, le=10)] = 4
    max_cycles_per_tick: Annotated[int, BeforeValidator(_as_int), Field(ge=1, le=100)] = 10


class PriorityEscalation(Block):
    enabled: Bool = False
    curve: Str = "linear"
    start_escalating_at_ticks: NonNegInt = 20
    max_boost: Annotated[int, BeforeValidator(_as_int), Field(ge=0, le=255)] = 3


class _Toggles(Block):
    include: list[Str] | None = None
    exclude: list[Str] | None = None

    categories: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _check(self):
        if self.include is not None and self.exclude is not None:
            raise check_failed("", "give include or exclude, not both")
        for key in ("include", "exclude"):
            for i, name in enumerate(getattr(self, key) or ()):
                if name not in self.categories:
                    raise check_failed(f"{key}.{i}", f"unknown category {name!r}; accepted: "
                                                     + ", ".join(self.categories))
        return self


class PolicyFeatureToggles(_Toggles):
    categories: ClassVar[tuple[str, ...]] = POLICY_FEATURE_CATEGORIES


class CostFeatureToggles(_Toggles):
    categories: ClassVar[tuple[str, ...]] = COST_FEATURE_CATEGORIES


# ---- scenario events (engine.md 3.10, 8) -----------------------------------------------------

class OneTime(Block):
    type: Literal["OneTime"]
    tick: NonNegInt


class Repeating(Block):
    type: Literal["Repeating"]
    start_tick: NonNegInt
    interval: PosInt


Schedule = Annotated[Union[OneTime, Repeating], Field(discriminator="type")]


class _Event(Block):
    schedule: Schedule


class DirectTransfer(_Event):
    type: Literal["DirectTransfer"]
    from_agent: Str
    to_agent: Str
    amount: PosMoney


class CustomTransactionArrival(_Event):
    """``None`` fields take the engine defaults: priority 5, auto deadline, not divisible."""

    type: Literal["CustomTransactionArrival"]
    from_agent: Str
    to_agent: Str
    amount: PosMoney
    priority: Priority | None = None
    deadline: PosInt | None = None
    is_divisible: Bool | None = None


class CollateralAdjustment(_Event):
    type: Literal["CollateralAdjustment"]
    agent: Str
    delta: Money


class GlobalArrivalRateChange(_Event):
    type: Literal["GlobalArrivalRateChange"]
    multiplier: PosFloat


class AgentArrivalRateChange(_Event):
    type: Literal["AgentArrivalRateChange"]
    agent: Str
    multiplier: PosFloat


class CounterpartyWeightChange(_Event):
    type: Literal["CounterpartyWeightChange"]
    agent: Str
    counterparty: Str
    new_weight: Fraction
    auto_balance_others: Bool = False


class DeadlineWindowChange(_Event):
    type: Literal["DeadlineWindowChange"]
    min_ticks_multiplier: PosFloat | None = None
    max_ticks_multiplier: PosFloat | None = None

    @model_validator(mode="after")
    def _some(self):
        if self.min_ticks_multiplier is None and self.max_ticks_multiplier is None:
            raise check_failed("", "needs min_ticks_multiplier or max_ticks_multiplier "
                                   "(or both)")
        return self


class ScheduledSettlement(_Event):
    type: Literal["ScheduledSettlement"]
    from_agent: Str
    to_agent: Str
    amount: PosMoney


class ParticipantOutage(Block):
    """The bank cannot send from ``start_tick`` up to (not including) ``end_tick``.

    Extended profile only. Its payments wait (in Queue 2); payments to it still settle.
    """

    type: Literal["ParticipantOutage"]
    agent: Str
    start_tick: NonNegInt
    end_tick: PosInt

    @model_validator(mode="after")
    def _window(self):
        if self.end_tick <= self.start_tick:
            raise check_failed("end_tick", f"must be after start_tick ({self.start_tick}), "
                                           f"got {self.end_tick}")
        return self


class ParticipantFailure(Block):
    """From ``tick`` on the bank neither sends nor receives (extended profile only)."""

    type: Literal["ParticipantFailure"]
    agent: Str
    tick: NonNegInt


class CollateralHaircutChange(_Event):
    """Sets the collateral haircut of ``agent`` (every bank when omitted): a shock to the value
    of posted collateral (extended profile only)."""

    type: Literal["CollateralHaircutChange"]
    haircut: Fraction
    agent: Str | None = None


ScenarioEvent = Annotated[
    Union[DirectTransfer, CustomTransactionArrival, CollateralAdjustment,
          GlobalArrivalRateChange, AgentArrivalRateChange, CounterpartyWeightChange,
          DeadlineWindowChange, ScheduledSettlement, ParticipantOutage, ParticipantFailure,
          CollateralHaircutChange],
    Field(discriminator="type"),
]

#: Event fields that must name an existing agent.
EVENT_AGENT_FIELDS = ("from_agent", "to_agent", "agent", "counterparty")


# ---- payments table (docs/payments.md) -------------------------------------------------------

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
