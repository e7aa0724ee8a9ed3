"""The pure step function: given a flow, where the call is and what happened, decide what next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import speech
from .model import (
    CollectNode,
    ConfirmNode,
    Flow,
    HangupNode,
    InputNode,
    IntentNode,
    MenuNode,
    Node,
    Prompt,
    RecordNode,
    SayNode,
    TransferNode,
)
from .problems import FlowError, Problem, UnknownNode
from .steps import (
    Action,
    Digits,
    Effect,
    Enqueue,
    Event,
    Gather,
    Hangup,
    Outcome,
    Record,
    Recorded,
    Say,
    Speech,
    Step,
)

MAX_NODES_PER_STEP = 100
# Queue results after which the caller is gone (Twilio's <Enqueue> action QueueResult).
_CALL_OVER = frozenset({"bridged", "hangup"})
_NO_INPUT = "no_input"
_INVALID = "invalid"


def advance(flow: Flow, node_id: str | None, event: Event, context: Mapping[str, Any]) -> Step:
    """The next step of a call that is waiting at `node_id` (None: the call is just starting).

    Pure: `flow`, `event` and `context` are left untouched; the step carries a new context.
    Raises UnknownNode when `node_id` (or an edge target) is not in the flow.
    """
    run = _Run(flow, context)
    if node_id is None:
        run.enter(flow.start)
    else:
        node = flow.nodes.get(node_id)
        if node is None:
            raise UnknownNode(node_id, flow.id)
        run.handle(node, event)
    return run.step()


def enter(flow: Flow, node_id: str, context: Mapping[str, Any]) -> Step:
    """Enter `node_id` afresh, as if an edge led there (e.g. resuming at `flow.recovery`).

    Raises UnknownNode when `node_id` is not in the flow.
    """
    if node_id not in flow.nodes:
        raise UnknownNode(node_id, flow.id)
    run = _Run(flow, context)
    run.attempts.pop(node_id, None)
    run.enter(node_id)
    return run.step()


def plain(value: Any) -> Any:
    """A JSON-safe deep copy: mappings become dicts with text keys, sequences become lists."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


