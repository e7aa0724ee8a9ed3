"""Errors as RFC 9457 problem documents (`application/problem+json`), for every API failure.

One body for all of them — `type`, `title`, `status`, `detail`, a machine `code` and, for
validation, `errors` by field — whether the error comes from a service, the lifecycle, the
request parser (flask-smorest / webargs) or the router (404, 405 never reach a blueprint).
Every handler rolls the request's session back first, so a failed request writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from workorders.lifecycle import IllegalMove
from workorders.services import NotFound, WorkOrderError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Service error codes that are about the order's state rather than the request's content.
CONFLICT_CODES = frozenset({"conflict"})

# Machine codes for the HTTP errors raised by Flask, werkzeug and webargs.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
}


class Problem(Exception):
    """Raised by views for a failure that has no service exception (duplicates, auth…)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})
        self.extra = extra


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = dict(errors)
    body.update(extra)
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype=PROBLEM_JSON
    )
    response.headers.update(headers or {})
    return response


# webargs files parser errors under the request part they came from.
REQUEST_PARTS = frozenset(
    {
        "json",
        "query",
        "querystring",
        "form",
        "headers",
        "cookies",
        "files",
        "path",
        "view_args",
        "json_or_form",
    }
)


def parser_errors(messages: Any) -> dict[str, list[str]]:
    """webargs' {"json": {"contact": {"phone": [...]}}} → {"contact.phone": [...]}."""
    if isinstance(messages, Mapping) and set(messages) <= REQUEST_PARTS:
        flat: dict[str, list[str]] = {}
        for part in messages.values():
            flat.update(flatten_errors(part))
        return flat
    return flatten_errors(messages)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            # marshmallow's "_schema" is the object itself: {"contact": {"_schema": …}}
            # is an error of "contact".
            name = (
                prefix
                if key == "_schema" and prefix
                else ".".join(filter(None, (prefix, str(key))))
            )
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    return {prefix or "_schema": [str(messages)]}


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def handle_problem(error: Problem) -> Response:
    _rollback()
    return problem_response(
        error.status, error.code, error.detail, headers=error.headers, **error.extra
    )


def handle_illegal_move(error: IllegalMove) -> Response:
    _rollback()
    return problem_response(409, "illegal_move", str(error), move=error.move, state=error.state)


def handle_not_found(error: NotFound) -> Response:
    _rollback()
    return problem_response(404, "not_found", str(error))


def handle_work_order_error(error: WorkOrderError) -> Response:
    _rollback()
    status = 409 if error.code in CONFLICT_CODES else 400
    return problem_response(status, error.code, str(error))


def handle_stale(error: StaleDataError) -> Response:
    """Two writers at once (the version column): the loser is rolled back and told to reload."""
    _rollback()
    log.info("API write lost a race: %s", error)
    return problem_response(
        409, "conflict", "the work order changed meanwhile; reload it and try again"
    )


def handle_integrity(error: IntegrityError) -> Response:
    """A unique constraint hit by a concurrent request (the same reference sent twice…)."""
    _rollback()
    log.info("API write hit a constraint: %s", error.orig)
    return problem_response(
        409, "conflict", "the request conflicts with data written meanwhile; try again"
    )


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    """Problem bodies for the API's HTTP errors; other paths keep Flask's default."""
    if not is_api_request():
        return error
    _rollback()
    status = error.code or 500
    data = getattr(error, "data", None) or {}  # webargs' abort puts parser errors here
    messages = data.get("messages")
    code = HTTP_CODES.get(status, HTTPStatus(status).name.lower())
    errors = None
    detail = error.description or HTTPStatus(status).description
    if status == 400 and messages == {"json": ["Invalid JSON body."]}:
        code, detail = "invalid_json", "the request body is not valid JSON"
    elif status == 422:
        errors = parser_errors(messages or {})
        detail = "the request does not validate: " + "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()
        )
    elif status >= 500:
        detail = "an internal error occurred; it has been logged"
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return problem_response(status, code, detail, errors=errors, headers=headers)


def is_api_request() -> bool:
    prefix = current_app.config["HOTLINE_API_PREFIX"]
    return request.blueprint == "api" or request.path.startswith(prefix + "/")


def register_error_handlers(app: Flask) -> None:
    # App-wide, because routing errors (404, 405) happen before any blueprint is chosen;
    # the handler leaves non-API paths to Flask's defaults.
    app.register_error_handler(HTTPException, handle_http_exception)


def register_blueprint_error_handlers(bp: Any) -> None:
    bp.register_error_handler(Problem, handle_problem)
    bp.register_error_handler(IllegalMove, handle_illegal_move)
    bp.register_error_handler(NotFound, handle_not_found)
    bp.register_error_handler(WorkOrderError, handle_work_order_error)
    bp.register_error_handler(StaleDataError, handle_stale)
    bp.register_error_handler(IntegrityError, handle_integrity)
    bp.register_error_handler(HTTPException, handle_http_exception)
