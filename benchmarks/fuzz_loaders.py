"""Fuzz the scenario and policy loaders with generated and mutated documents.

Run:  python benchmarks/fuzz_loaders.py [--budget 10000] [--seed 1] [--run-fraction 0.25]
                                        [--time-limit 5] [--show 10] [--json]

Every case must either load or raise the loader's own error (ScenarioError from
``psl.load_scenario``, PolicyError from ``psl.load_policy``) with a non-empty message that
names its source; nothing else may escape and no case may take longer than ``--time-limit``
seconds. A sample of the scenarios that load is then run for up to 20 ticks: the only
exceptions allowed there are SimulationError and PolicyRuntimeError, and their message must
name a bank and the tick. Every file case is written into a scratch working directory, which
must hold nothing else afterwards (loading never writes files, and YAML tags never run code).

Cases (mixed by ``--budget``):
- mutated Python objects: the bundled scenarios and policies, SimCash's example files (when
  ``../shared`` exists) and generated ones (tests/property/strategies.py), with 1-3 mutations
  each: deleted keys, type swaps, huge / negative / NaN / infinite numbers, unicode, empty and
  control-character strings, renamed and non-string keys, duplicated list items (duplicate
  agent ids), 5,000-level nesting, self-containing structures, wrapped / unwrapped values,
  long lists, wrong ``type`` names, dangling agent references;
- file text: the same documents written as YAML or JSON and damaged (truncated, junk bytes,
  duplicated lines = duplicate keys, BOMs, wrong encodings), plus hand-written hostile files:
  billion-laughs alias bombs, recursive anchors, python/* tags, binary junk, non-mapping
  roots, deep nesting, NaN / Infinity literals;
- policies embedded in scenarios: Inline, InlineJson, the top-level ``policies`` map and
  FromJson files in the scratch folder.

The test suite runs a small budget of the same cases (tests/property/test_fuzz_loaders.py).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
if (SHARED / "simcash").is_dir():   # SimCash's examples name policies from its repository root
    os.environ.setdefault("PAYSIM_POLICY_DIRS", str(SHARED / "simcash"))
sys.path.insert(0, str(ROOT / "tests" / "property"))

import paysim_lab as psl                                    # noqa: E402
from paysim_lab.errors import (PolicyError, PolicyRuntimeError, ScenarioError,  # noqa: E402
                               SimulationError)
from strategies import (RandomChooser, random_policy, scenario_document)  # noqa: E402

DEEP = 5000                 # nesting depth of the "deep" mutation
RUN_TICKS = 20


# ---- cases and outcomes ------------------------------------------------------------------------

@dataclass
class FileText:
    """A case that is a file: its bytes and suffix (written to the scratch folder)."""

    data: bytes
    suffix: str
    extra_files: dict[str, bytes] = field(default_factory=dict)   # name -> bytes (FromJson)


@dataclass
class Case:
    kind: str                 # "scenario" or "policy"
    origin: str               # the seed document
    recipe: list[str]         # what was done to it
    payload: Any              # a Python object, or a FileText
    base_dir: Path | None = None


@dataclass
class Outcome:
    status: str               # loaded / rejected / crashed / hung
    seconds: float
    detail: str = ""
    run: str | None = None    # None (not run) / ran / run_error / run_crashed / run_hung


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)        # (kind, status) -> n
    run_counts: Counter = field(default_factory=Counter)    # run status -> n
    failures: list = field(default_factory=list)            # (case, outcome)
    slowest: list = field(default_factory=list)             # (seconds, origin, recipe)
    stray_files: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def status_total(self, status: str) -> int:
        return sum(n for (_, s), n in self.counts.items() if s == status)

    def summary(self) -> dict:
        return {
            "cases": self.total,
            "loaded": self.status_total("loaded"),
            "rejected": self.status_total("rejected"),
            "crashed": self.status_total("crashed"),
            "hung": self.status_total("hung"),
            "by_kind": {f"{k}/{s}": n for (k, s), n in sorted(self.counts.items())},
            "runs": dict(sorted(self.run_counts.items())),
            "stray_files": self.stray_files,
            "seconds": round(self.seconds, 1),
        }


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time limit (BaseException: nothing catches it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (main thread only; elsewhere only measured)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- seed documents ----------------------------------------------------------------------------

def _resolve_json_paths(doc: dict, base_dir: Path) -> dict:
    """Make FromJson paths absolute, so the document loads from any folder."""
    from paysim_lab.config import PolicyPathResolver
    resolver = PolicyPathResolver(base_dir)
    for agent in doc.get("agents") or []:
        pol = agent.get("policy") if isinstance(agent, dict) else None
        if isinstance(pol, dict) and pol.get("type") == "FromJson":
            with contextlib.suppress(Exception):
                pol["json_path"] = str(resolver.resolve(pol["json_path"]).resolve())
    return doc


def seed_documents(use_shared: bool = True) -> tuple[list, list]:
    """([(name, scenario dict)], [(name, policy dict)]) from the bundled data and SimCash's."""
    scenarios, policies = [], []
    folders = [psl.data.scenarios_dir()]
    if use_shared and (SHARED / "simcash").is_dir():
        folders += [SHARED / "simcash" / "examples" / "configs", SHARED / "simcash" / "paper"]
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                scenarios.append((path.name, _resolve_json_paths(doc, path.parent)))
    pol_folders = [psl.data.policies_dir()]
    if use_shared and (SHARED / "simcash").is_dir():
        pol_folders.append(SHARED / "simcash" / "simulator" / "policies")
    for folder in pol_folders:
        for path in sorted(folder.rglob("*.json")):
            policies.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    return scenarios, policies


