"""Callbacks: calls the hotline owes a citizen — a caller who left the queue keeping their place,
one staff or an agent promised, or the satisfaction follow-up (回访) after an order completes.

A `Callback` is the promise (window, reason, links, status); each try to reach the citizen is
a `CallbackAttempt` with its outcome. Scheduling validates the window against the callee's
local hours and the business calendar; a failed attempt is retried with backoff until the
maximum, a wrong number is not retried. Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from workorders.base import Base, utcnow
from workorders.calendar import BusinessCalendar
from workorders.calling_hours import CallingHours, CallWindow, callee_zone
from workorders.phones import normalize_number
from workorders.services import WorkOrderError

# A window that started a moment ago is still "now" (clocks differ, forms take time to fill).
PAST_GRACE = timedelta(minutes=2)
DEFAULT_WINDOW = timedelta(hours=4)
DEFAULT_BACKOFF_S = (120, 600, 1800)


class CallbackPurpose(StrEnum):
    CALLBACK = "callback"  # bridged to an agent
    SURVEY = "survey"  # the IVR's satisfaction follow-up; no agent


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"
    CALLING = "calling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    WRONG_NUMBER = "wrong-number"


class RequestedVia(StrEnum):
    IVR = "ivr"
    STAFF = "staff"
    AGENT = "agent"


class Bridge(StrEnum):
    AGENT_FIRST = "agent_first"  # ring the agent, then the citizen from the agent's call
    CUSTOMER_FIRST = "customer_first"  # ring the citizen, then connect the agent


class CallbackError(WorkOrderError):
    """Bad callback input (API 400 with `code`)."""


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12), default=CallbackPurpose.CALLBACK)
    status: Mapped[str] = mapped_column(String(12), default=CallbackStatus.SCHEDULED)
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    callee_tz: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    queue: Mapped[str | None] = mapped_column(String(40))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    due_at: Mapped[datetime]  # when the next attempt may be made
    reason: Mapped[str] = mapped_column(Text, default="")
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    requested_via: Mapped[str] = mapped_column(String(8))
    requested_by: Mapped[str] = mapped_column(String(80))
    # Keep-place: the caller's place in line is the moment they joined the queue; agents
    # take waiting callers and keep-place callbacks together in that order.
    keep_place: Mapped[bool] = mapped_column(default=False)
    place_at: Mapped[datetime]
    position: Mapped[int | None]  # their position when they left the queue
    bridge: Mapped[str] = mapped_column(String(16), default=Bridge.AGENT_FIRST)
    agent_login: Mapped[str | None] = mapped_column(String(80))  # the agent of the last try
    attempts_made: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    attempts: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="callback", order_by="CallbackAttempt.number", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_callbacks_status_due_at", "status", "due_at"),)

    @property
    def open(self) -> bool:
        return self.status in (CallbackStatus.SCHEDULED, CallbackStatus.CALLING)


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id", ondelete="CASCADE"))
    number: Mapped[int]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    twilio_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)  # citizen leg
    agent_login: Mapped[str | None] = mapped_column(String(80))
    agent_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    duration_s: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(String(300))

    callback: Mapped[Callback] = relationship(back_populates="attempts")

    __table_args__ = (
        UniqueConstraint("callback_id", "number", name="uq_callback_attempts_callback_id"),
    )


def call_window(
    phone_e164: str,
    *,
    hours: CallingHours,
    calendar: BusinessCalendar,
    service: CallingHours | None,
) -> CallWindow:
    zone = ZoneInfo(callee_zone(phone_e164, calendar.tz.key))
    return CallWindow(zone, hours, calendar, service)


def schedule_callback(
    session: Session,
    *,
    phone: str,
    requested_via: RequestedVia | str,
    actor: str,
    now: datetime,
    hours: CallingHours,
    calendar: BusinessCalendar,
    service: CallingHours | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    reason: str = "",
    purpose: CallbackPurpose = CallbackPurpose.CALLBACK,
    queue: str | None = None,
    work_order_id: int | None = None,
    call_id: int | None = None,
    keep_place: bool = False,
    place_at: datetime | None = None,
    position: int | None = None,
    max_attempts: int = 3,
    bridge: Bridge | str = Bridge.AGENT_FIRST,
    language: str = "zh-CN",
    region: str = "CN",
    agent_login: str | None = None,
    flush: bool = True,
) -> Callback:
    """Promise a call; CallbackError when the number or the window cannot be used.

    The first attempt is due at the first allowed moment inside the window: a window in the
    past, or one with no allowed moment (night-time for the callee, a holiday), is refused
    with the next allowed moment named so staff can choose again. Without a window the
    callback is due as soon as allowed."""
    phone_e164 = normalize_number(phone, region)
    if phone_e164 is None:
        raise CallbackError("bad_number", f"{phone!r} is not a phone number we can call")
    if requested_via not in RequestedVia._value2member_map_:
        raise CallbackError(
            "bad_request", f"requested_via must be one of {', '.join(RequestedVia)}"
        )
    if bridge not in Bridge._value2member_map_:
        raise CallbackError("bad_request", f"bridge must be one of {', '.join(Bridge)}")
    if not 1 <= max_attempts <= 10:
        raise CallbackError("bad_request", "max_attempts must be between 1 and 10")
    window = call_window(phone_e164, hours=hours, calendar=calendar, service=service)
    # No start given: "as soon as allowed" — the first allowed moment from now.
    start = window_start or window.next_allowed(now) or now
    end = window_end or (start + DEFAULT_WINDOW)
    for label, value in (("window_start", start), ("window_end", end)):
        if value.tzinfo is None:
            raise CallbackError("bad_window", f"{label} needs a time zone offset")
    if end <= start:
        raise CallbackError("bad_window", "window_end must be after window_start")
    if start < now - PAST_GRACE or end <= now:
        raise CallbackError(
            "in_past", f"the window {start.isoformat()} – {end.isoformat()} is in the past"
        )
    first = window.next_allowed(max(start, now))
    if first is None or first >= end:
        later = window.next_allowed(max(end, now))
        hint = f"; the next allowed time is {later.isoformat()}" if later else ""
        raise CallbackError(
            "outside_allowed_hours",
            f"no time in {start.isoformat()} – {end.isoformat()} is within the allowed "
            f"calling hours ({window.describe()}){hint}",
        )
    callback = Callback(
        purpose=purpose,
        status=CallbackStatus.SCHEDULED,
        phone_e164=phone_e164,
        callee_tz=window.callee_tz.key,
        language=language,
        queue=queue,
        window_start=start,
        window_end=end,
        due_at=first,
        reason=reason.strip()[:2000],
        work_order_id=work_order_id,
        call_id=call_id,
        requested_via=requested_via,
        requested_by=actor[:80],
        keep_place=keep_place,
        place_at=place_at or start,
        position=position,
        max_attempts=max_attempts,
        bridge=bridge,
        agent_login=agent_login,
    )
    session.add(callback)
    if flush:  # False inside a flush hook, where the current flush writes it
        session.flush()
    return callback


def get_callback(session: Session, callback_id: int, *, lock: bool = False) -> Callback | None:
    query = select(Callback).where(Callback.id == callback_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def begin_attempt(
    session: Session, callback: Callback, *, now: datetime, agent_login: str | None = None
) -> CallbackAttempt:
    """The next try starts now; the callback is `calling` until its outcome is known."""
    if callback.status != CallbackStatus.SCHEDULED:
        raise CallbackError("not_scheduled", f"callback {callback.id} is {callback.status}")
    callback.attempts_made += 1
    callback.status = CallbackStatus.CALLING
    callback.agent_login = agent_login or callback.agent_login
    attempt = CallbackAttempt(
        callback=callback, number=callback.attempts_made, started_at=now, agent_login=agent_login
    )
    session.add(attempt)
    session.flush()
    return attempt


def current_attempt(session: Session, callback: Callback) -> CallbackAttempt | None:
    return session.execute(
        select(CallbackAttempt).where(
            CallbackAttempt.callback_id == callback.id,
            CallbackAttempt.number == callback.attempts_made,
        )
    ).scalar_one_or_none()


def finish_attempt(
    session: Session,
    attempt: CallbackAttempt,
    *,
    outcome: AttemptOutcome | str,
    now: datetime,
    hours: CallingHours,
    calendar: BusinessCalendar,
    service: CallingHours | None = None,
    backoff_s: Sequence[int] = DEFAULT_BACKOFF_S,
    detail: str | None = None,
    duration_s: int | None = None,
) -> bool:
    """Record how the try ended and decide what next: done, retry later, or give up.
    False (nothing changed) when the attempt's outcome was already recorded."""
    if attempt.outcome is not None:
        return False
    outcome = AttemptOutcome(outcome)
    attempt.outcome, attempt.ended_at = outcome, now
    attempt.detail = (detail or "")[:300] or None
    attempt.duration_s = duration_s
    callback = attempt.callback
    callback.last_outcome = outcome
    if callback.status != CallbackStatus.CALLING or attempt.number != callback.attempts_made:
        return True  # a late report of an older try: kept, changes nothing else
    if outcome is AttemptOutcome.ANSWERED:
        callback.status, callback.completed_at = CallbackStatus.COMPLETED, now
    elif outcome is AttemptOutcome.WRONG_NUMBER or callback.attempts_made >= callback.max_attempts:
        callback.status = CallbackStatus.FAILED
    else:
        delay = backoff_s[min(callback.attempts_made, len(backoff_s)) - 1] if backoff_s else 0
        window = call_window(callback.phone_e164, hours=hours, calendar=calendar, service=service)
        nxt = window.next_allowed(now + timedelta(seconds=delay))
        if nxt is None:
            callback.status = CallbackStatus.FAILED
        else:
            callback.status, callback.due_at = CallbackStatus.SCHEDULED, nxt
    return True


