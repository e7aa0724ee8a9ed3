"""Twilio's CamelCase request parameters, turned into plain values the rest of the app uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from ivr_flows import Digits, Event, Outcome, Recorded, Speech
from workorders.call_log import CallInfo

_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
_DIGITS = re.compile(r"^[0-9*#]{0,40}$")
_NODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
INVALID_DIGITS = "?"  # stands for keys that cannot be DTMF: the flow treats it as invalid input


def call_info(form: Mapping[str, str]) -> CallInfo | None:
    """The call a request is about, or None when it names no usable CallSid."""
    sid = form.get("CallSid", "")
    if not _SID.match(sid):
        return None
    return CallInfo(
        call_sid=sid,
        account_sid=form.get("AccountSid"),
        from_raw=form.get("From") or form.get("Caller"),
        to_raw=form.get("To") or form.get("Called"),
        direction=(form.get("Direction") or "inbound")[:20],
        status=form.get("CallStatus"),
    )


def sid_ok(raw: str | None) -> bool:
    return bool(raw) and bool(_SID.match(raw or ""))


def node_id(raw: str | None) -> str | None:
    return raw if raw and _NODE.match(raw) else None


def clean_digits(raw: str | None) -> str:
    return raw if raw is not None and _DIGITS.match(raw) else INVALID_DIGITS


def step_event(form: Mapping[str, str], *, is_record_node: bool) -> Event:
    """The flow event a `/voice/step` request carries (a Gather, Record or Enqueue result)."""
    if is_record_node:
        url = form.get("RecordingUrl", "")
        return Recorded(
            url=url,
            duration_s=to_int(form.get("RecordingDuration")) or 0,
            digits=form.get("Digits", ""),
        )
    if form.get("QueueResult"):  # the <Enqueue> action: how the caller left the queue
        return Outcome(name=form["QueueResult"][:32])
    if form.get("SpeechResult"):
        return Speech(text=form["SpeechResult"], confidence=to_float(form.get("Confidence")))
    if "Digits" in form:
        digits = clean_digits(form.get("Digits"))
        return Digits("" if digits == "hangup" else digits)
    return Digits("")  # a Redirect after a Gather that fell through: no input


def to_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def to_float(raw: str | None) -> float:
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        return 0.0


def timestamp(raw: str | None) -> datetime | None:
    """Twilio's status-callback `Timestamp` (RFC 2822), or None when absent or garbled."""
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
