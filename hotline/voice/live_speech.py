"""Live speech in a voice turn: start the media stream, say what the caller may answer, and
take the answer the stream process decided (confirming it first when it was unsure).

The web process never loads a model: it only reads and writes the small Redis records of
`hotline.speech.channel`. Without a running stream process (or without a model) nothing here
changes the call: it stays DTMF-only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app

from hotline.redis_store import redis_client
from hotline.speech.channel import Expectation, SpeechChannel, SpeechResult
from hotline.speech.channel import stream_url as configured_stream_url
from hotline.voice.twiml import Urls
from ivr_flows import (
    Action,
    CollectNode,
    ConfirmNode,
    Digits,
    Event,
    Flow,
    Gather,
    MenuNode,
    Node,
    Say,
    Step,
)
from ivr_flows.speech import BUILTIN_YES_NO, node_grammar

log = logging.getLogger(__name__)

CONFIRM_KEY = "speech_confirm"
STREAM_KEY = "stream_started"

CONFIRM_PROMPT = {
    "ko-KR": "“{text}”(이)라고 말씀하셨습니까? 맞으면 1번을 누르거나 “네”라고 말씀해 주세요. "
    "아니면 2번을 누르거나 “아니요”라고 말씀해 주세요.",
    "zh-CN": "您说的是“{text}”吗？是请按1或说“是”，不是请按2或说“不是”。",
    "en-US": "Did you say {text}? If so, press 1 or say yes. If not, press 2 or say no.",
}


def channel() -> SpeechChannel:
    settings = current_app.config["SETTINGS"]
    return SpeechChannel(lambda: redis_client(settings))


def stream_url() -> str:
    return configured_stream_url(current_app.config["SETTINGS"])


@dataclass
class Answer:
    """What the webhook's request means once live speech is taken into account."""

    event: Event
    speech: SpeechResult | None = None
    confirm: Step | None = None  # render this instead of advancing (an unsure answer)
    reask: bool = False  # the caller rejected what we heard: ask the node again


def _no_keys(form: Mapping[str, str]) -> bool:
    return not form.get("Digits") and not form.get("QueueResult")


def answer(
    call_sid: str, node: Node, event: Event, form: Mapping[str, str], context: Mapping[str, Any]
) -> Answer:
    """The event to advance the flow with: keys win; else a decided spoken answer, if any."""
    if not stream_url():
        return Answer(event)  # no live speech configured: not even a Redis read
    pending = context.get(CONFIRM_KEY)
    spoken: SpeechResult | None = None
    if _no_keys(form) and isinstance(node, MenuNode | ConfirmNode | CollectNode):
        spoken = channel().take_result(call_sid, node.id)
    if isinstance(pending, Mapping) and pending.get("node") == node.id:
        # The answer to "did you say …?": 1/yes keeps what was heard, anything else re-asks.
        said = (
            spoken.key if spoken is not None else (event.value if isinstance(event, Digits) else "")
        )
        if said == "1":
            return Answer(Digits(str(pending.get("key", ""))), spoken)
        return Answer(event, spoken, reask=True)
    if spoken is None:
        return Answer(event)
    if spoken.sure:
        return Answer(Digits(spoken.key), spoken)
    return Answer(event, spoken, confirm=_confirm_step(node, spoken, context))


def _confirm_step(node: Node, spoken: SpeechResult, context: Mapping[str, Any]) -> Step:
    language = str(context.get("language") or "en-US")
    template = CONFIRM_PROMPT.get(language) or CONFIRM_PROMPT["en-US"]
    prompt = Say(
        template.format(text=spoken.text), language if language in CONFIRM_PROMPT else "en-US"
    )
    gather = Gather(node=node.id, prompts=(prompt,), num_digits=1, timeout_s=5, finish_on_key="")
    new_context = {
        **context,
        CONFIRM_KEY: {"node": node.id, "key": spoken.key, "text": spoken.text},
    }
    return Step(actions=(gather,), effects=(), next_node=node.id, context=new_context)


def after_turn(
    *,
    call_sid: str,
    flow: Flow,
    actions: Sequence[Action],
    context: dict[str, Any],
    seq: int,
    urls: Urls,
) -> str | None:
    """Tell the stream process what the caller may say now; returns the stream URL to start
    (None: already streaming, or nobody listening). Updates `context` in place."""
    url = stream_url()
    if not url:
        return None
    speech = channel()
    languages = speech.listening_languages()
    if not languages:
        return None
    gather = next((a for a in reversed(actions) if isinstance(a, Gather)), None)
    expectation = (
        _expectation(call_sid, flow, gather, context, seq, urls, languages) if gather else None
    )
    if expectation is None:
        speech.clear_expectation(call_sid)
    else:
        speech.expect(expectation)
    if context.get(CONFIRM_KEY) and (
        gather is None or context[CONFIRM_KEY].get("node") != gather.node
    ):
        context.pop(CONFIRM_KEY, None)
    start = not context.get(STREAM_KEY) or speech.take_dropped(call_sid)
    if start:
        context[STREAM_KEY] = True
        return url
    return None


def _expectation(
    call_sid: str,
    flow: Flow,
    gather: Gather,
    context: Mapping[str, Any],
    seq: int,
    urls: Urls,
    languages: Sequence[str],
) -> Expectation | None:
    node = flow.nodes.get(gather.node)
    language = str(context.get("language") or flow.default_language)
    step_url = urls.step(gather.node) + "&via=speech"
    confirming = context.get(CONFIRM_KEY)
    if isinstance(confirming, Mapping) and confirming.get("node") == gather.node:
        yes_no = {lang: _yes_no(lang) for lang in (language, *languages)}
        return Expectation(call_sid, gather.node, seq, "confirm", language, yes_no, step_url)
    if isinstance(node, CollectNode):
        return Expectation(
            call_sid, node.id, seq, "digits", language, {language: {}}, step_url,
            min_digits=node.min_length, max_digits=node.max_length, sensitive=node.sensitive,
        )  # fmt: skip
    if isinstance(node, ConfirmNode):
        grammars = {lang: node_grammar(node, lang) for lang in (language, *languages)}
        return Expectation(call_sid, node.id, seq, "confirm", language, grammars, step_url)
    if isinstance(node, MenuNode):
        # A menu that sets the language is heard before any is chosen: every language's words.
        sets_language = any(c.language for c in node.choices.values())
        langs = (language, *flow.languages) if sets_language else (language,)
        grammars = {lang: node_grammar(node, lang) for lang in langs}
        return Expectation(call_sid, node.id, seq, "menu", language, grammars, step_url)
    return None


def _yes_no(language: str) -> dict[str, str]:
    yes, no = BUILTIN_YES_NO.get(language, ((), ()))
    return {**{w: "1" for w in yes}, **{w: "2" for w in no}}
