"""`hotline worker` (an RQ worker: JSON serializer, with the scheduler) and `hotline clock`
(queues the periodic sweep, so nothing depends on scheduled jobs surviving in Redis)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy.exc import SQLAlchemyError

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue, worker_settings
from hotline.logs import configure as configure_logging
from hotline.redis_store import redis_client

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    queue_names: Sequence[str],
    *,
    burst: bool,
    scheduler: bool,
    fork: bool = False,
) -> bool:
    """Our jobs are short database jobs: by default they run in the worker process itself
    (RQ's SimpleWorker), warm — imports done, configuration loaded, connections pooled and
    statements compiled once. Forking a fresh work horse per job (`fork=True`) costs each
    job ~60–100 ms of cold start, which capped routing at ~12 orders/s on 2 cores."""
    configure_logging(settings)
    from hotline.orders import jobs as order_jobs  # noqa: F401  (import the jobs once)
    from hotline.orders.runtime import cached_runtime

    cached_runtime(worker_settings())
    if "speech" in queue_names:
        # The Vosk model is loaded here, once, before the first job (and before any fork).
        from hotline.speech.transcribe import preload

        preload(settings)
    queues = [get_queue(settings, name) for name in queue_names]
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class(queues, connection=redis_client(settings), serializer=JSONSerializer)
    log.info("worker %s on %s", worker.name, ", ".join(queue_names))
    return bool(
        worker.work(burst=burst, with_scheduler=scheduler, logging_level=settings.log_level)
    )


def tick_sweep(settings: Settings, now: float | None = None) -> bool:
    """Queue one sweep per interval across all workers (a Redis NX key elects the one)."""
    interval = settings.sweep_interval_s
    bucket = int((now or time.time()) // interval)
    client = redis_client(settings)
    if not client.set(f"hotline:sweep:{bucket}", "1", nx=True, ex=interval * 2):
        return False
    from hotline.orders.jobs import sweep_due

    get_queue(settings).enqueue(sweep_due, job_id=f"sweep-{bucket}", result_ttl=interval * 2)
    return True


def run_clock(settings: Settings) -> None:
    """Tick the sweep forever. A separate process, not a thread in the worker: RQ forks a work
    horse per job, and a fork taken while a thread holds a lock deadlocks the child."""
    configure_logging(settings)
    log.info("clock: a sweep every %s s", settings.sweep_interval_s)
    database = None
    while True:
        try:
            if tick_sweep(settings):
                log.info("clock: sweep queued")
        except redis.RedisError as exc:
            log.warning("clock: sweep tick skipped: %s", exc)
        database = tick_spool(settings, database)
        time.sleep(max(1, min(settings.sweep_interval_s, 60)))


def tick_spool(settings: Settings, database: Database | None) -> Database | None:
    """Replay the calls this machine spooled while the database was down, once it is back.
    The spool is a local file, so this runs in the clock (one per machine), not in RQ."""
    from hotline.spool import Spool

    if not Spool(settings.spool_folder).pending():
        return database
    from hotline.voice.spool_replay import replay_spool

    database = database or Database(settings)
    try:
        report = replay_spool(settings, database)
    except SQLAlchemyError as exc:
        log.warning("clock: spool replay waits for the database: %s", exc)
        return database
    log.info(
        "clock: spool replayed: %d records, %d new, %d already known, %d orders opened",
        report.records,
        report.applied,
        report.duplicates,
        len(report.orders),
    )
    return database
