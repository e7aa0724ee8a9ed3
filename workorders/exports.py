"""CSV exports of calls and work orders for a date range, streamed row by row.

Rows come from a server-side cursor (`yield_per`) and leave as CSV lines at once: memory
stays flat whatever the range. Phone numbers are full unless `mask` is set (an anonymous
order's contact is always withheld); times are ISO 8601 in the business time zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from workorders.calls import Call
from workorders.orders import WorkOrder
from workorders.organisation import Category, Department, Handler
from workorders.phones import mask_number

BATCH = 1000
WITHHELD = "(anonymous)"

CALL_COLUMNS = (
    "call_sid", "direction", "from", "to", "started_at", "answered_at", "ended_at",
    "duration_s", "status", "outcome", "resolved_in_call", "language",
)  # fmt: skip
ORDER_COLUMNS = (
    "number", "channel", "category", "urgency", "state", "registered_at", "deadline_at",
    "original_deadline_at", "completed_at", "closed_at", "on_time", "department", "handler",
    "contact_name", "contact_phone", "anonymous", "case_number", "summary", "satisfaction",
    "urge_count", "redo_count", "contact_count", "supervised", "supervision_note",
)  # fmt: skip


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then one CSV line per row (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _chain(header, rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _chain(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield header
    yield from rows


def _time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def _phone(value: str | None, mask: bool) -> str:
    if not value:
        return ""
    return mask_number(value) if mask else value


def _name(value: str | None, mask: bool) -> str:
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1) if mask else value


def calls_csv(
    session: Session, *, start: datetime, end: datetime, tz: str, mask: bool = False
) -> Iterator[str]:
    """Calls that started in [start, end), oldest first."""
    zone = ZoneInfo(tz)
    query = (
        select(
            Call.call_sid, Call.direction, Call.from_e164, Call.from_raw, Call.to_e164,
            Call.started_at, Call.answered_at, Call.ended_at, Call.duration_s, Call.status,
            Call.outcome, Call.resolved_in_call, Call.language,
        )
        .where(Call.started_at >= start, Call.started_at < end)
        .order_by(Call.started_at, Call.id)
        .execution_options(yield_per=BATCH)
    )  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for r in session.execute(query):
            yield [
                r.call_sid, r.direction, _phone(r.from_e164, mask) or ("" if mask else r.from_raw),
                _phone(r.to_e164, False), _time(r.started_at, zone), _time(r.answered_at, zone),
                _time(r.ended_at, zone), r.duration_s, r.status, r.outcome or "",
                int(bool(r.resolved_in_call)), r.language or "",
            ]  # fmt: skip

    return csv_lines(CALL_COLUMNS, rows())


def orders_csv(
    session: Session, *, start: datetime, end: datetime, tz: str, mask: bool = False
) -> Iterator[str]:
    """Work orders registered in [start, end), oldest first."""
    zone = ZoneInfo(tz)
    dept, handler, category = aliased(Department), aliased(Handler), aliased(Category)
    query = (
        select(WorkOrder, category.code, dept.code, handler.code)
        .join(category, category.id == WorkOrder.category_id)
        .outerjoin(dept, dept.id == WorkOrder.department_id)
        .outerjoin(handler, handler.id == WorkOrder.handler_id)
        .where(WorkOrder.registered_at >= start, WorkOrder.registered_at < end)
        .order_by(WorkOrder.registered_at, WorkOrder.id)
        .execution_options(yield_per=BATCH)
    )

    def rows() -> Iterator[list[Any]]:
        for o, category_code, dept_code, handler_code in session.execute(query):
            on_time = "" if o.completed_at is None else int(o.completed_at <= o.deadline_at)
            hidden = o.anonymous
            yield [
                o.number, o.channel, category_code, o.urgency, o.state,
                _time(o.registered_at, zone), _time(o.deadline_at, zone),
                _time(o.original_deadline_at, zone), _time(o.completed_at, zone),
                _time(o.closed_at, zone), on_time, dept_code or "", handler_code or "",
                WITHHELD if hidden else _name(o.contact_name, mask),
                WITHHELD if hidden else _phone(o.contact_phone, mask),
                int(o.anonymous), o.case_number or "", o.summary, o.satisfaction or "",
                o.urge_count, o.redo_count, o.contact_count, int(o.supervised),
                o.supervision_note or "",
            ]  # fmt: skip
            session.expunge(o)  # keep the identity map from growing with the range

    return csv_lines(ORDER_COLUMNS, rows())
