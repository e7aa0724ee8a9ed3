"""Queueing a recording's transcription without importing the recogniser (the web app does it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.jobs import get_queue
from hotline.speech.records import Recording, RecordingStatus
from workorders.calls import Call, CallEvent, EventKind

log = logging.getLogger(__name__)

QUEUE = "speech"
# By name: the web process must not import vosk; the speech worker resolves it.
TRANSCRIBE = "hotline.speech.transcribe.transcribe_recording"


def enqueue_transcription(
    settings: Settings, *, recording_sid: str, call_sid: str, url: str, duration_s: int | None
) -> bool:
    """Queue the transcription (dedup on RecordingSid); False when Redis is unreachable."""
    try:
        get_queue(settings, QUEUE).enqueue(
            TRANSCRIBE,
            recording_sid,
            call_sid,
            url,
            duration_s,
            job_id=f"transcribe-{recording_sid}",
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            job_timeout=600,
        )
    except redis.RedisError as exc:
        log.warning("could not queue the transcription of %s: %s", recording_sid, exc)
        return False
    return True


def requeue_lost_transcriptions(
    settings: Settings, session: Session, *, received_before: datetime
) -> int:
    """Completed recording callbacks with no Recording row yet (their job was lost: Redis was
    down when the callback came, or flushed since), or with a row its job never finished.
    Re-queued by the sweep; the job id is the RecordingSid, so a job still waiting is not
    queued twice. Looks back one day."""
    since = received_before - timedelta(days=1)
    events = session.execute(
        select(CallEvent.params, Call.call_sid)
        .join(Call, CallEvent.call_id == Call.id)
        .where(
            CallEvent.kind == EventKind.RECORDING,
            CallEvent.received_at < received_before,
            CallEvent.received_at >= since,
        )
        .limit(2000)
    ).all()
    wanted = {
        str(p.get("RecordingSid")): (call_sid, p)
        for p, call_sid in events
        if p.get("RecordingStatus", "completed") == "completed"
        and str(p.get("RecordingUrl", "")).startswith(("http://", "https://"))
    }
    if not wanted:
        return 0
    # A row in "stored" with no transcript and older than the grace period: its job died
    # midway (a worker killed during the download or the decoding). Transcribed, failed,
    # no-model and purged rows are final.
    known = {
        sid: (status, created)
        for sid, status, created in session.execute(
            select(Recording.recording_sid, Recording.status, Recording.created_at).where(
                Recording.recording_sid.in_(list(wanted))
            )
        ).all()
    }
    queued = 0
    for sid, (call_sid, p) in wanted.items():
        if not sid.startswith("RE"):
            continue
        if sid in known:
            status, created = known[sid]
            if status != RecordingStatus.STORED or created >= received_before:
                continue
        duration = str(p.get("RecordingDuration") or "")
        queued += enqueue_transcription(
            settings,
            recording_sid=sid,
            call_sid=call_sid,
            url=str(p["RecordingUrl"]),
            duration_s=int(duration) if duration.isdigit() else None,
        )
    return queued
