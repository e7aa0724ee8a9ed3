"""Call-log services: upsert calls on their id, record events once, apply statuses in order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workorders.base import utcnow
from workorders.calls import Call, CallEvent, CallOutcome, CallStatus, EventKind
from workorders.contacts import ensure_contact
from workorders.phones import normalize_number


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What every webhook says about its call, already out of Twilio's parameter names."""

    call_sid: str
    account_sid: str | None = None
    from_raw: str | None = None
    to_raw: str | None = None
    direction: str = "inbound"
    status: str | None = None


# session.info key: ids of the calls `upsert_call` inserted in the session's transaction. The
# insert bypasses the ORM, so listeners (the live KPI counters) learn of new calls here.
CREATED_CALLS = "workorders.created_calls"


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def upsert_call(session: Session, *, info: CallInfo, region: str = "CN") -> tuple[Call, bool]:
    """The call row for `info.call_sid`, created if new, locked for this transaction.

    Returns (call, created). Webhooks of one call may race (Twilio retries, status callbacks
    out of order), so creation is an insert that ignores conflicts and the row is then read
    `FOR UPDATE`, serialising the rest of the transaction per call.
    """
    locked = (
        select(Call)
        .where(Call.call_sid == info.call_sid)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    call = session.execute(locked).scalar_one_or_none()
    if call is not None:  # every webhook after the first: one statement
        return call, False
    from_e164 = normalize_number(info.from_raw, region)
    to_e164 = normalize_number(info.to_raw, region)
    contact_id = ensure_contact(session, phone_e164=from_e164).id if from_e164 else None
    now = utcnow()
    result = session.execute(
        _insert(session)(Call)
        .values(
            call_sid=info.call_sid,
            account_sid=info.account_sid,
            direction=info.direction or "inbound",
            from_raw=(info.from_raw or "")[:64],
            to_raw=(info.to_raw or "")[:64],
            from_e164=from_e164,
            to_e164=to_e164,
            contact_id=contact_id,
            status=CallStatus.RINGING,
            started_at=now,
            updated_at=now,
            flow_context={},
            step_seq=0,
            resolved_in_call=False,
        )
        .on_conflict_do_nothing(index_elements=["call_sid"])
    )
    created = bool(getattr(result, "rowcount", 0))
    call = session.execute(locked).scalar_one()
    if created:
        session.info.setdefault(CREATED_CALLS, set()).add(call.id)
    return call, created


def request_key(call_sid: str, path: str, params: Mapping[str, str]) -> str:
    """A fingerprint of one webhook request; Twilio's retries of it carry the same one."""
    body = json.dumps([call_sid, path, sorted(params.items())], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def find_event(session: Session, *, dedup_key: str) -> CallEvent | None:
    return session.execute(
        select(CallEvent).where(CallEvent.dedup_key == dedup_key)
    ).scalar_one_or_none()


def record_event(
    session: Session,
    *,
    call: Call,
    kind: EventKind,
    dedup_key: str,
    params: Mapping[str, str],
    node: str | None = None,
    sequence_number: int | None = None,
    call_status: str | None = None,
) -> CallEvent:
    event = CallEvent(
        call=call,
        kind=kind,
        dedup_key=dedup_key,
        node=node,
        sequence_number=sequence_number,
        call_status=call_status,
        params=dict(params),
    )
    session.add(event)
    return event


def apply_status(
    session: Session,
    *,
    call: Call,
    status: str,
    sequence_number: int | None,
    at: datetime | None = None,
    duration_s: int | None = None,
) -> bool:
    """Move the call's status forward; an older or lower-ranked callback fills gaps only.

    Returns True when the call just reached a final status (the caller enqueues the
    call-completed job after committing).
    """
    try:
        new = CallStatus(status)
    except ValueError:
        return False
    at = at or utcnow()
    if new is CallStatus.IN_PROGRESS and call.answered_at is None:
        call.answered_at = at
    if duration_s is not None:
        call.duration_s = duration_s
    if sequence_number is not None:
        call.status_sequence = max(sequence_number, call.status_sequence or 0)
    # Statuses only move forward by rank, so a late "ringing" after "completed" changes nothing
    # whatever order the callbacks arrived in.
    current = CallStatus(call.status) if call.status in _STATUSES else CallStatus.RINGING
    if current.is_final or new.rank <= current.rank:
        return False
    call.status = new
    if new.is_final:
        call.ended_at = call.ended_at or at
        return True
    return False


_STATUSES = frozenset(s.value for s in CallStatus)


def final_outcome(call: Call) -> CallOutcome:
    """How the call ended for the hotline, from the call row and the flags its flow set."""
    if call.status in _FAILED:
        return CallOutcome.FAILED
    flags = call.flow_context or {}
    if call.resolved_in_call:
        return CallOutcome.RESOLVED_IN_IVR
    if flags.get("transferred"):
        return CallOutcome.TRANSFERRED
    if flags.get("message_left"):
        return CallOutcome.MESSAGE_LEFT
    if call.current_node is None and call.step_seq > 0:
        return CallOutcome.COMPLETED
    if not flags.get("made_request"):
        return CallOutcome.NO_REQUEST
    return CallOutcome.ABANDONED


_FAILED = frozenset({CallStatus.BUSY, CallStatus.FAILED, CallStatus.NO_ANSWER, CallStatus.CANCELED})


def calls_without_outcome(session: Session, *, ended_before: datetime) -> list[str]:
    """Finished calls whose outcome job never ran (lost with Redis): the sweep re-queues them."""
    return list(
        session.execute(
            select(Call.call_sid)
            .where(Call.outcome.is_(None), Call.ended_at.is_not(None), Call.ended_at < ended_before)
            .limit(1000)
        ).scalars()
    )