class _Run:
    """The state of one `advance` call: the context being built and the actions so far."""

    def __init__(self, flow: Flow, context: Mapping[str, Any]) -> None:
        self.flow = flow
        self.context = dict(context)
        language = context.get("language")
        self.language: str = language if language in flow.languages else flow.default_language
        old_vars = context.get("vars")
        self.vars: dict[str, Any] = plain(old_vars) if isinstance(old_vars, Mapping) else {}
        old_attempts = context.get("attempts")
        self.attempts: dict[str, int] = {
            str(k): v
            for k, v in (old_attempts.items() if isinstance(old_attempts, Mapping) else ())
            if isinstance(v, int) and not isinstance(v, bool)
        }
        self.actions: list[Action] = []
        self.effects: list[Effect] = []
        self.next_node: str | None = None
        self.entered = 0

    def step(self) -> Step:
        context = {
            **self.context,
            "language": self.language,
            "vars": self.vars,
            "attempts": self.attempts,
        }
        return Step(tuple(self.actions), tuple(self.effects), self.next_node, context)

    # --- saying things ---------------------------------------------------------------

    def text(self, prompt: Prompt | None) -> Say | None:
        """The prompt in the caller's language, else in the flow's default language."""
        if not prompt:
            return None
        for language in (self.language, self.flow.default_language):
            text = prompt.get(language)
            if text:
                return Say(text, language)
        return None

    def say(self, prompt: Prompt | None) -> None:
        said = self.text(prompt)
        if said is not None:
            self.actions.append(said)

    # --- entering nodes --------------------------------------------------------------

    def leave(self, node: Node, target: str) -> None:
        self.attempts.pop(node.id, None)
        self.enter(target)

    def enter(self, node_id: str) -> None:
        """Runs nodes from `node_id` on until one waits for the caller or the application."""
        while True:
            self.entered += 1
            if self.entered > MAX_NODES_PER_STEP:
                message = f"more than {MAX_NODES_PER_STEP} nodes entered in one step (a loop?)"
                raise FlowError([Problem(self.flow.source, node_id, message)])
            node = self.flow.nodes.get(node_id)
            if node is None:
                raise UnknownNode(node_id, self.flow.id)
            if node.resolves:
                self.effects.append(Effect("mark_resolved", node=node.id))
            if not isinstance(node, SayNode):
                self.run(node)
                return
            self.say(node.prompt)
            node_id = node.next

    def run(self, node: Node) -> None:
        """Starts a node that waits (or ends the call)."""
        self.next_node = node.id
        if isinstance(node, InputNode):
            self.attempts.pop(node.id, None)
            self.gather(node, None)
        elif isinstance(node, RecordNode):
            self.say(node.prompt)
            self.actions.append(Record(node.id, node.max_length, node.timeout, node.finish_key))
        elif isinstance(node, IntentNode):
            self.say(node.prompt)
            params = {**plain(node.params), "vars": plain(self.vars), "language": self.language}
            self.effects.append(Effect(node.intent, node=node.id, params=params, awaits=True))
        elif isinstance(node, TransferNode):
            self.say(node.prompt)
            params = {"queue": node.queue}
            self.effects.append(Effect("transfer", node=node.id, params=params, awaits=True))
        elif isinstance(node, HangupNode):
            self.say(node.prompt)
            self.end()
        else:  # SayNode is followed by `enter`; a new node type must be taught here.
            raise TypeError(f"cannot run a {type(node).__name__}")

    def end(self) -> None:
        self.actions.append(Hangup())
        self.next_node = None

    def gather(self, node: InputNode, reprompt: Prompt | None) -> None:
        said = [s for s in (self.text(reprompt), self.text(node.prompt)) if s is not None]
        if isinstance(node, MenuNode):
            num_digits: int | None = max((len(k) for k in node.choices), default=1)
            finish = ""
        elif isinstance(node, ConfirmNode):
            num_digits, finish = 1, ""
        else:
            num_digits, finish = None, node.finish_key if isinstance(node, CollectNode) else ""
        grammar = (
            speech.node_grammar(node, self.language)
            if isinstance(node, MenuNode | ConfirmNode)
            else {}
        )
        self.actions.append(
            Gather(
                node=node.id,
                prompts=tuple(said),
                num_digits=num_digits,
                timeout_s=node.timeout,
                finish_on_key=finish,
                speech={self.language: grammar} if grammar else {},
            )
        )
        self.next_node = node.id

    # --- answers at a waiting node ---------------------------------------------------

    def handle(self, node: Node, event: Event) -> None:
        if isinstance(node, InputNode):
            self.answer(node, event)
        elif isinstance(node, RecordNode) and isinstance(event, Recorded):
            self.recorded(node, event)
        elif isinstance(node, IntentNode | TransferNode) and isinstance(event, Outcome):
            self.outcome(node, event)
        else:
            # A late or duplicated webhook: ask again rather than fail the call.
            self.enter(node.id)

    def answer(self, node: InputNode, event: Event) -> None:
        key = self.interpret(node, event)
        if key in (_NO_INPUT, _INVALID):
            self.retry(node, key)
        elif isinstance(node, MenuNode):
            choice = node.choices[key]
            if choice.language is not None:
                self.language = choice.language
            self.leave(node, choice.next)
        elif isinstance(node, ConfirmNode):
            self.leave(node, node.yes if key == "1" else node.no)
        elif isinstance(node, CollectNode):
            self.vars[node.store_as] = key
            self.leave(node, node.next)

    def interpret(self, node: InputNode, event: Event) -> str:
        """The key the caller chose, the digits collected, or _NO_INPUT / _INVALID."""
        if isinstance(event, Digits):
            value = event.value
            if isinstance(node, CollectNode) and node.finish_key:
                value = value.removesuffix(node.finish_key)
            if not value:
                return _NO_INPUT
            if isinstance(node, CollectNode):
                return value if self.fits(node, value) else _INVALID
            valid = node.choices if isinstance(node, MenuNode) else ("1", "2")
            return value if value in valid else _INVALID
        if isinstance(event, Speech):
            if not speech.normalise(event.text):
                return _NO_INPUT
            if isinstance(node, CollectNode):
                digits = speech.spoken_digits(event.text)
                return digits if self.fits(node, digits) else _INVALID
            if isinstance(node, MenuNode | ConfirmNode):
                key = speech.match(speech.node_grammar(node, self.language), event.text)
                return key if key is not None else _INVALID
        return _NO_INPUT

    @staticmethod
    def fits(node: CollectNode, digits: str) -> bool:
        return (
            digits.isascii()
            and digits.isdigit()
            and node.min_length <= len(digits) <= node.max_length
        )

    def retry(self, node: InputNode, why: str) -> None:
        tries = self.attempts.get(node.id, 0) + 1
        if tries < node.attempts:
            self.attempts[node.id] = tries
            prompts = self.flow.prompts
            self.gather(node, prompts.no_input if why == _NO_INPUT else prompts.invalid)
        else:
            self.leave(node, node.default or self.flow.operator)

    def recorded(self, node: RecordNode, event: Recorded) -> None:
        recording = {"url": event.url, "duration_s": event.duration_s}
        params = {**recording, "store_as": node.store_as}
        self.effects.append(Effect("save_recording", node=node.id, params=params))
        if node.store_as:
            self.vars[node.store_as] = recording
        nothing = event.url == "" or event.duration_s == 0
        self.leave(node, (node.empty or node.next) if nothing else node.next)

    def outcome(self, node: IntentNode | TransferNode, event: Outcome) -> None:
        if isinstance(node, TransferNode):
            if event.name == "queued":
                self.actions.append(Enqueue(node.id, str(event.data.get("queue", node.queue))))
                self.next_node = node.id
                return
            if event.name in _CALL_OVER:
                self.end()
                return
        said = self.text(event.prompt)
        if said is None and event.name == "unavailable":
            said = self.text(self.flow.prompts.unavailable)
        if said is not None:
            self.actions.append(said)
        if isinstance(node, IntentNode) and node.store_as:
            self.vars[node.store_as] = plain(event.data)
        self.leave(node, node.outcomes.get(event.name) or node.next or self.flow.recovery)
