"""Caller matching and the identity check against a real database (rolled back per test)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from workorders.calendar import BusinessCalendar
from workorders.calls import Call
from workorders.cases import CourtCase, Party, PartyPhone
from workorders.contacts import ensure_contact
from workorders.identity import MAX_FAILURES, CheckResult, verify_identity
from workorders.matching import SHARED_NUMBER_CASES, cases_by_keys, match_caller, narrow_by_name
from workorders.services import Intake, register_work_order

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def phone() -> str:
    return f"+86139{secrets.randbelow(10**8):08d}"


def add_case(
    session: Session,
    *,
    number_phone: str | None,
    serial: int,
    name: str = "范某某",
    role: str = "appellant",
    stage: str = "mediation",
    password: str | None = "hash:246810",
    last4: str = "4321",
) -> CourtCase:
    case = CourtCase(
        case_number=f"（2022）粤03民终{serial}号",
        year=2022,
        court_code="粤03",
        type_code="民终",
        serial=serial,
        division="civil_appeal",
        stage=stage,
        status_text={"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"},
        query_password_hash=password,
    )
    party = Party(name=name, role=role, id_last_digits=last4)
    case.parties.append(party)
    session.add(case)
    session.flush()
    if number_phone:
        contact = ensure_contact(session, phone_e164=number_phone)
        session.add(PartyPhone(party_id=party.id, contact_id=contact.id))
        session.flush()
    return case


def fake_check(stored: str, given: str) -> bool:
    return stored == f"hash:{given}"


def test_a_party_number_proposes_its_case(session: Session) -> None:
    mine, other = phone(), phone()
    case = add_case(session, number_phone=mine, serial=900001)
    add_case(session, number_phone=other, serial=900002)
    match = match_caller(session, phone_e164=mine, now=NOW)
    assert match.best is not None and match.best.case is case
    assert "party's (appellant)" in " ".join(match.best.reasons)
    assert match_caller(session, phone_e164=None, now=NOW).candidates == []
    assert match_caller(session, phone_e164=phone(), now=NOW).best is None


def test_a_number_shared_by_many_parties_proposes_nothing(session: Session) -> None:
    firm = phone()
    for i in range(SHARED_NUMBER_CASES + 1):
        add_case(session, number_phone=firm, serial=910000 + i, name="律师", role="agent")
    match = match_caller(session, phone_e164=firm, now=NOW)
    assert match.shared_number and match.best is None
    assert len(match.candidates) == SHARED_NUMBER_CASES + 1


def test_a_repeat_caller_lands_on_the_matter_of_the_last_call(session: Session) -> None:
    caller = phone()
    first = add_case(session, number_phone=caller, serial=920001)
    second = add_case(session, number_phone=caller, serial=920002)
    tie = match_caller(session, phone_e164=caller, now=NOW)
    assert tie.best is None  # two cases, nothing to choose between them
    session.add(
        Call(
            call_sid=f"CA{secrets.token_hex(16)}",
            from_e164=caller,
            started_at=NOW - timedelta(hours=3),
            flow_context={"vars": {"case": {"id": second.id}}},
        )
    )
    session.flush()
    match = match_caller(session, phone_e164=caller, now=NOW)
    assert match.best is not None and match.best.case is second
    assert any("3 h ago (repeat within 24 h)" in r for r in match.best.reasons)
    assert first in [c.case for c in match.candidates]


def test_an_open_order_without_a_case_is_a_candidate(
    session: Session, calendar: BusinessCalendar
) -> None:
    caller = phone()
    order, _ = register_work_order(
        session,
        intake=Intake(channel="phone", category="other", summary="来电留言", contact_phone=caller),
        actor="ivr",
        calendar=calendar,
        now=NOW - timedelta(hours=2),
    )
    match = match_caller(session, phone_e164=caller, now=NOW)
    assert match.best is not None and match.best.order is order and match.best.case is None


def test_keyed_year_and_serial_prefer_the_callers_own_cases(session: Session) -> None:
    caller = phone()
    mine = add_case(session, number_phone=caller, serial=930001)
    other = CourtCase(
        case_number="（2022）粤0304民初930001号",
        year=2022,
        court_code="粤0304",
        type_code="民初",
        serial=930001,
    )
    session.add(other)
    session.flush()
    assert cases_by_keys(session, year=2022, serial=930001, among=[mine]) == [mine]
    assert set(cases_by_keys(session, year=2022, serial=930001)) == {mine, other}
    assert cases_by_keys(session, year=2021, serial=930001) == []


def test_a_typed_name_narrows_fuzzily(session: Session) -> None:
    caller = phone()
    add_case(session, number_phone=caller, serial=940001, name="范建国")
    add_case(session, number_phone=caller, serial=940002, name="李秀英")
    match = match_caller(session, phone_e164=caller, now=NOW)
    kept = narrow_by_name(match.candidates, "范建囯")  # one character mistyped
    assert [c.case.serial for c in kept if c.case] == [940001]


def test_identity_check_password_digits_and_lock(session: Session) -> None:
    case = add_case(session, number_phone=phone(), serial=950001)
    ok = verify_identity(
        session, case_id=case.id, keys="246810", now=NOW, check_password=fake_check
    )
    assert ok.result is CheckResult.OK
    by_id = verify_identity(
        session, case_id=case.id, keys="4321#", now=NOW, check_password=fake_check
    )
    assert by_id.result is CheckResult.OK and by_id.party is case.parties[0]
    results = [
        verify_identity(session, case_id=case.id, keys="0000", now=NOW, check_password=fake_check)
        for _ in range(MAX_FAILURES)
    ]
    assert [r.result for r in results] == [CheckResult.WRONG] * (MAX_FAILURES - 1) + [
        CheckResult.LOCKED
    ]
    assert results[0].attempts_left == MAX_FAILURES - 1
    locked = verify_identity(
        session, case_id=case.id, keys="246810", now=NOW, check_password=fake_check
    )
    assert locked.result is CheckResult.LOCKED  # even the right password, while locked
    assert case.check_locked_until is not None  # visible to agents
    later = verify_identity(
        session,
        case_id=case.id,
        keys="246810",
        now=NOW + timedelta(hours=1),
        check_password=fake_check,
    )
    assert later.result is CheckResult.OK
    assert (
        verify_identity(
            session,
            case_id=case.id,
            keys="",
            now=NOW + timedelta(hours=1),
            check_password=fake_check,
        ).result
        is CheckResult.WRONG
    )
