"""A speech worker killed with SIGKILL in the middle of a transcription job (stuck in the
download): after recovery by the sweep there is exactly one recording and one transcript."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job
from sqlalchemy import func, select, update

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import sweep_due
from hotline.redis_store import redis_client
from hotline.speech.queueing import TRANSCRIBE
from hotline.speech.records import Recording, RecordingStatus, Transcript
from tests.conftest import SPEECH_ENV, worker_env
from tests.helpers import new_call_sid, wait_for
from tests.speech_audio import korean_wav
from workorders.call_log import CallInfo, record_event, upsert_call
from workorders.calls import CallEvent, EventKind

DOOMED_QUEUE = "faults-speech-doomed"


@pytest.fixture
def stalling_recordings() -> Iterator[tuple[str, threading.Event]]:
    """A recordings server whose first download hangs until released; later ones are served."""
    release = threading.Event()
    audio = korean_wav("상담원")
    first = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if not first.is_set():
                first.set()
                release.wait(60)  # the worker is killed while it waits here
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-wav")
            self.send_header("Content-Length", str(len(audio)))
            self.end_headers()
            self.wfile.write(audio)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", release
    release.set()
    server.shutdown()


def test_a_transcription_killed_midway_ends_with_one_transcript(
    settings: Settings,
    database: Database,
    worker: Any,
    speech_worker: Any,
    stalling_recordings: tuple[str, threading.Event],
    tmp_path: Path,
) -> None:
    base, release = stalling_recordings
    call_sid, recording_sid = new_call_sid(), "RE" + secrets.token_hex(16)
    url = f"{base}/Recordings/{recording_sid}"
    stale = datetime.now(UTC) - timedelta(minutes=10)
    with database.session() as session:  # the call and its recording callback, as received
        call, _ = upsert_call(
            session,
            info=CallInfo(call_sid=call_sid, from_raw="+821055507777", to_raw="+862012368"),
        )
        call.language = "ko-KR"
        event = record_event(
            session,
            call=call,
            kind=EventKind.RECORDING,
            dedup_key=secrets.token_hex(16),
            params={
                "CallSid": call_sid,
                "RecordingSid": recording_sid,
                "RecordingUrl": url,
                "RecordingStatus": "completed",
                "RecordingDuration": "2",
            },
        )
        event.received_at = stale
        session.commit()

    job_id = f"transcribe-{recording_sid}"
    doomed = subprocess.Popen(
        [str(Path(sys.executable).parent / "hotline"), "worker", DOOMED_QUEUE, "--no-scheduler"],
        env=worker_env(settings) | SPEECH_ENV,
        stdout=(tmp_path / "doomed.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        get_queue(settings, DOOMED_QUEUE).enqueue(
            TRANSCRIBE, recording_sid, call_sid, url, 2, job_id=job_id
        )
        connection = redis_client(settings)
        wait_for(lambda: Job.fetch(job_id, connection=connection).get_status() == "started", 90)

        def downloading() -> bool:  # the row is written, the download hangs
            with database.session() as session:
                return (
                    session.scalar(
                        select(func.count())
                        .select_from(Recording)
                        .where(Recording.recording_sid == recording_sid)
                    )
                    == 1
                )

        wait_for(downloading, timeout=60)
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    release.set()

    with database.session() as session:
        rec = session.execute(
            select(Recording).where(Recording.recording_sid == recording_sid)
        ).scalar_one()
        assert rec.status == RecordingStatus.STORED and not rec.transcripts  # half done
        session.execute(update(Recording).where(Recording.id == rec.id).values(created_at=stale))
        session.commit()

    get_queue(settings).enqueue(sweep_due)  # finds it unfinished and queues it again

    def transcripts() -> int:
        with database.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Transcript)
                    .join(Recording)
                    .where(Recording.recording_sid == recording_sid)
                )
                or 0
            )

    wait_for(lambda: transcripts() == 1, timeout=120)
    get_queue(settings).enqueue(sweep_due)  # a second sweep: nothing more to do
    with database.session() as session:
        rows = session.scalar(
            select(func.count())
            .select_from(Recording)
            .where(Recording.recording_sid == recording_sid)
        )
        status = session.scalar(
            select(Recording.status).where(Recording.recording_sid == recording_sid)
        )
        kinds = session.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all()
    assert rows == 1 and status == RecordingStatus.TRANSCRIBED and transcripts() == 1
    assert kinds == ["recording"]
