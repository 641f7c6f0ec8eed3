"""Reading scenario sources safely: YAML or JSON files, or dicts.

YAML is parsed with the safe loader only (no Python objects). Because YAML aliases let a small
file describe an enormous (or self-containing) structure, every document is measured after
parsing: the number of values it would have with every alias expanded, its nesting depth, and
whether it contains itself. Oversized or recursive documents are refused before any other code
walks them. Syntax errors report the line and column.

>>> doc = read_text("a: 1\\nb: [1, 2]\\n", "inline.yaml")
>>> doc.data, doc.line_of(["b", 1])
({'a': 1, 'b': [1, 2]}, 2)
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..docshape import long_string, shape_problem

# Limits on what one scenario may hold. Each is refused up front with a ScenarioError naming
# the limit; raise one for a single load with load_scenario(..., limits=LoadLimits(...)), or
# for every load by changing the constant here. Policy documents have their own limits in
# paysim_lab.docshape. How they were chosen: docs/reliability.md.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_VALUES = 2_000_000
# A dict built in Python (e.g. paysim_lab.synthetic at 5,000 banks) may be larger than a
# file, as long as no part of it is shared (so nothing explodes when walked): a plain tree.
MAX_DICT_VALUES = 20_000_000
#: Total characters of text (keys and strings) once aliases are expanded: a file cannot hold
#: more text than its size, so only aliases (or a caller's shared dict) can come near it.
MAX_TEXT_CHARS = MAX_FILE_BYTES
MAX_DEPTH = 300
#: The longest string anywhere in a scenario (descriptions, paths), InlineJson text excepted.
MAX_STRING_CHARS = 10_000
#: The longest bank id, policy id or scenario name (they appear in every event and log line).
MAX_ID_CHARS = 256
#: The most banks in one scenario. Building a run needs memory in banks squared (receiver
#: tables): 5,000 banks take seconds and under 1 GB, 20,000 over 4 GB (docs/reliability.md).
MAX_AGENTS = 10_000
#: The most scenario events in one scenario.
MAX_SCENARIO_EVENTS = 100_000


@dataclass(frozen=True)
class LoadLimits:
    """The bounds one load works within; ``None`` fields take the module constants.

    >>> LoadLimits(max_agents=50_000).resolved().max_agents
    50000
    >>> LoadLimits().resolved().max_id_chars == MAX_ID_CHARS
    True
    """

    max_file_bytes: int | None = None
    max_values: int | None = None
    max_text_chars: int | None = None
    max_depth: int | None = None
    max_string_chars: int | None = None
    max_id_chars: int | None = None
    max_agents: int | None = None
    max_scenario_events: int | None = None

    def resolved(self) -> "LoadLimits":
        """A copy with every ``None`` replaced by the current module constant."""
        g = globals()
        defaults = {"max_file_bytes": g["MAX_FILE_BYTES"], "max_values": g["MAX_VALUES"],
                    "max_text_chars": g["MAX_TEXT_CHARS"], "max_depth": g["MAX_DEPTH"],
                    "max_string_chars": g["MAX_STRING_CHARS"],
                    "max_id_chars": g["MAX_ID_CHARS"], "max_agents": g["MAX_AGENTS"],
                    "max_scenario_events": g["MAX_SCENARIO_EVENTS"]}
        return LoadLimits(**{k: (getattr(self, k) if getattr(self, k) is not None else v)
                             for k, v in defaults.items()})


def limit_hint(name: str) -> str:
    """How to raise the limit ``name`` (a LoadLimits field)."""
    return (f"to allow more, pass limits=paysim_lab.config.LoadLimits({name}=...) to "
            f"load_scenario, or raise paysim_lab.config.reading.{name.upper()}")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class SourceError(Exception):
    """A source that cannot be read or parsed; ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class Document:
    """A parsed source: its data, where it came from, and how to find lines in it."""

    data: Any
    source: str
    base_dir: Path | None = None
    node: Any = None                       # YAML node graph, for line lookup
    duplicate_keys: list = field(default_factory=list)   # (segments, key, line)

    def line_of(self, segments) -> int | None:
        """1-based line of the value (or key) at ``segments``; nearest existing parent else."""
        return _line_of(self.node, segments) if self.node is not None else None


def read_source(source, base_dir=None, limits: LoadLimits | None = None) -> Document:
    """Read a scenario from a path (str or PathLike) or a dict. Raises SourceError."""
    limits = (limits or LoadLimits()).resolved()
    if isinstance(source, dict):
        doc = Document(source, "<dict>", Path(base_dir) if base_dir is not None else None)
        if not _plain_tree(doc.data, MAX_DICT_VALUES, MAX_DEPTH, limits.max_text_chars):
            check_shape(doc.data, limits=limits)
        return doc
    if isinstance(source, str) and "\n" in source:
        raise SourceError("looks like scenario text, not a file path; pass a path to a "
                          ".yaml/.json file or a dict (e.g. yaml.safe_load(text))")
    if not isinstance(source, (str, os.PathLike)):
        raise SourceError(f"expected a file path or a dict, got {type(source).__name__}")
    name = os.fspath(source)
    path = Path(name)
    text = read_text_file(path, limits.max_file_bytes)
    if path.suffix.lower() == ".json":
        doc = read_json_text(text, name, limits)
    else:
        doc = read_text(text, name, limits)
    doc.base_dir = Path(os.path.abspath(path)).parent
    return doc


