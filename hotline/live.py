"""Live events for console pages: published on Redis pub/sub after a commit, streamed to
browsers by `hotline.console.sse`.

Each channel numbers its events (a Redis counter) and keeps the last `HISTORY` of them, so a
browser that reconnects with `Last-Event-ID` gets what it missed, or a `resync` event when
too much was missed. Publishing never fails the caller: the data is committed already, and
a page that misses an event catches up at its next load.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.redis_store import redis_client
from workorders.orders import WorkOrder, WorkOrderEvent

log = logging.getLogger(__name__)

PREFIX = "hotline:live:"
HISTORY = 200
HISTORY_TTL_S = 3600
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,60}(:[A-Za-z0-9._-]{1,60})?$")
PENDING_KEY = "hotline.live.pending"

# The channels the work-order hook publishes on.
ORDERS = "orders"  # every move of every order (staff, supervisors, agents)


def handler_channel(handler_id: int) -> str:
    """Moves of the orders dispatched to one handler (and of those taken away from them)."""
    return f"handler-orders:{handler_id}"


def _keys(channel: str) -> tuple[str, str, str]:
    return PREFIX + channel, PREFIX + channel + ":seq", PREFIX + channel + ":recent"


def publish(client: redis.Redis, channel: str, event_name: str, data: dict[str, Any]) -> int:
    """Publish one event; returns its id on the channel."""
    if not NAME.match(channel):
        raise ValueError(f"bad live channel name {channel!r}")
    topic, seq, recent = _keys(channel)
    event_id = int(client.incr(seq))
    message = json.dumps({"id": event_id, "event": event_name, "data": data})
    pipe = client.pipeline()
    pipe.lpush(recent, message)
    pipe.ltrim(recent, 0, HISTORY - 1)
    pipe.expire(recent, HISTORY_TTL_S)
    pipe.expire(seq, 7 * 24 * 3600)
    pipe.publish(topic, message)
    pipe.execute()
    return event_id


def publish_safely(settings: Settings, channel: str, event_name: str, data: dict[str, Any]) -> None:
    try:
        publish(redis_client(settings), channel, event_name, data)
    except redis.RedisError as exc:
        log.warning("live event %s on %s not published: %s", event_name, channel, exc)


def current_id(client: redis.Redis, channel: str) -> int:
    """The id of the channel's latest event: a page rendered now follows the stream from it
    (`?last_id=`), so what happens between the render and the stream's start is not lost."""
    return int(client.get(_keys(channel)[1]) or 0)


def missed_since(client: redis.Redis, channel: str, last_id: int) -> list[dict[str, Any]] | None:
    """Events after `last_id`, oldest first; None when some were dropped from the history."""
    rows = [json.loads(m) for m in client.lrange(_keys(channel)[2], 0, HISTORY - 1)]
    rows.reverse()
    newer = [r for r in rows if r["id"] > last_id]
    current = int(client.get(_keys(channel)[1]) or 0)
    if current < last_id:  # the counter was reset (Redis lost its data): start over
        return None
    expected = current - last_id
    return newer if len(newer) >= expected else None


def install_order_events(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Publish every committed work-order move on `orders` and on the channels of the
    handlers it concerns (the new one and, for a return or transfer, the old one)."""

    @event.listens_for(sessions, "after_flush")
    def _collect(session: Session, _ctx: Any) -> None:
        pending = session.info.setdefault(PENDING_KEY, [])
        for row in session.new:
            if not isinstance(row, WorkOrderEvent):
                continue
            order: WorkOrder = row.work_order
            state = inspect(order)
            # The handler it was taken from (return, transfer) must see it go, too.
            handlers = {h for h in (order.handler_id, *state.attrs.handler_id.history.deleted)}
            handlers |= {h.id for h in state.attrs.handler.history.deleted if h is not None}
            handlers.discard(None)
            pending.append(
                (
                    {
                        "number": order.number,
                        "move": str(row.move),
                        "state": str(order.state),
                        "actor": row.actor,
                    },
                    sorted(handlers),
                )
            )

    @event.listens_for(sessions, "after_commit")
    def _publish(session: Session) -> None:
        for data, handler_ids in session.info.pop(PENDING_KEY, []):
            publish_safely(settings, ORDERS, "order", data)
            for handler_id in handler_ids:
                publish_safely(settings, handler_channel(handler_id), "order", data)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)
