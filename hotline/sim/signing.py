"""X-Twilio-Signature as Twilio computes it, and the public URL that signature covers."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def sign(auth_token: str, url: str, params: Mapping[str, str] | None) -> str:
    """Signature of a request to `url` (as Twilio requested it) with these POST params."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params or {})))


def public_url(requested_url: str, public_base_url: str | None) -> str:
    """The URL Twilio requested (and signed) when the app received `requested_url`.

    Behind a proxy the app is reached at an internal address while Twilio talks to the public
    one: the public base replaces scheme, host and port (and prefixes its own path, if any);
    the requested path and query are kept byte for byte, still percent-encoded, because that
    is what Twilio signs.
    """
    if not public_base_url:
        return requested_url
    requested = urlsplit(requested_url)
    tail = requested_url[len(f"{requested.scheme}://{requested.netloc}") :]
    return _origin_and_prefix(public_base_url) + tail


def internal_url(url: str, base_url: str, public_base_url: str | None) -> str:
    """Where to send a request Twilio would make to `url`: the inverse of `public_url`.

    URLs under the public base are reached through `base_url`'s scheme, host and port; any
    other URL is requested as it is (an app that emits its internal address in TwiML is
    then caught by the signature check, as it would be in production).
    """
    if not public_base_url:
        return url
    prefix = _origin_and_prefix(public_base_url)
    if not (url == prefix or url.startswith((prefix + "/", prefix + "?"))):
        return url
    base = urlsplit(base_url)
    return f"{base.scheme}://{base.netloc}{url[len(prefix) :]}"


def _origin_and_prefix(base_url: str) -> str:
    base = urlsplit(base_url)
    if not base.scheme or not base.netloc:
        raise ValueError(f"public base URL must be absolute (scheme://host), got {base_url!r}")
    return f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}"
