"""Exception and warning types raised by paysim_lab.

Every error a user can trigger with bad input is one of these, with a message that names the
file, the path inside it and the problem. Nothing else should escape the public API.
"""
from __future__ import annotations


class ScenarioError(ValueError):
    """An invalid scenario file or dict.

    ``errors`` holds one dict per problem: ``{"path": "agents[2].arrival_config", "message": ...}``.

    >>> raise ScenarioError("s.yaml: agents[0].id: must not be empty")
    Traceback (most recent call last):
    ...
    paysim_lab.errors.ScenarioError: s.yaml: agents[0].id: must not be empty
    """

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or [{"path": "", "message": message}]


class PolicyError(ValueError):
    """An invalid policy document (load-time).

    ``errors`` is a list of ``{code, message, tree, node_id, path}`` dicts (policy.md 13.4).
    """

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or [{"code": "PolicyError", "message": message, "tree": None,
                                  "node_id": None, "path": None}]


class PolicyRuntimeError(PolicyError):
    """A policy tree failed while being evaluated (policy.md 13.6).

    Carries the agent, tick, tree, tx id, the decision path walked so far, the failing node
    and the cause kind (e.g. ``DivisionByZero``).
    """

    def __init__(self, kind: str, detail: str, *, agent_id=None, tick=None, tree=None,
                 tx_id=None, path=None, node_id=None):
        self.kind = kind
        self.detail = detail
        self.agent_id = agent_id
        self.tick = tick
        self.tree = tree
        self.tx_id = tx_id
        self.path = path
        self.node_id = node_id
        super().__init__(self._render(), [{"code": kind, "message": detail, "tree": tree,
                                           "node_id": node_id, "path": path}])

    def _render(self) -> str:
        where = []
        if self.agent_id is not None:
            where.append(f"agent {self.agent_id}")
        if self.tick is not None:
            where.append(f"tick {self.tick}")
        if self.tree is not None:
            where.append(self.tree)
        if self.tx_id is not None:
            where.append(f"tx {self.tx_id}")
        if self.node_id is not None:
            where.append(f"node {self.node_id}")
        head = ", ".join(where)
        msg = f"{self.kind}: {self.detail}"
        if head:
            msg = f"{head}: {msg}"
        if self.path:
            msg += f" (path: {self.path})"
        return msg

    def located(self, **where) -> "PolicyRuntimeError":
        """Return a copy with more location fields filled in (engine call sites add agent/tick)."""
        kw = dict(agent_id=self.agent_id, tick=self.tick, tree=self.tree, tx_id=self.tx_id,
                  path=self.path, node_id=self.node_id)
        kw.update({k: v for k, v in where.items() if v is not None})
        return PolicyRuntimeError(self.kind, self.detail, **kw)


class SimulationError(RuntimeError):
    """The engine cannot continue (a state the reference engine aborts on)."""


class SimulationFinished(Exception):
    """Raised by ``Simulation.step`` once every tick of the scenario has run."""


class StoreError(RuntimeError):
    """A DuckDB store problem: locked file, unknown schema version, duplicate run id, ..."""


class ScenarioWarning(UserWarning):
    """A scenario key that is accepted but ignored or suspicious."""


class PolicyWarning(UserWarning):
    """A lint on a policy document (never blocks loading)."""
