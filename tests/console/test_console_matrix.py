"""The role matrix: every console route and every /api/v1 route, called as every role and
anonymously, is allowed or refused exactly as this table says.

A route added without a line here fails `test_every_route_is_in_the_matrix`, so nobody adds
a page or endpoint without deciding who may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from hotline.access import PUBLIC, route_policies
from hotline.db import Database
from hotline.users.roles import MOVE_ROLES, Role
from tests.console.conftest import ConsoleUser, csrf_token, logged_in, new_ip, unique

A, H, S, V, D = Role.AGENT, Role.HANDLER, Role.STAFF, Role.SUPERVISOR, Role.ADMIN
EVERYONE = frozenset(Role)

# (method, rule) -> the roles allowed, or PUBLIC.
EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/console/static/<path:filename>"): PUBLIC,
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("POST", "/console/logout"): PUBLIC,
    ("GET", "/console/"): EVERYONE,
    ("GET", "/console/orders/mine"): frozenset({H}),
    ("GET", "/console/orders/mine/rows"): frozenset({H}),
    ("GET", "/console/orders"): frozenset({A, S, V, D}),
    ("GET", "/console/orders/<number>"): EVERYONE,
    ("POST", "/console/orders/<number>/move"): EVERYONE,
    ("GET", "/console/intake"): frozenset({S, D}),
    ("POST", "/console/intake"): frozenset({S, D}),
    ("GET", "/console/admin/users"): frozenset({D}),
    ("POST", "/console/admin/users"): frozenset({D}),
    ("POST", "/console/admin/users/<login>/roles"): frozenset({D}),
    ("POST", "/console/admin/users/<login>/active"): frozenset({D}),
    ("GET", "/console/live/<channel>"): EVERYONE,
    ("GET", "/console/supervision"): frozenset({V, D}),
    ("GET", "/console/supervision.csv"): frozenset({V, D}),
    ("GET", "/console/dashboard"): frozenset({V, D}),
    ("GET", "/console/dashboard/panel"): frozenset({V, D}),
    ("GET", "/console/agent"): frozenset({A, V, D}),
    ("GET", "/console/agent/live"): frozenset({A, V, D}),
    ("POST", "/console/agent/presence"): frozenset({A, V, D}),
    ("POST", "/console/agent/resolve"): frozenset({A, V, D}),
    ("POST", "/console/agent/note"): frozenset({A, V, D}),
    ("POST", "/console/agent/callback"): frozenset({A, V, D}),
    ("POST", "/console/agent/order"): frozenset({A, V, D}),
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/work-orders"): EVERYONE,
    ("POST", "/api/v1/work-orders"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/work-orders/<number>"): EVERYONE,
    ("POST", "/api/v1/work-orders/<number>/moves"): EVERYONE,
    ("GET", "/api/v1/departments"): EVERYONE,
    ("GET", "/api/v1/categories"): EVERYONE,
    ("GET", "/api/v1/queues"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/agents"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/agents/<login>/presence"): frozenset({A, S, V, D}),
    ("PUT", "/api/v1/agents/<login>/presence"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/callbacks"): frozenset({A, S, V, D}),
    ("POST", "/api/v1/callbacks"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/callbacks/<int:callback_id>"): frozenset({A, S, V, D}),
    ("POST", "/api/v1/callbacks/<int:callback_id>/cancel"): frozenset({A, S, V, D}),
    ("GET", "/api/v1/kpis"): frozenset({V, D}),
    ("GET", "/api/v1/supervision"): frozenset({V, D}),
    ("GET", "/api/v1/exports/<any(calls, orders, kpis):kind>"): frozenset({V, D}),
}
PREFIXES = ("/console", "/api/v1")


def _policies(app: Flask) -> dict[tuple[str, str], Any]:
    return {(p.method, p.rule): p.roles for p in route_policies(app, PREFIXES)}


def test_every_route_is_in_the_matrix(console_app: Flask) -> None:
    declared = _policies(console_app)
    undeclared = sorted(k for k, v in declared.items() if v is None)
    assert undeclared == [], "routes without @require_roles or @public"
    new, gone = set(declared) - set(EXPECTED), set(EXPECTED) - set(declared)
    assert not new and not gone, f"new: {sorted(new)}; gone: {sorted(gone)}"
    assert declared == EXPECTED


class Targets:
    """What the routes' URL arguments and bodies are filled with."""

    def __init__(self, number: str, login: str, channel: str = "orders") -> None:
        self.number, self.login, self.channel = number, login, channel

    def url(self, rule: str) -> str:
        return (
            rule.replace("<path:filename>", "console.css")
            .replace("<number>", self.number)
            .replace("<login>", self.login)
            .replace("<channel>", self.channel)
            .replace("<int:callback_id>", "999999999")
            .replace("<any(calls, orders, kpis):kind>", "kpis")
        )

    def form(self, rule: str) -> dict[str, str]:
        return {
            "/console/login": {"login": unique("nobody"), "password": "wrong password!"},
            "/console/orders/<number>/move": {"move": "note", "note": "matrix test"},
            "/console/intake": {"channel": "letter", "summary": ""},  # refused as incomplete
            "/console/admin/users": {"login": ""},  # refused as incomplete
            "/console/admin/users/<login>/roles": {"roles": "agent"},
            "/console/admin/users/<login>/active": {"active": "1"},
        }.get(rule, {})

    def json(self, rule: str) -> dict[str, Any]:
        if rule.endswith("/moves"):
            return {"move": "note", "note": "matrix test"}
        return {
            "channel": "web",
            "category": "complaint",
            "summary": unique("matrix"),
            "on_duplicate": "register",
        }


