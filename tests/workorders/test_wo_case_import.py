"""Importing case files row by row, and generating and bulk-loading realistic benchmark cases."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workorders import case_import
from workorders.case_generate import generate_cases, load_generated
from workorders.case_import import CaseFileError, import_cases
from workorders.case_numbers import CaseNumberError, parse_case_number
from workorders.case_registry import CaseRecord, check_password, find_case, validate_record
from workorders.case_registry import upsert_case as real_upsert
from workorders.cases import CourtCase, Party, PartyPhone, PartyRole
from workorders.contacts import Contact

PEPPER = "import-pepper"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 27)
HEADER = [
    "case_number",
    "court_name",
    "cause",
    "stage",
    "status_text.zh-CN",
    "status_text.en-US",
    "filing_date",
    "next_hearing_at",
    "query_password",
    "party1_name",
    "party1_role",
    "party1_id",
    "party1_phones",
    "party2_name",
    "party2_role",
    "party2_id",
    "party2_phones",
]
GOOD = ["深圳中院", "医疗损害责任纠纷", "mediation", "二审调解阶段", "second instance, mediation"]
APPEAL = "（2022）粤03民终65487号"


def parser_reason(text: str) -> str:
    with pytest.raises(CaseNumberError) as err:
        parse_case_number(text)
    return str(err.value)


def row(
    case_number: str, *parties: str, filed: str = "", hearing: str = "", password: str = ""
) -> list[str]:
    return [case_number, *GOOD, filed, hearing, password, *parties]


def write_csv(path: Path) -> Path:
    # fmt: off
    rows = [
        HEADER,
        row(APPEAL, "张伟", "appellant", "44030419900307123X", "13800138000; +8615012345678",
            "深圳市某医院", "被上诉人", "", "+8675582001111",
            filed="2022-03-14", hearing="2026-12-03T09:30:00+08:00", password="135790"),
        row("(2023)粤0304民初12345号", "李娜", "原告", "", "13900139000", "王强", "被告", "", "",
            filed="2023-05-02"),
        row("（2023）粤0304民初号", "张伟", "plaintiff", "", ""),
        row("（2023）粤0304民初2号", "张伟", "judge", "", ""),
        row("（2023）粤0304民初3号", "张伟", "plaintiff", "", "", filed="2023-02-30"),
        row("（2023）粤0304民初4号", "张伟", "plaintiff", "", "13800138000;abc"),
        row("（2023）粤0304民初5号", "张伟", "plaintiff", "", "", "", "被告", "", "13900139000"),
        row("(2022) 粤03民终65487号", "张伟", "appellant", "", ""),
        row("（2023）粤0304民初6号", "张伟", "原告", "", "", hearing="2026-12-03 09:30"),
        [],  # a blank row: skipped, but it still has its number
        row("（2024）粤03执恢88号", "赵敏", "申请执行人", "", "13700137000"),
    ]
    # fmt: on
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # Excel writes a BOM
        csv.writer(f).writerows(rows)
    return path


CSV_REJECTED = [
    (4, parser_reason("（2023）粤0304民初号")),
    (5, "party 1 has an unknown role 'judge'"),
    (6, "filing_date '2023-02-30' is not a date (YYYY-MM-DD)"),
    (7, "party 1 phone 'abc' is not a phone number"),
    (8, "party 2 has no name"),
    (9, f"{APPEAL} repeats row 2"),
    (10, "next_hearing_at '2026-12-03 09:30' has no UTC offset (e.g. +08:00)"),
]


def table_counts(session: Session) -> tuple[int, ...]:
    models = (CourtCase, Party, PartyPhone, Contact)
    return tuple(session.scalar(select(func.count()).select_from(m)) or 0 for m in models)


def test_csv_import_takes_the_good_rows_and_names_each_bad_one(
    session: Session, tmp_path: Path
) -> None:
    report = import_cases(session, write_csv(tmp_path / "cases.csv"), pepper=PEPPER)
    assert (report.imported, report.updated) == (3, 0)
    assert report.rejected == CSV_REJECTED
    assert report.format().splitlines()[0] == "3 new, 0 updated, 7 rejected"
    assert "  row 9: （2022）粤03民终65487号 repeats row 2" in report.format()

    appeal = find_case(session, APPEAL)
    assert appeal is not None
    assert appeal.status_text == {"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"}
    assert appeal.next_hearing_at == datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI)
    assert appeal.query_password_hash and check_password(appeal.query_password_hash, "135790")
    assert [(p.name, p.role, p.id_last_digits) for p in appeal.parties] == [
        ("张伟", "appellant", "123X"),
        ("深圳市某医院", "appellee", None),
    ]
    assert sorted(link.contact.phone_e164 for link in appeal.parties[0].phones) == [
        "+8613800138000",
        "+8615012345678",
    ]
    resumed = find_case(session, "（2024）粤03执恢88号")
    assert resumed is not None and resumed.parties[0].role == PartyRole.APPLICANT


def test_reimporting_the_same_file_updates_in_place(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "cases.csv")
    import_cases(session, path, pepper=PEPPER)
    counts = table_counts(session)
    party_ids = [p.id for p in find_case(session, APPEAL).parties]  # type: ignore[union-attr]
    report = import_cases(session, path, pepper=PEPPER)
    assert (report.imported, report.updated, report.rejected) == (0, 3, CSV_REJECTED)
    assert table_counts(session) == counts
    assert [p.id for p in find_case(session, APPEAL).parties] == party_ids  # type: ignore[union-attr]


def test_json_import_takes_the_good_entries_and_names_each_bad_one(
    session: Session, tmp_path: Path
) -> None:
    good: dict[str, Any] = {
        "case_number": "（2024）粤0305民初77号",
        "cause": "民间借贷纠纷",
        "status_text": {"zh-CN": "一审审理阶段", "en-US": "first instance, trial"},
        "next_hearing_at": "2026-12-04T14:00:00+08:00",
        "parties": [
            {"name": "周杰", "role": "plaintiff", "id_number": "11010119850101001X"},
            {"name": "吴芳", "role": "被告", "phones": "13600136000;13500135000"},
        ],
    }

    def bad(**changes: Any) -> dict[str, Any]:
        return {**good, "case_number": f"（2024）粤0305民初{len(entries) + 100}号", **changes}

    entries: list[Any] = [good]
    entries.append(bad(parties=[{"name": "周杰", "role": "witness"}]))
    entries.append(bad(next_hearing_at="tomorrow"))
    entries.append(bad(parties=[{"name": "周杰", "role": "plaintiff", "phones": ["+86 1"]}]))
    entries.append(bad(parties=[{"role": "plaintiff", "phones": ["13600136000"]}]))
    entries.append(bad(query_password=123456))
    entries.append({**good, "case_number": "(2024)粤0305民初77号"})
    entries.append(bad(case_number="（2024）粤0305民初"))
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")

    report = import_cases(session, path, pepper=PEPPER)
    assert (report.imported, report.updated) == (1, 0)
    assert report.rejected == [
        (2, "party 1 has an unknown role 'witness'"),
        (3, "next_hearing_at 'tomorrow' is not an ISO 8601 time"),
        (4, "party 1 phone '+86 1' is not a phone number"),
        (5, "party 1 has no name"),
        (6, "query_password must be text, not 123456"),
        (7, "（2024）粤0305民初77号 repeats row 1"),
        (8, parser_reason("（2024）粤0305民初")),
    ]
    case = find_case(session, "（2024）粤0305民初77号")
    assert case is not None and case.cause == "民间借贷纠纷"
    defendant = case.parties[1]
    assert defendant.role == PartyRole.DEFENDANT
    assert {link.contact.phone_e164 for link in defendant.phones} == {
        "+8613600136000",
        "+8613500135000",
    }


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("cases.csv", "case_number,judge\n（2024）粤03执恢88号,王\n", "unknown columns: judge"),
        ("cases.csv", "court_name\n深圳中院\n", "no case_number column"),
        ("cases.json", '{"case_number": "x"}', "expected a JSON list"),
        ("cases.json", '[{"case_numbr": "x"}]', "unknown fields: case_numbr"),
        ("cases.json", "[", "Expecting value"),
        ("cases.xlsx", "", "expected a .csv or .json file"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused_whole(
    session: Session, tmp_path: Path, name: str, content: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CaseFileError, match=problem):
        import_cases(session, path, pepper=PEPPER)


def test_a_row_the_database_refuses_costs_only_that_row(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def upsert_refusing_one(s: Session, record: CaseRecord, **kwargs: Any) -> Any:
        if record.case_number.startswith("(2023)"):
            raise ValueError("value too long for type character varying(100)")
        return real_upsert(s, record, **kwargs)

    monkeypatch.setattr(case_import, "upsert_case", upsert_refusing_one)
    progress: list[tuple[int, int]] = []
    report = import_cases(
        session,
        write_csv(tmp_path / "cases.csv"),
        pepper=PEPPER,
        batch_size=2,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert report.imported == 2
    assert (3, "not stored: value too long for type character varying(100)") in report.rejected
    assert find_case(session, APPEAL) is not None  # in the same batch as the refused row
    assert find_case(session, "(2023)粤0304民初12345号") is None
    assert progress == [(2, 10), (10, 10)]  # after each batch; the blank row is no row


# Generation


def generated(count: int, seed: int = 7) -> list[CaseRecord]:
    return list(generate_cases(count, seed=seed, today=TODAY))


def id_checksum_ok(id_number: str) -> bool:
    """ISO 7064 MOD 11-2 over all 18 characters, computed the textbook way."""
    total = 0
    for ch in id_number:
        total = (total * 2 + (10 if ch == "X" else int(ch))) % 11
    return total == 1


def test_generation_is_deterministic_for_a_seed() -> None:
    assert generated(300) == generated(300)
    assert generated(300) != generated(300, seed=8)
    assert len(generated(300)) == 300


def test_generated_cases_are_valid_and_realistic() -> None:
    records = generated(3000)
    numbers = [parse_case_number(r.case_number) for r in records]
    assert len({n.format() for n in numbers}) == len(records)
    assert {n.type_code for n in numbers} == {"民初", "民终", "执", "执恢", "刑初", "行初"}
    assert {n.court for n in numbers if n.type_code == "民终"} == {"粤03"}  # appeals: intermediate
    assert {n.year for n in numbers} == set(range(2021, 2027))
    types = Counter(n.type_code for n in numbers)
    assert types["民初"] > types["民终"] > types["执"] > types["刑初"] > types["执恢"]

    phone_cases: dict[str, set[str]] = {}
    for r, n in zip(records, numbers, strict=True):
        validate_record(r)  # importable as is
        assert r.filing_date is not None and r.filing_date.year == n.year
        assert 2 <= len([p for p in r.parties if p.role != PartyRole.AGENT]) <= 3
        assert set(r.status_text) == {"zh-CN", "en-US"} and r.cause
        assert r.query_password is not None and len(r.query_password) == 6
        assert r.query_password.isdigit()
        if n.type_code == "刑初":
            assert {p.role for p in r.parties} <= {"accused", "victim", "agent"}
        if r.next_hearing_at is not None:
            local = r.next_hearing_at.astimezone(SHANGHAI)
            assert local.weekday() < 5 and time(9) <= local.time() <= time(16, 30)
            assert TODAY < local.date() <= TODAY + timedelta(weeks=7)
            assert r.stage in ("mediation", "trial")
        for p in r.parties:
            if p.id_number is not None:
                assert len(p.id_number) == 18 and id_checksum_ok(p.id_number), p.id_number
                date(int(p.id_number[6:10]), int(p.id_number[10:12]), int(p.id_number[12:14]))
            for phone in p.phones:
                parsed = phonenumbers.parse(phone)
                assert phonenumbers.is_valid_number(parsed), phone
                assert phonenumbers.format_number(parsed, 0) == phone  # 0: E164
                phone_cases.setdefault(phone, set()).add(n.format())
    assert any(r.next_hearing_at for r in records) and any(r.stage == "closed" for r in records)
    assert any(p.id_number is None and "公司" in p.name for r in records for p in r.parties)
    agents = {p.phones[0] for r in records for p in r.parties if p.role == PartyRole.AGENT}
    assert 1 <= len(agents) <= 4
    assert max(len(phone_cases[a]) for a in agents) >= 3  # one agent's number, many cases


def test_load_generated_bulk_inserts_cases_parties_and_shared_contacts(session: Session) -> None:
    before = table_counts(session)
    records = generated(2000, seed=11)
    progress: list[tuple[int, int]] = []
    loaded = load_generated(
        session,
        2000,
        seed=11,
        pepper=PEPPER,
        batch_size=700,
        fast=True,
        today=TODAY,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert loaded == 2000
    assert progress == [(700, 2000), (1400, 2000), (2000, 2000)]
    parties = [p for r in records for p in r.parties]
    numbers = {n for p in parties for n in p.phones}
    after = table_counts(session)
    assert after[0] - before[0] == 2000
    assert after[1] - before[1] == len(parties)
    assert after[2] - before[2] == sum(len(set(p.phones)) for p in parties)
    assert after[3] - before[3] <= len(numbers) < sum(len(p.phones) for p in parties)

    sample = records[1234]
    case = find_case(session, sample.case_number)
    assert case is not None and case.division == parse_case_number(sample.case_number).division
    assert [(p.name, p.role) for p in case.parties] == [(p.name, p.role) for p in sample.parties]
    assert case.query_password_hash and check_password(case.query_password_hash, "x") is False
    assert check_password(case.query_password_hash, sample.query_password or "")
    assert {link.contact.phone_e164 for link in case.parties[0].phones} == set(
        sample.parties[0].phones
    )
    assert load_generated(session, 2000, seed=11, pepper=PEPPER, fast=True, today=TODAY) == 0
    assert table_counts(session) == after
