"""Retention: recordings' audio and transcripts are personal data, kept only for a set period.

Run by the sweep (every few minutes; a pass with nothing to purge is one indexed query). Each
pass that purges something writes one audit event saying what and up to when. Work orders keep
their own statement and transcript copy: they are the file of the matter, not call data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.speech.records import Recording, RecordingStatus, Transcript
from hotline.users.models import AuditKind
from hotline.users.service import audit

log = logging.getLogger(__name__)

ACTOR = "system:retention"
BATCH = 500  # rows per pass: a long backlog is worked off over several sweeps


@dataclass(frozen=True)
class Purged:
    recordings: int
    transcripts: int


def purge_expired(settings: Settings, session: Session, *, now: datetime | None = None) -> Purged:
    """Delete audio older than `recording_retention_days` and transcripts older than
    `transcript_retention_days`; the caller commits (files are removed before the commit, so
    a failed commit can leave a row pointing at no file: the next pass clears the row)."""
    now = now or datetime.now(UTC)
    audio_cutoff = now - timedelta(days=settings.recording_retention_days)
    text_cutoff = now - timedelta(days=settings.transcript_retention_days)
    old_audio = session.execute(
        select(Recording)
        .where(Recording.stored_at < audio_cutoff, Recording.audio_path.is_not(None))
        .limit(BATCH)
    ).scalars()
    recordings = 0
    for recording in old_audio:
        if recording.audio_path:
            Path(recording.audio_path).unlink(missing_ok=True)
        recording.audio_path = None
        if recording.status != RecordingStatus.TRANSCRIBED:
            recording.status = RecordingStatus.PURGED
        recording.purged_at = now
        recordings += 1
    old_text = list(
        session.execute(
            select(Transcript.id).where(Transcript.created_at < text_cutoff).limit(BATCH)
        ).scalars()
    )
    if old_text:
        session.execute(delete(Transcript).where(Transcript.id.in_(old_text)))
    result = Purged(recordings, len(old_text))
    if recordings or old_text:
        audit(
            session,
            AuditKind.RETENTION_PURGE,
            actor=ACTOR,
            recordings=recordings,
            transcripts=len(old_text),
            audio_before=audio_cutoff.isoformat(),
            transcripts_before=text_cutoff.isoformat(),
        )
        log.info(
            "retention: %d recording(s) and %d transcript(s) purged", *result.__dict__.values()
        )
    return result
