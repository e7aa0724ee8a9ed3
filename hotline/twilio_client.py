"""The one place the application builds a Twilio REST client (texts, outbound calls)."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.config import Settings

# twilio's default HTTP client has no timeout at all: a hung API would hang a worker.
REST_TIMEOUT_S = 10

__all__ = ["REST_TIMEOUT_S", "TwilioRestException", "rest_client"]


def rest_client(settings: Settings, *, timeout_s: float = REST_TIMEOUT_S) -> Client:
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=timeout_s),
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client
