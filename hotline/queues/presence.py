"""Agent presence in Redis (available / busy / wrap-up / offline): one hash, a JSON value per
login. Presence can be rebuilt (agents set it again), so Redis is the right home; an agent
is claimed for an offer atomically, so two offers never ring the same agent."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import redis

from hotline.live import publish as live_publish

log = logging.getLogger(__name__)

KEY = "hotline:agents:presence"
# The live channel (`hotline.live`, the console's SSE) of presence and queue changes.
LIVE_NAME = "queues"
LIVE_CHANNEL = "hotline:live:" + LIVE_NAME  # its pub/sub topic


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap-up"
    OFFLINE = "offline"


@dataclass(frozen=True)
class AgentState:
    login: str
    status: str
    since: datetime
    call_sid: str | None = None  # the call the agent is on (the caller's, once bridged)
    reason: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "since": self.since.isoformat(),
                "call_sid": self.call_sid,
                "reason": self.reason,
            }
        )

    @classmethod
    def from_json(cls, login: str, raw: bytes | str) -> AgentState:
        data = json.loads(raw)
        return cls(
            login=login,
            status=data.get("status", Presence.OFFLINE),
            since=datetime.fromisoformat(data["since"]),
            call_sid=data.get("call_sid"),
            reason=data.get("reason", ""),
        )


def offline(login: str) -> AgentState:
    return AgentState(login, Presence.OFFLINE, datetime.fromtimestamp(0, UTC))


def set_presence(
    client: redis.Redis,
    login: str,
    status: Presence | str,
    *,
    now: datetime,
    call_sid: str | None = None,
    reason: str = "",
) -> AgentState:
    state = AgentState(login, Presence(status), now, call_sid, reason)
    client.hset(KEY, login, state.to_json())
    publish(client, "presence", login=login, status=state.status)
    return state


def publish(client: redis.Redis, kind: str, **data: object) -> None:
    """Tell live pages something changed (they re-read the state); never fails a caller.
    Through `hotline.live` (numbered, with history) so the console's SSE can stream it; the
    event's name is `kind`."""
    payload = json.loads(json.dumps({"kind": kind, **data}, default=str))
    try:
        live_publish(client, LIVE_NAME, kind, payload)
    except redis.RedisError as exc:
        log.info("live update not published: %s", exc)


def get_presence(client: redis.Redis, login: str) -> AgentState:
    raw: bytes | None = client.hget(KEY, login)  # type: ignore[assignment]
    return AgentState.from_json(login, raw) if raw else offline(login)


def all_presence(client: redis.Redis) -> dict[str, AgentState]:
    raw: dict[bytes, bytes] = client.hgetall(KEY)  # type: ignore[assignment]
    return {k.decode(): AgentState.from_json(k.decode(), v) for k, v in raw.items()}


# available → busy only if still available: the check and the write are one step in Redis.
_CLAIM = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local state = cjson.decode(raw)
if state['status'] ~= 'available' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def claim(client: redis.Redis, login: str, *, now: datetime, reason: str) -> bool:
    """Mark an available agent busy for an offer; False when someone else got them first."""
    busy = AgentState(login, Presence.BUSY, now, None, reason)
    return bool(client.eval(_CLAIM, 1, KEY, login, busy.to_json()))


def release(client: redis.Redis, login: str, *, now: datetime, to: Presence | str) -> None:
    """End an offer or a call: the agent goes to `to` unless they went offline meanwhile."""
    current = get_presence(client, login)
    if current.status == Presence.OFFLINE:
        return
    set_presence(client, login, to, now=now)
