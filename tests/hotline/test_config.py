"""Settings: environment names, embedded defaults, and one error listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, Settings, local_twilio_credentials


def test_embedded_defaults_fill_a_fresh_instance_folder(tmp_path: Path) -> None:
    s = Settings.from_env(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
    assert s.embedded_redis and s.redis_socket == tmp_path / "redis.sock"
    assert s.twilio_account_sid.startswith("AC") and len(s.twilio_account_sid) == 34
    # generated once, then the same on every start (the simulator signs with it)
    again = Settings.from_env(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    assert (again.twilio_auth_token, again.secret_key) == (s.twilio_auth_token, s.secret_key)
    assert local_twilio_credentials(tmp_path) == (s.twilio_account_sid, s.twilio_auth_token)
    assert (tmp_path / "twilio_auth_token").stat().st_mode & 0o077 == 0
    assert s.twilio_auth_token not in repr(s)


def test_hotline_prefix_wins_over_the_standard_name(tmp_path: Path) -> None:
    s = Settings.from_env(
        environ={
            "HOTLINE_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite:///a.db",
            "HOTLINE_DATABASE_URL": "sqlite:///b.db",
            "PUBLIC_BASE_URL": "https://hotline.example.org/",
            "HOTLINE_PROXY_X_FOR": "1",
        }
    )
    assert s.database_url == "sqlite:///b.db"
    assert s.public_base_url == "https://hotline.example.org"
    assert s.proxy_x_for == 1


def test_production_lists_every_missing_setting_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(
            environ={"HOTLINE_ENV": "production", "HOTLINE_INSTANCE_PATH": str(tmp_path)}
        ).validate()
    message = str(err.value)
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
        "SECRET_KEY",
    ):
        assert name in message
    assert not (tmp_path / "twilio_auth_token").exists()  # production never invents secrets


def test_bad_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_PROXY_X_FOR"):
        Settings.from_env(
            environ={"HOTLINE_PROXY_X_FOR": "two", "HOTLINE_INSTANCE_PATH": str(tmp_path)}
        )
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_env(
            environ={
                "PUBLIC_BASE_URL": "hotline.example.org",
                "HOTLINE_INSTANCE_PATH": str(tmp_path),
            }
        ).validate()
    with pytest.raises(ConfigError, match="LANG=VOICE/SAY-LANGUAGE"):
        Settings.from_env(
            environ={"HOTLINE_VOICES": "zh-CN=Polly.Zhiyu", "HOTLINE_INSTANCE_PATH": str(tmp_path)}
        )


def test_voices_are_configured_with_their_language(tmp_path: Path) -> None:
    s = Settings.from_env(
        environ={
            "HOTLINE_INSTANCE_PATH": str(tmp_path),
            "HOTLINE_VOICES": "zh-CN=Google.cmn-CN-Standard-A/cmn-CN",
        }
    )
    assert s.voice_for("zh-CN") == ("Google.cmn-CN-Standard-A", "cmn-CN")
    assert s.voice_for("en-US") == ("Polly.Joanna", "en-US")
