"""DuckDB persistence of runs: schema, writer, reader, replay (persistence.md).

>>> import paysim_lab as psl
>>> store = psl.Store(":memory:")           # or a file: psl.Store("runs.duckdb")
>>> store.close()
"""
from __future__ import annotations

from .database import Store
from .reader import VerifyResult
from .schema import SCHEMA_VERSION
from .writer import RunWriter

__all__ = ["Store", "RunWriter", "VerifyResult", "SCHEMA_VERSION"]
