"""Work orders and their event log: one registry for every channel (the SQL model)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from workorders.base import Base, utcnow
from workorders.lifecycle import State
from workorders.organisation import Category, Department, Handler


class Channel(StrEnum):
    PHONE = "phone"
    LETTER = "letter"
    VISIT = "visit"
    TRANSFER = "transfer"  # from a superior court
    WEB = "web"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # WO-2026-000123
    channel: Mapped[str] = mapped_column(String(16))
    # The sender's own reference (e.g. the superior court's), unique per channel, so the same
    # transfer sent twice registers once.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    contact_address: Mapped[str | None] = mapped_column(String(400))
    anonymous: Mapped[bool] = mapped_column(default=False)  # name and number hidden from handlers
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")  # for messages to them
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    urgency: Mapped[str] = mapped_column(String(10), default=Urgency.NORMAL)
    summary: Mapped[str] = mapped_column(String(300))
    statement: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    transcript: Mapped[str | None] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(60), index=True)
    case_division: Mapped[str | None] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("handlers.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=State.REGISTERED, index=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    original_deadline_at: Mapped[datetime]
    extension_requested_days: Mapped[int | None]  # set while an extension awaits a decision
    supervised: Mapped[bool] = mapped_column(default=False)
    supervision_note: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    urge_count: Mapped[int] = mapped_column(default=0)
    redo_count: Mapped[int] = mapped_column(default=0)
    contact_count: Mapped[int] = mapped_column(default=1)  # contacts about this matter
    reply: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    replied_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic lock on top of the row lock: a stale read can never overwrite a newer move.
    version: Mapped[int] = mapped_column(default=1)

    category: Mapped[Category] = relationship()
    department: Mapped[Department | None] = relationship()
    handler: Mapped[Handler | None] = relationship()
    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="work_order", order_by="WorkOrderEvent.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("channel", "external_ref", name="uq_work_orders_channel_external_ref"),
        Index("ix_work_orders_state_deadline_at", "state", "deadline_at"),
    )

    @property
    def is_open(self) -> bool:
        from workorders.lifecycle import OPEN_STATES

        return self.state in OPEN_STATES


class WorkOrderEvent(Base):
    """One row per change: who, when, the move, from and to, a reason code and a note.

    Append-only: rows are inserted, never updated or deleted (the audit trail)."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    move: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Natural id of timer events (e.g. "remind:2026-10-13T18:00"), so a job run twice
    # writes one event.
    dedup_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    work_order: Mapped[WorkOrder] = relationship(back_populates="events")


class AuditTrailError(RuntimeError):
    """Raised when code tries to change or delete a row of the audit trail."""


@event.listens_for(WorkOrderEvent, "before_update")
@event.listens_for(WorkOrderEvent, "before_delete")
def _append_only(_mapper: Mapper[Any], _conn: Connection, target: WorkOrderEvent) -> None:
    # The event log is the record of who did what: a correction is a new event, never an edit.
    raise AuditTrailError(f"work order event {target.id} is append-only")


class NumberSequence(Base):
    """Counters for readable numbers: one row per (name, year)."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
