"""Scalar field types for scenario models.

Scenario files are hand-written YAML, so the numeric types are deliberately strict about what
counts as a number: a quoted ``"100"`` or a ``true`` is a mistake worth reporting, not
something to coerce. An integral float (``1.0e6``) is accepted where an integer is expected,
because YAML writes large round numbers that way. NaN and infinities are never accepted.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Money).validate_python(1.0e6)
1000000
"""
from __future__ import annotations

import math
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return repr(value)


def _as_int(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("paysim_int", "must be an integer (got {got})",
                                  {"got": _describe(value)})
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("paysim_finite", "must be a finite number (got {got})",
                                      {"got": repr(value)})
        if not value.is_integer():
            raise PydanticCustomError("paysim_int", "must be an integer (got {got})",
                                      {"got": repr(value)})
        return int(value)
    return value


def _as_float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("paysim_float", "must be a number (got {got})",
                                  {"got": _describe(value)})
    out = float(value) if isinstance(value, int) and abs(value) < 2**1023 else value
    if not isinstance(out, float) or not math.isfinite(out):
        raise PydanticCustomError("paysim_finite", "must be a finite number (got {got})",
                                  {"got": repr(value)})
    return out


def _as_bool(value):
    if not isinstance(value, bool):
        raise PydanticCustomError("paysim_bool", "must be true or false (got {got})",
                                  {"got": _describe(value)})
    return value


def _as_str(value):
    if not isinstance(value, str):
        raise PydanticCustomError("paysim_str", "must be a string (got {got})",
                                  {"got": _describe(value)})
    return value


Int = Annotated[int, BeforeValidator(_as_int)]
Float = Annotated[float, BeforeValidator(_as_float)]
Bool = Annotated[bool, BeforeValidator(_as_bool)]
Str = Annotated[str, BeforeValidator(_as_str)]

#: Integer cents; bounded to the signed 64-bit range the engine's arithmetic assumes.
Money = Annotated[int, BeforeValidator(_as_int), Field(ge=I64_MIN, le=I64_MAX)]
NonNegMoney = Annotated[int, BeforeValidator(_as_int), Field(ge=0, le=I64_MAX)]
PosMoney = Annotated[int, BeforeValidator(_as_int), Field(gt=0, le=I64_MAX)]
NonNegInt = Annotated[int, BeforeValidator(_as_int), Field(ge=0, le=I64_MAX)]
PosInt = Annotated[int, BeforeValidator(_as_int), Field(gt=0, le=I64_MAX)]
Priority = Annotated[int, BeforeValidator(_as_int), Field(ge=0, le=10)]
NonNegFloat = Annotated[float, BeforeValidator(_as_float), Field(ge=0)]
PosFloat = Annotated[float, BeforeValidator(_as_float), Field(gt=0)]
Fraction = Annotated[float, BeforeValidator(_as_float), Field(ge=0, le=1)]
