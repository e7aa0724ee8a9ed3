"""Energy-based endpointing on 20 ms frames: where an utterance starts and where it ends.

Vosk's own endpointer needs 0.5 s of trailing silence (the model's rule 2) and is only seen
through `AcceptWaveform`; deciding end of speech ourselves lets a short answer be decided
~250 ms after the caller stops, and lets the recogniser skip silence altogether.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from hotline.speech.audio import FRAME_MS, rms


class Edge(StrEnum):
    START = "start"
    END = "end"


@dataclass
class Endpointer:
    """Feed 20 ms frames of 16-bit PCM; `feed` says when speech starts and ends.

    A frame is speech when its level is above both `min_level` and `ratio` × the running noise
    floor. Speech starts after `start_ms` of speech frames and ends after `hangover_ms` without
    any (or at `max_ms`, so a caller talking over a noisy line still gets an answer).
    """

    min_level: float = 300.0
    ratio: float = 3.0
    start_ms: int = 60
    hangover_ms: int = 250
    max_ms: int = 10_000
    preroll_ms: int = 200
    frame_ms: int = FRAME_MS
    noise: float = 100.0
    in_speech: bool = False
    elapsed_ms: int = 0  # audio time fed so far
    speech_started_ms: int = 0
    last_voiced_ms: int = 0  # end of the last speech frame
    _run: int = 0
    _quiet: int = 0
    _preroll: deque[bytes] = field(default_factory=deque)

    def is_voiced(self, frame: bytes) -> bool:
        level = rms(frame)
        voiced = level > self.min_level and level > self.ratio * self.noise
        if not voiced:  # the floor follows the quiet parts only, slowly
            self.noise = 0.95 * self.noise + 0.05 * max(level, 1.0)
        return voiced

    def feed(self, frame: bytes) -> Edge | None:
        self.elapsed_ms += self.frame_ms
        voiced = self.is_voiced(frame)
        if not self.in_speech:
            self._preroll.append(frame)
            while len(self._preroll) > max(1, self.preroll_ms // self.frame_ms):
                self._preroll.popleft()
            self._run = self._run + 1 if voiced else 0
            if self._run * self.frame_ms >= self.start_ms:
                self.in_speech = True
                self._quiet = 0
                self.speech_started_ms = self.elapsed_ms - self._run * self.frame_ms
                self.last_voiced_ms = self.elapsed_ms
                return Edge.START
            return None
        if voiced:
            self._quiet = 0
            self.last_voiced_ms = self.elapsed_ms
        else:
            self._quiet += 1
        too_long = self.elapsed_ms - self.speech_started_ms >= self.max_ms
        if self._quiet * self.frame_ms >= self.hangover_ms or too_long:
            self.in_speech = False
            self._run = 0
            self._preroll.clear()
            return Edge.END
        return None

    def take_preroll(self) -> list[bytes]:
        """The frames just before (and including) the start: the recogniser hears the onset."""
        frames = list(self._preroll)
        self._preroll.clear()
        return frames
