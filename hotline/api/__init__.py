"""The JSON REST API (/api/v1): work orders from every channel, with an OpenAPI document.

`init_app(app)` mounts it. flask-smorest and the views are imported there, not here, so
that `hotline.api.tokens` (a model Alembic needs) imports without the web stack.
"""

from __future__ import annotations

from flask import Flask

API_PREFIX = "/api/v1"
TITLE = "hotline API"
VERSION = "1"
DESCRIPTION = (
    "Work orders (工单) of the court / city hotline from every channel — phone, letter, "
    "visit, superior-court transfer, web — and the moves of their closed loop. "
    "Authenticate with `Authorization: Bearer <token>` (`hotline api token create NAME`). "
    "Errors are `application/problem+json` documents with a machine `code`. "
    "Times are ISO 8601 with an offset."
)


def init_app(app: Flask) -> None:
    from hotline.api.openapi import HotlineApi
    from hotline.api.supervisors import bp as supervisors_bp
    from hotline.api.views import bp

    app.config.setdefault("HOTLINE_API_PREFIX", API_PREFIX)
    app.config.update(
        API_TITLE=TITLE,
        API_VERSION=VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=app.config["HOTLINE_API_PREFIX"],
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "security": [{"bearerAuth": []}],
        },
    )
    api = HotlineApi(app)
    app.extensions["hotline.api"] = api  # other packages' endpoints join the same document
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `hotline api token create NAME`.",
        },
    )
    api.register_blueprint(bp, url_prefix=app.config["HOTLINE_API_PREFIX"])
    from hotline.access import mark_public

    mark_public(app, "api-docs.openapi_json")  # the contract itself needs no token
    api.register_blueprint(supervisors_bp, url_prefix=app.config["HOTLINE_API_PREFIX"])
