"""What every command shares: settings loaded and checked, with errors fit for a terminal."""

from __future__ import annotations

import click

from hotline.config import ConfigError, Settings


def load_settings() -> Settings:
    try:
        return Settings.from_env().validate()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
