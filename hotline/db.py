"""Database engine and sessions: one engine per process, one session per request or job."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    if database_url.startswith("sqlite"):
        return _sqlite_engine(database_url, **kwargs)
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, **kwargs)


# As long as SQLite's own busy timeout: a webhook gives up well inside Twilio's 15 s.
WRITER_WAIT_S = 5


def _sqlite_engine(database_url: str, **kwargs: Any) -> Engine:
    """SQLite tuned for several threads and processes writing short transactions.

    Transactions start with BEGIN IMMEDIATE: a deferred one that read first and wrote later
    fails at once (SQLITE_BUSY_SNAPSHOT in WAL mode) when another writer got in between,
    and waiting cannot cure that. Threads of one process also queue on a lock before BEGIN:
    SQLite's own busy handler waits in steps of up to 100 ms, which is what a webhook's tail
    latency would otherwise be made of. Other processes (workers) still meet the busy handler.
    """
    # Wait for the writer instead of failing, but well inside Twilio's 15 s.
    kwargs.setdefault("connect_args", {"timeout": WRITER_WAIT_S, "check_same_thread": False})
    kwargs["connect_args"]["isolation_level"] = None  # we issue BEGIN ourselves
    engine = create_engine(database_url, **kwargs)
    writer = threading.RLock()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        if not writer.acquire(timeout=WRITER_WAIT_S):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        conn.info["hotline.writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            # The failed BEGIN may already have fired the rollback event, which released it.
            if conn.info.pop("hotline.writer", False):
                writer.release()
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop("hotline.writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)
    return engine


def _timeouts(settings: Settings) -> dict[str, Any]:
    """A down or stuck PostgreSQL fails a request in seconds, so the webhook can still answer
    (emergency flow) inside Twilio's 15 s; migrations (make_engine alone) have no such limit."""
    if settings.database_url.startswith("sqlite"):
        return {}
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return {
        "connect_args": {"connect_timeout": settings.db_connect_timeout_s, "options": options},
        "pool_timeout": settings.db_connect_timeout_s,
    }


def ensure_sqlite_folder(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite:///"):
        path = settings.database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """The engine and session factory for one set of settings (web app, worker or CLI)."""

    def __init__(self, settings: Settings) -> None:
        ensure_sqlite_folder(settings)
        self.engine = make_engine(settings.database_url, **_timeouts(settings))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        from hotline.live import install_order_events
        from hotline.notify import install_outbox  # here: notify's jobs import this module

        install_outbox(self.sessions, settings)
        install_order_events(self.sessions, settings)
        from hotline.queues.follow_up import install_follow_ups

        install_follow_ups(self.sessions, settings)
        from hotline.kpis.listener import install_kpi_listener
        from hotline.redis_store import redis_client

        install_kpi_listener(self.sessions, lambda: redis_client(settings), settings.timezone)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction the caller commits; rolled back on error, always closed."""
        session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> None:
    app.extensions["hotline.db"] = Database(app.config["SETTINGS"])
    app.teardown_appcontext(_close_session)


def get_db() -> Database:
    db: Database = current_app.extensions["hotline.db"]
    return db


def get_session() -> Session:
    """The request's session; the view commits, teardown closes (rolling back what was not)."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
