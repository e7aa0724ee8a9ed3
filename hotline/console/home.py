"""The home page: what each of the user's roles can do, from the registered pages."""

from __future__ import annotations

from typing import Any

from flask import render_template

from hotline.access import require_principal, require_roles
from hotline.console import bp
from hotline.console.nav import NAV
from hotline.users.roles import ALL_ROLES, Role

ROLE_TITLES = {
    Role.AGENT: "Agent",
    Role.HANDLER: "Handler",
    Role.STAFF: "Staff",
    Role.SUPERVISOR: "Supervisor",
    Role.ADMIN: "Administrator",
}


@bp.route("/")
@require_roles(*ALL_ROLES)
def home() -> Any:
    principal = require_principal()
    sections = [
        (ROLE_TITLES[role], [link for link in NAV if role in link.roles])
        for role in Role
        if role in principal.roles
    ]
    return render_template("console/home.html", sections=sections)
