"""Twilio's asynchronous callbacks: call progress events and recording status."""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from hotline.sim.report import CallReport
from hotline.sim.transport import TransportError, TwilioHttp
from hotline.sim.validate import validate_twiml

STATUS_ORDERS = ("in-order", "reversed", "shuffled")
# CallStatus values of the progress events, in the order they happen; "answered" is the event
# name Twilio uses for in-progress.
_STATUS_SEQUENCE = ("ringing", "in-progress", "completed")
_EVENT_ALIASES = {"answered": "in-progress"}


def status_sequence(events: Sequence[str]) -> list[str]:
    """CallStatus values to report, in the order they happen; raises ValueError if unknown."""
    statuses = {_EVENT_ALIASES.get(e, e) for e in events}
    unknown = statuses - set(_STATUS_SEQUENCE)
    if unknown:
        raise ValueError(f"unknown status events {sorted(unknown)}: use {_STATUS_SEQUENCE}")
    return [s for s in _STATUS_SEQUENCE if s in statuses]


def check_order(order: str) -> str:
    if order not in STATUS_ORDERS:
        raise ValueError(f"status order must be one of {STATUS_ORDERS}, got {order!r}")
    return order


def rfc2822(timestamp: float) -> str:
    """Twilio's Timestamp format, e.g. 'Tue, 28 Nov 2023 03:51:00 +0000'."""
    return email.utils.format_datetime(datetime.fromtimestamp(timestamp, UTC))


def send_status_callbacks(
    http: TwilioHttp,
    report: CallReport,
    *,
    base_params: Mapping[str, str],
    events: Sequence[str],
    order: str,
    started_at: float,
) -> None:
    """POST {base}/voice/status once per event, numbered in event order, sent in `order`.

    SequenceNumber follows the order events happened; delivery order is what varies, because
    Twilio's callbacks are separate requests that may arrive out of order.
    """
    statuses = status_sequence(events)
    numbered = list(enumerate(statuses))
    if check_order(order) == "reversed":
        numbered.reverse()
    elif order == "shuffled":
        random.Random(report.call_sid).shuffle(numbered)  # reproducible per call
    for sequence, status in numbered:
        params = {
            **base_params,
            "CallStatus": status,
            "SequenceNumber": str(sequence),
            "CallbackSource": "call-progress-events",
            "Timestamp": rfc2822(started_at + (report.duration_s if status == "completed" else 0)),
        }
        if status == "completed":
            params["CallDuration"] = str(report.duration_s)
            params["Duration"] = str(math.ceil(report.duration_s / 60))
        report.line(f"  status callback: {status} (SequenceNumber {sequence})")
        post_callback(http, report, "status", http.public("/voice/status"), "POST", params)


def post_callback(
    http: TwilioHttp,
    report: CallReport,
    kind: str,
    url: str,
    method: str,
    params: Mapping[str, str],
) -> None:
    """Send one callback; the app must answer 204, or 200 with an empty body or valid TwiML."""
    try:
        answer = http.send(kind, url, method=method, params=params)
    except TransportError as exc:
        report.error(f"{kind} callback: {exc}")
        return
    where = f"{kind} callback {method} {answer.path}"
    if answer.status == 204:
        return
    if answer.status != 200:
        report.error(f"{where} answered HTTP {answer.status}, not 200 or 204")
        return
    if answer.body.strip():
        problems = validate_twiml(answer.body)
        if problems:
            report.error(f"{where} answered a body that is not TwiML: " + "; ".join(problems))


def recording_status_params(
    *,
    account_sid: str,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    duration_s: int,
    started_at: float,
) -> dict[str, str]:
    """What Twilio sends to recordingStatusCallback once a <Record> file is stored."""
    return {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": recording_url,
        "RecordingStatus": "completed",
        "RecordingDuration": str(duration_s),
        "RecordingChannels": "1",
        "RecordingStartTime": rfc2822(started_at),
        "RecordingSource": "RecordVerb",
        "RecordingTrack": "inbound",
        "ErrorCode": "0",
    }
