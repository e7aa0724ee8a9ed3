"""Where the KPI counters take their inputs: one `RowSource` per kind of row.

A source turns a row into its cells (`workorders.kpi_cells`) twice over: from a live ORM
object — as it is now, or as it was when the transaction began — for the session
listener, and from SQL rows for a rebuild. Both paths call the same pure cell functions.

Sources: calls, work orders, survey answers (the follow-up moves of work orders, which
survey calls and staff answers both make), and the agent queues' `QueueEntry` rows (queue and
agent KPIs, the waiting-callers gauge, the abandoned-calls list); see `default_sources()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from workorders.base import UtcDateTime
from workorders.calls import Call, CallDirection
from workorders.kpi_cells import (
    REPEAT_WINDOWS,
    CallFacts,
    Cells,
    OrderFacts,
    QueueEntryFacts,
    SurveyAnswerFacts,
    call_cells,
    order_cells,
    queue_entry_cells,
    survey_cells,
)
from workorders.lifecycle import Move
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.organisation import Department

Getter = Callable[[str], Any]  # attribute name → value (now, or as the transaction found it)


@dataclass(frozen=True)
class RowSource:
    kind: str
    model: type[Any]
    # Cells of a live ORM object; `conn` may be queried (the listener runs inside the flush).
    cells: Callable[[Any, Getter, Connection], Cells]
    # Cells of every row that can contribute to a day on or after `since` (UTC instant).
    rebuild: Callable[[Session, datetime], Iterator[Cells]]
    append_only: bool = False  # rows never change after insert (only new ones count)
    accepts: Callable[[Any], bool] = lambda obj: True


def attrs(obj: Any) -> Getter:
    """A row's current attribute values, as a getter."""
    return lambda name: getattr(obj, name)


_sources: dict[type[Any], RowSource] = {}
_waiting: list[Callable[[Session], dict[str, int]]] = []
BATCH = 2000


def register_source(source: RowSource) -> None:
    _sources[source.model] = source


def sources() -> list[RowSource]:
    return list(_sources.values())


def unregister_source(model: type[Any]) -> None:
    """E.g. `unregister_source(WorkOrderEvent)` once survey answers come from their own table
    (a follow-up would otherwise be counted twice)."""
    _sources.pop(model, None)


def source_for(obj: Any) -> RowSource | None:
    source = _sources.get(type(obj))
    return source if source is not None and source.accepts(obj) else None


def set_waiting_source(fn: Callable[[Session], dict[str, int]]) -> None:
    """Callers waiting in each agent queue right now (for /metrics and the dashboard)."""
    _waiting[:] = [fn]


def waiting_callers(session: Session) -> dict[str, int]:
    """{queue: callers waiting}; empty until the queues issue wires its source."""
    return _waiting[0](session) if _waiting else {}


# --- calls -----------------------------------------------------------------------------------


def previous_call_at(
    conn: Connection, *, phone: str | None, started_at: datetime, call_id: int
) -> datetime | None:
    """The same number's previous inbound call (ties on started_at broken by id)."""
    if not phone:
        return None
    horizon = started_at - max(REPEAT_WINDOWS.values())
    return conn.execute(
        select(func.max(Call.started_at)).where(
            Call.from_e164 == phone,
            Call.direction == CallDirection.INBOUND,
            Call.started_at >= horizon,
            or_(
                Call.started_at < started_at,
                (Call.started_at == started_at) & (Call.id < call_id),
            ),
        )
    ).scalar_one_or_none()


def _call_live(obj: Call, get: Getter, conn: Connection) -> Cells:
    outcome = get("outcome")
    previous = None
    if outcome is not None and get("direction") == CallDirection.INBOUND:
        previous = previous_call_at(
            conn, phone=get("from_e164"), started_at=get("started_at"), call_id=obj.id
        )
    return call_cells(
        CallFacts(
            direction=get("direction") or CallDirection.INBOUND,
            started_at=get("started_at"),
            step_seq=get("step_seq") or 0,
            outcome=outcome,
            previous_call_at=previous,
        )
    )


