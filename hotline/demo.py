"""Demo data for `make run`: a few known callers, so a first simulated call has a history."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.case_registry import CaseRecord, PartyRecord, find_case, upsert_case
from workorders.cases import PartyRole
from workorders.contacts import Contact
from workorders.organisation import DEFAULT_ORGANISATION, load_organisation

# The demo caller's case: `hotline sim call --from +8613800138000 --digits 1,1,1,123456#,2`
# confirms it, passes the identity check and hears its stage read back.
DEMO_CASE = CaseRecord(
    case_number="（2022）粤03民终5487号",
    court_name="深圳市中级人民法院",
    cause="医疗损害责任纠纷",
    stage="mediation",
    status_text={"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"},
    next_hearing_place="第三法庭",
    clerk_name="孙明",
    clerk_phone="+8675583000001",
    query_password="123456",  # noqa: S106  (demo data, printed in the README)
    parties=[
        PartyRecord(name="范某 (demo)", role=PartyRole.APPELLANT, phones=["+8613800138000"]),
        PartyRecord(name="深圳市某医院 (demo)", role=PartyRole.APPELLEE),
    ],
)

DEMO_CONTACTS = [
    ("+8613800138000", "范先生 (demo)"),
    ("+8613900139000", "李女士 (demo)"),
]


def load_demo_data(session: Session, *, pepper: str, organisation: Path | None = None) -> int:
    """Insert what is missing (the court's organisation, demo callers and their case);
    running it twice adds nothing."""
    load_organisation(session, organisation or DEFAULT_ORGANISATION)
    added = 0
    for number, name in DEMO_CONTACTS:
        found = session.execute(
            select(Contact).where(Contact.phone_e164 == number)
        ).scalar_one_or_none()
        if found is None:
            session.add(Contact(phone_e164=number, name=name))
            added += 1
    session.flush()
    if find_case(session, DEMO_CASE.case_number) is None:
        upsert_case(session, DEMO_CASE, pepper=pepper)
        added += 1
    return added
