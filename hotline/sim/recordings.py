"""What the simulated caller says into a <Record>: the WAV audio and the loopback media server."""

from __future__ import annotations

import base64
import hmac
import io
import math
import re
import struct
import threading
import wave
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PATH = re.compile(r"^/recordings/([^/]+)/(RE[0-9a-f]{32})(\.wav)?$")


def quiet_tone_wav(seconds: float = 2.0, *, rate: int = 8000, hz: float = 440.0) -> bytes:
    """A quiet sine tone as Twilio stores recordings: 8 kHz, 16-bit, mono WAV."""
    frames = int(seconds * rate)
    amplitude = 1200  # quiet: about -29 dBFS
    samples = (int(amplitude * math.sin(2 * math.pi * hz * n / rate)) for n in range(frames))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buf.getvalue()


def wav_duration_s(audio: bytes) -> float:
    """Length of a WAV file in seconds; raises ValueError if it is not a readable WAV."""
    try:
        with wave.open(io.BytesIO(audio), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from exc


@dataclass
class _Recording:
    account_sid: str
    auth_token: str
    audio: bytes
    ready: bool = False
    fetches: int = 0


class RecordingServer:
    """Serves recordings at http://127.0.0.1:PORT/recordings/{AccountSid}/{RecordingSid}.

    Like Twilio's media URLs: the bare URL and `.wav` both give audio/wav; Basic auth
    (AccountSid:AuthToken) is optional but must be right when sent; a recording answers 404
    until Twilio would have finished storing it (after the <Record> action was answered).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recordings: dict[str, _Recording] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="sim-recordings", daemon=True
        )
        self._thread.start()

    def add(self, *, account_sid: str, auth_token: str, recording_sid: str, audio: bytes) -> str:
        """Register a recording (not yet fetchable) and return its RecordingUrl."""
        with self._lock:
            self._recordings[recording_sid] = _Recording(account_sid, auth_token, audio)
        return f"http://127.0.0.1:{self.port}/recordings/{account_sid}/{recording_sid}"

    def mark_ready(self, recording_sid: str) -> None:
        with self._lock:
            self._recordings[recording_sid].ready = True

    def fetch_count(self, recording_sid: str) -> int:
        """How many times the app downloaded this recording (for tests)."""
        with self._lock:
            rec = self._recordings.get(recording_sid)
            return rec.fetches if rec else 0

    def lookup(self, path: str, authorization: str | None) -> tuple[int, bytes]:
        match = _PATH.match(path)
        with self._lock:
            rec = self._recordings.get(match.group(2)) if match else None
            if rec is None or match is None or match.group(1) != rec.account_sid:
                return 404, b"no such recording (the simulator serves .wav only)"
            if authorization is not None and not _auth_ok(authorization, rec):
                return 401, b"bad credentials: use AccountSid:AuthToken"
            if not rec.ready:
                return 404, b"recording not stored yet: wait for recordingStatusCallback"
            rec.fetches += 1
            return 200, rec.audio

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _auth_ok(header: str, rec: _Recording) -> bool:
    expected = base64.b64encode(f"{rec.account_sid}:{rec.auth_token}".encode()).decode()
    return hmac.compare_digest(header, f"Basic {expected}")


def _handler_for(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer(with_body=True)

        def do_HEAD(self) -> None:
            self._answer(with_body=False)

        def _answer(self, *, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            status, body = server.lookup(path, self.headers.get("Authorization"))
            self.send_response(status)
            self.send_header("Content-Type", "audio/wav" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test and CLI output to the call transcript

    return Handler


_shared: RecordingServer | None = None
_shared_lock = threading.Lock()


def recording_server() -> RecordingServer:
    """The process-wide recording server, started on first use on a free loopback port."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RecordingServer()
        return _shared


def stop_recording_server() -> None:
    """Stop the shared server (the CLI calls this when it ends); a later call starts anew."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None
