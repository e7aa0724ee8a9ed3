"""Demo data for `make run`: a few known callers, so a first simulated call has a history."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.contacts import Contact
from workorders.organisation import DEFAULT_ORGANISATION, load_organisation

DEMO_CONTACTS = [
    ("+8613800138000", "范先生 (demo)"),
    ("+8613900139000", "李女士 (demo)"),
]


def load_demo_data(session: Session, organisation: Path | None = None) -> int:
    """Insert what is missing (the court's organisation, demo callers); twice adds nothing."""
    load_organisation(session, organisation or DEFAULT_ORGANISATION)
    added = 0
    for number, name in DEMO_CONTACTS:
        found = session.execute(
            select(Contact).where(Contact.phone_e164 == number)
        ).scalar_one_or_none()
        if found is None:
            session.add(Contact(phone_e164=number, name=name))
            added += 1
    return added
