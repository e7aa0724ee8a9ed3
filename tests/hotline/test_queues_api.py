"""The queue, agent and callback endpoints: responses true to the OpenAPI document, errors as
problem documents, presence round trip."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from openapi_core import OpenAPI

from hotline.db import Database
from tests.hotline.test_api_openapi import _check, document, openapi  # noqa: F401
from tests.hotline.test_api_support import (
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    assert_problem,
    unique_phone,
)
from workorders.agents import save_agent


def _agent(database: Database) -> str:
    login = f"api-agent-{secrets.token_hex(3)}"
    with database.session() as session:
        save_agent(
            session,
            login=login,
            skills=["civil"],
            known_queues=frozenset({"civil", "general"}),
            phone="+8613811112222",
        )
        session.commit()
    return login


def put(api: ApiClient, path: str, body: Any) -> Any:
    return api.client.put("/api/v1" + path, json=body, headers=api.headers)


def test_queue_endpoints_match_the_document(
    openapi: OpenAPI,  # noqa: F811
    api: ApiClient,
    api_app: Flask,
    database: Database,
) -> None:
    login = _agent(database)
    offline = api.get(f"/agents/{login}/presence")
    assert offline.status_code == 200 and offline.json["status"] == "offline"
    _check(openapi, offline)
    body = {"status": "wrap-up"}
    changed = put(api, f"/agents/{login}/presence", body)
    assert changed.status_code == 200 and changed.json["status"] == "wrap-up"
    _check(openapi, changed, body)
    agents = api.get("/agents")
    assert any(a["login"] == login and a["status"] == "wrap-up" for a in agents.json)
    _check(openapi, agents)
    queues = api.get("/queues")
    assert {q["queue"] for q in queues.json} == {"civil", "criminal", "enforcement", "general"}
    _check(openapi, queues)

    request = {"phone": unique_phone(), "reason": "wants the hearing date", "queue": "civil"}
    created = api.post("/callbacks", request)
    assert created.status_code == 201, created.json
    _check(openapi, created, request)
    number = created.json["id"]
    shown = api.get(f"/callbacks/{number}")
    assert shown.json["requested_via"] == "staff" and shown.json["attempts"] == []
    _check(openapi, shown)
    listed = api.get("/callbacks", query_string={"status": "scheduled"})
    assert number in [c["id"] for c in listed.json]
    _check(openapi, listed)
    cancelled = api.post(f"/callbacks/{number}/cancel", {})
    assert cancelled.json["status"] == "cancelled"
    _check(openapi, cancelled, {})
    assert_problem(api.post(f"/callbacks/{number}/cancel", {}), 400, "not_open")
    assert_problem(api.get("/callbacks/999999999"), 404, "not_found")
    assert_problem(
        api.post("/callbacks", {"phone": unique_phone(), "queue": "tax"}), 400, "bad_queue"
    )
    assert_problem(put(api, "/agents/nobody/presence", {"status": "available"}), 404, "not_found")
    assert_problem(put(api, f"/agents/{login}/presence", {"status": "asleep"}), 422,
                   "validation_error")  # fmt: skip
    put(api, f"/agents/{login}/presence", {"status": "offline"})


def test_the_queue_endpoints_need_a_token(api_app: Flask) -> None:
    r = api_app.test_client().get("/api/v1/queues")
    assert_problem(r, 401, "unauthorized")
