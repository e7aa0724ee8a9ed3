"""Running Alembic from code (`hotline db upgrade`), with the settings' database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from hotline.config import Settings
from hotline.db import ensure_sqlite_folder

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    ensure_sqlite_folder(settings)
    command.upgrade(alembic_config(settings.database_url), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings.database_url), revision)


def current_heads(settings: Settings) -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
