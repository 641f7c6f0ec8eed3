"""Scenario events and their schedules (engine.md 3.10, 8)."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .fields import Bool, Fraction, Money, NonNegInt, PosFloat, PosInt, PosMoney, Priority, Str
from .model_base import Block, check_failed


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
