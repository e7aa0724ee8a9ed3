"""The step function on a small flow that uses every node type."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from ivr_flows import (
    Digits,
    Effect,
    Enqueue,
    Event,
    Flow,
    FlowError,
    Gather,
    Hangup,
    Outcome,
    Record,
    Recorded,
    Say,
    Speech,
    Start,
    Step,
    UnknownNode,
    advance,
    parse_flow,
    validate,
)

EN, ZH = "en-US", "zh-CN"
MENU_SPEECH = {EN: {"case": "1", "Chinese": "2"}}


def ctx(**extra: Any) -> dict[str, Any]:
    return {"language": EN, "vars": {}, "attempts": {}, **extra}


def menu_gather(*said: Say, speech: Mapping[str, Mapping[str, str]] = MENU_SPEECH) -> Gather:
    return Gather("menu", (*said, Say("Menu.", EN)), 2, 7, "", speech)


def test_the_test_flow_is_valid(mini: Flow) -> None:
    assert validate(mini) == []


def test_start_says_hello_and_asks_the_menu(mini: Flow) -> None:
    step = advance(mini, None, Start(), {})

    assert step == Step(
        actions=(Say("Hello.", EN), menu_gather()),
        effects=(),
        next_node="menu",
        context={"language": EN, "vars": {}, "attempts": {}},
    )


@pytest.mark.parametrize(
    ("digits", "actions", "next_node", "language"),
    [
        ("1", (Gather("year", (Say("Year?", EN),), None, 5, "#", {}),), "year", EN),
        (
            "2",
            (
                Gather(
                    "sure",
                    (Say("确定吗？", ZH),),
                    1,
                    5,
                    "",
                    {ZH: {"是": "1", "对": "1", "是的": "1", "不是": "2", "不对": "2"}},
                ),
            ),
            "sure",
            ZH,
        ),
        ("*9", (Say("Bye.", EN), Hangup()), None, EN),
    ],
)
def test_menu_keys(
    mini: Flow, digits: str, actions: tuple[Any, ...], next_node: str | None, language: str
) -> None:
    step = advance(mini, "menu", Digits(digits), ctx())

    assert step.actions == actions
    assert step.next_node == next_node
    assert step.context["language"] == language


@pytest.mark.parametrize(
    ("event", "reprompt"),
    [
        (Digits(""), "No input."),
        (Digits("9"), "Invalid."),
        (Digits("12"), "Invalid."),
        (Digits("abc"), "Invalid."),
        (Digits("#"), "Invalid."),
        (Speech("pizza", 0.9), "Invalid."),
        (Speech("  ", 0.9), "No input."),
        (Start(), "No input."),
        (Recorded("https://x/r.wav", 3), "No input."),
        (Outcome("ok"), "No input."),
    ],
)
def test_menu_reasks_after_a_bad_answer(mini: Flow, event: Event, reprompt: str) -> None:
    step = advance(mini, "menu", event, ctx())

    assert step.actions == (menu_gather(Say(reprompt, EN)),)
    assert step.next_node == "menu"
    assert step.context["attempts"] == {"menu": 1}


def test_menu_goes_to_the_operator_when_attempts_run_out(mini: Flow) -> None:
    step = advance(mini, "menu", Digits(""), ctx(attempts={"menu": 1, "other": 2}))

    assert step.actions == (Say("Connecting.", EN),)
    assert step.effects == (Effect("transfer", "agent", {"queue": "general"}, awaits=True),)
    assert step.next_node == "agent"
    assert step.context["attempts"] == {"other": 2}


def test_a_good_answer_clears_the_attempts(mini: Flow) -> None:
    step = advance(mini, "menu", Digits("1"), ctx(attempts={"menu": 1}))

    assert step.context["attempts"] == {}


@pytest.mark.parametrize(
    ("language", "said", "next_node"),
    [
        (EN, "case", "year"),
        (EN, "  Case. ", "year"),
        (EN, "CASE!", "year"),
        (EN, "chinese?", "sure"),
        (ZH, "中文。", "sure"),
        (ZH, "案 件", "year"),
        (ZH, "case", "menu"),
    ],
)
def test_menu_speech(mini: Flow, language: str, said: str, next_node: str) -> None:
    step = advance(mini, "menu", Speech(said, 0.8), ctx(language=language))

    assert step.next_node == next_node


@pytest.mark.parametrize(
    ("event", "stored"),
    [
        (Digits("2023"), "2023"),
        (Digits("2023#"), "2023"),
        (Speech("2 0 2 3", 0.9), "2023"),
        (Speech("二零二三", 0.9), "2023"),
        (Speech("two zero two three.", 0.9), "2023"),
    ],
)
def test_collect_stores_digits(mini: Flow, event: Event, stored: str) -> None:
    step = advance(mini, "year", event, ctx(vars={"kept": 1}))

    assert step.context["vars"] == {"kept": 1, "year": stored}
    assert step.next_node == "sure"


@pytest.mark.parametrize(
    ("event", "reprompt"),
    [
        (Digits(""), "No input."),
        (Digits("#"), "No input."),
        (Digits("20"), "Invalid."),
        (Digits("20234"), "Invalid."),
        (Digits("20a3"), "Invalid."),
        (Digits("2023##"), "Invalid."),
        (Speech("twenty twenty three", 0.9), "Invalid."),
    ],
)
def test_collect_rejects(mini: Flow, event: Event, reprompt: str) -> None:
    step = advance(mini, "year", event, ctx())

    assert step.actions == (Gather("year", (Say(reprompt, EN), Say("Year?", EN)), None, 5, "#"),)
    assert "year" not in step.context["vars"]


@pytest.mark.parametrize(
    ("language", "event", "next_node"),
    [
        (EN, Digits("1"), None),
        (EN, Digits("2"), "menu"),
        (EN, Speech("Affirmative.", 0.9), None),
        (EN, Speech("nope", 0.9), "menu"),
        (EN, Speech("yes", 0.9), "sure"),
        (ZH, Speech("是的", 0.9), None),
        (ZH, Speech("不对！", 0.9), "menu"),
        (EN, Digits("3"), "sure"),
    ],
)
def test_confirm(mini: Flow, language: str, event: Event, next_node: str | None) -> None:
    step = advance(mini, "sure", event, ctx(language=language))

    assert step.next_node == next_node


def test_confirm_offers_its_words_to_the_recogniser(mini: Flow) -> None:
    step = advance(mini, "menu", Digits("1"), ctx())
    step = advance(mini, "year", Digits("2023"), step.context)

    assert step.actions == (
        Gather(
            "sure",
            (Say("Sure?", EN),),
            1,
            5,
            "",
            {EN: {"affirmative": "1", "no": "2", "nope": "2"}},
        ),
    )


def test_confirm_default_after_three_tries(mini: Flow) -> None:
    step = advance(mini, "sure", Digits(""), ctx(attempts={"sure": 2}))

    assert step.actions == (Say("Bye.", EN), Hangup())


def test_record(mini: Flow) -> None:
    step = advance(mini, "menu", Digits("3"), ctx())

    assert step.actions == (Say("Speak.", EN), Record("statement", 60, 3, "#"))
    assert step.next_node == "statement"


def test_a_recording_is_saved_stored_and_passed_on(mini: Flow) -> None:
    step = advance(mini, "statement", Recorded("https://x/r.wav", 12), ctx(vars={"year": "2023"}))

    statement = {"url": "https://x/r.wav", "duration_s": 12}
    assert step.effects == (
        Effect("save_recording", "statement", {**statement, "store_as": "statement"}),
        Effect(
            "look_up",
            "lookup",
            {"kind": "case", "vars": {"year": "2023", "statement": statement}, "language": EN},
            awaits=True,
        ),
    )
    assert step.actions == (Say("One moment.", EN),)
    assert step.context["vars"]["statement"] == statement
    assert step.awaiting_outcome == step.effects[1]


@pytest.mark.parametrize("recorded", [Recorded("", 0), Recorded("https://x/r.wav", 0)])
def test_an_empty_recording_goes_to_empty(mini: Flow, recorded: Recorded) -> None:
    step = advance(mini, "statement", recorded, ctx())

    assert step.effects[0].name == "save_recording"
    assert step.next_node == "menu"


def test_intent_ok_says_the_outcome_and_resolves(mini: Flow) -> None:
    outcome = Outcome("ok", prompt={EN: "Case found."}, data={"status": "open", "n": [1, 2]})

    step = advance(mini, "lookup", outcome, ctx())

    assert step.actions == (
        Say("Case found.", EN),
        Say("Here it is.", EN),
        Say("Bye.", EN),
        Hangup(),
    )
    assert step.effects == (Effect("mark_resolved", "fyi"),)
    assert step.context["vars"] == {"result": {"status": "open", "n": [1, 2]}}
    assert step.next_node is None


@pytest.mark.parametrize(
    ("language", "outcome", "said"),
    [
        (EN, Outcome("unavailable"), (Say("Unavailable.", EN),)),
        (ZH, Outcome("unavailable"), (Say("暂不可用。", ZH),)),
        (EN, Outcome("unavailable", prompt={EN: "Closed today."}), (Say("Closed today.", EN),)),
        (ZH, Outcome("unavailable", prompt={EN: "Closed today."}), (Say("Closed today.", EN),)),
        (EN, Outcome("not_found"), ()),
        (EN, Outcome("not_found", prompt={ZH: "没有找到。"}), ()),
    ],
)
def test_intent_other_outcomes_return_to_the_menu(
    mini: Flow, language: str, outcome: Outcome, said: tuple[Say, ...]
) -> None:
    step = advance(mini, "lookup", outcome, ctx(language=language))

    assert step.actions[:-1] == said
    assert isinstance(step.actions[-1], Gather)
    assert step.next_node == "menu"


def test_callback(mini: Flow) -> None:
    step = advance(mini, "menu", Digits("5"), ctx(vars={"year": "2023"}))

    assert step.effects == (
        Effect("request_callback", "ring", {"vars": {"year": "2023"}, "language": EN}, True),
    )
    assert advance(mini, "ring", Outcome("ok"), step.context).actions[-1] == Hangup()
    assert advance(mini, "ring", Outcome("failed"), step.context).next_node == "menu"


@pytest.mark.parametrize(
    ("outcome", "actions", "next_node"),
    [
        (Outcome("queued"), (Enqueue("agent", "general"),), "agent"),
        (Outcome("queued", data={"queue": "vip"}), (Enqueue("agent", "vip"),), "agent"),
        (Outcome("bridged"), (Hangup(),), None),
        (Outcome("hangup"), (Hangup(),), None),
        (Outcome("unavailable"), (Say("Unavailable.", EN),), "ring"),
        (Outcome("leave"), (menu_gather(),), "menu"),
    ],
)
def test_transfer_outcomes(
    mini: Flow, outcome: Outcome, actions: tuple[Any, ...], next_node: str | None
) -> None:
    step = advance(mini, "agent", outcome, ctx())

    assert step.actions == actions
    assert step.next_node == next_node


@pytest.mark.parametrize(
    ("node", "event", "actions"),
    [
        ("statement", Digits("1"), (Say("Speak.", EN), Record("statement", 60, 3, "#"))),
        ("lookup", Speech("hello", 0.9), (Say("One moment.", EN),)),
        ("agent", Start(), (Say("Connecting.", EN),)),
        ("done", Digits("1"), (Say("Bye.", EN), Hangup())),
        ("hello", Start(), (Say("Hello.", EN), menu_gather())),
    ],
)
def test_an_event_that_does_not_fit_reruns_the_node(
    mini: Flow, node: str, event: Event, actions: tuple[Any, ...]
) -> None:
    step = advance(mini, node, event, ctx())

    assert step.actions == actions


def test_unknown_node(mini: Flow) -> None:
    with pytest.raises(UnknownNode) as caught:
        advance(mini, "gone", Digits("1"), ctx())

    assert isinstance(caught.value, KeyError)
    assert caught.value.node_id == "gone"
    assert str(caught.value) == "unknown node 'gone' in flow 'mini'"


def test_advance_leaves_its_inputs_alone_and_keeps_app_keys(mini: Flow) -> None:
    context = {"call_sid": "CA1", "vars": {"items": [1]}, "attempts": {"menu": 1}}
    before = copy.deepcopy(context)

    step = advance(mini, "menu", Digits("2"), context)

    assert context == before
    assert step.context["call_sid"] == "CA1"
    assert step.context["vars"] == {"items": [1]}
    assert step.context["vars"] is not context["vars"]


@pytest.mark.parametrize("language", [None, "fr-FR", 7])
def test_an_unusable_language_falls_back_to_the_default(mini: Flow, language: Any) -> None:
    step = advance(mini, None, Start(), {"language": language})

    assert step.actions[0] == Say("Hello.", EN)
    assert step.context["language"] == EN


def _tiny(nodes: str) -> Flow:
    return parse_flow(
        f"""
