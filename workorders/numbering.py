"""Readable work-order numbers (WO-2026-000123): one sequence per year for every channel."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workorders.orders import NumberSequence


def next_number(session: Session, *, year: int, prefix: str = "WO") -> str:
    """The next number of `year`; the counter row's update serialises concurrent intakes."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(NumberSequence)
        .values(name=prefix, year=year, value=0)
        .on_conflict_do_nothing(index_elements=["name", "year"])
    )
    value = session.execute(
        update(NumberSequence)
        .where(NumberSequence.name == prefix, NumberSequence.year == year)
        .values(value=NumberSequence.value + 1)
        .returning(NumberSequence.value)
    ).scalar_one()
    return f"{prefix}-{year}-{value:06d}"


def current_value(session: Session, *, year: int, prefix: str = "WO") -> int:
    row = session.execute(
        select(NumberSequence.value).where(
            NumberSequence.name == prefix, NumberSequence.year == year
        )
    ).scalar_one_or_none()
    return int(row or 0)
