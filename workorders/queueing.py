"""Agent queues in SQL: one `QueueEntry` per caller per queue visit, from entering the queue
to leaving it (answered, abandoned, callback, queue full, timeout, after hours, error).

Twilio holds the live queue; these rows are the record the KPIs count (agent connection
rate, answered within N s, abandonment with position and wait) and what the agent console
lists. Every update is idempotent: a replayed webhook finds the entry already left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow


class QueueOutcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting
    CALLBACK = "callback"  # the caller left for a callback that keeps their place
    QUEUE_FULL = "queue_full"
    TIMEOUT = "timeout"  # waited longer than the queue's maximum
    AFTER_HOURS = "after_hours"  # outside the agents' hours, or no agent signed in
    ERROR = "error"


class QueueEntry(Base):
    """A caller's visit to one agent queue. `visit` counts the caller's queue visits within the
    call (a caller may be transferred twice), so (call_sid, visit) is the natural key."""

    __tablename__ = "queue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    visit: Mapped[int] = mapped_column(default=1)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(40))
    from_e164: Mapped[str | None] = mapped_column(String(20))
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    position_at_entry: Mapped[int] = mapped_column(default=1)
    # The last position Twilio reported to the wait URL: where an abandoning caller was.
    last_position: Mapped[int | None]
    left_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    wait_s: Mapped[float | None]
    agent_login: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[datetime | None]
    handle_s: Mapped[float | None]  # talk time, once the bridged call ended
    # An agent was called to take this caller (cleared when that agent does not answer).
    offered_to: Mapped[str | None] = mapped_column(String(80))
    offered_at: Mapped[datetime | None]
    agent_call_sid: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("call_sid", "visit", name="uq_queue_entries_call_sid_visit"),
        Index("ix_queue_entries_queue_left_at", "queue", "left_at"),
        Index("ix_queue_entries_enqueued_at", "enqueued_at"),
    )

    @property
    def waiting(self) -> bool:
        return self.left_at is None


def current_entry(session: Session, call_sid: str, *, lock: bool = False) -> QueueEntry | None:
    """The caller's latest queue visit in this call."""
    query = (
        select(QueueEntry)
        .where(QueueEntry.call_sid == call_sid)
        .order_by(QueueEntry.visit.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def waiting_count(session: Session, queue: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(QueueEntry)
            .where(QueueEntry.queue == queue, QueueEntry.left_at.is_(None))
        )
        or 0
    )


def enter_queue(
    session: Session,
    *,
    call_sid: str,
    call_id: int | None,
    queue: str,
    from_e164: str | None,
    now: datetime,
) -> QueueEntry:
    """A new visit: the caller joins the end of `queue`."""
    previous = current_entry(session, call_sid)
    if previous is not None and previous.waiting:
        # Still waiting in a queue (a lost action callback): that visit ends here.
        leave_queue(session, previous, outcome=QueueOutcome.ERROR, now=now)
    entry = QueueEntry(
        call_sid=call_sid,
        visit=(previous.visit + 1) if previous else 1,
        call_id=call_id,
        queue=queue,
        from_e164=from_e164,
        enqueued_at=now,
        position_at_entry=waiting_count(session, queue) + 1,
    )
    entry.last_position = entry.position_at_entry
    session.add(entry)
    session.flush()
    return entry


def record_closed(
    session: Session,
    *,
    call_sid: str,
    call_id: int | None,
    queue: str,
    from_e164: str | None,
    outcome: QueueOutcome,
    now: datetime,
) -> QueueEntry:
    """A transfer that could not queue (after hours, queue full): counted as requested."""
    entry = enter_queue(
        session, call_sid=call_sid, call_id=call_id, queue=queue, from_e164=from_e164, now=now
    )
    leave_queue(session, entry, outcome=outcome, now=now, wait_s=0.0)
    return entry


def leave_queue(
    session: Session,
    entry: QueueEntry,
    *,
    outcome: QueueOutcome,
    now: datetime,
    wait_s: float | None = None,
    position: int | None = None,
) -> bool:
    """Close the visit once; False (and nothing changed) when it was already closed."""
    if entry.left_at is not None:
        return False
    entry.left_at = now
    entry.outcome = outcome
    entry.wait_s = wait_s if wait_s is not None else _seconds(entry.enqueued_at, now)
    if position is not None:
        entry.last_position = position
    entry.offered_to = None
    return True


def mark_answered(
    session: Session,
    entry: QueueEntry,
    *,
    agent_login: str,
    agent_call_sid: str | None,
    now: datetime,
    wait_s: float | None,
) -> bool:
    """The caller was bridged to an agent (the dequeue started)."""
    if entry.answered_at is not None:
        return False
    entry.answered_at = now
    entry.agent_login = agent_login
    entry.agent_call_sid = agent_call_sid
    if entry.left_at is None:
        leave_queue(session, entry, outcome=QueueOutcome.ANSWERED, now=now, wait_s=wait_s)
    else:  # the action callback came first: the visit is known to be answered
        entry.outcome = QueueOutcome.ANSWERED
    return True


def set_handle_time(
    entry: QueueEntry, *, handle_s: float | None, now: datetime, authoritative: bool = False
) -> bool:
    """Talk time once the bridge ended: Twilio's DialCallDuration (`authoritative`, it wins
    whenever it comes) or, lacking it, the clock since the bridge started."""
    if entry.answered_at is None:
        return False
    if authoritative and handle_s is not None:
        entry.handle_s = handle_s
        return True
    if entry.handle_s is not None:
        return False
    entry.handle_s = handle_s if handle_s is not None else _seconds(entry.answered_at, now)
    return True


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, round((end - start).total_seconds(), 3))