def release_attempt(callback: Callback, *, now: datetime) -> None:
    """The try could not start (no agent after all): give the attempt back, keep the place."""
    if callback.status == CallbackStatus.CALLING:
        callback.status = CallbackStatus.SCHEDULED
        callback.due_at = now


def cancel_callback(session: Session, callback: Callback, *, actor: str) -> Callback:
    if not callback.open:
        raise CallbackError("not_open", f"callback {callback.id} is already {callback.status}")
    callback.status = CallbackStatus.CANCELLED
    callback.last_outcome = f"cancelled by {actor}"[:16]
    return callback


def due_callbacks(
    session: Session, *, now: datetime, purpose: CallbackPurpose | None = None, limit: int = 500
) -> list[Callback]:
    """Scheduled callbacks whose next attempt is due, in line order (place, then id)."""
    query = select(Callback).where(
        Callback.status == CallbackStatus.SCHEDULED, Callback.due_at <= now
    )
    if purpose is not None:
        query = query.where(Callback.purpose == purpose)
    return list(
        session.execute(query.order_by(Callback.place_at, Callback.id).limit(limit)).scalars()
    )


def stuck_attempts(session: Session, *, started_before: datetime) -> list[CallbackAttempt]:
    """Tries still without an outcome long after they started: their call or job was lost."""
    return list(
        session.execute(
            select(CallbackAttempt)
            .join(Callback, Callback.id == CallbackAttempt.callback_id)
            .where(
                Callback.status == CallbackStatus.CALLING,
                CallbackAttempt.number == Callback.attempts_made,
                CallbackAttempt.outcome.is_(None),
                CallbackAttempt.started_at < started_before,
            )
        ).scalars()
    )


def attempt_by_call(session: Session, call_sid: str) -> CallbackAttempt | None:
    """The attempt a Twilio call belongs to (the citizen's leg or the agent's)."""
    return session.execute(
        select(CallbackAttempt)
        .where(
            (CallbackAttempt.twilio_call_sid == call_sid)
            | (CallbackAttempt.agent_call_sid == call_sid)
        )
        .limit(1)
    ).scalar_one_or_none()


def callbacks_for_phone(session: Session, phone_e164: str, limit: int = 20) -> list[Callback]:
    return list(
        session.execute(
            select(Callback)
            .where(Callback.phone_e164 == phone_e164)
            .order_by(Callback.created_at.desc())
            .limit(limit)
        ).scalars()
    )
