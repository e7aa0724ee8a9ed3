"""Background jobs on RQ: queues built explicitly with the JSON serializer, jobs that take ids.

Job functions here are the workers' entry points: each opens its own database session from
the environment's settings (workers run without a Flask app) and calls `workorders` services.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.redis_store import redis_client
from workorders.call_log import final_outcome
from workorders.calls import Call

log = logging.getLogger(__name__)


def get_queue(settings: Settings, name: str = "default") -> Queue:
    return Queue(name, connection=redis_client(settings), serializer=JSONSerializer)


def enqueue_call_outcome(settings: Settings, call_sid: str) -> bool:
    """Queue the call-completed job; False (and a warning) when Redis is unreachable.

    A lost job is not lost work: the outcome can be recomputed from the call row at any time.
    """
    try:
        get_queue(settings).enqueue(
            record_call_outcome,
            call_sid,
            job_id=f"call-outcome-{call_sid}",  # natural id: a replayed callback adds nothing
            result_ttl=600,
            failure_ttl=7 * 24 * 3600,
        )
    except redis.RedisError as exc:
        log.warning("could not queue the outcome job for %s: %s", call_sid, exc)
        return False
    return True


@lru_cache(maxsize=1)
def worker_settings() -> Settings:
    """Workers read the same environment as the web app (no Flask app needed)."""
    return Settings.from_env().validate()


@lru_cache(maxsize=1)
def worker_database() -> Database:
    """One engine per worker process."""
    return Database(worker_settings())


def record_call_outcome(call_sid: str) -> str | None:
    """Write how a finished call ended (resolved, message left, abandoned…) on its row."""
    with worker_database().session() as session:
        call = session.execute(
            select(Call).where(Call.call_sid == call_sid).with_for_update()
        ).scalar_one_or_none()
        if call is None:
            log.warning("call %s is gone; nothing to record", call_sid)
            return None
        call.outcome = final_outcome(call)
        session.commit()
        return call.outcome
