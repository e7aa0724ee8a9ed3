"""Importing court cases from a CSV or JSON file, row by row, reporting every rejected row.

CSV (UTF-8, with or without a BOM), one row per case, a header row naming the columns:

- ``case_number`` (required), ``court_name``, ``cause``, ``stage``, ``next_hearing_place``,
  ``judge_name``, ``clerk_name``, ``clerk_phone``, ``query_password`` (clear; empty keeps the
  stored hash);
- ``filing_date`` as ``YYYY-MM-DD``; ``next_hearing_at`` as ISO 8601 with a UTC offset
  (``2026-12-03T09:30:00+08:00``): a time without one is rejected rather than guessed;
- ``status_text.<lang>``, one column per language (``status_text.zh-CN``,
  ``status_text.en-US``);
- ``party1_name``, ``party1_role``, ``party1_id``, ``party1_phones`` … up to ``party9_*``:
  the role is a PartyRole value (``plaintiff``) or its Chinese name (原告), the ID number is
  optional, phones are separated by ``;``. A party whose columns are all empty is absent.

Rows are numbered as a spreadsheet numbers them: the header is row 1, the first case row 2.

JSON: a list of objects with the same names (``status_text`` an object of language to text)
and a ``parties`` list of objects ``{name, role, id_number, phones}``, phones a list or a
``;``-separated string; entries are numbered from 1.

An unknown column or field rejects the whole file (a misspelt header would otherwise drop a
column silently); everything else is judged per row, so good rows import beside bad ones.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from workorders.case_registry import (
    CaseRecord,
    CaseRecordError,
    PartyRecord,
    upsert_case,
    validate_record,
)
from workorders.cases import PartyRole

MAX_PARTIES = 9
TEXT_FIELDS = (
    "case_number",
    "court_name",
    "cause",
    "stage",
    "next_hearing_place",
    "judge_name",
    "clerk_name",
    "clerk_phone",
    "query_password",
)
DATE_FIELDS = ("filing_date", "next_hearing_at")
PARTY_COLUMNS = ("name", "role", "id", "phones")
CSV_COLUMNS = frozenset(
    [*TEXT_FIELDS, *DATE_FIELDS]
    + [f"party{i}_{c}" for i in range(1, MAX_PARTIES + 1) for c in PARTY_COLUMNS]
)
JSON_FIELDS = frozenset([*TEXT_FIELDS, *DATE_FIELDS, "status_text", "parties"])
JSON_PARTY_FIELDS = frozenset({"name", "role", "id_number", "phones"})

# Court exports name roles in Chinese; both spellings of a role map to one PartyRole.
ROLE_NAMES: dict[str, PartyRole] = {
    "原告": PartyRole.PLAINTIFF,
    "被告": PartyRole.DEFENDANT,
    "上诉人": PartyRole.APPELLANT,
    "被上诉人": PartyRole.APPELLEE,
    "申请人": PartyRole.APPLICANT,
    "申请执行人": PartyRole.APPLICANT,
    "被申请人": PartyRole.RESPONDENT,
    "被执行人": PartyRole.RESPONDENT,
    "第三人": PartyRole.THIRD_PARTY,
    "被告人": PartyRole.DEFENDANT_CRIMINAL,
    "被害人": PartyRole.VICTIM,
    "诉讼代理人": PartyRole.AGENT,
    "代理人": PartyRole.AGENT,
}

Progress = Callable[[int, int], None]

# What one row can cause; anything else (a lost connection, a locked database) is not the
# row's fault and propagates to the caller, whose transaction it is.
_ROW_ERRORS = (ValueError, IntegrityError, DataError)


class CaseFileError(ValueError):
    """A file that cannot be imported at all: unreadable, wrong shape, unknown columns."""


@dataclass
class ImportReport:
    imported: int = 0  # new cases
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)

    def format(self) -> str:
        lines = [f"{self.imported} new, {self.updated} updated, {len(self.rejected)} rejected"]
        lines += [f"  row {row}: {reason}" for row, reason in sorted(self.rejected)]
        return "\n".join(lines)


def import_cases(
    session: Session,
    path: Path,
    *,
    pepper: str,
    region: str = "CN",
    batch_size: int = 500,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import every good row of `path` (.csv or .json) and report the rest; never commits.

    Each batch is written inside a savepoint; `on_progress(rows_done, rows_total)` is called
    after each one, which is where a caller that wants a commit per batch commits."""
    rows, parse, total = _read(path)
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[tuple[int, CaseRecord]] = []
    done = reported = 0
    for row, raw in rows:
        done += 1
        try:
            record = parse(raw)
            normalized = validate_record(record, region=region).format()
        except ValueError as exc:  # CaseNumberError and CaseRecordError are ValueErrors
            report.rejected.append((row, str(exc)))
            continue
        if normalized in seen:
            report.rejected.append((row, f"{normalized} repeats row {seen[normalized]}"))
            continue
        seen[normalized] = row
        batch.append((row, record))
        if len(batch) >= batch_size:
            _write(session, batch, report, pepper=pepper, region=region)
            batch, reported = [], done
            if on_progress:
                on_progress(done, total)
    _write(session, batch, report, pepper=pepper, region=region)
    if on_progress and done > reported:
        on_progress(done, total)
    return report


