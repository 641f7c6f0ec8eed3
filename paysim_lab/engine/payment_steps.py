"""Steps S8-S9 of :meth:`Engine.tick <paysim_lab.engine.tick.Engine.tick>`: payment trees over
Queue 1 (releases, holds, drops, splits, priority escalation) and over Queue 2."""
from __future__ import annotations

import logging

from ..errors import PolicyRuntimeError, SimulationError
from .decisions import Decision
from .rng import round_half_away
from .settlement import compact_queue2, leave_queue2
from .state import Agent, C_FRICTION, IN_QUEUE1, IN_QUEUE2, NOWHERE, Transaction

log = logging.getLogger("paysim_lab.policy")

#: Extended profile: the most children one Split / StaggerSplit / PaceAndRelease creates.
#: A policy asking for more (e.g. 1-cent children of a 1,000,000-cent payment, a million
#: payments in one tick) gets this many; PolicySplit's num_splits keeps what was asked and
#: child_ids lists the children made. The simcash profile splits as asked (docs/deviations.md).
MAX_SPLIT_CHILDREN = 1000

# Queue 1 decisions for staggered children in the extended profile (no tree is evaluated).
STAGGER_WAIT = Decision("StaggerWait")
STAGGER_RELEASE = Decision("StaggerRelease")


