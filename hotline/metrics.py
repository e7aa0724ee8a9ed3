"""`/metrics` in the Prometheus text format, protected by a bearer token or allowed networks.

Why computed from Redis rather than prometheus_client's multiprocess mode: gunicorn runs
several web processes (and workers run elsewhere); the multiprocess mode needs a shared
`PROMETHEUS_MULTIPROC_DIR` wiped at every deploy and sees only one host. Here every figure
comes from state all processes already share: call counters kept beside the KPI counters,
RQ's own registries, SQL counts, and a webhook-latency histogram that each web process
accumulates in memory and adds to a Redis hash at most once a second (so a webhook pays no
Redis round trip for it). Any process on any host may answer a scrape.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db import get_session
from hotline.kpis import store
from hotline.kpis.snapshot import options_from, snapshot, window_for
from hotline.kpis.sources import waiting_callers
from hotline.redis_store import redis_client
from workorders.lifecycle import OPEN_STATES
from workorders.orders import WorkOrder

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

LATENCY_KEY = "hotline:metrics:webhook_latency"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_EVERY_S = 1.0
BACKOFF_S = 30.0  # after a failed flush: a Redis outage must not slow webhooks down
QUEUES = ("default", "speech")


class LatencyRecorder:
    """Webhook latencies per route, summed in memory and added to Redis about once a second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, int | float] = defaultdict(int)
        self.next_flush = time.monotonic() + FLUSH_EVERY_S

    def observe(self, route: str, seconds: float) -> None:
        with self.lock:
            for bound in BUCKETS:
                if seconds <= bound:
                    self.pending[f"{route}|{bound}"] += 1
            self.pending[f"{route}|+Inf"] += 1
            self.pending[f"{route}|sum_us"] += round(seconds * 1_000_000)

    def flush(self, client: Callable[[], redis.Redis], *, force: bool = False) -> None:
        with self.lock:
            if not self.pending or (not force and time.monotonic() < self.next_flush):
                return
            pending, self.pending = self.pending, defaultdict(int)
            self.next_flush = time.monotonic() + FLUSH_EVERY_S
        try:
            pipe = client().pipeline(transaction=False)
            for name, value in pending.items():
                pipe.hincrby(LATENCY_KEY, name, int(value))
            pipe.execute()
        except redis.RedisError:
            with self.lock:  # kept for later; Redis is not tried again for a while
                for name, value in pending.items():
                    self.pending[name] += value
                self.next_flush = time.monotonic() + BACKOFF_S


recorder = LatencyRecorder()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer() -> None:
        g.hotline_started = time.perf_counter()

    @app.after_request
    def _time_webhook(response: Response) -> Response:
        started = g.get("hotline_started")
        if started is not None and request.path.startswith("/voice/"):
            route = request.path.removeprefix("/voice/").split("/")[0][:32] or "unknown"
            recorder.observe(route, time.perf_counter() - started)
            settings = current_app.config["SETTINGS"]
            recorder.flush(lambda: redis_client(settings))
        return response


def _allowed(settings: Settings) -> bool:
    token = settings.metrics_token
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token):
        return True
    networks = [n.strip() for n in settings.metrics_allow_networks.split(",") if n.strip()]
    if networks and request.remote_addr:
        try:
            addr = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            return False
        return any(addr in ipaddress.ip_network(n, strict=False) for n in networks)
    return False


