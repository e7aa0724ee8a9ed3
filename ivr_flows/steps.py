"""Plain data the flow engine consumes (events) and produces (actions, effects, steps).

Nothing here knows about Twilio, HTTP or a database: `hotline.voice` turns actions into
TwiML and carries out effects; the engine only decides what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --- events: what happened since the last step ------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The call has just arrived (first webhook)."""


@dataclass(frozen=True, slots=True)
class Digits:
    """The caller keyed something at an input node. An empty string means no input (timeout)."""

    value: str


@dataclass(frozen=True, slots=True)
class Speech:
    """A recognised phrase at an input node (supplied later by the speech layer)."""

    text: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Recorded:
    """A `record` node finished: the recording's URL (may be empty when nothing was said)."""

    url: str
    duration_s: int
    digits: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of an awaited effect (intent, callback request, transfer).

    `name` is an outcome key of the node (e.g. "ok", "unavailable", "queued", "failed");
    `prompt` is text per language to say before moving on (e.g. a case status read back);
    `data` is stored into the context under the node's `store_as` when given.
    """

    name: str
    prompt: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)


Event = Start | Digits | Speech | Recorded | Outcome

# --- actions: what the caller should hear / be asked ------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: int


@dataclass(frozen=True, slots=True)
class Gather:
    """Ask for keys. `prompts` are said inside the gather (barge-in); the answer goes to `node`."""

    node: str
    prompts: tuple[Say | Pause, ...]
    num_digits: int | None
    timeout_s: int
    finish_on_key: str
    # phrases a speech recogniser may accept at this node, per language: phrase -> the
    # digits it stands for ("1", "yes"...). Empty when the node takes no speech.
    speech: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Record:
    node: str
    max_length_s: int
    timeout_s: int
    finish_on_key: str
    play_beep: bool = True


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Put the caller in an agent queue; the queue result is posted back to `node`."""

    node: str
    queue: str


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


Action = Say | Pause | Gather | Record | Enqueue | Hangup

# --- effects: what the application must do ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    """A named intent for the application (open a work order, look up case status...).

    When `awaits` is true the engine stopped at `node` and needs an `Outcome` event from the
    application before it can continue; the application must always supply one (an intent
    it cannot serve yet answers `Outcome("unavailable")`).
    """

    name: str
    node: str
    params: Mapping[str, Any] = field(default_factory=dict)
    awaits: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """What `advance` decided: actions to render, effects to carry out, where the call now is.

    `next_node` is the node whose answer is awaited (input, recording, an effect's outcome,
    or the queue result of an Enqueue), or None when the call is over (after a Hangup).
    """

    actions: tuple[Action, ...]
    effects: tuple[Effect, ...]
    next_node: str | None
    context: Mapping[str, Any]

    @property
    def awaiting_outcome(self) -> Effect | None:
        return next((e for e in self.effects if e.awaits), None)
