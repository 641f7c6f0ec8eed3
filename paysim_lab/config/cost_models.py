"""Cost rates, the LSM, priority escalation and the feature toggles (engine.md 3.7, 3.8)."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AliasChoices, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from .fields import Bool, NonNegFloat, NonNegInt, NonNegMoney, Str, _as_int
from .model_base import Block, COST_FEATURE_CATEGORIES, POLICY_FEATURE_CATEGORIES, check_failed


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
