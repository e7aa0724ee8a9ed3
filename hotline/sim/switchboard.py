"""Twilio's queues for the simulator: callers `<Enqueue>`d by concurrent simulated calls wait
here until a simulated agent's `<Dial><Queue>` takes the one at the front (FIFO, as Twilio),
leaves (`<Leave/>`), or hangs up. Positions, sizes and average waits are Twilio's parameters."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from hotline.sim.verbs import new_sid


@dataclass
class Waiter:
    """A caller in a queue, as the caller's and the agent's threads both see it."""

    call_sid: str
    queue: str
    queue_sid: str
    enqueued_at: float = field(default_factory=time.monotonic)
    # Set by the agent's thread: the caller is taken (the wait music stops).
    dequeued: threading.Event = field(default_factory=threading.Event)
    # Set when the bridged conversation is over (either side hung up).
    bridge_ended: threading.Event = field(default_factory=threading.Event)
    # The caller has heard the agent side's <Queue url> TwiML and is talking.
    connected: threading.Event = field(default_factory=threading.Event)
    dequeuing_call_sid: str = ""
    whisper_url: str = ""
    whisper_method: str = "POST"
    queue_time_s: int = 0
    talk_s: int = 0
    gone: bool = False  # the caller hung up or left before anyone took them


class Switchboard:
    """Every queue of one simulated Twilio account, shared by the calls that use it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[Waiter]] = {}
        self._queue_sids: dict[str, str] = {}
        self._waits: dict[str, list[float]] = {}

    def join(self, queue: str, call_sid: str) -> Waiter:
        with self._lock:
            sid = self._queue_sids.setdefault(queue, new_sid("QU"))
            waiter = Waiter(call_sid=call_sid, queue=queue, queue_sid=sid)
            self._queues.setdefault(queue, []).append(waiter)
            return waiter

    def position(self, waiter: Waiter) -> tuple[int, int]:
        """(1-based position, queue size); position 0 once the caller is no longer queued."""
        with self._lock:
            line = self._queues.get(waiter.queue, [])
            index = next((i for i, w in enumerate(line) if w is waiter), -1)
            return index + 1, len(line)

    def average_wait_s(self, queue: str) -> int:
        with self._lock:
            waits = self._waits.get(queue, [])
            return round(sum(waits) / len(waits)) if waits else 0

    def leave(self, waiter: Waiter) -> bool:
        """The caller leaves or hangs up; False when an agent took them first (bridged)."""
        with self._lock:
            if waiter.dequeued.is_set():
                return False
            line = self._queues.get(waiter.queue, [])
            if waiter in line:
                line.remove(waiter)
            waiter.gone = True
            return True

    def take_front(
        self, queue: str, dequeuing_call_sid: str, *, whisper_url: str = "", method: str = "POST"
    ) -> Waiter | None:
        """An agent's `<Dial><Queue>`: the longest-waiting caller, or None if nobody waits."""
        with self._lock:
            line = self._queues.get(queue, [])
            if not line:
                return None
            waiter = line.pop(0)
            waiter.dequeuing_call_sid = dequeuing_call_sid
            waiter.whisper_url, waiter.whisper_method = whisper_url, method
            self._waits.setdefault(queue, []).append(time.monotonic() - waiter.enqueued_at)
            waiter.dequeued.set()
            return waiter

    def size(self, queue: str) -> int:
        with self._lock:
            return len(self._queues.get(queue, []))
