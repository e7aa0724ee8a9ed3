"""Counters marked stale when an update was lost, rebuilt by the sweep's check; JSON logs
with request ids; the new settings are checked at startup."""

from __future__ import annotations

import json
import logging

import pytest
import redis

from hotline.config import ConfigError, Settings
from hotline.db import Database
from hotline.kpis import listener, store
from hotline.kpis.maintenance import rebuild_if_needed
from hotline.logs import JsonFormatter, RequestIdFilter


def test_a_lost_update_marks_the_counters_stale_and_the_sweep_rebuilds(
    settings: Settings, database: Database, redis_conn: redis.Redis
) -> None:
    with database.session() as session:
        rebuild_if_needed(settings, session, redis_conn)  # whatever state earlier tests left
        assert not rebuild_if_needed(settings, session, redis_conn)  # fresh: nothing to do
        health = listener._Health()  # a process's own record (not the global one: it backs off)
        health.failed()  # an after-commit update that could not reach Redis
        assert health.backing_off()  # the next ones, for a few seconds, are not even tried
        health.report(redis_conn)  # the first that can tells Redis
        assert "2 live update(s) lost" in store.read_meta(redis_conn)["stale"]
        assert rebuild_if_needed(settings, session, redis_conn)
        meta = store.read_meta(redis_conn)
        assert "stale" not in meta and meta["rebuilt_at"]


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("hotline.voice", logging.WARNING, __file__, 1, "call %s", ("CA1",),
                               None)  # fmt: skip
    record.request_id = "req-1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "call CA1" and line["request_id"] == "req-1"
    assert line["level"] == "WARNING" and line["logger"] == "hotline.voice"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert RequestIdFilter().filter(outside) and outside.request_id is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"log_format": "xml"}, "HOTLINE_LOG_FORMAT"),
        ({"kpi_answer_within_s": 17}, "HOTLINE_KPI_ANSWER_WITHIN_S"),
        ({"metrics_allow_networks": "10.0.0.0/8,not-a-net"}, "not-a-net"),
    ],
)
def test_bad_observability_settings_are_refused(
    tmp_path: object, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ={}, overrides={"instance_path": tmp_path, **overrides}).validate()


def test_a_metrics_token_is_generated_once_in_development(tmp_path: object) -> None:
    first = Settings.from_env(environ={}, overrides={"instance_path": tmp_path})
    again = Settings.from_env(environ={}, overrides={"instance_path": tmp_path})
    assert first.metrics_token and first.metrics_token == again.metrics_token
    production = Settings.from_env(
        environ={}, overrides={"instance_path": tmp_path, "env": "production"}
    )
    assert production.metrics_token == ""  # never invented in production
