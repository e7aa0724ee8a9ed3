"""Intents: the application side of the flow's effects, looked up by name.

Later capabilities (case lookup, work orders, callbacks, agent queues) register handlers
here; until one exists for a name the caller is told the service is unavailable and the
flow takes its "unavailable" route, so a call never fails for a missing feature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.orm import Session

from hotline.config import Settings
from ivr_flows import Effect, Outcome
from workorders.calls import Call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntentRequest:
    session: Session
    call: Call
    effect: Effect
    settings: Settings
    # Work to do once the webhook's transaction has committed (e.g. enqueue routing):
    # commit, then enqueue.
    after_commit: list[Callable[[], object]] = field(default_factory=list)


IntentHandler = Callable[[IntentRequest], Outcome]


def register_intent(app: Flask, name: str, handler: IntentHandler) -> None:
    app.extensions.setdefault("hotline.intents", {})[name] = handler


def run_intent(request: IntentRequest) -> Outcome:
    handlers: dict[str, IntentHandler] = current_app.extensions.get("hotline.intents", {})
    handler = handlers.get(request.effect.name)
    if handler is None:
        log.info("intent %r has no handler yet: caller told it is unavailable", request.effect.name)
        return Outcome("unavailable")
    try:
        return handler(request)
    except Exception:
        # A failing feature must not fail the call: the caller hears "unavailable" instead.
        log.exception("intent %r failed for call %s", request.effect.name, request.call.call_sid)
        return Outcome("unavailable")
