"""Contacts: the people who reach the hotline, one row per E.164 number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def ensure_contact(session: Session, *, phone_e164: str) -> Contact:
    """The contact for a number, created if new; safe when two webhooks race on it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Contact)
        .values(phone_e164=phone_e164, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["phone_e164"])
    )
    return session.execute(select(Contact).where(Contact.phone_e164 == phone_e164)).scalar_one()
