"""Loading flow files: structure errors are FlowErrors listing every problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivr_flows import (
    ConfirmNode,
    FlowError,
    MenuNode,
    Problem,
    check_flow_file,
    load_flow,
    load_flows,
    shipped_flows_dir,
)

WriteFlow = Callable[[dict[str, Any] | str], Path]


def _node(data: dict[str, Any], node_id: str, **fields: Any) -> None:
    data["nodes"][node_id] = fields


def _drop(mapping: dict[str, Any], key: str) -> None:
    del mapping[key]


STRUCTURE_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str | None, str]] = [
    ("flow is a list", lambda d: ["a", "b"], None, "a flow file must be a mapping, not a list"),
    ("flow is empty", lambda d: "", None, "the file is empty"),
    ("bad yaml", lambda d: "flow: [unclosed", None, "not valid YAML"),
    (
        "unknown node type",
        lambda d: _node(d, "x", type="dance", next="menu"),
        "x",
        "unknown node type 'dance'",
    ),
    ("node not a mapping", lambda d: d["nodes"].update(x="say"), "x", "a node must be a mapping"),
    (
        "node without type",
        lambda d: _node(d, "x", next="menu"),
        "x",
        "missing required field 'type'",
    ),
    (
        "missing next",
        lambda d: _drop(d["nodes"]["hello"], "next"),
        "hello",
        "missing required field 'next'",
    ),
    ("missing start", lambda d: _drop(d, "start"), None, "missing required field 'start'"),
    (
        "missing flow prompt",
        lambda d: _drop(d["prompts"], "invalid"),
        None,
        "prompts: missing required field 'invalid'",
    ),
    (
        "languages not a list",
        lambda d: d.update(languages="zh-CN"),
        None,
        "field 'languages' must be a list of text, not text",
    ),
    ("no languages", lambda d: d.update(languages=[]), None, "must list at least one language"),
    ("languages missing", lambda d: _drop(d, "languages"), None, "missing required field"),
    ("no nodes", lambda d: d.update(nodes={}), None, "'nodes' must list at least one node"),
    (
        "timeout as text",
        lambda d: d["nodes"]["menu"].update(timeout="5"),
        "menu",
        "field 'timeout' must be a whole number, not text",
    ),
    (
        "timeout as boolean",
        lambda d: d["nodes"]["menu"].update(timeout=True),
        "menu",
        "field 'timeout' must be a whole number, not true/false",
    ),
    (
        "attempts as float",
        lambda d: d["nodes"]["menu"].update(attempts=2.5),
        "menu",
        "field 'attempts' must be a whole number, not a number",
    ),
    (
        "prompt not a mapping",
        lambda d: d["nodes"]["hello"].update(prompt="Hello"),
        "hello",
        "field 'prompt' must be a mapping, not text",
    ),
    (
        "prompt text not text",
        lambda d: d["nodes"]["hello"]["prompt"].update({"en-US": 5}),
        "hello",
        "field 'prompt': 'en-US' must be text, not an integer",
    ),
    (
        "misspelt field",
        lambda d: d["nodes"]["hello"].update(nxet="menu"),
        "hello",
        "unknown field 'nxet'",
    ),
    (
        "unquoted choice key",
        lambda d: d["nodes"]["menu"]["choices"].update({3: {"next": "done"}}),
        "menu",
        "choice key 3 must be quoted text",
    ),
    (
        "choice without next",
        lambda d: d["nodes"]["menu"]["choices"].update({"3": {}}),
        "menu",
        "choice '3': missing required field 'next'",
    ),
    (
        "set something other than language",
        lambda d: d["nodes"]["menu"]["choices"]["2"]["set"].update(volume=3),
        "menu",
        "choice '2': set: unknown field 'volume'",
    ),
    (
        "speech not a list",
        lambda d: d["nodes"]["menu"]["choices"]["1"]["speech"].update({"en-US": "one"}),
        "menu",
        "choice '1': speech: 'en-US' must be a list of text",
    ),
    (
        "intent with nowhere to go",
        lambda d: _node(d, "x", type="intent", intent="look_up"),
        "x",
        "needs 'outcomes' or 'next'",
    ),
    (
        "callback naming an intent",
        lambda d: _node(d, "x", type="callback", intent="other", next="menu"),
        "x",
        "unknown field 'intent'",
    ),
    (
        "collect without lengths",
        lambda d: _node(d, "x", type="collect", prompt={}, store_as="v", next="menu"),
        "x",
        "missing required field 'min_length'",
    ),
    ("transfer without queue", lambda d: _node(d, "x", type="transfer"), "x", "field 'queue'"),
]


@pytest.mark.parametrize(
    ("mutate", "node", "message"),
    [case[1:] for case in STRUCTURE_CASES],
    ids=[case[0] for case in STRUCTURE_CASES],
)
def test_structure_problems_raise_flow_error(
    base_flow: dict[str, Any],
    write_flow: WriteFlow,
    mutate: Callable[[dict[str, Any]], Any],
    node: str | None,
    message: str,
) -> None:
    replaced = mutate(base_flow)
    path = write_flow(replaced if replaced is not None else base_flow)

    with pytest.raises(FlowError) as caught:
        load_flow(path)

    assert any(p.node == node and message in p.message for p in caught.value.problems), (
        caught.value.problems
    )
    assert all(p.file == str(path) for p in caught.value.problems)
    assert check_flow_file(path) == caught.value.problems


def test_flow_error_lists_every_problem_one_per_line(
    base_flow: dict[str, Any], write_flow: WriteFlow
) -> None:
    base_flow.pop("start")
    base_flow["nodes"]["hello"]["nxet"] = "menu"
    path = write_flow(base_flow)

    with pytest.raises(FlowError) as caught:
        load_flow(path)

    assert str(caught.value).splitlines() == [
        f"{path}: missing required field 'start'",
        f"{path}: node 'hello': unknown field 'nxet'",
    ]


def test_problem_str() -> None:
    assert str(Problem("f.yaml", "menu", "bad")) == "f.yaml: node 'menu': bad"
    assert str(Problem("f.yaml", None, "bad")) == "f.yaml: bad"


def test_duplicate_node_ids_are_reported(write_flow: WriteFlow) -> None:
    text = """
