"""Text pieces of the verbose log: money and id formats, separators, the event types each
section reads, and :func:`printable` (control and bidi characters escaped)."""
from __future__ import annotations

import math
import re

SEPARATOR = ["", "─" * 70, ""]
BULLET = "   • "
SUB = "     "

SETTLEMENT_TYPES = frozenset({"RtgsImmediateSettlement", "Queue2LiquidityRelease",
                              "LsmQueueRetrySettlement", "LsmBilateralOffset",
                              "LsmCycleSettlement", "OverdueTransactionSettled",
                              "EntryDispositionOffset"})
LSM_TYPES = frozenset({"LsmBilateralOffset", "LsmCycleSettlement", "EntryDispositionOffset"})
# Settlement events that also concern their receiver under --filter-agent.
RECEIVER_FIELD = {"RtgsImmediateSettlement": "receiver", "Queue2LiquidityRelease": "receiver",
                  "LsmQueueRetrySettlement": "receiver",
                  "OverdueTransactionSettled": "receiver_id"}
AGENT_FIELDS = ("agent_id", "sender_id", "sender", "agent_a", "agent_b")
DECISION_TYPES = ("PolicySubmit", "PolicyHold", "PolicyDrop", "PolicySplit")
COLLATERAL_TYPES = ("CollateralPost", "CollateralWithdraw", "CollateralTimerWithdrawn",
                    "CollateralTimerBlocked", "CollateralPostCapped")


# ---------------------------------------------------------------------------- formatting helpers
def money(cents) -> str:
    """``$`` + cents/100 with thousands separators and two decimals.

    >>> money(123456), money(-123456), money(5)
    ('$1,234.56', '$-1,234.56', '$0.05')
    """
    if cents is None:
        return "n/a"
    if isinstance(cents, float):
        if not math.isfinite(cents):
            return f"${cents}"
        cents = int(math.floor(cents + 0.5))
    sign = "-" if cents < 0 else ""
    c = abs(int(cents))
    return f"${sign}{c // 100:,}.{c % 100:02d}"


def signed_money(cents: int) -> str:
    """``+$1.00`` / ``-$1.00``.

    >>> signed_money(-250), signed_money(0)
    ('-$2.50', '+$0.00')
    """
    return ("-" if cents < 0 else "+") + money(abs(cents))


def short_id(tx_id) -> str:
    """A transaction id shortened to 8 characters.

    Engine ids (``tx_`` + an 8-digit counter) keep their counter, the part that tells them
    apart; other long ids (SimCash UUIDs, scheduled settlements) keep their first 8 characters.

    >>> short_id("tx_00000123"), short_id("6f1c2a9e-77aa"), short_id("ab")
    ('00000123', '6f1c2a9e', 'ab')
    """
    s = str(tx_id)
    if len(s) <= 8:
        return s
    if s.startswith("tx_") and s[3:].isdigit():
        return s[-8:]
    return s[:8]


def priority_label(p: int) -> str:
    """``HIGH`` (>= 7), ``MED`` (4-6), ``LOW`` (<= 3)."""
    return "HIGH" if p >= 7 else ("MED" if p >= 4 else "LOW")


def number(v) -> str:
    """A register value as Python writes it (``1.0``, ``nan``, ``-inf``)."""
    return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


# Control characters (C0, DEL, C1), bidirectional-text controls and line separators: text
# from a policy (a hold reason, a node id) must never move the cursor, ring the bell, recolour
# the terminal or reorder a log line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                          "\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control or bidi character shown as an escape (``\\x1b``, ``\\u202e``).

    >>> printable("Hold: \\x1b[31mred\\x07")
    'Hold: \\\\x1b[31mred\\\\x07'
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
