"""Attaching policies to agents: the effective policy document of every agent (policy.md 2).

Forms accepted per agent: a ``policy:`` block (built-in types, ``FromJson``, ``Inline``,
``InlineJson``), a ``policy_id`` naming an entry of the top-level ``policies`` map (with
optional ``policy_params``), or nothing (Fifo). Every effective document is validated by
``paysim_lab.policy.validate_document`` and, when the scenario has
``policy_feature_toggles``, checked by ``paysim_lab.policy.check_feature_toggles``.

``json_path`` resolution (relative paths): the scenario file's folder, then each ancestor of
that folder, then the current directory, then the bundled ``data/policies`` by file name.
Only files inside the scenario's folder tree (for a dict: ``base_dir``'s, else the current
directory's), the bundled folder and the ``allowed_policy_dirs`` the caller names are ever
opened (symlinks are followed before the check); a location elsewhere is skipped and
reported, so a scenario cannot copy an arbitrary JSON file (secrets included) into a run
and its store. Folders listed in the environment variable ``PAYSIM_POLICY_DIRS`` (separated
like ``PATH``) are trusted too; ``allowed_policy_dirs=["/"]`` allows every file.

>>> r = PolicyPathResolver(base_dir=None)
>>> [p.name for p in r.candidates("fifo.json")][-1]
'fifo.json'
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import PolicyError
from . import reading
from .fields import _describe
from .issues import Issues, format_path
from .models import BUILTIN_POLICY_TYPES


@dataclass(frozen=True)
class PolicyApi:
    """The three functions of ``paysim_lab.policy`` the loader relies on."""

    builtin_document: Callable[[str, dict], dict]
    validate_document: Callable[..., Any]
    check_feature_toggles: Callable[..., Any]


def policy_api() -> PolicyApi:
    """The policy package's functions, imported on first use (it imports the engine)."""
    from .. import policy
    return PolicyApi(policy.builtin_document, policy.validate_document,
                     policy.check_feature_toggles)


# ---- json_path resolution -------------------------------------------------------------------

def _bundled_policies_dir() -> Path:
    from .. import data
    return data.policies_dir()


def _within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


#: Environment variable naming extra trusted policy folders (separated like PATH).
POLICY_DIRS_ENV = "PAYSIM_POLICY_DIRS"

#: How to trust another folder; ends every refusal of a file outside the allowed folders.
ALLOW_HINT = ("to allow a folder, name it with --allow-policy-dir DIR, or "
              "allowed_policy_dirs=[DIR] in load_scenario")


