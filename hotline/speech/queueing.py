"""Queueing a recording's transcription without importing the recogniser (the web app does it)."""

from __future__ import annotations

import logging

import redis

from hotline.config import Settings
from hotline.jobs import get_queue

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
