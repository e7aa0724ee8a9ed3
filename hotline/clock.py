"""The application's "now" for work orders: real time, or — in development and tests only —
real time shifted by an offset kept in Redis, so stories that wait days run in seconds and a
demo can show tomorrow's reminders today. Production refuses the override (config check).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis

from hotline.config import Settings
from hotline.redis_store import redis_client

log = logging.getLogger(__name__)

OFFSET_KEY = "hotline:clock:offset_s"


def offset(settings: Settings) -> timedelta:
    if not settings.clock_override:
        return timedelta(0)
    try:
        raw = redis_client(settings).get(OFFSET_KEY)
    except redis.RedisError as exc:
        log.warning("clock offset unreadable (%s): using real time", exc)
        return timedelta(0)
    return timedelta(seconds=float(raw)) if raw else timedelta(0)


def now(settings: Settings) -> datetime:
    return datetime.now(UTC) + offset(settings)


def set_now(settings: Settings, when: datetime | None) -> timedelta:
    """Make `now` read `when` from here on (None: back to real time); returns the offset."""
    if not settings.clock_override:
        raise RuntimeError(
            "the clock can be set only with HOTLINE_CLOCK_OVERRIDE=1 (not in production)"
        )
    client = redis_client(settings)
    if when is None:
        client.delete(OFFSET_KEY)
        return timedelta(0)
    shift = when - datetime.now(UTC)
    client.set(OFFSET_KEY, str(shift.total_seconds()))
    return shift
