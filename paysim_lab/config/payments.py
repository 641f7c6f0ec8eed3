"""Payments tables: a run's payments read from Parquet, CSV or a pandas DataFrame.

One row per payment. Columns (docs/payments.md):

- ``sender``, ``receiver``: bank ids of the scenario's ``agents`` (required)
- ``amount``: integer cents > 0 (required)
- ``arrival_tick`` (0 .. total ticks - 1), or ``arrival_time`` (a clock time of the business
  day, with optional ``day``) when the scenario declares a ``clock``
- optional: ``deadline_tick`` (or ``deadline_time``), ``priority`` (0-10), ``divisible``,
  ``payment_id``; an empty cell means "not given" (the CustomTransactionArrival defaults)

Validation is vectorised (numpy/pandas) and collects every problem into ONE ScenarioError that
names the file, the first offending row (1-based; CSV files also give the line) and the column.
The result is a :class:`paysim_lab.engine.payment_feed.PaymentFeed`: plain arrays sorted by
arrival tick, which the engine slices tick by tick.

>>> import pandas as pd
>>> feed = payment_feed(pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [500],
...                                   "arrival_tick": [3]}),
...                     ["A", "B"], ticks_per_day=10, num_days=1, source="<DataFrame>")
>>> len(feed), feed.count_at(3)
(1, 1)
"""
from __future__ import annotations

import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.payment_feed import NOT_GIVEN, PackedIds, PaymentFeed
from ..errors import ScenarioError
from .issues import Issues

REQUIRED = ("sender", "receiver", "amount")
OPTIONAL = ("arrival_tick", "arrival_time", "day", "deadline_tick", "deadline_time",
            "priority", "divisible", "payment_id")
#: Generated transaction ids (tx_00000042): a table's payment_id may not look like one.
GENERATED_ID = re.compile(r"tx_[0-9]{8,}")
I64_MAX = 2**63 - 1
MAX_LISTED_ROWS = 5


@dataclass(frozen=True)
class Clock:
    """A business day on the wall clock: ticks of equal length from opening to closing.

    >>> c = Clock.parse({"opening": "08:00", "closing": "18:00"}, ticks_per_day=10)
    >>> c.tick_seconds, c.describe()
    (3600.0, '08:00-18:00, 10 ticks of 60 minutes')
    """

    opening: float          # seconds since midnight
    closing: float
    tick_seconds: float
    ticks_per_day: int
    first_day: pd.Timestamp | None = None

    @classmethod
    def parse(cls, spec, ticks_per_day: int) -> "Clock":
        """Build from a scenario's ``clock`` mapping (opening, closing, optional tick_minutes
        and first_day). Raises ValueError with the problem."""
        get = spec.get if isinstance(spec, dict) else (lambda k, d=None: getattr(spec, k, d))
        opening = _clock_seconds(get("opening"), "opening")
        closing = _clock_seconds(get("closing"), "closing")
        if closing <= opening:
            raise ValueError(f"clock.closing ({get('closing')}) must be after clock.opening "
                             f"({get('opening')})")
        length = (closing - opening) / ticks_per_day
        minutes = get("tick_minutes")
        if minutes is not None and abs(float(minutes) * 60 - length) > 1e-9:
            raise ValueError(f"clock.tick_minutes is {minutes}, but {get('opening')}-"
                             f"{get('closing')} in {ticks_per_day} ticks (ticks_per_day) makes "
                             f"ticks of {length / 60:g} minutes")
        first = get("first_day")
        return cls(opening, closing, length, ticks_per_day,
                   pd.Timestamp(first).normalize() if first is not None else None)

    def describe(self) -> str:
        return (f"{_hhmm(self.opening)}-{_hhmm(self.closing)}, {self.ticks_per_day} ticks of "
                f"{self.tick_seconds / 60:g} minutes")


