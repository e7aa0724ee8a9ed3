"""Callbacks in the domain: calling hours from the callee's number and the business calendar,
window validation, attempts with backoff, a maximum and no retry for a wrong number."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from workorders.calendar import BusinessCalendar
from workorders.callbacks import (
    AttemptOutcome,
    CallbackError,
    CallbackStatus,
    RequestedVia,
    begin_attempt,
    due_callbacks,
    finish_attempt,
    schedule_callback,
    stuck_attempts,
)
from workorders.calling_hours import CallingHours, CallWindow, callee_zone
from workorders.queueing import (
    QueueOutcome,
    enter_queue,
    estimated_wait,
    leave_queue,
    mark_answered,
)

SH = ZoneInfo("Asia/Shanghai")
HOURS = CallingHours(time(9, 0), time(20, 0))
SERVICE = CallingHours(time(9, 0), time(18, 0))
# Monday 12 October 2026, a working day after the National Day holiday.
MONDAY_10 = datetime(2026, 10, 12, 10, 0, tzinfo=SH)


@pytest.mark.parametrize(
    ("phone", "zone"),
    [
        ("+8613912345487", "Asia/Shanghai"),
        ("+821012345678", "Asia/Seoul"),
        ("+14155550100", "America/Los_Angeles"),
        ("+999", "Asia/Shanghai"),  # no zone known: the court's own
    ],
)
def test_the_callee_zone_comes_from_the_number(phone: str, zone: str) -> None:
    assert callee_zone(phone, "Asia/Shanghai") == zone


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (datetime(2026, 10, 12, 10, 0, tzinfo=SH), True),  # Monday morning
        (datetime(2026, 10, 12, 8, 55, tzinfo=SH), False),  # before 9
        (datetime(2026, 10, 12, 19, 0, tzinfo=SH), False),  # callee fine, agents gone (18:00)
        (datetime(2026, 10, 3, 10, 0, tzinfo=SH), False),  # National Day holiday
        (datetime(2026, 10, 10, 10, 0, tzinfo=SH), True),  # make-up working Saturday
        (datetime(2026, 10, 11, 10, 0, tzinfo=SH), False),  # Sunday
    ],
)
def test_call_window_allows(calendar: BusinessCalendar, moment: datetime, allowed: bool) -> None:
    window = CallWindow(SH, HOURS, calendar, SERVICE)
    assert window.allows(moment) is allowed


def test_next_allowed_skips_the_night_and_the_holiday(calendar: BusinessCalendar) -> None:
    window = CallWindow(SH, HOURS, calendar, SERVICE)
    # Wednesday 30 September 19:00 → the holiday runs 1–7 October → Thursday 8 October 09:00
    late = datetime(2026, 9, 30, 19, 0, tzinfo=SH)
    assert window.next_allowed(late) == datetime(2026, 10, 8, 9, 0, tzinfo=SH)
    seoul = CallWindow(ZoneInfo("Asia/Seoul"), HOURS, calendar, None)
    # 08:30 in Shanghai is 09:30 in Seoul: a Seoul number may be rung already
    assert seoul.allows(datetime(2026, 10, 12, 8, 30, tzinfo=SH))


def _schedule(session: Session, calendar: BusinessCalendar, **kw: object) -> object:
    args: dict[str, object] = {
        "phone": "+8613900000001",
        "requested_via": RequestedVia.STAFF,
        "actor": "api:staff",
        "now": MONDAY_10,
        "hours": HOURS,
        "calendar": calendar,
        "service": SERVICE,
    }
    args.update(kw)
    return schedule_callback(session, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window", "code"),
    [
        ((MONDAY_10 - timedelta(hours=2), MONDAY_10 - timedelta(hours=1)), "in_past"),
        ((MONDAY_10.replace(hour=22), MONDAY_10.replace(hour=23)), "outside_allowed_hours"),
        ((MONDAY_10 + timedelta(hours=2), MONDAY_10 + timedelta(hours=1)), "bad_window"),
        ((datetime(2026, 10, 12, 10, 0), None), "bad_window"),  # no offset
    ],
)
def test_bad_windows_are_refused_with_a_code(
    session: Session,
    calendar: BusinessCalendar,
    window: tuple[datetime, datetime | None],
    code: str,
) -> None:
    with pytest.raises(CallbackError) as failed:
        _schedule(session, calendar, window_start=window[0], window_end=window[1])
    assert failed.value.code == code
    if code == "outside_allowed_hours":
        assert "next allowed time is 2026-10-13T09:00:00+08:00" in str(failed.value)


def test_a_bad_number_is_refused(session: Session, calendar: BusinessCalendar) -> None:
    with pytest.raises(CallbackError) as failed:
        _schedule(session, calendar, phone="anonymous")
    assert failed.value.code == "bad_number"


def test_retries_back_off_then_give_up(session: Session, calendar: BusinessCalendar) -> None:
    cb = _schedule(session, calendar, max_attempts=3)
    assert cb.status == CallbackStatus.SCHEDULED and cb.due_at == MONDAY_10  # type: ignore[attr-defined]
    now = MONDAY_10
    outcomes = [AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY, AttemptOutcome.NO_ANSWER]
    dues = []
    for outcome in outcomes:
        attempt = begin_attempt(session, cb, now=now)  # type: ignore[arg-type]
        assert finish_attempt(
            session, attempt, outcome=outcome, now=now, hours=HOURS, calendar=calendar,
            service=SERVICE, backoff_s=(120, 600),
        )  # fmt: skip
        assert not finish_attempt(  # a replayed report changes nothing
            session, attempt, outcome=AttemptOutcome.ANSWERED, now=now, hours=HOURS,
            calendar=calendar,
        )  # fmt: skip
        dues.append(cb.due_at)  # type: ignore[attr-defined]
        now = cb.due_at  # type: ignore[attr-defined]
    assert dues[0] == MONDAY_10 + timedelta(minutes=2)
    assert dues[1] == dues[0] + timedelta(minutes=10)
    assert cb.status == CallbackStatus.FAILED and cb.attempts_made == 3  # type: ignore[attr-defined]
    assert [a.outcome for a in cb.attempts] == ["no-answer", "busy", "no-answer"]  # type: ignore[attr-defined]


def test_a_retry_falling_in_quiet_hours_waits_for_the_morning(
    session: Session, calendar: BusinessCalendar
) -> None:
    evening = MONDAY_10.replace(hour=17, minute=50)
    cb = _schedule(session, calendar, now=evening, window_start=evening)
    attempt = begin_attempt(session, cb, now=evening)  # type: ignore[arg-type]
    finish_attempt(
        session, attempt, outcome=AttemptOutcome.NO_ANSWER, now=evening, hours=HOURS,
        calendar=calendar, service=SERVICE, backoff_s=(1800,),
    )  # fmt: skip
    assert cb.due_at == datetime(2026, 10, 13, 9, 0, tzinfo=SH)  # type: ignore[attr-defined]


def test_a_wrong_number_is_not_retried(session: Session, calendar: BusinessCalendar) -> None:
    cb = _schedule(session, calendar)
    attempt = begin_attempt(session, cb, now=MONDAY_10)  # type: ignore[arg-type]
    finish_attempt(
        session, attempt, outcome=AttemptOutcome.WRONG_NUMBER, now=MONDAY_10, hours=HOURS,
        calendar=calendar,
    )  # fmt: skip
    assert cb.status == CallbackStatus.FAILED  # type: ignore[attr-defined]


def test_queue_visits_count_position_and_wait(session: Session) -> None:
    sid = f"CA{MONDAY_10.timestamp():.0f}q"
    first = enter_queue(
        session, call_sid=sid + "1", call_id=None, queue="wo-test", from_e164=None, now=MONDAY_10
    )
    second = enter_queue(
        session, call_sid=sid + "2", call_id=None, queue="wo-test", from_e164=None, now=MONDAY_10
    )
    assert (first.position_at_entry, second.position_at_entry) == (1, 2)
    later = MONDAY_10 + timedelta(seconds=40)
    assert mark_answered(
        session, first, agent_login="a1", agent_call_sid=None, now=later, wait_s=40.0
    )
    assert first.outcome == QueueOutcome.ANSWERED and first.wait_s == 40.0
    assert leave_queue(session, second, outcome=QueueOutcome.ABANDONED, now=later, position=1)
    assert not leave_queue(session, second, outcome=QueueOutcome.ERROR, now=later)  # once
    assert second.outcome == QueueOutcome.ABANDONED and second.last_position == 1
    assert second.wait_s == 40.0
    estimate = estimated_wait(session, queue="wo-test", position=3, now=later)
    assert estimate.seconds == 40.0  # one recent answer: its wait


def test_tries_without_a_report_are_found_for_the_sweep(
    session: Session, calendar: BusinessCalendar
) -> None:
    cb = _schedule(session, calendar)
    attempt = begin_attempt(session, cb, now=MONDAY_10)  # type: ignore[arg-type]
    session.flush()
    later = MONDAY_10 + timedelta(minutes=11)
    assert attempt in stuck_attempts(session, started_before=later - timedelta(minutes=10))
    assert attempt not in stuck_attempts(session, started_before=MONDAY_10)
    assert cb not in due_callbacks(session, now=later)  # calling: not offered twice
    finish_attempt(
        session, attempt, outcome=AttemptOutcome.FAILED, now=later, hours=HOURS,
        calendar=calendar, detail="lost",
    )  # fmt: skip
    assert cb.status == CallbackStatus.SCHEDULED  # type: ignore[attr-defined]
    assert cb in due_callbacks(session, now=later + timedelta(hours=1))
