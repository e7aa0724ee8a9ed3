"""One simulated inbound call: Twilio's side of the conversation, request by request."""

from __future__ import annotations

import functools
import json
import secrets
import time
from base64 import b64encode
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

import requests
from lxml import etree

from hotline.sim.callbacks import check_order, send_status_callbacks, status_sequence
from hotline.sim.keys import SAY_TOKEN, KeyScript, parse_keys
from hotline.sim.media import MediaStream, telephone_ulaw
from hotline.sim.recordings import quiet_tone_wav, wav_duration_s
from hotline.sim.report import CallReport
from hotline.sim.switchboard import Switchboard

if TYPE_CHECKING:  # rest imports outbound, which imports this module
    from hotline.sim.rest import RestSim
from hotline.sim.transport import TWILIO_TIMEOUT_S, Sent, TransportError, TwilioHttp
from hotline.sim.validate import parse_twiml, validate_twiml
from hotline.sim.verbs import CallEnded, Document, VerbPlayer, new_sid

__all__ = ["DEFAULT_STATUS_EVENTS", "DEFAULT_TO", "CallReport", "LiveCall", "simulate_call"]

DEFAULT_TO = "+862012368"
DEFAULT_STATUS_EVENTS = ("ringing", "in-progress", "completed")
_TWIML_TYPES = {"text/xml", "application/xml"}
# How a <Dial> went for the dialling call: (DialCallStatus, talk seconds, child CallSid).
Dialer = Callable[["LiveCall", etree._Element, Document], tuple[str, int, str]]
_COUNTRY_CODES = {"+1": "US", "+44": "GB", "+82": "KR", "+86": "CN", "+852": "HK", "+853": "MO"}


def simulate_call(
    base_url: str,
    *,
    auth_token: str,
    account_sid: str,
    from_number: str,
    to_number: str = DEFAULT_TO,
    keys: str = "",
    public_base_url: str | None = None,
    recording: bytes | None = None,
    status_events: Sequence[str] = DEFAULT_STATUS_EVENTS,
    status_order: str = "in-order",
    max_requests: int = 80,
    timeout_s: float = TWILIO_TIMEOUT_S,
    out: Callable[[str], None] | None = None,
    session: requests.Session | None = None,
    call_sid: str | None = None,
    say: Sequence[bytes] = (),
    rest: RestSim | None = None,
    media_speed: float = 1.0,
    answer_wait_s: float = 5.0,
    drop_media_after: int | None = None,
    switchboard: Switchboard | None = None,
    queue_patience: int = 1,
) -> CallReport:
    """Place one inbound call against the app at `base_url` and play it to the end.

    `keys` is the caller's keypad script (see keys.KeyScript); `recording` is WAV audio the
    caller speaks into any <Record> (default: a 2 s quiet tone). `say` are WAV files the caller
    speaks at the Gathers the script marks `say` (without any mark: the first Gathers), over
    the media stream the app starts; the call then follows the app's REST update seen by
    `rest` (the REST stand-in the app points at), or the Gather times out after
    `answer_wait_s`. Protocol faults are collected in the report's `errors`; the call stops
    at the first one that Twilio could not get past.
    With a `switchboard` an `<Enqueue>` waits in queues shared with other calls (agents of
    the REST stand-in take callers from them); `queue_patience` is how many wait documents
    the caller listens to before hanging up.
    """
    status_sequence(status_events)  # fail fast on bad arguments, before dialling
    check_order(status_order)
    if recording is not None:
        wav_duration_s(recording)
    for wav in say:
        telephone_ulaw(wav)  # a bad file fails here, before dialling
    if say and SAY_TOKEN not in parse_keys(keys):
        keys = ",".join([SAY_TOKEN] * len(say) + parse_keys(keys))
    owned = session is None
    http_session = session or requests.Session()
    try:
        call = LiveCall(
            base_url=base_url,
            auth_token=auth_token,
            account_sid=account_sid,
            call_sid=call_sid or new_sid("CA"),
            from_number=from_number,
            to_number=to_number,
            keys=KeyScript(keys),
            public_base_url=public_base_url,
            recording=recording,
            max_requests=max_requests,
            timeout_s=timeout_s,
            out=out,
            session=http_session,
            switchboard=switchboard,
            queue_patience=queue_patience,
        )
        call.utterances = list(say)
        call.rest = rest
        call.media_speed = media_speed
        call.answer_wait_s = answer_wait_s
        call.drop_media_after = drop_media_after
        call.run()
        send_status_callbacks(
            call.http,
            call.report,
            base_params=call.base_params,
            events=status_events,
            order=status_order,
            started_at=call.started_at,
        )
        return call.report
    finally:
        if owned:
            http_session.close()


