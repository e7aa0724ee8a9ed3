"""Console security: CSRF, cookies, headers, lockouts, rate limits, sessions that end."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hotline import create_app
from hotline.config import Settings
from hotline.db import Database
from hotline.users.models import AppendOnlyError, AuditEvent, User
from hotline.users.roles import Role
from hotline.users.service import get_user, set_active
from tests.console.conftest import (
    PASSWORD,
    ConsoleUser,
    console_overrides,
    csrf_token,
    logged_in,
    login,
    new_ip,
    unique,
)


def _audit(database: Database, login_name: str) -> list[str]:
    with database.session() as session:
        return list(
            session.execute(
                select(AuditEvent.kind)
                .where(AuditEvent.subject == login_name)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def test_login_sees_the_roles_home_and_is_audited(
    console_app: Flask, make_user: Callable[..., ConsoleUser], database: Database
) -> None:
    user = make_user(Role.HANDLER, Role.STAFF)
    client = logged_in(console_app, user)
    home = client.get("/console/").get_data(as_text=True)
    assert "My work orders" in home and "Register a letter or visit" in home
    assert "Users" not in home  # an admin page
    assert _audit(database, user.login)[-1] == "login"


def test_a_post_without_csrf_token_is_refused(
    console_app: Flask, role_users: dict[str, ConsoleUser], new_order: Callable[..., str]
) -> None:
    client = logged_in(console_app, role_users["supervisor"])
    number = new_order()
    page = f"/console/orders/{number}"
    data = {"move": "supervise", "note": "no token"}
    assert client.post(f"{page}/move", data=data).status_code == 400
    assert client.post(f"{page}/move", data={**data, "csrf_token": "forged"}).status_code == 400
    # Logging out needs the token too (a forged page cannot log people out).
    assert client.post("/console/logout").status_code == 400
    assert "supervised" not in client.get(page).get_data(as_text=True)
    ok = client.post(f"{page}/move", data={**data, "csrf_token": csrf_token(client, page)})
    assert ok.status_code == 302
    assert "supervised" in client.get(page).get_data(as_text=True)


def test_cookies_and_headers(console_app: Flask, anon: Flask) -> None:
    r = anon.get("/console/login")  # type: ignore[attr-defined]
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in r.headers  # http here
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_https_means_secure_cookies_and_hsts(settings: Settings, database: Database) -> None:
    app = create_app(console_overrides(settings, public_base_url="https://hotline.example"))
    client = app.test_client()
    r = client.get("/console/login", base_url="https://hotline.example")
    assert "Secure" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_lockout_after_repeated_failures_even_with_the_right_password(
    console_app: Flask, make_user: Callable[..., ConsoleUser], database: Database
) -> None:
    user = make_user(Role.AGENT)
    client = console_app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    for _ in range(5):  # login_max_failures
        assert login(client, user.login, "wrong password!").status_code == 401
    r = login(client, user.login)  # right password, but locked
    assert r.status_code == 401 and "try again later" in r.get_data(as_text=True)
    kinds = _audit(database, user.login)
    assert kinds.count("login_failed") == 5 and "lockout" in kinds
    assert kinds[-1] == "login_refused"
    with database.session() as session:
        assert get_user(session, user.login).locked_until is not None


def test_lockout_by_address(
    settings: Settings, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    app = create_app(console_overrides(settings, login_ip_max_failures=3))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    for _ in range(3):  # three different unknown logins: no user is locked
        assert login(client, unique("ghost"), "wrong password!").status_code == 401
    user = make_user(Role.AGENT)
    assert login(client, user.login).status_code == 429  # this address is locked
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = new_ip()
    assert login(other, user.login).status_code == 302  # the user is not


def test_login_rate_limit(settings: Settings, database: Database) -> None:
    app = create_app(console_overrides(settings, login_rate_limit="3 per minute"))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    codes = [login(client, unique("x"), "wrong password!").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Never the webhooks: no default limit exists, so nothing counts Twilio's requests.
    limiter = app.extensions["hotline.limiter"]
    assert not limiter.limit_manager.default_limits
    assert not limiter.limit_manager.application_limits
    for _ in range(5):
        assert client.post("/voice/status").status_code != 429


def test_api_rate_limit(settings: Settings, database: Database) -> None:
    from hotline.api.tokens import create_token

    app = create_app(console_overrides(settings, api_rate_limit="2 per minute"))
    with database.session() as session:
        _, token = create_token(session, name=unique("rl"), roles="agent")
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    codes = [client.get("/api/v1/categories", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = client.get("/api/v1/categories", headers=headers)
    assert r.mimetype == "application/problem+json" and r.json["code"] == "too_many_requests"


def test_disabling_a_user_ends_their_session(
    console_app: Flask, make_user: Callable[..., ConsoleUser], database: Database
) -> None:
    user = make_user(Role.STAFF)
    client = logged_in(console_app, user)
    assert client.get("/console/intake").status_code == 200
    with database.session() as session:
        set_active(session, get_user(session, user.login), False, actor="tests")
        session.commit()
    r = client.get("/console/intake")
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]
    assert login(client, user.login).status_code == 401


def test_logout(console_app: Flask, role_users: dict[str, ConsoleUser], database: Database) -> None:
    client = logged_in(console_app, role_users["agent"])
    r = client.post("/console/logout", data={"csrf_token": csrf_token(client)})
    assert r.status_code == 302
    assert client.get("/console/").status_code == 302
    assert "logout" in _audit(database, role_users["agent"].login)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/x"])
def test_no_open_redirect_after_login(
    console_app: Flask, make_user: Callable[..., ConsoleUser], target: str
) -> None:
    user = make_user(Role.AGENT)
    client = console_app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    r = login(client, user.login, PASSWORD, next=target)
    assert r.headers["Location"].endswith("/console/")


def test_the_audit_trail_is_append_only(database: Database) -> None:
    with database.session() as session:
        row = session.execute(select(AuditEvent).limit(1)).scalar_one()
        row.kind = "rewritten"
        with pytest.raises(AppendOnlyError):
            session.flush()
        session.rollback()
    for statement in ("UPDATE audit_events SET kind = 'x'", "DELETE FROM audit_events"):
        with database.session() as session:
            with pytest.raises(DBAPIError):
                session.execute(text(statement))
            session.rollback()


def test_passwords_are_argon2_hashes(
    database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    user = make_user(Role.AGENT)
    with database.session() as session:
        stored = session.execute(select(User.password_hash).where(User.login == user.login))
        value = stored.scalar_one()
    assert value.startswith("$argon2id$") and PASSWORD not in value


def test_sessions_end_when_idle_and_when_too_old(
    settings: Settings, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    import time

    app = create_app(console_overrides(settings))
    user = make_user(Role.HANDLER)
    client = logged_in(app, user)
    assert client.get("/console/").status_code == 200

    def shift(key: str, minutes: int) -> int:
        with client.session_transaction() as s:
            s[key] = int(time.time()) - minutes * 60
            return int(s[key])

    def seen() -> int:
        with client.session_transaction() as s:
            return int(s["seen"])

    before = shift("seen", settings.session_idle_minutes - 1)
    # The live stream and its refreshes are the page, not the user: they keep nothing alive.
    assert client.get("/console/orders/mine/rows").status_code == 200
    assert seen() == before
    assert client.get("/console/orders/mine").status_code == 200
    assert seen() > before  # a page the user asked for
    shift("seen", settings.session_idle_minutes + 1)
    assert client.get("/console/orders/mine").status_code == 302

    client = logged_in(app, user)
    shift("at", settings.session_max_minutes + 1)
    assert client.get("/console/").status_code == 302
