"""The queue configuration (`queues.yaml`): skill queues, agents' hours, callback and survey
rules, loaded and checked once per process; every problem is reported at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hotline.config import ConfigError, Settings
from workorders.callbacks import Bridge
from workorders.calling_hours import CallingHours, HoursError

DEFAULT_QUEUES = Path(__file__).with_name("queues.yaml")
QUEUE_NAME = re.compile(r"^[a-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class QueueRule:
    name: str
    divisions: frozenset[str]
    max_size: int
    max_wait_s: int


@dataclass(frozen=True)
class QueueConfig:
    queues: Mapping[str, QueueRule]
    default_queue: str
    service_hours: CallingHours
    agent_ring_s: int = 20
    wrap_up_s: int = 0
    calling_hours: CallingHours = field(default_factory=CallingHours)
    retry_backoff_s: tuple[int, ...] = (120, 600, 1800)
    max_attempts: int = 3
    bridge: str = Bridge.AGENT_FIRST
    callee_ring_s: int = 30
    ivr_window_hours: int = 48
    survey_delay_days: int = 1
    survey_window: CallingHours = field(default_factory=CallingHours)
    survey_max_attempts: int = 3

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.queues)

    def queue_for_division(self, division: str | None) -> str:
        for rule in self.queues.values():
            if division and division in rule.divisions:
                return rule.name
        return self.default_queue

    def rule(self, name: str) -> QueueRule:
        return self.queues.get(name) or self.queues[self.default_queue]


def load_queue_config(settings: Settings) -> QueueConfig:
    path = Path(settings.queues_path) if settings.queues_path else DEFAULT_QUEUES
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"queues: cannot read {path}: {exc}"]) from exc
    return parse_queue_config(data, source=str(path))


def parse_queue_config(data: Mapping[str, Any], *, source: str = "<memory>") -> QueueConfig:
    problems: list[str] = []

    def hours(value: Any, where: str, *, working_days_only: bool = True) -> CallingHours:
        try:
            return CallingHours.parse(str(value), working_days_only=working_days_only)
        except HoursError as exc:
            problems.append(f"{source}: {where}: {exc}")
            return CallingHours()

    def number(value: Any, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{source}: {where} must be a whole number {low}–{high}: {value!r}")
            return low
        return value

    max_size = number(data.get("max_size", 30), "max_size", 1, 10_000)
    max_wait = number(data.get("max_wait_s", 900), "max_wait_s", 10, 86_400)
    rules: dict[str, QueueRule] = {}
    raw_queues = data.get("queues") or {}
    if not isinstance(raw_queues, Mapping) or not raw_queues:
        problems.append(f"{source}: queues must name at least one queue")
        raw_queues = {}
    for name, spec in raw_queues.items():
        spec = spec or {}
        if not QUEUE_NAME.match(str(name)):
            problems.append(f"{source}: queue name {name!r}: use a-z, 0-9, _ and -")
        rules[str(name)] = QueueRule(
            name=str(name),
            divisions=frozenset(spec.get("divisions") or ()),
            max_size=number(spec.get("max_size", max_size), f"{name}.max_size", 1, 10_000),
            max_wait_s=number(spec.get("max_wait_s", max_wait), f"{name}.max_wait_s", 10, 86_400),
        )
    default = str(data.get("default_queue", "general"))
    if rules and default not in rules:
        problems.append(f"{source}: default_queue {default!r} is not a queue")
    agents = data.get("agents") or {}
    cb = data.get("callbacks") or {}
    survey = data.get("survey") or {}
    backoff = cb.get("retry_backoff_s", [120, 600, 1800])
    if not isinstance(backoff, list) or not all(isinstance(b, int) and b >= 0 for b in backoff):
        problems.append(f"{source}: callbacks.retry_backoff_s must be a list of seconds")
        backoff = [120]
    bridge = str(cb.get("bridge", Bridge.AGENT_FIRST))
    if bridge not in Bridge._value2member_map_:
        problems.append(f"{source}: callbacks.bridge must be one of {', '.join(Bridge)}")
    working_only = bool(cb.get("working_days_only", True))
    config = QueueConfig(
        queues=rules,
        default_queue=default,
        service_hours=hours(data.get("service_hours", "09:00-18:00"), "service_hours"),
        agent_ring_s=number(agents.get("ring_s", 20), "agents.ring_s", 5, 120),
        wrap_up_s=number(agents.get("wrap_up_s", 0), "agents.wrap_up_s", 0, 3600),
        calling_hours=hours(
            cb.get("calling_hours", "09:00-20:00"),
            "callbacks.calling_hours",
            working_days_only=working_only,
        ),
        retry_backoff_s=tuple(backoff),
        max_attempts=number(cb.get("max_attempts", 3), "callbacks.max_attempts", 1, 10),
        bridge=bridge,
        callee_ring_s=number(cb.get("ring_s", 30), "callbacks.ring_s", 5, 120),
        ivr_window_hours=number(cb.get("ivr_window_hours", 48), "ivr_window_hours", 1, 720),
        survey_delay_days=number(
            survey.get("delay_working_days", 1), "survey.delay_working_days", 0, 30
        ),
        survey_window=hours(survey.get("window", "10:00-18:00"), "survey.window"),
        survey_max_attempts=number(survey.get("max_attempts", 3), "survey.max_attempts", 1, 10),
    )
    if problems:
        raise ConfigError(problems)
    return config


_loaded: dict[str, QueueConfig] = {}


def cached_queue_config(settings: Settings) -> QueueConfig:
    """For workers: one load per process and file."""
    key = settings.queues_path
    if key not in _loaded:
        _loaded[key] = load_queue_config(settings)
    return _loaded[key]
