"""`X-Twilio-Signature` checking against the public URL Twilio actually requested."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + raw path + raw query.

    Behind a TLS proxy the app sees an internal URL, and Werkzeug's `request.url` decodes the
    query string; both break the HMAC, so the URL is rebuilt from the configured base and the
    query string exactly as it arrived.
    """
    settings = current_app.config["SETTINGS"]
    base = settings.public_base_url or request.host_url.rstrip("/")
    url = base + quote(request.script_root + request.path)
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def signature_valid() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    token = current_app.config["SETTINGS"].twilio_auth_token
    return bool(RequestValidator(token).validate(public_url(), request.form, signature))


def require_twilio_signature(view: Callable[..., Any]) -> Callable[..., Any]:
    """403 for anything not signed by Twilio with our auth token (never switched off)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not signature_valid():
            log.warning(
                "rejected unsigned or forged request to %s from %s (signature %s)",
                request.path,
                request.remote_addr,
                "missing" if "X-Twilio-Signature" not in request.headers else "invalid",
            )
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        return view(*args, **kwargs)

    return checked
