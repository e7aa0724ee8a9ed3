"""Signed HTTP requests to the app exactly as Twilio sends them, timed and logged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from hotline.sim.signing import SIGNATURE_HEADER, internal_url, public_url, sign

TWILIO_TIMEOUT_S = 15.0  # Twilio gives up on a webhook after 15 s in total (error 11205)
_CONNECT_TIMEOUT_S = 10.0  # and after 10 s trying to connect
_MAX_REDIRECTS = 5
_REDIRECT_CODES = {301, 302, 303, 307, 308}


class TransportError(Exception):
    """The request got no usable HTTP answer (refused, timed out, too many redirects)."""


@dataclass(frozen=True)
class Answer:
    """The app's answer to one request, after any redirects Twilio would follow."""

    status: int
    content_type: str
    body: bytes
    url: str  # public URL of the final request: relative TwiML URLs resolve against it
    path: str  # path and query as sent, for transcripts
    latency_ms: float


@dataclass(frozen=True)
class Sent:
    """One HTTP exchange, as logged in the call report."""

    kind: str
    method: str
    path: str
    status: int  # 0 when no HTTP answer came
    latency_ms: float


class TwilioHttp:
    """Plays Twilio's HTTP client: form POSTs (or GETs), signature header, timeouts, redirects.

    URLs handled here are public ones (what Twilio would request); each is sent to the app
    through `base_url` and signed over the exact public URL, path and query as on the wire.
    """

    def __init__(
        self,
        *,
        session: requests.Session,
        base_url: str,
        public_base_url: str | None,
        auth_token: str,
        timeout_s: float = TWILIO_TIMEOUT_S,
        on_sent: Callable[[Sent], None],
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.public_base_url = public_base_url
        self.auth_token = auth_token
        self.timeout_s = timeout_s
        self._on_sent = on_sent

    def public(self, path: str) -> str:
        """Public URL of an app path such as `/voice/incoming`."""
        return public_url(self.base_url + path, self.public_base_url)

    def send(
        self,
        kind: str,
        url: str,
        *,
        method: str = "POST",
        params: Mapping[str, str],
        dropped_on_redirect: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send Twilio's request for `url`; `dropped_on_redirect` params are not resent on 3xx."""
        sent_params = {**params, **(dropped_on_redirect or {})}
        for _ in range(_MAX_REDIRECTS + 1):
            answer, location = self._send_once(kind, url, method.upper(), sent_params)
            if location is None:
                return answer
            # Twilio follows redirects but drops Digits and the other input it carried.
            url = urljoin(answer.url, location)
            sent_params = dict(params)
        raise TransportError(f"{method} {urlsplit(url).path}: more than {_MAX_REDIRECTS} redirects")

    def _send_once(
        self, kind: str, url: str, method: str, params: Mapping[str, str]
    ) -> tuple[Answer, str | None]:
        target = internal_url(url, self.base_url, self.public_base_url)
        if method == "GET":
            request = requests.Request("GET", target, params=dict(params))
        else:
            request = requests.Request(method, target, data=dict(params))
        prepared = self.session.prepare_request(request)
        wire_url = prepared.url or target
        signed_url = public_url(wire_url, self.public_base_url)
        # GET carries everything in the URL, so its signature covers no separate params.
        signed_params = {} if method == "GET" else params
        prepared.headers[SIGNATURE_HEADER] = sign(self.auth_token, signed_url, signed_params)
        prepared.headers["User-Agent"] = "TwilioProxy/1.1"
        prepared.headers["I-Twilio-Idempotency-Token"] = str(uuid.uuid4())
        split = urlsplit(wire_url)
        path = split.path + (f"?{split.query}" if split.query else "")
        started = time.perf_counter()
        try:
            response = self.session.send(
                prepared,
                timeout=(min(_CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            self._log(kind, method, path, 0, started)
            raise TransportError(
                f"{method} {path}: no answer within {self.timeout_s:g} s (Twilio error 11205)"
            ) from exc
        except requests.RequestException as exc:
            self._log(kind, method, path, 0, started)
            raise TransportError(f"{method} {path}: connection failed (11205): {exc}") from exc
        latency_ms = self._log(kind, method, path, response.status_code, started)
        if latency_ms > self.timeout_s * 1000:
            raise TransportError(
                f"{method} {path}: answered after {latency_ms / 1000:.1f} s, over Twilio's "
                f"{self.timeout_s:g} s limit (error 11205)"
            )
        answer = Answer(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
            url=signed_url,
            path=path,
            latency_ms=latency_ms,
        )
        location = response.headers.get("Location")
        redirect = response.status_code in _REDIRECT_CODES and location
        return answer, (location if redirect else None)

    def _log(self, kind: str, method: str, path: str, status: int, started: float) -> float:
        latency_ms = (time.perf_counter() - started) * 1000
        self._on_sent(Sent(kind, method, path, status, latency_ms))
        return latency_ms