def read_text_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """UTF-8 text of ``path``, refusing missing files, folders and oversized files."""
    try:
        if not path.exists():
            raise SourceError("file not found")
        if path.is_dir():
            raise SourceError("is a folder, not a file")
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("is not a regular file (a pipe, device or socket); refusing to "
                              "read it")
        size = info.st_size
        if size > max_bytes:
            raise SourceError(f"file is too large ({size} bytes; the limit is {max_bytes}; "
                              f"{limit_hint('max_file_bytes')})")
        data = path.read_bytes()
    except (OSError, ValueError) as exc:   # ValueError: a NUL byte in the path
        raise SourceError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"is not UTF-8 text (byte {exc.start})") from None


def read_text(text: str, name: str, limits: LoadLimits | None = None) -> Document:
    """Parse YAML text (JSON is valid YAML too). Raises SourceError."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
            # Before construction: constructing flattens merge keys into the nodes.
            dups = _duplicate_keys(node) if node is not None else []
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _flow_depth(text, mark.index) > MAX_DEPTH:
            # Some parser releases refuse deep nesting themselves, before our own guard runs;
            # say the same thing whichever guard fired.
            raise SourceError(f"line {mark.line + 1}, column {mark.column + 1}: nested too "
                              f"deeply (more than {MAX_DEPTH} levels)",
                              mark.line + 1, mark.column + 1) from None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        where = f"line {line}, column {col}: " if line is not None else ""
        raise SourceError(f"{where}YAML syntax error: {problem}", line, col) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"YAML error: {exc}") from None
    except ValueError as exc:   # e.g. an integer of more than 4300 digits
        raise SourceError(f"cannot read a value: {exc}") from None
    except RecursionError:
        raise SourceError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    check_shape(data, limits=limits)
    doc = Document(data, name, node=node)
    doc.duplicate_keys = dups
    return doc


def _flow_depth(text: str, end: int) -> int:
    """Open ``[``/``{`` brackets before ``end``, skipping quoted strings and comments.

    Only used to name the problem of a parse that has already failed, so an approximation
    (block scalars are not recognised) can at worst change the wording of that error.
    """
    depth = 0
    quote = None
    comment = False
    for ch in text[:end]:
        if comment:
            comment = ch != "\n"
        elif quote is not None:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def read_json_text(text: str, name: str, limits: LoadLimits | None = None) -> Document:
    """Parse JSON text. Raises SourceError with the line and column of a syntax error."""
    dups: list = []

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                dups.append(([], k, None))
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise SourceError(f"line {exc.lineno}, column {exc.colno}: JSON syntax error: "
                          f"{exc.msg}", exc.lineno, exc.colno) from None
    except ValueError as exc:   # e.g. an integer of more than 4300 digits
        raise SourceError(f"cannot read a value: {exc}") from None
    except RecursionError:
        raise SourceError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    check_shape(data, limits=limits)
    bad = _unencodable_text(data)
    if bad is not None:
        from .issues import format_path
        raise SourceError(f"{format_path(bad)}: text is not valid Unicode (a lone surrogate "
                          "escape such as \\ud800); it could never be written out")
    doc = Document(data, name)
    doc.duplicate_keys = dups
    return doc


def _unencodable_text(data) -> list | None:
    """Path of the first key or string that UTF-8 cannot encode (JSON's lone surrogates)."""
    stack: list = [(data, [])]
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, str):
            if not obj.isascii():
                try:
                    obj.encode("utf-8")
                except UnicodeEncodeError:
                    return path
        elif isinstance(obj, dict):
            for k, v in reversed(list(obj.items())):
                if isinstance(k, str) and _unencodable_text(k) is not None:
                    return path + [k.encode("utf-8", "backslashreplace").decode("ascii")]
                stack.append((v, path + [k]))
        elif isinstance(obj, list):
            stack.extend((v, path + [i]) for i, v in reversed(list(enumerate(obj))))
    return None


def load_json_file(path: Path, max_bytes: int = 16 * 1024 * 1024) -> Any:
    """Data of a JSON file (policy documents). Raises SourceError."""
    return read_json_text(read_text_file(path, max_bytes), os.fspath(path)).data


def check_shape(data, max_values: int | None = None, max_depth: int | None = None, *,
                limits: LoadLimits | None = None) -> None:
    """Refuse structures that contain themselves, are too deep, or explode when expanded.

    Too large means more than ``max_values`` values or ``max_text_chars`` characters of
    text (keys and strings, each use of a shared one counted).
    """
    lim = (limits or LoadLimits()).resolved()
    max_values = lim.max_values if max_values is None else max_values
    max_depth = lim.max_depth if max_depth is None else max_depth
    problem = shape_problem(data, max_values, max_depth, max_chars=lim.max_text_chars)
    if problem is not None:
        if "too large" in problem:
            which = "max_text_chars" if "characters" in problem else "max_values"
            problem += f"; refusing to load it ({limit_hint(which)})"
        raise SourceError(problem)


def size_problems(data, limits: LoadLimits | None = None) -> list[tuple[list, str]]:
    """(path, message) for each count or string length over its limit, checked on the raw
    mapping before anything builds models from it (so a refused file costs one walk)."""
    lim = (limits or LoadLimits()).resolved()
    out: list[tuple[list, str]] = []
    if not isinstance(data, dict):
        return out
    for key, name, what in (("agents", "max_agents", "banks"),
                            ("scenario_events", "max_scenario_events", "scenario events")):
        items = data.get(key)
        cap = getattr(lim, name)
        if isinstance(items, list) and len(items) > cap:
            out.append(([key], f"{len(items):,} {what} is more than the limit of {cap:,} "
                               f"({limit_hint(name)})"))
    # policy documents (decision_trees, the policies map, InlineJson text) are checked
    # against the policy limits when they are resolved
    found = long_string(data, lim.max_string_chars, free_text_chars=lim.max_string_chars,
                        skip_keys=("json_string", "decision_trees", "policies"))
    if found is not None:
        path, length, cap = found
        out.append((path, f"a string of {length:,} characters is longer than the limit of "
                          f"{cap:,} ({limit_hint('max_string_chars')})"))
    return out


def _plain_tree(data, max_values: int, max_depth: int, max_chars: int | None = None) -> bool:
    """True if ``data`` is a tree (no dict/list reached twice) of at most ``max_values``
    values, ``max_depth`` levels and ``max_chars`` characters of keys and strings: then
    walking (or dumping) it costs what its size says.

    Stops at the first shared part, so an alias bomb costs no more than one of its copies.

    >>> x = [1, 2]
    >>> _plain_tree({"a": x, "b": [1, 2]}, 100, 10), _plain_tree({"a": x, "b": x}, 100, 10)
    (True, False)
    >>> _plain_tree({"a": ["y" * 60] * 2}, 100, 10, max_chars=100)
    False
    """
    seen: set[int] = set()
    count = 0
    chars = 0
    limit = max_chars if max_chars is not None else float("inf")
    stack = [(data, 0)]
    while stack:
        obj, depth = stack.pop()
        count += 1
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in seen or depth >= max_depth:
                return False
            seen.add(id(obj))
            if isinstance(obj, dict):
                chars += sum(len(k) for k in obj if isinstance(k, str))
            children = obj.values() if isinstance(obj, dict) else obj
            for child in children:
                if isinstance(child, (dict, list, tuple)):
                    stack.append((child, depth + 1))
                else:
                    count += 1
                    if isinstance(child, str):
                        chars += len(child)
            if count > max_values or chars > limit:
                return False
    return True


# ---- YAML node helpers -------------------------------------------------------------------

def _mapping_items(node):
    """(key node, value node) pairs of a mapping, following merge keys (``<<: *base``)."""
    items = []
    merged = []
    for k, v in node.value:
        if k.tag == _MERGE_TAG:
            merged.append(v)
        else:
            items.append((k, v))
    for m in merged:
        sources = m.value if isinstance(m, yaml.SequenceNode) else [m]
        for src in sources:
            if isinstance(src, yaml.MappingNode):
                items.extend(_mapping_items(src))
    return items


def _line_of(node, segments) -> int | None:
    line = node.start_mark.line + 1
    for seg in segments:
        if isinstance(node, yaml.MappingNode):
            # The last match wins, as when the mapping was constructed (merged keys come first).
            match = None
            for k, v in _mapping_items(node):
                if isinstance(k, yaml.ScalarNode) and k.value == str(seg):
                    match = (k, v)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(seg, int):
            if not -len(node.value) <= seg < len(node.value):
                return line
            node = node.value[seg]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(root) -> list:
    """(segments, key, line) for every key written twice in one mapping."""
    found = []
    seen: set[int] = set()
    stack = [(root, [])]
    while stack:
        node, segs = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in node.value:
                if k.tag == _MERGE_TAG:
                    continue
                if isinstance(k, yaml.ScalarNode):
                    if k.value in keys:
                        found.append((segs, k.value, k.start_mark.line + 1))
                    keys.add(k.value)
                    stack.append((v, segs + [k.value]))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                stack.append((v, segs + [i]))
    found.sort(key=lambda f: f[2] or 0)
    return found
