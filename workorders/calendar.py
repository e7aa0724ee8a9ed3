"""Business days and time limits: which days the court works, and when a work order falls due."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

CALENDARS_DIR = Path(__file__).with_name("calendars")

_DAY = timedelta(days=1)
_SATURDAY = 5
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILE_KEYS = frozenset({"year", "region", "holidays", "working_days"})
_HOLIDAY_KEYS = frozenset({"name", "name_en", "from", "to"})


class CalendarError(ValueError):
    """A calendar folder cannot be used; `problems` lists every defect found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Timers:
    """When to remind the handler, declare the order overdue, and escalate to leadership."""

    deadline: datetime
    reminder_at: datetime
    overdue_at: datetime
    escalate_at: datetime


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days (published years, else Monday–Friday) and office hours in one time zone."""

    years: frozenset[int]
    holidays: Mapping[date, str]
    working_days: frozenset[date]  # make-up working days (调休上班) on weekends
    tz: ZoneInfo
    open_time: time = time(9, 0)
    close_time: time = time(18, 0)

    def __post_init__(self) -> None:
        if self.open_time.tzinfo is not None or self.close_time.tzinfo is not None:
            raise ValueError("open_time and close_time are local times: give them no tzinfo")
        if not self.open_time < self.close_time:
            raise ValueError(f"open_time {self.open_time} is not before {self.close_time}")

    def covers(self, year: int) -> bool:
        """True when the year's holidays are loaded; otherwise it is treated as Monday–Friday."""
        return year in self.years

    def is_working_day(self, d: date) -> bool:
        if d in self.working_days:
            return True
        return d.weekday() < _SATURDAY and d not in self.holidays

    def holiday_name(self, d: date) -> str | None:
        return self.holidays.get(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += _DAY
        while not self.is_working_day(d):
            d += _DAY
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before `d`."""
        d -= _DAY
        while not self.is_working_day(d):
            d -= _DAY
        return d

    def working_day_on_or_after(self, d: date) -> date:
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d`; for n = 0, `d` itself or the next working day."""
        if n < 0:
            raise ValueError(f"n must be 0 or more, not {n}")
        if n == 0:
            return self.working_day_on_or_after(d)
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(self.is_working_day(a + _DAY * i) for i in range(1, (b - a).days + 1))

    def registration_day(self, registered_at: datetime) -> date:
        """The working day a registration counts from: its local day, or the next working day
        when it came on a rest day or at/after close_time."""
        local = self._local(registered_at, "registered_at")
        day = local.date()
        if self.is_working_day(day) and local.time() < self.close_time:
            return day
        return self.next_working_day(day)

    def deadline(self, registered_at: datetime, working_days: int) -> datetime:
        """Close of business `working_days` working days after the registration day
        (0 = the registration day itself)."""
        if working_days < 0:
            raise ValueError(f"working_days must be 0 or more, not {working_days}")
        start = self.registration_day(registered_at)
        return self._at(self.add_working_days(start, working_days), self.close_time)

    def extend(self, deadline: datetime, working_days: int) -> datetime:
        """The deadline after an approved extension of `working_days` (at least 1)."""
        if working_days < 1:
            raise ValueError(f"an extension is at least 1 working day, not {working_days}")
        day = self._local(deadline, "deadline").date()
        return self._at(self.add_working_days(day, working_days), self.close_time)

    def timers(
        self, deadline: datetime, *, remind_before_days: int = 1, escalate_after_days: int = 2
    ) -> Timers:
        """Opening times of: the reminder day (0 = the deadline's day), the first working day
        after the deadline's day, and the escalation day."""
        if remind_before_days < 0:
            raise ValueError(f"remind_before_days must be 0 or more, not {remind_before_days}")
        if escalate_after_days < 1:
            raise ValueError(f"escalate_after_days must be 1 or more, not {escalate_after_days}")
        day = self._local(deadline, "deadline").date()
        remind_day = day
        for _ in range(remind_before_days):
            remind_day = self.previous_working_day(remind_day)
        if not self.is_working_day(remind_day):  # 0 days before a deadline set on a rest day
            remind_day = self.previous_working_day(remind_day)
        return Timers(
            deadline=deadline.astimezone(self.tz),
            reminder_at=self._at(remind_day, self.open_time),
            overdue_at=self._at(self.next_working_day(day), self.open_time),
            escalate_at=self._at(self.add_working_days(day, escalate_after_days), self.open_time),
        )

    def is_overdue(self, deadline: datetime, now: datetime) -> bool:
        return self._local(now, "now") > self._local(deadline, "deadline")

    def working_days_left(self, deadline: datetime, now: datetime) -> int:
        """Working days after today up to the deadline's day (0 = due today); once overdue,
        minus the working days since, at least -1 from the moment the deadline passes."""
        today = self._local(now, "now").date()
        due_day = self._local(deadline, "deadline").date()
        if not self.is_overdue(deadline, now):
            return self.working_days_between(today, due_day)
        return -max(1, self.working_days_between(due_day, today))

    def _local(self, moment: datetime, what: str) -> datetime:
        # A naive datetime could be UTC (from the database) or local (from a form): refuse to
        # guess, because the wrong guess moves a deadline by a day around midnight.
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")
        return moment.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)


