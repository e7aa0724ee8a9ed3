"""Server-sent events: a console page subscribes to a named live channel
(`hotline.live`) and gets its events as text/event-stream.

Each open stream holds one gunicorn gthread thread for its whole life, and the same threads
answer Twilio's webhooks. So a process serves at most `sse_max_connections` streams at once
(503 with Retry-After beyond), and each stream ends after `sse_max_duration_s`; the
browser's EventSource reconnects by itself (after the `retry` we send), with Last-Event-ID,
and gets what it missed. Heartbeat comments every `sse_heartbeat_s` keep proxies from
closing an idle stream and let the server notice a browser that went away.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from flask import Response, current_app, request

from hotline.access import AccessDenied, Principal, require_principal, require_roles
from hotline.config import Settings
from hotline.console import bp
from hotline.live import NAME, ORDERS, PREFIX, missed_since
from hotline.redis_store import redis_client
from hotline.users.roles import ALL_ROLES, Role

log = logging.getLogger(__name__)
RETRY_MS = 3000
POLL_S = 1.0


@dataclass(frozen=True)
class LiveChannel:
    name: str
    roles: frozenset[Role]
    # Channels with a key ("handler-orders:12"): may this principal read that key?
    key_allowed: Callable[[Principal, str], bool] | None = None


CHANNELS: dict[str, LiveChannel] = {}


def register_channel(
    name: str,
    *roles: Role | str,
    key_allowed: Callable[[Principal, str], bool] | None = None,
) -> None:
    """Let principals holding one of `roles` subscribe to `name` (or to `name:<key>`
    when `key_allowed` says yes for that key)."""
    CHANNELS[name] = LiveChannel(name, frozenset(Role(r) for r in roles), key_allowed)


register_channel(ORDERS, Role.AGENT, Role.STAFF, Role.SUPERVISOR, Role.ADMIN)
register_channel(
    "handler-orders",
    Role.HANDLER,
    key_allowed=lambda p, key: p.handler_id is not None and key == str(p.handler_id),
)


class ConnectionSlots:
    """How many streams this process may hold open at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sem = threading.BoundedSemaphore(max(limit, 1))
        self._lock = threading.Lock()
        self.open = 0

    def take(self) -> bool:
        if self.limit <= 0 or not self._sem.acquire(blocking=False):
            return False
        with self._lock:
            self.open += 1
        return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1
        self._sem.release()


def check_channel(principal: Principal, channel: str) -> None:
    name, _, key = channel.partition(":")
    spec = CHANNELS.get(name)
    if spec is None or not NAME.match(channel):
        raise AccessDenied("no such live channel")
    if not principal.roles & spec.roles and Role.ADMIN not in principal.roles:
        raise AccessDenied("your roles may not follow this channel")
    keyed = bool(key) or spec.key_allowed is not None
    allowed = bool(key) and spec.key_allowed is not None and spec.key_allowed(principal, key)
    if keyed and not allowed and Role.ADMIN not in principal.roles:
        raise AccessDenied("not your channel")


def _frame(message: dict[str, Any]) -> str:
    data = json.dumps(message["data"], ensure_ascii=False)
    return f"id: {message['id']}\nevent: {message['event']}\ndata: {data}\n\n"


def event_stream(settings: Settings, channel: str, last_id: int | None) -> Iterator[str]:
    client = redis_client(settings)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    try:
        pubsub.subscribe(PREFIX + channel)  # before reading the history: nothing falls between
        yield f"retry: {RETRY_MS}\n\n"
        # Ids already sent: the history replayed and the live messages overlap. A set, not
        # the highest id: two publishers may publish ids 4 and 5 in the other order.
        sent: set[int] = set()
        if last_id is not None:
            missed = missed_since(client, channel, last_id)
            if missed is None:
                last_id = None  # the ids may have started over (Redis lost them)
                yield "event: resync\ndata: {}\n\n"
            else:
                for message in missed:
                    sent.add(message["id"])
                    yield _frame(message)
        now = time.monotonic()
        deadline = now + settings.sse_max_duration_s
        next_beat = now + settings.sse_heartbeat_s
        while (now := time.monotonic()) < deadline:
            raw = pubsub.get_message(timeout=min(POLL_S, max(deadline - now, 0.01)))
            if raw is not None and raw.get("type") == "message":
                message = json.loads(raw["data"])
                if message["id"] not in sent and (last_id is None or message["id"] > last_id):
                    sent.add(message["id"])
                    yield _frame(message)
                    next_beat = time.monotonic() + settings.sse_heartbeat_s
            elif now >= next_beat:
                yield ": heartbeat\n\n"
                next_beat = now + settings.sse_heartbeat_s
    except redis.RedisError as exc:
        log.warning("live stream %s ended: %s", channel, exc)
    finally:
        pubsub.close()


@bp.route("/live/<channel>")
@require_roles(*ALL_ROLES)
def live(channel: str) -> Response:
    principal = require_principal()
    check_channel(principal, channel)
    settings: Settings = current_app.config["SETTINGS"]
    slots: ConnectionSlots = current_app.extensions["hotline.sse"]
    if not slots.take():
        return Response("too many live connections; retrying\n", 503,
                        headers={"Retry-After": "10"}, mimetype="text/plain")  # fmt: skip
    raw_last = request.headers.get("Last-Event-ID") or request.args.get("last_id", "")
    last_id = int(raw_last) if raw_last.isdigit() else None
    response = Response(
        event_stream(settings, channel, last_id),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(slots.give_back)
    return response
