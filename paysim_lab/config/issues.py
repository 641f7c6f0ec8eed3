"""Collecting load problems and rendering them as ScenarioError / ScenarioWarning.

A problem is located by a path of keys and list indices, rendered the way users read their
files: ``agents[2].arrival_config.rate_per_tick``. Pydantic's error locations are mapped onto
the mapping as written (union tags dropped, aliases as spelled), so the path always names keys
that exist in the file, or the missing key.

>>> format_path(["agents", 2, "arrival_config", "rate_per_tick"])
'agents[2].arrival_config.rate_per_tick'
"""
from __future__ import annotations

import difflib
import json
import re
import warnings
from dataclasses import dataclass
from typing import Callable

from ..errors import ScenarioError, ScenarioWarning
from .fields import _describe
from .models import UNION_TAGS

Segments = list  # of str | int

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def format_path(segments) -> str:
    """Render path segments as ``a.b[3].c``; odd keys are quoted: ``weights["BANK A"]``."""
    out = ""
    for seg in segments:
        if isinstance(seg, int) and not isinstance(seg, bool):
            out += f"[{seg}]"
        else:
            key = str(seg)
            if _PLAIN_KEY.fullmatch(key):
                out += ("." if out else "") + key
            else:
                out += f"[{json.dumps(key)}]"
    return out


def parse_sub(sub: str) -> Segments:
    """Dotted relative path used by model validators ("include.2") to segments."""
    if not sub:
        return []
    return [int(p) if p.isdigit() else p for p in sub.split(".")]


def suggest(word, choices) -> str | None:
    """Closest accepted name: same letters ignoring case and ``_``/``-``, else a near spelling."""
    word = str(word)

    def squash(s: str) -> str:
        return re.sub(r"[_\-\s]", "", s).lower()

    for choice in choices:
        if squash(choice) == squash(word):
            return choice
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return close[0] if close else None


def _misspelt_hint(raw, segs: Segments) -> str:
    """`` (found 'openning_balance': a misspelling?)`` when a sibling key is a near spelling."""
    if not segs or not isinstance(segs[-1], str):
        return ""
    parent = raw
    for seg in segs[:-1]:
        try:
            parent = parent[seg]
        except (KeyError, IndexError, TypeError):
            return ""
    if not isinstance(parent, dict):
        return ""
    wanted = segs[-1]
    others = [k for k in parent if isinstance(k, str) and k != wanted]
    near = [k for k in others if suggest(k, [wanted]) == wanted]
    return f" (found {near[0]!r}: a misspelling of {wanted!r}?)" if near else ""


def loc_to_segments(loc, raw) -> Segments:
    """Map a pydantic error location onto the raw mapping (drops discriminator tags)."""
    segs: Segments = []
    node = raw
    for el in loc:
        if isinstance(node, dict):
            if el in node:
                segs.append(el)
                node = node[el]
                continue
            tag = node.get("type")
            if isinstance(el, str) and tag is not None and str(tag) == el:
                continue
            segs.append(el)
            node = None
        elif isinstance(node, list):
            segs.append(el)
            node = node[el] if isinstance(el, int) and -len(node) <= el < len(node) else None
        elif node is None:
            segs.append(el)
        else:
            break  # a scalar where the model expected structure: the scalar is the culprit
    return segs


def _union_key(segs: Segments) -> str | None:
    for seg in reversed(segs):
        if isinstance(seg, str):
            return seg
    return None


def _union_at(segs: Segments) -> tuple[str, ...]:
    """Accepted tags when ``segs`` points at a tagged union itself (not inside one)."""
    if not segs:
        return ()
    last = segs[-1]
    if isinstance(last, int) and len(segs) > 1 and segs[-2] == "scenario_events":
        return UNION_TAGS["scenario_events"]
    if isinstance(last, str) and last != "scenario_events":
        return UNION_TAGS.get(last, ())
    return ()


def _got(value) -> str:
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        return repr(value)
    return _describe(value)


