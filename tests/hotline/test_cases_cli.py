"""`hotline cases …` against a migrated SQLite file: import, generate, show."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cases_cli import cases
from hotline.config import Settings
from hotline.db import Database
from hotline.migrate import upgrade
from workorders.case_generate import generate_cases
from workorders.case_registry import find_case, hash_id_number

PEPPER = "cli-secret-key"
HEADER = (
    "case_number,court_name,stage,next_hearing_at,party1_name,party1_role,party1_id,party1_phones"
)
GOOD_ROW = (
    "（2022）粤03民终65487号,广东省深圳市中级人民法院,mediation,2026-12-03T09:30:00+08:00,"
    "张伟,appellant,44030419900307123X,13800138000;15012345678"
)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HOTLINE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", PEPPER)
    upgrade(Settings.from_env())
    return CliRunner()


def test_import_prints_the_report_and_show_masks_ids_and_phones(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    result = runner.invoke(cases, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new, 0 updated, 0 rejected" in result.output

    shown = runner.invoke(cases, ["show", "(2022) 粤03民终65487号"])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "（2022）粤03民终65487号" in out and "mediation" in out
    assert "2026-12-03 09:30 (Asia/Shanghai)" in out
    assert "ID …123X" in out and "44030419900307" not in out
    assert "+86*******8000" in out and "13800138000" not in out

    database = Database(Settings.from_env())
    with database.session() as session:
        case = find_case(session, "（2022）粤03民终65487号")
        assert case is not None  # committed by the command
        # The pepper is the app's SECRET_KEY.
        assert case.parties[0].id_hash == hash_id_number("44030419900307123X", pepper=PEPPER)
    database.dispose()


def test_import_exits_1_naming_rejected_rows_and_keeps_the_good_ones(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "cases.csv"
    bad = "（2023）粤0304民初9号,,,,张伟,judge,,"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n{bad}\n", encoding="utf-8")
    result = runner.invoke(cases, ["import", str(path)])
    assert result.exit_code == 1
    assert "1 new, 0 updated, 1 rejected" in result.output
    assert "row 3: party 1 has an unknown role 'judge'" in result.output
    assert runner.invoke(cases, ["show", "（2022）粤03民终65487号"]).exit_code == 0


def test_import_refuses_a_file_with_unknown_columns(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text("case_number,judge\n（2022）粤03民终65487号,王\n", encoding="utf-8")
    result = runner.invoke(cases, ["import", str(path)])
    assert result.exit_code == 1
    assert "unknown columns: judge" in result.output


def test_generate_loads_cases_once_and_show_finds_them(runner: CliRunner) -> None:
    result = runner.invoke(cases, ["generate", "--count", "60", "--seed", "5", "--fast"])
    assert result.exit_code == 0, result.output
    assert "60 cases loaded (0 already present)" in result.output
    again = runner.invoke(cases, ["generate", "--count", "60", "--seed", "5", "--fast"])
    assert "0 cases loaded (60 already present)" in again.output

    first = next(generate_cases(1, seed=5, today=date.today()))
    shown = runner.invoke(cases, ["show", first.case_number])
    assert shown.exit_code == 0, shown.output
    assert first.parties[0].name in shown.output
    assert "password:     set" in shown.output
    for p in first.parties:
        for phone in p.phones:
            assert phone not in shown.output
        if p.id_number:
            assert p.id_number not in shown.output and f"ID …{p.id_number[-4:]}" in shown.output


def test_show_says_when_there_is_no_such_case_or_no_case_number(runner: CliRunner) -> None:
    missing = runner.invoke(cases, ["show", "（2022）粤03民终1号"])
    assert missing.exit_code == 1 and "no case （2022）粤03民终1号" in missing.output
    garbage = runner.invoke(cases, ["show", "65487"])
    assert garbage.exit_code == 1
    assert re.search(r"not a case number: .+", garbage.output)
