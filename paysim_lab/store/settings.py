"""How a store's DuckDB connection is set up: memory cap, threads, checkpoint size, and the
one-line errors for files DuckDB cannot open or read.

>>> threads(2), memory_limit("512MB")
(2, '512MB')
"""
from __future__ import annotations

import os
import re

from ..errors import StoreError


#: DuckDB's memory cap for one store unless ``memory_limit`` (or the environment variable
#: ``PAYSIM_DUCKDB_MEMORY_LIMIT``) says otherwise; DuckDB's own default is 80% of the
#: machine's memory. Replaying or querying a large store spills to disk instead.
DEFAULT_MEMORY_LIMIT = "1GB"
_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE)
# "md:NAME", "motherduck:", "s3://...", "http://...": DuckDB would contact a service or
# download an extension. A store is a local file.
NOT_A_FILE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?![\\/])|^[A-Za-z][A-Za-z0-9+.\-]*://")


#: What DuckDB's cache is cut down to when a run finishes (``Store._release_memory``).
EVICT_TO = "64MB"

#: DuckDB checkpoints the write-ahead log into the file once it holds this much (DuckDB's
#: default is 16 MB): fewer rewrites of a run's last, partly filled row groups.
CHECKPOINT_THRESHOLD = "64MB"


def threads(value) -> int:
    """DuckDB's threads: ``value``, ``PAYSIM_DUCKDB_THREADS``, or every core but one (the
    simulation's own thread runs beside the store's writer)."""
    if value is None:
        value = os.environ.get("PAYSIM_DUCKDB_THREADS")
    if value is None:
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        return max(1, cores - 1)
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or isinstance(value, bool):
        raise StoreError(f"threads {value!r} is not a positive number of threads")
    return n


def memory_limit(value: str | None) -> str:
    text = value or os.environ.get("PAYSIM_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    if not _SIZE.fullmatch(str(text)):
        raise StoreError(f"memory limit {text!r} is not a size such as '512MB' or '2GB'")
    return str(text).strip()


def duckdb_error(path: str, exc: BaseException) -> StoreError:
    """A StoreError for a file DuckDB could not open or read (corrupt, truncated, foreign)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if any(w in low for w in ("not a valid duckdb", "corrupt", "checksum", "serializ",
                              "truncat", "read past", "read enough", "could not read",
                              "invalid", "unexpected end")):
        return StoreError(f"{path}: not a readable paysim_lab store (the file is damaged, "
                          f"truncated or not a DuckDB database): {text}")
    if re.search(r"\block\b|\blocked\b", low):
        return StoreError(f"{path}: the store is in use by another process (DuckDB allows one "
                          f"writer per file): {text}")
    if "read-only" in low or "read only" in low or "permission" in low:
        return StoreError(f"{path}: cannot write to the store (the file or its folder is "
                          f"read-only; read commands open it read-only): {text}")
    return StoreError(f"{path}: cannot open store: {text}")