def _write(
    session: Session,
    batch: list[tuple[int, CaseRecord]],
    report: ImportReport,
    *,
    pepper: str,
    region: str,
) -> None:
    if not batch:
        return
    try:
        with session.begin_nested():
            created = [upsert_case(session, r, pepper=pepper, region=region)[1] for _, r in batch]
    except _ROW_ERRORS:
        # Something only the database could tell (a value too long for PostgreSQL, a race):
        # redo the batch a row at a time so the one bad row is named and the others stay.
        created = []
        for row, record in batch:
            try:
                with session.begin_nested():
                    created.append(upsert_case(session, record, pepper=pepper, region=region)[1])
            except _ROW_ERRORS as exc:
                report.rejected.append((row, f"not stored: {_first_line(exc)}"))
    report.imported += sum(created)
    report.updated += len(created) - sum(created)


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


Rows = Iterator[tuple[int, Any]]


def _read(path: Path) -> tuple[Rows, Callable[[Any], CaseRecord], int]:
    """The numbered raw rows, the function that makes a record of one, and the row count."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows, total = _read_csv(path)
            return rows, _csv_record, total
        if suffix == ".json":
            rows, total = _read_json(path)
            return rows, _json_record, total
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise CaseFileError(f"{path}: {exc}") from None
    raise CaseFileError(f"{path}: expected a .csv or .json file")


def _read_csv(path: Path) -> tuple[Rows, int]:
    # A first pass counts the rows for progress and finds undecodable bytes or broken
    # quoting before anything is written, so such a file fails whole rather than half-way.
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = [c.strip() for c in next(reader, [])]
        total = sum(1 for cells in reader if _filled(cells))
    if "case_number" not in header:
        raise CaseFileError(f"{path}: the header has no case_number column")
    unknown = [c for c in header if c not in CSV_COLUMNS and not c.startswith("status_text.")]
    if unknown:
        raise CaseFileError(f"{path}: unknown columns: {', '.join(unknown)}")

    def rows() -> Rows:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            for index, cells in enumerate(reader, start=2):
                if _filled(cells):  # blank rows still count, as in the spreadsheet
                    yield index, (header, cells)

    return rows(), total


def _filled(cells: list[str]) -> bool:
    return any(c.strip() for c in cells)


def _read_json(path: Path) -> tuple[Rows, int]:
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, list):
        raise CaseFileError(f"{path}: expected a JSON list of cases")
    for item in data:
        unknown = sorted(set(item) - JSON_FIELDS) if isinstance(item, dict) else []
        if unknown:
            raise CaseFileError(f"{path}: unknown fields: {', '.join(unknown)}")
    return enumerate(data, start=1), len(data)


def _csv_record(raw: tuple[list[str], list[str]]) -> CaseRecord:
    header, values = raw
    if any(v.strip() for v in values[len(header) :]):
        raise CaseRecordError("more cells than header columns")
    cells = {k: v.strip() for k, v in zip(header, values, strict=False)}
    parties = []
    for i in range(1, MAX_PARTIES + 1):
        name, role, id_number, phones = (cells.get(f"party{i}_{c}", "") for c in PARTY_COLUMNS)
        if not (name or role or id_number or phones):
            continue
        parties.append(_party(i, name, role, id_number or None, phones.split(";")))
    status = {
        k.removeprefix("status_text."): v
        for k, v in cells.items()
        if k.startswith("status_text.") and v
    }
    return _record(cells, status, parties)


def _json_record(item: Any) -> CaseRecord:
    if not isinstance(item, dict):
        raise CaseRecordError("expected an object")
    cells: dict[str, str] = {}
    for key in (*TEXT_FIELDS, *DATE_FIELDS):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise CaseRecordError(f"{key} must be text, not {json.dumps(value)}")
        cells[key] = (value or "").strip()
    status = item.get("status_text") or {}
    if not isinstance(status, dict) or not all(isinstance(v, str) for v in status.values()):
        raise CaseRecordError("status_text must be an object of language to text")
    parties = []
    for i, party in enumerate(item.get("parties") or [], start=1):
        if not isinstance(party, dict):
            raise CaseRecordError(f"party {i} must be an object")
        unknown = sorted(set(party) - JSON_PARTY_FIELDS)
        if unknown:
            raise CaseRecordError(f"party {i} has unknown fields: {', '.join(unknown)}")
        phones = party.get("phones") or []
        phones = phones.split(";") if isinstance(phones, str) else phones
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise CaseRecordError(f"party {i} phones must be a list of text")
        id_number = party.get("id_number")
        parties.append(
            _party(
                i,
                str(party.get("name") or ""),
                str(party.get("role") or ""),
                str(id_number) if id_number else None,
                phones,
            )
        )
    return _record(cells, status, parties)


def _party(
    index: int, name: str, role: str, id_number: str | None, phones: list[str]
) -> PartyRecord:
    name = name.strip()
    if not name:
        raise CaseRecordError(f"party {index} has no name")
    text = role.strip()
    party_role = ROLE_NAMES.get(text)
    if party_role is None:
        try:
            party_role = PartyRole(text.lower())
        except ValueError:
            raise CaseRecordError(f"party {index} has an unknown role {role!r}") from None
    numbers = tuple(p.strip() for p in phones if p.strip())
    return PartyRecord(name=name, role=party_role, id_number=id_number, phones=numbers)


def _record(
    cells: Mapping[str, str], status: Mapping[str, str], parties: list[PartyRecord]
) -> CaseRecord:
    return CaseRecord(
        case_number=cells.get("case_number", ""),
        court_name=cells.get("court_name", ""),
        cause=cells.get("cause", ""),
        stage=cells.get("stage", ""),
        status_text=dict(status),
        filing_date=_date(cells.get("filing_date", "")),
        next_hearing_at=_datetime(cells.get("next_hearing_at", "")),
        next_hearing_place=cells.get("next_hearing_place") or None,
        judge_name=cells.get("judge_name") or None,
        clerk_name=cells.get("clerk_name") or None,
        clerk_phone=cells.get("clerk_phone") or None,
        query_password=cells.get("query_password") or None,
        parties=tuple(parties),
    )


def _date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CaseRecordError(f"filing_date {text!r} is not a date (YYYY-MM-DD)") from None


def _datetime(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CaseRecordError(f"next_hearing_at {text!r} is not an ISO 8601 time") from None
    if value.utcoffset() is None:
        raise CaseRecordError(f"next_hearing_at {text!r} has no UTC offset (e.g. +08:00)")
    return value