def _call_rebuild(session: Session, since: datetime) -> Iterator[Cells]:
    # The previous call of the same number: calls from 48 h before `since` are read so the
    # first calls of the range see theirs; only those on or after `since` are counted.
    horizon = since - max(REPEAT_WINDOWS.values())
    inbound = Call.direction == CallDirection.INBOUND
    previous = type_coerce(  # typed, so SQLite's text comes back as an aware datetime
        func.lag(Call.started_at).over(
            partition_by=Call.from_e164, order_by=(Call.started_at, Call.id)
        ),
        UtcDateTime(),
    ).label("previous")
    query = (
        select(
            Call.direction, Call.started_at, Call.step_seq, Call.outcome, Call.from_e164, previous
        )
        .where(Call.started_at >= horizon, inbound)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        if row.started_at < since:
            continue
        prev = row.previous if row.from_e164 and row.outcome is not None else None
        yield call_cells(
            CallFacts(row.direction, row.started_at, row.step_seq or 0, row.outcome, prev)
        )


CALLS = RowSource("call", Call, _call_live, _call_rebuild)


# --- work orders -----------------------------------------------------------------------------

_departments: dict[int, str] = {}


def department_code(conn: Connection, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    code = _departments.get(department_id)
    if code is None:
        code = conn.execute(
            select(Department.code).where(Department.id == department_id)
        ).scalar_one_or_none()
        if code is not None:  # codes never change: cached for the process
            _departments[department_id] = code
    return code


def _order_facts(get: Getter, department: str | None) -> OrderFacts:
    return OrderFacts(
        channel=get("channel"),
        department=department,
        state=get("state"),
        registered_at=get("registered_at"),
        deadline_at=get("deadline_at"),
        completed_at=get("completed_at"),
        urge_count=get("urge_count") or 0,
        redo_count=get("redo_count") or 0,
    )


def _order_live(obj: WorkOrder, get: Getter, conn: Connection) -> Cells:
    return order_cells(_order_facts(get, department_code(conn, get("department_id"))))


def _order_rebuild(session: Session, since: datetime) -> Iterator[Cells]:
    query = (
        select(WorkOrder, Department.code)
        .outerjoin(Department, Department.id == WorkOrder.department_id)
        .where(
            or_(
                WorkOrder.registered_at >= since,
                WorkOrder.deadline_at >= since,
                WorkOrder.completed_at >= since,
            )
        )
        .execution_options(yield_per=BATCH)
    )
    for order, code in session.execute(query):
        yield order_cells(_order_facts(attrs(order), code))
        session.expunge(order)


ORDERS = RowSource("work_order", WorkOrder, _order_live, _order_rebuild)


# --- survey answers (today: the follow-up moves of work orders) ---------------------------------


def _survey_live(obj: WorkOrderEvent, get: Getter, conn: Connection) -> Cells:
    channel = obj.work_order.channel if obj.work_order is not None else None
    level = (get("data") or {}).get("satisfaction") or ""
    return survey_cells(SurveyAnswerFacts(level=level, at=get("at"), channel=channel))


def _survey_rebuild(session: Session, since: datetime) -> Iterator[Cells]:
    query = (
        select(WorkOrderEvent.data, WorkOrderEvent.at, WorkOrder.channel)
        .join(WorkOrder, WorkOrder.id == WorkOrderEvent.work_order_id)
        .where(WorkOrderEvent.move == Move.FOLLOW_UP, WorkOrderEvent.at >= since)
        .execution_options(yield_per=BATCH)
    )
    for data, at, channel in session.execute(query):
        level = (data or {}).get("satisfaction") or ""
        yield survey_cells(SurveyAnswerFacts(level=level, at=at, channel=channel))


SURVEY = RowSource(
    "survey",
    WorkOrderEvent,
    _survey_live,
    _survey_rebuild,
    append_only=True,
    accepts=lambda obj: obj.move == Move.FOLLOW_UP,
)


# --- queue entries (the queues issue) -----------------------------------------------------------


def queue_entry_source(model: type[Any]) -> RowSource:
    """A source for a QueueEntry-shaped model: columns queue, enqueued_at, outcome, wait_s,
    agent_login, handle_s (the queues issue's `workorders.queueing.QueueEntry`)."""

    def facts(get: Getter) -> QueueEntryFacts:
        return QueueEntryFacts(
            queue=get("queue"),
            enqueued_at=get("enqueued_at"),
            outcome=get("outcome"),
            wait_s=get("wait_s"),
            agent=get("agent_login"),
            handle_s=get("handle_s"),
        )

    def live(obj: Any, get: Getter, conn: Connection) -> Cells:
        return queue_entry_cells(facts(get))

    def rebuild(session: Session, since: datetime) -> Iterator[Cells]:
        query = select(model).where(model.enqueued_at >= since).execution_options(yield_per=BATCH)
        for entry in session.execute(query).scalars():
            yield queue_entry_cells(facts(attrs(entry)))
            session.expunge(entry)

    return RowSource("queue_entry", model, live, rebuild)


def survey_answer_source(
    model: type[Any], *, level: str = "level", at: str = "answered_at", channel: str | None = None
) -> RowSource:
    """A source for a survey-answer table: `level` holds the 5-level scale's value, `at` when
    it was given (attribute names as the model spells them)."""

    def facts(get: Getter) -> SurveyAnswerFacts:
        return SurveyAnswerFacts(
            level=get(level) or "", at=get(at), channel=get(channel) if channel else None
        )

    def live(obj: Any, get: Getter, conn: Connection) -> Cells:
        return survey_cells(facts(get))

    def rebuild(session: Session, since: datetime) -> Iterator[Cells]:
        column = getattr(model, at)
        query = select(model).where(column >= since).execution_options(yield_per=BATCH)
        for answer in session.execute(query).scalars():
            yield survey_cells(facts(attrs(answer)))
            session.expunge(answer)

    return RowSource("survey", model, live, rebuild, append_only=False)


# --- lists beside the figures (the dashboard's abandoned calls) -------------------------------

_abandoned: list[Callable[[Session, datetime, datetime, int], list[dict[str, Any]]]] = []


def set_abandoned_source(
    fn: Callable[[Session, datetime, datetime, int], list[dict[str, Any]]],
) -> None:
    _abandoned[:] = [fn]


def abandoned_calls(
    session: Session, *, start: datetime, end: datetime, limit: int = 100
) -> list[dict[str, Any]]:
    """Callers who hung up while queued in [start, end), newest first: [{"at", "caller"
    (masked), "queue", "position", "wait_s", "call_sid"}]. Empty until the queues are wired."""
    return _abandoned[0](session, start, end, limit) if _abandoned else []


def queue_entry_abandoned(
    model: type[Any],
) -> Callable[[Session, datetime, datetime, int], list[dict[str, Any]]]:
    """`abandoned_calls` for a QueueEntry-shaped model (call_id → calls, position_at_entry)."""
    from workorders.phones import mask_number

    def fetch(session: Session, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
        rows = session.execute(
            select(model, Call.from_e164)
            .join(Call, Call.id == model.call_id)
            .where(
                model.outcome == "abandoned", model.enqueued_at >= start, model.enqueued_at < end
            )
            .order_by(model.enqueued_at.desc())
            .limit(limit)
        )
        return [
            {
                "at": (entry.left_at or entry.enqueued_at).isoformat(),
                "caller": mask_number(phone),
                "queue": entry.queue,
                # where the caller was when they hung up, if the model tracks it
                "position": getattr(entry, "last_position", None) or entry.position_at_entry,
                "position_at_entry": entry.position_at_entry,
                "wait_s": entry.wait_s,
                "call_sid": entry.call_sid,
            }
            for entry, phone in rows
        ]

    return fetch


def default_sources() -> None:
    from workorders.queueing import QueueEntry

    for source in (CALLS, ORDERS, SURVEY):
        register_source(source)
    # The agent queues: every visit is a QueueEntry. Survey answers (survey calls and staff
    # answers alike) make the orders' follow_up move, which SURVEY already counts.
    register_source(queue_entry_source(QueueEntry))
    set_waiting_source(
        lambda s: {
            str(queue): int(n)
            for queue, n in s.execute(
                select(QueueEntry.queue, func.count())
                .where(QueueEntry.left_at.is_(None))
                .group_by(QueueEntry.queue)
            ).all()
        }
    )
    set_abandoned_source(queue_entry_abandoned(QueueEntry))


default_sources()
