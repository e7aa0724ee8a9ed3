"""Replaying the voice spool into the database once it is back (`hotline spool replay`).

Each record is applied in its own transaction and dedups on the key the webhook would have
stored, so replaying a file twice, or a request Twilio also retried after the outage, changes
nothing the second time. A message left in the emergency flow becomes a work order (one per
call: its external reference is the CallSid), so a person calls the citizen back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import enqueue_call_outcome
from hotline.orders.jobs import enqueue_routing
from hotline.orders.runtime import load_runtime
from hotline.speech.queueing import enqueue_transcription
from hotline.spool import Spool
from hotline.voice import params as voice_params
from workorders.call_log import apply_status, find_event, record_event, upsert_call
from workorders.calls import Call, EventKind
from workorders.orders import Channel
from workorders.services import Intake, WorkOrderError, register_work_order

log = logging.getLogger(__name__)

_KINDS = {
    "incoming": EventKind.INCOMING,
    "step": EventKind.STEP,
    "status": EventKind.STATUS,
    "recording": EventKind.RECORDING,
    "message": EventKind.RECORDING,
}
SUMMARY = {"zh-CN": "系统维护期间来电留言", "en-US": "Message left while the system was down"}


@dataclass
class ReplayReport:
    files: int = 0
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    orders: list[int] = field(default_factory=list)
    ended_calls: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)


def replay_spool(settings: Settings, database: Database) -> ReplayReport:
    """Apply every spooled record; a database error stops the replay and keeps the file."""
    spool = Spool(settings.spool_folder)
    report = ReplayReport()
    if not spool.pending():
        return report
    calendar = load_runtime(settings).calendar
    for path in spool.claim():
        report.files += 1
        for record in spool.read(path):
            report.records += 1
            with database.session() as session:
                result = _apply(session, record.data, settings, calendar)
                session.commit()
            if result is None:
                report.skipped += 1
                continue
            applied, order_id, ended = result
            report.applied += int(applied)
            report.duplicates += int(not applied)
            if order_id is not None:
                report.orders.append(order_id)
                enqueue_routing(settings, order_id)  # lost with Redis down: the sweep routes it
            if ended is not None:
                report.ended_calls.append(ended)
                enqueue_call_outcome(settings, ended)
            if applied and _transcribe(settings, record.data):
                report.recordings.append(str(record.data["params"]["RecordingSid"]))
        Spool.done(path)
        log.info("spool %s replayed", path.name)
    return report


def _apply(
    session: Session, data: Mapping[str, Any], settings: Settings, calendar: Any
) -> tuple[bool, int | None, str | None] | None:
    """(applied, new work order id, call sid that just ended), or None for an unusable record."""
    kind = _KINDS.get(str(data.get("kind")))
    form = {str(k): str(v) for k, v in (data.get("params") or {}).items()}
    info = voice_params.call_info(form)
    key = data.get("key")
    if kind is None or info is None or not isinstance(key, str):
        log.error("spool record unusable, skipped: kind=%r key=%r", data.get("kind"), key)
        return None
    call, _ = upsert_call(session, info=info, region=settings.default_region)
    if find_event(session, dedup_key=key) is not None:
        return False, None, None
    received = _instant(data.get("received_at"))
    sequence = voice_params.to_int(form.get("SequenceNumber"))
    event = record_event(
        session,
        call=call,
        kind=kind,
        dedup_key=key,
        params=form,
        node=data.get("node"),
        sequence_number=sequence,
        call_status=info.status,
    )
    if received is not None:
        event.received_at = received
    # The caller was in the emergency flow: the outcome job must not call it "no request".
    call.flow_context = dict(call.flow_context or {}) | {"emergency": True}
    ended = None
    if kind is EventKind.STATUS and apply_status(
        session,
        call=call,
        status=info.status or "",
        sequence_number=sequence,
        at=voice_params.timestamp(form.get("Timestamp")) or received,
        duration_s=voice_params.to_int(form.get("CallDuration")),
    ):
        ended = call.call_sid
    order_id = None
    if data.get("kind") == "message" and form.get("RecordingUrl"):
        order_id = _open_order(session, call, form, settings, calendar, received)
    return True, order_id, ended


def _open_order(
    session: Session,
    call: Call,
    form: Mapping[str, str],
    settings: Settings,
    calendar: Any,
    received: datetime | None,
) -> int | None:
    call.flow_context = dict(call.flow_context or {}) | {"message_left": True, "made_request": True}
    language = call.language if call.language in SUMMARY else "zh-CN"
    intake = Intake(
        channel=Channel.PHONE,
        category="other",
        summary=SUMMARY[language],
        contact_phone=call.from_e164,
        call_id=call.id,
        recording_url=form["RecordingUrl"],
        external_ref=f"emergency:{call.call_sid}",
        region=settings.default_region,
        language=language,
    )
    try:
        order, created = register_work_order(
            session, intake=intake, actor="ivr", calendar=calendar, now=received
        )
    except WorkOrderError as exc:
        log.error("call %s: the spooled message could not open an order: %s", call.call_sid, exc)
        return None
    session.flush()
    return order.id if created else None


def _transcribe(settings: Settings, data: Mapping[str, Any]) -> bool:
    """A recording callback that reached only the spool: queue its transcription now."""
    form = data.get("params") or {}
    sid, url = str(form.get("RecordingSid", "")), str(form.get("RecordingUrl", ""))
    if data.get("kind") != "recording" or form.get("RecordingStatus", "completed") != "completed":
        return False
    if not (voice_params.sid_ok(sid) and url.startswith(("http://", "https://"))):
        return False
    return enqueue_transcription(
        settings,
        recording_sid=sid,
        call_sid=str(form.get("CallSid", "")),
        url=url,
        duration_s=voice_params.to_int(form.get("RecordingDuration")),
    )


def _instant(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
