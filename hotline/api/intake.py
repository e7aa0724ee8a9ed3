"""Intake through the API: replay by external reference, duplicates proposed or attached,
else a new registration. Writes in the caller's session; the view commits and enqueues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.api.present import present_candidate
from hotline.api.problems import Problem
from workorders.calendar import BusinessCalendar
from workorders.lifecycle import Move, MoveRequest
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.services import (
    DuplicateCandidate,
    Intake,
    check_intake,
    find_duplicates,
    move_work_order,
    register_work_order,
)


@dataclass
class IntakeOutcome:
    order: WorkOrder
    created: bool = False
    attached: bool = False
    replayed: bool = False
    candidates: list[DuplicateCandidate] = field(default_factory=list)


def attach_key(intake: Intake) -> str:
    """The natural id of a repeat contact sent with a reference: the same one sent twice
    attaches once (the event log's unique dedup_key)."""
    return f"attach:{intake.channel}:{intake.external_ref}"


def replay(session: Session, intake: Intake) -> IntakeOutcome | None:
    """What this external reference already produced: a registration or an attached contact."""
    if not intake.external_ref:
        return None
    order = session.execute(
        select(WorkOrder).where(
            WorkOrder.channel == intake.channel, WorkOrder.external_ref == intake.external_ref
        )
    ).scalar_one_or_none()
    if order is not None:
        return IntakeOutcome(order, replayed=True)
    event = session.execute(
        select(WorkOrderEvent).where(WorkOrderEvent.dedup_key == attach_key(intake))
    ).scalar_one_or_none()
    if event is not None:
        return IntakeOutcome(event.work_order, attached=True, replayed=True)
    return None


def take_in(
    session: Session,
    intake: Intake,
    *,
    on_duplicate: str,
    actor: str,
    calendar: BusinessCalendar,
    now: datetime,
) -> IntakeOutcome:
    previous = replay(session, intake)
    if previous is not None:
        return previous
    # Checked before looking for duplicates, so a bad request is a 400 and never a 409.
    check_intake(session, intake)
    candidates = find_duplicates(session, intake)
    if candidates and on_duplicate == "propose":
        raise Problem(
            409,
            "possible_duplicate",
            f"{len(candidates)} open order(s) look like the same matter; send on_duplicate "
            "'attach' to add this contact to the first, or 'register' to register anyway",
            candidates=[present_candidate(c) for c in candidates],
        )
    if candidates and on_duplicate == "attach":
        best = candidates[0].order
        note = "\n\n".join(part for part in (intake.summary.strip(), intake.statement) if part)
        order = move_work_order(
            session,
            order_id=best.id,
            move=Move.ATTACH_CONTACT,
            actor=actor,
            calendar=calendar,
            request=MoveRequest(note=note),
            data={"channel": intake.channel, "external_ref": intake.external_ref},
            dedup_key=attach_key(intake) if intake.external_ref else None,
            now=now,
        )
        return IntakeOutcome(order, attached=True, candidates=candidates)
    order, created = register_work_order(
        session, intake=intake, actor=actor, calendar=calendar, now=now
    )
    return IntakeOutcome(order, created=created, replayed=not created, candidates=candidates)
