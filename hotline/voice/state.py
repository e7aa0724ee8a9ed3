"""Per-call flow state in Redis (a hash with a TTL), rebuilt from the call row when missing.

Redis holds the live copy so other processes (media streams, the agent console) can read
where a call is without the database; the `Call` row is the durable copy, so a flushed or
unreachable Redis costs nothing but a warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from workorders.calls import Call

log = logging.getLogger(__name__)


@dataclass
class CallState:
    flow: str
    node: str | None
    seq: int
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, call: Call, default_flow: str) -> CallState:
        return cls(
            flow=call.flow or default_flow,
            node=call.current_node,
            seq=call.step_seq,
            context=dict(call.flow_context or {}),
        )

    def to_row(self, call: Call) -> None:
        call.flow = self.flow
        call.current_node = self.node
        call.step_seq = self.seq
        call.flow_context = self.context
        call.language = self.context.get("language", call.language)


def _key(call_sid: str) -> str:
    return f"hotline:call:{call_sid}"


class CallStateStore:
    """Reads and writes call states; `connect` is called per use, so creating the store does no
    I/O and a Redis that is down at startup is picked up once it comes back."""

    def __init__(self, connect: Callable[[], redis.Redis], ttl_s: int) -> None:
        self.connect = connect
        self.ttl_s = ttl_s

    def load(self, call: Call, default_flow: str) -> CallState:
        """Redis's copy unless it is missing, unreachable or older than the row's."""
        row = CallState.from_row(call, default_flow)
        try:
            raw: dict[bytes, bytes] = self.connect().hgetall(_key(call.call_sid))  # type: ignore[assignment]
        except redis.RedisError as exc:
            log.warning("call state: Redis unavailable (%s); using the call row", exc)
            return row
        if not raw:
            return row
        try:
            cached = CallState(
                flow=raw[b"flow"].decode(),
                node=raw[b"node"].decode() or None,
                seq=int(raw[b"seq"]),
                context=json.loads(raw[b"context"]),
            )
        except (KeyError, ValueError) as exc:
            log.warning("call state for %s unreadable (%s); using the call row", call.call_sid, exc)
            return row
        return cached if cached.seq >= row.seq else row

    def save(self, call_sid: str, state: CallState) -> None:
        mapping: dict[str | bytes, str | int] = {
            "flow": state.flow,
            "node": state.node or "",
            "seq": state.seq,
            "context": json.dumps(state.context, ensure_ascii=False),
            "language": state.context.get("language", ""),
        }
        try:
            pipe = self.connect().pipeline(transaction=False)
            pipe.hset(_key(call_sid), mapping=mapping)  # type: ignore[arg-type]
            pipe.expire(_key(call_sid), self.ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("call state: could not save to Redis (%s); the call row has it", exc)

    def forget(self, call_sid: str) -> None:
        with contextlib.suppress(redis.RedisError):  # the TTL removes it anyway
            self.connect().delete(_key(call_sid))

    def language_hint(self, call_sid: str) -> str | None:
        """The call's language from Redis alone (the database may be what is down)."""
        try:
            raw = self.connect().hget(_key(call_sid), "language")
        except redis.RedisError:
            return None
        return raw.decode() if isinstance(raw, bytes) and raw else None
