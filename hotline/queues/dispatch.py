"""Offering work to free agents: the longest-waiting item of an agent's skill queues goes first,
whether it is a caller waiting in a Twilio queue or a callback keeping someone's place.

Design: agents are not on a permanent line. When an agent is free and work waits, the
worker places a REST call to the agent (their phone number or Twilio Client identity). For a
waiting caller its TwiML is `<Dial><Queue>` (Twilio bridges the front caller of that queue);
for a callback it dials the citizen from the agent's call (agent first) or rings the citizen
and then the agent (customer first). An agent who does not pick up goes offline, and the
work is offered to the next agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.queues import presence
from hotline.queues.runtime import QueueRuntime
from hotline.twilio_client import CallNotPlaced, place_call
from workorders.agents import AgentProfile, active_agents
from workorders.callbacks import (
    AttemptOutcome,
    Bridge,
    Callback,
    CallbackPurpose,
    CallbackStatus,
    begin_attempt,
    finish_attempt,
    get_callback,
    release_attempt,
)
from workorders.queueing import QueueEntry

log = logging.getLogger(__name__)

# An offer whose agent call never reported back is taken as lost after this long.
OFFER_EXPIRES = timedelta(seconds=90)


@dataclass(frozen=True)
class Offer:
    agent: str
    kind: str  # "caller" or "callback"
    item_id: int
    call_sid: str | None


def next_work(session: Session, skills: list[str], now: datetime) -> QueueEntry | Callback | None:
    """The item that has waited longest among the agent's queues: a waiting caller not yet
    offered to anyone, or a due callback (its place is when the caller joined the line)."""
    if not skills:
        return None
    entry = session.execute(
        select(QueueEntry)
        .where(
            QueueEntry.queue.in_(skills),
            QueueEntry.left_at.is_(None),
            (QueueEntry.offered_to.is_(None)) | (QueueEntry.offered_at < now - OFFER_EXPIRES),
        )
        .order_by(QueueEntry.enqueued_at, QueueEntry.id)
        .limit(1)
    ).scalar_one_or_none()
    callback = session.execute(
        select(Callback)
        .where(
            Callback.purpose == CallbackPurpose.CALLBACK,
            Callback.status == CallbackStatus.SCHEDULED,
            Callback.due_at <= now,
            Callback.queue.in_(skills),
        )
        .order_by(Callback.place_at, Callback.id)
        .limit(1)
    ).scalar_one_or_none()
    if entry is None or callback is None:
        return entry or callback
    return callback if callback.place_at < entry.enqueued_at else entry


def offer_work(session: Session, runtime: QueueRuntime) -> list[Offer]:
    """Give free agents (longest idle first) the oldest work of their skills; commits."""
    now = runtime.now()
    client = runtime.redis
    states = presence.all_presence(client)
    agents = {a.login: a for a in active_agents(session)}
    free = sorted(
        (
            s
            for s in states.values()
            if s.status == presence.Presence.AVAILABLE and s.login in agents
        ),
        key=lambda s: s.since,
    )
    offers: list[Offer] = []
    for state in free:
        agent = agents[state.login]
        item = next_work(session, list(agent.skills), now)
        if item is None:
            continue
        if not presence.claim(client, agent.login, now=now, reason="offer"):
            continue
        offer = (
            _offer_caller(session, runtime, agent, item, now)
            if isinstance(item, QueueEntry)
            else _offer_callback(session, runtime, agent, item, now)
        )
        if offer is not None:
            offers.append(offer)
    return offers


def _offer_caller(
    session: Session, runtime: QueueRuntime, agent: AgentProfile, entry: QueueEntry, now: datetime
) -> Offer | None:
    entry.offered_to, entry.offered_at = agent.login, now
    session.commit()  # the offer is recorded before the agent's phone rings
    try:
        sid = place_call(
            runtime.settings,
            to=agent.address,
            url=runtime.url("/voice/agent/answer", agent=agent.login),
            status_callback=runtime.url("/voice/agent/status", agent=agent.login),
            ring_s=runtime.config.agent_ring_s,
        )
    except CallNotPlaced as exc:
        log.warning("could not ring agent %s for caller %s: %s", agent.login, entry.call_sid, exc)
        entry.offered_to = None
        session.commit()
        presence.release(runtime.redis, agent.login, now=now, to=presence.Presence.AVAILABLE)
        return None
    presence.set_presence(
        runtime.redis,
        agent.login,
        presence.Presence.BUSY,
        now=now,
        call_sid=sid,
        reason=f"offer:caller:{entry.id}",
    )
    log.info(
        "agent %s rung (%s) for caller %s in %s", agent.login, sid, entry.call_sid, entry.queue
    )
    return Offer(agent.login, "caller", entry.id, sid)


def _offer_callback(
    session: Session, runtime: QueueRuntime, agent: AgentProfile, callback: Callback, now: datetime
) -> Offer | None:
    locked = get_callback(session, callback.id, lock=True)
    if locked is None or locked.status != CallbackStatus.SCHEDULED:
        session.rollback()
        presence.release(runtime.redis, agent.login, now=now, to=presence.Presence.AVAILABLE)
        return None
    attempt = begin_attempt(session, locked, now=now, agent_login=agent.login)
    session.commit()
    agent_first = locked.bridge == Bridge.AGENT_FIRST
    try:
        if agent_first:
            sid = place_call(
                runtime.settings,
                to=agent.address,
                url=runtime.url("/voice/callback/agent", attempt=attempt.id),
                status_callback=runtime.url(
                    "/voice/callback/status", attempt=attempt.id, leg="agent"
                ),
                ring_s=runtime.config.agent_ring_s,
            )
            attempt.agent_call_sid = sid
        else:
            sid = place_call(
                runtime.settings,
                to=locked.phone_e164,
                url=runtime.url("/voice/callback/customer", attempt=attempt.id),
                status_callback=runtime.url(
                    "/voice/callback/status", attempt=attempt.id, leg="customer"
                ),
                ring_s=runtime.config.callee_ring_s,
            )
            attempt.twilio_call_sid = sid
    except CallNotPlaced as exc:
        log.warning("callback %s attempt %s not placed: %s", locked.id, attempt.number, exc)
        if agent_first and not exc.wrong_number:
            release_attempt(locked, now=now)  # the agent's phone failed, not the citizen's
            session.delete(attempt)
            locked.attempts_made -= 1
        else:
            finish_attempt(
                session,
                attempt,
                outcome=AttemptOutcome.WRONG_NUMBER if exc.wrong_number else AttemptOutcome.FAILED,
                now=now,
                hours=runtime.config.calling_hours,
                calendar=runtime.calendar,
                backoff_s=runtime.config.retry_backoff_s,
                detail=str(exc),
            )
        session.commit()
        presence.release(runtime.redis, agent.login, now=now, to=presence.Presence.AVAILABLE)
        return None
    session.commit()
    presence.set_presence(
        runtime.redis,
        agent.login,
        presence.Presence.BUSY,
        now=now,
        call_sid=sid,
        reason=f"offer:callback:{locked.id}",
    )
    log.info(
        "callback %s attempt %s: %s placed (%s)", locked.id, attempt.number, sid, locked.bridge
    )
    return Offer(agent.login, "callback", locked.id, sid)