class _TextDatesLoader(yaml.SafeLoader):
    """A SafeLoader that leaves dates as text, so 2026-02-30 is reported rather than crashing."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_calendar(
    folder: Path | None = None,
    *,
    region: str = "CN",
    tz: str = "Asia/Shanghai",
    open_time: time = time(9, 0),
    close_time: time = time(18, 0),
) -> BusinessCalendar:
    """The calendar from every `<region>-<year>.yaml` in `folder` (default: the shipped one).

    Raises CalendarError listing every problem in every file.
    """
    folder = CALENDARS_DIR if folder is None else folder
    problems: list[str] = []
    zone: ZoneInfo | None = None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"unknown time zone {tz!r}")
    if not folder.is_dir():
        raise CalendarError([*problems, f"{folder}: not a folder"])
    name = re.compile(rf"{re.escape(region)}-(\d{{4}})\.yaml", re.IGNORECASE)
    files = [(p, m) for p in sorted(folder.iterdir()) if (m := name.fullmatch(p.name))]
    if not files:
        problems.append(f"{folder}: no {region.lower()}-<year>.yaml files")
    holidays: dict[date, str] = {}
    working_days: set[date] = set()
    seen: dict[int, Path] = {}
    for path, match in files:
        year = int(match.group(1))
        if year in seen:
            problems.append(f"{path}: year {year} is already loaded from {seen[year]}")
            continue
        seen[year] = path
        _read_year(path, year, region, holidays, working_days, problems)
    if problems or zone is None:
        raise CalendarError(problems)
    try:
        return BusinessCalendar(
            years=frozenset(seen),
            holidays=MappingProxyType(holidays),
            working_days=frozenset(working_days),
            tz=zone,
            open_time=open_time,
            close_time=close_time,
        )
    except ValueError as exc:
        raise CalendarError([str(exc)]) from exc


def _read_year(
    path: Path,
    year: int,
    region: str,
    holidays: dict[date, str],
    working_days: set[date],
    problems: list[str],
) -> None:
    """Adds one year file's dates to `holidays` and `working_days`, noting its problems."""

    def problem(message: str) -> None:
        problems.append(f"{path}: {message}")

    def day(value: Any, where: str) -> date | None:
        parsed = None
        if isinstance(value, str) and _DATE.fullmatch(value):
            with contextlib.suppress(ValueError):
                parsed = date.fromisoformat(value)
        if parsed is None:
            problem(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
        elif parsed.year != year:
            problem(f"{where}: {parsed} is outside {year}")
            parsed = None
        return parsed

    try:
        loader = _TextDatesLoader(path.read_text(encoding="utf-8"))
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return problem(f"cannot be read: {exc}")
    if not isinstance(data, dict):
        return problem("expected a mapping with year, region, holidays, working_days")
    for key in sorted(set(map(str, data)) - _FILE_KEYS):
        problem(f"unknown key {key!r}")
    if data.get("year") != year or isinstance(data.get("year"), bool):
        problem(f"year is {data.get('year')!r}, but the file name says {year}")
    if str(data.get("region", "")).upper() != region.upper():
        problem(f"region is {data.get('region')!r}, expected {region!r}")

    for i, entry in enumerate(_as_list(data, "holidays", problem), 1):
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            problem(f"holiday {i}: expected a mapping with name, name_en, from, to")
            continue
        where = f"holiday {i} ({entry['name']})"
        for key in sorted(set(map(str, entry)) - _HOLIDAY_KEYS):
            problem(f"{where}: unknown key {key!r}")
        start, end = day(entry.get("from"), f"{where} from"), day(entry.get("to"), f"{where} to")
        if start is not None and end is not None and end < start:
            problem(f"{where}: to {end} is before from {start}")
        elif start is not None and end is not None:
            for offset in range((end - start).days + 1):
                d = start + _DAY * offset
                if d in holidays:
                    problem(f"{where}: {d} is already in {holidays[d]}")
                holidays[d] = entry["name"]

    for value in _as_list(data, "working_days", problem):
        work_day = day(value, "working_days")
        if work_day is None:
            continue
        if work_day.weekday() < _SATURDAY:
            problem(f"working_days: {work_day} is a weekday; make-up working days are weekends")
        if work_day in holidays:
            problem(f"working_days: {work_day} is also a holiday ({holidays[work_day]})")
        if work_day in working_days:
            problem(f"working_days: {work_day} is listed twice")
        working_days.add(work_day)


def _as_list(data: dict[Any, Any], key: str, problem: Callable[[str], None]) -> list[Any]:
    value = data.get(key) or []
    if isinstance(value, list):
        return value
    problem(f"{key} must be a list")
    return []
