"""App-wide web security: session cookies, CSRF, rate limits (Redis-backed), security headers
and the per-address login lockout.

CSRF is checked where a blueprint opts in (`protect_blueprint`), not app-wide: the Twilio
webhooks (signed) and the bearer-token API carry no cookies to forge, and a webhook another
module adds later must never start failing with 400 because it is not a form.
Nothing here rate-limits /voice: Twilio retries, and a refused webhook is a caller hearing
an error.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from hotline.config import Settings
from hotline.redis_store import redis_client

log = logging.getLogger(__name__)

LIMITER = "hotline.limiter"
CSRF = "hotline.csrf"
IP_FAILS_KEY = "hotline:login:ip-failures:{ip}"

# No inline script or style anywhere in the console: every script and stylesheet is a file
# under /console/static, so an injected <script> cannot run.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]
    app.config.update(
        SESSION_COOKIE_NAME="hotline_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # The cookie outlives neither limit; the limits themselves are checked server-side
        # (hotline.console.auth.load_user), since a browser may keep a cookie past its date.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_max_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by protect_blueprint, see the docstring
        WTF_CSRF_TIME_LIMIT=settings.session_max_minutes * 60,
        WTF_CSRF_SSL_STRICT=settings.https,
        RATELIMIT_STORAGE_URI="redis://",
        RATELIMIT_STORAGE_OPTIONS={"connection_pool": _limiter_pool(settings)},
        RATELIMIT_KEY_PREFIX="hotline:limits",
        RATELIMIT_SWALLOW_ERRORS=True,  # Redis down: fall back, never a 500
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_STRATEGY="moving-window",
    )
    app.extensions[CSRF] = CSRFProtect(app)
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions[LIMITER] = limiter
    if "api" in app.blueprints:
        api_bp: Blueprint = app.blueprints["api"]  # type: ignore[assignment]
        limiter.limit(settings.api_rate_limit, key_func=api_client_key)(api_bp)


def _limiter_pool(settings: Settings) -> redis.ConnectionPool:
    """A pool for the rate limits that does no I/O now (the embedded server may not be up
    yet; our own client starts it on first use)."""
    opts: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if settings.redis_url:
        return redis.ConnectionPool.from_url(settings.redis_url, **opts)
    return redis.ConnectionPool(
        connection_class=redis.UnixDomainSocketConnection,
        path=str(settings.redis_socket),
        **opts,
    )


def api_client_key() -> str:
    """Rate-limit the API per token (several clients may share a proxy's address)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "addr:" + (get_remote_address() or "-")


def limiter() -> Limiter:
    value: Limiter = current_app.extensions[LIMITER]
    return value


def protect_blueprint(bp: Blueprint) -> None:
    """CSRF on every unsafe request and security headers on every response of `bp`."""

    @bp.before_request
    def _csrf() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            current_app.extensions[CSRF].protect()

    @bp.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response)


def security_headers(response: Response) -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        h.setdefault("Cache-Control", "no-store")  # personal data: not in shared caches
    if settings.https:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


# --- the per-address lockout (the per-user one is in the users table) -------------------


def address_locked(settings: Settings, ip: str) -> bool:
    try:
        count = redis_client(settings).get(IP_FAILS_KEY.format(ip=ip))
    except redis.RedisError as exc:
        # The per-user lockout (in SQL) and the rate limit still hold.
        log.warning("login lockout by address unavailable: %s", exc)
        return False
    return count is not None and int(count) >= settings.login_ip_max_failures


def count_address_failure(settings: Settings, ip: str) -> bool:
    """Count a failed login from `ip`; True when this failure locks the address."""
    key = IP_FAILS_KEY.format(ip=ip)
    try:
        pipe = redis_client(settings).pipeline()
        # The window starts at the first failure (SET NX EX: EXPIRE NX needs Redis 7).
        pipe.set(key, 0, ex=settings.login_lockout_s, nx=True)
        pipe.incr(key)
        count = int(pipe.execute()[1])
    except redis.RedisError as exc:
        log.warning("could not count a failed login by address: %s", exc)
        return False
    return count == settings.login_ip_max_failures