flow: dup
languages: [en-US]
default_language: en-US
start: hello
recovery: hello
operator: hello
prompts: {no_input: {en-US: a}, invalid: {en-US: b}, unavailable: {en-US: c}}
nodes:
  hello: {type: say, prompt: {en-US: Hi}, next: bye}
  bye: {type: hangup}
  hello: {type: hangup}
"""
    with pytest.raises(FlowError) as caught:
        load_flow(write_flow(text))

    assert [p.message for p in caught.value.problems] == [
        "line 12: duplicate key 'hello' (the later one would win)"
    ]


def test_yes_and_no_stay_text(write_flow: WriteFlow) -> None:
    # PyYAML's YAML 1.1 rules would read these as True/False.
    text = """
flow: yn
languages: [en-US]
default_language: en-US
start: ask
recovery: ask
operator: bye
prompts: {no_input: {en-US: a}, invalid: {en-US: b}, unavailable: {en-US: c}}
nodes:
  ask:
    type: confirm
    prompt: {en-US: "Sure?"}
    yes: bye
    no: ask
    speech: {en-US: {yes: [yes, on], no: [no, off]}}
  bye: {type: hangup}
"""
    flow = load_flow(write_flow(text))

    ask = flow.nodes["ask"]
    assert isinstance(ask, ConfirmNode)
    assert (ask.yes, ask.no) == ("bye", "ask")
    assert ask.speech["en-US"].yes == ("yes", "on")
    assert ask.speech["en-US"].no == ("no", "off")


def test_defaults_are_filled_in(base_flow: dict[str, Any], write_flow: WriteFlow) -> None:
    path = write_flow(base_flow)
    flow = load_flow(path)

    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert (menu.timeout, menu.attempts, menu.default) == (5, 3, None)
    assert menu.choices["2"].language == "en-US"
    assert flow.source == str(path)


def test_flow_is_immutable(base_flow: dict[str, Any], write_flow: WriteFlow) -> None:
    flow = load_flow(write_flow(base_flow))

    with pytest.raises(AttributeError):
        flow.start = "menu"  # type: ignore[misc]
    with pytest.raises(TypeError):
        flow.nodes["x"] = flow.nodes["hello"]  # type: ignore[index]


def test_load_flows_keys_by_flow_id(tmp_path: Path, base_flow: dict[str, Any]) -> None:
    import yaml

    (tmp_path / "a.yaml").write_text(yaml.safe_dump(base_flow), encoding="utf-8")
    base_flow["flow"] = "other"
    (tmp_path / "b.yml").write_text(yaml.safe_dump(base_flow), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a flow", encoding="utf-8")

    flows = load_flows(tmp_path)

    assert sorted(flows) == ["base", "other"]
    assert flows["other"].source == str(tmp_path / "b.yml")


def test_load_flows_reports_all_files_and_duplicate_ids(
    tmp_path: Path, base_flow: dict[str, Any]
) -> None:
    import yaml

    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(base_flow), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("[1, 2]", encoding="utf-8")

    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path)

    assert [(Path(p.file).name, p.message) for p in caught.value.problems] == [
        ("b.yaml", f"flow id 'base' is also used by {tmp_path / 'a.yaml'}"),
        ("c.yaml", "a flow file must be a mapping, not a list"),
    ]


def test_load_flows_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_flows(tmp_path / "missing")


def test_check_flow_file_reports_an_unreadable_file(tmp_path: Path) -> None:
    problems = check_flow_file(tmp_path / "missing.yaml")

    assert len(problems) == 1
    assert problems[0].node is None
    assert "cannot read the file" in problems[0].message


def test_shipped_flows_dir_holds_the_court_hotline() -> None:
    assert (shipped_flows_dir() / "court_hotline.yaml").is_file()
    assert "court_hotline" in load_flows(shipped_flows_dir())
