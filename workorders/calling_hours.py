"""When a citizen may be called: the callee's local hours (time zone from their number) on
the court's working days, and — for calls bridged to an agent — the agents' service hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from workorders.calendar import BusinessCalendar

_STEP = timedelta(minutes=5)
_HORIZON = timedelta(days=30)


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class CallingHours:
    """Local times [start, end) in which a callee may be rung, and whether only on the
    business calendar's working days (judged in the calendar's own time zone)."""

    start: time = time(9, 0)
    end: time = time(20, 0)
    working_days_only: bool = True

    @classmethod
    def parse(cls, text: str, *, working_days_only: bool = True) -> CallingHours:
        """`09:00-20:00` → CallingHours(09:00, 20:00)."""
        try:
            first, _, second = text.partition("-")
            start, end = time.fromisoformat(first.strip()), time.fromisoformat(second.strip())
        except ValueError:
            raise HoursError(f"hours must look like 09:00-20:00, not {text!r}") from None
        if not start < end:
            raise HoursError(f"hours {text!r}: the start must be before the end")
        return cls(start, end, working_days_only)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=4096)
def callee_zone(phone_e164: str, default: str) -> str:
    """The callee's time zone from their number (phonenumbers' geographic data); a number
    spanning several zones (a US mobile) gets the first, a number without one the default."""
    try:
        number = phonenumbers.parse(phone_e164, None)
        zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    except phonenumbers.NumberParseException:
        zones = []
    for zone in zones:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return zone
    return default


@dataclass(frozen=True)
class CallWindow:
    """Everything that decides whether a moment is fine for ringing one callee."""

    callee_tz: ZoneInfo
    hours: CallingHours
    calendar: BusinessCalendar
    service: CallingHours | None = None  # agents' hours in the calendar's zone, if bridged

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.callee_tz).time()
        if not self.hours.start <= local < self.hours.end:
            return False
        business = moment.astimezone(self.calendar.tz)
        if self.hours.working_days_only and not self.calendar.is_working_day(business.date()):
            return False
        if self.service is not None:
            if not self.service.start <= business.time() < self.service.end:
                return False
            if self.service.working_days_only and not self.calendar.is_working_day(business.date()):
                return False
        return True

    def next_allowed(self, moment: datetime) -> datetime | None:
        """The first moment at or after `moment` that `allows`, within 30 days (else None)."""
        if self.allows(moment):
            return moment
        # Step to the next 5-minute mark, then in 5-minute steps: boundaries are on the minute.
        probe = moment.replace(second=0, microsecond=0)
        probe += timedelta(minutes=5 - probe.minute % 5)
        end = moment + _HORIZON
        while probe <= end:
            if self.allows(probe):
                return probe
            probe += _STEP
        return None

    def describe(self) -> str:
        days = " on working days" if self.hours.working_days_only else ""
        text = f"{self.hours} {self.callee_tz.key}{days}"
        if self.service is not None:
            text += f", agents {self.service} {self.calendar.tz.key}"
        return text
