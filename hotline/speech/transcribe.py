"""The record path: a finished recording is downloaded, kept, transcribed and stored.

Runs in the `speech` queue's worker, which loaded the models once before taking jobs
(`hotline worker speech`). Job arguments are plain ids and values (RQ's JSON serializer).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import select

from hotline.config import Settings
from hotline.jobs import worker_database, worker_settings
from hotline.speech.audio import AudioError, read_wav
from hotline.speech.recognizer import SpeechModels, load_models, recognise, words_summary
from hotline.speech.records import Recording, RecordingStatus, Transcript
from workorders.calls import Call
from workorders.orders import WorkOrder
from workorders.services import get_order

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = (5, 30)  # (connect, read): a stuck media server must not hang the worker
NOT_YET_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # Twilio may answer 404 until the file is stored

_models: SpeechModels | None = None


def preload(settings: Settings) -> SpeechModels:
    """Load the models once per worker process (before any job, before any fork)."""
    global _models
    if _models is None:
        _models = load_models(settings)
    return _models


def recordings_dir(settings: Settings) -> Path:
    return (
        Path(settings.recordings_path)
        if settings.recordings_path
        else settings.instance_path / "recordings"
    )


def fetch_recording(settings: Settings, url: str, *, sleep: object = time.sleep) -> bytes:
    """The recording's WAV: Basic auth with the account's credentials, redirects followed,
    404 retried with backoff (the file may not be stored yet), a timeout on every try."""
    wav_url = url if url.endswith(".wav") else url + ".wav"
    auth = (settings.twilio_account_sid, settings.twilio_auth_token)
    last = ""
    for pause in (*NOT_YET_BACKOFF_S, None):
        try:
            answer = requests.get(
                wav_url, auth=auth, timeout=DOWNLOAD_TIMEOUT_S, allow_redirects=True
            )
        except requests.RequestException as exc:
            last = f"download failed: {exc}"
        else:
            if answer.status_code == 200:
                return answer.content
            last = f"download answered HTTP {answer.status_code}"
            if answer.status_code != 404:
                break
        if pause is not None:
            sleep(pause)  # type: ignore[operator]
    raise RuntimeError(last)


def transcribe_recording(
    recording_sid: str, call_sid: str, url: str, duration_s: int | None = None
) -> str:
    """Download, keep, transcribe and store one recording; returns its final status."""
    settings = worker_settings()
    database = worker_database()
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
        recording = session.execute(
            select(Recording).where(Recording.recording_sid == recording_sid)
        ).scalar_one_or_none()
        if recording is None:
            recording = Recording(
                recording_sid=recording_sid, url=url, duration_s=duration_s, attempts=0
            )
            session.add(recording)
        if recording.status == RecordingStatus.TRANSCRIBED:
            return str(recording.status)  # a replayed job changes nothing
        recording.call_id = call.id if call is not None else None
        recording.language = (call.language if call is not None else None) or None
        recording.attempts += 1
        order = _work_order(session, call, url)
        if order is not None:
            recording.work_order_id = order.id
        session.commit()
        try:
            audio = fetch_recording(settings, url)
        except RuntimeError as exc:
            return _failed(session, recording, str(exc))
        folder = recordings_dir(settings) / (call_sid or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{recording_sid}.wav"
        path.write_bytes(audio)
        recording.audio_path, recording.size_bytes = str(path), len(audio)
        recording.stored_at = datetime.now(UTC)
        recording.status = RecordingStatus.STORED
        session.commit()
        try:
            wav = read_wav(audio)
        except AudioError as exc:
            return _failed(session, recording, str(exc))
        speech = preload(settings)
        language = recording.language or ""
        model = speech.get(language) if language else next(iter(speech.loaded.values()), None)
        if model is None:
            recording.status = RecordingStatus.NO_MODEL
            recording.error = (
                f"no speech model for {language or 'the call'}: audio kept, not transcribed"
            )
            session.commit()
            log.warning("recording %s: %s", recording_sid, recording.error)
            return str(recording.status)
        result = recognise(model, wav.pcm, wav.rate, seed=speech.seed)
        words = words_summary(result.words)
        session.add(
            Transcript(
                recording=recording,
                text=result.text,
                words=words,
                confidence=round(result.confidence, 3) if words else None,
                model=model.name,
                language=model.language,
                audio_s=round(result.audio_s, 2),
                rtf=round(result.rtf, 3),
            )
        )
        recording.status = RecordingStatus.TRANSCRIBED
        recording.error = None
        if order is not None and result.text:
            # Routing may have moved the order while we decoded: a locked, fresh read, or its
            # optimistic version check fails the update as a false conflict.
            get_order(session, order.id, lock=True).transcript = result.text
        session.commit()
        log.info(
            "recording %s: %.1f s transcribed (rtf %.2f): %r",
            recording_sid,
            result.audio_s,
            result.rtf,
            result.text[:80],
        )
        return str(recording.status)


def _work_order(session: object, call: Call | None, url: str) -> WorkOrder | None:
    """The order opened from this statement: same recording URL, else the call's latest order."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    order = (
        session.execute(select(WorkOrder).where(WorkOrder.recording_url == url)).scalars().first()
    )
    if order is None and call is not None:
        order = (
            session.execute(
                select(WorkOrder).where(WorkOrder.call_id == call.id).order_by(WorkOrder.id.desc())
            )
            .scalars()
            .first()
        )
    return order


def _failed(session: object, recording: Recording, error: str) -> str:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    recording.status = RecordingStatus.FAILED
    recording.error = error[:500]
    session.commit()
    log.warning("recording %s: %s", recording.recording_sid, error)
    return str(recording.status)
