"""The satisfaction follow-up (回访): scheduling the survey call when an order completes, and
recording the citizen's 5-level answer — one `SurveyAnswer` row per answer, from any channel,
which the satisfaction KPI counts. The order's own move goes through `record_follow_up`
(closed; reopened as a redo when dissatisfied), and a dissatisfied answer leaves a note for
the supervisor in the order's event log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow
from workorders.calendar import BusinessCalendar
from workorders.callbacks import (
    Callback,
    CallbackPurpose,
    CallbackStatus,
    RequestedVia,
    schedule_callback,
)
from workorders.calling_hours import CallingHours
from workorders.lifecycle import Move, MoveRequest, Satisfaction, State
from workorders.orders import WorkOrder
from workorders.services import move_work_order, record_follow_up

SURVEY_OPEN_FOR = timedelta(days=5)


class SurveyAnswer(Base):
    """One answer to the satisfaction question. `channel`: ivr (the survey call) or staff
    (recorded by a person, e.g. through the API's follow_up move)."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    answer: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str] = mapped_column(String(80))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id", ondelete="SET NULL"))
    call_sid: Mapped[str | None] = mapped_column(String(64))
    comment_recording_url: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reopened: Mapped[bool] = mapped_column(default=False)

    # A survey call answers once: a replayed webhook must not count twice.
    __table_args__ = (UniqueConstraint("call_sid", name="uq_survey_answers_call_sid"),)


def survey_window(
    completed_at: datetime, calendar: BusinessCalendar, *, delay_days: int, hours: CallingHours
) -> tuple[datetime, datetime]:
    """The survey call's window: `delay_days` working days after completion, in `hours`."""
    local = completed_at.astimezone(calendar.tz).date()
    day = calendar.add_working_days(local, delay_days) if delay_days else local
    start = datetime.combine(day, hours.start, calendar.tz)
    end = datetime.combine(day, hours.end, calendar.tz)
    if delay_days == 0:
        start = max(start, completed_at)
        if start >= end:  # completed after hours: tomorrow's window
            day = calendar.next_working_day(day)
            start = datetime.combine(day, hours.start, calendar.tz)
            end = datetime.combine(day, hours.end, calendar.tz)
    return start, end


def schedule_follow_up(
    session: Session,
    order: WorkOrder,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    hours: CallingHours,
    window: CallingHours,
    delay_days: int = 1,
    max_attempts: int = 3,
    region: str = "CN",
    flush: bool = True,
) -> Callback | None:
    """The survey call for a completed order (None: no number to call, or one is open).
    `window`: the hours of the survey day to start in (court time); `hours`: the callee's."""
    if not order.contact_phone:
        return None
    already = session.execute(
        select(Callback.id).where(
            Callback.work_order_id == order.id,
            Callback.purpose == CallbackPurpose.SURVEY,
            Callback.status.in_((CallbackStatus.SCHEDULED, CallbackStatus.CALLING)),
        )
    ).first()
    if already is not None:
        return None
    start, _ = survey_window(now, calendar, delay_days=delay_days, hours=window)
    # The window says when to start; the callee's own hours (a number abroad) may push the
    # first try later, so the promise stays open for some days rather than being refused.
    return schedule_callback(
        session,
        phone=order.contact_phone,
        requested_via=RequestedVia.STAFF,
        actor="system",
        now=now,
        hours=hours,
        calendar=calendar,
        window_start=start,
        window_end=start + SURVEY_OPEN_FOR,
        reason=f"satisfaction follow-up of {order.number}",
        purpose=CallbackPurpose.SURVEY,
        work_order_id=order.id,
        max_attempts=max_attempts,
        language=order.language,
        region=region,
        flush=flush,
    )


def record_survey_answer(
    session: Session,
    *,
    order_id: int,
    answer: str,
    channel: str,
    actor: str,
    calendar: BusinessCalendar,
    now: datetime | None = None,
    callback_id: int | None = None,
    call_sid: str | None = None,
    note: str | None = None,
) -> SurveyAnswer:
    """Record the answer, close the order through the lifecycle's follow-up move (which
    reopens it as a redo when dissatisfied), and tell the supervisor about a redo."""
    now = now or utcnow()
    if call_sid:
        seen = session.execute(
            select(SurveyAnswer).where(SurveyAnswer.call_sid == call_sid)
        ).scalar_one_or_none()
        if seen is not None:
            return seen
    order = record_follow_up(
        session,
        order_id=order_id,
        satisfaction=answer,
        actor=actor,
        calendar=calendar,
        now=now,
        note=note,
    )
    reopened = order.state == State.IN_PROGRESS
    if reopened:
        session.flush()
        move_work_order(
            session,
            order_id=order_id,
            move=Move.NOTE,
            actor="system",
            calendar=calendar,
            now=now,
            request=MoveRequest(
                note=f"supervisor: follow-up answer {answer}, reopened as redo {order.redo_count}"
            ),
            data={"notify": "supervisor", "satisfaction": answer, "redo": order.redo_count},
        )
    # Answered (by this call, or to staff): no other survey call is owed for the order.
    for other in session.execute(
        select(Callback).where(
            Callback.work_order_id == order_id,
            Callback.purpose == CallbackPurpose.SURVEY,
            Callback.status == CallbackStatus.SCHEDULED,
            Callback.id != (callback_id or 0),
        )
    ).scalars():
        other.status, other.last_outcome = CallbackStatus.CANCELLED, "answered"
    row = SurveyAnswer(
        work_order_id=order_id,
        answer=answer,
        channel=channel,
        actor=actor[:80],
        callback_id=callback_id,
        call_sid=call_sid,
        answered_at=now,
        reopened=reopened,
    )
    session.add(row)
    session.flush()
    return row


def satisfaction_counts(
    session: Session, *, since: datetime, until: datetime | None = None
) -> dict[str, int]:
    """Answers per level in a window (the satisfaction KPI's raw counts)."""
    query = select(SurveyAnswer.answer).where(SurveyAnswer.answered_at >= since)
    if until is not None:
        query = query.where(SurveyAnswer.answered_at < until)
    counts = {level.value: 0 for level in Satisfaction}
    for (answer,) in session.execute(query):
        counts[answer] = counts.get(answer, 0) + 1
    return counts
