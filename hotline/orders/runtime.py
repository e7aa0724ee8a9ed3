"""The business calendar and routing rules, loaded once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

from hotline.config import ConfigError, Settings
from workorders.calendar import BusinessCalendar, CalendarError, load_calendar
from workorders.organisation import DEFAULT_ORGANISATION
from workorders.routing import RoutingRules, RulesError, load_rules


@dataclass(frozen=True)
class OrdersRuntime:
    calendar: BusinessCalendar
    rules: RoutingRules
    remind_before_days: int
    escalate_after_days: int


def organisation_file(settings: Settings) -> Path:
    return Path(settings.organisation_path) if settings.organisation_path else DEFAULT_ORGANISATION


def load_runtime(settings: Settings) -> OrdersRuntime:
    """Load and check calendar and rules; every problem is reported at once at startup."""
    problems: list[str] = []
    calendar = rules = None
    try:
        calendar = load_calendar(
            Path(settings.calendar_path) if settings.calendar_path else None,
            tz=settings.timezone,
            open_time=time(9, 0),
            close_time=time(18, 0),
        )
    except CalendarError as exc:
        problems.append(f"calendar: {exc}")
    except Exception as exc:  # e.g. an unknown time zone name
        problems.append(f"calendar: {type(exc).__name__}: {exc}")
    try:
        rules = load_rules(
            Path(settings.routing_rules_path) if settings.routing_rules_path else None
        )
    except RulesError as exc:
        problems.extend(f"routing rules: {p}" for p in exc.problems)
    if problems or calendar is None or rules is None:
        raise ConfigError(problems)
    return OrdersRuntime(calendar, rules, settings.remind_before_days, settings.escalate_after_days)


_loaded: dict[tuple[object, ...], OrdersRuntime] = {}


def cached_runtime(settings: Settings) -> OrdersRuntime:
    """For workers: one load per process and configuration."""
    key = (
        settings.calendar_path,
        settings.timezone,
        settings.routing_rules_path,
        settings.remind_before_days,
        settings.escalate_after_days,
    )
    if key not in _loaded:
        _loaded[key] = load_runtime(settings)
    return _loaded[key]
