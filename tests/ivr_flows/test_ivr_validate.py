"""Semantic checks: one small broken flow per kind of problem, each named by node and message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivr_flows import check_flow_file, load_flow, validate

WriteFlow = Callable[[dict[str, Any] | str], Path]
Mutation = Callable[[dict[str, Any]], None]


def _nodes(d: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = d["nodes"]
    return nodes


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting `value` at a dotted path such as "nodes.menu.timeout"."""
    *parents, last = path.split(".")

    def mutate(d: dict[str, Any]) -> None:
        for key in parents:
            d = d[key]
        d[last] = value

    return mutate


def _add(node_id: str, **fields: Any) -> Mutation:
    return lambda d: _nodes(d).update({node_id: fields})


def _both(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)

    return mutate


_SAY_PROMPT = {"zh-CN": "好。", "en-US": "OK."}
_LOOP = _both(
    _set("nodes.menu.choices.1.next", "loop_a"),
    _add("loop_a", type="say", prompt=_SAY_PROMPT, next="loop_b"),
    _add("loop_b", type="say", prompt=_SAY_PROMPT, next="loop_a"),
)
_TRAP = _both(
    _set("nodes.menu.choices.1.next", "trap"),
    _add(
        "trap",
        type="menu",
        prompt=_SAY_PROMPT,
        default="trap",
        choices={"1": {"next": "trap"}},
    ),
)

