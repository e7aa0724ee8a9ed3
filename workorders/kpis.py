"""The KPI definitions (reference/kpis.md) as arithmetic on counters, and their time windows.

Pure: counters in (metric name → count, as `workorders.kpi_cells` names them), figures out.
Every figure carries its numerator and denominator; a rate whose denominator is 0 has the
value None (shown as "—"), never 100%.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workorders.kpi_cells import WAIT_BUCKETS_S

Counts = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: str  # "ratio" (0..1), "count" or "seconds"
    numerator: int | None
    denominator: int | None
    value: float | None
    numerator_label: str = ""
    denominator_label: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Definition:
    key: str
    label: str
    unit: str
    numerator: tuple[str, ...]  # metrics summed
    denominator: tuple[str, ...] = ()  # empty: a plain count
    numerator_label: str = ""
    denominator_label: str = ""
    dims: frozenset[str] = field(default_factory=frozenset)  # where a per-dimension figure exists
    note: str = ""

    def figure(self, counts: Counts) -> Figure:
        num = sum(counts.get(m, 0) for m in self.numerator)
        if not self.denominator:
            return Figure(self.key, self.label, self.unit, num, None, float(num),
                          self.numerator_label, "", self.note)  # fmt: skip
        den = sum(counts.get(m, 0) for m in self.denominator)
        value = num / den if den else None
        return Figure(self.key, self.label, self.unit, num, den, value,
                      self.numerator_label, self.denominator_label, self.note)  # fmt: skip


@dataclass(frozen=True, slots=True)
class KpiOptions:
    answer_within_s: int = 15  # GB/T 33358-2016: answered within 15 s
    count_basically_satisfied: bool = False  # "basically satisfied" in the satisfaction rate

    def __post_init__(self) -> None:
        if self.answer_within_s not in WAIT_BUCKETS_S:
            raise ValueError(
                f"answer_within_s must be one of {', '.join(map(str, WAIT_BUCKETS_S))}"
            )


QUEUE = frozenset({"queue"})
QUEUE_AGENT = frozenset({"queue", "agent"})
ORDER = frozenset({"channel", "department"})
REQUESTED = ("queue.requested",)


def definitions(options: KpiOptions = KpiOptions()) -> list[Definition]:
    n = options.answer_within_s
    within = tuple(f"queue.answered_wait_le_{b}" for b in WAIT_BUCKETS_S if b <= n)
    satisfied = ["survey.very_satisfied", "survey.satisfied"]
    sat_label = "very satisfied + satisfied"
    if options.count_basically_satisfied:
        satisfied.append("survey.basically_satisfied")
        sat_label += " + basically satisfied"
    valid = tuple(
        f"survey.{level}"
        for level in (
            "very_satisfied",
            "satisfied",
            "basically_satisfied",
            "dissatisfied",
            "very_dissatisfied",
        )
    )
    return [
        Definition("calls_offered", "calls offered", "count", ("calls.offered",),
                   numerator_label="inbound calls that reached the webhook"),
        Definition("connection_rate", "connection rate (接通率)", "ratio",
                   ("calls.answered",), ("calls.offered",),
                   "answered by the IVR or an agent", "calls offered",
                   note="a call that failed before our TwiML counts against it"),
        Definition("agent_connection_rate", "agent connection rate (人工接通率)", "ratio",
                   ("queue.answered",), REQUESTED,
                   "transfers answered by an agent",
                   "transfers requested (answered + abandoned + queue full + timed out)",
                   dims=QUEUE, note="callbacks requested instead of waiting: see callbacks"),
        Definition("callbacks_requested", "callbacks requested instead of waiting", "count",
                   ("queue.callback",), numerator_label="callers who chose a callback",
                   dims=QUEUE),
        Definition(f"answered_within_{n}s", f"answered within {n} s", "ratio",
                   within, REQUESTED, f"agent-answered with queue wait ≤ {n} s",
                   "transfers requested", dims=QUEUE),
        Definition("abandonment_rate", "abandonment rate", "ratio",
                   ("queue.abandoned",), REQUESTED, "callers who hung up while queued",
                   "transfers requested", dims=QUEUE),
        Definition("immediate_resolution_rate", "immediate resolution rate (一次办结率)",
                   "ratio", ("calls.resolved",), ("calls.with_request",),
                   "closed during the call with no work order",
                   "ended calls with a valid request",
                   note="calls with no request are counted in calls_without_request"),
        Definition("calls_without_request", "calls with no request", "count",
                   ("calls.no_request",),
                   numerator_label="hung up at the greeting, silence, or failed to connect"),
        Definition("repeat_call_rate_24h", "repeat-call rate, 24 h", "ratio",
                   ("calls.repeat_24h",), ("calls.ended",),
                   "calls from a number that called within 24 h", "ended calls offered",
                   note="known once the call has ended"),
        Definition("repeat_call_rate_48h", "repeat-call rate, 48 h", "ratio",
                   ("calls.repeat_48h",), ("calls.ended",),
                   "calls from a number that called within 48 h", "ended calls offered"),
        Definition("orders_opened", "work orders opened", "count", ("orders.opened",),
                   numerator_label="registered, every channel", dims=ORDER),
        Definition("completion_rate", "completion rate (办结率)", "ratio",
                   ("orders.due_completed",), ("orders.due",),
                   "of those, completed", "work orders due in the window", dims=ORDER,
                   note="by deadline (with approved extensions); merged orders are not due"),
        Definition("on_time_completion_rate", "on-time completion rate", "ratio",
                   ("orders.completed_on_time",), ("orders.completed",),
                   "completed by the deadline (with approved extensions)",
                   "completed in the window", dims=ORDER),
        Definition("urge_rate", "urge rate (催办率)", "ratio", ("orders.urged",),
                   ("orders.dispatched",), "orders urged", "orders dispatched", dims=ORDER,
                   note="orders registered in the window"),
        Definition("redo_rate", "redo rate (重办率)", "ratio", ("orders.redo",),
                   ("orders.ever_completed",), "orders reopened after dissatisfaction",
                   "orders completed", dims=ORDER, note="orders registered in the window"),
        Definition("satisfaction_rate", "satisfaction rate (满意率)", "ratio",
                   tuple(satisfied), valid, sat_label, "valid survey answers", dims=ORDER,
                   note=("basically satisfied counted as satisfied"
                         if options.count_basically_satisfied
                         else "basically satisfied not counted as satisfied")),
        Definition("average_speed_of_answer", "average speed of answer", "seconds",
                   ("queue.wait_s_sum",), ("queue.answered_counted",),
                   "queue wait of answered transfers, seconds", "transfers answered",
                   dims=QUEUE_AGENT),
        Definition("average_handle_time", "average handle time", "seconds",
                   ("queue.handle_s_sum",), ("queue.handled",),
                   "talk + after-call work, seconds", "transfers handled", dims=QUEUE_AGENT),
        Definition("occupancy", "agent occupancy", "ratio", ("agents.busy_s",),
                   ("agents.staffed_s",), "seconds on contacts", "seconds staffed",
                   dims=frozenset({"agent"}),
                   note="needs agent presence time (not wired yet)"),
    ]  # fmt: skip


def figures(counts: Counts, options: KpiOptions = KpiOptions()) -> list[Figure]:
    return [d.figure(counts) for d in definitions(options)]


def figures_by_dimension(
    by_dim: Mapping[str, Mapping[str, Counts]],
    options: KpiOptions = KpiOptions(),
) -> dict[str, dict[str, list[Figure]]]:
    """{dimension: {value: [figures that make sense per that dimension]}}."""
    defs = definitions(options)
    out: dict[str, dict[str, list[Figure]]] = {}
    for dim, values in by_dim.items():
        applicable = [d for d in defs if dim in d.dims]
        if not applicable:
            continue
        out[dim] = {
            value: [d.figure(counts) for d in applicable] for value, counts in values.items()
        }
    return out


# --- windows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Whole local days [first, last] in the business time zone."""

    label: str
    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        nxt = self.last + timedelta(days=1)
        return datetime.combine(nxt, time(0), ZoneInfo(self.tz)).astimezone(UTC)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "timezone": self.tz,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


