"""The weekly supervision list as people and programs see it: JSON items and CSV rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.exports import csv_lines
from workorders.organisation import Department
from workorders.phones import mask_number
from workorders.supervision import Item

COLUMNS = (
    "rank", "number", "caller", "summary", "state", "department", "deadline", "reasons",
    "supervision_note",
)  # fmt: skip


def present(
    session: Session, items: list[Item], *, tz: str, mask: bool = True
) -> list[dict[str, Any]]:
    zone = ZoneInfo(tz)
    codes = {i: c for i, c in session.execute(select(Department.id, Department.code))}
    out = []
    for rank, item in enumerate(items, 1):
        phone = item.phone or ""
        out.append(
            {
                "rank": rank,
                "number": item.number,
                "caller": (mask_number(phone) if mask else phone) if phone else None,
                "summary": item.summary,
                "state": item.state,
                "department": codes.get(item.department_id) if item.department_id else None,
                "deadline": item.deadline_at.astimezone(zone).isoformat()
                if item.deadline_at
                else None,
                "reasons": [{"code": r.code, "text": r.text} for r in item.reasons],
                "weight": item.weight,
                "supervision_note": item.supervision_note,
            }
        )
    return out


def as_csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    def lines() -> Iterator[list[Any]]:
        for r in rows:
            yield [
                r["rank"], r["number"] or "", r["caller"] or "", r["summary"], r["state"] or "",
                r["department"] or "", r["deadline"] or "",
                "; ".join(x["text"] for x in r["reasons"]), r["supervision_note"] or "",
            ]  # fmt: skip

    return csv_lines(COLUMNS, lines())
