"""The weekly supervision list (督办): representative matters for the president's meeting.

Proposes, with the reason for each: orders a supervisor flagged (always included), repeat
callers ("repeat caller, 3 calls in 1 day"), overdue orders, dissatisfied follow-ups and
redos, orders open for long, and clusters of similar statements registered that week.
Reasons for one order are merged into one item.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workorders.calls import Call, CallDirection
from workorders.lifecycle import OPEN_STATES, Move
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.phones import mask_number

# Weights order the list: a flag first, then the weightier reasons.
WEIGHTS = {
    "flagged": 100,
    "repeat_caller": 30,
    "dissatisfied": 25,
    "overdue": 20,
    "similar": 15,
    "long_open": 10,
}
REPEAT_CALLS_PER_DAY = 3
LONG_OPEN_DAYS = 30
SIMILAR_SCORE = 70  # rapidfuzz token-set ratio, 0–100
SIMILAR_MIN_CLUSTER = 3
SIMILAR_MAX_ORDERS = 3000  # a week's orders compared pairwise (in C): bounded all the same


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str


@dataclass
class Item:
    """One proposed matter: a work order, or a caller who has none."""

    number: str | None
    phone: str | None
    summary: str = ""
    state: str | None = None
    department_id: int | None = None
    deadline_at: datetime | None = None
    registered_at: datetime | None = None
    supervision_note: str | None = None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def weight(self) -> int:
        return sum(WEIGHTS.get(r.code, 1) for r in self.reasons)

    def add(self, code: str, text: str) -> None:
        if all(r.code != code for r in self.reasons):
            self.reasons.append(Reason(code, text))


@dataclass(frozen=True, slots=True)
class Week:
    monday: date
    tz: str

    @classmethod
    def parse(cls, text: str | None, *, today: date, tz: str) -> Week:
        """`2026-W48` (ISO week), any date in the week, or None for the current week."""
        if not text:
            day = today
        elif "-W" in text.upper():
            year, _, week = text.upper().partition("-W")
            try:
                day = date.fromisocalendar(int(year), int(week), 1)
            except ValueError:
                raise ValueError(f"not an ISO week: {text!r} (e.g. 2026-W48)") from None
        else:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a week: {text!r} (2026-W48 or a date)") from None
        return cls(day - timedelta(days=day.weekday()), tz)

    @property
    def label(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(0), ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)


def supervision_list(session: Session, *, week: Week, now: datetime) -> list[Item]:
    """The proposed list for `week`, weightiest first; `now` bounds overdue and long-open."""
    until = min(max(now, week.start), week.end)  # "as of": now, or the end of a past week
    items: dict[str, Item] = {}

    def item(order: WorkOrder) -> Item:
        found = items.get(order.number)
        if found is None:
            found = items[order.number] = Item(
                number=order.number,
                phone=order.contact_phone,
                summary=order.summary,
                state=order.state,
                department_id=order.department_id,
                deadline_at=order.deadline_at,
                registered_at=order.registered_at,
                supervision_note=order.supervision_note,
            )
        return found

    for order in _flagged(session, week):
        item(order).add("flagged", f"flagged for supervision: {order.supervision_note or ''}")
    callers = _repeat_callers(session, week)
    for phone, (day, count) in callers.items():
        orders = _orders_of(session, phone, week.end)
        text = f"repeat caller, {count} calls in 1 day ({day.isoformat()})"
        if orders:
            for order in orders:
                item(order).add("repeat_caller", text)
        else:
            caller = items.setdefault(f"caller:{phone}", Item(number=None, phone=phone))
            caller.add("repeat_caller", text + ", no work order")
    for order in _overdue(session, until):
        days = (until - order.deadline_at).days
        item(order).add("overdue", f"overdue: deadline {order.deadline_at.date()} ({days} d ago)")
    for order, level in _dissatisfied(session, week):
        item(order).add("dissatisfied", f"citizen {level.replace('_', ' ')}; reopened as a redo")
    for order in _long_open(session, until):
        age = (until - order.registered_at).days
        item(order).add("long_open", f"open for {age} days")
    for cluster in _similar_clusters(session, week):
        lead = cluster[0]
        others = ", ".join(o.number for o in cluster[1:6])
        item(lead).add("similar", f"{len(cluster)} similar statements this week (with {others})")
    return sorted(items.values(), key=lambda i: (-i.weight, i.number or i.phone or ""))


def _flagged(session: Session, week: Week) -> list[WorkOrder]:
    flagged_in_week = select(WorkOrderEvent.work_order_id).where(
        WorkOrderEvent.move == Move.SUPERVISE,
        WorkOrderEvent.at >= week.start,
        WorkOrderEvent.at < week.end,
    )
    return list(
        session.execute(
            select(WorkOrder).where(
                WorkOrder.supervised.is_(True),
                or_(WorkOrder.state.in_(OPEN_STATES), WorkOrder.id.in_(flagged_in_week)),
            )
        ).scalars()
    )


def _repeat_callers(session: Session, week: Week) -> dict[str, tuple[date, int]]:
    """Numbers with ≥ REPEAT_CALLS_PER_DAY inbound calls on one local day of the week:
    number → (the busiest day, its calls)."""
    in_week = (
        Call.direction == CallDirection.INBOUND,
        Call.from_e164.is_not(None),
        Call.started_at >= week.start,
        Call.started_at < week.end,
    )
    busy = (
        select(Call.from_e164)
        .where(*in_week)
        .group_by(Call.from_e164)
        .having(func.count() >= REPEAT_CALLS_PER_DAY)
    )
    per_day: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    zone = ZoneInfo(week.tz)
    rows = session.execute(
        select(Call.from_e164, Call.started_at).where(*in_week, Call.from_e164.in_(busy))
    )
    for phone, started in rows:
        if phone:
            per_day[phone][started.astimezone(zone).date()] += 1
    found = {}
    for phone, days in per_day.items():
        day, count = max(days.items(), key=lambda kv: (kv[1], kv[0]))
        if count >= REPEAT_CALLS_PER_DAY:
            found[phone] = (day, count)
    return found


def _orders_of(session: Session, phone: str, until: datetime) -> list[WorkOrder]:
    """The caller's open orders, else their latest one."""
    rows = list(
        session.execute(
            select(WorkOrder)
            .where(WorkOrder.contact_phone == phone, WorkOrder.registered_at < until)
            .order_by(WorkOrder.registered_at.desc())
            .limit(20)
        ).scalars()
    )
    open_ones = [o for o in rows if o.state in OPEN_STATES]
    return open_ones or rows[:1]


