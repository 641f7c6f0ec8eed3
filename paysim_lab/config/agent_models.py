"""A bank in a scenario (engine.md 3.3): its arrivals (3.4, 3.5), its policy (policy.md 2.1)
and its limits."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .fields import (Bool, Float, Fraction, Int, Money, NonNegFloat, NonNegMoney, PosInt, PosMoney,
                     Priority, Str, _as_int)
from .model_base import AmountDistribution, Block, PriorityDistribution, check_failed


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
