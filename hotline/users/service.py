"""Creating and changing users, and checking a login: every change writes an audit event.

Services never commit; the CLI command or console view does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.users.models import AuditEvent, AuditKind, User
from hotline.users.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from hotline.users.roles import Role, RoleError, format_roles
from workorders.base import utcnow
from workorders.organisation import Handler

LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")


class UserError(ValueError):
    pass


def audit(
    session: Session,
    kind: str,
    *,
    actor: str,
    subject: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
    row = AuditEvent(
        kind=kind, actor=actor[:80], subject=subject, ip=ip, detail=detail, at=utcnow()
    )
    session.add(row)
    return row


def find_user(session: Session, login: str) -> User | None:
    return session.execute(
        select(User).where(User.login == login.strip().lower())
    ).scalar_one_or_none()


def get_user(session: Session, login: str) -> User:
    user = find_user(session, login)
    if user is None:
        raise UserError(f"no user {login!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.login)).scalars())


def handler_by_code(session: Session, code: str) -> Handler:
    handler = session.execute(select(Handler).where(Handler.code == code)).scalar_one_or_none()
    if handler is None:
        raise UserError(f"unknown handler {code!r} (see `hotline workorders setup`)")
    return handler


def _check_roles(session: Session, user: User, roles: frozenset[Role]) -> None:
    if not roles:
        raise RoleError("a user needs at least one role")
    if Role.HANDLER in roles and user.handler_id is None:
        raise UserError("a handler user must be linked to a handler: give --handler CODE")


def create_user(
    session: Session,
    *,
    login: str,
    display_name: str,
    roles: frozenset[Role],
    password: str | None,
    actor: str,
    handler_code: str | None = None,
) -> User:
    login = login.strip().lower()
    if not LOGIN_PATTERN.match(login):
        raise UserError(f"bad login {login!r}: 2–60 lower-case letters, digits, '.', '_', '-'")
    if find_user(session, login) is not None:
        raise UserError(f"a user {login!r} exists already")
    user = User(
        login=login,
        display_name=display_name.strip() or login,
        roles="",
        active=True,
        failed_logins=0,
        session_version=1,
    )
    if handler_code:
        handler = handler_by_code(session, handler_code)
        taken = session.execute(select(User.login).where(User.handler_id == handler.id)).first()
        if taken:
            raise UserError(f"handler {handler_code!r} is already user {taken[0]!r}")
        user.handler = handler
        user.handler_id = handler.id
    _check_roles(session, user, roles)
    user.roles = format_roles(roles)
    if password is not None:
        _set_hash(user, password)
    session.add(user)
    session.flush()
    audit(
        session,
        AuditKind.USER_CREATED,
        actor=actor,
        subject=login,
        roles=user.roles,
        handler=handler_code,
    )
    return user


def set_roles(session: Session, user: User, roles: frozenset[Role], *, actor: str) -> bool:
    """Replace the user's roles; False (and no event) when nothing changes."""
    _check_roles(session, user, roles)
    new = format_roles(roles)
    if new == user.roles:
        return False
    audit(session, AuditKind.ROLES_CHANGED, actor=actor, subject=user.login,
          before=user.roles, after=new)  # fmt: skip
    user.roles = new
    return True


def _set_hash(user: User, password: str) -> None:
    problem = check_password_rules(password)
    if problem:
        raise UserError(problem)
    user.password_hash = hash_password(password)


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    _set_hash(user, password)
    user.session_version += 1  # signs out every session of the old password
    user.failed_logins, user.locked_until = 0, None
    audit(session, AuditKind.PASSWORD_SET, actor=actor, subject=user.login)


def set_active(session: Session, user: User, active: bool, *, actor: str) -> bool:
    if user.active == active:
        return False
    user.active = active
    user.session_version += 1
    kind = AuditKind.USER_ENABLED if active else AuditKind.USER_DISABLED
    audit(session, kind, actor=actor, subject=user.login)
    return True


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str  # ok, bad_credentials, locked, disabled


def check_login(
    session: Session,
    *,
    login: str,
    password: str,
    policy: LoginPolicy,
    ip: str | None,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login and password, counting failures per user and locking the user out
    for `policy.lockout` after `policy.max_failures` in a row. While locked, even the right
    password is refused, and failures do not extend the lock (nobody can lock a user out
    for ever by guessing). The caller commits: the audit events must be kept even when
    the login fails."""
    now = now or utcnow()
    name = login.strip().lower()[:60]
    user = session.execute(
        select(User).where(User.login == name).with_for_update()
    ).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        audit(session, AuditKind.LOGIN_FAILED, actor="anonymous", subject=name, ip=ip,
              why="unknown login")  # fmt: skip
        return LoginResult(None, "bad_credentials")
    if not user.active:
        audit(session, AuditKind.LOGIN_REFUSED, actor="anonymous", subject=name, ip=ip,
              why="disabled", password_ok=ok)  # fmt: skip
        return LoginResult(None, "disabled")
    if user.locked_until is not None and user.locked_until > now:
        audit(session, AuditKind.LOGIN_REFUSED, actor="anonymous", subject=name, ip=ip,
              why="locked", until=user.locked_until.isoformat(), password_ok=ok)  # fmt: skip
        return LoginResult(None, "locked")
    if not ok:
        user.failed_logins += 1
        audit(session, AuditKind.LOGIN_FAILED, actor="anonymous", subject=name, ip=ip,
              why="wrong password", failures=user.failed_logins)  # fmt: skip
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + policy.lockout
            user.failed_logins = 0
            audit(session, AuditKind.LOCKOUT, actor="system", subject=name, ip=ip,
                  until=user.locked_until.isoformat())  # fmt: skip
        return LoginResult(None, "bad_credentials")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit(session, AuditKind.LOGIN, actor=user.actor, subject=name, ip=ip)
    return LoginResult(user, "ok")
