"""API tokens: the model, and creating, checking, listing and revoking them.

Only a SHA-256 of a token is stored: the token itself is shown once, when it is created.
Kept free of Flask so the CLI and `hotline.models` (Alembic) can import it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow

TOKEN_PREFIX = "hl_"  # noqa: S105  (a marker that makes leaked tokens greppable, no secret)
# The actor of API events is "api:<name>" and the event log's actor column holds 80.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
# last_used_at is for people deciding what to revoke: minute precision is plenty, and it
# saves a write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    # The roles of hotline.users.roles, comma-separated. Tokens made before roles existed
    # keep the full access they had ("admin").
    roles: Mapped[str] = mapped_column(String(120), default="admin", server_default="admin")
    # A handler token acts for this handler: its handler moves only on their orders.
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("handlers.id"))

    @property
    def actor(self) -> str:
        return f"api:{self.name}"

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class TokenError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, name: str, roles: str = "admin", handler_id: int | None = None
) -> tuple[ApiToken, str]:
    """A new token named `name` with `roles` (comma-separated, already checked by the
    caller), acting for the handler `handler_id` if given: (row, the token itself — never
    stored, shown once)."""
    if not NAME_PATTERN.match(name):
        raise TokenError(f"bad token name {name!r}: letters, digits, '.', '_', '-', up to 60")
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
        raise TokenError(f"a token named {name!r} exists already (names are never reused)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name, token_sha256=hash_token(token), revoked=False, roles=roles, handler_id=handler_id
    )
    session.add(row)
    session.flush()
    return row, token


def find_token(session: Session, token: str) -> ApiToken | None:
    """The live (not revoked) token row for `token`, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.execute(
        select(ApiToken).where(
            ApiToken.token_sha256 == hash_token(token), ApiToken.revoked.is_(False)
        )
    ).scalar_one_or_none()


def touch_token(row: ApiToken, now: datetime | None = None) -> bool:
    """Record a use; True when the row changed (at most once a minute)."""
    now = now or utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
        return False
    row.last_used_at = now
    return True


def revoke_token(session: Session, *, name: str) -> bool:
    """Revoke the token named `name`; False when there is none or it was revoked already."""
    row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
    if row is None or row.revoked:
        return False
    row.revoked = True
    return True


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())