class PolicyPathResolver:
    """Finds the file a ``json_path`` refers to; raises SourceError listing every place tried."""

    def __init__(self, base_dir: Path | None, allowed_dirs=None):
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.bundled = _bundled_policies_dir()
        dirs = [] if allowed_dirs is None else (
            [allowed_dirs] if isinstance(allowed_dirs, (str, os.PathLike)) else list(allowed_dirs))
        # folders the user trusts for every load (e.g. a SimCash checkout)
        trusted = [d for d in os.environ.get(POLICY_DIRS_ENV, "").split(os.pathsep) if d]
        own = self.base_dir if self.base_dir is not None else Path.cwd()
        self.allowed: list[Path] = []
        for d in [*dirs, own, self.bundled, *trusted]:
            try:
                real = Path(d).resolve()
            except (OSError, RuntimeError, ValueError):
                continue
            if real not in self.allowed:
                self.allowed.append(real)

    def permits(self, path: Path, extra_dirs=()) -> bool:
        """Whether ``path`` (symlinks followed) lies inside an allowed folder or ``extra_dirs``.

        >>> PolicyPathResolver(base_dir="/tmp").permits(Path("/etc/passwd"))
        False
        """
        try:
            real = Path(path).resolve()
            folders = self.allowed + [Path(d).resolve() for d in extra_dirs]
        except (OSError, RuntimeError, ValueError):
            return False
        return any(_within(real, folder) for folder in folders)

    def candidates(self, json_path: str) -> list[Path]:
        rel = Path(json_path)
        out: list[Path] = []
        if rel.is_absolute():
            out.append(rel)
        else:
            if self.base_dir is not None:
                base = Path(os.path.abspath(self.base_dir))
                out += [folder / rel for folder in (base, *base.parents)]
            out.append(Path.cwd() / rel)
        out.append(self.bundled / rel.name)
        if rel.parent.name:
            out.append(self.bundled / rel.parent.name / rel.name)
        unique: list[Path] = []
        seen: set[str] = set()
        for cand in out:
            key = os.path.normpath(str(cand))
            if key not in seen:
                seen.add(key)
                unique.append(Path(key))
        return unique

    def resolve(self, json_path: str) -> Path:
        tried: list[str] = []
        refused: list[str] = []
        for cand in self.candidates(json_path):
            try:
                real = cand.resolve()
                if not any(_within(real, folder) for folder in self.allowed):
                    if cand.exists():
                        refused.append(str(cand))
                    continue
                tried.append(str(cand))
                if cand.is_file():
                    return cand
            except (OSError, RuntimeError, ValueError) as exc:
                # a symlink loop, a name over the system's limit, a NUL byte: this place
                # cannot hold the file; say why and keep looking
                why = getattr(exc, "strerror", None) or str(exc)
                tried.append(f"{cand} ({why})")
        if refused:
            allowed = ", ".join(str(d) for d in self.allowed)
            looked = "; ".join(tried) if tried else "nowhere"
            raise reading.SourceError(
                f"policy file {json_path!r} not found inside the allowed policy folders "
                f"({allowed}); looked in: {looked}; {len(refused)} location(s) outside those "
                f"folders were refused ({ALLOW_HINT})")
        raise reading.SourceError(f"policy file {json_path!r} not found; looked in: "
                                  + "; ".join(tried))


# ---- effective documents ---------------------------------------------------------------------