CASES: list[tuple[str, Mutation, str | None, str]] = [
    # dangling edges
    ("dangling next", _set("nodes.hello.next", "nowhere"), "hello", "next 'nowhere' is not a node"),
    (
        "dangling choice",
        _set("nodes.menu.choices.1.next", "x"),
        "menu",
        "choice '1' next 'x' is not a node",
    ),
    ("dangling default", _set("nodes.menu.default", "x"), "menu", "default 'x' is not a node"),
    ("dangling yes", _set("nodes.sure.yes", "x"), "sure", "yes 'x' is not a node"),
    ("dangling no", _set("nodes.sure.no", "x"), "sure", "no 'x' is not a node"),
    (
        "dangling empty",
        _add("rec", type="record", prompt=_SAY_PROMPT, next="done", empty="x"),
        "rec",
        "empty 'x' is not a node",
    ),
    (
        "dangling outcome",
        _set("nodes.agent.outcomes.unavailable", "x"),
        "agent",
        "outcome 'unavailable' 'x' is not a node",
    ),
    ("dangling start", _set("start", "x"), None, "start 'x' is not a node"),
    ("dangling recovery", _set("recovery", "x"), None, "recovery 'x' is not a node"),
    ("dangling operator", _set("operator", "x"), None, "operator 'x' is not a node"),
    # unreachable
    (
        "unreachable node",
        _add("orphan", type="say", prompt=_SAY_PROMPT, next="done"),
        "orphan",
        "is not reachable from start, recovery or operator",
    ),
    # languages
    (
        "prompt lacks a language",
        _set("nodes.hello.prompt", {"zh-CN": "你好。"}),
        "hello",
        "prompt has no text for en-US",
    ),
    (
        "prompt text blank",
        _set("nodes.hello.prompt.en-US", "  "),
        "hello",
        "prompt has no text for en-US",
    ),
    (
        "prompt in an undeclared language",
        _set("nodes.hello.prompt.en-us", "Hello."),
        "hello",
        "prompt has text for undeclared language 'en-us'",
    ),
    (
        "flow prompt lacks a language",
        _set("prompts.invalid", {"en-US": "Invalid."}),
        None,
        "prompts.invalid has no text for zh-CN",
    ),
    (
        "speech in an undeclared language",
        _set("nodes.menu.choices.1.speech.fr-FR", ["un"]),
        "menu",
        "choice '1': speech for undeclared language 'fr-FR'",
    ),
    (
        "confirm speech in an undeclared language",
        _set("nodes.sure.speech", {"ko-KR": {"yes": ["네"]}}),
        "sure",
        "speech for undeclared language 'ko-KR'",
    ),
    (
        "set an undeclared language",
        _set("nodes.menu.choices.2.set.language", "ko-KR"),
        "menu",
        "choice '2' sets undeclared language 'ko-KR'",
    ),
    (
        "default language not declared",
        _set("default_language", "ko-KR"),
        None,
        "default_language 'ko-KR' is not in languages",
    ),
    # loops without exit
    (
        "say loop",
        _LOOP,
        "loop_a",
        "say nodes loop with no input in between: loop_a -> loop_b -> loop_a",
    ),
    ("say loop has no way out", _LOOP, "loop_b", "no hangup or transfer can be reached from here"),
    ("menu trap", _TRAP, "trap", "no hangup or transfer can be reached from here"),
    # ids, keys and numbers
    (
        "bad node id",
        _add("bad id", type="say", prompt=_SAY_PROMPT, next="done"),
        "bad id",
        "node ids must be made of letters, digits, '_' and '-'",
    ),
    ("bad flow id", _set("flow", "court hotline"), None, "flow id 'court hotline' must be made of"),
    (
        "bad choice key",
        _set("nodes.menu.choices.1a", {"next": "done"}),
        "menu",
        "choice key '1a' must be made of the keys 0-9, * and #",
    ),
    ("empty menu", _set("nodes.menu.choices", {}), "menu", "a menu needs at least one choice"),
    (
        "phrase used twice",
        _set("nodes.menu.choices.2.speech", {"en-US": ["One"]}),
        "menu",
        "speech phrase 'One' (en-US) is used by choices '1' and '2'",
    ),
    ("bad queue", _set("nodes.agent.queue", "General"), "agent", "queue 'General' must be made of"),
    (
        "bad intent name",
        _add("ask", type="intent", intent="Look-Up", next="done"),
        "ask",
        "intent 'Look-Up' must be made of a-z and '_'",
    ),
    ("attempts below 1", _set("nodes.menu.attempts", 0), "menu", "attempts must be at least 1"),
    ("timeout below 1", _set("nodes.sure.timeout", 0), "sure", "timeout must be at least 1 second"),
    (
        "min above max",
        _add(
            "num",
            type="collect",
            prompt=_SAY_PROMPT,
            min_length=6,
            max_length=4,
            store_as="n",
            next="done",
        ),
        "num",
        "min_length 6 is greater than max_length 4",
    ),
    (
        "record timeout below 1",
        _add("rec", type="record", prompt=_SAY_PROMPT, next="done", timeout=0),
        "rec",
        "timeout must be at least 1 second",
    ),
    (
        "finish key of two keys",
        _add("rec", type="record", prompt=_SAY_PROMPT, next="done", finish_key="##"),
        "rec",
        "finish_key '##' must be one key",
    ),
]


def test_the_base_flow_is_valid(base_flow: dict[str, Any], write_flow: WriteFlow) -> None:
    assert check_flow_file(write_flow(base_flow)) == []


@pytest.mark.parametrize(
    ("mutate", "node", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_problem_kind_is_reported(
    base_flow: dict[str, Any],
    write_flow: WriteFlow,
    mutate: Mutation,
    node: str | None,
    message: str,
) -> None:
    mutate(base_flow)
    path = write_flow(base_flow)

    problems = check_flow_file(path)

    assert any(p.node == node and message in p.message for p in problems), problems
    assert all(p.file == str(path) for p in problems)


def test_validate_does_not_raise_and_agrees_with_check(
    base_flow: dict[str, Any], write_flow: WriteFlow
) -> None:
    _both(_set("nodes.hello.next", "nowhere"), _set("nodes.menu.attempts", 0))(base_flow)
    path = write_flow(base_flow)

    problems = validate(load_flow(path))

    assert problems == check_flow_file(path)
    assert [(p.node, p.message) for p in problems] == [
        ("menu", "attempts must be at least 1 (got 0)"),
        ("hello", "next 'nowhere' is not a node"),
    ]
