"""Text renderings shared by the compiler and the docs: hold reasons and decision paths.

>>> hold_reason_text('say "hi"')
'Custom("say \\\\"hi\\\\"")'
>>> hold_reason_text("LowPriority")
'LowPriority'
>>> path_text([{"node_id": "B1", "node_type": "condition", "result": False},
...            {"node_id": "B2", "node_type": "action", "result": None}])
'B1(false) → B2'
"""
from __future__ import annotations

import unicodedata

ARROW = " → "
SIMPLE_HOLD_REASONS = ("InsufficientLiquidity", "AwaitingInflows", "LowPriority")
DEFAULT_HOLD_REASON = 'Custom("Policy decision")'

# characters with the Grapheme_Extend property outside categories Mn/Me
_EXTRA_GRAPHEME_EXTEND = frozenset(
    [0x09BE, 0x09D7, 0x0B3E, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57,
     0x0DCF, 0x0DDF, 0x1B35, 0x302E, 0x302F, 0xFF9E, 0xFF9F, 0x1D165, 0x1D16E, 0x1D16F,
     0x1D170, 0x1D171, 0x1D172, *range(0x1F3FB, 0x1F400)])
_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
                   "\0": "\\0"}


def _needs_unicode_escape(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me"):
        return True
    if cat == "Zs":
        return ch != " "
    return ord(ch) in _EXTRA_GRAPHEME_EXTEND


def rust_debug_escape(s: str) -> str:
    """Escape ``s`` the way Rust's ``{:?}`` prints a string (without the outer quotes).

    >>> rust_debug_escape('a\\\\b"c\\n\\x1b')
    'a\\\\\\\\b\\\\"c\\\\n\\\\u{1b}'
    """
    out = []
    for ch in s:
        esc = _SIMPLE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " " or ch == "\x7f" or (ch > "~" and _needs_unicode_escape(ch)):
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return "".join(out)


def hold_reason_text(reason, ticks_remaining: int = 0) -> str:
    """The PolicyHold ``reason`` text for a Hold action's literal ``reason`` (policy.md 11.2).

    ``reason`` is the literal as written (None when absent or not a literal string).
    """
    if not isinstance(reason, str):
        return DEFAULT_HOLD_REASON
    if reason in SIMPLE_HOLD_REASONS:
        return reason
    if reason == "NearDeadline":
        return f"NearDeadline {{ ticks_remaining: {ticks_remaining} }}"
    return f'Custom("{rust_debug_escape(reason)}")'


def path_text(steps) -> str:
    """Render a structured decision path as text: ``id(true) → id(false) → id``."""
    parts = []
    for s in steps:
        if s["node_type"] == "condition":
            parts.append(f"{s['node_id']}({'true' if s['result'] else 'false'})")
        elif s["node_type"] == "action":
            parts.append(s["node_id"])
    return ARROW.join(parts)
