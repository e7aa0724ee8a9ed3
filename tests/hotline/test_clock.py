"""The clock queues one sweep per interval, however many clocks run."""

from __future__ import annotations

from dataclasses import replace

import redis

from hotline.config import Settings
from hotline.jobs import get_queue
from hotline.worker import tick_sweep


def test_one_sweep_per_interval_across_clocks(settings: Settings, redis_conn: redis.Redis) -> None:
    s = replace(settings, sweep_interval_s=3600)
    at = 1_000_000 * 3600.0 + 5  # a fixed bucket no other test uses
    assert tick_sweep(s, now=at) is True
    assert tick_sweep(s, now=at + 10) is False  # another clock, same interval
    job = get_queue(s).fetch_job(f"sweep-{int(at // 3600)}")
    assert job is not None and job.func_name == "hotline.orders.jobs.sweep_due"
    job.cancel()
    job.delete()
