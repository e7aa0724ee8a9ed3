"""The one place the application builds a Twilio REST client (texts, outbound calls)."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.config import Settings

# twilio's default HTTP client has no timeout at all: a hung API would hang a worker.
REST_TIMEOUT_S = 10

__all__ = ["REST_TIMEOUT_S", "CallNotPlaced", "TwilioRestException", "place_call", "rest_client"]


def rest_client(settings: Settings, *, timeout_s: float = REST_TIMEOUT_S) -> Client:
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=timeout_s),
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client


# Twilio's error codes for a 'To' it cannot call at all: invalid, not a mobile, not allowed.
WRONG_NUMBER_CODES = frozenset({13223, 13224, 21211, 21214, 21215, 21216, 21217, 21612})


class CallNotPlaced(RuntimeError):
    """calls.create failed. `wrong_number`: Twilio refused the number (do not retry);
    otherwise it was a temporary failure (timeout, 5xx, connection) worth retrying."""

    def __init__(self, message: str, *, wrong_number: bool = False) -> None:
        super().__init__(message)
        self.wrong_number = wrong_number


def place_call(
    settings: Settings,
    *,
    to: str,
    url: str,
    status_callback: str,
    ring_s: int,
    from_number: str | None = None,
) -> str:
    """Place an outbound call whose TwiML is at `url`; the new CallSid, or CallNotPlaced."""
    import requests

    try:
        call = rest_client(settings).calls.create(
            to=to,
            from_=from_number or settings.twilio_from_number or "+10000000000",
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=ring_s,
        )
    except TwilioRestException as exc:
        refused = exc.code in WRONG_NUMBER_CODES or (exc.status == 400 and exc.code == 21211)
        raise CallNotPlaced(f"{exc.status} {exc.code}: {exc.msg}", wrong_number=refused) from exc
    except requests.RequestException as exc:
        raise CallNotPlaced(f"{type(exc).__name__}: {exc}") from exc
    return str(call.sid)
