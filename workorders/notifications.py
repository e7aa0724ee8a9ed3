"""Messages to citizens about their orders (an outbox): written in the same transaction as
the move that causes them, sent afterwards by a job, so a rolled-back move sends nothing and
a committed one is never forgotten (the sweep re-sends what is still pending)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow
from workorders.calendar import BusinessCalendar
from workorders.orders import WorkOrder

OUTBOX_KEY = "hotline.outbox"  # Session.info key: ids to send once the transaction commits
MAX_ATTEMPTS = 5


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good (bad number…) or out of attempts
    SKIPPED = "skipped"  # nothing to send with (no sender number configured)


class NotificationKind(StrEnum):
    REGISTERED = "registered"
    EXTENDED = "extended"
    REPLIED = "replied"


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    to_phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(64))  # Twilio's MessageSid
    # One message per order, kind and deadline: a repeated move does not text twice.
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


def _date(when: datetime, calendar: BusinessCalendar, language: str) -> str:
    local = when.astimezone(calendar.tz)
    if language == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日"
    return f"{local.day} {local:%B %Y}"


def message_text(order: WorkOrder, kind: NotificationKind, calendar: BusinessCalendar) -> str:
    """The text in the order's language (Chinese unless the citizen used English)."""
    zh = order.language != "en-US"
    due = _date(order.deadline_at, calendar, "zh-CN" if zh else "en-US")
    if kind is NotificationKind.REGISTERED:
        return (
            f"【诉讼服务热线】您的诉求已登记，工单号{order.number}，我们将于{due}前答复。"
            if zh
            else f"[Court hotline] Your matter is registered as {order.number}; "
            f"we will reply by {due}."
        )
    if kind is NotificationKind.EXTENDED:
        return (
            f"【诉讼服务热线】您的工单{order.number}经批准延期办理，新的答复期限为{due}。"
            if zh
            else f"[Court hotline] Work order {order.number} was given more time; "
            f"the new reply date is {due}."
        )
    reply = (order.reply or "").strip()
    return (
        f"【诉讼服务热线】您的工单{order.number}已有答复：{reply}"
        if zh
        else f"[Court hotline] Work order {order.number} has been answered: {reply}"
    )


def add_notification(
    session: Session, order: WorkOrder, kind: NotificationKind, calendar: BusinessCalendar
) -> Notification | None:
    """Queue a text to the order's contact; None when there is nobody to text or it exists."""
    if not order.contact_phone:
        return None
    key = f"{kind}:{order.id}:{order.deadline_at.astimezone(UTC).isoformat(timespec='minutes')}"
    if kind is NotificationKind.REPLIED:
        key = f"{kind}:{order.id}:{order.redo_count}"
    exists = session.execute(select(Notification.id).where(Notification.dedup_key == key)).first()
    if exists:
        return None
    note = Notification(
        work_order_id=order.id,
        kind=kind,
        to_phone=order.contact_phone,
        body=message_text(order, kind, calendar),
        dedup_key=key,
    )
    session.add(note)
    session.flush()
    session.info.setdefault(OUTBOX_KEY, []).append(note.id)
    return note


def pending_notifications(session: Session, *, older_than: datetime) -> list[int]:
    """Ids still pending since before `older_than` (their job was lost or is retrying)."""
    return list(
        session.execute(
            select(Notification.id).where(
                Notification.status == NotificationStatus.PENDING,
                Notification.created_at < older_than,
                Notification.attempts < MAX_ATTEMPTS,
            )
        ).scalars()
    )
