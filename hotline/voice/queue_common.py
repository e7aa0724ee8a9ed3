"""What the queue and callback webhooks share: TwiML responses, the runtime, public URLs,
a guard that answers sensible TwiML when the database fails, the agent after a call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.queues import presence
from hotline.queues.jobs import enqueue_offer, schedule_wrap_up
from hotline.queues.runtime import QueueRuntime
from hotline.voice import queue_twiml as tw
from workorders.calls import Call

log = logging.getLogger(__name__)


def xml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")


def runtime() -> QueueRuntime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime


def voices() -> Any:
    return current_app.config["SETTINGS"].voices


def language_of(session: Session, call_sid: str) -> str:
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    language = str((call.language if call else None) or "")
    return language if language in tw.TEXT else "zh-CN"


def url(endpoint: str, **values: Any) -> str:
    base: str = current_app.config["SETTINGS"].public_base_url
    if base:
        return base + str(url_for(endpoint, _external=False, **values))
    return str(url_for(endpoint, _external=True, **values))


def guarded(fallback: Callable[[], Response]) -> Callable[[Callable[[], Response]], Any]:
    """A database failure rolls back and answers `fallback` instead of an error page."""

    def wrap(view: Callable[[], Response]) -> Callable[[], Response]:
        def inner() -> Response:
            try:
                return view()
            except SQLAlchemyError:
                get_session().rollback()
                log.exception("database error in %s", request.path)
                return fallback()

        inner.__name__ = view.__name__
        inner.__doc__ = view.__doc__
        return inner

    return wrap


def hold() -> Response:
    return xml(tw.message("zh-CN", voices(), "next"))


def no_content() -> Response:
    return Response(status=204)


def after_call(runtime: QueueRuntime, login: str, now: datetime) -> None:
    """The agent's call ended: wrap-up for a while, or straight back to available."""
    wrap = runtime.config.wrap_up_s
    if wrap:
        state = presence.set_presence(runtime.redis, login, presence.Presence.WRAP_UP, now=now)
        schedule_wrap_up(runtime.settings, login, state.since, wrap)
    else:
        presence.release(runtime.redis, login, now=now, to=presence.Presence.AVAILABLE)
        enqueue_offer(runtime.settings)
