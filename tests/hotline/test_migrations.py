"""Migrations: up from empty and back down, on SQLite here and on PostgreSQL when configured."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from hotline.config import Settings
from hotline.db import Database
from hotline.migrate import downgrade, upgrade
from hotline.models import metadata


def test_up_from_empty_matches_the_models_and_down_again(tmp_path: Path) -> None:
    s = Settings.from_env(environ={}, overrides={"instance_path": tmp_path, "env": "test"})
    upgrade(s)
    db = Database(s)
    tables = set(inspect(db.engine).get_table_names())
    assert set(metadata.tables) <= tables
    downgrade(s, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(s)
    db.dispose()


def test_the_session_database_was_built_by_migrations(database: Database) -> None:
    # On PostgreSQL (TEST_DATABASE_URL) this is the migration run from empty on that server.
    tables = set(inspect(database.engine).get_table_names())
    assert {"alembic_version", "calls", "call_events", "contacts"} <= tables


def test_models_and_migrations_agree(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], "models changed without a migration: " + repr(diff)
