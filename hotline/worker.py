"""`hotline worker`: an RQ worker on our queues, with the JSON serializer and the scheduler."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rq import Worker
from rq.serializers import JSONSerializer

from hotline.config import Settings
from hotline.jobs import get_queue
from hotline.redis_store import redis_client

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, queue_names: Sequence[str], *, burst: bool, scheduler: bool
) -> bool:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    queues = [get_queue(settings, name) for name in queue_names]
    worker = Worker(queues, connection=redis_client(settings), serializer=JSONSerializer)
    log.info("worker %s on %s", worker.name, ", ".join(queue_names))
    return bool(
        worker.work(burst=burst, with_scheduler=scheduler, logging_level=settings.log_level)
    )
