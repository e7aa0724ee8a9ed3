"""`hotline users …`: create, list, disable, set-role, set-password; passwords never echoed."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.users.cli import users
from hotline.users.models import AuditEvent
from tests.console.conftest import logged_in, login, new_ip, unique
from tests.hotline.test_api_auth import cli_env

SECRET = "a long secret 123"


def _kinds(database: Database, login_name: str) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.subject == login_name).order_by(AuditEvent.id)
        ).scalars()
        return [(r.kind, r.actor) for r in rows]


def test_the_users_commands(settings: Settings, database: Database, console_app: Flask) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    name = unique("clerk")
    r = runner.invoke(
        users,
        ["create", name, "--role", "handler", "--handler", "nope", "--password-stdin"],
        input=SECRET + "\n",
        env=env,
    )
    assert r.exit_code == 1 and "unknown handler" in r.output
    r = runner.invoke(users, ["create", name, "--role", "handler"], input="x\n", env=env)
    assert r.exit_code == 1
    r = runner.invoke(
        users,
        ["create", name, "--role", "staff,agent", "--name", "Clerk Wang"],
        input=f"{SECRET}\n{SECRET}\n",
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output  # the prompt hides it
    r = runner.invoke(
        users, ["create", name, "--role", "staff", "--password-stdin"], input=SECRET + "\n", env=env
    )
    assert r.exit_code == 1 and "exists already" in r.output

    listed = runner.invoke(users, ["list"], env=env)
    line = next(x for x in listed.output.splitlines() if x.startswith(name + "\t"))
    assert line.split("\t")[1] == "agent,staff" and "\tactive\t" in line

    client = console_app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_ip()
    assert login(client, name, SECRET).status_code == 302

    r = runner.invoke(users, ["set-role", name, "supervisor"], env=env)
    assert r.exit_code == 0 and "supervisor" in r.output
    assert runner.invoke(users, ["set-role", name, "wizard"], env=env).exit_code == 1
    r = runner.invoke(users, ["set-password", name, "--password-stdin"], input="short\n", env=env)
    assert r.exit_code == 1 and "at least" in r.output
    new = "another long secret"
    r = runner.invoke(users, ["set-password", name, "--password-stdin"], input=new + "\n", env=env)
    assert r.exit_code == 0
    # The old session ended with the old password.
    assert client.get("/console/").status_code == 302
    assert login(client, name, SECRET).status_code == 401
    assert login(client, name, new).status_code == 302

    assert runner.invoke(users, ["disable", name], env=env).exit_code == 0
    assert client.get("/console/").status_code == 302
    assert runner.invoke(users, ["enable", name], env=env).exit_code == 0
    kinds = [k for k, _ in _kinds(database, name)]
    assert kinds[0] == "user_created" and "roles_changed" in kinds
    assert "password_set" in kinds and "user_disabled" in kinds and kinds[-1] == "user_enabled"
    assert all(
        actor.startswith("cli")
        for k, actor in _kinds(database, name)
        if k != "login" and k != "login_failed"
    )


def test_a_handler_user_is_linked_to_a_handler(settings: Settings, database: Database) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    from tests.console.conftest import ConsoleUser  # noqa: F401

    name = unique("h")
    r = runner.invoke(
        users,
        ["create", name, "--role", "handler", "--handler", "pe-01", "--password-stdin"],
        input=SECRET + "\n",
        env=env,
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        users,
        ["create", unique("h"), "--role", "handler", "--handler", "pe-01", "--password-stdin"],
        input=SECRET + "\n",
        env=env,
    )
    assert r.exit_code == 1 and "already user" in r.output
    listed = runner.invoke(users, ["list"], env=env).output
    assert f"{name}\thandler\tpe-01\tactive" in listed


def test_admin_users_page(console_app: Flask, role_users: dict, database: Database) -> None:
    from tests.console.conftest import csrf_token

    client = logged_in(console_app, role_users["admin"])
    page = client.get("/console/admin/users").get_data(as_text=True)
    assert role_users["agent"].login in page and "Audit trail" in page
    name = unique("new")
    r = client.post(
        "/console/admin/users",
        data={
            "login": name,
            "display_name": "New",
            "password": SECRET,
            "roles": ["agent", "staff"],
            "csrf_token": csrf_token(client, "/console/admin/users"),
        },
    )
    assert r.status_code == 302
    r = client.post(
        f"/console/admin/users/{name}/roles",
        data={"roles": ["supervisor"], "csrf_token": csrf_token(client, "/console/admin/users")},
    )
    assert r.status_code == 302
    admin = f"user:{role_users['admin'].login}"
    assert _kinds(database, name) == [("user_created", admin), ("roles_changed", admin)]
