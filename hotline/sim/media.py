"""The caller's audio as Twilio forks it: a Media Streams websocket to the app's stream URL.

Speaks WAV files as 20 ms µ-law frames (paced in real time, or faster), sends silence after
each utterance so the recogniser hears the end, and closes with `stop` like Twilio.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from collections.abc import Mapping

import simple_websocket

from hotline.sim.signing import SIGNATURE_HEADER, sign
from hotline.speech.audio import TELEPHONE_RATE, AudioError, decimate_to_8k, pcm_to_ulaw, read_wav

FRAME_MS = 20
FRAME_BYTES = TELEPHONE_RATE * FRAME_MS // 1000
TRAILING_SILENCE_S = 1.0


class MediaError(RuntimeError):
    """The stream could not be opened or broke while sending."""


def telephone_ulaw(wav: bytes) -> bytes:
    """A WAV file as the µ-law bytes Twilio would stream (8 kHz; 16/24/32/48 kHz are decimated)."""
    try:
        audio = read_wav(wav)
        return pcm_to_ulaw(decimate_to_8k(audio.pcm, audio.rate))
    except AudioError as exc:
        raise MediaError(str(exc)) from exc


class MediaStream:
    """One outbound media stream (`<Start><Stream track="inbound_track">`) of a simulated call."""

    def __init__(
        self,
        url: str,
        *,
        auth_token: str,
        account_sid: str,
        call_sid: str,
        parameters: Mapping[str, str] | None = None,
        speed: float = 1.0,
    ) -> None:
        self.url = url
        self.speed = speed
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.chunk = 0
        self.elapsed_ms = 0
        # Twilio signs the upgrade over the URL as written in the TwiML, with no parameters.
        headers = {SIGNATURE_HEADER: sign(auth_token, url, {})}
        try:
            self.ws = simple_websocket.Client.connect(url, headers=headers)
        except (
            OSError,
            simple_websocket.ConnectionError,
            simple_websocket.ConnectionClosed,
        ) as exc:
            raise MediaError(f"media stream {url} could not be opened: {exc}") from exc
        self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self._send(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": account_sid,
                    "callSid": call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(parameters or {}),
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )

    def _send(self, message: dict[str, object]) -> None:
        try:
            self.ws.send(json.dumps(message))
        except (OSError, simple_websocket.ConnectionClosed) as exc:
            raise MediaError(f"media stream {self.url} closed: {exc}") from exc

    def send_audio(self, ulaw: bytes, *, chunk_bytes: int = FRAME_BYTES) -> None:
        """Stream µ-law audio in `chunk_bytes` messages, paced at `speed` × real time."""
        started = time.perf_counter()
        sent_ms = 0
        for offset in range(0, len(ulaw), chunk_bytes):
            piece = ulaw[offset : offset + chunk_bytes]
            self.chunk += 1
            self._send(
                {
                    "event": "media",
                    "sequenceNumber": str(self.chunk + 1),
                    "streamSid": self.stream_sid,
                    "media": {
                        "track": "inbound",
                        "chunk": str(self.chunk),
                        "timestamp": str(self.elapsed_ms),
                        "payload": base64.b64encode(piece).decode(),
                    },
                }
            )
            ms = len(piece) * 1000 // TELEPHONE_RATE
            self.elapsed_ms += ms
            sent_ms += ms
            if self.speed > 0:
                ahead = sent_ms / 1000 / self.speed - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)

    def say(self, wav: bytes, *, trailing_silence_s: float = TRAILING_SILENCE_S) -> float:
        """Speak a WAV file, then silence; returns the seconds of audio sent."""
        ulaw = telephone_ulaw(wav) + b"\xff" * int(TELEPHONE_RATE * trailing_silence_s)
        self.send_audio(ulaw)
        return len(ulaw) / TELEPHONE_RATE

    def stop(self) -> None:
        stop = {"accountSid": "", "callSid": ""}
        with contextlib.suppress(MediaError):
            seq = str(self.chunk + 2)
            self._send(
                {"event": "stop", "sequenceNumber": seq, "streamSid": self.stream_sid, "stop": stop}
            )
        self.close()

    def drop(self) -> None:
        """Close without `stop`, as a broken connection would."""
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a socket that is already gone
            self.ws.close()
