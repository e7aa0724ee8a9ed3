"""The web console (/console): server-rendered pages for agents, handlers, staff,
supervisors and admins, with live updates over SSE.

To add a page (see README "Console"): write a view on `bp` (or on a blueprint made with
`console_blueprint`) decorated with `@require_roles(...)`, render a template that extends
`console/base.html`, and `add_nav(...)` to list it on the home page of its roles. The
session, CSRF, security headers and the route registry come with the blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from hotline.console.auth import install_session_auth
from hotline.console.nav import add_nav
from hotline.security import protect_blueprint

URL_PREFIX = "/console"


def console_blueprint(name: str, import_name: str, url_prefix: str = URL_PREFIX) -> Blueprint:
    """A blueprint with the console's protections: the logged-in user as `g.principal`,
    CSRF on every form, security headers, and the console's error pages."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    install_session_auth(blueprint)
    protect_blueprint(blueprint)
    return blueprint


bp = Blueprint(
    "console",
    __name__,
    url_prefix=URL_PREFIX,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
install_session_auth(bp)
protect_blueprint(bp)

from hotline.console import (  # noqa: E402, F401
    admin,
    agent,
    dashboard,
    home,
    intake,
    login,
    orders,
    sse,
    supervision,
)


def init_app(app: Flask) -> None:
    from hotline.access import mark_public

    app.register_blueprint(bp)
    mark_public(app, "console.static")
    app.extensions["hotline.sse"] = sse.ConnectionSlots(app.config["SETTINGS"].sse_max_connections)


__all__ = ["URL_PREFIX", "add_nav", "bp", "console_blueprint", "init_app"]
