"""One turn of a call: the flow engine advanced by a webhook, its effects carried out, TwiML out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from sqlalchemy.orm import Session

from hotline.voice import live_speech, params
from hotline.voice.intents import IntentRequest, run_intent
from hotline.voice.state import CallState
from hotline.voice.twiml import Urls, render
from ivr_flows import (
    Action,
    CollectNode,
    Effect,
    Enqueue,
    Flow,
    RecordNode,
    Start,
    Step,
    UnknownNode,
    advance,
    enter,
)
from workorders.calls import Call

log = logging.getLogger(__name__)

# An awaited effect is answered at once; a flow chaining more than this many is broken.
MAX_EFFECT_ROUNDS = 10


@dataclass
class CallTurn:
    session: Session
    call: Call
    form: Mapping[str, str]
    node: str | None  # the node the request's URL names; None for /voice/incoming
    bad_node: bool = False
    after_commit: list[Callable[[], object]] = field(default_factory=list)
    sensitive_input: bool = False  # the request carries a secret (keyed at a sensitive node)
    spoken: dict[str, str] | None = None  # a live speech answer used in this turn, for the log


def run_turn(turn: CallTurn) -> tuple[str, CallState]:
    """Advance the call's flow by this request and return (TwiML, new state).

    The node in the request URL is authoritative (Twilio posts to the URL we gave it), so a
    lost Redis state changes nothing; the state supplies the context (language, tries…).
    """
    settings = current_app.config["SETTINGS"]
    flows: Mapping[str, Flow] = current_app.extensions["hotline.flows"]
    state = current_app.extensions["hotline.call_states"].load(turn.call, settings.flow)
    flow = flows.get(state.flow) or flows[settings.flow]
    context: dict[str, Any] = dict(state.context)
    node = flow.nodes.get(turn.node) if turn.node is not None else None
    if turn.node is None and not turn.bad_node:
        step = advance(flow, None, Start(), context)
    elif node is None:
        log.warning(
            "call %s: unknown node %r, resuming at %s", turn.call.call_sid, turn.node, flow.recovery
        )
        step = enter(flow, flow.recovery, context)
    else:
        turn.sensitive_input = isinstance(node, CollectNode) and node.sensitive
        event = params.step_event(turn.form, is_record_node=isinstance(node, RecordNode))
        heard = live_speech.answer(turn.call.call_sid, node, event, turn.form, context)
        context.pop(live_speech.CONFIRM_KEY, None)
        if heard.speech is not None:
            turn.spoken = {
                "SpeechResult": heard.speech.text,
                "Confidence": str(heard.speech.confidence),
                "SpeechKey": "***" if turn.sensitive_input else heard.speech.key,
            }
        try:
            if heard.confirm is not None:
                step = heard.confirm
            elif heard.reask:
                step = enter(flow, node.id, context)
            else:
                step = advance(flow, node.id, heard.event, context)
        except UnknownNode:  # an edge of the flow points nowhere: resume where it is safe
            step = enter(flow, flow.recovery, context)
    flags: dict[str, bool] = {}
    actions, step = _settle(turn, flow, step, flags)
    context = dict(step.context) | flags
    context["vars"] = _without_secrets(flow, context.get("vars") or {})
    if any(isinstance(a, Enqueue) for a in actions):
        context["transferred"] = True
    seq = state.seq + 1
    urls = _urls(seq)
    stream = live_speech.after_turn(
        call_sid=turn.call.call_sid, flow=flow, actions=actions, context=context, seq=seq, urls=urls
    )
    new_state = CallState(flow=flow.id, node=step.next_node, seq=seq, context=context)
    new_state.to_row(turn.call)
    xml = render(
        actions, voices=settings.voices, urls=urls, stream_url=stream, call_sid=turn.call.call_sid
    )
    return xml, new_state


def _without_secrets(flow: Flow, values: Mapping[str, Any]) -> dict[str, Any]:
    """Vars minus what sensitive nodes collected: used within the turn, never stored."""
    secret = {n.store_as for n in flow.nodes.values() if isinstance(n, CollectNode) and n.sensitive}
    return {k: v for k, v in values.items() if k not in secret}


def _settle(
    turn: CallTurn, flow: Flow, step: Step, flags: dict[str, bool]
) -> tuple[list[Action], Step]:
    """Carry out the effects, feeding awaited outcomes back until the flow waits on the caller."""
    actions: list[Action] = list(step.actions)
    for _ in range(MAX_EFFECT_ROUNDS):
        for effect in step.effects:
            _apply(turn, effect, flags)
        awaited = step.awaiting_outcome
        if awaited is None:
            return actions, step
        settings = current_app.config["SETTINGS"]
        outcome = run_intent(
            IntentRequest(turn.session, turn.call, awaited, settings, turn.after_commit)
        )
        step = advance(flow, awaited.node, outcome, step.context)
        actions.extend(step.actions)
    raise RuntimeError(f"flow {flow.id}: more than {MAX_EFFECT_ROUNDS} effects in one turn")


def _apply(turn: CallTurn, effect: Effect, flags: dict[str, bool]) -> None:
    """Effects that need no answer: flags kept in the call's context for the outcome job."""
    if effect.name == "mark_resolved":
        turn.call.resolved_in_call = True
        flags["made_request"] = True
    elif effect.name == "save_recording":
        if effect.params.get("url"):
            flags["message_left"] = flags["made_request"] = True
    elif effect.awaits:
        flags["made_request"] = True


def _urls(seq: int) -> Urls:
    settings = current_app.config["SETTINGS"]
    base: str = settings.public_base_url

    def absolute(endpoint: str, **values: Any) -> str:
        if base:
            return base + str(url_for(endpoint, _external=False, **values))
        return str(url_for(endpoint, _external=True, **values))

    # seq makes every step URL unique, so a retried request is recognised as a replay while
    # a caller pressing the same key twice at the same menu is not.
    return Urls(
        step=lambda node: absolute("voice.step", node=node, seq=seq),
        recording_status=absolute("voice.recording_status"),
        queue_wait=absolute("voice.queue_wait"),
    )
