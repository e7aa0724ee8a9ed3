"""Recordings and their transcripts (SQL): what a caller said, kept with word confidences.

Kept free of Flask and vosk so the web app, the CLI and Alembic can import it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.base import Base, utcnow


class RecordingStatus(StrEnum):
    STORED = "stored"  # audio downloaded and kept
    TRANSCRIBED = "transcribed"
    NO_MODEL = "no_model"  # kept, but no model for its language: nothing to transcribe with
    FAILED = "failed"  # download or audio unusable; `error` says why
    PURGED = "purged"  # audio deleted after the retention period; the transcript stays


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    duration_s: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(16))
    audio_path: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.STORED)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]

    transcripts: Mapped[list[Transcript]] = relationship(
        back_populates="recording", order_by="Transcript.id", cascade="all, delete-orphan"
    )


class Transcript(Base):
    """One recognition of a recording: free-form text is an aid for people, with confidences."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    # [{"word", "conf", "start", "end"}, …] as the recogniser gave them
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confidence: Mapped[float | None]  # mean word confidence; None when nothing was recognised
    model: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(16))
    audio_s: Mapped[float]
    rtf: Mapped[float]  # CPU seconds per second of audio
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="transcripts")
