"""How flow defects are reported: `Problem`, `FlowError` and `UnknownNode`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One defect in a flow file; `node` is None when it concerns the flow as a whole."""

    file: str
    node: str | None
    message: str

    def __str__(self) -> str:
        if self.node is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}: node {self.node!r}: {self.message}"


class FlowError(ValueError):
    """A flow cannot be used; `problems` lists every defect found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class UnknownNode(KeyError):
    """The engine was asked about a node the flow does not have (stale call state, old flow)."""

    def __init__(self, node_id: str, flow_id: str | None = None) -> None:
        super().__init__(node_id)
        self.node_id = node_id
        self.flow_id = flow_id

    def __str__(self) -> str:
        # KeyError's own __str__ would print only the quoted key.
        where = f" in flow {self.flow_id!r}" if self.flow_id else ""
        return f"unknown node {self.node_id!r}{where}"
