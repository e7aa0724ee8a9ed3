"""Agent profiles: how the hotline reaches an agent (phone number or Twilio Client identity) and
which skill queues they serve. Keyed by the user's `login`; presence lives in Redis."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow
from workorders.phones import normalize_number
from workorders.services import WorkOrderError

LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
CLIENT_IDENTITY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class AgentProfile(Base):
    __tablename__ = "agent_profiles"

    login: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    client_identity: Mapped[str | None] = mapped_column(String(100))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # queue names, in preference
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def address(self) -> str:
        """What Twilio dials: `client:identity` (a browser/softphone) or the phone number."""
        if self.client_identity:
            return f"client:{self.client_identity}"
        return self.phone_e164 or ""


def save_agent(
    session: Session,
    *,
    login: str,
    skills: list[str],
    known_queues: frozenset[str],
    phone: str | None = None,
    client_identity: str | None = None,
    name: str = "",
    region: str = "CN",
) -> AgentProfile:
    """Create or update an agent's profile; WorkOrderError names every problem."""
    problems = []
    if not LOGIN.match(login):
        problems.append(f"login {login!r}: letters, digits and ._@- only")
    phone_e164 = normalize_number(phone, region) if phone else None
    if phone and phone_e164 is None:
        problems.append(f"{phone!r} is not a phone number")
    if client_identity and not CLIENT_IDENTITY.match(client_identity):
        problems.append(f"client identity {client_identity!r}: letters, digits and _.- only")
    if not phone_e164 and not client_identity:
        problems.append("a phone number or a Twilio Client identity is required")
    unknown = [s for s in skills if s not in known_queues]
    if unknown:
        problems.append(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(known_queues)}")
    if not skills:
        problems.append("at least one skill queue is required")
    if problems:
        raise WorkOrderError("invalid_agent", "; ".join(problems))
    agent = session.get(AgentProfile, login) or AgentProfile(login=login)
    agent.name, agent.phone_e164, agent.client_identity = name, phone_e164, client_identity
    agent.skills, agent.active = list(dict.fromkeys(skills)), True
    session.add(agent)
    session.flush()
    return agent


def active_agents(session: Session) -> list[AgentProfile]:
    return list(
        session.execute(
            select(AgentProfile).where(AgentProfile.active.is_(True)).order_by(AgentProfile.login)
        ).scalars()
    )


def agent_by_address(session: Session, address: str) -> AgentProfile | None:
    if address.startswith("client:"):
        return session.execute(
            select(AgentProfile).where(AgentProfile.client_identity == address[7:])
        ).scalar_one_or_none()
    return session.execute(
        select(AgentProfile).where(AgentProfile.phone_e164 == address).limit(1)
    ).scalar_one_or_none()
