"""The IVR's `faq_answer` intent: the knowledge base's answer to a topic, in the caller's
language; a question answered counts as resolved during the call."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from hotline.config import ConfigError
from hotline.knowledge import FaqBase, check_topics, load_faq
from hotline.voice.intents import IntentRequest, register_intent
from ivr_flows import Flow, IntentNode, Outcome


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    faq = load_faq(Path(settings.faq_path)) if settings.faq_path else load_faq()
    flows: dict[str, Flow] = app.extensions["hotline.flows"]
    problems = [
        f"{flow.source}: {problem}"
        for flow in flows.values()
        for problem in check_topics(faq, _topics(flow))
    ]
    if problems:
        raise ConfigError(problems)
    app.extensions["hotline.faq"] = faq
    register_intent(app, "faq_answer", faq_answer)


def _topics(flow: Flow) -> list[tuple[str, str]]:
    return [
        (node.id, str(node.params.get("topic", "")))
        for node in flow.nodes.values()
        if isinstance(node, IntentNode) and node.intent == "faq_answer"
    ]


def faq_answer(request: IntentRequest) -> Outcome:
    faq: FaqBase = current_app.extensions["hotline.faq"]
    language = str(request.effect.params.get("language") or faq.languages[0])
    text = faq.answer(str(request.effect.params.get("topic", "")), language)
    if text is None:
        return Outcome("unavailable")
    request.call.resolved_in_call = True
    return Outcome("ok", prompt={language: text})
