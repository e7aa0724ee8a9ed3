"""Retention: recordings' audio and transcripts past their period are purged, with an audit
event; newer ones are untouched; a second pass finds nothing."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.retention import ACTOR, purge_expired
from hotline.speech.records import Recording, RecordingStatus, Transcript
from hotline.users.models import AuditEvent, AuditKind


def _recording(tmp: Path, *, stored_days_ago: int, status: str) -> Recording:
    sid = "RE" + secrets.token_hex(16)
    audio = tmp / f"{sid}.wav"
    audio.write_bytes(b"RIFF")
    stored = datetime.now(UTC) - timedelta(days=stored_days_ago)
    recording = Recording(
        recording_sid=sid,
        url=f"https://api.twilio.com/Recordings/{sid}",
        audio_path=str(audio),
        status=status,
        stored_at=stored,
        created_at=stored,
    )
    recording.transcripts.append(
        Transcript(
            text="你好",
            words=[],
            model="m",
            language="zh-CN",
            audio_s=1,
            rtf=0.1,
            created_at=stored,
        )
    )
    return recording


def test_old_audio_and_transcripts_are_purged_with_an_audit_event(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    rules = dataclasses.replace(settings, recording_retention_days=30, transcript_retention_days=60)
    with database.session() as session:
        ancient = _recording(tmp_path, stored_days_ago=400, status=RecordingStatus.TRANSCRIBED)
        old = _recording(tmp_path, stored_days_ago=45, status=RecordingStatus.NO_MODEL)
        fresh = _recording(tmp_path, stored_days_ago=1, status=RecordingStatus.TRANSCRIBED)
        session.add_all([ancient, old, fresh])
        session.commit()
        before = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))

    with database.session() as session:
        done = purge_expired(rules, session)
        session.commit()
    assert done.recordings >= 2 and done.transcripts >= 1

    with database.session() as session:
        a, o, f = (session.get(Recording, r.id) for r in (ancient, old, fresh))
        assert a and o and f
        assert a.audio_path is None and a.status == RecordingStatus.TRANSCRIBED and a.purged_at
        assert o.audio_path is None and o.status == RecordingStatus.PURGED
        assert f.audio_path and Path(f.audio_path).exists() and f.purged_at is None
        assert not Path(tmp_path / f"{ancient.recording_sid}.wav").exists()
        texts = session.execute(select(Transcript.recording_id)).scalars().all()
        assert ancient.id not in texts and old.id in texts and fresh.id in texts
        events = (
            session.execute(
                select(AuditEvent).where(AuditEvent.id > (before or 0), AuditEvent.actor == ACTOR)
            )
            .scalars()
            .all()
        )
        assert [e.kind for e in events] == [AuditKind.RETENTION_PURGE]
        assert events[0].detail["recordings"] == done.recordings

    with database.session() as session:  # nothing left to do: no new audit event
        again = purge_expired(rules, session)
        session.commit()
    assert (again.recordings, again.transcripts) == (0, 0)