def describe_pydantic_error(err: dict, segs: Segments) -> tuple[Segments, str]:
    """Turn one pydantic error into (path segments, message)."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if "sub" in ctx:
        segs = segs + parse_sub(ctx["sub"])
    if kind == "invalid_key":
        return segs[:-1], f"keys must be strings (got the key {value!r})"
    if kind == "missing":
        return segs, "required key is missing"
    bounds = {"greater_than": (">", "gt"), "greater_than_equal": (">=", "ge"),
              "less_than": ("<", "lt"), "less_than_equal": ("<=", "le")}
    if kind in bounds:
        op, key = bounds[kind]
        return segs, f"must be {op} {ctx.get(key)} (got {_got(value)})"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        choices = UNION_TAGS.get(_union_key(segs) or "", ())
        if not choices and "expected_tags" in ctx:
            choices = tuple(re.findall(r"'([^']*)'", ctx["expected_tags"]))
        accepted = ", ".join(choices)
        if kind == "union_tag_not_found":
            if not isinstance(value, dict):
                return segs, (f"must be a mapping with a 'type' key (got {_describe(value)}); "
                              f"accepted types: {accepted}")
            return segs + ["type"], f"required key is missing; accepted types: {accepted}"
        tag = ctx.get("tag")
        hint = suggest(tag, choices)
        text = f"unknown type {tag!r}"
        if hint:
            text += f" (did you mean {hint}?)"
        return segs + ["type"], f"{text}; accepted types: {accepted}"
    if kind == "literal_error":
        return segs, f"must be {ctx.get('expected')} (got {_got(value)})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        union = _union_at(segs)
        if union:
            return segs, (f"must be a mapping with a 'type' key (got {_describe(value)}); "
                          f"accepted types: {', '.join(union)}")
        return segs, f"must be a mapping (got {_describe(value)})"
    if kind in ("list_type", "tuple_type"):
        return segs, f"must be a list (got {_describe(value)})"
    if kind == "too_short":
        return segs, f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return segs, f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "value_error":
        msg = err["msg"]
        return segs, msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    return segs, err["msg"]


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        where = self.path
        if self.line is not None:
            where = f"{where} (line {self.line})" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class Issues:
    """Errors and warnings found while loading one source."""

    def __init__(self, source: str, line_of: Callable[[Segments], int | None] | None = None):
        self.source = source
        self._line_of = line_of
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self._seen: set[tuple[str, Issue]] = set()

    def _issue(self, segs: Segments | str, message: str, line: int | None) -> Issue:
        if isinstance(segs, str):
            path = segs
        else:
            path = format_path(segs)
            if line is None and self._line_of is not None:
                line = self._line_of(segs)
        return Issue(path, message, line)

    def error(self, segs: Segments | str, message: str, line: int | None = None) -> None:
        issue = self._issue(segs, message, line)
        if ("e", issue) not in self._seen:
            self._seen.add(("e", issue))
            self.errors.append(issue)

    def warn(self, segs: Segments | str, message: str, line: int | None = None) -> None:
        issue = self._issue(segs, message, line)
        if ("w", issue) not in self._seen:
            self._seen.add(("w", issue))
            self.warnings.append(issue)

    def add_pydantic(self, exc, raw) -> None:
        for err in exc.errors():
            loc = err["loc"]
            if len(loc) >= 2 and loc[-1] == "[key]":  # a mapping key of the wrong type
                segs = loc_to_segments(loc[:-2], raw)
                if err["type"] in ("string_type", "paysim_str"):
                    self.error(segs, f"keys must be strings (got the key {loc[-2]!r})")
                else:
                    self.error(segs, f"key {loc[-2]!r}: {err['msg']}")
                continue
            segs = loc_to_segments(loc, raw)
            segs, message = describe_pydantic_error(err, segs)
            if err["type"] == "missing":
                message += _misspelt_hint(raw, segs)
            self.error(segs, message)

    def warning_texts(self) -> list[str]:
        """Warnings in file order (those without a line, e.g. profile notes, first)."""
        ordered = sorted(self.warnings, key=lambda w: (w.line is not None, w.line or 0))
        return [f"{self.source}: {w.render()}" for w in ordered]

    def emit_warnings(self, stacklevel: int = 3) -> None:
        for text in self.warning_texts():
            warnings.warn(ScenarioWarning(text), stacklevel=stacklevel)

    def exception(self) -> ScenarioError:
        errs = self.errors
        if len(errs) == 1:
            message = f"{self.source}: {errs[0].render()}"
        else:
            lines = [f"{self.source}: {len(errs)} problems:"]
            lines += [f"  {e.render()}" for e in errs]
            message = "\n".join(lines)
        return ScenarioError(message, [{"source": self.source, "path": e.path,
                                        "message": e.message, "line": e.line} for e in errs])

    def raise_if_errors(self) -> None:
        if self.errors:
            raise self.exception()
