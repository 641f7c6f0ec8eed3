"""The per-tick verbose log (persistence.md 8.2): a pure function of one tick's record.

Live runs and replay call the same :func:`render_tick` with a :class:`~paysim_lab.records.
TickRecord` (built from the engine, or read back from a store), the static :class:`RunInfo`
of the run, optional display :class:`Filters` and the running :class:`DayTotals` of the
current day. Nothing here looks at the engine, the wall clock or a terminal, which is what makes
``paysim replay --verbose`` print byte for byte what ``paysim run --verbose`` printed.

>>> from paysim_lab.records import TickRecord
>>> info = RunInfo(agent_ids=("A", "B"), ticks_per_day=10)
>>> rec = TickRecord(0, 0, [], {"num_arrivals": 0, "num_settlements": 0, "num_lsm_releases": 0,
...                             "total_cost": 0, "queue1_total": 0, "queue2_total": 0,
...                             "is_end_of_day": False}, [])
>>> print(render_tick(rec, info).splitlines()[0])
═══ Tick 0 ═══
"""
from __future__ import annotations

from .records import TickRecord
from .report_model import (NO_FILTERS, DayAccumulator, DayTotals, Filters, RunInfo,
                           event_names_agent, parse_tick_range)
from .report_sections import (_agent_states, _arrivals, _budgets, _collateral,
                              _cost_accruals, _decisions, _financial_stats, _lsm_diagram,
                              _memory, _misc, _near_deadline, _overdue_table, _queued,
                              _scenario_and_overdue, _settlements, _summary, _tick_costs)
from .report_text import (SEPARATOR, money, number, printable, priority_label, short_id,
                          signed_money)

# what the rest of the package, notebooks and tests import from here (the pieces live in
# report_text, report_model and report_sections)
__all__ = ["render_tick", "VerboseLog", "RunInfo", "Filters", "NO_FILTERS", "DayTotals",
           "DayAccumulator", "event_names_agent", "parse_tick_range", "money", "signed_money",
           "short_id", "priority_label", "number", "printable"]


def render_tick(rec: TickRecord, info: RunInfo, filters: Filters | None = None,
                day: DayTotals | None = None) -> str:
    """The verbose text of one tick (persistence.md 8.2), ending with a blank line.

    ``day`` carries the day's running totals for the end-of-day block (a
    :class:`DayAccumulator` fed with every record of the day so far); without it that block
    sums this tick only. Returns ``""`` for a tick outside the filters' tick range.
    """
    f = filters or NO_FILTERS
    if not f.shows_tick(rec.tick):
        return ""
    events = rec.events
    shown = [e for e in events if f.matches(e)] if f.active else events
    states = {a["agent_id"]: a for a in rec.agent_states}
    by_type: dict[str, list[dict]] = {}
    for e in shown:
        by_type.setdefault(e["event_type"], []).append(e)

    groups = [
        [*_arrivals(by_type), *_near_deadline(rec, f), *_decisions(shown),
         *_memory(shown), *_budgets(shown, states), *_misc(shown),
         *_settlements(rec, events, by_type, f)],
        [*_queued(by_type), *_lsm_diagram(shown), *_collateral(shown, states),
         *_scenario_and_overdue(shown), *_overdue_table(rec, info, f)],
        _financial_stats(rec, info, f, states),
        _agent_states(rec, info, f, states),
        [*_cost_accruals(by_type), *_tick_costs(rec, info, f, states, events)],
        _summary(rec, shown, info, f, states, day),
    ]
    lines = [f"═══ Tick {rec.tick} ═══"]
    first = True
    for g in groups:
        if not g:
            continue
        if not first:
            lines.extend(SEPARATOR)
        lines.extend(g)
        first = False
    return "\n".join(map(printable, lines)) + "\n\n"


class VerboseLog:
    """Renders a run's ticks in order: what ``paysim run --verbose`` and replay both use.

    >>> log = VerboseLog(RunInfo(("A",), 5))
    >>> # for rec in records: print(log.text(rec), end="")
    """

    __slots__ = ("info", "filters", "days")

    def __init__(self, info: RunInfo, filters: Filters | None = None):
        self.info = info
        self.filters = filters or NO_FILTERS
        self.days = DayAccumulator()

    def text(self, rec: TickRecord) -> str:
        """Feed the record (always) and return its text ('' if filtered out by tick range)."""
        totals = self.days.feed(rec)
        return render_tick(rec, self.info, self.filters, totals)
