"""``psl.Policy``: the pydantic model of a policy document (policy.md section 3).

The model keeps the document exactly as written: trees stay plain JSON (validated by the
policy language's own validator, which reports file, JSON path and node id), parameters keep
their JSON types, and unknown keys are kept. ``model_dump()`` gives back the same dict, without
adding keys the author did not write.

>>> p = Policy.model_validate({"version": "1.0", "policy_id": "fifo", "x_note": "kept",
...     "payment_tree": {"type": "action", "node_id": "A", "action": "Release"}})
>>> p.model_dump() == {"version": "1.0", "policy_id": "fifo", "x_note": "kept",
...     "payment_tree": {"type": "action", "node_id": "A", "action": "Release"}}
True
>>> p.trace("payment", {})
[{'node_id': 'A', 'node_type': 'action', 'result': None}]
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_serializer, \
    model_validator

from . import catalog as C
from .compile import CompiledPolicy, build_compiled
from .ir import copy_json
from .render import path_text
from .validate import analyze, emit_lints, raise_for_errors


class Policy(BaseModel):
    """A validated policy document.

    Build one with :func:`paysim_lab.policy.load_policy` (which raises
    :class:`~paysim_lab.errors.PolicyError` with every problem); constructing the model directly
    validates too, in the profile given by the validation context (``{"profile": "simcash"}``,
    default ``extended``).
    """

    model_config = ConfigDict(extra="allow")

    version: str
    policy_id: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    payment_tree: Any = None
    bank_tree: Any = None
    strategic_collateral_tree: Any = None
    end_of_tick_collateral_tree: Any = None

    _profile: str = PrivateAttr("extended")
    _source: str = PrivateAttr("<dict>")
    _compiled: Any = PrivateAttr(None)
    _compiled_mapping: Any = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _check_language(cls, data, handler, info):
        ctx = info.context or {}
        profile = ctx.get("profile", "extended")
        source = ctx.get("source", "<dict>")
        if isinstance(data, Policy):
            return data
        if not ctx.get("prevalidated"):
            a = analyze(data, profile=profile, source=source, defaults=ctx.get("defaults"))
            raise_for_errors(a)
            emit_lints(a)
            data = a.document
        model = handler(copy_json(data) if isinstance(data, dict) else data)
        model._profile = profile
        model._source = source
        return model

    @model_serializer(mode="wrap")
    def _dump_as_written(self, handler):
        out = handler(self)
        if isinstance(out, dict):
            for name in type(self).model_fields:
                if name not in self.model_fields_set:
                    out.pop(name, None)
        return out

    # ---- views ---------------------------------------------------------------------------
    @property
    def document(self) -> dict:
        """The document as a plain dict (what the author wrote)."""
        return self.model_dump()

    @property
    def profile(self) -> str:
        return self._profile

    @property
    def compiled(self) -> CompiledPolicy:
        """The policy compiled for the engine (EvalEnv contexts); built once."""
        if self._compiled is None:
            self._compiled = self._compile(for_mapping=False)
        return self._compiled

    def _compile(self, for_mapping: bool) -> CompiledPolicy:
        a = analyze(self.document, profile=self._profile, source=self._source)
        raise_for_errors(a)
        return build_compiled(a, for_mapping=for_mapping)

    def _compiled_for(self, env_or_context) -> CompiledPolicy:
        if isinstance(env_or_context, Mapping):
            if self._compiled_mapping is None:
                self._compiled_mapping = self._compile(for_mapping=True)
            return self._compiled_mapping
        return self.compiled

    def trace(self, tree: str, env_or_context) -> list[dict]:
        """The nodes one walk of ``tree`` visits, for the "why did it do that?" view.

        ``env_or_context`` is an engine EvalEnv or a plain ``{field_name: number}`` dict
        (registers missing from it read 0.0). Returns
        ``[{"node_id", "node_type": "condition"|"action", "result": True|False|None}]``.

        >>> p = Policy.model_validate({"version": "1.0", "policy_id": "t", "bank_tree": {
        ...     "type": "condition", "node_id": "B1", "condition": {"op": ">",
        ...     "left": {"field": "balance"}, "right": {"value": 0}},
        ...     "on_true": {"type": "action", "node_id": "B2", "action": "NoAction"},
        ...     "on_false": {"type": "action", "node_id": "B3", "action": "NoAction"}}})
        >>> p.trace_text("bank", {"balance": 5})
        'B1(true) → B2'
        """
        return self._compiled_for(env_or_context).trace(tree, env_or_context)

    def trace_text(self, tree: str, env_or_context) -> str:
        """The decision path of :meth:`trace` as text (``B1(true) → B2``)."""
        return path_text(self.trace(tree, env_or_context))

    def decide(self, tree: str, env_or_context):
        """Evaluate one tree: a Decision (payment/collateral trees) or a list (bank tree)."""
        key = C.TREE_ALIASES.get(tree)
        if key is None:
            raise ValueError(f"unknown tree {tree!r}; expected one of {', '.join(C.TREE_KEYS)}")
        cp = self._compiled_for(env_or_context)
        attr = {"payment_tree": "payment", "bank_tree": "bank",
                "strategic_collateral_tree": "strategic_collateral",
                "end_of_tick_collateral_tree": "end_of_tick_collateral"}[key]
        return getattr(cp, attr)(env_or_context)

    def describe(self) -> str:
        """Plain-language summary (see :func:`paysim_lab.policy.describe`)."""
        from .describe import describe
        return describe(self)
