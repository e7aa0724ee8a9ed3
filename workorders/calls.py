"""Calls and their events: what happened on each call, as Twilio reported it, in SQL."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.base import Base, utcnow
from workorders.contacts import Contact


class CallStatus(StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def rank(self) -> int:
        """Progress order: a status never goes back to a lower rank."""
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self.rank == 3


_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.COMPLETED: 3,
    CallStatus.BUSY: 3,
    CallStatus.NO_ANSWER: 3,
    CallStatus.FAILED: 3,
    CallStatus.CANCELED: 3,
}


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_DIAL = "outbound-dial"


class CallOutcome(StrEnum):
    """How a call ended for the hotline, written by the call-completed job."""

    RESOLVED_IN_IVR = "resolved_in_ivr"  # answered during the call, no work order
    TRANSFERRED = "transferred"  # handed to an agent queue
    MESSAGE_LEFT = "message_left"  # a statement or message was recorded
    NO_REQUEST = "no_request"  # hung up before asking anything
    ABANDONED = "abandoned"  # hung up in the middle of the flow
    COMPLETED = "completed"  # reached the end of the flow
    FAILED = "failed"  # never connected (busy, failed, no answer, canceled)


class EventKind(StrEnum):
    INCOMING = "incoming"
    STEP = "step"
    STATUS = "status"
    RECORDING = "recording"


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_sid: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(20), default=CallDirection.INBOUND)
    from_raw: Mapped[str | None] = mapped_column(String(64))
    to_raw: Mapped[str | None] = mapped_column(String(64))
    from_e164: Mapped[str | None] = mapped_column(String(20))
    to_e164: Mapped[str | None] = mapped_column(String(20))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.RINGING)
    # Highest SequenceNumber of the status callbacks applied so far (they arrive out of order).
    status_sequence: Mapped[int | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration_s: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(16))
    flow: Mapped[str | None] = mapped_column(String(64))
    current_node: Mapped[str | None] = mapped_column(String(64))
    # The flow engine's context; Redis keeps the live copy, this one rebuilds it.
    flow_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step_seq: Mapped[int] = mapped_column(default=0)
    resolved_in_call: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact | None] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_calls_from_e164_started_at", "from_e164", "started_at"),
        Index("ix_calls_started_at", "started_at"),
    )


class CallEvent(Base):
    """One webhook or status callback as received; `dedup_key` makes replays no-ops."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    node: Mapped[str | None] = mapped_column(String(64))
    sequence_number: Mapped[int | None]
    call_status: Mapped[str | None] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The TwiML answered, so a replayed request gets the very same answer.
    response: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="events")
