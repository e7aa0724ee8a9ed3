"""Admins manage users: create, change roles, disable or enable (each change audited)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from hotline.access import require_principal, require_roles
from hotline.console import bp
from hotline.console.login import client_ip
from hotline.console.nav import add_nav
from hotline.db import get_session
from hotline.users.models import AuditEvent
from hotline.users.roles import Role, RoleError, parse_roles
from hotline.users.service import (
    UserError,
    create_user,
    get_user,
    handler_by_code,
    list_users,
    set_active,
    set_roles,
)
from workorders.organisation import Handler

add_nav("Users", "console.users", Role.ADMIN, accesskey="u",
        description="Create users, set their roles, disable them.")  # fmt: skip
AUDIT_SHOWN = 50


@bp.route("/admin/users")
@require_roles(Role.ADMIN)
def users() -> Any:
    session = get_session()
    handlers = list(session.execute(select(Handler).order_by(Handler.code)).scalars())
    audit_rows = list(
        session.execute(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_SHOWN)
        ).scalars()
    )
    return render_template(
        "console/users.html",
        users=list_users(session),
        roles=list(Role),
        handlers=handlers,
        audit=audit_rows,
    )


@bp.route("/admin/users", methods=["POST"])
@require_roles(Role.ADMIN)
def user_create() -> Response:
    session = get_session()
    form = request.form
    try:
        user = create_user(
            session,
            login=form.get("login", ""),
            display_name=form.get("display_name", ""),
            roles=parse_roles(form.getlist("roles")),
            password=form.get("password", ""),
            actor=require_principal().actor,
            handler_code=form.get("handler") or None,
        )
        session.commit()
    except (UserError, RoleError) as exc:
        session.rollback()
        flash(f"Not created: {exc}", "error")
        return redirect(url_for("console.users"))
    flash(f"User {user.login} created.", "ok")
    return redirect(url_for("console.users"))


@bp.route("/admin/users/<login>/roles", methods=["POST"])
@require_roles(Role.ADMIN)
def user_roles(login: str) -> Response:
    session = get_session()
    try:
        user = get_user(session, login)
        handler = request.form.get("handler")
        if handler:
            user.handler_id = handler_by_code(session, handler).id
        set_roles(session, user, parse_roles(request.form.getlist("roles")),
                  actor=require_principal().actor)  # fmt: skip
        session.commit()
    except (UserError, RoleError) as exc:
        session.rollback()
        flash(f"Not changed: {exc}", "error")
        return redirect(url_for("console.users"))
    flash(f"Roles of {login}: {user.roles}.", "ok")
    return redirect(url_for("console.users"))


@bp.route("/admin/users/<login>/active", methods=["POST"])
@require_roles(Role.ADMIN)
def user_active(login: str) -> Response:
    session = get_session()
    principal = require_principal()
    active = request.form.get("active") == "1"
    try:
        user = get_user(session, login)
        if not active and user.id == principal.user_id:
            raise UserError("you cannot disable yourself")
        set_active(session, user, active, actor=principal.actor)
        session.commit()
    except UserError as exc:
        session.rollback()
        flash(f"Not changed: {exc}", "error")
        return redirect(url_for("console.users"))
    flash(f"{login} {'enabled' if active else 'disabled'} (from {client_ip()}).", "ok")
    return redirect(url_for("console.users"))
