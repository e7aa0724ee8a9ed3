"""Semantic checks of a loaded flow: edges, reachability, languages, endless loops, ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .loader import load_flow
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
from .problems import FlowError, Problem
from .speech import normalise

_ID = re.compile(r"[A-Za-z0-9_-]+")
_KEY = re.compile(r"[0-9*#]+")
_QUEUE = re.compile(r"[a-z0-9_-]+")
_INTENT = re.compile(r"[a-z_]+")
_FINISH_KEYS = frozenset("0123456789*#") | {""}


def check_flow_file(path: str | Path) -> list[Problem]:
    """Every problem of a flow file, structural or semantic; never raises for a bad file."""
    try:
        flow = load_flow(path)
    except FlowError as exc:
        return exc.problems
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), None, f"cannot read the file: {exc}")]
    return validate(flow)


def validate(flow: Flow) -> list[Problem]:
    """The semantic problems of a flow (an empty list: the flow is fit to answer calls)."""
    found = [
        *_bad_ids(flow),
        *_dangling(flow),
        *_languages(flow),
        *_unreachable(flow),
        *_say_loops(flow),
        *_no_way_out(flow),
    ]
    return [Problem(flow.source, node, message) for node, message in found]


Found = Iterator[tuple[str | None, str]]


def _edges(flow: Flow, node: Node) -> list[str]:
    """Every node the call can go to from `node`, including the flow-wide fallbacks."""
    targets = [target for _, target in node.edges()]
    if isinstance(node, InputNode) and node.default is None:
        targets.append(flow.operator)
    if isinstance(node, IntentNode | TransferNode) and node.next is None:
        targets.append(flow.recovery)
    return [t for t in targets if t in flow.nodes]


def _bad_ids(flow: Flow) -> Found:
    if not _ID.fullmatch(flow.id):
        yield None, f"flow id {flow.id!r} must be made of letters, digits, '_' and '-'"
    for node in flow.nodes.values():
        if not _ID.fullmatch(node.id):
            yield node.id, "node ids must be made of letters, digits, '_' and '-'"
        yield from ((node.id, m) for m in _node_settings(node))


def _node_settings(node: Node) -> Iterator[str]:
    if isinstance(node, MenuNode):
        if not node.choices:
            yield "a menu needs at least one choice"
        for key in node.choices:
            if not _KEY.fullmatch(key):
                yield f"choice key {key!r} must be made of the keys 0-9, * and #"
        yield from _duplicate_phrases(node)
    if isinstance(node, InputNode):
        if node.attempts < 1:
            yield f"attempts must be at least 1 (got {node.attempts})"
        if node.timeout < 1:
            yield f"timeout must be at least 1 second (got {node.timeout})"
    if isinstance(node, CollectNode):
        if node.min_length < 1:
            yield f"min_length must be at least 1 (got {node.min_length})"
        if node.min_length > node.max_length:
            yield f"min_length {node.min_length} is greater than max_length {node.max_length}"
    if isinstance(node, RecordNode):
        if node.timeout < 1:
            yield f"timeout must be at least 1 second (got {node.timeout})"
        if node.max_length < 1:
            yield f"max_length must be at least 1 second (got {node.max_length})"
    if isinstance(node, CollectNode | RecordNode) and node.finish_key not in _FINISH_KEYS:
        yield f"finish_key {node.finish_key!r} must be one key: 0-9, * or # (or empty)"
    if isinstance(node, TransferNode) and not _QUEUE.fullmatch(node.queue):
        yield f"queue {node.queue!r} must be made of a-z, 0-9, '_' and '-'"
    if isinstance(node, IntentNode) and not _INTENT.fullmatch(node.intent):
        yield f"intent {node.intent!r} must be made of a-z and '_'"


def _duplicate_phrases(node: MenuNode) -> Iterator[str]:
    owner: dict[tuple[str, str], str] = {}
    for choice in node.choices.values():
        for language, phrases in choice.speech.items():
            for phrase in phrases:
                first = owner.setdefault((language, normalise(phrase)), choice.key)
                if first != choice.key:
                    yield (
                        f"speech phrase {phrase!r} ({language}) is used by choices "
                        f"{first!r} and {choice.key!r}"
                    )


def _dangling(flow: Flow) -> Found:
    for label in ("start", "recovery", "operator"):
        target = getattr(flow, label)
        if target not in flow.nodes:
            yield None, f"{label} {target!r} is not a node"
    for node in flow.nodes.values():
        for label, target in node.edges():
            if target not in flow.nodes:
                yield node.id, f"{label} {target!r} is not a node"


def _languages(flow: Flow) -> Found:
    declared = set(flow.languages)
    if flow.default_language not in declared:
        yield None, f"default_language {flow.default_language!r} is not in languages"
    for name in ("no_input", "invalid", "unavailable"):
        prompt = getattr(flow.prompts, name)
        yield from ((None, m) for m in _prompt_languages(f"prompts.{name}", prompt, flow))
    for node in flow.nodes.values():
        prompt = getattr(node, "prompt", None)
        if prompt is not None:
            yield from ((node.id, m) for m in _prompt_languages("prompt", prompt, flow))
        if isinstance(node, MenuNode):
            for choice in node.choices.values():
                if choice.language is not None and choice.language not in declared:
                    message = f"choice {choice.key!r} sets undeclared language {choice.language!r}"
                    yield node.id, message
                for language in choice.speech:
                    if language not in declared:
                        message = (
                            f"choice {choice.key!r}: speech for undeclared language {language!r}"
                        )
                        yield node.id, message
        if isinstance(node, ConfirmNode):
            for language in node.speech:
                if language not in declared:
                    yield node.id, f"speech for undeclared language {language!r}"


def _prompt_languages(label: str, prompt: Prompt, flow: Flow) -> Iterator[str]:
    for language in flow.languages:
        if not prompt.get(language, "").strip():
            yield f"{label} has no text for {language}"
    for language in prompt:
        if language not in flow.languages:
            yield f"{label} has text for undeclared language {language!r}"


def _reachable(flow: Flow, roots: list[str], forward: bool = True) -> set[str]:
    if forward:
        graph = {node.id: _edges(flow, node) for node in flow.nodes.values()}
    else:
        graph = {node_id: [] for node_id in flow.nodes}
        for node in flow.nodes.values():
            for target in _edges(flow, node):
                graph[target].append(node.id)
    seen = {r for r in roots if r in flow.nodes}
    todo = list(seen)
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _unreachable(flow: Flow) -> Found:
    seen = _reachable(flow, [flow.start, flow.recovery, flow.operator])
    for node_id in flow.nodes:
        if node_id not in seen:
            yield node_id, "is not reachable from start, recovery or operator"


def _say_loops(flow: Flow) -> Found:
    """Say nodes that lead back to themselves: the engine would talk forever."""
    reported: set[str] = set()
    for node in flow.nodes.values():
        path: list[str] = []
        current: Node | None = node
        while isinstance(current, SayNode) and current.id not in path:
            path.append(current.id)
            current = flow.nodes.get(current.next)
        if isinstance(current, SayNode) and not reported & set(path):
            loop = path[path.index(current.id) :]
            reported.update(loop)
            cycle = " -> ".join([*loop, current.id])
            yield loop[0], f"say nodes loop with no input in between: {cycle}"


def _no_way_out(flow: Flow) -> Found:
    ends = [n.id for n in flow.nodes.values() if isinstance(n, HangupNode | TransferNode)]
    can_end = _reachable(flow, ends, forward=False)
    for node in flow.nodes.values():
        # A dangling edge is already reported; where it was meant to lead is unknown.
        dangling = any(target not in flow.nodes for _, target in node.edges())
        if node.id not in can_end and not dangling:
            yield node.id, "no hangup or transfer can be reached from here: the call never ends"
