"""Fault injection against a running app: a dependency goes away under it and comes back.

PostgreSQL and Redis are cut with a TCP proxy (`FaultProxy`), as a network outage would; the
embedded Redis is reached through the same proxy over its unix socket. A SQLite database is
"down" when its folder cannot be opened: the app's pooled connections are closed (as a crash
or a lost disk would) and a plain file stands where the folder was.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask

from hotline.app import create_app
from hotline.config import Settings
from hotline.db import Database
from hotline.migrate import upgrade
from tests.conftest import app_overrides
from tests.faults.proxy import FaultProxy
from workorders.organisation import load_organisation


def make_app(settings: Settings, **overrides: Any) -> Flask:
    return create_app(app_overrides(settings, **overrides))


class DatabaseOutage:
    """A database the test can stop and start; `url` is what the faulty app connects to."""

    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.proxy: FaultProxy | None = None
        if settings.database_url.startswith("sqlite"):
            self.folder = tmp / "faultdb"
            self.folder.mkdir()
            self.url = f"sqlite:///{self.folder / 'hotline.db'}"
            upgrade(dataclasses.replace(settings, database_url=self.url))
            database = Database(dataclasses.replace(settings, database_url=self.url))
            with database.session() as session:
                load_organisation(session)
                session.commit()
            database.dispose()
        else:
            parts = urlsplit(settings.database_url)
            self.proxy = FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
            netloc = f"{parts.username}@127.0.0.1:{self.proxy.port}" if parts.username else ""
            self.url = urlunsplit(parts._replace(netloc=netloc or f"127.0.0.1:{self.proxy.port}"))
        self.settings = dataclasses.replace(settings, database_url=self.url)

    def down(self, app: Flask) -> None:
        if self.proxy is not None:
            self.proxy.down()
            return
        app.extensions["hotline.db"].engine.dispose()
        shutil.move(self.folder, self.folder.with_name("faultdb.off"))
        self.folder.write_text("not a folder: the database cannot be opened")

    def up(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
            return
        self.folder.unlink()
        shutil.move(self.folder.with_name("faultdb.off"), self.folder)

    def database(self) -> Database:
        return Database(self.settings)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def db_outage(settings: Settings, database: Database, tmp_path: Path) -> Iterator[DatabaseOutage]:
    outage = DatabaseOutage(settings, tmp_path)
    yield outage
    outage.close()


@pytest.fixture
def redis_proxy(settings: Settings, redis_conn: Any) -> Iterator[tuple[FaultProxy, str]]:
    """A proxy in front of the session's Redis and the URL that goes through it."""
    redis_conn.ping()  # the embedded server starts on first use: before the proxy needs it
    if settings.embedded_redis:
        proxy = FaultProxy(str(settings.redis_socket))
        url = f"redis://127.0.0.1:{proxy.port}/0"
    else:
        parts = urlsplit(settings.redis_url)
        proxy = FaultProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
        url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{proxy.port}"))
    yield proxy, url
    proxy.close()
