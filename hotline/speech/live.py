"""One live call's audio: Twilio Media Streams messages in, spoken decisions out.

Runs on the thread of the call's websocket (one recogniser per call, never shared). Frames are
decoded from µ-law, endpointed by energy, and only speech is fed to a recogniser built for
the node the call waits on; at the end of an utterance the nearest phrase is decided, published
and the call moved on (REST update), while DTMF keeps working through the webhooks.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotline.speech.audio import TELEPHONE_RATE, ulaw_to_pcm
from hotline.speech.channel import Expectation, SpeechChannel, SpeechResult
from hotline.speech.endpoint import Edge, Endpointer
from hotline.speech.grammar import (
    Decision,
    Grammar,
    build_grammar,
    decide,
    digit_grammar,
    menu_phrases,
)
from hotline.speech.recognizer import LoadedModel, SpeechModels, new_recogniser

log = logging.getLogger(__name__)

FRAME_BYTES = TELEPHONE_RATE * 20 // 1000  # 20 ms of µ-law
WORD_HANGOVER_MS = 250
DIGITS_HANGOVER_MS = 700
MoveCall = Callable[[str, str], None]  # (call_sid, url) → moves the live call (REST update)


class ProtocolError(ValueError):
    """A message that does not follow Twilio's Media Streams protocol."""


@dataclass
class Utterance:
    expectation: Expectation
    model: LoadedModel
    grammar: Grammar
    recogniser: Any


@dataclass
class Timing:
    """End of speech (endpoint detected) → decision published, per utterance, in seconds."""

    decisions: list[float] = field(default_factory=list)
    audio_s: float = 0.0


