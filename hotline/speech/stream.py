"""`hotline stream`: the Media Streams websocket (`/voice/stream`) in its own process.

One Vosk model per language per process, loaded before the server starts; each websocket runs
on its own thread with its own recogniser. Keeping this out of the web workers keeps the
~0.5 GB model out of them. The upgrade request is signed by Twilio like any webhook: over the
wss:// URL as written in the TwiML, with no parameters.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_sock import ConnectionClosed, Sock
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from hotline.config import Settings
from hotline.redis_store import redis_client
from hotline.speech.channel import HEARTBEAT_TTL_S, SpeechChannel, stream_url
from hotline.speech.live import CallListener, GrammarCache, MoveCall, ProtocolError
from hotline.speech.recognizer import SpeechModels, load_models

log = logging.getLogger(__name__)

RECEIVE_TIMEOUT_S = 30  # Twilio sends 50 media messages a second; silence this long is a dead line
MOVE_TIMEOUT_S = 5


def rest_mover(settings: Settings) -> MoveCall:
    from hotline.twilio_client import rest_client

    client = rest_client(settings, timeout_s=MOVE_TIMEOUT_S)

    def move(call_sid: str, url: str) -> None:
        client.calls(call_sid).update(url=url, method="POST")

    return move


def create_stream_app(
    settings: Settings, speech: SpeechModels, move: MoveCall | None = None
) -> Flask:
    app = Flask(__name__)
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None}
    sock = Sock(app)
    channel = SpeechChannel(lambda: redis_client(settings))
    mover = move or rest_mover(settings)
    grammars = GrammarCache()
    url = stream_url(settings)

    @app.before_request
    def signed() -> Response | None:
        if request.path != "/voice/stream":
            return None
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(settings.twilio_auth_token)
        if not signature or not validator.validate(url, {}, signature):
            log.warning(
                "stream: rejected an unsigned or forged upgrade from %s", request.remote_addr
            )
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        return None

    @app.get("/healthz")
    def health() -> Any:
        return jsonify({"languages": speech.languages, "missing": speech.missing, "url": url})

    @sock.route("/voice/stream")  # type: ignore[untyped-decorator]
    def voice_stream(ws: Any) -> None:
        listener = CallListener(
            speech=speech,
            channel=channel,
            move=mover,
            min_confidence=settings.speech_min_confidence_pct / 100,
            seed=settings.speech_seed,
            grammars=grammars,
        )
        clean = False
        try:
            while True:
                raw = ws.receive(timeout=RECEIVE_TIMEOUT_S)
                if raw is None:
                    log.warning(
                        "stream for call %s: no audio for %s s",
                        listener.call_sid or "?",
                        RECEIVE_TIMEOUT_S,
                    )
                    break
                try:
                    message = json.loads(raw)
                    if not isinstance(message, dict):
                        raise ProtocolError("a message must be a JSON object")
                    if not listener.handle(message):
                        clean = True
                        break
                except (ValueError, ProtocolError) as exc:
                    log.warning(
                        "stream for call %s: bad message (%s): ignored",
                        listener.call_sid or "?",
                        exc,
                    )
        except ConnectionClosed:
            pass
        finally:
            listener.finish()
            if listener.started and not clean:
                # Dropped without `stop`: the next webhook starts a new stream.
                log.warning("stream for call %s dropped", listener.call_sid)
                channel.mark_dropped(listener.call_sid)

    return app


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Load the models, then serve websockets (a thread per call) and beat the heartbeat."""
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # a line per header
    speech = load_models(settings)
    app = create_stream_app(settings, speech)
    server = make_server(host, port, app, threaded=True)
    channel = SpeechChannel(lambda: redis_client(settings))
    url = stream_url(settings) or f"ws://{host}:{server.server_port}/voice/stream"
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            if speech.loaded:
                channel.beat(speech.languages, url)
            stop.wait(HEARTBEAT_TTL_S / 3)

    threading.Thread(target=beat, name="stream-heartbeat", daemon=True).start()
    log.info(
        "stream: listening on %s:%s for %s (%s)",
        host,
        server.server_port,
        url,
        ", ".join(speech.languages) or "no languages: DTMF-only",
    )
    try:
        server.serve_forever()
    finally:
        stop.set()
        channel.stop_beating()
