"""Steps S5-S7 and S13 of :meth:`Engine.tick <paysim_lab.engine.tick.Engine.tick>`: the
collateral trees (strategic and end-of-tick), the bank trees and the collateral timers."""
from __future__ import annotations

import logging

from ..errors import PolicyRuntimeError, SimulationError
from .decisions import Decision, EvalEnv
from .state import Agent, ReleaseBudget, Transaction

log = logging.getLogger("paysim_lab.policy")


class PolicySteps:
    """The collateral and bank trees and the collateral timers (S5-S7, S13); a part of
    :class:`~paysim_lab.engine.tick.Engine`, whose state it uses."""

    # ------------------------------------------------------------------ policy calls
    def _located(self, exc: PolicyRuntimeError, agent: Agent, t: int, tree: str,
                 tx: Transaction | None = None) -> PolicyRuntimeError:
        return exc.located(agent_id=agent.id, tick=t, tree=tree,
                           tx_id=tx.tx_id if tx is not None else None)

    def _collateral_env(self, agent: Agent, t: int) -> EvalEnv:
        ph = self.placeholder
        ph.sender_id = agent.id
        ph.arrival_tick = t
        ph.deadline_tick = t + 1
        env = self.env
        env.agent = agent
        env.tx = ph
        env.kind = "collateral"
        return env

    # ------------------------------------------------------------------ S5 / S13
    def collateral_trees(self, t: int, layer: str) -> None:
        for a in self.world.agent_list:
            pol = a.policy
            if pol is None:
                continue
            has = pol.has_strategic_tree if layer == "strategic" else pol.has_end_of_tick_tree
            if not has:
                continue
            env = self._collateral_env(a, t)
            try:
                d = (pol.strategic_collateral(env) if layer == "strategic"
                     else pol.end_of_tick_collateral(env))
            except PolicyRuntimeError as exc:
                tree = ("strategic_collateral_tree" if layer == "strategic"
                        else "end_of_tick_collateral_tree")
                raise self._located(exc, a, t, tree) from None
            self.execute_collateral(a, d, t, layer)

    def execute_collateral(self, a: Agent, d: Decision, t: int, layer: str) -> None:
        act = d.action
        w = self.world
        if act == "PostCollateral":
            amount = d.amount
            remaining = a.remaining_collateral_capacity
            if amount > remaining:
                if not self.config.fixes:
                    raise SimulationError(
                        f"agent {a.id}, tick {t}: tried to post {amount} collateral but only "
                        f"has {remaining} capacity remaining")
                # extended: post what the capacity allows and say what was asked for
                posted = remaining if remaining > 0 else 0
                w.events.append(("CollateralPostCapped", t, a.id, amount, posted, remaining,
                                 d.reason, layer, d.path))
                if posted == 0:
                    return
                amount = posted
            a.posted_collateral += amount
            timer = d.timer
            due = None
            if timer is not None:
                due = t + timer
                a.collateral_timers.setdefault(due, []).append((amount, d.reason, t))
            w.events.append(("CollateralPost", t, a.id, amount, d.reason, a.posted_collateral,
                             layer, timer, due, a.balance, d.path))
        elif act == "WithdrawCollateral":
            actual = min(d.amount, a.posted_collateral)
            if self.config.fixes:
                # extended: never withdraw collateral that backs credit in use
                actual = min(actual, a.max_withdrawable_collateral(0))
            if actual <= 0:
                return
            a.posted_collateral -= actual
            w.events.append(("CollateralWithdraw", t, a.id, actual, d.reason, a.posted_collateral,
                             layer, a.balance, d.path))
        elif act == "HoldCollateral":
            return
        else:
            raise PolicyRuntimeError("InvalidActionType", f"{act} is not a collateral action",
                                     agent_id=a.id, tick=t, path=d.path)

    # ------------------------------------------------------------------ S6
    def bank_trees(self, t: int) -> None:
        w = self.world
        env = self.env
        for a in w.agent_list:
            pol = a.policy
            if pol is None or not pol.has_bank_tree:
                a.release_budget = None
                continue
            if self.config.fixes:
                # extended: a budget lasts one tick; SetState/AddState do not keep last tick's
                a.release_budget = None
            env.agent = a
            env.tx = None
            env.kind = "bank"
            try:
                decisions = pol.bank(env)
            except PolicyRuntimeError as exc:
                raise self._located(exc, a, t, "bank_tree") from None
            for d in decisions:
                self.execute_bank(a, d, t)

    def execute_bank(self, a: Agent, d: Decision, t: int) -> None:
        act = d.action
        w = self.world
        if act == "SetReleaseBudget":
            a.release_budget = ReleaseBudget(d.max_value, d.focus, d.per_counterparty)
            w.events.append(("BankBudgetSet", t, a.id, d.max_value,
                             list(d.focus) if d.focus is not None else None,
                             d.per_counterparty, d.path))
        elif act == "SetState" or act == "AddState":
            key = d.key
            regs = a.state_registers
            if not key.startswith("bank_state_") and not self.config.prefix_free_registers:
                log.warning("agent %s tick %d: register key %r lacks the bank_state_ prefix; "
                            "write ignored (reason %s)", a.id, t, key, d.reason)
                return
            if key not in regs and len(regs) >= 10:
                log.warning("agent %s tick %d: register %r rejected: 10 registers already set "
                            "(reason %s)", a.id, t, key, d.reason)
                return
            old = regs.get(key, 0.0)
            new = float(d.value) if act == "SetState" else old + float(d.value)
            regs[key] = new
            w.events.append(("StateRegisterSet", t, a.id, key, old, new, d.reason, d.path))
        elif act in ("PostCollateral", "WithdrawCollateral", "HoldCollateral"):
            if self.config.collateral_in_bank_tree:
                self.execute_collateral(a, d, t, "bank")
            else:
                a.release_budget = None
        else:  # NoAction and any non-bank action (policy.md 11.1: behaves as NoAction)
            a.release_budget = None

    # ------------------------------------------------------------------ S7
    def fire_collateral_timers(self, t: int) -> None:
        w = self.world
        for a in w.agent_list:
            if not a.collateral_timers:
                continue
            due = a.collateral_timers.pop(t, None)
            if not due:
                continue
            for requested, reason, posted_at in due:
                if requested <= 0:
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     "Withdrawal amount must be positive", reason, posted_at))
                    continue
                pa = a.collateral_posted_at_tick
                if pa is not None and t - pa < 5:
                    left = 5 - (t - pa)
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     f"Minimum holding period not met: {left} tick(s) remaining "
                                     f"(posted at tick {pa})", reason, posted_at))
                    continue
                # The reference keeps a 100-cent safety buffer even when no credit is in use
                # (so ceil(100 / (1 - haircut)) cents stay posted); extended keeps only what
                # backs the credit actually used.
                max_safe = a.max_withdrawable_collateral(0 if self.config.fixes else 100)
                if max_safe <= 0:
                    used = a.credit_used
                    limit = a.allowed_overdraft_limit
                    w.events.append(("CollateralTimerBlocked", t, a.id, requested,
                                     f"No headroom available for withdrawal: credit_used={used}, "
                                     f"allowed_limit={limit}, headroom={limit - used}",
                                     reason, posted_at))
                    continue
                actual = min(requested, max_safe, a.posted_collateral)
                a.posted_collateral -= actual
                if a.posted_collateral == 0:
                    a.collateral_posted_at_tick = None
                w.events.append(("CollateralTimerWithdrawn", t, a.id, actual, reason, posted_at,
                                 a.posted_collateral, a.balance))