class GrammarCache:
    """Grammars built per (model, language, phrases): a node's grammar is built once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Grammar] = {}

    def get(self, model: LoadedModel, expectation: Expectation, language: str) -> Grammar:
        phrases = expectation.grammars.get(language, {})
        key = (model.path, language, expectation.kind, tuple(sorted(phrases.items())))
        grammar = self._cache.get(key)
        if grammar is None:
            if expectation.kind == "digits":
                grammar = digit_grammar(language, model.vocabulary)
            else:
                keys = sorted(set(phrases.values()))
                extra = (
                    menu_phrases(phrases, keys, language)
                    if expectation.kind == "menu"
                    else dict(phrases)
                )
                grammar = build_grammar(extra, model.vocabulary)
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = grammar
        return grammar


_shared_grammars = GrammarCache()


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    """A message part that must be a JSON object (Twilio's always are; a forgery may not be)."""
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{what} must be an object, not {type(value).__name__}")
    return value


class CallListener:
    """Consumes one websocket's messages; `handle` returns False once the stream has stopped."""

    def __init__(
        self,
        *,
        speech: SpeechModels,
        channel: SpeechChannel,
        move: MoveCall,
        min_confidence: float,
        seed: int = 0,
        grammars: GrammarCache | None = None,
        on_decision: Callable[[str, Decision | None, SpeechResult | None], None] | None = None,
    ) -> None:
        self.speech = speech
        self.channel = channel
        self.move = move
        self.min_confidence = min_confidence
        self.seed = seed
        self.grammars = grammars or _shared_grammars
        self.on_decision = on_decision
        self.call_sid = ""
        self.stream_sid = ""
        self.started = False
        self.stopped = False
        self.endpointer = Endpointer()
        self.utterance: Utterance | None = None
        self.pending = b""
        self.timing = Timing()

    # --- protocol --------------------------------------------------------------------

    def handle(self, message: Mapping[str, Any]) -> bool:
        event = message.get("event")
        if event == "connected":
            return True
        if event == "start":
            start = message.get("start")
            if not isinstance(start, Mapping) or not start.get("callSid"):
                raise ProtocolError("start message without start.callSid")
            fmt = _mapping(start.get("mediaFormat") or {}, "start.mediaFormat")
            try:
                rate = int(fmt.get("sampleRate", 8000))
            except (TypeError, ValueError):
                rate = 0
            if str(fmt.get("encoding", "audio/x-mulaw")) != "audio/x-mulaw" or rate != 8000:
                raise ProtocolError(f"unsupported media format {dict(fmt)}")
            self.call_sid = str(start["callSid"])
            self.stream_sid = str(message.get("streamSid") or start.get("streamSid") or "")
            self.started = True
            self.channel.mark_live(self.call_sid, True)
            log.info("stream %s: call %s started", self.stream_sid, self.call_sid)
            return True
        if event == "media":
            if not self.started:
                raise ProtocolError("media before start")
            media = _mapping(message.get("media") or {}, "media")
            if media.get("track", "inbound") not in ("inbound", "inbound_track"):
                return True
            try:
                payload = base64.b64decode(str(media.get("payload", "")), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ProtocolError(f"media payload is not base64: {exc}") from exc
            self.audio(payload)
            return True
        if event in ("dtmf", "mark"):
            return True  # keys arrive through the Gather webhook; marks are ours to ignore
        if event == "stop":
            self.finish()
            return False
        raise ProtocolError(f"unknown event {event!r}")

    def finish(self) -> None:
        if self.utterance is not None:
            self.end_of_speech()
        if self.started and not self.stopped:
            self.channel.mark_live(self.call_sid, False)
        self.stopped = True

    # --- audio -----------------------------------------------------------------------

    def audio(self, ulaw: bytes) -> None:
        """Any payload length: frames are cut at 20 ms regardless of how Twilio chunked them."""
        self.pending += ulaw
        self.timing.audio_s += len(ulaw) / TELEPHONE_RATE
        while len(self.pending) >= FRAME_BYTES:
            frame, self.pending = self.pending[:FRAME_BYTES], self.pending[FRAME_BYTES:]
            self.frame(ulaw_to_pcm(frame))

    def frame(self, pcm: bytes) -> None:
        edge = self.endpointer.feed(pcm)
        if edge is Edge.START:
            self.utterance = self.begin()
            if self.utterance is not None:
                for earlier in self.endpointer.take_preroll():
                    self.utterance.recogniser.AcceptWaveform(earlier)
            return
        if self.utterance is not None:
            self.utterance.recogniser.AcceptWaveform(pcm)
        if edge is Edge.END:
            self.end_of_speech()

    def begin(self) -> Utterance | None:
        """A recogniser for what the call waits on now (None: nothing to listen for)."""
        expectation = self.channel.expectation(self.call_sid)
        if expectation is None:
            return None
        # Callers pause between groups of digits; a menu word is over at the first pause.
        self.endpointer.hangover_ms = (
            DIGITS_HANGOVER_MS if expectation.kind == "digits" else WORD_HANGOVER_MS
        )
        for language in (expectation.language, *expectation.grammars):
            model = self.speech.get(language)
            if model is None:
                continue
            grammar = self.grammars.get(model, expectation, language)
            if not grammar.empty:
                recogniser = new_recogniser(model, TELEPHONE_RATE, grammar, seed=self.seed)
                return Utterance(expectation, model, grammar, recogniser)
        return None

    def end_of_speech(self) -> None:
        utterance, self.utterance = self.utterance, None
        if utterance is None:
            return
        detected = time.perf_counter()

        raw = json.loads(utterance.recogniser.FinalResult())
        heard = str(raw.get("text", "")).strip()
        decision = decide(utterance.grammar, heard, raw.get("result") or [])
        expectation = utterance.expectation
        result = None
        if decision is not None and expectation.kind == "digits":
            fits = expectation.min_digits <= len(decision.key) <= expectation.max_digits
            if not fits:
                decision = None
        if decision is not None:
            current = self.channel.expectation(self.call_sid)
            if current is None or (current.node, current.seq) != (
                expectation.node,
                expectation.seq,
            ):
                log.info("call %s: answer %r came after the call moved on", self.call_sid, heard)
            else:
                result = SpeechResult(
                    node=expectation.node,
                    seq=expectation.seq,
                    key=decision.key,
                    text=decision.text,
                    heard=heard,
                    confidence=round(decision.confidence, 3),
                    sure=decision.confidence >= self.min_confidence,
                    model=utterance.model.name,
                )
                self.channel.publish(self.call_sid, result)
                self.channel.clear_expectation(self.call_sid)
                self.timing.decisions.append(time.perf_counter() - detected)
                said = "(sensitive)" if expectation.sensitive else f"{heard!r} → {decision.key}"
                log.info(
                    "call %s: heard %s at %s (confidence %.2f%s)",
                    self.call_sid, said, expectation.node, decision.confidence,
                    "" if result.sure else ", will confirm",
                )  # fmt: skip
                try:
                    self.move(self.call_sid, expectation.step_url)
                except Exception as exc:  # the next webhook still picks the answer up
                    log.warning(
                        "call %s: could not move the call (%s); the next webhook will",
                        self.call_sid,
                        exc,
                    )
        elif heard and not expectation.sensitive:
            log.info("call %s: %r at %s matched nothing", self.call_sid, heard, expectation.node)
        if self.on_decision is not None:
            self.on_decision(heard, decision, result)
