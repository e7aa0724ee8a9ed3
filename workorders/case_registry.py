"""Registering court cases: upserting one with its parties and phones, finding one by number."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.case_numbers import CaseNumber, parse_case_number
from workorders.cases import CourtCase, Party, PartyPhone, PartyRole
from workorders.contacts import ensure_contact
from workorders.phones import normalize_number

# Default argon2id parameters: slow on purpose (a query password is only 6 digits, so the
# hash's cost is all that stands between a leaked table and the passwords).
# OWASP's minimum argon2id setting (19 MiB, 2 passes, 1 lane): ~30 ms a hash instead of the
# library default's ~250 ms here, so importing 100,000 cases takes minutes, not hours. The
# query password is short; the lockout after 3 wrong tries is what guards it by phone.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

ID_LAST_DIGITS = 4


class CaseRecordError(ValueError):
    """A record that cannot be registered; the message is the reason, fit for an import report."""


@dataclass(frozen=True)
class PartyRecord:
    """A party as an import or the generator describes it: clear ID and raw phone numbers."""

    name: str
    role: PartyRole
    id_number: str | None = None  # clear; None keeps what is stored for an existing party
    phones: Sequence[str] = ()


@dataclass(frozen=True)
class CaseRecord:
    """A case as an import or the generator describes it, before normalising and hashing."""

    case_number: str
    court_name: str = ""
    cause: str = ""
    stage: str = ""
    status_text: Mapping[str, str] = field(default_factory=dict)
    filing_date: date | None = None
    next_hearing_at: datetime | None = None  # aware
    next_hearing_place: str | None = None
    judge_name: str | None = None
    clerk_name: str | None = None
    clerk_phone: str | None = None
    query_password: str | None = None  # clear; None (or empty) keeps the stored hash
    parties: Sequence[PartyRecord] = ()


def normalize_id_number(id_number: str) -> str:
    """The form that is hashed: full-width digits folded (NFKC), no spaces, an upper-case X."""
    return "".join(unicodedata.normalize("NFKC", id_number).split()).upper()


def hash_id_number(id_number: str, *, pepper: str) -> str:
    """HMAC-SHA256 hex of the normalised ID number, keyed so a leaked table cannot be
    brute-forced over the small space of valid ID numbers without the key as well."""
    if not pepper:
        raise ValueError("an ID hash needs a non-empty pepper")
    digest = hmac.new(pepper.encode(), normalize_id_number(id_number).encode(), hashlib.sha256)
    return digest.hexdigest()


def id_last_digits(id_number: str) -> str:
    """The last characters of the normalised ID number: what a caller keys to prove identity."""
    return normalize_id_number(id_number)[-ID_LAST_DIGITS:]


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; a malformed or foreign hash is a mismatch, not an error."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False


def validate_record(record: CaseRecord, *, region: str = "CN") -> CaseNumber:
    """The parsed case number of a record that can be registered, else CaseRecordError.

    Raises the parser's CaseNumberError (a ValueError) for an unparseable number."""
    number = parse_case_number(record.case_number)
    if record.next_hearing_at is not None and record.next_hearing_at.utcoffset() is None:
        raise CaseRecordError("next_hearing_at has no time zone")
    if record.clerk_phone and normalize_number(record.clerk_phone, region) is None:
        raise CaseRecordError(f"clerk_phone {record.clerk_phone!r} is not a phone number")
    seen: set[tuple[str, str]] = set()
    for index, party in enumerate(record.parties, start=1):
        name = party.name.strip()
        if not name:
            raise CaseRecordError(f"party {index} has no name")
        try:
            role = PartyRole(party.role)
        except ValueError:
            raise CaseRecordError(f"party {index} has an unknown role {party.role!r}") from None
        if (name, role) in seen:
            raise CaseRecordError(f"party {index} ({name}, {role}) is listed twice")
        seen.add((name, role))
        if party.id_number is not None and not normalize_id_number(party.id_number):
            raise CaseRecordError(f"party {index} has an empty ID number")
        for raw in party.phones:
            if normalize_number(raw, region) is None:
                raise CaseRecordError(f"party {index} phone {raw!r} is not a phone number")
    return number


def upsert_case(
    session: Session, record: CaseRecord, *, pepper: str, region: str = "CN"
) -> tuple[CourtCase, bool]:
    """Create or update the case keyed by its normalised number; True when it is new.

    The record is the whole truth about the case's parties: parties absent from it are
    removed, those that stay (same name and role) keep their ids, and each party's phones are
    set to exactly the record's. Flushes, never commits."""
    number = validate_record(record, region=region)
    normalized = number.format()
    case = session.execute(
        select(CourtCase).where(CourtCase.case_number == normalized)
    ).scalar_one_or_none()
    created = case is None
    if case is None:
        case = CourtCase(case_number=normalized)
        session.add(case)
    case.year = number.year
    case.court_code = number.court
    case.type_code = number.type_code
    case.serial = number.serial
    case.division = number.division
    case.court_name = record.court_name
    case.cause = record.cause
    case.stage = record.stage
    case.status_text = dict(record.status_text)
    case.filing_date = record.filing_date
    case.next_hearing_at = record.next_hearing_at
    case.next_hearing_place = record.next_hearing_place or None
    case.judge_name = record.judge_name or None
    case.clerk_name = record.clerk_name or None
    case.clerk_phone = normalize_number(record.clerk_phone, region) if record.clerk_phone else None
    if record.query_password:
        case.query_password_hash = hash_password(record.query_password)
    _replace_parties(session, case, record.parties, pepper=pepper, region=region)
    session.flush()
    return case, created


def _replace_parties(
    session: Session,
    case: CourtCase,
    records: Sequence[PartyRecord],
    *,
    pepper: str,
    region: str,
) -> None:
    # Contacts first: ensure_contact executes SQL, and an autoflush in the middle of
    # rebuilding the party list would write a half-built graph.
    contact_ids = [_contact_ids(session, party.phones, region=region) for party in records]
    existing = {(p.name, p.role): p for p in case.parties}
    parties: list[Party] = []
    for party_record, wanted in zip(records, contact_ids, strict=True):
        name, role = party_record.name.strip(), str(PartyRole(party_record.role))
        party = existing.pop((name, role), None) or Party(name=name, role=role)
        if party_record.id_number is not None:
            party.id_hash = hash_id_number(party_record.id_number, pepper=pepper)
            party.id_last_digits = id_last_digits(party_record.id_number)
        kept = [phone for phone in party.phones if phone.contact_id in wanted]
        have = {phone.contact_id for phone in kept}
        party.phones = kept + [PartyPhone(contact_id=c) for c in wanted if c not in have]
        parties.append(party)
    case.parties = parties  # parties left in `existing` are orphans and get deleted


def _contact_ids(session: Session, phones: Sequence[str], *, region: str) -> list[int]:
    ids: list[int] = []
    for raw in phones:
        e164 = normalize_number(raw, region)
        if e164 is None:  # validate_record already refused these
            raise CaseRecordError(f"phone {raw!r} is not a phone number")
        contact_id = ensure_contact(session, phone_e164=e164).id
        if contact_id not in ids:
            ids.append(contact_id)
    return ids


def find_case(session: Session, case_number_text: str) -> CourtCase | None:
    """The case with this number however it is written; raises CaseNumberError if unparseable."""
    normalized = parse_case_number(case_number_text).format()
    return session.execute(
        select(CourtCase).where(CourtCase.case_number == normalized)
    ).scalar_one_or_none()