flow: tiny
languages: [en-US, zh-CN]
default_language: en-US
start: a
recovery: a
operator: a
prompts: {{no_input: {{en-US: x}}, invalid: {{en-US: x}}, unavailable: {{en-US: x}}}}
nodes:
{nodes}
"""
    )


def test_a_missing_translation_falls_back_to_the_default_language() -> None:
    flow = _tiny("  a: {type: hangup, prompt: {en-US: Bye.}}")

    step = advance(flow, None, Start(), {"language": ZH})

    assert step.actions == (Say("Bye.", EN), Hangup())


def test_a_say_loop_is_stopped() -> None:
    flow = _tiny(
        "  a: {type: say, prompt: {en-US: A}, next: b}\n"
        "  b: {type: say, prompt: {en-US: B}, next: a}"
    )

    with pytest.raises(FlowError, match="more than 100 nodes"):
        advance(flow, None, Start(), {})


def test_enter_runs_a_node_afresh_for_recovery() -> None:
    from ivr_flows import enter, load_flow, shipped_flows_dir

    flow = load_flow(shipped_flows_dir() / "court_hotline.yaml")
    step = enter(flow, flow.recovery, {"language": "en-US", "attempts": {flow.recovery: 2}})
    assert step.next_node == flow.recovery
    assert step.context["attempts"].get(flow.recovery) is None
    gather = step.actions[-1]
    assert isinstance(gather, Gather) and gather.node == flow.recovery
    with pytest.raises(UnknownNode):
        enter(flow, "no_such_node", {})
