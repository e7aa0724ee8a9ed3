"""The record of one simulated call: transcript, requests, what was said and keyed, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ENDINGS = ("hangup", "caller", "end-of-twiml", "error", "max-requests")


@dataclass
class CallReport:
    """Everything a simulated call saw; `ok` is true when the app never broke protocol."""

    call_sid: str
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (kind, path with query, HTTP status or 0 if none, latency in ms); kinds: incoming, step,
    # wait (queue wait TwiML), status, recording-status
    requests: list[tuple[str, str, int, float]] = field(default_factory=list)
    said: list[tuple[str, str]] = field(default_factory=list)  # (language, text)
    keyed: list[str] = field(default_factory=list)
    spoken: list[float] = field(default_factory=list)  # seconds of each utterance streamed
    recorded: list[str] = field(default_factory=list)  # RecordingSids
    enqueued: list[str] = field(default_factory=list)  # queue names
    dials: list[str] = field(default_factory=list)  # "number:+86…", "queue:general", …
    bridged_to: list[str] = field(default_factory=list)  # CallSids of agents who took the call
    streams: list[str] = field(default_factory=list)  # Media Stream URLs started or connected
    ended_by: str = ""
    duration_s: int = 0
    out: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def line(self, text: str) -> None:
        self.lines.append(text)
        if self.out is not None:
            self.out(text)

    def error(self, text: str) -> None:
        self.errors.append(text)
        self.line(f"  ERROR: {text}")

    @property
    def transcript(self) -> str:
        return "\n".join(self.lines)

    def summary(self) -> str:
        """One line: sid, outcome, request count, errors."""
        voice = sum(1 for kind, *_ in self.requests if kind in ("incoming", "step", "wait"))
        outcome = "ok" if self.ok else f"FAILED ({len(self.errors)} error(s))"
        return (
            f"{self.call_sid}: {outcome}, ended by {self.ended_by or '?'}, {voice} voice "
            f"request(s), {len(self.requests)} in all, {self.duration_s} s, "
            f"keyed {self.keyed or '-'}"
        )