class LiveCall:
    """State of a call in progress: who is calling, the clock, and the request budget."""

    def __init__(
        self,
        *,
        base_url: str,
        auth_token: str,
        account_sid: str,
        call_sid: str,
        from_number: str,
        to_number: str,
        keys: KeyScript,
        public_base_url: str | None,
        recording: bytes | None,
        max_requests: int,
        timeout_s: float,
        out: Callable[[str], None] | None,
        session: requests.Session,
        switchboard: Switchboard | None = None,
        queue_patience: int = 1,
        direction: str = "inbound",
        dialer: Dialer | None = None,
    ) -> None:
        self.report = CallReport(call_sid=call_sid, out=out)
        self.http = TwilioHttp(
            session=session,
            base_url=base_url,
            public_base_url=public_base_url,
            auth_token=auth_token,
            timeout_s=timeout_s,
            on_sent=self._sent,
        )
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.keys = keys
        self.recording = recording
        self.max_requests = max_requests
        self.base_params = call_params(call_sid, account_sid, from_number, to_number)
        self.base_params["Direction"] = direction
        self.switchboard = switchboard
        self.queue_patience = max(1, queue_patience)
        self.queue_poll_s = 0.2  # real seconds between wait documents in a shared queue
        self.dialer = dialer
        self.voice_requests = 0
        self.sim_s = 0.0  # time the caller spent listening/keying/waiting, never slept
        self.started_at = time.time()
        self._wall_start = time.perf_counter()
        self.utterances: list[bytes] = []
        self.rest: RestSim | None = None
        self.media: MediaStream | None = None
        self.media_speed = 1.0
        self.answer_wait_s = 5.0
        self.drop_media_after: int | None = None
        self.spoken = 0
        self.report.line(f"call {call_sid} from {from_number} to {to_number}")

    def run(self, start_url: str | None = None) -> None:
        """Play the call from Twilio's first request: /voice/incoming, or the `Url` an
        outbound call was created with."""
        player = VerbPlayer(self)
        try:
            doc = self.fetch("incoming", start_url or self.http.public("/voice/incoming"))
            while True:
                doc = player.play(doc)
        except CallEnded as end:
            self.report.ended_by = end.ended_by
        finally:
            if self.media is not None:
                self.media.stop()
                self.media = None
        wall_s = time.perf_counter() - self._wall_start
        self.report.duration_s = round(self.sim_s + wall_s)
        self.report.line(f"  call ended: {self.report.ended_by}")

    def default_recording(self) -> bytes:
        return self.recording if self.recording is not None else _default_wav()

    def fetch(
        self,
        kind: str,
        url: str,
        *,
        method: str = "POST",
        params: dict[str, str] | None = None,
        dropped_on_redirect: dict[str, str] | None = None,
    ) -> Document:
        """A voice request: its answer must be 200 with valid TwiML, or the call fails."""
        if self.voice_requests >= self.max_requests:
            self.report.error(
                f"the flow did not end after {self.max_requests} voice requests "
                "(a loop that never hangs up?)"
            )
            raise CallEnded("max-requests")
        status = "ringing" if self.voice_requests == 0 else "in-progress"
        self.voice_requests += 1
        try:
            answer = self.http.send(
                kind,
                url,
                method=method,
                params={**self.base_params, "CallStatus": status, **(params or {})},
                dropped_on_redirect=dropped_on_redirect,
            )
        except TransportError as exc:
            self.fail(str(exc))
        where = f"{method.upper()} {answer.path}"
        if answer.status != 200:
            self.fail(f"{where} answered HTTP {answer.status}, not 200 (Twilio error 11200)")
        media_type = answer.content_type.split(";", 1)[0].strip().lower()
        if media_type not in _TWIML_TYPES:
            self.fail(
                f"{where} answered Content-Type {answer.content_type or '(none)'!r}, "
                "not text/xml or application/xml (Twilio error 12300)"
            )
        problems = validate_twiml(answer.body)
        if problems:
            self.fail(f"{where} answered invalid TwiML: " + "; ".join(problems))
        return Document(answer.url, parse_twiml(answer.body))

    def fail(self, message: str) -> NoReturn:
        self.report.error(message)
        raise CallEnded("error")

    def _sent(self, sent: Sent) -> None:
        self.report.requests.append((sent.kind, sent.path, sent.status, sent.latency_ms))
        status = sent.status or "---"
        self.report.line(f"  -> {sent.method} {sent.path}  {status}  {sent.latency_ms:.1f} ms")


def call_params(
    call_sid: str, account_sid: str, from_number: str, to_number: str
) -> dict[str, str]:
    """The parameters Twilio puts on every request about an inbound call (minus CallStatus).

    Geo fields are mostly empty, as Twilio sends them for mobiles, and CallToken is an opaque
    percent-encoded JSON blob: both are there to prove the app tolerates what it does not use.
    """
    from_country, to_country = _country(from_number), _country(to_number)
    params = {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": from_number,
        "To": to_number,
        "Caller": from_number,
        "Called": to_number,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    sides = (
        ("From", from_country),
        ("Caller", from_country),
        ("To", to_country),
        ("Called", to_country),
    )
    for side, country in sides:
        params |= {
            f"{side}Country": country,
            f"{side}State": "",
            f"{side}City": "",
            f"{side}Zip": "",
        }
    blob = {"parentCallInfoToken": b64encode(secrets.token_bytes(48)).decode()}
    params["CallToken"] = quote(json.dumps(blob | {"identityHeaderTokens": []}), safe="")
    return params


def _country(number: str) -> str:
    for length in (4, 3, 2):
        if number[:length] in _COUNTRY_CODES:
            return _COUNTRY_CODES[number[:length]]
    return ""


@functools.cache
def _default_wav() -> bytes:
    return quiet_tone_wav(2.0)
