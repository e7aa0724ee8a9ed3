"""Log in (rate-limited, locked out after repeated failures) and log out (POST with CSRF)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from hotline.access import public
from hotline.config import Settings
from hotline.console import bp
from hotline.console.auth import safe_next, start_session
from hotline.db import get_session
from hotline.security import address_locked, count_address_failure, limiter
from hotline.users.models import AuditKind
from hotline.users.service import LoginPolicy, audit, check_login

# Said for every refusal alike: which part was wrong, or that the user exists and is
# locked, is not for an anonymous visitor to learn.
REFUSED = "Wrong login or password, or too many failed attempts: try again later."


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def client_ip() -> str:
    # request.remote_addr is the proxy's unless HOTLINE_PROXY_X_FOR is set (ProxyFix).
    return request.remote_addr or "-"


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if request.method == "GET":
        if g.principal is not None:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", next=request.args.get("next", ""))
    settings = _settings()
    ip = client_ip()
    with limiter().limit(settings.login_rate_limit, scope="console-login"):
        pass  # raises RateLimitExceeded (429) past the limit, before any password work
    login_name = request.form.get("login", "")[:60]
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    db = get_session()
    if address_locked(settings, ip):
        audit(db, AuditKind.LOGIN_REFUSED, actor="anonymous", subject=login_name.lower(),
              ip=ip, why="address locked")  # fmt: skip
        db.commit()
        return _refused(target, 429)
    result = check_login(
        db,
        login=login_name,
        password=password,
        ip=ip,
        policy=LoginPolicy(settings.login_max_failures, _lockout(settings)),
    )
    if result.user is None:
        if result.reason == "bad_credentials" and count_address_failure(settings, ip):
            audit(db, AuditKind.IP_LOCKOUT, actor="system", ip=ip,
                  seconds=settings.login_lockout_s)  # fmt: skip
        db.commit()  # the failure and any lockout are kept
        return _refused(target, 401)
    db.commit()
    start_session(result.user)
    return redirect(target or url_for("console.home"))


def _lockout(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.login_lockout_s)


def _refused(target: str | None, status: int) -> Any:
    return render_template("console/login.html", next=target or "", error=REFUSED), status


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    principal = g.principal
    if principal is not None:
        db = get_session()
        audit(db, AuditKind.LOGOUT, actor=principal.actor, subject=principal.login,
              ip=client_ip())  # fmt: skip
        db.commit()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("console.login"))