def classify(r: TestResponse) -> str:
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:500])
    if r.status_code == 401 or (
        r.status_code == 302 and "/console/login" in r.headers.get("Location", "")
    ):
        return "login"
    if r.status_code == 403:
        return "denied"
    return "allowed"


def _call(client: FlaskClient, method: str, rule: str, t: Targets, **kw: Any) -> TestResponse:
    url = t.url(rule)
    if method == "GET":
        r = client.get(url, **kw)
        r.close()  # a live stream is not read
        return r
    if rule.startswith("/api"):
        return client.open(url, method=method, json=t.json(rule), **kw)
    return client.post(url, data={**t.form(rule), "csrf_token": csrf_token(client)}, **kw)


@pytest.mark.parametrize("role", [*Role, None], ids=[*map(str, Role), "anonymous"])
def test_console_matrix(
    console_app: Flask,
    make_user: Callable[..., ConsoleUser],
    new_order: Callable[..., str],
    role: Role | None,
) -> None:
    user = make_user(role) if role else None
    # The order is dispatched to this handler (a handler may see their own orders).
    number = new_order(user.handler_code if user and user.handler_code else None)
    target = make_user(Role.AGENT)
    # Each role follows the live channel of its own page.
    channel = f"handler-orders:{user.handler_id}" if user and user.handler_id else "orders"
    t = Targets(number, target.login, channel)
    rules = sorted(
        (k for k in EXPECTED if k[1].startswith("/console")),
        key=lambda k: k[1] == "/console/logout",
    )  # logging out last
    outcomes = {}
    client = logged_in(console_app, user) if user else console_app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    for method, rule in rules:
        outcomes[(method, rule)] = classify(_call(client, method, rule, t))
    expected = {}
    for key in rules:
        allowed = EXPECTED[key]
        if allowed == PUBLIC:
            expected[key] = outcomes[key]  # public: anything but a refusal, checked below
            assert outcomes[key] != "denied", key
        elif role is None:
            expected[key] = "login"
        else:
            expected[key] = "allowed" if role in allowed else "denied"
    assert outcomes == expected


@pytest.mark.parametrize("role", [*Role, None], ids=[*map(str, Role), "anonymous"])
def test_api_matrix(
    console_app: Flask,
    role_tokens: dict[str, str],
    new_order: Callable[..., str],
    role: Role | None,
) -> None:
    t = Targets(new_order(role_tokens["handler_code"]), "-")  # the handler token's order
    client = console_app.test_client()
    headers = {"Authorization": f"Bearer {role_tokens[role]}"} if role else {}
    for (method, rule), allowed in EXPECTED.items():
        if not rule.startswith("/api"):
            continue
        outcome = classify(_call(client, method, rule, t, headers=headers))
        if allowed == PUBLIC:
            assert outcome == "allowed", rule
        elif role is None:
            assert outcome == "login", rule
        else:
            assert outcome == ("allowed" if role in allowed else "denied"), (role, method, rule)


