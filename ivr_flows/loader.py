"""Turning flow YAML files into `Flow` objects, refusing structurally broken ones with FlowError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .fields import Fields, is_plain, kind_of, parse_yaml
from .model import (
    NODE_TYPES,
    CallbackNode,
    Choice,
    CollectNode,
    ConfirmNode,
    Flow,
    FlowPrompts,
    HangupNode,
    IntentNode,
    MenuNode,
    Node,
    RecordNode,
    SayNode,
    TransferNode,
    YesNoWords,
)
from .problems import FlowError, Problem


def shipped_flows_dir() -> Path:
    """The folder of flows that ship with the package (`ivr_flows/flows`)."""
    return Path(__file__).resolve().parent / "flows"


def load_flow(path: str | Path) -> Flow:
    """Reads one flow file; raises FlowError listing every structural problem in it.

    Semantic checks (dangling edges, loops, missing languages...) are `validate`'s job.
    """
    path = Path(path)
    return parse_flow(path.read_text(encoding="utf-8"), source=str(path))


def load_flows(directory: str | Path) -> dict[str, Flow]:
    """Reads every `*.yaml` / `*.yml` flow in `directory`, keyed by flow id.

    Raises FlowError with the problems of all files at once (and duplicate flow ids).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no flow directory at {directory}")
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    flows: dict[str, Flow] = {}
    problems: list[Problem] = []
    for path in paths:
        try:
            flow = load_flow(path)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        if flow.id in flows:
            other = flows[flow.id].source
            problems.append(
                Problem(str(path), None, f"flow id {flow.id!r} is also used by {other}")
            )
            continue
        flows[flow.id] = flow
    if problems:
        raise FlowError(problems)
    return flows


def parse_flow(text: str, source: str = "<memory>") -> Flow:
    """Builds a Flow from YAML text; `source` names it in problems. Raises FlowError."""
    data, problems = parse_yaml(text, source)
    if data is not None and not isinstance(data, dict):
        problems.append(
            Problem(source, None, f"a flow file must be a mapping, not {kind_of(data)}")
        )
    elif data is None and not problems:
        problems.append(Problem(source, None, "the file is empty"))
    if problems:
        raise FlowError(problems)
    flow = _build_flow(data, source, problems)
    if problems:
        raise FlowError(problems)
    return flow


def _build_flow(data: Mapping[Any, Any], file: str, problems: list[Problem]) -> Flow:
    top = Fields(data, file=file, node=None, problems=problems)
    flow_id = top.required_text("flow")
    if top.data.get("languages") is None:
        top.problem("missing required field 'languages'")
    languages = top.text_list("languages")
    if languages == ():
        top.problem("field 'languages' must list at least one language")
    default_language = top.required_text("default_language")
    start = top.required_text("start")
    recovery = top.required_text("recovery")
    operator = top.required_text("operator")
    prompts = FlowPrompts(no_input={}, invalid={}, unavailable={})
    prompts_data = top.mapping("prompts", required=True)
    if prompts_data is not None:
        said = top.nested(prompts_data, "prompts: ")
        prompts = FlowPrompts(
            no_input=said.prompt("no_input", required=True) or {},
            invalid=said.prompt("invalid", required=True) or {},
            unavailable=said.prompt("unavailable", required=True) or {},
        )
        said.finish()
    nodes_data = top.mapping("nodes", required=True)
    if nodes_data == {}:
        top.problem("field 'nodes' must list at least one node")
    top.finish()
    nodes: dict[str, Node] = {}
    for node_id, node_data in (nodes_data or {}).items():
        if not isinstance(node_id, str):
            top.problem(f"node id {node_id!r} must be text, not {kind_of(node_id)}")
            continue
        node = _build_node(node_id, node_data, file, problems)
        if node is not None:
            nodes[node_id] = node
    return Flow(
        id=flow_id,
        languages=languages or (),
        default_language=default_language,
        start=start,
        recovery=recovery,
        operator=operator,
        prompts=prompts,
        nodes=MappingProxyType(nodes),
        source=file,
    )


def _build_node(node_id: str, data: object, file: str, problems: list[Problem]) -> Node | None:
    if not isinstance(data, dict):
        problems.append(Problem(file, node_id, f"a node must be a mapping, not {kind_of(data)}"))
        return None
    f = Fields(data, file=file, node=node_id, problems=problems)
    kind = f.required_text("type")
    if not kind:
        return None
    if kind not in NODE_TYPES:
        known = ", ".join(NODE_TYPES)
        f.problem(f"unknown node type {kind!r} (known types: {known})")
        return None
    node = _BUILDERS[kind](node_id, f, f.flag("resolves", False))
    f.finish()
    return node


def _say(node_id: str, f: Fields, resolves: bool) -> Node:
    prompt = f.prompt("prompt", required=True) or {}
    return SayNode(id=node_id, resolves=resolves, prompt=prompt, next=f.required_text("next"))


def _input_fields(f: Fields) -> dict[str, Any]:
    return {
        "prompt": f.prompt("prompt", required=True) or {},
        "timeout": f.integer("timeout", 5),
        "attempts": f.integer("attempts", 3),
        "default": f.optional_text("default"),
    }


