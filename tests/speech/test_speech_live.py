"""The live path end to end: a simulated caller speaks Korean over a Media Streams websocket to
the real stream process (real model); the call is moved on by a REST update to the simulator."""

from __future__ import annotations

import secrets

from hotline.config import Settings
from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport
from hotline.sim.rest import RestSim
from tests.conftest import LiveServer
from tests.speech_audio import korean_wav


def caller() -> str:
    return "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))


def speak(server: LiveServer, settings: Settings, rest: RestSim, keys: str, say: list[str], **kw: object) -> CallReport:
    return simulate_call(
        server.url,
        auth_token=settings.twilio_auth_token,
        account_sid=settings.twilio_account_sid,
        from_number=str(kw.pop("from_number", caller())),
        keys=keys,
        say=[korean_wav(text) for text in say],
        rest=rest,
        media_speed=4.0,
        **kw,  # type: ignore[arg-type]
    )


def test_spoken_language_and_operator(speech_server: LiveServer, settings: Settings, rest_sim: RestSim) -> None:
    report = speak(speech_server, settings, rest_sim, "say,say", ["한국어", "상담원"])
    print(report.transcript)
    assert report.ok, report.transcript
    assert report.streams
    assert False
