"""A scripted stand-in for the hotline app, served on a real loopback port, for simulator tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport

TOKEN = "sim-test-token-0123456789abcdef"
ACCOUNT = "AC" + "0123456789abcdef" * 2
CALLER = "+8613912345678"

# TwiML per node: /voice/incoming is node "incoming", /voice/step?node=X is node X,
# /voice/wait is node "wait". A value is a TwiML string, or (body, status, headers) as Flask
# takes it, or a callable taking the form and returning either.
Scenario = dict[str, Any]


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class ScriptedApp:
    """What the test app was asked and what it saw; tests set `scenario` and read the rest."""

    base_url: str = ""
    caller: str = CALLER
    scenario: Scenario = field(default_factory=dict)
    public_base_url: str | None = None  # when set, signatures are checked against it
    hits: list[Hit] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # paths answered 403
    recordings: dict[str, bytes] = field(default_factory=dict)  # RecordingSid -> fetched WAV
    early_fetch: dict[str, int] = field(default_factory=dict)  # RecordingSid -> status
    status_answer: tuple[str, int] = ("", 204)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.scenario, self.public_base_url = {}, None
            self.hits, self.rejected = [], []
            self.recordings, self.early_fetch = {}, {}
            self.status_answer = ("", 204)

    def of(self, path: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path == path]

    def steps(self, node: str | None = None) -> list[Hit]:
        return [h for h in self.of("/voice/step") if node is None or h.query.get("node") == node]


def _create_app(state: ScriptedApp) -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(TOKEN)

    @app.before_request
    def check_signature() -> None:
        # As the real app must: public base + raw path + raw query, over all of request.form.
        base = (state.public_base_url or request.host_url).rstrip("/")
        query = request.query_string.decode("latin-1")
        url = base + quote(request.path) + (f"?{query}" if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(url, request.form, signature):
            with state.lock:
                state.rejected.append(request.path)
            abort(403)
        with state.lock:
            state.hits.append(
                Hit(request.method, request.path, request.args.to_dict(), request.form.to_dict())
            )

    def twiml(node: str) -> Any:
        if node not in state.scenario:
            return f"no node {node!r} in this scenario", 500
        answer = state.scenario[node]
        if callable(answer):
            answer = answer(request.values.to_dict())
        if isinstance(answer, str):
            return Response(answer, mimetype="text/xml")
        return answer

    @app.route("/voice/incoming", methods=["POST"])
    def incoming() -> Any:
        return twiml("incoming")

    @app.route("/voice/step", methods=["GET", "POST"])
    def step() -> Any:
        return twiml(request.args.get("node", ""))

    @app.route("/voice/wait", methods=["GET", "POST"])
    def wait() -> Any:
        return twiml("wait")

    @app.route("/voice/record-done", methods=["POST"])
    def record_done() -> Any:
        # Twilio may not have stored the file yet: the simulator must say 404 here.
        sid = request.form["RecordingSid"]
        early = requests.get(request.form["RecordingUrl"], timeout=5)
        with state.lock:
            state.early_fetch[sid] = early.status_code
        return twiml("record-done")

    @app.route("/voice/recording-status", methods=["POST"])
    def recording_status() -> Any:
        audio = requests.get(request.form["RecordingUrl"], auth=(ACCOUNT, TOKEN), timeout=5)
        audio.raise_for_status()
        with state.lock:
            state.recordings[request.form["RecordingSid"]] = audio.content
        return "", 204

    @app.route("/voice/status", methods=["POST"])
    def status() -> Any:
        body, code = state.status_answer
        return Response(body, status=code, mimetype="text/xml")

    @app.route("/voice/slow", methods=["POST"])
    def slow() -> Any:
        time.sleep(1.0)
        return Response("<Response/>", mimetype="text/xml")

    return app


@pytest.fixture(scope="session")
def _server() -> Iterator[ScriptedApp]:
    state = ScriptedApp()
    server = make_server("127.0.0.1", 0, _create_app(state), threaded=True)
    state.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(5)


@pytest.fixture
def app(_server: ScriptedApp) -> ScriptedApp:
    """The running scripted app, with a fresh log and no scenario."""
    _server.reset()
    return _server


@pytest.fixture
def creds() -> dict[str, str]:
    return {"auth_token": TOKEN, "account_sid": ACCOUNT}


@pytest.fixture
def place_call(app: ScriptedApp, creds: dict[str, str]) -> Callable[..., CallReport]:
    """simulate_call against the scripted app, from app.caller unless told otherwise."""

    def place(keys: str = "", **kwargs: Any) -> CallReport:
        kwargs.setdefault("from_number", app.caller)
        return simulate_call(app.base_url, **{**creds, **kwargs}, keys=keys)

    return place