class PaymentSteps:
    """Payment decisions over Queue 1 and Queue 2 (S8-S9); a part of
    :class:`~paysim_lab.engine.tick.Engine`, whose state it uses."""

    # ------------------------------------------------------------------ S8
    def payment_decisions_queue1(self, t: int) -> None:
        w = self.world
        cfg = self.config
        q1_agents = [a for a in w.agent_list if a.queue1]              # S8a
        if cfg.escalation_enabled:
            self.escalate_priorities(t)                                # S8b
        if not q1_agents:
            return
        if cfg.queue1_priority_deadline:                               # S8c
            for a in q1_agents:
                a.queue1.sort(key=lambda tx: (-tx.priority, tx.deadline_tick))
        env = self.env
        for a in q1_agents:                                            # S8d
            pol = a.policy
            env.agent = a
            env.kind = "payment"
            queue = a.queue1
            decisions = []
            if pol is None or not pol.has_payment_tree:
                raise PolicyRuntimeError("InvalidTree", "payment_tree is not defined",
                                         agent_id=a.id, tick=t, tree="payment_tree",
                                         tx_id=queue[0].tx_id)
            payment = pol.payment
            for tx in queue:
                if tx.release_at is not None:  # extended: a staggered child waits for its tick
                    decisions.append(STAGGER_WAIT if tx.release_at > t else STAGGER_RELEASE)
                    continue
                env.tx = tx
                try:
                    decisions.append(payment(env))
                except PolicyRuntimeError as exc:
                    raise self._located(exc, a, t, "payment_tree", tx) from None
            self.apply_queue1_decisions(a, queue, decisions, t)

    def escalate_priorities(self, t: int) -> None:
        cfg = self.config
        S = cfg.escalation_start
        max_boost = cfg.escalation_max_boost
        events = self.world.events
        changed = self.world.changed_payments
        keep = []
        for tx in self.escalation_live:
            if tx.remaining_amount <= 0:
                continue
            r = tx.deadline_tick - t
            if r < 0:
                r = 0
            if r <= S:
                progress = 1.0 if S == 0 else 1.0 - r / S
                boost = round_half_away(max_boost * progress)
                esc = min(10, tx.original_priority + boost)
                if esc > tx.priority:
                    tx.priority = esc
                    changed.append(tx)
                    events.append(("PriorityEscalated", t, tx.tx_id, tx.sender_id,
                                   tx.original_priority, esc, r, boost))
            if r > 0 or tx.priority < min(10, tx.original_priority + max_boost):
                keep.append(tx)  # once past the deadline at full boost nothing can change
        self.escalation_live = keep

    def apply_queue1_decisions(self, a: Agent, queue: list[Transaction],
                               decisions: list[Decision], t: int) -> None:
        w = self.world
        events = w.events
        kept: list[Transaction] = []
        tail: list[Transaction] = []
        for tx, d in zip(queue, decisions):
            act = d.action
            if act == "Release":
                if d.priority_flag is not None:
                    tx.priority = min(d.priority_flag, 10)
                    w.changed_payments.append(tx)
                if d.timed_for_tick is not None and d.timed_for_tick > t:
                    kept.append(tx)
                    continue
                x = tx.remaining_amount
                budget = a.release_budget
                if budget is not None and not budget.allows(tx.receiver_id, x):
                    kept.append(tx)
                    events.append(("PolicyHold", t, a.id, tx.tx_id, "BudgetExhausted", d.path))
                    continue
                if budget is not None:
                    budget.consume(tx.receiver_id, x)
                a.queue1_value -= x
                tx.location = NOWHERE
                self.submit(tx, t)
                events.append(("PolicySubmit", t, a.id, tx.tx_id, d.path))
            elif act == "Hold":
                kept.append(tx)
                events.append(("PolicyHold", t, a.id, tx.tx_id, d.reason, d.path))
            elif act == "StaggerWait":
                kept.append(tx)
            elif act == "StaggerRelease":
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                tx.release_at = None
                self.submit(tx, t)
            elif act == "Split" or act == "StaggerSplit":
                n = d.num_splits
                if n is None or n < 2:
                    raise PolicyRuntimeError(
                        "InvalidActionParameter", "num_splits must be >= 2", agent_id=a.id,
                        tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
                if act == "StaggerSplit" and d.first_now > n:
                    raise PolicyRuntimeError(
                        "InvalidActionParameter", "stagger_first_now cannot exceed num_splits",
                        agent_id=a.id, tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                self.split(a, tx, d, t, tail)
            elif act == "Drop":
                a.queue1_value -= tx.remaining_amount
                tx.location = NOWHERE
                tx.dropped = True
                tx.mark_overdue(t)
                w.changed_payments.append(tx)
                events.append(("PolicyDrop", t, a.id, tx.tx_id, "Expired deadline", d.path))
            elif act == "Reprioritize":
                old = tx.priority
                tx.priority = min(d.new_priority, 10)
                w.changed_payments.append(tx)
                kept.append(tx)
                events.append(("TransactionReprioritized", t, a.id, tx.tx_id, old,
                               tx.priority if self.config.fixes else d.new_priority, d.path))
            elif act == "WithdrawFromRtgs":
                kept.append(tx)
                events.append(("PolicyHold", t, a.id, tx.tx_id,
                               f"WithdrawFromRtgs failed: Settlement error: Transaction "
                               f"{tx.tx_id} not found in RTGS Queue 2", None))
            elif act == "ResubmitToRtgs":
                old = tx.declared_rtgs_priority
                tx.declared_rtgs_priority = d.rtgs_priority
                kept.append(tx)  # [DEVIATION] the reference also appends a duplicate entry
                events.append(("RtgsResubmission", t, tx.tx_id, a.id,
                               old if old is not None else "None", d.rtgs_priority))
            else:
                raise PolicyRuntimeError("InvalidActionType",
                                         f"{act} is not valid in payment_tree", agent_id=a.id,
                                         tick=t, tree="payment_tree", tx_id=tx.tx_id, path=d.path)
        for tx in tail:
            kept.append(tx)
            a.queue1_value += tx.remaining_amount
            tx.location = IN_QUEUE1
        a.queue1 = kept

    def submit(self, tx: Transaction, t: int, *, with_event: bool = True) -> None:
        """Hand a released payment to RTGS for this tick's settlement attempt (S10)."""
        if with_event:
            tx.rtgs_priority = tx.declared_rtgs_priority or "Normal"
            tx.rtgs_submission_tick = t
            self.world.changed_payments.append(tx)
            self.world.events.append(("RtgsSubmission", t, tx.tx_id, tx.sender_id,
                                      tx.receiver_id, tx.remaining_amount, tx.priority,
                                      tx.rtgs_priority))
        self.pending.append(tx)

    def split(self, a: Agent, parent: Transaction, d: Decision, t: int,
              tail: list[Transaction]) -> None:
        asked = d.num_splits
        fixes = self.config.fixes
        # extended: bounded, so one decision cannot flood a tick with payments (defect 19)
        n = min(asked, MAX_SPLIT_CHILDREN) if fixes else asked
        stagger = d.action == "StaggerSplit"
        base = parent.amount // n
        if base == 0:
            raise SimulationError(
                f"agent {a.id}, tick {t}: splitting {parent.tx_id} ({parent.amount} cents) into "
                f"{n} parts would create a zero-amount payment")
        prio = min(parent.priority + (d.boost or 0), 10) if stagger else parent.priority
        events = self.world.events
        child_ids = []
        first_now = min(d.first_now, n) if stagger else n
        gap = (d.gap or 0) if stagger else 0
        for i in range(n):
            amount = base if i < n - 1 else base + parent.amount % n
            child = self.new_transaction(a, parent.receiver_id, amount, parent.arrival_tick,
                                         parent.deadline_tick, prio, parent_id=parent.tx_id,
                                         split_index=i + 1)
            child_ids.append(child.tx_id)
            events.append(("Arrival", t, child.tx_id, a.id, child.receiver_id, amount,
                           child.deadline_tick, prio, False))
            if not stagger:
                child.declared_rtgs_priority = parent.declared_rtgs_priority
                self.submit(child, t)
            elif fixes:
                # extended: every child is submitted with its RtgsSubmission event, child i
                # (0-based) >= first_now at tick t + (i - first_now + 1) * gap
                due = t + (i - first_now + 1) * gap if i >= first_now else t
                child.declared_rtgs_priority = parent.declared_rtgs_priority
                if due <= t:
                    self.submit(child, t)
                else:
                    child.release_at = due
                    tail.append(child)
            elif i < first_now:
                self.submit(child, t, with_event=False)  # [QUIRK] no RtgsSubmission, no priority
            else:
                tail.append(child)
        parent.child_ids = child_ids
        friction = self.rates.friction * (n - 1)
        if friction > 0:
            a.cost_run[C_FRICTION] += friction
            a.cost_day[C_FRICTION] += friction
            self.stats.friction_cost += friction
            events.append(("CostAccrual", t, a.id, 0, 0, 0, 0, friction, friction, 0, "split"))
        events.append(("PolicySplit", t, a.id, parent.tx_id, asked, child_ids, d.path))

    # ------------------------------------------------------------------ S9
    def payment_decisions_queue2(self, t: int) -> None:
        w = self.world
        if not w.queue2:
            return
        users = {a.id for a in w.agent_list
                 if a.policy is not None and a.policy.has_payment_tree
                 and a.policy.uses_queue2_actions}
        if not users:
            return
        by_sender: dict[str, list[Transaction]] = {}
        for tx in w.queue2:
            if tx.location == IN_QUEUE2 and tx.sender_id in users:
                by_sender.setdefault(tx.sender_id, []).append(tx)
        collected: list[tuple[Agent, Transaction, Decision]] = []
        env = self.env
        for a in w.agent_list:
            txs = by_sender.get(a.id)
            if not txs:
                continue
            env.agent = a
            env.kind = "payment"
            for tx in txs:
                env.tx = tx
                try:
                    d = a.policy.payment(env)
                except PolicyRuntimeError as exc:
                    log.debug("Queue 2 pass: %s treated as hold", exc)
                    continue
                if d.action in ("WithdrawFromRtgs", "ResubmitToRtgs"):
                    collected.append((a, tx, d))
        if not collected:
            return
        events = w.events
        for a, tx, d in collected:
            if tx.location != IN_QUEUE2:
                reason = (f"Settlement error: Transaction {tx.tx_id} not found in RTGS Queue 2")
                text = ("WithdrawFromRtgs failed: " if d.action == "WithdrawFromRtgs"
                        else "ResubmitToRtgs withdraw step failed: ") + reason
                events.append(("PolicyHold", t, a.id, tx.tx_id, text, None))
                continue
            leave_queue2(w, tx)
            original = tx.rtgs_priority
            tx.rtgs_priority = None
            w.changed_payments.append(tx)
            tx.rtgs_submission_tick = None
            events.append(("RtgsWithdrawal", t, tx.tx_id, a.id,
                           original if original is not None else "None"))
            if d.action == "WithdrawFromRtgs":
                tx.withdrawn = True
                continue
            old = tx.declared_rtgs_priority
            tx.declared_rtgs_priority = d.rtgs_priority
            self.enqueue_queue1(a, tx)
            events.append(("RtgsResubmission", t, tx.tx_id, a.id,
                           old if old is not None else "None", d.rtgs_priority))
        compact_queue2(w)