@pytest.mark.parametrize("move", sorted(MOVE_ROLES))
def test_api_moves_by_role(console_app: Flask, role_tokens: dict[str, str], move: str) -> None:
    client = console_app.test_client()
    for role in Role:
        r = client.post(
            "/api/v1/work-orders/WO-2026-999999/moves",
            json={"move": move},
            headers={"Authorization": f"Bearer {role_tokens[role]}"},
        )
        may = role is Role.ADMIN or role in MOVE_ROLES[move]  # type: ignore[index]
        # Allowed: the order is looked up (404); refused before that (403).
        assert r.status_code == (404 if may else 403), (role, move, r.json)


@pytest.fixture(scope="module")
def role_clients(
    console_app: Flask, make_user: Callable[..., ConsoleUser]
) -> dict[Role, tuple[ConsoleUser, FlaskClient]]:
    users = {role: make_user(role) for role in Role}
    return {role: (u, logged_in(console_app, u)) for role, u in users.items()}


@pytest.mark.parametrize("move", sorted(MOVE_ROLES))
def test_console_moves_by_role(
    role_clients: dict[Role, tuple[ConsoleUser, FlaskClient]],
    move: str,
    new_order: Callable[..., str],
) -> None:
    for role, (user, client) in role_clients.items():
        number = new_order(user.handler_code)
        page = f"/console/orders/{number}"
        r = client.post(f"{page}/move", data={"move": move, "csrf_token": csrf_token(client, page)})
        may = role is Role.ADMIN or role in MOVE_ROLES[move]  # type: ignore[index]
        assert r.status_code == (302 if may else 403), (role, move)


def test_a_handler_moves_only_their_own_orders(
    console_app: Flask, make_user: Callable[..., ConsoleUser], new_order: Callable[..., str]
) -> None:
    mine, colleague = make_user(Role.HANDLER), make_user(Role.HANDLER)
    number = new_order(colleague.handler_code)
    client = logged_in(console_app, mine)
    page = f"/console/orders/{number}"
    assert client.get(page).status_code == 200  # same department: may look
    r = client.post(f"{page}/move", data={"move": "accept", "csrf_token": csrf_token(client, page)})
    assert r.status_code == 403
    other_dept = make_user(Role.HANDLER, department="criminal")
    client = logged_in(console_app, other_dept)
    assert client.get(page).status_code == 403


def test_live_channels_are_checked_per_key(
    console_app: Flask, make_user: Callable[..., ConsoleUser]
) -> None:
    a, b = make_user(Role.HANDLER), make_user(Role.HANDLER)
    client = logged_in(console_app, a)
    own = client.get(f"/console/live/handler-orders:{a.handler_id}")
    assert own.status_code == 200 and own.mimetype == "text/event-stream"
    own.close()
    assert client.get(f"/console/live/handler-orders:{b.handler_id}").status_code == 403
    assert client.get("/console/live/handler-orders").status_code == 403
    assert client.get("/console/live/no-such-channel").status_code == 403


def test_a_handler_token_moves_only_its_handlers_orders(
    console_app: Flask,
    database: Database,
    make_user: Callable[..., ConsoleUser],
    new_order: Callable[..., str],
) -> None:
    from hotline.api.tokens import create_token

    mine, other = make_user(Role.HANDLER), make_user(Role.HANDLER)
    with database.session() as session:
        _, bound = create_token(session, name=unique("hb"), roles="handler",
                                handler_id=mine.handler_id)  # fmt: skip
        _, unbound = create_token(session, name=unique("hu"), roles="handler")
        session.commit()
    client = console_app.test_client()

    def accept(token: str, number: str) -> int:
        r = client.post(f"/api/v1/work-orders/{number}/moves", json={"move": "accept"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        return r.status_code

    assert accept(bound, new_order(other.handler_code)) == 403
    assert accept(unbound, new_order(mine.handler_code)) == 403
    assert accept(bound, new_order(mine.handler_code)) == 200