class WindowError(ValueError):
    pass


MAX_WINDOW_DAYS = 3700
# The registry's dates: far enough for any history or plan, and clear of the calendar's ends
# (a day in year 1 cannot be turned into a UTC instant).
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


def make_window(
    kind: str | None,
    *,
    now: datetime,
    tz: str,
    first: date | None = None,
    last: date | None = None,
) -> Window:
    """`today`, `7d` (the last 7 days, today included), `yesterday`, or a range of dates."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if first is not None or last is not None:
        first, last = first or last, last or first
        assert first is not None and last is not None
        if last < first:
            raise WindowError(f"the range ends ({last}) before it starts ({first})")
        if first < EARLIEST or last > LATEST:
            raise WindowError(f"dates must lie between {EARLIEST} and {LATEST}")
        if (last - first).days >= MAX_WINDOW_DAYS:
            raise WindowError(f"a range is at most {MAX_WINDOW_DAYS} days")
        return Window(f"{first.isoformat()}..{last.isoformat()}", first, last, tz)
    builders: dict[str, Callable[[], Window]] = {
        "today": lambda: Window("today", today, today, tz),
        "yesterday": lambda: Window(
            "yesterday", today - timedelta(days=1), today - timedelta(days=1), tz
        ),
        "7d": lambda: Window("7d", today - timedelta(days=6), today, tz),
        "30d": lambda: Window("30d", today - timedelta(days=29), today, tz),
    }
    builder = builders.get(kind or "today")
    if builder is None:
        raise WindowError(f"window must be one of {', '.join(builders)} or a date range")
    return builder()
