"""The `hotline` command line: flows check, config errors, migrations, a broken flow at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline import create_app
from hotline.cli.main import main
from hotline.config import ConfigError
from ivr_flows import shipped_flows_dir

BROKEN_FLOW = """\
flow: broken
languages: [zh-CN, en-US]
default_language: zh-CN
start: greeting
recovery: greeting
operator: bye
prompts:
  no_input: {zh-CN: 没有输入, en-US: No input}
  invalid: {zh-CN: 无效, en-US: Invalid}
  unavailable: {zh-CN: 不可用, en-US: Unavailable}
nodes:
  greeting: {type: say, prompt: {zh-CN: 您好}, next: nowhere}
  bye: {type: hangup}
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("DATABASE_URL", "REDIS_URL", "HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    return CliRunner()


def test_flows_check_passes_the_shipped_flows(runner: CliRunner) -> None:
    result = runner.invoke(main, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "court_hotline.yaml" in result.output


def test_flows_check_names_file_node_and_problem(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN_FLOW)
    result = runner.invoke(main, ["flows", "check", str(bad)])
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert "greeting" in result.output
    assert "nowhere" in result.output  # the dangling edge
    assert "en-US" in result.output  # the missing prompt


def test_startup_refuses_a_broken_flow(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "broken.yaml").write_text(BROKEN_FLOW)
    with pytest.raises(ConfigError) as err:
        create_app(
            {"env": "test", "instance_path": tmp_path, "flows_path": str(flows), "flow": "broken"}
        )
    assert "broken.yaml" in str(err.value) and "nowhere" in str(err.value)


def test_startup_names_an_unknown_flow(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_FLOW='nope'"):
        create_app(
            {
                "env": "test",
                "instance_path": tmp_path,
                "flows_path": str(shipped_flows_dir()),
                "flow": "nope",
            }
        )


def test_production_config_lists_what_is_missing(runner: CliRunner) -> None:
    result = runner.invoke(main, ["config"], env={"HOTLINE_ENV": "production"})
    assert result.exit_code == 1
    assert "REDIS_URL" in result.output and "PUBLIC_BASE_URL" in result.output


def test_db_upgrade_and_demo_data_are_repeatable(runner: CliRunner, tmp_path: Path) -> None:
    for _ in range(2):
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(main, ["demo", "load"])
    second = runner.invoke(main, ["demo", "load"])
    assert "(3 new rows)" in first.output  # two callers and their case
    assert "(0 new rows)" in second.output
    assert (tmp_path / "hotline.db").exists()
