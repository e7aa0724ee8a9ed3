"""Caller matching: from a phone number (and what the caller keys) to the cases and open
matters they most likely call about, ranked, with the reasons for each score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.calls import Call
from workorders.cases import CourtCase, Party, PartyPhone, PartyRole
from workorders.contacts import Contact
from workorders.lifecycle import OPEN_STATES
from workorders.orders import WorkOrder

REPEAT_WINDOWS = (timedelta(hours=24), timedelta(hours=48))
# More cases than this on one number (a law firm, a company switchboard): the number alone
# says nothing about which case, so nothing is proposed from it.
SHARED_NUMBER_CASES = 5
CLOSED_STAGES = frozenset({"closed", "archived", "结案", "已结案"})
# rapidfuzz ratio from which a typed or transcribed name counts: Chinese names are 2–3
# characters, so one wrong character must still match (2 of 3 alike scores 67, 1 of 2
# scores 50). It only narrows the caller's own few candidates, so lenient is safe.
NAME_MATCH_SCORE = 50


@dataclass
class Candidate:
    """A case (and/or an open work order) the caller may be calling about."""

    case: CourtCase | None
    order: WorkOrder | None = None
    party: Party | None = None
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    repeat: bool = False  # the matter of the caller's previous call (within the window)

    @property
    def key(self) -> tuple[str, int]:
        if self.case is not None:
            return ("case", self.case.id)
        assert self.order is not None
        return ("order", self.order.id)

    def add(self, points: float, reason: str) -> None:
        self.score += points
        self.reasons.append(reason)


@dataclass
class Match:
    candidates: list[Candidate]
    shared_number: bool = False  # the number belongs to many parties: not a basis to choose

    @property
    def best(self) -> Candidate | None:
        """The candidate to propose, when it clearly leads."""
        if not self.candidates or self.shared_number:
            return None
        first = self.candidates[0]
        if len(self.candidates) > 1 and self.candidates[1].score >= first.score * 0.8:
            return None
        return first


def _party_rows(session: Session, phone_e164: str) -> list[tuple[Party, CourtCase]]:
    return [
        (party, case)
        for party, case in session.execute(
            select(Party, CourtCase)
            .join(PartyPhone, PartyPhone.party_id == Party.id)
            .join(Contact, Contact.id == PartyPhone.contact_id)
            .join(CourtCase, CourtCase.id == Party.case_id)
            .where(Contact.phone_e164 == phone_e164)
            .limit(SHARED_NUMBER_CASES * 4)
        )
    ]


def previous_call(
    session: Session, *, phone_e164: str, now: datetime, exclude_call_id: int | None = None
) -> Call | None:
    """The caller's latest earlier call within the longest repeat window."""
    query = (
        select(Call)
        .where(Call.from_e164 == phone_e164, Call.started_at >= now - max(REPEAT_WINDOWS))
        .order_by(Call.started_at.desc())
        .limit(2)
    )
    for call in session.execute(query).scalars():
        if call.id != exclude_call_id:
            return call
    return None


def match_caller(
    session: Session, *, phone_e164: str | None, now: datetime, exclude_call_id: int | None = None
) -> Match:
    """Rank the caller's cases and open orders from their number alone."""
    if not phone_e164:
        return Match([])
    found: dict[tuple[str, int], Candidate] = {}
    rows = _party_rows(session, phone_e164)
    case_ids = {case.id for _, case in rows}
    shared = len(case_ids) > SHARED_NUMBER_CASES
    for party, case in rows:
        cand = found.setdefault(("case", case.id), Candidate(case=case, party=party))
        if len(cand.reasons) == 0:
            cand.add(50, f"the number is a party's ({party.role})")
            if party.role == PartyRole.AGENT:
                cand.add(-15, "the number is an agent's (a lawyer may have many cases)")
            if case.stage in CLOSED_STAGES:
                cand.add(-20, "the case is closed")
            if case.next_hearing_at is not None and case.next_hearing_at >= now:
                days = (case.next_hearing_at - now).days
                cand.add(max(0, 10 - days) / 2, f"a hearing in {days} day(s)")
    orders = session.execute(
        select(WorkOrder)
        .where(WorkOrder.contact_phone == phone_e164, WorkOrder.state.in_(OPEN_STATES))
        .order_by(WorkOrder.registered_at.desc())
        .limit(10)
    ).scalars()
    by_case_number = {c.case.case_number: c for c in found.values() if c.case is not None}
    for order in orders:
        on_case = by_case_number.get(order.case_number or "")
        if on_case is None:
            alone = found.setdefault(("order", order.id), Candidate(case=None, order=order))
            alone.add(40, f"an open work order {order.number}")
        else:
            on_case.order = on_case.order or order
            on_case.add(15, f"an open work order {order.number} on the case")
    repeat = previous_call(session, phone_e164=phone_e164, now=now, exclude_call_id=exclude_call_id)
    if repeat is not None:
        _boost_last_matter(found, repeat, now)
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.key))
    return Match(ranked, shared_number=shared)


def _boost_last_matter(found: dict[tuple[str, int], Candidate], call: Call, now: datetime) -> None:
    """A repeat caller lands on the matter of their last call (its case or its order)."""
    hours = max(0, int((now - call.started_at).total_seconds() // 3600))
    window = "24 h" if now - call.started_at <= REPEAT_WINDOWS[0] else "48 h"
    memory = (call.flow_context or {}).get("vars") or {}
    case_id = (memory.get("case") or {}).get("id")
    order_id = (memory.get("work_order") or {}).get("id")
    for cand in found.values():
        same_case = cand.case is not None and cand.case.id == case_id
        same_order = cand.order is not None and cand.order.id == order_id
        if same_case or same_order:
            cand.repeat = True
            cand.add(40, f"the matter of a call {hours} h ago (repeat within {window})")


def cases_by_keys(
    session: Session, *, year: int, serial: int, among: Sequence[CourtCase] = ()
) -> list[CourtCase]:
    """Cases with this year and serial; the caller's own candidates first when any match."""
    own = [c for c in among if c.year == year and c.serial == serial]
    if own:
        return own
    return list(
        session.execute(
            select(CourtCase)
            .where(CourtCase.year == year, CourtCase.serial == serial)
            .order_by(CourtCase.id)
            .limit(20)
        ).scalars()
    )


def narrow_by_name(candidates: Sequence[Candidate], name: str) -> list[Candidate]:
    """Candidates with a party whose name matches a typed or transcribed name (fuzzy)."""
    kept = []
    for cand in candidates:
        if cand.case is None:
            continue
        best = max((fuzz.ratio(name, p.name) for p in cand.case.parties), default=0.0)
        if best >= NAME_MATCH_SCORE:
            cand.add(best / 5, f"party name matches ({best:.0f}%)")
            kept.append(cand)
    return sorted(kept, key=lambda c: -c.score)