def _menu(node_id: str, f: Fields, resolves: bool) -> Node:
    common = _input_fields(f)
    choices: dict[str, Choice] = {}
    for key, value in (f.mapping("choices", required=True) or {}).items():
        if not isinstance(key, str):
            f.problem(f'choice key {key!r} must be quoted text (e.g. "1"), not {kind_of(key)}')
            continue
        if not isinstance(value, dict):
            f.problem(f"choice {key!r} must be a mapping, not {kind_of(value)}")
            continue
        c = f.nested(value, f"choice {key!r}: ")
        target = c.required_text("next")
        language = None
        setting = c.mapping("set")
        if setting is not None:
            s = c.nested(setting, "set: ")
            language = s.optional_text("language")
            s.finish()
        choices[key] = Choice(key=key, next=target, language=language, speech=_phrases(c))
        c.finish()
    return MenuNode(id=node_id, resolves=resolves, choices=MappingProxyType(choices), **common)


def _phrases(f: Fields) -> Mapping[str, tuple[str, ...]]:
    phrases: dict[str, tuple[str, ...]] = {}
    for language, words in (f.mapping("speech") or {}).items():
        if not isinstance(language, str):
            f.problem(f"speech: language {language!r} must be text, not {kind_of(language)}")
        elif not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            f.problem(f"speech: {language!r} must be a list of text, not {kind_of(words)}")
        else:
            phrases[language] = tuple(words)
    return MappingProxyType(phrases)


def _collect(node_id: str, f: Fields, resolves: bool) -> Node:
    return CollectNode(
        id=node_id,
        resolves=resolves,
        min_length=f.required_integer("min_length"),
        max_length=f.required_integer("max_length"),
        finish_key=f.text("finish_key", "#"),
        store_as=f.required_text("store_as"),
        next=f.required_text("next"),
        sensitive=f.flag("sensitive", False),
        **_input_fields(f),
    )


def _confirm(node_id: str, f: Fields, resolves: bool) -> Node:
    common = _input_fields(f)
    words: dict[str, YesNoWords] = {}
    for language, value in (f.mapping("speech") or {}).items():
        if not isinstance(language, str) or not isinstance(value, dict):
            f.problem(f"speech: {language!r} must be a mapping with yes/no lists")
            continue
        w = f.nested(value, f"speech: {language}: ")
        words[language] = YesNoWords(yes=w.text_list("yes"), no=w.text_list("no"))
        w.finish()
    return ConfirmNode(
        id=node_id,
        resolves=resolves,
        yes=f.required_text("yes"),
        no=f.required_text("no"),
        speech=MappingProxyType(words),
        **common,
    )


def _record(node_id: str, f: Fields, resolves: bool) -> Node:
    return RecordNode(
        id=node_id,
        resolves=resolves,
        prompt=f.prompt("prompt", required=True) or {},
        max_length=f.integer("max_length", 120),
        timeout=f.integer("timeout", 5),
        finish_key=f.text("finish_key", "#"),
        store_as=f.optional_text("store_as"),
        next=f.required_text("next"),
        empty=f.optional_text("empty"),
    )


def _outcome_fields(f: Fields) -> dict[str, Any]:
    fields = {
        "prompt": f.prompt("prompt", required=False),
        "outcomes": f.routes("outcomes"),
        "next": f.optional_text("next"),
        "store_as": f.optional_text("store_as"),
    }
    if not fields["outcomes"] and fields["next"] is None:
        f.problem("needs 'outcomes' or 'next' (where to go once the application answers)")
    return fields


def _intent(node_id: str, f: Fields, resolves: bool) -> Node:
    intent = f.required_text("intent")
    params = f.mapping("params") or {}
    if not is_plain(params):
        f.problem("field 'params' must hold only text keys, text, numbers, lists and mappings")
        params = {}
    return IntentNode(
        id=node_id,
        resolves=resolves,
        intent=intent,
        params=MappingProxyType(dict(params)),
        **_outcome_fields(f),
    )


def _callback(node_id: str, f: Fields, resolves: bool) -> Node:
    return CallbackNode(id=node_id, resolves=resolves, **_outcome_fields(f))


def _transfer(node_id: str, f: Fields, resolves: bool) -> Node:
    return TransferNode(
        id=node_id,
        resolves=resolves,
        queue=f.required_text("queue"),
        prompt=f.prompt("prompt", required=False),
        outcomes=f.routes("outcomes"),
        next=f.optional_text("next"),
    )


def _hangup(node_id: str, f: Fields, resolves: bool) -> Node:
    return HangupNode(id=node_id, resolves=resolves, prompt=f.prompt("prompt", required=False))


_BUILDERS: Mapping[str, Callable[[str, Fields, bool], Node]] = {
    "say": _say,
    "menu": _menu,
    "collect": _collect,
    "confirm": _confirm,
    "record": _record,
    "intent": _intent,
    "callback": _callback,
    "transfer": _transfer,
    "hangup": _hangup,
}