def _fingerprint(doc) -> str:
    """Content key for caching verdicts; unique per object when the content is not JSON."""
    try:
        return json.dumps(doc, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return f"object:{id(doc)}"


class _Resolution:
    """State of one resolution pass: caches and the issue log."""

    def __init__(self, scenario, issues: Issues, api: PolicyApi):
        self.scenario = scenario
        self.issues = issues
        self.api = api
        self.source = scenario.source
        self.profile = scenario.profile
        self.paths = PolicyPathResolver(scenario._base_dir, scenario._allowed_policy_dirs)
        self.files: dict[str, Any] = {}
        self.verdicts: dict[tuple[str, str], str | None] = {}
        self.toggle_verdicts: dict[str, Any] = {}
        self.failures: dict[tuple[str, str], list[list]] = {}

    # -- reading ------------------------------------------------------------------------------
    def read_policy_file(self, json_path: str, at: list) -> tuple[dict | None, str]:
        """(a private copy of the file's document, the file path) or (None, "") on error."""
        try:
            path = self.paths.resolve(json_path)
        except reading.SourceError as exc:
            self.issues.error(at, exc.message)
            return None, ""
        key = str(path)
        if key not in self.files:
            try:
                self.files[key] = reading.load_json_file(path)
            except reading.SourceError as exc:
                self.files[key] = exc
        data = self.files[key]
        if isinstance(data, reading.SourceError):
            self.issues.error(at, f"{path}: {data.message}")
            return None, ""
        if not isinstance(data, dict):
            self.issues.error(at, f"{path}: a policy file must hold a JSON object")
            return None, ""
        return copy.deepcopy(data), key

    # -- checking -----------------------------------------------------------------------------
    def validate(self, doc: dict, label: str, at: list) -> None:
        key = (_fingerprint(doc), label)
        if key not in self.verdicts:
            try:
                self.api.validate_document(doc, profile=self.profile, source=label)
                verdict = None
            except PolicyError as exc:
                verdict = str(exc)
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                verdict = f"{type(exc).__name__}: {exc}"
            self.verdicts[key] = verdict
        if self.verdicts[key] is not None:
            self.failures.setdefault(key, []).append(at)

    def report_failures(self) -> None:
        for key, paths in self.failures.items():
            text = f"invalid policy: {self.verdicts[key]}"
            if len(paths) > 1:
                others = ", ".join(format_path(p) for p in paths[1:])
                text += f" (the same policy is also used at {others})"
            self.issues.error(paths[0], text)

    def check_toggles(self, doc: dict, agent_id: str, at: list, *, warn_only: bool) -> None:
        toggles = self.scenario.policy_feature_toggles
        if toggles is None or (toggles.include is None and toggles.exclude is None):
            return
        key = _fingerprint(doc)
        if key not in self.toggle_verdicts:
            try:
                self.toggle_verdicts[key] = self.api.check_feature_toggles(
                    doc, include=toggles.include, exclude=toggles.exclude)
            except PolicyError as exc:
                self.toggle_verdicts[key] = str(exc)
        verdict = self.toggle_verdicts[key]
        if not verdict:
            return
        if isinstance(verdict, str):
            text = verdict
        else:
            text = (f"Agent {agent_id}: Policy uses forbidden categories: "
                    f"{', '.join(sorted(verdict))}.")
            if toggles.include is not None:
                text += f" Allowed categories: {', '.join(toggles.include)}."
            else:
                text += f" Excluded categories: {', '.join(toggles.exclude)}."
        if warn_only:
            self.issues.warn(at, text + " (not enforced for InlineJson, as in SimCash)")
        else:
            self.issues.error(at, text)

    # -- the inline policies map ----------------------------------------------------------------
    def prepare_entries(self) -> dict[str, tuple[dict, str] | None]:
        entries: dict[str, tuple[dict, str] | None] = {}
        for key, entry in (self.scenario.policies or {}).items():
            at = ["policies", key]
            if isinstance(entry, str):
                doc, label = self.read_policy_file(entry, at)
                entries[key] = (doc, label) if doc is not None else None
            elif isinstance(entry, dict):
                doc = copy.deepcopy(entry)
                doc.setdefault("version", "1.0")
                written = doc.get("policy_id")
                if written is None:
                    doc["policy_id"] = key
                elif written != key:
                    self.issues.error(at + ["policy_id"], f"must equal its key {key!r} in the "
                                      f"policies map (got {written!r}); omit it to use the key")
                    entries[key] = None
                    continue
                entries[key] = (doc, f"{self.source}: {format_path(at)}")
            else:
                self.issues.error(at, "must be a policy document (a mapping) or a json_path "
                                      f"string (got {_describe(entry)})")
                entries[key] = None
                continue
            if entries[key] is not None:
                self.validate(entries[key][0], entries[key][1], at)
        return entries


def resolve_agent_policies(scenario, issues: Issues | None = None, *, raise_errors=False,
                           api: PolicyApi | None = None) -> tuple[dict[str, dict], Issues]:
    """Effective policy document per agent id, plus the issues found.

    With ``raise_errors`` a ScenarioError is raised when any agent's policy is invalid.
    """
    issues = issues if issues is not None else Issues(scenario.source)
    run = _Resolution(scenario, issues, api or policy_api())
    entries = run.prepare_entries()
    docs: dict[str, dict] = {}
    for i, agent in enumerate(scenario.agents):
        at = ["agents", i]
        doc = None
        if agent.policy_id is not None:
            doc = _from_policy_map(run, agent, at, entries)
        elif agent.policy is not None:
            doc = _from_policy_block(run, agent, at + ["policy"])
        else:
            doc = run.api.builtin_document("Fifo", {})
            run.validate(doc, f"{run.source}: {format_path(at)} (default Fifo)", at)
        if doc is not None:
            docs.setdefault(agent.id, doc)
    run.report_failures()
    if raise_errors:
        issues.raise_if_errors()
    return docs, issues


def _from_policy_map(run: _Resolution, agent, at: list, entries) -> dict | None:
    pid = agent.policy_id
    if pid not in entries:
        known = ", ".join(entries) if entries else "none (there is no top-level policies map)"
        run.issues.error(at + ["policy_id"], f"unknown policy {pid!r}; known policy ids: {known}")
        return None
    entry = entries[pid]
    if entry is None:
        return None  # the entry's own error is already reported
    doc, label = entry
    doc = copy.deepcopy(doc)
    if agent.policy_params:
        params = doc.setdefault("parameters", {})
        if isinstance(params, dict):
            for name, value in agent.policy_params.items():
                params[name] = float(value)
            run.validate(doc, f"{run.source}: {format_path(at + ['policy_params'])}",
                         at + ["policy_params"])
    run.check_toggles(doc, agent.id, at + ["policy_id"], warn_only=False)
    return doc


def _from_policy_block(run: _Resolution, agent, at: list) -> dict | None:
    spec = agent.policy
    kind = spec.type
    apply_params = bool(spec.params) and run.profile == "extended" and kind in TREE_POLICY_TYPES
    if spec.params and not apply_params:
        # simcash profile, or a built-in type (whose parameters are its own keys)
        run.issues.warn(at + ["params"], "ignored: SimCash does not apply parameter overrides "
                        f"to policies ({', '.join(map(str, spec.params))}); to override "
                        "parameters use the top-level policies map with policy_params")
    if kind in BUILTIN_POLICY_TYPES:
        doc = run.api.builtin_document(kind, spec.builtin_params())
        run.validate(doc, f"{run.source}: {format_path(at)} ({kind})", at)
        return doc
    if kind == "FromJson":
        doc, label = run.read_policy_file(spec.json_path, at + ["json_path"])
    elif kind == "Inline":
        doc = copy.deepcopy(spec.decision_trees)
        label = f"{run.source}: {format_path(at + ['decision_trees'])}"
    else:  # InlineJson
        doc = _parse_json_string(run, spec.json_string, at + ["json_string"])
        label = f"{run.source}: {format_path(at + ['json_string'])}"
    if doc is None:
        return None
    run.validate(doc, label, at)
    if apply_params and not _apply_params(run, doc, spec.params, at + ["params"]):
        return None
    run.check_toggles(doc, agent.id, at, warn_only=(kind == "InlineJson"))
    return doc


# Policy kinds whose document is a decision tree with a ``parameters`` map.
TREE_POLICY_TYPES = ("FromJson", "Inline", "InlineJson")


def _apply_params(run: _Resolution, doc: dict, overrides: dict, at: list) -> bool:
    """Extended profile: an agent's ``policy.params`` override the policy's ``parameters``
    (numbers only, as ``policy_params``); the result is validated again."""
    bad = [str(k) for k, v in overrides.items()
           if isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        run.issues.error(at, f"parameter overrides must be numbers ({', '.join(bad)})")
        return False
    params = doc.setdefault("parameters", {})
    if not isinstance(params, dict):
        return True  # the document's own error is already reported
    for name, value in overrides.items():
        params[str(name)] = float(value)
    run.validate(doc, f"{run.source}: {format_path(at)}", at)
    return True


def _parse_json_string(run: _Resolution, text: str, at: list) -> dict | None:
    try:
        doc = reading.read_json_text(text, format_path(at)).data
    except reading.SourceError as exc:
        run.issues.error(at, f"not valid JSON: {exc.message}")
        return None
    if not isinstance(doc, dict):
        run.issues.error(at, f"must hold a JSON object (got {_describe(doc)})")
        return None
    return doc
