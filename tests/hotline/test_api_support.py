"""Fixtures and helpers of the API tests (no tests here).

The test modules import the fixtures under other names (`from … import api_fixture`):
pytest registers them by their `name=`, and the tests' arguments do not shadow imports.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq.job import Job
from sqlalchemy import func, select
from werkzeug.test import TestResponse

import hotline.api
from hotline import create_app
from hotline.api.tokens import create_token
from hotline.config import Settings
from hotline.db import Database
from workorders.contacts import Contact
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.organisation import load_organisation

API = "/api/v1"
# The API app queues its jobs in a Redis database of its own: a session worker started by
# other tests (on database 0) must not route or time these orders behind the tests' backs,
# and the tests can see exactly which jobs a request queued.
API_REDIS_DB = 9

_serial = itertools.count(1)
_run = secrets.randbelow(10**4)


def unique_phone() -> str:
    """A Chinese mobile number no other test uses (the database is shared by the session)."""
    return f"139{_run:04d}{next(_serial):04d}"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def api_redis_url(settings: Settings) -> str:
    if not settings.redis_url:
        return f"unix://{settings.redis_socket}?{urlencode({'db': API_REDIS_DB})}"
    parts = urlsplit(settings.redis_url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=urlencode({"db": API_REDIS_DB})))
    return urlunsplit(parts._replace(path=f"/{API_REDIS_DB}"))


@pytest.fixture(scope="session", name="api_app")
def api_app_fixture(settings: Settings, database: Database, redis_conn: redis.Redis) -> Flask:
    overrides = {
        f: getattr(settings, f)
        for f in (
            "env",
            "instance_path",
            "database_url",
            "twilio_account_sid",
            "twilio_auth_token",
            "secret_key",
        )
    }
    overrides["redis_url"] = api_redis_url(settings)
    app = create_app(overrides)
    if "api" not in app.blueprints:  # until create_app mounts the API itself
        hotline.api.init_app(app)
    with database.session() as session:
        load_organisation(session)
        session.commit()
    return app


@pytest.fixture(scope="session", name="api_redis")
def api_redis_fixture(api_app: Flask) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(api_app.config["SETTINGS"].redis_url)
    yield client
    keys = list(client.scan_iter("rq:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session", name="api_token")
def api_token_fixture(api_app: Flask, database: Database) -> tuple[str, str]:
    """(name, token) of a live token for the session."""
    name = unique("tests")
    with database.session() as session:
        _, token = create_token(session, name=name)
        session.commit()
    return name, token


class ApiClient:
    """The Flask test client with the token and the API prefix filled in."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(API + path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.client.post(API + path, json=body, headers=self.headers, **kwargs)

    def intake(self, **fields: Any) -> dict[str, Any]:
        """Register a new order (201) and return its body."""
        body = {"channel": "web", "category": "complaint", "on_duplicate": "register"}
        body.setdefault("summary", unique("a matter"))
        body.update(fields)
        r = self.post("/work-orders", body)
        assert r.status_code == 201, r.json
        return dict(r.json or {})

    def move(self, number: str, move: str, status: int = 200, **fields: Any) -> dict[str, Any]:
        r = self.post(f"/work-orders/{number}/moves", {"move": move, **fields})
        assert r.status_code == status, r.json
        return dict(r.json or {})


@pytest.fixture(name="api")
def api_fixture(api_app: Flask, api_token: tuple[str, str]) -> ApiClient:
    return ApiClient(api_app.test_client(), api_token[1])


def assert_problem(r: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json"
    body = r.json
    assert isinstance(body, dict)
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"] and body["detail"]
    return body


def row_counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            model.__tablename__: session.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
            for model in (WorkOrder, WorkOrderEvent, Contact)
        }


def order_id(database: Database, number: str) -> int:
    with database.session() as session:
        return session.execute(select(WorkOrder.id).where(WorkOrder.number == number)).scalar_one()


def job_queued(client: redis.Redis, job_id: str) -> bool:
    return bool(Job.exists(job_id, connection=client))


def timer_jobs(client: redis.Redis, order_pk: int) -> list[str]:
    """Ids of the deadline timer jobs scheduled for an order (any deadline)."""
    return sorted(
        key.decode().removeprefix("rq:job:")
        for key in client.scan_iter(f"rq:job:wo-timer-*-{order_pk}-*", count=1000)
    )
