"""The ground of the scenario models: :class:`Block` (frozen, unknown keys kept), the names
of each tagged union (for "did you mean" hints), the keys SimCash ignores, and the amount and
priority distributions (engine.md 3.6)."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .fields import Float, Money, NonNegFloat, NonNegMoney, PosFloat, PosMoney, Priority



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