def _clock_seconds(value, key: str) -> float:
    text = str(value) if value is not None else ""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text.strip())
    if m is None or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        raise ValueError(f"clock.{key} must be a time of day written HH:MM or HH:MM:SS, "
                         f"got {value!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


def _hhmm(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}" + (f":{s % 60:02d}" if s % 60 else "")


# ---- reading files ----------------------------------------------------------------------

def read_payments_file(path: Path, label: str) -> pd.DataFrame:
    """A payments table from a Parquet or CSV file (by suffix). Raises ScenarioError."""
    suffix = path.suffix.lower()
    try:
        if not path.is_file():
            raise _fail(label, "file not found" if not path.exists() else "is not a file")
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq
            return pq.read_table(path).to_pandas()
        if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
            # ids stay text ("007" is not 7); everything else is inferred, then checked
            return pd.read_csv(path, dtype={"sender": str, "receiver": str, "payment_id": str},
                               skipinitialspace=True)
    except ScenarioError:
        raise
    except Exception as exc:   # a malformed file: the reader's own words, with the file
        raise _fail(label, f"cannot read the payments table: {exc}") from None
    raise _fail(label, f"unknown payments table format {suffix!r} (use .parquet or .csv)")


def _fail(label: str, message: str) -> ScenarioError:
    return ScenarioError(f"{label}: {message}", [{"source": label, "path": "",
                                                  "message": message, "line": None}])


# ---- validation -------------------------------------------------------------------------

class _Checker:
    """Collects problems as (column, message, bad-row mask); one error per column at most."""

    def __init__(self, frame: pd.DataFrame, source: str, csv: bool):
        self.frame = frame
        self.issues = Issues(source)
        self.csv = csv
        self.labels = None if isinstance(frame.index, pd.RangeIndex) else frame.index
        self.bad_columns: set[str] = set()

    def where(self, row: int, column: str) -> str:
        text = f"row {row + 1}"
        if self.labels is not None:
            text += f" (index {_plain(self.labels[row])!r})"
        return f"{text}, column {column}"

    def problem(self, column: str, mask: np.ndarray, message) -> bool:
        """Report the rows of ``mask`` (True = bad); ``message(row)`` describes the first."""
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return False
        self.bad_columns.add(column)
        first = int(rows[0])
        text = message(first)
        if rows.size > 1:
            listed = ", ".join(str(int(r) + 1) for r in rows[:MAX_LISTED_ROWS])
            more = ", ..." if rows.size > MAX_LISTED_ROWS else ""
            text += f" ({rows.size} rows like this: {listed}{more})"
        self.issues.error(self.where(first, column), text,
                          line=first + 2 if self.csv else None)
        return True


def _integers(ck: _Checker, column: str, *, required: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values as int64, given mask). Empty cells are "not given"; wrong types are reported."""
    s = ck.frame[column]
    n = len(s)
    if s.dtype == bool or pd.api.types.is_bool_dtype(s.dtype):
        ck.problem(column, np.ones(n, bool), lambda r: f"must be an integer, got "
                                                       f"{_cell(s, r)} (a true/false column)")
        return np.zeros(n, np.int64), np.zeros(n, bool)
    if isinstance(s.dtype, np.dtype) and (s.dtype.kind == "i" or (s.dtype.kind == "u"
                                                                  and s.dtype.itemsize < 8)):
        return s.to_numpy(np.int64), np.ones(n, bool)
    missing = s.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype):
        values = s.to_numpy(np.float64, na_value=np.nan)
        bad_type = np.zeros(n, bool)
    else:
        # text columns (CSV cells are text): numbers written as text are numbers; true/false
        # and other text are not
        objs = s.to_numpy(object)
        is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in objs), bool, count=n)
        parsed = pd.to_numeric(pd.Series(np.where(is_bool, None, objs), dtype=object),
                               errors="coerce")
        values = parsed.to_numpy(np.float64, na_value=np.nan)
        bad_type = ~missing & (is_bool | np.isnan(values))
    if ck.problem(column, bad_type, lambda r: f"must be an integer, got {_cell(s, r)}"):
        return np.zeros(n, np.int64), np.zeros(n, bool)
    given = ~missing
    if required and ck.problem(column, missing, lambda r: "missing value"):
        return np.zeros(n, np.int64), given
    with np.errstate(invalid="ignore"):
        bad = given & (~np.isfinite(values) | (values != np.floor(values))
                       | (np.abs(values) > 2.0**63 - 1024))
    if ck.problem(column, bad, lambda r: f"must be a whole number, got {_cell(s, r)}"):
        return np.zeros(n, np.int64), np.zeros(n, bool)
    return np.where(given, values, 0).astype(np.int64), given


def _cell(s: pd.Series, row: int) -> str:
    """A cell as the error message shows it (numpy scalars as plain Python values)."""
    return repr(_plain(s.iloc[row]))


def _bank_positions(ck: _Checker, column: str, banks: list[str]) -> np.ndarray:
    s = ck.frame[column]
    missing = s.isna().to_numpy()
    if ck.problem(column, missing, lambda r: "missing value"):
        return np.zeros(len(s), np.int64)
    if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
        # numeric bank ids in the file: compare their text with the scenario's ids
        s = s.astype(str)
    codes = pd.Index(banks).get_indexer(s.astype(object))
    listing = ", ".join(banks[:10]) + (", ..." if len(banks) > 10 else "")
    ck.problem(column, codes < 0,
               lambda r: f"unknown bank {_cell(s, r)}; banks are: {listing}")
    return codes.astype(np.int64)


def _time_of_day_seconds(s: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Seconds since midnight of HH:MM[:SS[.fff]] text (NaN where unreadable), column-wise."""
    text = s.astype("string").str.strip()
    ok = text.str.fullmatch(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?").fillna(False).to_numpy(bool)
    parts = text.where(pd.Series(ok, index=s.index), None).str.split(":", expand=True)
    h, m = (pd.to_numeric(parts[i], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            for i in (0, 1))
    sec = (pd.to_numeric(parts[2], errors="coerce").to_numpy(np.float64, na_value=0.0)
           if parts.shape[1] > 2 else np.zeros(len(s)))
    ok &= ~missing & (h <= 24) & (m < 60) & (sec < 60)
    return np.where(ok, h * 3600 + m * 60 + sec, np.nan)


def _clock_ticks(ck: _Checker, column: str, clock: Clock | None, day: np.ndarray | None,
                 *, upper_inclusive: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ticks of a clock-time column: (ticks, given mask)."""
    s = ck.frame[column]
    n = len(s)
    if clock is None:
        ck.problem(column, np.ones(n, bool), lambda r: "a clock time needs the scenario's "
                   "payments clock (opening, closing) to turn times into ticks")
        return np.zeros(n, np.int64), np.zeros(n, bool)
    missing = s.isna().to_numpy()
    dates = None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        stamps = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        midnight = stamps.dt.normalize()
        secs = (stamps - midnight).dt.total_seconds().to_numpy(np.float64, na_value=np.nan)
        dates = midnight
    elif pd.api.types.is_timedelta64_dtype(s.dtype):
        secs = s.dt.total_seconds().to_numpy(np.float64, na_value=np.nan)
    else:
        secs = _time_of_day_seconds(s, missing)
        if ck.problem(column, ~missing & np.isnan(secs),
                      lambda r: f"must be a time of day HH:MM[:SS] or a timestamp, got "
                                f"{_cell(s, r)}"):
            return np.zeros(n, np.int64), np.zeros(n, bool)
    given = ~missing
    offset = secs - clock.opening
    over = offset > (clock.closing - clock.opening) if upper_inclusive else \
        offset >= (clock.closing - clock.opening)
    with np.errstate(invalid="ignore"):
        outside = given & ((offset < 0) | over)
    if ck.problem(column, outside, lambda r: f"{s.iloc[r]} is outside the business day "
                                             f"{clock.describe()}"):
        return np.zeros(n, np.int64), np.zeros(n, bool)
    ticks = np.floor(np.where(given, offset, 0) / clock.tick_seconds).astype(np.int64)
    if dates is not None:
        first = clock.first_day if clock.first_day is not None else dates.min()
        days = ((dates - first).dt.days).to_numpy(np.float64, na_value=0).astype(np.int64)
        if ck.problem(column, given & (days < 0),
                      lambda r: f"{s.iloc[r]} is before clock.first_day "
                                f"{clock.first_day.date()}"):
            return np.zeros(n, np.int64), np.zeros(n, bool)
        ticks += days * clock.ticks_per_day
    elif day is not None:
        ticks += day * clock.ticks_per_day
    return ticks, given


def _booleans(ck: _Checker, column: str) -> np.ndarray:
    s = ck.frame[column]
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        return s.to_numpy(bool).astype(np.int8)
    objs = s.to_numpy(object)
    ok_true = np.fromiter((v is True or v is np.True_ or (isinstance(v, str) and v.strip()
                           .lower() in ("true", "1", "yes")) or
                           (isinstance(v, (int, float, np.integer, np.floating))
                            and not isinstance(v, (bool, np.bool_)) and v == 1)
                           for v in objs), bool, count=len(objs))
    ok_false = np.fromiter((v is False or v is np.False_ or (isinstance(v, str) and v.strip()
                            .lower() in ("false", "0", "no", "")) or
                            (isinstance(v, (int, float, np.integer, np.floating))
                             and not isinstance(v, (bool, np.bool_)) and v == 0)
                            for v in objs), bool, count=len(objs))
    missing = s.isna().to_numpy()
    ck.problem(column, ~(ok_true | ok_false | missing),
               lambda r: f"must be true or false, got {_cell(s, r)}")
    return ok_true.astype(np.int8)


def _payment_ids(ck: _Checker) -> pd.Series | None:
    s = ck.frame["payment_id"]
    missing = s.isna().to_numpy()
    if missing.all():
        return None
    if pd.api.types.is_float_dtype(s.dtype):
        whole = np.where(missing, 0.0, s.to_numpy(np.float64, na_value=0.0))
        if ck.problem("payment_id", np.floor(whole) != whole,
                      lambda r: f"must be text or a whole number, got {_cell(s, r)}"):
            return None
        text = pd.Series([None if m else str(int(v)) for v, m in zip(whole, missing)],
                         dtype="string")
    elif s.dtype == object:
        text = pd.Series([None if m else str(v) for v, m in zip(s.to_numpy(object), missing)],
                         dtype="string")
    else:    # text or integer columns: converted and checked column-wise
        text = s.astype("string")
    blank = (text.str.strip() == "").fillna(False).to_numpy(bool)
    ck.problem("payment_id", blank, lambda r: "must not be blank")
    reserved = text.str.fullmatch(GENERATED_ID.pattern).fillna(False).to_numpy(bool)
    ck.problem("payment_id", reserved,
               lambda r: f"{text.iloc[r]!r} has the form of the ids paysim_lab gives generated "
                         "payments (tx_ and 8 or more digits); rename it")
    dup = ~missing & text.duplicated(keep="first").to_numpy(bool)
    ck.problem("payment_id", dup,
               lambda r: f"duplicate payment_id {text.iloc[r]!r} (first used at row "
                         f"{_first_row(text, text.iloc[r]) + 1})")
    return text


def _first_row(text: pd.Series, value: str) -> int:
    return int(np.flatnonzero((text == value).fillna(False).to_numpy(bool))[0])


def payment_feed(frame: pd.DataFrame, banks: list[str], *, ticks_per_day: int, num_days: int,
                 source: str, clock=None, csv: bool = False) -> PaymentFeed:
    """Validate a payments table against the scenario's banks and run length; a PaymentFeed.

    ``banks`` are the agent ids in config order; ``clock`` a :class:`Clock` (or its mapping)
    for ``arrival_time`` columns. Raises one ScenarioError listing every problem, each with
    the first offending row (1-based) and its column.
    """
    if not isinstance(frame, pd.DataFrame):
        raise _fail(source, f"a payments table must be a pandas DataFrame, got "
                            f"{type(frame).__name__}")
    total = ticks_per_day * num_days
    if clock is not None and not isinstance(clock, Clock):
        try:
            clock = Clock.parse(clock, ticks_per_day)
        except ValueError as exc:
            raise _fail(source, str(exc)) from None
    frame = frame.reset_index(drop=True) if isinstance(frame.index, pd.RangeIndex) else frame
    ck = _Checker(frame, source, csv)
    columns = [str(c) for c in frame.columns]
    present = set(columns)
    missing = [c for c in REQUIRED if c not in present]
    if "arrival_tick" not in present and "arrival_time" not in present:
        missing.append("arrival_tick")
    if missing:
        raise _fail(source, f"missing column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} (the columns are: {', '.join(columns)}; "
                            "required: sender, receiver, amount, and arrival_tick or "
                            "arrival_time)")
    for a, b in (("arrival_tick", "arrival_time"), ("deadline_tick", "deadline_time")):
        if a in present and b in present:
            raise _fail(source, f"give the column {a} or {b}, not both")
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise _fail(source, f"column {dup[0]} appears more than once")
    n = len(frame)

    sender = _bank_positions(ck, "sender", banks)
    receiver = _bank_positions(ck, "receiver", banks)
    if not ck.bad_columns & {"sender", "receiver"}:
        ck.problem("receiver", sender == receiver,
                   lambda r: f"bank {banks[sender[r]]!r} pays itself")
    amount, _ = _integers(ck, "amount", required=True)
    if "amount" not in ck.bad_columns:
        ck.problem("amount", amount <= 0,
                   lambda r: f"must be a positive number of cents, got {amount[r]}")

    if "day" in present and "arrival_tick" in present:
        raise _fail(source, "the column day only applies to arrival_time (a time of day); with "
                            "arrival_tick give the tick of the run (day x ticks_per_day + the "
                            "tick of the day) and drop the day column")
    day = None
    if "day" in present:
        day, given_day = _integers(ck, "day", required=False)
        if "day" not in ck.bad_columns:
            ck.problem("day", given_day & ((day < 0) | (day >= num_days)),
                       lambda r: f"must be a day of the run, 0..{num_days - 1}, got {day[r]}")
    if "arrival_tick" in present:
        arrival, _ = _integers(ck, "arrival_tick", required=True)
        col = "arrival_tick"
    else:
        arrival, given = _clock_ticks(ck, "arrival_time", clock, day, upper_inclusive=False)
        col = "arrival_time"
        if col not in ck.bad_columns:
            ck.problem(col, ~given, lambda r: "missing value")
    if col not in ck.bad_columns:
        ck.problem(col, (arrival < 0) | (arrival >= total),
                   lambda r: f"arrives at tick {arrival[r]}, outside the run (ticks 0.."
                             f"{total - 1}: {num_days} day(s) of {ticks_per_day} ticks)")

    deadline = None
    if "deadline_tick" in present or "deadline_time" in present:
        if "deadline_tick" in present:
            dcol = "deadline_tick"
            values, given = _integers(ck, dcol, required=False)
        else:
            dcol = "deadline_time"
            values, given = _clock_ticks(ck, dcol, clock, day, upper_inclusive=True)
        if dcol not in ck.bad_columns and col not in ck.bad_columns:
            ck.problem(dcol, given & (values <= arrival),
                       lambda r: f"deadline tick {values[r]} is not after the arrival tick "
                                 f"{arrival[r]}")
        deadline = np.where(given, values, NOT_GIVEN)

    priority = None
    if "priority" in present:
        values, given = _integers(ck, "priority", required=False)
        if "priority" not in ck.bad_columns:
            ck.problem("priority", given & ((values < 0) | (values > 10)),
                       lambda r: f"must be 0..10, got {values[r]}")
        priority = np.where(given, values, NOT_GIVEN)
    divisible = _booleans(ck, "divisible") if "divisible" in present else None
    ids = _payment_ids(ck) if "payment_id" in present else None
    ck.issues.raise_if_errors()
    if n == 0:
        raise _fail(source, "the payments table has no rows")

    order = np.argsort(arrival, kind="stable")
    sorted_ = bool((order == np.arange(n)).all())

    def col_(values, code):
        out = values if sorted_ else values[order]
        return array(code, np.ascontiguousarray(out, dtype=np.int64).tobytes())

    return PaymentFeed(
        total, col_(sender, "q"), col_(receiver, "q"), col_(amount, "q"), col_(arrival, "q"),
        deadline=col_(deadline, "q") if deadline is not None else None,
        priority=col_(priority, "q") if priority is not None else None,
        divisible=col_(divisible, "q") if divisible is not None else None,
        payment_id=_packed(ids if sorted_ else ids.iloc[order]) if ids is not None else None)


def _packed(ids: pd.Series) -> PackedIds:
    """Ids as one string plus offsets: no Python object per payment until its tick."""
    given = ids.notna().to_numpy(bool)
    lengths = ids.str.len().fillna(0).to_numpy(np.int64)
    offsets = np.zeros(len(ids) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return PackedIds("".join(ids[given].tolist()), array("q", offsets.tobytes()),
                     array("b", given.astype(np.int8).tobytes()))


def resolve_path(path: str, base_dir) -> Path:
    """A scenario's payments path: relative to the scenario file's folder (or ``base_dir`` of
    a dict, else the current directory)."""
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def feed_for_scenario(scenario) -> PaymentFeed:
    """Read and validate the table a scenario's ``payments`` key names."""
    spec = scenario.payments
    path = resolve_path(spec.path, scenario.base_dir)
    label = os.fspath(path)
    sim = scenario.simulation
    clock = spec.clock.model_dump(exclude_none=True) if spec.clock is not None else None
    try:
        _check_allowed(path, label, scenario.base_dir, scenario._allowed_policy_dirs)
        frame = read_payments_file(path, label)
        return payment_feed(frame, [a.id for a in scenario.agents],
                            ticks_per_day=sim.ticks_per_day, num_days=sim.num_days,
                            source=label, clock=clock,
                            csv=path.suffix.lower() not in (".parquet", ".pq"))
    except ScenarioError as exc:
        # name the scenario too: the table's problems are the scenario's problems
        raise ScenarioError(f"{scenario.source}: payments: {exc}", exc.errors) from None


def _check_allowed(path: Path, label: str, base_dir, allowed_dirs) -> None:
    """A table is read only inside the folders a policy file may come from (the scenario's
    folder tree, ``allowed_policy_dirs``, PAYSIM_POLICY_DIRS) or the bundled ``data/payments``,
    so a scenario cannot pull an arbitrary file into a run."""
    from .. import data
    from .policies import ALLOW_HINT, PolicyPathResolver
    resolver = PolicyPathResolver(base_dir, allowed_dirs)
    bundled = data.payments_dir()
    if not resolver.permits(path, [bundled]):
        folders = [*resolver.allowed, bundled.resolve()]
        raise _fail(label, "is outside the allowed folders ("
                    + ", ".join(str(f) for f in folders) + f"); refusing to read it ({ALLOW_HINT})")


def stored_table_dirs(doc) -> list[str] | None:
    """``allowed_policy_dirs`` for reloading a stored configuration: the folder of the table
    it names (stored by absolute path once the run's own load accepted it).

    >>> stored_table_dirs({"payments": {"path": "/data/day.parquet"}})
    ['/data']
    """
    spec = doc.get("payments") if isinstance(doc, dict) else None
    where = spec.get("path") if isinstance(spec, dict) else spec
    if not isinstance(where, str) or not os.path.isabs(where):
        return None
    return [os.path.dirname(where)]


def _plain(value):
    """A DataFrame cell as YAML-like data: numpy scalars as Python ones, empty as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def bank_dicts(banks, source: str = "banks") -> list[dict]:
    """Agent mappings from a banks DataFrame (or list of dicts); empty cells are left out."""
    if isinstance(banks, pd.DataFrame):
        cols = [str(c) for c in banks.columns]
        for need in ("id", "opening_balance"):
            if need not in cols:
                raise _fail(f"<{source}>", f"missing column {need} (the columns are: "
                                           f"{', '.join(cols)})")
        records = banks.to_dict("records")
    elif isinstance(banks, (list, tuple)):
        records = list(banks)
    else:
        raise _fail(f"<{source}>", f"banks must be a pandas DataFrame or a list of dicts, got "
                                   f"{type(banks).__name__}")
    out = []
    for rec in records:
        if not isinstance(rec, dict):
            raise _fail(f"<{source}>", f"each bank must be a mapping, got {type(rec).__name__}")
        agent = {}
        for k, v in rec.items():
            if isinstance(v, (dict, list)):
                agent[str(k)] = v
                continue
            v = _plain(v)
            if v is not None:
                agent[str(k)] = v
        out.append(agent)
    return out


def scenario_from_payments(payments, banks, *, ticks_per_day, num_days, rng_seed, clock,
                           compat, base_dir, options: dict):
    """``Scenario.from_payments`` (see there)."""
    from .loader import load_scenario
    doc = {"simulation": {"ticks_per_day": ticks_per_day, "num_days": num_days,
                          "rng_seed": rng_seed},
           "agents": bank_dicts(banks)}
    if "payments" in options:
        raise _fail("<from_payments>", "give the payments table as the first argument, not "
                                       "as payments=")
    doc.update(options)
    if isinstance(payments, (str, os.PathLike)):
        # a file: the scenario names it, so a stored run can read it again
        doc["payments"] = {"path": os.fspath(payments)}
        if clock is not None:
            doc["payments"]["clock"] = dict(clock)
        # the caller names this file in code: its folder is trusted
        where = resolve_path(os.fspath(payments), base_dir).absolute().parent
        return load_scenario(doc, compat=compat, base_dir=base_dir,
                             allowed_policy_dirs=[where])
    from .memory_payments import LABEL, MemoryPayments
    scenario = load_scenario(doc, compat=compat, base_dir=base_dir)
    sim = scenario.simulation
    banks = [a.id for a in scenario.agents]
    feed = payment_feed(payments, banks, ticks_per_day=sim.ticks_per_day,
                        num_days=sim.num_days, source=LABEL, clock=clock)
    MemoryPayments(feed, banks, sim.ticks_per_day, sim.num_days, clock).give(scenario)
    return scenario
