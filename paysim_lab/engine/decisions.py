"""What a policy tree hands to the engine: one :class:`Decision` per tree walk.

This module is the contract between ``paysim_lab.policy`` (which compiles trees and evaluates
them) and the tick loop (which executes decisions and emits events). Action names are
canonical: ``ReleaseWithCredit`` arrives as ``Release`` and ``PaceAndRelease`` as ``Split``.
Parameters are already evaluated and converted with the numeric rules of policy.md 8.1, so the
engine never sees a tree.

>>> d = Decision("Hold", path="P1(false) → H1", reason="InsufficientLiquidity")
>>> d.action, d.reason
('Hold', 'InsufficientLiquidity')
"""
from __future__ import annotations

PAYMENT_ACTIONS = ("Release", "Split", "StaggerSplit", "Hold", "Drop", "Reprioritize",
                   "WithdrawFromRtgs", "ResubmitToRtgs")
BANK_ACTIONS = ("SetReleaseBudget", "SetState", "AddState", "NoAction")
COLLATERAL_ACTIONS = ("PostCollateral", "WithdrawCollateral", "HoldCollateral")


class Decision:
    """An evaluated action.

    Fields used per action (all others stay None):

    - Release: ``priority_flag`` (int 0..10 or None), ``timed_for_tick`` (int or None)
    - Split: ``num_splits`` (int >= 2; the compiler raises InvalidActionParameter otherwise)
    - StaggerSplit: ``num_splits``, ``first_now``, ``gap``, ``boost``
    - Hold: ``reason`` (the rendered PolicyHold reason text, e.g. ``Custom("x")``)
    - Drop, WithdrawFromRtgs, NoAction, HoldCollateral: nothing
    - Reprioritize: ``new_priority`` (int 0..255, not capped)
    - ResubmitToRtgs: ``rtgs_priority`` (validated string)
    - SetReleaseBudget: ``max_value`` (int), ``focus`` (list[str] or None),
      ``per_counterparty`` (int or None)
    - SetState / AddState: ``key`` (str), ``value`` (float), ``reason`` (str)
    - PostCollateral: ``amount`` (int > 0), ``reason`` (one of the six names), ``timer``
      (int ticks or None)
    - WithdrawCollateral: ``amount`` (int > 0), ``reason``

    ``path`` is the decision-path text of policy.md 12. Decisions whose parameters are all
    constants are built once by the compiler and shared: treat every Decision as read-only.
    """

    __slots__ = ("action", "path", "priority_flag", "timed_for_tick", "num_splits", "first_now",
                 "gap", "boost", "reason", "new_priority", "rtgs_priority", "max_value", "focus",
                 "per_counterparty", "key", "value", "amount", "timer")

    def __init__(self, action: str, path: str | None = None, **params):
        self.action = action
        self.path = path
        self.priority_flag = None
        self.timed_for_tick = None
        self.num_splits = None
        self.first_now = None
        self.gap = None
        self.boost = None
        self.reason = None
        self.new_priority = None
        self.rtgs_priority = None
        self.max_value = None
        self.focus = None
        self.per_counterparty = None
        self.key = None
        self.value = None
        self.amount = None
        self.timer = None
        for k, v in params.items():
            setattr(self, k, v)

    def __repr__(self) -> str:  # pragma: no cover
        fields = {k: getattr(self, k) for k in self.__slots__[2:] if getattr(self, k) is not None}
        return f"Decision({self.action}, {fields}, path={self.path!r})"


class EvalEnv:
    """What a compiled tree reads when it is evaluated.

    ``world`` is the engine's World, ``agent`` the evaluating bank, ``tx`` the payment (payment
    tree), a placeholder payment of 1 cent (collateral trees, policy.md 10.1) or None (bank
    tree). ``kind`` is ``"payment"``, ``"bank"`` or ``"collateral"``. The engine reuses one
    instance and reassigns its fields, so compiled code must not keep a reference to it.
    """

    __slots__ = ("world", "agent", "tx", "kind")

    def __init__(self, world, agent=None, tx=None, kind: str = "payment"):
        self.world = world
        self.agent = agent
        self.tx = tx
        self.kind = kind
