"""The case path by phone, through the simulator and the running app: a known caller is
matched, confirms, passes the identity check and hears the status; wrong passwords lock;
a caller without cases keys the case number; nothing is disclosed without the check."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hotline.db import Database
from hotline.sim.call import simulate_call
from tests.conftest import LiveServer
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, wait_for
from workorders.calls import Call, CallEvent
from workorders.case_registry import CaseRecord, PartyRecord, upsert_case
from workorders.cases import CourtCase, PartyRole

PASSWORD = "135790"


def new_case(database: Database, *, phone: str, serial: int) -> CourtCase:
    with database.session() as session:
        case, _ = upsert_case(
            session,
            CaseRecord(
                case_number=f"（2023）粤03民终{serial}号",
                cause="买卖合同纠纷",
                stage="trial",
                status_text={"zh-CN": "二审审理阶段", "en-US": "second instance, under trial"},
                next_hearing_at=datetime.now(UTC) + timedelta(days=12),
                next_hearing_place="第七法庭",
                clerk_name="孙书记员",
                clerk_phone="+8675583000000",
                query_password=PASSWORD,
                parties=[
                    PartyRecord(
                        name="周某",
                        role=PartyRole.APPELLANT,
                        id_number="440301199001011234",
                        phones=[phone],
                    )
                ],
            ),
            pepper="test-secret",
        )
        session.commit()
        return case


def call(server: LiveServer, keys: str, from_number: str) -> Any:
    report = simulate_call(
        server.url,
        auth_token=TEST_AUTH_TOKEN,
        account_sid=TEST_ACCOUNT_SID,
        from_number=from_number,
        keys=keys,
    )
    assert report.ok, report.transcript
    return report


def heard(report: Any) -> str:
    return " ".join(text for _, text in report.said)


def mobile() -> str:
    return f"+86135{secrets.randbelow(10**8):08d}"


def test_known_caller_confirms_is_checked_and_hears_the_status(
    live_server: LiveServer, database: Database, worker: Any
) -> None:
    phone = mobile()
    new_case(database, phone=phone, serial=70001)
    # Mandarin · yes, that case · its progress · password · end
    report = call(live_server, f"1,1,1,{PASSWORD}#,2", phone)
    text = heard(report)
    assert "七零零零一" in text.replace(" ", "") or "70001" in text, report.transcript
    assert "二审审理阶段" in text and "第七法庭" in text and "孙书记员" in text
    with database.session() as session:
        row = session.execute(select(Call).where(Call.call_sid == report.call_sid)).scalar_one()
        assert row.resolved_in_call
        assert "case_password" not in (row.flow_context.get("vars") or {})
        keyed = [
            e.params.get("Digits")
            for e in session.execute(select(CallEvent).where(CallEvent.call_id == row.id)).scalars()
        ]
    assert PASSWORD not in keyed and f"{PASSWORD}#" not in keyed and "***" in keyed
    outcome = wait_for(lambda: _outcome(database, report.call_sid), timeout=30)
    assert outcome == "resolved_in_ivr"


def _outcome(database: Database, sid: str) -> str | None:
    with database.session() as session:
        return session.execute(select(Call.outcome).where(Call.call_sid == sid)).scalar_one()


def test_wrong_passwords_lock_and_disclose_nothing(
    live_server: LiveServer, database: Database
) -> None:
    phone = mobile()
    case = new_case(database, phone=phone, serial=70002)
    report = call(live_server, "2,1,1,1111#,2222#,3333#", phone)  # English, yes, progress, 3 wrong
    text = heard(report)
    assert "not correct" in text and "locked" in text, report.transcript
    assert "under trial" not in text and "Courtroom" not in text
    with database.session() as session:
        locked = session.get(CourtCase, case.id)
        assert locked is not None and locked.check_locked_until is not None  # agents see it
    # The locked caller was offered the operator, found none and left a message, which
    # opened an order on the case: calling again, they hear where it stands, then the right
    # password is refused while the lock lasts.
    again = call(live_server, f"2,1,{PASSWORD}#", phone)
    assert "You reported this matter earlier" in heard(again)
    assert "locked" in heard(again) and "under trial" not in heard(again)


def test_caller_without_cases_keys_the_case_number(
    live_server: LiveServer, database: Database
) -> None:
    new_case(database, phone=mobile(), serial=70003)
    stranger = mobile()
    # English · (unknown caller) case status · year · serial · password · end
    report = call(live_server, f"2,1,2023#,70003#,{PASSWORD}#,2", stranger)
    text = heard(report)
    assert "We found" in text and "under trial" in text, report.transcript
    missing = call(live_server, "2,1,2023#,99999#,2", stranger)
    assert "we found no case of 2023 with number 99999" in heard(missing)


def test_a_caller_who_says_it_is_not_that_case_is_asked_for_the_number(
    live_server: LiveServer, database: Database
) -> None:
    phone = mobile()
    new_case(database, phone=phone, serial=70004)
    report = call(live_server, "2,2,1,.", phone)  # English · not that case · case status
    assert "year the case was filed" in heard(report), report.transcript
