"""Console sessions: who is logged in (`g.principal`), for how long, and the console's
answers when someone is not (a redirect to the login page) or may not (403)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as BaseResponse

from hotline.access import AccessDenied, NotAuthenticated, Principal
from hotline.config import Settings
from hotline.db import get_session
from hotline.users.models import User


def principal_for(user: User) -> Principal:
    return Principal(
        actor=user.actor,
        roles=frozenset(user.role_set),
        login=user.login,
        user_id=user.id,
        handler_id=user.handler_id,
        display_name=user.display_name,
    )


# Requests a page makes by itself (live streams, the refresh they trigger): they do not
# count as the user being active, or an open page would keep a session alive for ever.
PASSIVE_ENDPOINTS: set[str] = {"console.live", "console.my_order_rows"}


def start_session(user: User) -> None:
    session.clear()  # a fresh session (and CSRF token) for the new login
    session.permanent = True
    now = int(time.time())
    session.update(uid=user.id, ver=user.session_version, at=now, seen=now)


def load_user() -> None:
    """`before_request`: the logged-in user, or None once the session is over (too old,
    password changed, user disabled)."""
    g.principal = None
    uid = session.get("uid")
    if uid is None:
        return
    settings: Settings = current_app.config["SETTINGS"]
    user = get_session().get(User, uid)
    now = time.time()
    too_old = now - session.get("at", 0) > settings.session_max_minutes * 60
    idle = now - session.get("seen", 0) > settings.session_idle_minutes * 60
    if (
        user is None
        or not user.active
        or session.get("ver") != user.session_version
        or too_old
        or idle
        or not user.role_set
    ):
        session.clear()
        return
    if request.endpoint not in PASSIVE_ENDPOINTS:
        session["seen"] = int(now)
    g.principal = principal_for(user)


def safe_next(target: str | None) -> str | None:
    """Only a console path of this site: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    return target


def _wants_page() -> bool:
    return request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", "")


def _not_authenticated(_exc: Exception) -> Any:
    if _wants_page():
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    return Response("log in first\n", 401, mimetype="text/plain")


def _denied(exc: AccessDenied) -> Any:
    return render_template("console/error.html", title="Not allowed", message=exc.description), 403


def _csrf_failed(exc: CSRFError) -> Any:
    message = "The form expired or did not come from this site. Reload the page and try again."
    return render_template("console/error.html", title="Form refused", message=message), 400


def _too_many(exc: RateLimitExceeded) -> BaseResponse:
    message = f"Too many attempts ({exc.description}). Wait a minute and try again."
    body = render_template("console/error.html", title="Too many attempts", message=message)
    response = current_app.make_response((body, 429))
    response.headers["Retry-After"] = "60"
    return response


def _template_context() -> dict[str, Any]:
    from hotline.console.nav import links_for

    principal = g.get("principal")
    return {
        "principal": principal,
        "nav_links": links_for(principal.roles) if principal else [],
    }


def install_session_auth(bp: Blueprint) -> None:
    bp.before_request(load_user)
    bp.context_processor(_template_context)
    bp.register_error_handler(NotAuthenticated, _not_authenticated)
    bp.register_error_handler(AccessDenied, _denied)
    bp.register_error_handler(CSRFError, _csrf_failed)
    bp.register_error_handler(RateLimitExceeded, _too_many)
