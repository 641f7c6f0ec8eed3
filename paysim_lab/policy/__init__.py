"""The policy decision-tree language: load, validate, compile, explain (docs/policies.md).

>>> import paysim_lab.policy as pol
>>> p = pol.load_policy({"version": "1.0", "policy_id": "release_all",
...     "payment_tree": {"type": "action", "node_id": "R", "action": "Release"}})
>>> p.compiled.payment(None).action
'Release'
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ..errors import PolicyError
from .builtin import BUILTIN_FILES, BUILTIN_PARAMETERS, builtin_document, policies_dir
from .catalog import ACTIONS_BY_TREE, FIELD_NAMES
from .compile import CompiledPolicy, compile_policy
from .describe import describe
from .model import Policy
from .render import path_text
from .toggles import check_feature_toggles, policy_categories, toggle_message
from .validate import analyze, emit_lints, raise_for_errors, validate_document

__all__ = [
    "load_policy", "Policy", "compile_policy", "CompiledPolicy", "builtin_document",
    "validate_document", "check_feature_toggles", "describe", "FIELD_NAMES", "ACTIONS_BY_TREE",
    "inline_document", "read_policy_file", "path_text", "policy_categories", "toggle_message",
    "BUILTIN_FILES", "BUILTIN_PARAMETERS", "policies_dir",
]


def _err(code: str, message: str, path=None) -> PolicyError:
    return PolicyError(message, [{"code": code, "message": message, "tree": None,
                                  "node_id": None, "path": path}])


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024


def read_policy_file(path) -> dict:
    """Parse a policy JSON file; every failure is a PolicyError naming the file."""
    label = str(path)
    try:
        info = os.stat(path)
        # refuse pipes and devices before opening: reading a pipe waits for a writer forever
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            raise _err("FileNotFound", f"{label}: is not a regular file (a pipe, device or "
                                       "socket); refusing to read it")
        if info.st_size > MAX_POLICY_FILE_BYTES:
            raise _err("FileNotFound", f"{label}: policy file is too large ({info.st_size} "
                                       f"bytes; the limit is {MAX_POLICY_FILE_BYTES})")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _err("FileNotFound", f"{label}: policy file not found") from None
    except IsADirectoryError:
        raise _err("FileNotFound", f"{label}: is a folder, not a policy file") from None
    except UnicodeDecodeError as e:
        raise _err("InvalidJson", f"{label}: JSON parsing failed: not UTF-8 text ({e.reason} "
                                  f"at byte {e.start})") from None
    except OSError as e:
        raise _err("FileNotFound", f"{label}: cannot read policy file ({e.strerror})") from None
    except PolicyError:
        raise
    except ValueError as e:    # a NUL byte in the path
        raise _err("FileNotFound", f"{label}: cannot read policy file ({e})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise _err("InvalidJson", f"{label}: JSON parsing failed: {e.msg} (line {e.lineno} "
                                  f"column {e.colno})") from None
    except ValueError as e:
        raise _err("InvalidJson", f"{label}: JSON parsing failed: {e}") from None
    except RecursionError:
        raise _err("NestingTooDeep", f"{label}: JSON parsing failed: nesting too deep") from None


def load_policy(source, *, profile: str = "extended", defaults: dict | None = None) -> Policy:
    """Load and validate a policy: ``source`` is a path to a JSON file or a dict.

    JSON text is not accepted (pass ``json.loads(text)``). ``defaults`` fills missing
    top-level keys, e.g. ``{"policy_id": key, "version": "1.0"}`` for an entry of a scenario's
    inline ``policies:`` map (see :func:`inline_document`). Raises PolicyError listing every
    problem; lints are emitted as PolicyWarning.

    >>> load_policy({"version": "1.0", "policy_id": "p"}).policy_id
    'p'
    """
    if isinstance(source, dict):
        doc, label = source, "<dict>"
    elif isinstance(source, (str, os.PathLike)):
        label = os.fspath(source)
        if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
            raise _err("InvalidSource", "load_policy takes a path or a dict, not JSON text; "
                                        "pass json.loads(text) instead")
        doc = read_policy_file(source)
    else:
        raise _err("InvalidSource", f"load_policy takes a path or a dict, got "
                                    f"{type(source).__name__}")
    a = analyze(doc, profile=profile, source=label, defaults=defaults)
    raise_for_errors(a)
    emit_lints(a)
    return Policy.model_validate(a.document, context={"prevalidated": True, "profile": profile,
                                                      "source": label})


def inline_document(key: str, entry: dict, policy_params: dict | None = None) -> dict:
    """Complete an entry of the inline ``policies:`` map (policy.md 2.4).

    ``version`` defaults to ``"1.0"`` and ``policy_id`` to ``key``; ``policy_params`` (an
    agent's overrides) are merged into ``parameters`` as floats. Checks that belong to the
    scenario (a ``policy_id`` different from the key, non-numeric overrides) raise PolicyError
    naming the key; the scenario loader turns them into ScenarioErrors.

    >>> inline_document("cautious", {"parameters": {"x": 1}}, {"x": 2})
    {'parameters': {'x': 2.0}, 'version': '1.0', 'policy_id': 'cautious'}
    """
    if not isinstance(entry, dict):
        raise _err("WrongType", f"policies.{key}: expected a policy object", f"policies.{key}")
    if "policy_id" in entry and entry["policy_id"] != key:
        raise _err("PolicyIdMismatch", f"policies.{key}.policy_id: {entry['policy_id']!r} "
                                       f"differs from the key {key!r}", f"policies.{key}.policy_id")
    doc = dict(entry)
    doc.setdefault("version", "1.0")
    doc.setdefault("policy_id", key)
    if policy_params:
        params = dict(doc.get("parameters") or {})
        for name, value in policy_params.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _err("NotANumber", f"policy_params.{name}: must be a number, got "
                                         f"{value!r}", f"policy_params.{name}")
            params[name] = float(value)
        doc["parameters"] = params
    return doc
