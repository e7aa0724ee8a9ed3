"""The OpenAPI document: generated from the code, valid, and true of real responses.

Requests and responses of real calls are validated against the document with openapi-core,
so a schema that drifts from what the views send fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder, TestResponse
from werkzeug.wrappers import Request

from tests.hotline.test_api_support import (
    API,
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    unique,
    unique_phone,
)

PATHS = {
    f"{API}/work-orders": {"get", "post"},
    f"{API}/work-orders/{{number}}": {"get"},
    f"{API}/work-orders/{{number}}/moves": {"post"},
    f"{API}/departments": {"get"},
    f"{API}/categories": {"get"},
    f"{API}/queues": {"get"},
    f"{API}/agents": {"get"},
    f"{API}/agents/{{login}}/presence": {"get", "put"},
    f"{API}/callbacks": {"get", "post"},
    f"{API}/callbacks/{{callback_id}}": {"get"},
    f"{API}/callbacks/{{callback_id}}/cancel": {"post"},
    f"{API}/kpis": {"get"},
    f"{API}/supervision": {"get"},
    f"{API}/exports/{{kind}}": {"get"},
}


@pytest.fixture(scope="module")
def document(api_app: Flask) -> dict[str, Any]:
    r = api_app.test_client().get(f"{API}/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return dict(r.json or {})


@pytest.fixture(scope="module")
def openapi(document: dict[str, Any]) -> OpenAPI:
    # openapi-core reads application/json only; problem documents are JSON too.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(document, config=config)


def test_the_document_is_openapi_3_with_every_path(document: dict[str, Any]) -> None:
    validate(document)  # the OpenAPI 3.0 meta-schema
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "hotline API" and document["info"]["version"] == "1"
    methods = {path: set(item) - {"parameters"} for path, item in document["paths"].items()}
    assert methods == PATHS
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert document["security"] == [{"bearerAuth": []}]
    listing = document["paths"][f"{API}/work-orders"]["get"]
    assert "X-Pagination" in listing["responses"]["200"]["headers"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "state", "department", "channel", "overdue", "supervised", "contact_phone", "page",
        "page_size",
    }  # fmt: skip
    intake = document["paths"][f"{API}/work-orders"]["post"]["responses"]
    assert {"200", "201", "409", "422"} <= set(intake)
    assert "application/problem+json" in intake["409"]["content"]
    moves = document["components"]["schemas"]["Move"]["properties"]["move"]["enum"]
    assert "dispatch" in moves and "register" not in moves and "remind" not in moves


def _request(r: TestResponse, body: Any = None) -> WerkzeugOpenAPIRequest:
    """The request of `r` again (the app has read its body stream)."""
    sent = r.request
    environ = EnvironBuilder(
        path=sent.path,
        method=sent.method,
        query_string=sent.query_string.decode(),
        headers={"Authorization": sent.headers["Authorization"]},
        json=body,
    ).get_environ()
    return WerkzeugOpenAPIRequest(Request(environ))


def _check(openapi: OpenAPI, r: TestResponse, body: Any = None, *, request_ok: bool = True) -> None:
    request = _request(r, body)
    if request_ok:
        openapi.validate_request(request)
    openapi.validate_response(request, WerkzeugOpenAPIResponse(r))


def test_responses_match_the_document(openapi: OpenAPI, api: ApiClient) -> None:
    phone = unique_phone()
    body = {
        "channel": "phone",
        "category": "case_progress",
        "summary": unique("judgment not received"),
        "contact": {"phone": phone, "name": "张三"},
    }
    created = api.post("/work-orders", body)
    assert created.status_code == 201
    _check(openapi, created, body)
    number = created.json["number"]

    duplicate = api.post("/work-orders", body)
    assert duplicate.status_code == 409
    _check(openapi, duplicate, body)

    attach = body | {"on_duplicate": "attach"}
    attached = api.post("/work-orders", attach)
    assert attached.status_code == 200
    _check(openapi, attached, attach)

    dispatch = {"move": "dispatch", "department": "filing"}
    moved = api.post(f"/work-orders/{number}/moves", dispatch)
    assert moved.status_code == 200
    _check(openapi, moved, dispatch)

    illegal = api.post(f"/work-orders/{number}/moves", {"move": "complete"})
    assert illegal.status_code == 409
    _check(openapi, illegal, {"move": "complete"})

    for r in (
        api.get(f"/work-orders/{number}"),
        api.get("/work-orders", query_string={"contact_phone": phone, "state": "dispatched"}),
        api.get("/departments"),
        api.get("/categories"),
        api.get("/kpis", query_string={"window": "7d"}),
        api.get("/supervision", query_string={"week": "2026-W48"}),
    ):
        assert r.status_code == 200
        _check(openapi, r)

    invalid = api.post("/work-orders", {"channel": "fax"})
    assert invalid.status_code == 422
    # The request itself breaks the document (that is the point): check the response only.
    _check(openapi, invalid, {"channel": "fax"}, request_ok=False)
    missing = api.get("/work-orders/WO-2026-999999")
    assert missing.status_code == 404
    _check(openapi, missing)


def test_the_check_has_teeth(openapi: OpenAPI, api: ApiClient) -> None:
    """A body or header that drifts from the document is caught by the same check."""
    r = api.get("/work-orders", query_string={"page_size": 1})
    _check(openapi, r)
    drifted = json.loads(r.get_data())
    del drifted[0]["version"]
    r.set_data(json.dumps(drifted))
    with pytest.raises(OpenAPIError):
        _check(openapi, r)
    r = api.get("/work-orders", query_string={"page_size": 1})
    r.headers["X-Pagination"] = json.dumps({"total": "many"})
    with pytest.raises(OpenAPIError):
        _check(openapi, r)
