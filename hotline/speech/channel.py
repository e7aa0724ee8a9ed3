"""What the web app and the stream process tell each other through Redis, per call.

The web turn writes what the caller may say now (an *expectation*: node, turn, grammar
phrases); the stream process publishes what it decided (a *result*) and moves the call on.
The stream process also keeps a heartbeat naming the languages it can hear, so the web app
starts media streams only while someone listens. No vosk here: the web app imports this.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from hotline.config import Settings

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "hotline:speech:streamer"
HEARTBEAT_TTL_S = 30
STATE_TTL_S = 3600
RESULT_TTL_S = 600


def _key(kind: str, call_sid: str) -> str:
    return f"hotline:speech:{kind}:{call_sid}"


@dataclass(frozen=True)
class Expectation:
    """What a caller may say at the node the call waits on, in the turn `seq`."""

    call_sid: str
    node: str
    seq: int
    kind: str  # "menu", "confirm" or "digits"
    language: str  # the call's language
    grammars: Mapping[str, Mapping[str, str]]  # language → phrase → key (menu / confirm)
    step_url: str  # where the call is moved when the answer is decided (REST update)
    min_digits: int = 1
    max_digits: int = 20
    sensitive: bool = False  # a password or ID digits: never logged

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Expectation:
        data = json.loads(raw)
        return cls(**data)


@dataclass(frozen=True)
class SpeechResult:
    """What the stream process decided for an expectation."""

    node: str
    seq: int
    key: str
    text: str
    heard: str
    confidence: float
    sure: bool
    model: str = ""
    decided_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> SpeechResult:
        return cls(**json.loads(raw))


class SpeechChannel:
    """Typed reads and writes of the speech keys; Redis errors are logged, never raised:
    speech is an extra, the call goes on with keys."""

    def __init__(self, connect: Callable[[], redis.Redis]) -> None:
        self._connect = connect

    @property
    def conn(self) -> redis.Redis:
        return self._connect()

    # --- stream process liveness -------------------------------------------------------

    def beat(self, languages: list[str], url: str) -> None:
        value = json.dumps(
            {"languages": languages, "url": url, "pid": os.getpid(), "at": time.time()}
        )
        self._do(lambda: self.conn.set(HEARTBEAT_KEY, value, ex=HEARTBEAT_TTL_S))

    def stop_beating(self) -> None:
        self._do(lambda: self.conn.delete(HEARTBEAT_KEY))

    def listening_languages(self) -> list[str] | None:
        """Languages the stream process can hear, or None when it is not running."""
        raw = self._do(lambda: self.conn.get(HEARTBEAT_KEY))
        if not raw:
            return None
        try:
            return list(json.loads(raw)["languages"])
        except (ValueError, KeyError, TypeError):
            return None

    # --- per call ----------------------------------------------------------------------

    def expect(self, expectation: Expectation) -> None:
        key = _key("expect", expectation.call_sid)
        self._do(lambda: self.conn.set(key, expectation.to_json(), ex=STATE_TTL_S))

    def clear_expectation(self, call_sid: str) -> None:
        self._do(lambda: self.conn.delete(_key("expect", call_sid)))

    def expectation(self, call_sid: str) -> Expectation | None:
        raw = self._do(lambda: self.conn.get(_key("expect", call_sid)))
        if not raw:
            return None
        try:
            return Expectation.from_json(raw)
        except (ValueError, TypeError) as exc:
            log.warning("speech: unreadable expectation for %s: %s", call_sid, exc)
            return None

    def publish(self, call_sid: str, result: SpeechResult) -> None:
        self._do(lambda: self.conn.set(_key("result", call_sid), result.to_json(), ex=RESULT_TTL_S))

    def take_result(self, call_sid: str, node: str) -> SpeechResult | None:
        """The decided answer for `node` (consumed: a replay or a later turn never sees it)."""
        key = _key("result", call_sid)
        raw = self._do(lambda: self.conn.getdel(key))
        if not raw:
            return None
        try:
            result = SpeechResult.from_json(raw)
        except (ValueError, TypeError):
            return None
        return result if result.node == node else None

    def mark_live(self, call_sid: str, live: bool) -> None:
        key = _key("live", call_sid)
        self._do(lambda: self.conn.set(key, "1", ex=STATE_TTL_S) if live else self.conn.delete(key))

    def mark_dropped(self, call_sid: str) -> None:
        self._do(lambda: self.conn.set(_key("dropped", call_sid), "1", ex=STATE_TTL_S))

    def take_dropped(self, call_sid: str) -> bool:
        return bool(self._do(lambda: self.conn.getdel(_key("dropped", call_sid))))

    def forget(self, call_sid: str) -> None:
        keys = [_key(k, call_sid) for k in ("expect", "result", "live", "dropped")]
        self._do(lambda: self.conn.delete(*keys))

    @staticmethod
    def _do(op: Any) -> Any:
        try:
            return op()
        except redis.RedisError as exc:
            log.warning("speech: Redis unavailable (%s); the call goes on with keys", exc)
            return None


def stream_url(settings: Settings) -> str:
    """The websocket URL the TwiML names (and Twilio signs): configured, else derived from
    PUBLIC_BASE_URL; "" when neither is set (then no media stream is started)."""
    if settings.speech_stream_url:
        return settings.speech_stream_url
    base = settings.public_base_url
    if not base:
        return ""
    return "ws" + base.removeprefix("http") + "/voice/stream"
