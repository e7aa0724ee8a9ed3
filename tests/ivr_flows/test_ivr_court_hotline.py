"""The shipped flows: every one is valid, and the court hotline's caller stories can be keyed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr_flows import (
    Digits,
    Effect,
    Event,
    Flow,
    Gather,
    Hangup,
    Outcome,
    Record,
    Recorded,
    Say,
    Speech,
    Start,
    Step,
    advance,
    check_flow_file,
    load_flow,
    shipped_flows_dir,
)

SHIPPED = sorted([*shipped_flows_dir().glob("*.yaml"), *shipped_flows_dir().glob("*.yml")])
EN, ZH = "en-US", "zh-CN"


@pytest.fixture(scope="module")
def hotline() -> Flow:
    return load_flow(shipped_flows_dir() / "court_hotline.yaml")


def unknown_caller(flow: Flow, step: Step) -> Step:
    """The application's answer to the start-of-call matching for a caller it does not know."""
    awaited = step.awaiting_outcome
    if awaited is not None and awaited.name == "match_caller":
        after = advance(flow, awaited.node, Outcome("none"), step.context)
        return Step(
            step.actions + after.actions,
            step.effects + after.effects,
            after.next_node,
            after.context,
        )
    return step


def walk(flow: Flow, events: list[Event]) -> list[Step]:
    """Starts a call and feeds it `events` (an unknown caller); returns every step."""
    steps = [advance(flow, None, Start(), {"call_sid": "CA1"})]
    for event in events:
        last = steps[-1]
        assert last.next_node is not None, f"the call ended before {event}"
        steps.append(unknown_caller(flow, advance(flow, last.next_node, event, last.context)))
    return steps


def test_flows_are_shipped() -> None:
    assert [p.name for p in SHIPPED] == ["court_hotline.yaml", "survey.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: Path(p).name)
def test_every_shipped_flow_is_valid(path: Path) -> None:
    assert check_flow_file(path) == []


def test_english_caller_asks_the_cost_of_filing(hotline: Flow) -> None:
    answer = Outcome("ok", prompt={EN: "Fifty yuan for claims up to ten thousand yuan."})
    steps = walk(hotline, [Digits("2"), Digits("4"), Digits("1"), answer, Digits("2")])

    assert [s.next_node for s in steps] == [
        "language",
        "main_menu",
        "faq",
        "faq_fees",
        "anything_else",
        None,
    ]
    asked = steps[3].awaiting_outcome  # the answer comes from the knowledge base
    assert asked is not None and asked.name == "faq_answer"
    assert asked.params["topic"] == "filing_fees" and asked.params["language"] == EN
    assert steps[4].actions[0] == Say("Fifty yuan for claims up to ten thousand yuan.", EN)
    assert steps[-1].actions == (Say("Thank you for calling. Goodbye.", EN), Hangup())
    assert steps[-1].context["call_sid"] == "CA1"


def test_a_caller_who_never_presses_anything_reaches_an_end(hotline: Flow) -> None:
    step = advance(hotline, None, Start(), {})
    for _ in range(20):
        if step.next_node is None or step.awaiting_outcome is not None:
            break
        step = advance(hotline, step.next_node, Digits(""), step.context)

    ended = step.next_node is None and step.actions[-1] == Hangup()
    transferred = step.awaiting_outcome is not None and step.awaiting_outcome.name == "transfer"
    assert ended or transferred
    assert transferred  # the language menu's default is the operator


def test_the_greeting_comes_first_in_chinese(hotline: Flow) -> None:
    step = advance(hotline, None, Start(), {})

    assert isinstance(step.actions[0], Say)
    assert step.actions[0].language == ZH
    assert "诉讼服务热线" in step.actions[0].text
    gather = step.actions[1]
    assert isinstance(gather, Gather)
    assert gather.node == "language"
    assert gather.speech[ZH]["English"] == "2"


def test_saying_english_switches_the_language(hotline: Flow) -> None:
    steps = walk(hotline, [Speech("English.", 0.9)])

    assert steps[-1].context["language"] == EN
    assert steps[-1].next_node == "main_menu"


def test_case_status_is_unavailable_until_the_lookup_exists(hotline: Flow) -> None:
    steps = walk(hotline, [Digits("1"), Digits("1"), Outcome("unavailable")])

    assert steps[2].effects[0].name == "case_status"
    assert steps[-1].actions[0] == Say("抱歉，该项服务暂时无法办理。", ZH)
    assert steps[-1].next_node == "main_menu"


def test_a_statement_opens_a_work_order(hotline: Flow) -> None:
    steps = walk(
        hotline,
        [Digits("2"), Digits("2"), Recorded("https://r/1.wav", 30), Outcome("unavailable")],
    )

    assert isinstance(steps[2].actions[-1], Record)
    opened = steps[3].awaiting_outcome
    assert opened is not None
    assert opened.name == "open_work_order"
    assert opened.params["reason"] == "statement"
    assert opened.params["vars"]["statement"] == {"url": "https://r/1.wav", "duration_s": 30}
    said = [a.text for a in steps[-1].actions if isinstance(a, Say)]
    assert said[0] == "Sorry, this service is not available at the moment."
    assert "Your statement has been recorded" in said[1]
    assert steps[-1].next_node == "anything_else"


def test_busy_operators_take_a_message(hotline: Flow) -> None:
    steps = walk(hotline, [Digits("1"), Digits("0"), Outcome("unavailable"), Recorded("", 0)])

    assert steps[2].effects == (Effect("transfer", "operator", {"queue": "general"}, True),)
    assert steps[3].next_node == "leave_message"
    assert steps[-1].actions[-1] == Hangup()


def test_leaving_the_queue_asks_for_a_callback(hotline: Flow) -> None:
    steps = walk(hotline, [Digits("2"), Digits("0"), Outcome("queued"), Outcome("leave")])

    assert steps[-1].next_node == "callback"
    assert steps[-1].effects[0].name == "request_callback"


def test_anything_else_defaults_to_goodbye(hotline: Flow) -> None:
    steps = walk(hotline, [Digits("1"), Digits("4"), Digits("2"), Outcome("ok")])
    assert steps[-1].next_node == "anything_else"
    for _ in range(3):
        steps.append(advance(hotline, "anything_else", Digits(""), steps[-1].context))

    assert steps[-1].actions[-1] == Hangup()
    assert steps[-1].context["attempts"] == {}
