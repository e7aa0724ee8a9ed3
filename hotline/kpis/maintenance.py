"""Keeping the counters honest: rebuild them from SQL when Redis lost them or an update."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.kpis import rebuild, store

log = logging.getLogger(__name__)


def default_since(settings: Settings, now: datetime | None = None) -> date:
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.timezone)).date()
    return today - timedelta(days=settings.kpi_rebuild_days)


def rebuild_if_needed(settings: Settings, session: Session, client: redis.Redis) -> bool:
    """Rebuild the last `kpi_rebuild_days` when the counters are marked stale, or when Redis
    has no trace of them (flushed, or a new server). Called by the periodic sweep."""
    meta = store.read_meta(client)
    if meta and not meta.get("stale"):
        return False
    why = meta.get("stale") or "no counters in Redis"
    since = default_since(settings)
    keys = rebuild.rebuild(session, client, since=since, tz=settings.timezone)
    log.warning("KPI counters rebuilt from %s (%s): %d bucket(s)", since, why, keys)
    return True
