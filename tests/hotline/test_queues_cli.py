"""`hotline agents …` and `hotline callbacks …` on a fresh instance (SQLite, embedded Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.main import main
from hotline.config import Settings
from hotline.redis_store import stop_embedded_redis


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    for name in ("DATABASE_URL", "REDIS_URL", "HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    cli = CliRunner()
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    yield cli
    stop_embedded_redis(Settings.from_env().instance_path)


def test_agents_and_callbacks_from_the_command_line(runner: CliRunner) -> None:
    added = runner.invoke(main, ["agents", "add", "li.na", "--skills", "civil,general",
                                 "--client", "li-na", "--name", "李娜"])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "client:li-na" in added.output
    bad = runner.invoke(main, ["agents", "add", "x", "--skills", "tax"])
    assert bad.exit_code == 1
    assert "unknown queue(s) tax" in bad.output and "phone number or a Twilio Client" in bad.output
    shown = runner.invoke(main, ["agents", "presence", "li.na"])
    assert "li.na\toffline" in shown.output
    set_ = runner.invoke(main, ["agents", "presence", "li.na", "wrap-up"])
    assert set_.exit_code == 0 and "wrap-up" in set_.output
    listed = runner.invoke(main, ["agents", "list"])
    assert "li.na\twrap-up" in listed.output
    past = runner.invoke(
        main, ["callbacks", "schedule", "+8613800138000", "--start", "2020-01-01T10:00:00+08:00",
               "--end", "2020-01-01T11:00:00+08:00"],
    )  # fmt: skip
    assert past.exit_code == 1 and "in_past" in past.output
    queues = runner.invoke(main, ["agents", "queues"])
    assert queues.exit_code == 0 and "general: 0 waiting" in queues.output