@bp.get("/metrics")
def metrics() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    if not settings.metrics_token and not settings.metrics_allow_networks:
        return Response(
            "metrics are off: set HOTLINE_METRICS_TOKEN or HOTLINE_METRICS_ALLOW_NETWORKS\n",
            status=403,
            mimetype="text/plain",
        )
    if not _allowed(settings):
        return Response(
            "send Authorization: Bearer <HOTLINE_METRICS_TOKEN>\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HotlineCollector(settings))
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


class HotlineCollector:
    """Reads every figure at scrape time; a source that is down is reported, not fatal."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hotline_source_up", "1 when the source answered", labels=["source"])
        for name, part in (("redis", self._redis), ("database", self._database)):
            try:
                yield from part()
                up.add_metric([name], 1)
            except Exception as exc:
                log.warning("metrics: %s unavailable: %s", name, exc)
                up.add_metric([name], 0)
        yield up

    def _redis(self) -> Iterator[Metric]:
        client = redis_client(self.settings)
        recorder.flush(lambda: client, force=True)
        totals = {_s(k): int(v) for k, v in client.hgetall(store.TOTALS).items()}
        calls = CounterMetricFamily(
            "hotline_calls", "Inbound calls since the counters began", labels=["event"]
        )
        outcomes = CounterMetricFamily(
            "hotline_call_outcomes", "Ended inbound calls by outcome", labels=["outcome"]
        )
        queue = CounterMetricFamily(
            "hotline_queue_entries", "Agent-queue entries by outcome", labels=["outcome"]
        )
        for name, value in sorted(totals.items()):
            metric, _, dim = name.partition("|")
            if metric.startswith("calls.") and not dim and metric != "calls.outcome":
                calls.add_metric([metric.removeprefix("calls.")], value)
            elif metric == "calls.outcome" and dim.startswith("outcome="):
                outcomes.add_metric([dim.removeprefix("outcome=")], value)
            elif metric.startswith("queue.") and not dim and metric in _QUEUE_OUTCOMES:
                queue.add_metric([metric.removeprefix("queue.")], value)
        yield from (calls, outcomes, queue)
        yield from self._kpis(client)
        yield from self._rq(client)
        yield self._latency(client)

    def _kpis(self, client: redis.Redis) -> Iterator[Metric]:
        options = options_from(self.settings)
        snap = snapshot(client, window=window_for(self.settings), options=options)
        value = GaugeMetricFamily(
            "hotline_kpi_today",
            "KPI today (ratio 0..1, count or seconds); absent when its denominator is 0",
            labels=["kpi"],
        )
        num = GaugeMetricFamily("hotline_kpi_today_numerator", "KPI numerator", labels=["kpi"])
        den = GaugeMetricFamily("hotline_kpi_today_denominator", "KPI denominator", labels=["kpi"])
        for fig in snap["kpis"]:
            if fig["value"] is not None:
                value.add_metric([fig["key"]], fig["value"])
            num.add_metric([fig["key"]], fig["numerator"] or 0)
            if fig["denominator"] is not None:
                den.add_metric([fig["key"]], fig["denominator"])
        yield from (value, num, den)

    def _rq(self, client: redis.Redis) -> Iterator[Metric]:
        depth = GaugeMetricFamily("hotline_rq_queue_jobs", "Jobs waiting", labels=["queue"])
        running = GaugeMetricFamily("hotline_rq_started_jobs", "Jobs running", labels=["queue"])
        failed = GaugeMetricFamily(
            "hotline_rq_failed_jobs", "Jobs in the failed registry", labels=["queue"]
        )
        for name in QUEUES:
            queue = Queue(name, connection=client, serializer=JSONSerializer)
            depth.add_metric([name], queue.count)
            running.add_metric([name], StartedJobRegistry(queue=queue).count)
            failed.add_metric([name], FailedJobRegistry(queue=queue).count)
        workers = GaugeMetricFamily("hotline_rq_workers", "RQ workers alive")
        workers.add_metric([], Worker.count(connection=client))
        yield from (depth, running, failed, workers)

    def _latency(self, client: redis.Redis) -> Metric:
        raw = {_s(k): int(v) for k, v in client.hgetall(LATENCY_KEY).items()}
        routes = sorted({name.partition("|")[0] for name in raw})
        family = HistogramMetricFamily(
            "hotline_webhook_latency_seconds",
            "Server time of the /voice webhooks, all web processes",
            labels=["route"],
        )
        for route in routes:
            buckets = [(str(b), raw.get(f"{route}|{b}", 0)) for b in BUCKETS]
            buckets.append(("+Inf", raw.get(f"{route}|+Inf", 0)))
            family.add_metric([route], buckets, raw.get(f"{route}|sum_us", 0) / 1_000_000)
        return family

    def _database(self) -> Iterator[Metric]:
        session = get_session()
        rows = session.execute(
            select(WorkOrder.state, func.count()).group_by(WorkOrder.state)
        ).all()
        states = GaugeMetricFamily("hotline_work_orders", "Work orders by state", labels=["state"])
        for state, count in rows:
            states.add_metric([state], count)
        overdue = GaugeMetricFamily("hotline_work_orders_overdue", "Open orders past deadline")
        overdue.add_metric(
            [],
            session.execute(
                select(func.count()).where(
                    WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline_at < datetime.now(UTC)
                )
            ).scalar_one(),
        )
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting_callers", "Callers waiting for an agent", labels=["queue"]
        )
        for queue, count in waiting_callers(session).items():
            waiting.add_metric([queue], count)
        session.rollback()
        yield from (states, overdue, waiting)


_QUEUE_OUTCOMES = frozenset(
    f"queue.{o}"
    for o in ("answered", "abandoned", "queue_full", "timeout", "callback", "after_hours", "error")
)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
