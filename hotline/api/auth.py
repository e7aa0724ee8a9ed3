"""Bearer-token authentication of API requests; the token's name is the events' actor."""

from __future__ import annotations

from flask import g, request

from hotline.access import Principal
from hotline.api.problems import Problem
from hotline.api.tokens import find_token, touch_token
from hotline.db import get_session

CHALLENGE = 'Bearer realm="hotline"'


def authenticate() -> None:
    """`before_request` of the API blueprint: 401 unless a live token is presented."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401,
            "unauthorized",
            "send an API token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    session = get_session()
    row = find_token(session, token)
    if row is None:
        raise Problem(
            401,
            "unauthorized",
            "the API token is unknown or revoked",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    if touch_token(row):
        # Committed on its own, before the view: a failed request still counts as a use.
        session.commit()
    g.api_actor = row.actor
    g.principal = Principal(actor=row.actor, roles=row.role_set, handler_id=row.handler_id)


def current_actor() -> str:
    actor: str = g.api_actor
    return actor


def require_json() -> None:
    """`before_request`: bodies are JSON; anything else is refused before it is parsed."""
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        raise Problem(
            415,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        )
