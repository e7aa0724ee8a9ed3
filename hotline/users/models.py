"""The `users` and `audit_events` tables.

A handler user is linked to the `handlers` row that work orders are dispatched to (its
department is the handler's department); the voice side's `agents` table refers to users by
`login`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from hotline.users.roles import Role
from workorders.base import Base, utcnow
from workorders.organisation import Handler


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(120), default="")  # see roles.format_roles
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("handlers.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped when the password changes or the user is disabled: sessions signed with an
    # older value are refused at their next request.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    handler: Mapped[Handler | None] = relationship()

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)

    @property
    def actor(self) -> str:
        """How the user appears in work-order event logs."""
        return f"user:{self.login}"


class AuditEvent(Base):
    """Logins, failed logins, lockouts, user and role changes: append-only (the migration
    adds database triggers refusing UPDATE and DELETE; the ORM refuses them first)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # user:<login>, cli:<os user>, anonymous
    subject: Mapped[str | None] = mapped_column(String(80), index=True)  # the login concerned
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditKind:
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    IP_LOCKOUT = "ip_lockout"
    LOGIN_REFUSED = "login_refused"  # right or wrong password, while locked or disabled
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    ROLES_CHANGED = "roles_changed"
    PASSWORD_SET = "password_set"  # noqa: S105  (an event name)
    USER_DISABLED = "user_disabled"
    RETENTION_PURGE = "retention_purge"  # recordings' audio / transcripts past their period
    USER_ENABLED = "user_enabled"


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _ctx: Any, _instances: Any) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, AuditEvent):
            raise AppendOnlyError("audit events are append-only")