def waiting_entries(session: Session, queues: list[str] | None = None) -> list[QueueEntry]:
    """Callers waiting now, longest-waiting first (the order agents take them in)."""
    query = select(QueueEntry).where(QueueEntry.left_at.is_(None))
    if queues is not None:
        query = query.where(QueueEntry.queue.in_(queues))
    return list(session.execute(query.order_by(QueueEntry.enqueued_at, QueueEntry.id)).scalars())


def entry_for_agent_call(session: Session, agent_call_sid: str) -> QueueEntry | None:
    return session.execute(
        select(QueueEntry).where(QueueEntry.agent_call_sid == agent_call_sid).limit(1)
    ).scalar_one_or_none()


# Recent answers tell how fast a queue moves; older ones describe another time of day.
ESTIMATE_WINDOW = timedelta(hours=2)
ESTIMATE_SAMPLE = 20


@dataclass(frozen=True)
class WaitEstimate:
    seconds: float | None  # None: too little history to say
    basis: str


def estimated_wait(session: Session, *, queue: str, position: int, now: datetime) -> WaitEstimate:
    """Position × the mean gap between recent answers in the queue (how fast the line moves);
    with a single recent answer, its own wait; with none, no estimate."""
    answered = list(
        session.execute(
            select(QueueEntry.answered_at, QueueEntry.wait_s)
            .where(
                QueueEntry.queue == queue,
                QueueEntry.answered_at.is_not(None),
                QueueEntry.answered_at >= now - ESTIMATE_WINDOW,
            )
            .order_by(QueueEntry.answered_at.desc())
            .limit(ESTIMATE_SAMPLE)
        )
    )
    if len(answered) >= 2:
        times = [a for a, _ in answered if a is not None]
        gap = (times[0] - times[-1]).total_seconds() / (len(times) - 1)
        return WaitEstimate(max(30.0, gap * max(1, position)), f"{len(times)} recent answers")
    if answered and answered[0][1] is not None:
        return WaitEstimate(max(30.0, float(answered[0][1])), "one recent answer")
    return WaitEstimate(None, "no recent answers")


def stale_waiting(session: Session, *, before: datetime) -> list[QueueEntry]:
    """Entries still open whose caller cannot still be waiting (a lost action callback)."""
    return list(
        session.execute(
            select(QueueEntry).where(QueueEntry.left_at.is_(None), QueueEntry.enqueued_at < before)
        ).scalars()
    )
