"""What the integrator builds on: a page added on a blueprint from `console_blueprint` gets
the session, the role check, CSRF, the security headers and a place in the route registry."""

from __future__ import annotations

from flask import Flask

from hotline import create_app
from hotline.access import require_principal, require_roles, route_policies
from hotline.config import Settings
from hotline.console import console_blueprint
from hotline.db import Database
from hotline.users.roles import Role
from tests.console.conftest import ConsoleUser, console_overrides, csrf_token, logged_in


def _app_with_a_dashboard(settings: Settings) -> Flask:
    app = create_app(console_overrides(settings))
    bp = console_blueprint("example", __name__, url_prefix="/console/example")

    @bp.route("/")
    @require_roles(Role.SUPERVISOR, Role.ADMIN)
    def wall() -> str:
        return f"wall of {require_principal().login}"

    @bp.route("/note", methods=["POST"])
    @require_roles(Role.SUPERVISOR, Role.ADMIN)
    def note() -> str:
        return "noted"

    app.register_blueprint(bp)
    return app


def test_a_page_on_a_console_blueprint(
    settings: Settings, database: Database, role_users: dict[str, ConsoleUser]
) -> None:
    app = _app_with_a_dashboard(settings)
    policies = {(p.method, p.rule): p.roles for p in route_policies(app, ["/console/example"])}
    assert policies == {
        ("GET", "/console/example/"): {Role.SUPERVISOR, Role.ADMIN},
        ("POST", "/console/example/note"): {Role.SUPERVISOR, Role.ADMIN},
    }
    anonymous = app.test_client().get("/console/example/")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]

    supervisor = logged_in(app, role_users["supervisor"])
    page = supervisor.get("/console/example/")
    assert page.get_data(as_text=True) == f"wall of {role_users['supervisor'].login}"
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert supervisor.post("/console/example/note").status_code == 400  # no CSRF token
    token = csrf_token(supervisor)
    assert supervisor.post("/console/example/note", data={"csrf_token": token}).status_code == 200

    agent = logged_in(app, role_users["agent"])
    assert agent.get("/console/example/").status_code == 403