# ---- mutations of Python objects ---------------------------------------------------------------

ODD_STRINGS = ("", "   ", "\x00", "\t\n", "é", "銀行", "🏦", "BANK_A ", "a\u202eb", "\u0301",
               "null", "true", "1e3", "Ⅻ", "x" * 5000)
ODD_NUMBERS = (10**30, 2**63, 2**63 - 1, 2**64, -(2**63) - 1, 10**400, 1e308, -1e308,
               5e-324, -0.0, 0.5, -1, 0, 1)
NON_FINITE = (math.nan, math.inf, -math.inf)

# The hostile catalogue: values at the edges of the engine's arithmetic, and text that is not
# printable. Each is a targeted operation below (and part of the random mix).
BOUNDARY_NUMBERS = (
    0.0, -0.0, 0, -1,                                       # signed zero, zero
    2**63 - 1, 2**63, 2**63 + 1, -(2**63), -(2**63) - 1,    # int64 edges
    2**64 - 1, 2**64, 2.0**63, -(2.0**63), 9.223372036854775e18,
    5e-324, -5e-324, 1e-320, 2.2250738585072014e-308,       # subnormals, smallest normal
    1.7976931348623157e308, -1.7976931348623157e308, 1e308, 1e-308,
    math.inf, -math.inf, math.nan)
CONTROL_STRINGS = ("A\x00B", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "bell\x07", "\r\n",
                   "\x7f", "\u202eevil", "\u2066iso\u2069", "\u200f", "\u2028line",
                   "\x9b31m", "tab\there", "B" * 300)
RANGE_PAIRS = (("min", "max"), ("deadline_offset_min", "deadline_offset_max"),
               ("min_ticks_multiplier", "max_ticks_multiplier"))
INTERVAL_KEYS = ("interval", "ticks_per_day", "num_days", "rate_per_tick", "tick",
                 "start_tick", "std_dev", "lambda", "mean", "multiplier", "deadline")
CATALOGUE_OPS = ("boundary", "control_string", "zero_interval", "inverted_range", "div_zero")


def _value_nodes(doc) -> list[tuple]:
    """Paths of policy value expressions ({"value": ...}, {"field": ...}, {"param": ...})."""
    out = []
    for path in paths_of(doc):
        node = get_at(doc, path) if path else doc
        if isinstance(node, dict) and len(node) == 1 and \
                next(iter(node)) in ("value", "field", "param", "compute"):
            out.append(path)
    return out


def catalogue_mutation(doc, c: RandomChooser, op: str) -> tuple[Any, str]:
    """One operation of the hostile catalogue applied to ``doc`` (in place where possible)."""
    paths = [p for p in paths_of(doc) if p]
    if op == "boundary":
        nums = [p for p in paths if isinstance(get_at(doc, p), (int, float))
                and not isinstance(get_at(doc, p), bool)] or paths
        path = c.pick(nums)
        new = c.pick(BOUNDARY_NUMBERS)
        get_at(doc, path[:-1])[path[-1]] = new
        return doc, f"{'.'.join(map(str, path))}:boundary={new!r}"
    if op == "control_string":
        strs = [p for p in paths if isinstance(get_at(doc, p), str)] or paths
        path = c.pick(strs)
        new = c.pick(CONTROL_STRINGS)
        get_at(doc, path[:-1])[path[-1]] = new
        return doc, f"{'.'.join(map(str, path))}:control={new[:12]!r}"
    if op == "zero_interval":
        hits = [p for p in paths if p[-1] in INTERVAL_KEYS] or paths
        path = c.pick(hits)
        new = c.pick((0, 0.0, -0.0, 5e-324))
        get_at(doc, path[:-1])[path[-1]] = new
        return doc, f"{'.'.join(map(str, path))}:zero={new!r}"
    if op == "inverted_range":
        hits = []
        for p in [()] + paths:
            node = get_at(doc, p) if p else doc
            if isinstance(node, dict):
                hits += [(p, lo, hi) for lo, hi in RANGE_PAIRS if lo in node and hi in node]
            elif isinstance(node, list) and len(node) == 2 and p and p[-1] == "deadline_range":
                hits.append((p, 0, 1))
        if hits:
            p, lo, hi = c.pick(hits)
            node = get_at(doc, p) if p else doc
            node[lo], node[hi] = node[hi], node[lo]
            if node[lo] == node[hi] and isinstance(node[lo], (int, float)):
                node[hi] = node[lo] - 1
            return doc, f"{'.'.join(map(str, p))}:inverted({lo},{hi})"
        return mutate(doc, c, dict_mode=False)
    # div_zero: a division (or modulo) by zero where a policy expects a value
    hits = _value_nodes(doc)
    if not hits:
        return mutate(doc, c, dict_mode=False)
    path = c.pick(hits)
    node = get_at(doc, path)
    zero = c.pick(({"value": 0}, {"value": -0.0}, {"value": 5e-324},
                   {"compute": {"op": "-", "left": {"value": 1}, "right": {"value": 1}}}))
    new = {"compute": {"op": c.pick(("/", "%", "/")), "left": copy.deepcopy(node),
                       "right": zero}}
    get_at(doc, path[:-1])[path[-1]] = new
    return doc, f"{'.'.join(map(str, path))}:div_zero"
