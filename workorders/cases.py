"""The court-case registry: cases, their parties and the parties' phone numbers.

Sensitive identifiers are never stored in clear: a party's ID number is kept as a keyed
hash plus its last digits (what callers key to prove who they are), and the case's
litigation-service query password as an argon2 hash.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.base import Base, utcnow
from workorders.contacts import Contact


class PartyRole(StrEnum):
    PLAINTIFF = "plaintiff"  # 原告
    DEFENDANT = "defendant"  # 被告
    APPELLANT = "appellant"  # 上诉人
    APPELLEE = "appellee"  # 被上诉人
    APPLICANT = "applicant"  # 申请人 / 申请执行人
    RESPONDENT = "respondent"  # 被申请人 / 被执行人
    THIRD_PARTY = "third_party"  # 第三人
    DEFENDANT_CRIMINAL = "accused"  # 被告人
    VICTIM = "victim"  # 被害人
    AGENT = "agent"  # 诉讼代理人 (a lawyer: one number, many cases)


class CourtCase(Base):
    __tablename__ = "court_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(60), unique=True)  # normalised form
    year: Mapped[int]
    court_code: Mapped[str] = mapped_column(String(20))  # 粤03
    type_code: Mapped[str] = mapped_column(String(10))  # 民终
    serial: Mapped[int]
    court_name: Mapped[str] = mapped_column(String(100), default="")
    division: Mapped[str | None] = mapped_column(String(40))  # routing code, e.g. civil_appeal
    cause: Mapped[str] = mapped_column(String(200), default="")  # 案由, e.g. 医疗损害责任纠纷
    stage: Mapped[str] = mapped_column(String(40), default="")  # e.g. mediation, trial, closed
    # What the IVR reads back about the stage, per language: {"zh-CN": "…", "en-US": "…"}.
    status_text: Mapped[dict[str, Any]] = mapped_column(default=dict)
    filing_date: Mapped[date | None] = mapped_column(Date)
    next_hearing_at: Mapped[datetime | None]
    next_hearing_place: Mapped[str | None] = mapped_column(String(200))
    judge_name: Mapped[str | None] = mapped_column(String(50))
    clerk_name: Mapped[str | None] = mapped_column(String(50))
    clerk_phone: Mapped[str | None] = mapped_column(String(20))
    query_password_hash: Mapped[str | None] = mapped_column(String(200))
    # Identity checks against this case: failures in a row, and a lock agents can see.
    failed_checks: Mapped[int] = mapped_column(default=0)
    check_locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parties: Mapped[list[Party]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Party.id"
    )

    __table_args__ = (Index("ix_court_cases_year_serial", "year", "serial"),)


class Party(Base):
    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("court_cases.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC-SHA256 hex
    id_last_digits: Mapped[str | None] = mapped_column(String(6))

    case: Mapped[CourtCase] = relationship(back_populates="parties")
    phones: Mapped[list[PartyPhone]] = relationship(
        back_populates="party", cascade="all, delete-orphan"
    )


class PartyPhone(Base):
    """A number a party can call from: the bridge from a caller's contact to their cases."""

    __tablename__ = "party_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("case_parties.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)

    party: Mapped[Party] = relationship(back_populates="phones")
    contact: Mapped[Contact] = relationship()

    __table_args__ = (
        UniqueConstraint("party_id", "contact_id", name="uq_party_phones_party_contact"),
    )
