"""API tokens: bearer auth on every endpoint, SHA-256 storage, and the `hotline api token` CLI."""

from __future__ import annotations

import hashlib
import os
from dataclasses import fields

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from hotline.api.cli import api as api_cli
from hotline.api.tokens import ApiToken
from hotline.config import Settings
from hotline.db import Database
from tests.hotline.test_api_support import (
    API,
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    assert_problem,
    unique,
)

PROTECTED = [
    ("get", "/work-orders"),
    ("post", "/work-orders"),
    ("get", "/work-orders/WO-2026-000001"),
    ("post", "/work-orders/WO-2026-000001/moves"),
    ("get", "/departments"),
    ("get", "/categories"),
]


def cli_env(settings: Settings) -> dict[str, str | None]:
    """The test database's settings, and nothing the environment of the run might add."""
    env: dict[str, str | None] = {
        key: None
        for f in fields(Settings)
        for key in (f"HOTLINE_{f.name.upper()}", f.name.upper())
        if key in os.environ
    }
    return env | {
        "HOTLINE_ENV": "test",
        "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "HOTLINE_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "HOTLINE_SECRET_KEY": settings.secret_key,
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer hl_not-a-token", "Basic dXNlcjpwYXNz", "hl_x"]
)
def test_every_endpoint_needs_a_live_token(
    api_app: Flask, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    client = api_app.test_client()
    r = getattr(client, method)(API + path, headers=headers, json={})
    body = assert_problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in body["detail"]


def test_the_cli_creates_lists_and_revokes_tokens(
    api_app: Flask, settings: Settings, database: Database
) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    name = unique("cli")

    created = runner.invoke(api_cli, ["token", "create", name], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("hl_") and len(token) > 40

    with database.session() as session:
        row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one()
        # Only the hash is kept: nothing in the row is the token itself.
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {row.name, row.token_sha256}
        assert row.last_used_at is None and not row.revoked

    client = ApiClient(api_app.test_client(), token)
    assert client.get("/categories").status_code == 200
    with database.session() as session:
        row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one()
        assert row.last_used_at is not None

    listed = runner.invoke(api_cli, ["token", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.stdout.splitlines() if x.startswith(name + "\t"))
    assert "\tactive\t" in line and token not in listed.stdout

    again = runner.invoke(api_cli, ["token", "create", name], env=env)
    assert again.exit_code == 1 and "exists already" in again.output

    revoked = runner.invoke(api_cli, ["token", "revoke", name], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert_problem(client.get("/categories"), 401, "unauthorized")
    listed = runner.invoke(api_cli, ["token", "list"], env=env)
    assert any(x.startswith(f"{name}\trevoked\t") for x in listed.stdout.splitlines())

    twice = runner.invoke(api_cli, ["token", "revoke", name], env=env)
    assert twice.exit_code == 1 and "no active token" in twice.output


@pytest.mark.parametrize("name", ["", "has space", "x" * 61, "-leading-dash", "ünïcode"])
def test_token_names_are_checked(settings: Settings, database: Database, name: str) -> None:
    result = CliRunner().invoke(api_cli, ["token", "create", "--", name], env=cli_env(settings))
    assert result.exit_code != 0
    assert "bad token name" in result.output


def test_the_actor_of_api_moves_is_the_token_name(
    api: ApiClient, api_token: tuple[str, str]
) -> None:
    order = api.intake(summary=unique("who did this"))
    assert [e["actor"] for e in order["events"]] == [f"api:{api_token[0]}"]


def test_the_openapi_document_needs_no_token(api_app: Flask) -> None:
    r = api_app.test_client().get(f"{API}/openapi.json")
    assert r.status_code == 200
    assert r.json["info"]["title"] == "hotline API"


def test_other_paths_keep_flasks_own_errors(api_app: Flask) -> None:
    # The API's problem handler must not take over the rest of the app.
    r = api_app.test_client().get("/no-such-page")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
