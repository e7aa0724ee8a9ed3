"""Console fixtures: an app of its own (generous login limits, so the suite's many logins
from one address are not what is tested), users of every role, logged-in test clients."""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from hotline import create_app
from hotline.api.tokens import create_token
from hotline.config import Settings
from hotline.db import Database
from hotline.users.roles import Role
from hotline.users.service import create_user
from workorders.organisation import Department, Handler
from workorders.services import Intake, register_work_order

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ips = itertools.count(1)
APP_FIELDS = (
    "env",
    "instance_path",
    "database_url",
    "redis_url",
    "twilio_account_sid",
    "twilio_auth_token",
    "secret_key",
    "twilio_api_base_url",
    "twilio_from_number",
    "clock_override",
)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def new_ip() -> str:
    """A client address of its own: rate limits and address lockouts count per address."""
    n = next(_ips) + secrets.randbelow(1000) * 1000
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def console_overrides(settings: Settings, **extra: Any) -> dict[str, Any]:
    values = {f: getattr(settings, f) for f in APP_FIELDS}
    values.update(login_rate_limit="1000 per minute", login_ip_max_failures=1000)
    values.update(extra)
    return values


@pytest.fixture(scope="session")
def console_app(settings: Settings, database: Database, redis_conn: redis.Redis) -> Flask:
    return create_app(console_overrides(settings))


@dataclass
class ConsoleUser:
    login: str
    roles: frozenset[Role]
    handler_code: str | None = None
    handler_id: int | None = None


@pytest.fixture(scope="session")
def make_user(database: Database) -> Callable[..., ConsoleUser]:
    """Create a user with `roles` (a handler user gets a handler of its own, off duty so the
    routing of other tests never picks it)."""

    def make(*roles: Role | str, department: str = "enforcement", **kwargs: Any) -> ConsoleUser:
        role_set = frozenset(Role(r) for r in roles)
        login = unique("u" + "".join(sorted(r[0] for r in role_set)))
        handler_code = handler_id = None
        with database.session() as session:
            if Role.HANDLER in role_set:
                dept = session.execute(
                    select(Department).where(Department.code == department)
                ).scalar_one()
                handler = Handler(
                    code=unique("h"),
                    name=f"Test {login}",
                    department_id=dept.id,
                    on_duty=False,
                    active=True,
                )
                session.add(handler)
                session.flush()
                handler_code, handler_id = handler.code, handler.id
            create_user(
                session,
                login=login,
                display_name=f"Test {login}",
                roles=role_set,
                password=PASSWORD,
                actor="tests",
                handler_code=handler_code,
                **kwargs,
            )
            session.commit()
        return ConsoleUser(login, role_set, handler_code, handler_id)

    return make


@pytest.fixture(scope="session")
def role_users(make_user: Callable[..., ConsoleUser]) -> dict[str, ConsoleUser]:
    """One user per role (a single role each)."""
    return {str(role): make_user(role) for role in Role}


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    """The session's CSRF token, from a form on `path` (the home page once logged in)."""
    page = client.get(path)
    if page.status_code == 302:
        page = client.get(page.headers["Location"])
    match = CSRF.search(page.get_data(as_text=True))
    assert match, (path, page.status_code)
    return match.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str) -> TestResponse:
    token = csrf_token(client)
    return client.post(
        "/console/login", data={"login": name, "password": password, "csrf_token": token, **extra}
    )


def logged_in(app: Flask, user: ConsoleUser) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    r = login(client, user.login)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, path: str, data: dict[str, Any], page: str) -> TestResponse:
    """POST a console form with the CSRF token of `page`."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.fixture(scope="session")
def new_order(database: Database, console_app: Flask) -> Callable[..., str]:
    """Register an order (and dispatch it to `handler_code` when given); its number."""
    from hotline.orders.runtime import OrdersRuntime
    from workorders.lifecycle import Move, MoveRequest
    from workorders.services import move_work_order

    runtime: OrdersRuntime = console_app.extensions["hotline.orders"]

    def make(handler_code: str | None = None, department: str = "enforcement", **kw: Any) -> str:
        with database.session() as session:
            order, _ = register_work_order(
                session,
                intake=Intake(
                    channel="letter",
                    category="enforcement",
                    summary=kw.pop("summary", unique("a matter")),
                    **kw,
                ),
                actor="tests",
                calendar=runtime.calendar,
            )
            if handler_code:
                move_work_order(
                    session,
                    order_id=order.id,
                    move=Move.DISPATCH,
                    actor="tests",
                    calendar=runtime.calendar,
                    request=MoveRequest(department=department, handler=handler_code),
                )
            session.commit()
            return order.number

    return make


@pytest.fixture(scope="session")
def role_tokens(database: Database, make_user: Callable[..., ConsoleUser]) -> dict[str, str]:
    """An API token per role; the handler's acts for the handler `role_tokens["handler_code"]`."""
    handler = make_user(Role.HANDLER)
    tokens = {"handler_code": handler.handler_code or ""}
    with database.session() as session:
        for role in Role:
            _, tokens[str(role)] = create_token(
                session,
                name=unique(f"t-{role}"),
                roles=role,
                handler_id=handler.handler_id if role is Role.HANDLER else None,
            )
        session.commit()
    return tokens


@pytest.fixture
def anon(console_app: Flask) -> FlaskClient:
    client = console_app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    return client
