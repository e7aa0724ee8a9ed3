"""Live KPI counting: a session listener that turns committed row changes into counter updates.

Before a row is first flushed in a transaction its cells are taken as the transaction found
it (the ORM's committed state; nothing for new rows and for calls `upsert_call` inserted);
after every flush its cells are taken again; after the commit the difference is added to
the Redis counters in one MULTI/EXEC and announced on `hotline:kpis`. Rolled back: nothing.

Why differences rather than "set the row's contribution": differences commute, so two
commits on the same row whose after-commit updates reach Redis in the other order still add
up. A replayed webhook changes nothing on its row, so it changes no counter; a status
callback arriving out of order changes only what `apply_status` changed. When Redis is
unreachable the update is lost and the counters are marked stale as soon as Redis answers
again; the sweep then rebuilds them from SQL (`hotline kpis rebuild`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from hotline import live
from hotline.kpis import store
from hotline.kpis.sources import RowSource, source_for
from workorders.call_log import CREATED_CALLS
from workorders.calls import Call
from workorders.kpi_cells import Cells, cell_diff

log = logging.getLogger(__name__)

KEY = "hotline.kpis.tracked"
LIVE_CHANNEL = "kpis"  # the console's live channel for KPI changes (hotline.live numbering)


@dataclass
class Tracked:
    obj: Any
    source: RowSource
    before: Cells
    after: Cells = field(default_factory=dict)


# After a failure, updates are dropped (and counted as lost) for this long without trying:
# a Redis outage must not add a connect timeout to every commit of every webhook.
BACKOFF_S = 5.0


class _Health:
    """Remembers, per process, that an update was lost, until Redis can be told."""

    def __init__(self) -> None:
        self.lost = 0
        self.lock = threading.Lock()
        self.retry_at = 0.0

    def failed(self, *, unreachable: bool = True) -> None:
        with self.lock:
            self.lost += 1
            if unreachable:  # down, not merely slow: stop trying for a while
                self.retry_at = time.monotonic() + BACKOFF_S

    def reset(self) -> None:
        """Try Redis again at once (tests that follow an outage; an operator's rebuild)."""
        with self.lock:
            self.retry_at = 0.0

    def backing_off(self) -> bool:
        if time.monotonic() >= self.retry_at:
            return False
        with self.lock:
            self.lost += 1
        return True

    def report(self, client: redis.Redis) -> None:
        with self.lock:
            lost, self.lost = self.lost, 0
        if lost:
            try:
                store.mark_stale(client, f"{lost} live update(s) lost while Redis was unreachable")
            except redis.RedisError:
                with self.lock:
                    self.lost += lost


health = _Health()


def _tracked(session: Session) -> dict[int, Tracked]:
    tracked: dict[int, Tracked] = session.info.setdefault(KEY, {})
    return tracked


def _getter(obj: Any, before: bool) -> Callable[[str], Any]:
    if not before:
        return lambda name: getattr(obj, name)
    committed = inspect(obj).committed_state

    def get(name: str) -> Any:
        return committed[name] if name in committed else getattr(obj, name)

    return get


def announce(conn: redis.Redis, message: str) -> None:
    """Repeat a `hotline:kpis` message on the numbered live channel `kpis` (hotline.live),
    which the supervisor dashboard follows over SSE: numbered events let a reconnecting
    browser catch up with Last-Event-ID. One more round trip per counted commit, no thread."""
    live.publish(conn, LIVE_CHANNEL, "kpis", json.loads(message))


def install_kpi_listener(
    sessions: sessionmaker[Session], client: Callable[[], redis.Redis], tz: str
) -> None:
    zone = ZoneInfo(tz)

    @event.listens_for(sessions, "before_flush")
    def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
        tracked = _tracked(session)
        created = session.info.get(CREATED_CALLS, set())
        for obj in session.new:
            source = source_for(obj)
            if source is not None and id(obj) not in tracked:
                tracked[id(obj)] = Tracked(obj, source, {})
        for obj in (*session.dirty, *session.deleted):
            source = source_for(obj)
            if source is None or source.append_only or id(obj) in tracked:
                continue
            if isinstance(obj, Call) and obj.id in created:
                before: Cells = {}
            else:
                before = source.cells(obj, _getter(obj, True), session.connection())
            tracked[id(obj)] = Tracked(obj, source, before)

    @event.listens_for(sessions, "after_flush")
    def _after_flush(session: Session, _ctx: Any) -> None:
        tracked = _tracked(session)
        for call_id in session.info.get(CREATED_CALLS, set()):
            call = session.identity_map.get(inspect(Call).identity_key_from_primary_key((call_id,)))
            if call is not None and id(call) not in tracked:
                tracked[id(call)] = Tracked(call, source_for(call), {})  # type: ignore[arg-type]
        conn = session.connection()
        for item in tracked.values():
            state = inspect(item.obj)
            if state.deleted or state.was_deleted:
                item.after = {}
            else:
                item.after = item.source.cells(item.obj, _getter(item.obj, False), conn)

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        tracked = session.info.pop(KEY, {})
        session.info.pop(CREATED_CALLS, None)
        changes = [c for item in tracked.values() for c in cell_diff(item.before, item.after)]
        if not changes or health.backing_off():
            return
        try:
            conn = client()
            if store.apply_changes(conn, changes, zone):
                announce(conn, store.message(changes, zone))
            health.report(conn)
        except redis.RedisError as exc:
            health.failed(unreachable=isinstance(exc, redis.ConnectionError))
            log.warning("live KPI counters not updated (%s); the sweep will rebuild them", exc)

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(KEY, None)
        session.info.pop(CREATED_CALLS, None)