def _overdue(session: Session, until: datetime) -> list[WorkOrder]:
    return list(
        session.execute(
            select(WorkOrder)
            .where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline_at < until)
            .order_by(WorkOrder.deadline_at)
            .limit(500)
        ).scalars()
    )


def _dissatisfied(session: Session, week: Week) -> list[tuple[WorkOrder, str]]:
    rows = session.execute(
        select(WorkOrder, WorkOrderEvent.data)
        .join(WorkOrderEvent, WorkOrderEvent.work_order_id == WorkOrder.id)
        .where(
            WorkOrderEvent.move == Move.FOLLOW_UP,
            WorkOrderEvent.at >= week.start,
            WorkOrderEvent.at < week.end,
        )
    )
    bad = ("dissatisfied", "very_dissatisfied")
    return [(o, d["satisfaction"]) for o, d in rows if (d or {}).get("satisfaction") in bad]


def _long_open(session: Session, until: datetime) -> list[WorkOrder]:
    return list(
        session.execute(
            select(WorkOrder)
            .where(
                WorkOrder.state.in_(OPEN_STATES),
                WorkOrder.registered_at < until - timedelta(days=LONG_OPEN_DAYS),
            )
            .order_by(WorkOrder.registered_at)
            .limit(500)
        ).scalars()
    )


def _similar_clusters(session: Session, week: Week) -> list[list[WorkOrder]]:
    """Orders of the week whose statements are alike (single-linkage over rapidfuzz scores)."""
    orders = list(
        session.execute(
            select(WorkOrder)
            .where(WorkOrder.registered_at >= week.start, WorkOrder.registered_at < week.end)
            .order_by(WorkOrder.registered_at)
            .limit(SIMILAR_MAX_ORDERS)
        ).scalars()
    )
    if len(orders) < SIMILAR_MIN_CLUSTER:
        return []
    texts = [f"{o.summary} {o.statement}".strip() for o in orders]
    parent = list(range(len(orders)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, text in enumerate(texts):
        later = texts[i + 1 :]
        matches = process.extract(
            text, later, scorer=fuzz.token_set_ratio, score_cutoff=SIMILAR_SCORE, limit=None
        )
        for _, _, offset in matches:  # compared in C; only the matches come back
            parent[root(i + 1 + offset)] = root(i)
    groups: dict[int, list[WorkOrder]] = defaultdict(list)
    for i, order in enumerate(orders):
        groups[root(i)].append(order)
    return [g for g in groups.values() if len(g) >= SIMILAR_MIN_CLUSTER]


def masked(item: Item) -> str:
    return mask_number(item.phone) if item.phone else ""
