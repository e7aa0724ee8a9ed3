"""The case registry: upserting cases by their normalised number, parties, phones, secrets."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workorders.case_numbers import CaseNumberError, parse_case_number
from workorders.case_registry import (
    CaseRecord,
    CaseRecordError,
    PartyRecord,
    check_password,
    find_case,
    hash_id_number,
    hash_password,
    id_last_digits,
    upsert_case,
)
from workorders.cases import CourtCase, Party, PartyPhone, PartyRole
from workorders.contacts import Contact

PEPPER = "registry-pepper"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ID_NUMBER = "44030419900307123X"


def record(**changes: object) -> CaseRecord:
    base = CaseRecord(
        case_number="（2022）粤03民终65487号",
        court_name="广东省深圳市中级人民法院",
        cause="医疗损害责任纠纷",
        stage="mediation",
        status_text={"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"},
        filing_date=date(2022, 3, 14),
        next_hearing_at=datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI),
        next_hearing_place="第3法庭",
        judge_name="王法官",
        clerk_name="李书记员",
        clerk_phone="0755 8320 1234",
        parties=(
            PartyRecord(
                "张伟", PartyRole.APPELLANT, ID_NUMBER, ("138 0013 8000", "+8615012345678")
            ),
            PartyRecord("深圳市某医院", PartyRole.APPELLEE, None, ("+8675582001111",)),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def party(case: CourtCase, role: PartyRole) -> Party:
    return next(p for p in case.parties if p.role == role)


def phones_of(p: Party) -> set[str]:
    return {link.contact.phone_e164 for link in p.phones}


def test_upsert_creates_the_case_with_its_parsed_number_parties_and_contacts(
    session: Session,
) -> None:
    case, created = upsert_case(session, record(), pepper=PEPPER)
    assert created
    assert (case.case_number, case.year, case.court_code, case.type_code, case.serial) == (
        "（2022）粤03民终65487号",
        2022,
        "粤03",
        "民终",
        65487,
    )
    assert case.division == parse_case_number("（2022）粤03民终65487号").division == "civil_appeal"
    assert case.clerk_phone == "+8675583201234"
    assert case.next_hearing_at == datetime(2026, 12, 3, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert [(p.name, p.role) for p in case.parties] == [
        ("张伟", "appellant"),
        ("深圳市某医院", "appellee"),
    ]
    assert phones_of(party(case, PartyRole.APPELLANT)) == {"+8613800138000", "+8615012345678"}
    contact = session.execute(
        select(Contact).where(Contact.phone_e164 == "+8613800138000")
    ).scalar_one()
    links = session.scalars(select(PartyPhone).where(PartyPhone.contact_id == contact.id)).all()
    assert [link.party.case.case_number for link in links] == ["（2022）粤03民终65487号"]


def test_reimport_written_differently_updates_the_same_row_and_replaces_parties(
    session: Session,
) -> None:
    first, _ = upsert_case(session, record(), pepper=PEPPER)
    appellant_id = party(first, PartyRole.APPELLANT).id
    appellee_id = party(first, PartyRole.APPELLEE).id
    again = record(
        case_number=" (2022) 粤03 民终 65487 号",  # half-width brackets and stray spaces
        stage="trial",
        status_text={"zh-CN": "二审审理阶段", "en-US": "second instance, trial"},
        next_hearing_at=None,
        parties=(
            PartyRecord("张伟", PartyRole.APPELLANT, None, ("+8613900139000",)),
            PartyRecord("陈静", PartyRole.THIRD_PARTY, None, ("+8613800138000",)),
        ),
    )
    second, created = upsert_case(session, again, pepper=PEPPER)
    assert not created and second.id == first.id
    count = select(func.count()).select_from(CourtCase)
    assert session.scalar(count.where(CourtCase.case_number == "（2022）粤03民终65487号")) == 1
    assert (second.stage, second.status_text["en-US"], second.next_hearing_at) == (
        "trial",
        "second instance, trial",
        None,
    )
    appellant = party(second, PartyRole.APPELLANT)
    assert appellant.id == appellant_id  # kept: same name and role
    assert appellant.id_last_digits == "123X"  # no ID in the record keeps the stored one
    assert phones_of(appellant) == {"+8613900139000"}
    assert session.get(Party, appellee_id) is None  # gone from the record, gone from the case
    assert phones_of(party(second, PartyRole.THIRD_PARTY)) == {"+8613800138000"}
    # Contacts outlive the links: they are the caller's, with their call history.
    assert session.scalar(select(Contact.id).where(Contact.phone_e164 == "+8615012345678"))


def test_id_number_is_kept_only_as_a_keyed_hash_and_last_digits(session: Session) -> None:
    written = "４４０３０４ 1990 0307 123x"  # full-width digits, spaces, a lower-case x
    case, _ = upsert_case(
        session,
        record(parties=(PartyRecord("张伟", PartyRole.APPELLANT, written, ()),)),
        pepper=PEPPER,
    )
    appellant = case.parties[0]
    expected = hmac.new(PEPPER.encode(), ID_NUMBER.encode(), hashlib.sha256).hexdigest()
    assert appellant.id_hash == expected == hash_id_number(written, pepper=PEPPER)
    assert hash_id_number(ID_NUMBER, pepper="another pepper") != expected
    assert appellant.id_last_digits == id_last_digits(written) == "123X"
    for model, row_id in ((Party, appellant.id), (CourtCase, case.id)):
        table = model.__table__
        row = session.execute(select(table).where(table.c.id == row_id)).one()
        values = " ".join(str(v) for v in row)
        assert "19900307" not in values and ID_NUMBER not in values.upper()


def test_id_hash_needs_a_pepper() -> None:
    with pytest.raises(ValueError, match="pepper"):
        hash_id_number(ID_NUMBER, pepper="")


def test_query_password_is_stored_as_an_argon2_hash(session: Session) -> None:
    case, _ = upsert_case(session, record(query_password="246810"), pepper=PEPPER)
    stored = case.query_password_hash
    assert stored is not None and stored.startswith("$argon2id$") and "246810" not in stored
    assert check_password(stored, "246810")
    assert not check_password(stored, "246811")
    assert not check_password("not a hash", "246810")
    assert not check_password(hash_password("other")[:-4] + "AAAA", "other")  # tampered
    upsert_case(session, record(case_number="(2022)粤03民终65487号"), pepper=PEPPER)
    assert case.query_password_hash == stored  # no password in the record keeps the hash


def test_find_case_reads_any_spelling_and_says_why_text_is_no_case_number(
    session: Session,
) -> None:
    case, _ = upsert_case(session, record(), pepper=PEPPER)
    assert find_case(session, "(2022)粤03民终65487号") is case
    assert find_case(session, "（2022）粤03民终65488号") is None
    with pytest.raises(CaseNumberError):
        find_case(session, "粤03民终65487")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"clerk_phone": "12"}, "clerk_phone"),
        ({"next_hearing_at": datetime(2026, 12, 3, 9, 30)}, "time zone"),
        ({"parties": (PartyRecord(" ", PartyRole.PLAINTIFF),)}, "party 1 has no name"),
        ({"parties": (PartyRecord("张伟", "judge"),)}, "unknown role"),  # type: ignore[arg-type]
        ({"parties": (PartyRecord("张伟", PartyRole.PLAINTIFF, None, ("abc",)),)}, "phone"),
        (
            {"parties": (PartyRecord("张伟", PartyRole.PLAINTIFF),) * 2},
            "party 2 (张伟, plaintiff) is listed twice",
        ),
    ],
    ids=["clerk-phone", "naive-time", "no-name", "role", "phone", "twice"],
)
def test_a_record_that_cannot_be_registered_is_refused_with_its_reason(
    session: Session, changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(CaseRecordError, match=re.escape(reason)):
        upsert_case(session, record(**changes), pepper=PEPPER)
    assert find_case(session, "（2022）粤03民终65487号") is None


def test_an_unparseable_case_number_is_refused_with_the_parsers_reason(session: Session) -> None:
    with pytest.raises(CaseNumberError) as err:
        upsert_case(session, record(case_number="（2022）粤03民终号"), pepper=PEPPER)
    with pytest.raises(CaseNumberError) as direct:
        parse_case_number("（2022）粤03民终号")
    assert str(err.value) == str(direct.value)