TYPE_NAMES = ("Fifo", "fifo", "Uniform", "uniform", "LogNormal", "lognormal", "OneTime",
              "Repeating", "FromJson", "Inline", "InlineJson", "Deadline", "DirectTransfer",
              "condition", "action", "Release", "", "Nope")
AGENT_REFS = ("NOBODY", "", "bank_a", "BANK_A", "銀行", 5)


def paths_of(doc, limit: int = 4000) -> list[tuple]:
    """Paths (tuples of keys / indices) to every container and value, breadth first."""
    out = [()]
    queue = [((), doc)]
    seen = set()
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        items = (node.items() if isinstance(node, dict)
                 else enumerate(node) if isinstance(node, list) else ())
        for k, v in items:
            p = path + (k,)
            out.append(p)
            if isinstance(v, (dict, list)):
                queue.append((p, v))
    return out


def get_at(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def deep_value(kind: str, depth: int = DEEP):
    """A structure nested ``depth`` levels deep, built without recursion."""
    leaf: Any = 1
    for i in range(depth):
        leaf = {"on_true": leaf, "type": "condition"} if kind == "dict" else [leaf]
    return leaf


def shared_dag(levels: int, leaf=1):
    """``[x, x]`` nested ``levels`` times with every level shared: small in memory, 2**levels
    values for any walk that does not notice the sharing (only Python objects can do this;
    YAML aliases do the same in files)."""
    for _ in range(levels):
        leaf = [leaf, leaf]
    return leaf


def mutate(doc, c: RandomChooser, dict_mode: bool) -> tuple[Any, str]:
    """One random mutation of ``doc`` (modified in place where possible)."""
    paths = paths_of(doc)
    path = c.pick(paths)
    ops = ["delete", "type_swap", "huge", "negative", "nonfinite", "string", "rename_key",
           "duplicate_item", "deep", "wrap", "unwrap", "bool_for_int", "fraction", "long_list",
           "type_name", "agent_ref", "empty_container"]
    if dict_mode:
        ops += ["self_reference", "odd_key", "shared", "dag"]
    op = c.pick(ops + list(CATALOGUE_OPS))
    if op in CATALOGUE_OPS:
        return catalogue_mutation(doc, c, op)
    if op == "dag" and not c.chance(30):
        op = "shared"                 # the costliest case for a slow walk: keep it rare
    if not path:                                   # the root itself
        if op in ("wrap", "type_swap", "deep", "unwrap"):
            new = {"wrap": [doc], "type_swap": c.pick((None, 5, "x", [], True)),
                   "deep": deep_value(c.pick(("dict", "list"))),
                   "unwrap": next(iter(doc.values()), None) if isinstance(doc, dict)
                   and doc else doc}[op]
            return new, f"root:{op}"
        path = c.pick(paths[1:]) if len(paths) > 1 else path
        if not path:
            return doc, "root:none"
    parent = get_at(doc, path[:-1])
    key = path[-1]
    value = parent[key]
    label = f"{'.'.join(map(str, path))}:{op}"

    def put(new):
        parent[key] = new

    if op == "delete":
        del parent[key]
    elif op == "type_swap":
        put(c.pick((None, True, False, 0, -1, 1.5, "", "x", [], {}, [1, 2], {"a": 1})))
    elif op == "huge":
        put(c.pick(ODD_NUMBERS))
    elif op == "negative":
        put(-abs(value) - 1 if isinstance(value, (int, float)) and not isinstance(value, bool)
            else -1)
    elif op == "nonfinite":
        put(c.pick(NON_FINITE))
    elif op == "string":
        choices = ODD_STRINGS + (("\ud800",) if dict_mode else ())
        put(c.pick(choices))
    elif op == "rename_key" and isinstance(parent, dict):
        new_key = c.pick((str(key).upper(), str(key) + "_", str(key)[:-1], str(key).title(),
                          "", " " + str(key)))
        parent[new_key] = parent.pop(key)
    elif op == "odd_key" and isinstance(parent, dict):
        parent[c.pick((5, None, 1.5, ("a", "b"), True))] = parent.pop(key)
    elif op == "duplicate_item" and isinstance(value, list) and value:
        value.append(copy.deepcopy(c.pick(value)))
    elif op == "duplicate_item" and isinstance(parent, list):
        parent.append(copy.deepcopy(value))
    elif op == "deep":
        put(deep_value(c.pick(("dict", "list"))))
    elif op == "wrap":
        put(c.pick(([value], {"value": value})))
    elif op == "unwrap" and isinstance(value, (list, dict)) and value:
        put(value[0] if isinstance(value, list) else next(iter(value.values())))
    elif op == "bool_for_int":
        put(c.pick((True, False)))
    elif op == "fraction":
        put(value + 0.5 if isinstance(value, (int, float)) and not isinstance(value, bool)
            else 0.5)
    elif op == "long_list":
        put([copy.deepcopy(value) for _ in range(c.pick((100, 1000)))])
    elif op == "type_name":
        put(c.pick(TYPE_NAMES))
    elif op == "agent_ref":
        put(c.pick(AGENT_REFS))
    elif op == "empty_container":
        put(c.pick(([], {}, "")))
    elif op == "self_reference" and isinstance(value, (dict, list)):
        if isinstance(value, dict):
            value["self"] = parent
        else:
            value.append(parent)
    elif op == "dag":
        # small, or far beyond the loaders' 2,000,000-value cap; a DAG just under the cap is
        # a legitimately large document, walked at ~1 s per million values by each check
        put(shared_dag(c.pick((12, 16, 40, 60)), value))
    elif op == "shared" and isinstance(parent, dict):
        parent["shared_copy"] = value
    else:
        put(c.pick((None, "", 0)))
        label += "(fallback)"
    return doc, label


def mutated(doc, c: RandomChooser, dict_mode: bool) -> tuple[Any, list[str]]:
    doc = copy.deepcopy(doc)
    recipe = []
    for _ in range(c.pick((1, 1, 1, 2, 2, 3))):
        doc, label = mutate(doc, c, dict_mode)
        recipe.append(label)
    return doc, recipe


# ---- file texts ---------------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ["a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    + ["simulation: *a9"]) + "\n"

HOSTILE_TEXTS = {
    "billion_laughs.yaml": BILLION_LAUGHS,
    "alias_in_agents.yaml": BILLION_LAUGHS.replace("simulation: *a9", "agents: *a9"),
    "recursive_anchor.yaml": "simulation: &loop {ticks_per_day: 5, inner: *loop}\nagents: []\n",
    "recursive_list.yaml": "agents: &x [*x]\n",
    "python_apply.yaml": "simulation: !!python/object/apply:os.system ['touch PWNED']\n",
    "python_name.yaml": "agents: [!!python/name:os.system ]\n",
    "python_object.yaml": "!!python/object:builtins.dict {a: 1}\n",
    "python_module.yaml": "x: !!python/module:os\n",
    "python_new.yaml": "x: !!python/object/new:os.system [echo hi]\n",
    "binary_tag.yaml": "simulation: !!binary aGVsbG8=\nagents: []\n",
    "set_tag.yaml": "agents: !!set {a, b}\nsimulation: {ticks_per_day: 1, num_days: 1, "
                    "rng_seed: 1}\n",
    "timestamp_keys.yaml": "2020-01-01: x\nagents: []\n",
    "complex_key.yaml": "? [a, b]\n: 1\n",
    "multi_doc.yaml": "simulation: {}\n---\nagents: []\n",
    "tabs.yaml": "simulation:\n\tticks_per_day: 5\n",
    "scalar_root.yaml": "42\n",
    "list_root.yaml": "- simulation\n- agents\n",
    "string_root.yaml": "'just a string'\n",
    "null_root.yaml": "~\n",
    "empty.yaml": "",
    "comments_only.yaml": "# nothing here\n",
    "nan_yaml.yaml": "simulation: {ticks_per_day: .nan, num_days: .inf, rng_seed: -.inf}\n"
                     "agents: [{id: A, opening_balance: .nan}]\n",
    "merge_keys.yaml": "base: &b {opening_balance: 5}\nagents:\n  - <<: *b\n    id: A\n"
                       "  - <<: [*b, {id: B}]\nsimulation: {ticks_per_day: 2, num_days: 1, "
                       "rng_seed: 1}\n",
    "bad_merge.yaml": "agents:\n  - <<: 5\n    id: A\n",
    "duplicate_keys.yaml": "simulation: {ticks_per_day: 2, num_days: 1, rng_seed: 1}\n"
                           "agents: [{id: A, opening_balance: 1, opening_balance: 2}]\n"
                           "agents: [{id: B, opening_balance: 3}]\n",
    "deep_flow.yaml": "[" * DEEP + "]" * DEEP + "\n",
    "deep_block.yaml": "".join("  " * i + "k:\n" for i in range(400)),
    "yes_no.yaml": "simulation: {ticks_per_day: yes, num_days: on, rng_seed: 0x10}\n"
                   "agents: [{id: no, opening_balance: 1_000}]\n",
    "deep.json": "[" * DEEP + "]" * DEEP,
    "nan.json": '{"simulation": {"ticks_per_day": NaN, "num_days": Infinity, '
                '"rng_seed": -Infinity}, "agents": []}',
    "trailing_comma.json": '{"agents": [1,],}',
    "json_dupes.json": '{"agents": [], "agents": [{"id": "A"}]}',
    "json_bigint.json": '{"simulation": {"ticks_per_day": 1' + "0" * 5000 + '}}',
    "json_lone_surrogate.json": '{"agents": [{"id": "\\ud800", "opening_balance": 1}], '
                                '"simulation": {"ticks_per_day": 1, "num_days": 1, '
                                '"rng_seed": 1}}',
}
HOSTILE_POLICY_TEXTS = {
    "deep.json": '{"version": "1", "policy_id": "p", "payment_tree": ' + "[" * DEEP
                 + "]" * DEEP + "}",
    "deep_nodes.json": None,           # filled in below: a 5,000-level chain of conditions
    "nan.json": '{"version": "1", "policy_id": "p", "parameters": {"x": NaN}}',
    "infinity.json": '{"version": "1", "policy_id": "p", "parameters": {"x": -Infinity}}',
    "list_root.json": "[1, 2]",
    "empty.json": "",
    "junk.json": "\x00\x01\x02{",
    "utf16.json": None,                # filled in below
    "bigint.json": '{"version": "1", "policy_id": "p", "parameters": {"x": 1' + "0" * 400
                   + "}}",
    "dupes.json": '{"version": "1", "version": 2, "policy_id": "p"}',
}


def _deep_policy_text(depth: int = DEEP) -> str:
    head = '{"type": "condition", "node_id": "N%d", "condition": {"op": "==", "left": ' \
           '{"value": 1}, "right": {"value": 1}}, "on_false": {"type": "action", ' \
           '"node_id": "F%d", "action": "Hold"}, "on_true": '
    parts = [head % (i, i) for i in range(depth)]
    return ('{"version": "1.0", "policy_id": "deep", "payment_tree": ' + "".join(parts)
            + '{"type": "action", "node_id": "LEAF", "action": "Release"}' + "}" * depth + "}")


HOSTILE_POLICY_TEXTS["deep_nodes.json"] = _deep_policy_text()


def serialize(doc, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False,
                          width=4096).encode("utf-8", "surrogatepass")


def damage(data: bytes, c: RandomChooser) -> tuple[bytes, str]:
    """One random text-level corruption."""
    op = c.pick(("truncate", "junk", "dup_line", "drop_line", "bom", "latin1", "utf16",
                 "nul", "swap_char", "indent", "none", "none"))
    if op == "truncate" and data:
        return data[:c.integer(0, len(data) - 1)], op
    if op == "junk":
        at = c.integer(0, len(data))
        return data[:at] + c.rng.randbytes(c.integer(1, 64)) + data[at:], op
    lines = data.split(b"\n")
    if op == "dup_line" and lines:
        i = c.integer(0, len(lines) - 1)
        return b"\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]), op
    if op == "drop_line" and lines:
        i = c.integer(0, len(lines) - 1)
        return b"\n".join(lines[:i] + lines[i + 1:]), op
    if op == "bom":
        return b"\xef\xbb\xbf" + data, op
    if op == "latin1":
        return data.decode("utf-8", "replace").encode("latin-1", "replace"), op
    if op == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16"), op
    if op == "nul":
        return data + b"\x00", op
    if op == "swap_char" and data:
        at = c.integer(0, len(data) - 1)
        return data[:at] + c.pick((b":", b"{", b"[", b"\t", b"&", b"*", b"!", b"'", b'"',
                                   b"-", b"?", b"%", b"@", b"|")) + data[at + 1:], op
    if op == "indent" and lines:
        i = c.integer(0, len(lines) - 1)
        lines[i] = b"   " + lines[i]
        return b"\n".join(lines), op
    return data, "none"


# ---- case generation -----------------------------------------------------------------------------

class CaseFactory:
    """Draws cases from the seed documents with a seeded ``random.Random``."""

    def __init__(self, seed: int, use_shared: bool = True):
        self.c = RandomChooser(random.Random(seed))
        self.scenarios, self.policies = seed_documents(use_shared)
        self.generated = 0
        self.skipped = 0

    def scenario_seed(self) -> tuple[str, dict]:
        c = self.c
        if c.chance(45) or not self.scenarios:
            self.generated += 1
            return "generated", scenario_document(c, max_days=2, max_tpd=12)
        return c.pick(self.scenarios)

    def policy_seed(self) -> tuple[str, dict]:
        c = self.c
        if c.chance(45) or not self.policies:
            return "generated", random_policy(c)
        name, doc = c.pick(self.policies)
        return name, copy.deepcopy(doc)

    def next_case(self) -> Case:
        """The next case; documents the generator itself cannot copy or write are redrawn."""
        while True:
            try:
                return self.case()
            except (RecursionError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError, yaml.YAMLError):
                self.skipped += 1

    def next_catalogue_case(self, op: str) -> Case:
        while True:
            try:
                return self.catalogue_case(op)
            except (RecursionError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError):
                self.skipped += 1

    def case(self) -> Case:
        c = self.c
        roll = c.integer(0, 99)
        if roll < 42:
            name, doc = self.scenario_seed()
            doc, recipe = mutated(doc, c, dict_mode=True)
            return Case("scenario", name, recipe, doc)
        if roll < 57:
            return self.scenario_file()
        if roll < 80:
            name, doc = self.policy_seed()
            doc, recipe = mutated(doc, c, dict_mode=True)
            return Case("policy", name, recipe, doc)
        if roll < 90:
            return self.policy_file()
        return self.embedded_policy()

    def catalogue_case(self, op: str) -> Case:
        """A scenario, a policy, or a policy inside a scenario, with one catalogue operation
        (two for a third of the cases)."""
        c = self.c
        roll = c.integer(0, 2)
        if roll == 0 or op == "div_zero" and roll == 1:
            name, doc = self.policy_seed()
            kind = "policy"
        else:
            name, doc = self.scenario_seed()
            doc = copy.deepcopy(doc)
            kind = "scenario"
        recipe = []
        for _ in range(1 + (c.integer(0, 2) == 0)):
            doc, label = catalogue_mutation(doc, c, op)
            recipe.append(label)
        if kind == "policy" and c.chance(50):
            _, sdoc = self.scenario_seed()
            sdoc = copy.deepcopy(sdoc)
            agent = sdoc["agents"][0]
            agent.pop("policy_id", None)
            agent.pop("policy_params", None)
            agent["policy"] = {"type": "Inline", "decision_trees": doc}
            return Case("scenario", f"{name} inline", recipe, sdoc)
        return Case(kind, name, recipe, doc)

    def scenario_file(self) -> Case:
        c = self.c
        if c.chance(15):
            name = c.pick(sorted(HOSTILE_TEXTS))
            return Case("scenario", "hostile", [name],
                        FileText(HOSTILE_TEXTS[name].encode("utf-8"), Path(name).suffix))
        if c.chance(3):
            return Case("scenario", "junk", ["random bytes"],
                        FileText(c.rng.randbytes(c.integer(1, 4096)), c.pick((".yaml", ".json"))))
        name, doc = self.scenario_seed()
        doc, recipe = mutated(doc, c, dict_mode=False) if c.chance(70) else (copy.deepcopy(doc), [])
        fmt = c.pick(("yaml", "json"))
        data, op = damage(serialize(doc, fmt), c)
        return Case("scenario", name, recipe + [f"{fmt}:{op}"], FileText(data, "." + fmt))

    def policy_file(self) -> Case:
        c = self.c
        if c.chance(20):
            name = c.pick(sorted(HOSTILE_POLICY_TEXTS))
            text = HOSTILE_POLICY_TEXTS[name]
            data = (text.encode("utf-8") if text is not None
                    else json.dumps({"version": "1", "policy_id": "ü"},
                                    ensure_ascii=False).encode("utf-16"))
            return Case("policy", "hostile", [name], FileText(data, ".json"))
        name, doc = self.policy_seed()
        doc, recipe = mutated(doc, c, dict_mode=False) if c.chance(70) else (doc, [])
        data, op = damage(serialize(doc, "json"), c)
        return Case("policy", name, recipe + [f"json:{op}"], FileText(data, ".json"))

    def embedded_policy(self) -> Case:
        """A (possibly broken) policy reached through a scenario: four attachment forms."""
        c = self.c
        pname, pdoc = self.policy_seed()
        pdoc, recipe = mutated(pdoc, c, dict_mode=False) if c.chance(80) else (pdoc, [])
        _, sdoc = self.scenario_seed()
        sdoc = copy.deepcopy(sdoc)
        agent = sdoc["agents"][0]
        agent.pop("policy_id", None)
        agent.pop("policy_params", None)
        form = c.pick(("Inline", "InlineJson", "map", "FromJson"))
        if form == "Inline":
            agent["policy"] = {"type": "Inline", "decision_trees": pdoc}
            return Case("scenario", f"{pname} inline", recipe + [form], sdoc)
        if form == "InlineJson":
            text = serialize(pdoc, "json").decode("utf-8", "surrogatepass")
            if c.chance(30):
                text, op = text[: c.integer(0, len(text))], "truncated"
                recipe = recipe + [op]
            agent["policy"] = {"type": "InlineJson", "json_string": text}
            return Case("scenario", f"{pname} inline json", recipe + [form], sdoc)
        if form == "map":
            agent.pop("policy", None)
            agent["policy_id"] = "fuzzed"
            sdoc["policies"] = {"fuzzed": pdoc}
            return Case("scenario", f"{pname} map", recipe + [form], sdoc)
        agent["policy"] = {"type": "FromJson", "json_path": c.pick((
            "fuzzed_policy.json", "./fuzzed_policy.json", "sub/../fuzzed_policy.json"))}
        data, op = damage(serialize(pdoc, "json"), c)
        text = FileText(serialize(sdoc, "yaml"), ".yaml", {"fuzzed_policy.json": data})
        return Case("scenario", f"{pname} from json", recipe + [form, op], text)


# ---- running cases ----------------------------------------------------------------------------

_AGENT_TICK = re.compile(r"tick \d+")


def _expected_error(kind: str):
    return ScenarioError if kind == "scenario" else PolicyError


def _load(case: Case, folder: Path):
    payload = case.payload
    if isinstance(payload, FileText):
        path = folder / f"case{payload.suffix}"
        path.write_bytes(payload.data)
        for name, data in payload.extra_files.items():
            (folder / name).write_bytes(data)
        source = path
    else:
        source = payload
    if case.kind == "scenario":
        return psl.load_scenario(source, base_dir=case.base_dir)
    return psl.load_policy(source)


def _clean(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file() and (p.name.startswith("case.") or p.name == "fuzzed_policy.json"):
            p.unlink()


def run_case(case: Case, folder: Path, limit: float, run_it: bool) -> Outcome:
    """Load one case (and maybe run it); classify what happened."""
    started = time.perf_counter()
    expected = _expected_error(case.kind)
    loaded = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with time_limit(limit):
                loaded = _load(case, folder)
        status, detail = "loaded", ""
    except CaseTimeout:
        status, detail = "hung", f"interrupted after {limit}s"
    except expected as exc:
        msg = str(exc)
        status, detail = "rejected", msg[:300]
        if not msg.strip():
            status, detail = "crashed", f"{type(exc).__name__} with an empty message"
        elif case.kind == "scenario" and not _names_source(msg, case):
            status, detail = "crashed", f"message does not name the source: {msg[:200]}"
    except RecursionError as exc:
        status, detail = "crashed", f"RecursionError: {str(exc)[:200]}"
    except Exception as exc:                      # noqa: BLE001 - the point of the exercise
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
        status, detail = "crashed", f"{type(exc).__name__} at {where}: {str(exc)[:300]}"
    seconds = time.perf_counter() - started
    if status != "hung" and seconds > limit:
        status, detail = "hung", f"took {seconds:.1f}s (limit {limit}s)"
    outcome = Outcome(status, seconds, detail)
    if status == "loaded" and case.kind == "scenario" and run_it:
        outcome.run, run_detail = run_loaded(loaded, limit)
        if outcome.run in ("run_crashed", "run_hung"):
            outcome.detail = run_detail
    return outcome


def _names_source(msg: str, case: Case) -> bool:
    payload = case.payload
    if isinstance(payload, FileText):
        return "case." in msg
    if isinstance(payload, str):          # a mutation turned the document into a path
        return msg.startswith(payload.split("\n")[0][:40]) or "scenario text" in msg
    return msg.startswith("<")


def run_loaded(scenario, limit: float) -> tuple[str, str]:
    """Build and run up to RUN_TICKS ticks of a loaded scenario."""
    ids = [a.id for a in scenario.agents]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with time_limit(limit):
                sim = psl.Simulation(scenario)
                sim.run(ticks=RUN_TICKS)
        return "ran", ""
    except CaseTimeout:
        return "run_hung", f"run interrupted after {limit}s"
    except (SimulationError, PolicyRuntimeError) as exc:
        msg = str(exc)
        if _AGENT_TICK.search(msg) and any(i in msg for i in ids):
            return "run_error", msg[:200]
        return "run_crashed", f"{type(exc).__name__} without agent and tick: {msg[:300]}"
    except Exception as exc:                      # noqa: BLE001
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
        return "run_crashed", f"{type(exc).__name__} at {where}: {str(exc)[:300]}"


def fuzz(budget: int, seed: int = 1, run_fraction: float = 0.25, limit: float = 5.0,
         use_shared: bool = True, progress: bool = False, catalogue: bool = False) -> Report:
    """Generate and run ``budget`` cases; every file case lives in a scratch working folder.

    With ``catalogue`` every case is one of the hostile catalogue's operations, in turn
    (boundary numbers, control strings, zero intervals, inverted ranges, division by zero).
    """
    factory = CaseFactory(seed, use_shared)
    picker = random.Random(seed + 1)
    report = Report()
    started = time.perf_counter()
    logging_level = _quiet_engine_logs()
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="paysim-fuzz-") as scratch:
        folder = Path(scratch)
        os.chdir(folder)
        try:
            for i in range(budget):
                case = (factory.next_catalogue_case(CATALOGUE_OPS[i % len(CATALOGUE_OPS)])
                        if catalogue else factory.next_case())
                outcome = run_case(case, folder, limit, picker.random() < run_fraction)
                _clean(folder)
                report.counts[(case.kind, outcome.status)] += 1
                if outcome.run:
                    report.run_counts[outcome.run] += 1
                if outcome.status in ("crashed", "hung") or outcome.run in ("run_crashed",
                                                                              "run_hung"):
                    report.failures.append((case, outcome))
                report.slowest.append((outcome.seconds, case.origin, case.recipe))
                report.slowest = sorted(report.slowest, key=lambda s: -s[0])[:5]
                if progress and (i + 1) % 1000 == 0:
                    print(f"  {i + 1} cases, {len(report.failures)} failures", file=sys.stderr)
            report.stray_files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
        finally:
            os.chdir(home)
            _restore_engine_logs(logging_level)
    report.seconds = time.perf_counter() - started
    return report


def _quiet_engine_logs():
    import logging
    logger = logging.getLogger("paysim_lab")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    return level


def _restore_engine_logs(level) -> None:
    import logging
    logging.getLogger("paysim_lab").setLevel(level)


def failure_signatures(report: Report) -> Counter:
    """Failures grouped by what broke: status and the exception and place it came from."""
    out = Counter()
    for case, outcome in report.failures:
        what = outcome.run if outcome.run in ("run_crashed", "run_hung") else outcome.status
        head = outcome.detail.split(":")[0] if what != "hung" else "time limit"
        out[f"{what} {case.kind}: {head}"] += 1
    return out


def describe_failure(case: Case, outcome: Outcome) -> str:
    what = outcome.run if outcome.run in ("run_crashed", "run_hung") else outcome.status
    return (f"[{what}] {case.kind} from {case.origin}, recipe {case.recipe}: {outcome.detail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=10_000, help="number of cases (10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run-fraction", type=float, default=0.25,
                    help="share of loaded scenarios also run for 20 ticks (0.25)")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds per case (5)")
    ap.add_argument("--show", type=int, default=10, help="failures to print (10)")
    ap.add_argument("--no-shared", action="store_true", help="ignore ../shared reference files")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--catalogue", action="store_true",
                    help="only the hostile catalogue (boundaries, control text, zero intervals, "
                         "inverted ranges, division by zero)")
    args = ap.parse_args(argv)
    report = fuzz(args.budget, args.seed, args.run_fraction, args.time_limit,
                  use_shared=not args.no_shared, progress=not args.json,
                  catalogue=args.catalogue)
    summary = report.summary()
    if args.json:
        summary["failures"] = [describe_failure(c, o) for c, o in report.failures[:args.show]]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(f"{summary['cases']} cases in {summary['seconds']}s: {summary['loaded']} loaded, "
              f"{summary['rejected']} rejected, {summary['crashed']} crashed, "
              f"{summary['hung']} hung")
        for key, n in summary["by_kind"].items():
            print(f"  {key:22s} {n}")
        print("runs of loaded scenarios:", summary["runs"])
        print("slowest cases:", [(round(s, 2), o, r) for s, o, r in report.slowest])
        if report.stray_files:
            print("FILES LEFT IN THE SCRATCH FOLDER:", report.stray_files)
        for case, outcome in report.failures[:args.show]:
            print(" ", describe_failure(case, outcome))
        if report.failures:
            print("distinct failures (kind, exception, where):")
            for sig, n in failure_signatures(report).most_common():
                print(f"  {n:5d}  {sig}")
    bad = summary["crashed"] + summary["hung"] + report.run_counts["run_crashed"] \
        + report.run_counts["run_hung"] + len(report.stray_files)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
