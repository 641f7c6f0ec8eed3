"""Steps S10-S16 of :meth:`Engine.tick <paysim_lab.engine.tick.Engine.tick>`: RTGS submission and
settlement, the Queue 2 pass, the LSM, deferred credits, cost accrual and the end of day."""
from __future__ import annotations

from . import costs as C
from .settlement import (enqueue_queue2, fifo_pass, gated, limits_ok, rebuild_queue2_index,
                         reduce_parent, settle)
from .state import (Agent, C_COLLATERAL, C_DEADLINE, C_DELAY, C_EOD, C_LIQ_OPP, C_OVERDRAFT,
                    IN_QUEUE2, OVERDUE, PENDING, RTGS_RANK, Transaction)

_HUGE = float("inf")


class SettlementSteps:
    """Settlement, the LSM, deferred credits, costs and the end of day (S10-S16); a part
    of :class:`~paysim_lab.engine.tick.Engine`, whose state it uses."""

    # ------------------------------------------------------------------ S10
    def submit_pending(self, t: int) -> None:
        w = self.world
        agents = w.agents
        events = w.events
        deferred = self.deferred
        costs = w.costs
        gate = w.gated
        for tx in self.pending:
            x = tx.remaining_amount
            sender = agents[tx.sender_id]
            rid = tx.receiver_id
            ok_liq = x <= sender.available_liquidity
            ok_limits = limits_ok(sender, rid, x)
            if not ok_limits:
                self.limit_events(sender, tx, x, t)
            if ok_liq and ok_limits and not (gate and gated(w, tx)):
                was_overdue = tx.status == OVERDUE
                before = sender.balance
                settle(w, tx, t, "rtgs", deferred)
                if tx.parent_id is not None:
                    reduce_parent(w, tx, t)
                self.stats.settled_rtgs += 1
                if was_overdue:
                    since = tx.overdue_tick
                    ticks = t - since
                    events.append(("OverdueTransactionSettled", t, tx.tx_id, tx.sender_id, rid,
                                   tx.amount, x, tx.deadline_tick, since, ticks,
                                   costs.deadline_penalty.resolve(tx.amount),
                                   C.estimated_delay_cost(x, costs.delay_cost_per_tick_per_cent,
                                                          costs.overdue_delay_multiplier, ticks)))
                events.append(("RtgsImmediateSettlement", t, tx.tx_id, tx.sender_id, rid, x,
                               before, sender.balance))
            else:
                enqueue_queue2(w, tx)
                events.append(("QueuedRtgs", t, tx.tx_id, tx.sender_id))
        self.pending = []

    def limit_events(self, sender: Agent, tx: Transaction, x: int, t: int) -> None:
        """Which limit refused ``tx`` at submission (emitted whatever the liquidity outcome)."""
        events = self.world.events
        rid = tx.receiver_id
        lim = sender.bilateral_limits.get(rid)
        if lim is not None:
            cur = sender.bilateral_outflows.get(rid, 0)
            if cur + x > lim:
                events.append(("BilateralLimitExceeded", t, sender.id, rid, tx.tx_id, x, cur, lim))
        ml = sender.multilateral_limit
        if ml is not None and sender.total_outflow + x > ml:
            events.append(("MultilateralLimitExceeded", t, sender.id, tx.tx_id, x,
                           sender.total_outflow, ml))

    # ------------------------------------------------------------------ S11
    def queue2_pass(self, t: int) -> None:
        w = self.world
        if self.config.priority_mode and w.queue2:
            w.queue2.sort(key=lambda tx: (RTGS_RANK.get(tx.rtgs_priority, 2),
                                          tx.rtgs_submission_tick
                                          if tx.rtgs_submission_tick is not None else _HUGE))
        count, value = (fifo_pass(w, t, self.deferred, "Queue2LiquidityRelease",
                                  "liquidity_available", "queue2") if w.queue2 else (0, 0))
        self.stats.settled_queue2 += count
        if self.config.algorithm_sequencing:
            w.events.append(("AlgorithmExecution", t, 1, "Success" if count > 0 else "NoProgress",
                             count, value))

    # ------------------------------------------------------------------ S12
    def lsm_pass(self, t: int) -> None:
        w = self.world
        cfg = self.config
        full = None
        if w.gated and w.queue2:
            # payments an outage or failure holds are invisible to the LSM; it only removes
            # entries, so the queue afterwards is the full one minus what settled, in order
            full = w.queue2
            w.queue2 = [tx for tx in full if not gated(w, tx)]
        if w.queue2:
            from .lsm import run_lsm
            res = run_lsm(w, t, cfg.lsm, self.deferred, cfg.entry_disposition, fixes=cfg.fixes)
            st = self.stats
            st.settled_lsm_bilateral += res.bilateral_tx_settled
            st.settled_lsm_cycle += res.cycle_tx_settled
            st.settled_lsm_retry += res.retry_tx_settled
            st.reference_settlements += res.pairs_examined + res.cycles_settled
            pairs, bil_value, cycles, cyc_value = (res.pairs_examined, res.bilateral_value,
                                                   res.cycles_settled, res.cycle_value)
        else:
            pairs = bil_value = cycles = cyc_value = 0
        if full is not None:
            w.queue2 = [tx for tx in full if tx.location == IN_QUEUE2]
        if cfg.algorithm_sequencing:
            w.events.append(("AlgorithmExecution", t, 2, "Success" if pairs > 0 else "NoProgress",
                             pairs, bil_value))
            w.events.append(("AlgorithmExecution", t, 3,
                             "Success" if cycles > 0 else "NoProgress", cycles, cyc_value))
        rebuild_queue2_index(w)

    # ------------------------------------------------------------------ S14
    def apply_deferred_credits(self, t: int) -> None:
        d = self.deferred
        if not d:
            return
        w = self.world
        for a in w.agent_list:
            amt = d.amounts.get(a.id)
            if amt is None:
                continue
            a.balance += amt
            w.events.append(("DeferredCreditApplied", t, a.id, amt, list(d.sources[a.id])))
        self.deferred = None

    # ------------------------------------------------------------------ S15
    def queue2_by_sender(self) -> dict[str, list[Transaction]]:
        out: dict[str, list[Transaction]] = {}
        for tx in self.world.queue2:
            if tx.location == IN_QUEUE2:
                lst = out.get(tx.sender_id)
                if lst is None:
                    out[tx.sender_id] = [tx]
                else:
                    lst.append(tx)
        return out

    def went_overdue(self, tx: Transaction, t: int) -> int:
        """TransactionWentOverdue and its one-time deadline penalty (engine.md 7.3)."""
        p = self.world.costs.deadline_penalty.resolve(tx.amount)
        self.world.events.append(("TransactionWentOverdue", t, tx.tx_id, tx.sender_id,
                                  tx.receiver_id, tx.amount, tx.remaining_amount,
                                  tx.deadline_tick, t - tx.deadline_tick, p))
        return p

    def accrue_costs(self, t: int) -> None:
        w = self.world
        rates = self.rates
        events = w.events
        q2 = self.queue2_by_sender() if w.queue2 else {}
        self.q2_at_accrual = q2          # Queue 2 does not change again before end of day
        tick_total = 0
        for a in w.agent_list:
            penalty = 0
            weighted = 0
            for tx in a.queue1:
                if t > tx.deadline_tick and tx.status == PENDING:
                    tx.mark_overdue(t)
                    w.changed_payments.append(tx)
                    penalty += self.went_overdue(tx, t)
            own_q2 = q2.get(a.id, ())
            for tx in own_q2:
                if tx.status == OVERDUE and tx.overdue_tick == t:   # marked by this tick's passes
                    penalty += self.went_overdue(tx, t)
            if rates.delay:
                for tx in a.queue1:
                    weighted += C.delay_weight(tx, rates)
                for tx in own_q2:
                    weighted += C.delay_weight(tx, rates)
            overdraft = C.overdraft_cost(a.balance, rates.overdraft)
            delay = C.delay_cost(weighted, rates.delay)
            collateral = C.bps_cost(a.posted_collateral, rates.collateral)
            liq = C.bps_cost(a.allocated_liquidity, rates.liquidity)
            total = overdraft + delay + collateral + liq + penalty
            if total > 0:
                for acc in (a.cost_run, a.cost_day):
                    acc[C_OVERDRAFT] += overdraft
                    acc[C_DELAY] += delay
                    acc[C_COLLATERAL] += collateral
                    acc[C_LIQ_OPP] += liq
                    acc[C_DEADLINE] += penalty
                events.append(("CostAccrual", t, a.id, overdraft, delay, collateral, penalty, 0,
                               total, liq, "tick"))
                tick_total += total
            if a.balance < 0 and -a.balance > a.peak_net_debit:
                a.peak_net_debit = -a.balance
        self.stats.tick_cost += tick_total + self.stats.friction_cost

    # ------------------------------------------------------------------ S16
    def end_of_day(self, t: int) -> None:
        w = self.world
        events = w.events
        self.stats.is_end_of_day = True
        eod_pen = w.costs.eod_penalty
        borrow_rate = w.costs.eod_borrowing_rate
        q2 = self.q2_at_accrual
        total_penalties = 0
        for a in w.agent_list:                                          # E1
            late = [tx for tx in a.queue1 if tx.deadline_tick < t]
            late.extend(tx for tx in q2.get(a.id, ()) if tx.deadline_tick < t)
            p = 0
            if borrow_rate:
                # extended: everything still unsent is borrowed at r_b, due or not
                unsent = sum(tx.remaining_amount for tx in a.queue1)
                unsent += sum(tx.remaining_amount for tx in q2.get(a.id, ()))
                p += C.borrowing_cost(unsent, borrow_rate)
            if not late and not p:
                continue
            for tx in late:
                p += eod_pen.resolve(tx.remaining_amount)
            a.cost_run[C_EOD] += p
            a.cost_day[C_EOD] += p
            total_penalties += p
            events.append(("CostAccrual", t, a.id, 0, 0, 0, p, 0, p, 0, "eod"))
        self.stats.tick_cost += total_penalties
        for a in w.agent_list:                                          # E2
            if a.state_registers:
                regs = a.state_registers
                for key in sorted(regs):
                    events.append(("StateRegisterSet", t, a.id, key, regs[key], 0.0, "eod_reset",
                                   None))
                a.state_registers = {}
        for a in w.agent_list:                                          # E3
            a.bilateral_outflows = {}
            a.total_outflow = 0
        unsettled = len(w.queue2) + sum(len(a.queue1) for a in w.agent_list)
        events.append(("EndOfDay", t, t // w.ticks_per_day, unsettled, total_penalties))  # E4
        if self.config.daily_liquidity_reallocation:                   # E5
            for a in w.agent_list:
                if a.liquidity_pool is not None and a.allocated_liquidity != 0:
                    amt = a.allocated_liquidity
                    a.balance -= amt
                    a.allocated_liquidity = 0
                    events.append(("LiquidityReturn", t, a.id, amt, a.balance))
