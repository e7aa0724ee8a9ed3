"""The identity check before any case information is disclosed: the case's query password
or the last digits of a party's ID number, with a lock after repeated failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.cases import CourtCase, Party

MAX_FAILURES = 3
LOCK_FOR = timedelta(minutes=30)


class CheckResult(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Check:
    result: CheckResult
    attempts_left: int
    locked_until: datetime | None = None
    party: Party | None = None


def is_locked(case: CourtCase, now: datetime) -> bool:
    return case.check_locked_until is not None and case.check_locked_until > now


def verify_identity(
    session: Session,
    *,
    case_id: int,
    keys: str,
    now: datetime,
    check_password: Callable[[str, str], bool],
    parties: list[Party] | None = None,
) -> Check:
    """Check `keys` against the case's query password or a party's ID last digits.

    `parties` limits the ID check to the parties the caller could be (those of their number);
    by default any party of the case. The case row is locked so two calls cannot race the
    counter; the caller's transaction commits. `check_password` is the password hasher's
    verify (injected: argon2 lives in the case registry)."""
    case = session.execute(
        select(CourtCase)
        .where(CourtCase.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if is_locked(case, now):
        return Check(CheckResult.LOCKED, 0, case.check_locked_until)
    keys = (keys or "").strip().rstrip("#")
    candidates = parties if parties is not None else list(case.parties)
    matched = next(
        (p for p in candidates if keys and p.id_last_digits and keys == p.id_last_digits), None
    )
    if matched is not None or (
        keys and case.query_password_hash and check_password(case.query_password_hash, keys)
    ):
        case.failed_checks, case.check_locked_until = 0, None
        return Check(CheckResult.OK, MAX_FAILURES, party=matched)
    case.failed_checks += 1
    if case.failed_checks >= MAX_FAILURES:
        case.failed_checks, case.check_locked_until = 0, now + LOCK_FOR
        return Check(CheckResult.LOCKED, 0, case.check_locked_until)
    return Check(CheckResult.WRONG, MAX_FAILURES - case.failed_checks)
