"""The immutable, typed shape of a call flow: `Flow` and one frozen dataclass per node type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

Prompt: TypeAlias = Mapping[str, str]
"""Text to say, per language (e.g. {"zh-CN": "...", "en-US": "..."})."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """What every node has; `resolves` marks reaching it as resolving the caller's matter."""

    kind: ClassVar[str] = "node"

    id: str
    resolves: bool = False

    def edges(self) -> tuple[tuple[str, str], ...]:
        """The node ids this node names, as (field label, target) pairs, in file order."""
        return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SayNode(Node):
    kind: ClassVar[str] = "say"

    prompt: Prompt
    next: str

    def edges(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputNode(Node):
    """A node that waits for keys or speech and re-asks on no input / invalid input."""

    prompt: Prompt
    timeout: int = 5
    attempts: int = 3
    default: str | None = None  # None: the flow's operator

    def edges(self) -> tuple[tuple[str, str], ...]:
        return (("default", self.default),) if self.default is not None else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    key: str
    next: str
    language: str | None = None  # `set: {language: ...}`
    speech: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)  # language -> phrases


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuNode(InputNode):
    kind: ClassVar[str] = "menu"

    choices: Mapping[str, Choice]

    def edges(self) -> tuple[tuple[str, str], ...]:
        own = tuple((f"choice {c.key!r} next", c.next) for c in self.choices.values())
        return own + InputNode.edges(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectNode(InputNode):
    kind: ClassVar[str] = "collect"

    min_length: int
    max_length: int
    store_as: str
    next: str
    finish_key: str = "#"
    # A secret (a password, ID digits): the application must not keep what was keyed in its
    # logs, and drops vars[store_as] once the turn that used it is over.
    sensitive: bool = False

    def edges(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next), *InputNode.edges(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class YesNoWords:
    """Spoken yes/no words for one language; None keeps the built-in list."""

    yes: tuple[str, ...] | None = None
    no: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmNode(InputNode):
    kind: ClassVar[str] = "confirm"

    yes: str
    no: str
    speech: Mapping[str, YesNoWords] = field(default_factory=_empty)

    def edges(self) -> tuple[tuple[str, str], ...]:
        return (("yes", self.yes), ("no", self.no), *InputNode.edges(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordNode(Node):
    kind: ClassVar[str] = "record"

    prompt: Prompt
    next: str
    max_length: int = 120
    timeout: int = 5
    finish_key: str = "#"
    store_as: str | None = None
    empty: str | None = None  # None: same as next

    def edges(self) -> tuple[tuple[str, str], ...]:
        empty = (("empty", self.empty),) if self.empty is not None else ()
        return (("next", self.next), *empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentNode(Node):
    """Asks the application to do something and waits for its `Outcome`."""

    kind: ClassVar[str] = "intent"

    intent: str
    prompt: Prompt | None = None
    params: Mapping[str, Any] = field(default_factory=_empty)
    outcomes: Mapping[str, str] = field(default_factory=_empty)
    next: str | None = None
    store_as: str | None = None

    def edges(self) -> tuple[tuple[str, str], ...]:
        own = tuple((f"outcome {name!r}", target) for name, target in self.outcomes.items())
        return own + ((("next", self.next),) if self.next is not None else ())


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackNode(IntentNode):
    """An intent node whose intent is always "request_callback"."""

    kind: ClassVar[str] = "callback"

    intent: str = "request_callback"


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferNode(Node):
    kind: ClassVar[str] = "transfer"

    queue: str
    prompt: Prompt | None = None
    outcomes: Mapping[str, str] = field(default_factory=_empty)
    next: str | None = None

    def edges(self) -> tuple[tuple[str, str], ...]:
        own = tuple((f"outcome {name!r}", target) for name, target in self.outcomes.items())
        return own + ((("next", self.next),) if self.next is not None else ())


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupNode(Node):
    kind: ClassVar[str] = "hangup"

    prompt: Prompt | None = None


NODE_TYPES: Mapping[str, type[Node]] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            SayNode,
            MenuNode,
            CollectNode,
            ConfirmNode,
            RecordNode,
            IntentNode,
            CallbackNode,
            TransferNode,
            HangupNode,
        )
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowPrompts:
    """The shared prompts the engine itself says."""

    no_input: Prompt
    invalid: Prompt
    unavailable: Prompt


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A whole call flow; `source` names the file it came from, for problem reports."""

    id: str
    languages: tuple[str, ...]
    default_language: str
    start: str
    recovery: str
    operator: str
    prompts: FlowPrompts
    nodes: Mapping[str, Node]
    source: str = field(default="<memory>", compare=False)
