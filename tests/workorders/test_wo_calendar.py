"""The business calendar: 2026 facts, time limits, timers and the loader's checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workorders.calendar import BusinessCalendar, CalendarError, Timers, load_calendar

CN = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return load_calendar()


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. at("2026-09-30 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_shipped_calendar_covers_2026_only(cal: BusinessCalendar) -> None:
    assert cal.years == frozenset({2026})
    assert cal.covers(2026)
    assert not cal.covers(2027)
    assert cal.tz == SHANGHAI
    assert (cal.open_time, cal.close_time) == (time(9, 0), time(18, 0))
    assert len(cal.holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7


@pytest.mark.parametrize(
    ("day", "working", "holiday"),
    [
        ("2026-01-01", False, "元旦"),
        ("2026-01-04", True, None),  # Sunday, make-up working day
        ("2026-01-05", True, None),
        ("2026-02-13", True, None),
        ("2026-02-14", True, None),  # Saturday, make-up working day
        ("2026-02-15", False, "春节"),
        ("2026-02-18", False, "春节"),  # a Wednesday inside the Spring Festival
        ("2026-02-23", False, "春节"),
        ("2026-02-24", True, None),
        ("2026-02-28", True, None),  # Saturday, make-up working day
        ("2026-03-01", False, None),  # an ordinary Sunday
        ("2026-03-07", False, None),  # an ordinary Saturday
        ("2026-05-05", False, "劳动节"),
        ("2026-05-09", True, None),
        ("2026-09-20", True, None),
        ("2026-09-25", False, "中秋节"),
        ("2026-09-30", True, None),
        ("2026-10-01", False, "国庆节"),
        ("2026-10-07", False, "国庆节"),
        ("2026-10-08", True, None),
        ("2026-10-10", True, None),  # Saturday, make-up working day
        ("2026-10-11", False, None),
        ("2027-01-01", True, None),  # no 2027 file: a Friday is simply a weekday
        ("2027-01-02", False, None),
    ],
)
def test_working_days_and_holidays_2026(
    cal: BusinessCalendar, day: str, working: bool, holiday: str | None
) -> None:
    d = date.fromisoformat(day)
    assert cal.is_working_day(d) is working
    assert cal.holiday_name(d) == holiday


@pytest.mark.parametrize(
    ("day", "following", "on_or_after"),
    [
        ("2026-09-30", "2026-10-08", "2026-09-30"),
        ("2026-10-01", "2026-10-08", "2026-10-08"),
        ("2026-10-09", "2026-10-10", "2026-10-09"),
        ("2026-10-10", "2026-10-12", "2026-10-10"),
        ("2026-02-13", "2026-02-14", "2026-02-13"),
        ("2026-02-14", "2026-02-24", "2026-02-14"),
        ("2026-12-31", "2027-01-01", "2026-12-31"),
    ],
)
def test_next_working_day(
    cal: BusinessCalendar, day: str, following: str, on_or_after: str
) -> None:
    d = date.fromisoformat(day)
    assert cal.next_working_day(d) == date.fromisoformat(following)
    assert cal.working_day_on_or_after(d) == date.fromisoformat(on_or_after)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2026-09-30", 0, "2026-09-30"),
        ("2026-10-03", 0, "2026-10-08"),
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-09-30", 5, "2026-10-13"),
        ("2026-10-03", 1, "2026-10-08"),  # from a holiday: the first working day after it
        ("2026-02-12", 2, "2026-02-14"),
        ("2026-02-12", 3, "2026-02-24"),
        ("2026-03-06", 1, "2026-03-09"),  # Friday to Monday
        ("2026-12-30", 3, "2027-01-04"),  # into an uncovered year: weekdays only
    ],
)
def test_add_working_days(cal: BusinessCalendar, day: str, n: int, expected: str) -> None:
    assert cal.add_working_days(date.fromisoformat(day), n) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        ("2026-09-30", "2026-09-30", 0),
        ("2026-09-30", "2026-10-07", 0),
        ("2026-09-30", "2026-10-13", 5),
        ("2026-10-13", "2026-09-30", -5),
        ("2026-02-13", "2026-02-28", 6),  # Sat 14, Tue 24 to Fri 27, Sat 28
    ],
)
def test_working_days_between(cal: BusinessCalendar, a: str, b: str, count: int) -> None:
    assert cal.working_days_between(date.fromisoformat(a), date.fromisoformat(b)) == count


def test_negative_working_days_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        cal.add_working_days(date(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="0 or more"):
        cal.deadline(at("2026-03-02 10:00"), -1)


@pytest.mark.parametrize(
    ("registered", "limit", "due"),
    [
        # Oct 1–7 National Day; Oct 8 Thu, 9 Fri, 10 Sat (make-up), 12 Mon, 13 Tue.
        (datetime(2026, 9, 30, 10, 0, tzinfo=CN), 5, "2026-10-13 18:00"),
        (datetime(2026, 9, 30, 10, 0, tzinfo=CN), 0, "2026-09-30 18:00"),
        (datetime(2026, 9, 30, 17, 59, tzinfo=CN), 0, "2026-09-30 18:00"),
        # At or after close it counts as registered at the next opening.
        (datetime(2026, 9, 30, 18, 0, tzinfo=CN), 0, "2026-10-08 18:00"),
        (datetime(2026, 9, 30, 19, 30, tzinfo=CN), 5, "2026-10-14 18:00"),
        # Before opening on a working day still counts as that day.
        (datetime(2026, 3, 2, 7, 0, tzinfo=CN), 0, "2026-03-02 18:00"),
        # Friday → across the weekend.
        (datetime(2026, 3, 6, 10, 0, tzinfo=CN), 2, "2026-03-10 18:00"),
        (datetime(2026, 3, 6, 10, 0, tzinfo=CN), 1, "2026-03-09 18:00"),
        # On a Sunday: counted from Monday.
        (datetime(2026, 3, 8, 11, 0, tzinfo=CN), 0, "2026-03-09 18:00"),
        (datetime(2026, 3, 8, 11, 0, tzinfo=CN), 3, "2026-03-12 18:00"),
        # 23:30 UTC on Tuesday is 07:30 on Wednesday in Shanghai.
        (datetime(2026, 3, 3, 23, 30, tzinfo=UTC), 0, "2026-03-04 18:00"),
        (datetime(2026, 3, 3, 23, 30, tzinfo=UTC), 2, "2026-03-06 18:00"),
        # 09:59 UTC is 17:59 in Shanghai (before close); 10:00 UTC is 18:00 (after close).
        (datetime(2026, 3, 3, 9, 59, tzinfo=UTC), 0, "2026-03-03 18:00"),
        (datetime(2026, 3, 3, 10, 0, tzinfo=UTC), 0, "2026-03-04 18:00"),
        # Spring Festival: Feb 13 Fri, 14 Sat (make-up), 15–23 off, 24 Tue.
        (datetime(2026, 2, 13, 10, 0, tzinfo=CN), 2, "2026-02-24 18:00"),
        (datetime(2026, 2, 14, 10, 0, tzinfo=CN), 0, "2026-02-14 18:00"),
        (datetime(2026, 2, 16, 10, 0, tzinfo=CN), 0, "2026-02-24 18:00"),
        # An uncovered year is Monday–Friday: Jan 1 2027 is a Friday.
        (datetime(2026, 12, 31, 10, 0, tzinfo=CN), 2, "2027-01-04 18:00"),
    ],
)
def test_deadline(cal: BusinessCalendar, registered: datetime, limit: int, due: str) -> None:
    deadline = cal.deadline(registered, limit)
    assert deadline == at(due)
    assert deadline.tzinfo == SHANGHAI


def test_naive_datetimes_are_refused(cal: BusinessCalendar) -> None:
    naive = datetime(2026, 3, 2, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.deadline(naive, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.extend(naive, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.timers(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.is_overdue(at("2026-03-02 18:00"), naive)


@pytest.mark.parametrize(
    ("old", "days", "new"),
    [
        ("2026-09-29 18:00", 2, "2026-10-08 18:00"),  # Sep 30, then over National Day
        ("2026-09-30 18:00", 3, "2026-10-10 18:00"),
        ("2026-02-13 18:00", 1, "2026-02-14 18:00"),
        ("2026-02-14 18:00", 1, "2026-02-24 18:00"),
        ("2026-03-06 18:00", 5, "2026-03-13 18:00"),
    ],
)
def test_extend(cal: BusinessCalendar, old: str, days: int, new: str) -> None:
    assert cal.extend(at(old), days) == at(new)


def test_extension_of_nothing_is_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cal.extend(at("2026-03-06 18:00"), 0)


@pytest.mark.parametrize(
    ("deadline", "remind", "escalate", "reminder_at", "overdue_at", "escalate_at"),
    [
        # Ordinary week: deadline Wed.
        ("2026-03-04 18:00", 1, 2, "2026-03-03 09:00", "2026-03-05 09:00", "2026-03-06 09:00"),
        ("2026-03-04 18:00", 0, 1, "2026-03-04 09:00", "2026-03-05 09:00", "2026-03-05 09:00"),
        # Deadline the day before National Day: overdue and escalation land after it.
        ("2026-09-30 18:00", 1, 2, "2026-09-29 09:00", "2026-10-08 09:00", "2026-10-09 09:00"),
        # Deadline right after National Day: the reminder falls before it.
        ("2026-10-08 18:00", 1, 3, "2026-09-30 09:00", "2026-10-09 09:00", "2026-10-12 09:00"),
        ("2026-10-08 18:00", 2, 2, "2026-09-29 09:00", "2026-10-09 09:00", "2026-10-10 09:00"),
        # Spring Festival with its make-up Saturday.
        ("2026-02-14 18:00", 1, 1, "2026-02-13 09:00", "2026-02-24 09:00", "2026-02-24 09:00"),
        ("2026-02-24 18:00", 1, 2, "2026-02-14 09:00", "2026-02-25 09:00", "2026-02-26 09:00"),
        # A deadline someone set on a Sunday: 0 days before is the Friday.
        ("2026-03-08 18:00", 0, 1, "2026-03-06 09:00", "2026-03-09 09:00", "2026-03-09 09:00"),
    ],
)
def test_timers(
    cal: BusinessCalendar,
    deadline: str,
    remind: int,
    escalate: int,
    reminder_at: str,
    overdue_at: str,
    escalate_at: str,
) -> None:
    timers = cal.timers(at(deadline), remind_before_days=remind, escalate_after_days=escalate)
    assert timers == Timers(at(deadline), at(reminder_at), at(overdue_at), at(escalate_at))
    assert timers.reminder_at.tzinfo == SHANGHAI


def test_timers_default_and_utc_input(cal: BusinessCalendar) -> None:
    timers = cal.timers(datetime(2026, 10, 13, 10, 0, tzinfo=UTC))  # 18:00 in Shanghai
    assert timers.deadline == at("2026-10-13 18:00")
    assert timers.deadline.tzinfo == SHANGHAI
    assert timers.reminder_at == at("2026-10-12 09:00")
    assert timers.overdue_at == at("2026-10-14 09:00")
    assert timers.escalate_at == at("2026-10-15 09:00")


@pytest.mark.parametrize(
    ("now", "overdue", "left"),
    [
        ("2026-09-30 10:00", False, 5),
        ("2026-10-03 10:00", False, 5),
        ("2026-10-08 08:00", False, 4),
        ("2026-10-12 20:00", False, 1),
        ("2026-10-13 09:00", False, 0),
        ("2026-10-13 18:00", False, 0),
        ("2026-10-13 18:01", True, -1),
        ("2026-10-14 10:00", True, -1),
        ("2026-10-16 10:00", True, -3),
        ("2026-10-18 10:00", True, -3),  # Sunday: no working day lost since Friday
    ],
)
def test_overdue_and_working_days_left(
    cal: BusinessCalendar, now: str, overdue: bool, left: int
) -> None:
    deadline = at("2026-10-13 18:00")
    assert cal.is_overdue(deadline, at(now)) is overdue
    assert cal.working_days_left(deadline, at(now)) == left


def test_calendar_rejects_bad_office_hours() -> None:
    with pytest.raises(ValueError, match="not before"):
        BusinessCalendar(frozenset(), {}, frozenset(), SHANGHAI, time(18), time(9))
    with pytest.raises(CalendarError, match="not before"):
        load_calendar(open_time=time(18), close_time=time(9))


def test_other_office_hours_and_time_zone(tmp_path: Path) -> None:
    (tmp_path / "cn-2026.yaml").write_text(
        "year: 2026\nregion: CN\nholidays: []\nworking_days: []\n", encoding="utf-8"
    )
    cal = load_calendar(tmp_path, tz="Europe/Berlin", open_time=time(8, 30), close_time=time(16, 0))
    assert cal.is_working_day(date(2026, 10, 1))  # no holidays in this file
    # 14:30 UTC is 16:30 in Berlin (summer time): after close, so Friday counts from Monday.
    registered = datetime(2026, 10, 2, 14, 30, tzinfo=UTC)
    assert cal.deadline(registered, 0) == datetime(2026, 10, 5, 16, 0, tzinfo=cal.tz)
    assert cal.timers(cal.deadline(registered, 0)).overdue_at.time() == time(8, 30)


GOOD = "year: 2026\nregion: CN\nholidays:\n{holidays}\nworking_days: [{working}]\n"
NATIONAL_DAY = "  - {name: 国庆节, name_en: National Day, from: 2026-10-01, to: 2026-10-07}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            GOOD.format(holidays="  - {name: X, from: 2026-02-30, to: 2026-03-01}", working=""),
            "'2026-02-30' is not a date",
        ),
        (
            GOOD.format(holidays="  - {name: X, from: 2026-3-1, to: 2026-03-01}", working=""),
            "'2026-3-1' is not a date",
        ),
        (
            GOOD.format(holidays="  - {name: X, from: 2026-10-07, to: 2026-10-01}", working=""),
            "to 2026-10-01 is before from 2026-10-07",
        ),
        (
            GOOD.format(holidays="  - {name: X, from: 2025-12-31, to: 2026-01-01}", working=""),
            "2025-12-31 is outside 2026",
        ),
        (GOOD.format(holidays=NATIONAL_DAY, working="2027-01-02"), "2027-01-02 is outside 2026"),
        (GOOD.format(holidays=NATIONAL_DAY, working="2026-10-09"), "2026-10-09 is a weekday"),
        (
            GOOD.format(holidays=NATIONAL_DAY, working="2026-10-03"),
            "2026-10-03 is also a holiday (国庆节)",
        ),
        (GOOD.format(holidays=NATIONAL_DAY, working="2026-10-10, 2026-10-10"), "listed twice"),
        (
            GOOD.format(holidays=NATIONAL_DAY + "\n" + NATIONAL_DAY, working=""),
            "2026-10-01 is already in 国庆节",
        ),
        (
            GOOD.format(holidays="  - {from: 2026-10-01, to: 2026-10-07}", working=""),
            "holiday 1: expected a mapping with name",
        ),
        (GOOD.format(holidays="  - {name: X, date: 2026-10-01}", working=""), "unknown key 'date'"),
        (
            GOOD.format(holidays="  []", working="").replace("2026", "2025", 1),
            "year is 2025, but the file name says 2026",
        ),
        (GOOD.format(holidays="  []", working="").replace("CN", "HK"), "region is 'HK'"),
        ("year: 2026\nregion: CN\nholiday: []\n", "unknown key 'holiday'"),
        ("year: 2026\nregion: CN\nholidays: {a: b}\n", "holidays must be a list"),
        ("year: 2026\nregion: CN\nholidays: [\n", "cannot be read"),
        ("- 2026\n", "expected a mapping"),
    ],
)
def test_loader_problems(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "cn-2026.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        load_calendar(tmp_path)
    assert any(str(path) in p and problem in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_loader_reports_every_problem_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "cn-2026.yaml").write_text(
        GOOD.format(holidays=NATIONAL_DAY, working="2026-10-03, 2026-10-09"), encoding="utf-8"
    )
    (tmp_path / "cn-2027.yaml").write_text("year: 2027\nregion: CN\nextra: 1\n", encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        load_calendar(tmp_path)
    assert len(caught.value.problems) == 3
    assert "cn-2027.yaml: unknown key 'extra'" in str(caught.value)


def test_loader_duplicate_years(tmp_path: Path) -> None:
    text = GOOD.format(holidays="  []", working="")
    (tmp_path / "CN-2026.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "cn-2026.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match="year 2026 is already loaded from"):
        load_calendar(tmp_path)


def test_loader_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="not a folder"):
        load_calendar(tmp_path / "missing")
    (tmp_path / "hk-2026.yaml").write_text("year: 2026\nregion: HK\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"no cn-<year>\.yaml files"):
        load_calendar(tmp_path)
    assert load_calendar(tmp_path, region="HK").years == frozenset({2026})
    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        load_calendar(tmp_path, region="HK", tz="Mars/Olympus")


def test_loader_reads_several_years(tmp_path: Path) -> None:
    (tmp_path / "cn-2026.yaml").write_text(
        GOOD.format(holidays=NATIONAL_DAY, working="2026-10-10"), encoding="utf-8"
    )
    (tmp_path / "cn-2027.yaml").write_text(
        GOOD.format(
            holidays="  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}", working=""
        ).replace("2026", "2027"),
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a calendar", encoding="utf-8")
    cal = load_calendar(tmp_path)
    assert cal.years == frozenset({2026, 2027})
    assert cal.holiday_name(date(2027, 1, 1)) == "元旦"
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


ZONES = [UTC, CN, timezone(timedelta(hours=-5)), timezone(timedelta(hours=13)), SHANGHAI]


@settings(max_examples=300, deadline=None)
@given(
    registered=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2026, 12, 31, 23, 59),
        timezones=st.sampled_from(ZONES),
    ),
    n=st.integers(min_value=0, max_value=30),
)
def test_deadline_properties(registered: datetime, n: int) -> None:
    cal = load_calendar()
    deadline = cal.deadline(registered, n)
    local = registered.astimezone(SHANGHAI)
    due_day = deadline.date()
    assert deadline.tzinfo == SHANGHAI
    assert deadline.time() == cal.close_time
    assert cal.is_working_day(due_day)
    assert deadline > registered
    # Registered within a working day (before close), the registration day itself is day 0 and
    # the deadline is n working days after it; registered on a rest day or at/after close, the
    # next working day is day 0, which is itself one working day after the registration day.
    in_hours = cal.is_working_day(local.date()) and local.time() < cal.close_time
    assert cal.working_days_between(local.date(), due_day) == n + (0 if in_hours else 1)
    assert cal.working_days_between(cal.registration_day(registered), due_day) == n
    assert cal.deadline(registered, n + 1) > deadline
    assert cal.deadline(registered + timedelta(hours=1), n) >= deadline
